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

#endif
