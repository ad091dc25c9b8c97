/*
 * Which hypervisors this host itself runs under, found as OpenBSD's
 * pvbus(4) finds them: the CPUID hypervisor bit, then the signatures at
 * leaves 0x40000000 upward in steps of 0x100 (a hypervisor may offer
 * another's interface too, so several can answer).
 */
#ifndef VMMAPID_VMM_DRIVER_PVBUS_H
#define VMMAPID_VMM_DRIVER_PVBUS_H

#include <stddef.h>
#include <stdint.h>

/* Hypervisor interfaces reported at most. */
#define PVBUS_MAX 8

struct pvbus_hv {
	const char *ph_type; /* as PVBUSIOC_TYPE names it: "KVM", "VMware" */
	char ph_signature[13];
	uint32_t ph_leaf;     /* 0x40000000, 0x40000100, ... */
	uint32_t ph_max_leaf; /* what that leaf's EAX says */
};

/*
 * The hypervisor signature leaves of cpuid(leaf) as regs[0..3] = EAX,
 * EBX, ECX, EDX; a test hands in its own.  NULL: the CPU's own CPUID.
 */
typedef void (*pvbus_cpuid_fn)(uint32_t leaf, uint32_t regs[4]);

/*
 * Fills out (room for max) with the interfaces found, in leaf order, and
 * returns how many: 0 on bare metal (no hypervisor bit) and off x86.
 */
size_t pvbus_detect(pvbus_cpuid_fn cpuid, struct pvbus_hv *out, size_t max);

#endif
