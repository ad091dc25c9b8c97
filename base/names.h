/*
 * The name rule every named thing shares (VMs, images, jails, a token's
 * jail): [a-zA-Z0-9][a-zA-Z0-9._-]{0,63}, so that a name is safe in a
 * path, a URL segment and a log line as it is.  Label keys follow the
 * same rule with '/' allowed too.
 */
#ifndef VMMAPID_BASE_NAMES_H
#define VMMAPID_BASE_NAMES_H

#include <stddef.h>

#include "base/limits.h"

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

/*
 * A VM's key: the one string that names a VM on the host, whatever its
 * scope.  A host VM's key is its name ("web1"); a jail's VM's is the
 * jail, a slash and the name ("j1/web1"), which no name can be (names
 * have no '/').  So the host and each jail are namespaces of their own
 * while the registry, the database and the runner keep one sorted
 * string per VM.  The API turns a caller's name into a key
 * (api_vm_scope) and a key back into name and jail for every output.
 */
#define VMKEY_SIZE (2 * LIMIT_NAME_LEN + 2)

/*
 * The key of VM name in jail ("" or NULL: the host's) into key: 0, or -1
 * with EINVAL when jail or name is not a name.
 */
int vmkey_make(char key[VMKEY_SIZE], const char *jail, const char *name);

/* The name within its scope of the VM of key: a pointer into key. */
const char *vmkey_name(const char *key);

/* The jail of the VM of key into jail ("" for the host's). */
void vmkey_jail(const char *key, char jail[LIMIT_NAME_LEN + 1]);

#endif
