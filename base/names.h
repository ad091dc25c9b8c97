/*
 * The name rule every named thing shares (VMs, images, jails, a token's
 * jail): [a-zA-Z0-9][a-zA-Z0-9._-]{0,63}, so that a name is safe in a
 * path, a URL segment and a log line as it is.  Label keys follow the
 * same rule with '/' allowed too.
 */
#ifndef VMMAPID_BASE_NAMES_H
#define VMMAPID_BASE_NAMES_H

#include <stddef.h>

/*
 * 1 only when s is an ASCII letter or digit followed by letters, digits
 * and bytes of also, max bytes long at most; checked bytewise (no
 * locale).  NULL is not a name.
 */
int name_check(const char *s, size_t max, const char *also);

/* name_check(s, LIMIT_NAME_LEN, "._-"): the rule of every name. */
int name_valid(const char *s);

/*
 * Binary search for name among n entries of base sorted by name (strcmp),
 * the i-th entry's name being name_at(base, i): 1 with its index in *at,
 * or 0 with the index at which it would be inserted.
 */
int name_search(const void *base, size_t n,
		const char *(*name_at)(const void *base, size_t i),
		const char *name, size_t *at);

#endif
