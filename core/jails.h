/*
 * Jails: named scopes for VMs, with FreeBSD's allow.vmm and the
 * passthrough permission, and the path of the Unix socket on which the
 * daemon listens for that jail (the administrator mounts it into the jail
 * or container).  Kept in the database, cached in memory.
 *
 * Locking: one rwlock guards the cache.
 */
#ifndef VMMAPID_CORE_JAILS_H
#define VMMAPID_CORE_JAILS_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct jails;

struct jail_info {
	char ji_name[65];
	int ji_allow_vmm;     /* VMs may be created and run in the jail */
	int ji_allow_vmm_ppt; /* and get PCI passthrough devices (jail root) */
	char ji_socket[108];  /* "" for none */
	int64_t ji_created_ms;
};

int jails_open(struct jails **out, struct db *db);
void jails_close(struct jails *j);

/* ENOENT. */
int jails_get(struct jails *j, const char *name, struct jail_info *out);

/* Every jail in name order, as a new array the caller frees. */
int jails_list(struct jails *j, struct jail_info **list, size_t *n);

/* Creates or replaces (durably); *created says which. EINVAL: bad name. */
int jails_put(struct jails *j, const struct jail_info *ji, int *created);

/* ENOENT.  The caller has checked that no VM lives in the jail. */
int jails_delete(struct jails *j, const char *name);

#endif
