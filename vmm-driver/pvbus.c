#include "vmm-driver/pvbus.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* Signatures (EBX, ECX, EDX as text) and pvbus(4)'s names for them. */
static const struct {
	const char *ps_signature;
	const char *ps_type;
} pvbus_known[] = {
    {"KVMKVMKVM\0\0\0", "KVM"}, {"Microsoft Hv", "Hyper-V"},
    {"VMwareVMware", "VMware"}, {"XenVMMXenVMM", "Xen"},
    {"bhyve bhyve ", "bhyve"},  {"OpenBSDVMM58", "OpenBSD"},
};

static void
pvbus_cpu_cpuid(uint32_t leaf, uint32_t regs[4])
{
#if defined(__x86_64__) || defined(__i386__)
	__cpuid(leaf, regs[0], regs[1], regs[2], regs[3]);
#else
	(void)leaf;
	memset(regs, 0, 4 * sizeof(regs[0]));
#endif
}

size_t
pvbus_detect(pvbus_cpuid_fn cpuid, struct pvbus_hv *out, size_t max)
{
	uint32_t regs[4], leaf;
	size_t n = 0, i;

#if !defined(__x86_64__) && !defined(__i386__)
	if (cpuid == NULL)
		return 0;
#endif
	if (cpuid == NULL)
		cpuid = pvbus_cpu_cpuid;
	cpuid(1, regs);
	if (!(regs[2] & (1u << 31))) /* CPUID.1:ECX.HV */
		return 0;
	for (leaf = 0x40000000; leaf < 0x40010000 && n < max; leaf += 0x100) {
		char sig[12];

		cpuid(leaf, regs);
		memcpy(sig, &regs[1], 4);
		memcpy(sig + 4, &regs[2], 4);
		memcpy(sig + 8, &regs[3], 4);
		for (i = 0; i < sizeof(pvbus_known) / sizeof(pvbus_known[0]);
		     i++) {
			if (memcmp(sig, pvbus_known[i].ps_signature, 12) != 0)
				continue;
			out[n].ph_type = pvbus_known[i].ps_type;
			memcpy(out[n].ph_signature, sig, 12);
			out[n].ph_signature[12] = '\0';
			out[n].ph_leaf = leaf;
			out[n].ph_max_leaf = regs[0];
			n++;
			break;
		}
	}
	return n;
}
