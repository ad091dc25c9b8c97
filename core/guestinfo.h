/*
 * A VM's guestinfo keys: the information store a guest reads with
 * `vmware-rpctool "info-get guestinfo.KEY"` (vmt(4), pvbus(4)) and the
 * API with GET /v1/vms/{name}/guestinfo/{key}.  The rules of keys and
 * values live here, for the API and the guest's channel alike; db/ keeps
 * them.
 */
#ifndef VMMAPID_CORE_GUESTINFO_H
#define VMMAPID_CORE_GUESTINFO_H

#include <stddef.h>

#include "base/names.h"
#include "vmm-driver/backdoor.h"

struct db;

/*
 * Whether key (the part after "guestinfo.") is one: the name rule of
 * base/names.h, LIMIT_GUESTINFO_KEY_LEN bytes at most.
 */
int guestinfo_key_valid(const char *key);

/*
 * Whether value (len bytes) may be stored: LIMIT_GUESTINFO_VALUE bytes at
 * most and no NUL, since the guest's channel carries text.  On a refusal
 * why says which rule.
 */
int guestinfo_value_valid(const char *value, size_t len, char *why,
			  size_t whylen);

/*
 * VM vm's keys as its guest reads and writes them through the runner's
 * backdoor (vmm-driver/backdoor.h): the same rules as the API's, written
 * durably as the guest's (updated_by "guest").  It lives as long as the
 * run that was handed gc_store.
 */
struct guestinfo_channel {
	struct backdoor_store gc_store; /* for runner_config.rc_guestinfo */
	struct db *gc_db;
	char gc_vm[VMKEY_SIZE]; /* the VM's key */
};

void guestinfo_channel_init(struct guestinfo_channel *gc, struct db *db,
			    const char *vm);

#endif
