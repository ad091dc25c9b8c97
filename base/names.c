#include "base/names.h"

#include <string.h>

#include "base/limits.h"

static int
names_is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

int
name_check(const char *s, size_t max, const char *also)
{
	size_t i;

	if (s == NULL || !names_is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i >= max)
			return 0;
		if (!names_is_alnum(c) && strchr(also, c) == NULL)
			return 0;
	}
	return 1;
}

int
name_valid(const char *s)
{
	return name_check(s, LIMIT_NAME_LEN, "._-");
}
