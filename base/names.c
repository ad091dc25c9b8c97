#include "base/names.h"

#include <errno.h>
#include <stdio.h>
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

int
vmkey_make(char key[VMKEY_SIZE], const char *jail, const char *name)
{
	if (!name_valid(name) ||
	    (jail != NULL && jail[0] != '\0' && !name_valid(jail))) {
		errno = EINVAL;
		return -1;
	}
	if (jail == NULL || jail[0] == '\0')
		snprintf(key, VMKEY_SIZE, "%s", name);
	else
		snprintf(key, VMKEY_SIZE, "%s/%s", jail, name);
	return 0;
}

const char *
vmkey_name(const char *key)
{
	const char *slash = strchr(key, '/');

	return slash != NULL ? slash + 1 : key;
}

void
vmkey_jail(const char *key, char jail[LIMIT_NAME_LEN + 1])
{
	const char *slash = strchr(key, '/');
	size_t n = slash != NULL ? (size_t)(slash - key) : 0;

	if (n > LIMIT_NAME_LEN)
		n = LIMIT_NAME_LEN;
	memcpy(jail, key, n);
	jail[n] = '\0';
}
