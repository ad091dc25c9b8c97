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

int
name_search(const void *base, size_t n,
	    const char *(*name_at)(const void *base, size_t i),
	    const char *name, size_t *at)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name_at(base, mid), name);

		if (c == 0) {
			*at = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return 0;
}
