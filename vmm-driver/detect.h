/*
 * Choosing the backend: --driver auto picks kvm when /dev/kvm opens and
 * speaks the stable KVM API, otherwise sim.
 */
#ifndef VMMAPID_VMM_DRIVER_DETECT_H
#define VMMAPID_VMM_DRIVER_DETECT_H

#include <stddef.h>

/*
 * want: "auto", "kvm" or "sim".  Sets *name to the chosen backend and
 * writes why into reason.  -1 (with reason filled) when kvm was asked
 * for and cannot be used.
 */
int vmm_detect(const char *want, const char **name, char *reason, size_t len);

/*
 * Whether backend (a name vmm_detect gave) can run guests on this host
 * now: for kvm, /dev/kvm opens and speaks the stable API; sim needs
 * nothing.  0, or -1 with why filled (GET /v1/health asks each time).
 */
int vmm_usable(const char *backend, char *why, size_t len);

/* Which KVM this is (kvm_pvm, kvm_intel, kvm_amd), as a sentence. */
const char *vmm_kvm_flavor(void);

#endif
