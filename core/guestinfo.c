#include "core/guestinfo.h"

#include <stdio.h>
#include <string.h>

#include "base/limits.h"
#include "base/names.h"

int
guestinfo_key_valid(const char *key)
{
	return name_check(key, LIMIT_GUESTINFO_KEY_LEN, "._-");
}

/* Whether s (len bytes) is well-formed UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF). */
static int
guestinfo_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, cp, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		if (n == 0 || c > 0xf4)
			return 0;
		cp = c & (0x3f >> n);
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
guestinfo_value_valid(const char *value, size_t len, char *why, size_t whylen)
{
	if (len > LIMIT_GUESTINFO_VALUE) {
		snprintf(why, whylen,
			 "a value is at most %d bytes; this one has %zu",
			 LIMIT_GUESTINFO_VALUE, len);
		return 0;
	}
	if (len > 0 && memchr(value, '\0', len) != NULL) {
		snprintf(why, whylen,
			 "a value may not hold a NUL byte (U+0000): the "
			 "guest's channel carries text");
		return 0;
	}
	if (!guestinfo_utf8((const unsigned char *)value, len)) {
		snprintf(why, whylen, "a value must be UTF-8 text");
		return 0;
	}
	return 1;
}
