/*
 * The CPUID of a kvm backend's vCPU (kvmcpuid.h): what KVM supports,
 * changed for the kind of VM and for flaws of the host.  No I/O here,
 * so that the unit test (tests/unit/test_kvmcpuid.c) sees every case.
 */
#include "vmm-driver/kvmcpuid.h"

#ifdef __linux__

#include <asm/kvm_para.h>
#include <stdint.h>
#include <string.h>

/* CPUID leaf 1's bits that we change. */
#define KVM_CPUID1_EDX_APIC (1u << 9)
#define KVM_CPUID1_ECX_X2APIC (1u << 21)
#define KVM_CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define KVM_CPUID1_ECX_HYPERVISOR (1u << 31)
/*
 * The paravirtual features of leaf 0x40000001 a Linux VM gets, of those
 * KVM offers: kvm-clock (both MSR sets, and the stable bit, which lets
 * the guest skip the cross-vCPU monotonicity fix-up) and no port-0x80
 * delays.  The rest -- asynchronous page faults, steal time, PV EOI,
 * PV spinlock kicks, PV TLB flush and IPIs, halt-poll control, MSI
 * extended destinations, the hypercalls that need a VMM handling them
 * -- are left out: under the nested test host a Debian 6.1 guest with
 * all of them failed at random points of every boot, and QEMU's default
 * CPU models leave most of them out too.  That was QEMU's emulated SVM
 * delivering an interrupt twice (docs/architecture.md), which PV EOI
 * makes likelier by taking the EOI's exit away; whether hardware hosts
 * should offer more is not measured yet.
 */
#define KVM_PV_OFFERED                                                         \
	(1u << KVM_FEATURE_CLOCKSOURCE | 1u << KVM_FEATURE_NOP_IO_DELAY |      \
	 1u << KVM_FEATURE_CLOCKSOURCE2 |                                      \
	 1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)

/*
 * What goes with XSAVE (KVM_CPUID_NO_XSAVE): XSAVE itself and OSXSAVE,
 * and the features whose registers only XSAVE saves or whose
 * instructions need XCR0 to enable them (AVX and all that builds on
 * it, AVX-512, AMX, MPX, PKU's PKRU, XOP and FMA4).  Linux drops
 * the dependants of a missing XSAVE itself (cpuid-deps.c); these are
 * taken out too for whatever reads CPUID directly.
 */
static const struct {
	uint32_t fn, index;
	int reg; /* 0 eax, 1 ebx, 2 ecx, 3 edx */
	uint32_t bits;
} kvm_cpuid_xsave_bits[] = {
    /* FMA, XSAVE, OSXSAVE, AVX, F16C */
    {1, 0, 2, 1u << 12 | 1u << 26 | 1u << 27 | 1u << 28 | 1u << 29},
    /* AVX2, MPX, AVX512F, DQ, IFMA, PF, ER, CD, BW, VL */
    {7, 0, 1,
     1u << 5 | 1u << 14 | 1u << 16 | 1u << 17 | 1u << 21 | 1u << 26 | 1u << 27 |
	 1u << 28 | 1u << 30 | 1u << 31},
    /* AVX512_VBMI, PKU, OSPKE, VBMI2, VAES, VPCLMULQDQ, VNNI, BITALG,
     * VPOPCNTDQ */
    {7, 0, 2,
     1u << 1 | 1u << 3 | 1u << 4 | 1u << 6 | 1u << 9 | 1u << 10 | 1u << 11 |
	 1u << 12 | 1u << 14},
    /* AVX512_4VNNIW, 4FMAPS, VP2INTERSECT, AMX_BF16, AVX512_FP16,
     * AMX_TILE, AMX_INT8 */
    {7, 0, 3,
     1u << 2 | 1u << 3 | 1u << 8 | 1u << 22 | 1u << 23 | 1u << 24 | 1u << 25},
    /* AVX_VNNI, AVX512_BF16 */
    {7, 1, 0, 1u << 4 | 1u << 5},
    /* XOP, FMA4 */
    {0x80000001, 0, 2, 1u << 11 | 1u << 16},
};

/* The entry for leaf fn (index 0) in c, or NULL. */
static struct kvm_cpuid_entry2 *
kvm_cpuid_leaf(struct kvm_cpuid2 *c, uint32_t fn)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == 0)
			return &c->entries[i];
	return NULL;
}

/*
 * A Linux VM's KVM leaves: 0x40000000 with the signature "KVMKVMKVM" and
 * the highest leaf, 0x40000001 with the paravirtual features, among them
 * kvm-clock (CLOCKSOURCE2).  KVM_GET_SUPPORTED_CPUID has both on every
 * kernel that runs kvm_amd or kvm_intel; they are added where it lacks
 * them (c has room for two more entries), with kvm-clock alone.
 * kvm_cpuid_vmware may then move them.
 */
static void
kvm_cpuid_kvm_leaves(struct kvm_cpuid2 *c)
{
	static const char sig[12] = "KVMKVMKVM\0\0";
	struct kvm_cpuid_entry2 *e;

	if ((e = kvm_cpuid_leaf(c, KVM_CPUID_SIGNATURE)) == NULL) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = KVM_CPUID_SIGNATURE;
	}
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
	if (e->eax < KVM_CPUID_FEATURES)
		e->eax = KVM_CPUID_FEATURES;
	if ((e = kvm_cpuid_leaf(c, KVM_CPUID_FEATURES)) == NULL) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = KVM_CPUID_FEATURES;
		e->eax = 1u << KVM_FEATURE_CLOCKSOURCE2;
	}
	e->eax &= KVM_PV_OFFERED;
}

/*
 * VMware's signature at 0x40000000, the KVM leaves moved up to
 * KVM_CPUID_VMWARE_KVM_BASE (KVM_CPUID_VMWARE; c has room for one more
 * entry).
 *
 * open-vm-tools (12.2.0, VmCheck_IsVirtualWorld) reads leaf 0x40000000
 * and nothing past it: on "KVMKVMKVM" it gives up before it touches the
 * backdoor, on "VMwareVMware" it skips its Xen and Virtual PC probes and
 * talks.
 *
 * Linux still runs as a KVM guest, with kvm-clock.  Its
 * init_hypervisor_platform() asks each platform's detect() and takes the
 * highest answer (a tie would go to the first listed, VMware); the
 * answer is a CPUID leaf.  vmware_platform() answers 0x40000000 when
 * that leaf says "VMwareVMware"; kvm_detect() answers the base where
 * hypervisor_cpuid_base() finds "KVMKVMKVM" scanning 0x40000000 to
 * 0x4000ff00 in steps of 0x100: 0x40000100 here, the higher, so KVM is
 * the platform, and kvm_para_available(), kvmclock_init() and the
 * features read at that base.  KVM finds its leaves in the guest's CPUID
 * the same way (kvm_update_kvm_cpuid_base), and QEMU's Hyper-V
 * enlightenments have used this layout for years (Hyper-V at 0x40000000,
 * KVM at 0x40000100).  Linux's VMware drivers check the platform chosen
 * (x86_hyper_type), not the signature, and stay away.
 *
 * VMware's leaf says its highest leaf is 0x40000000: from 0x40000010
 * (VMware's features) on, Linux and open-vm-tools would read whether to
 * reach the backdoor with VMCALL/VMMCALL instead of port I/O, which the
 * runner does not answer.  KVM_GET_SUPPORTED_CPUID has nothing else in
 * 0x40000000-0x400000ff, and nothing at 0x40000100 or above to collide.
 */
static void
kvm_cpuid_vmware(struct kvm_cpuid2 *c)
{
	static const char sig[12] = "VMwareVMware";
	const uint32_t up = KVM_CPUID_VMWARE_KVM_BASE - KVM_CPUID_SIGNATURE;
	struct kvm_cpuid_entry2 *e;
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function >= KVM_CPUID_SIGNATURE &&
		    e->function < KVM_CPUID_VMWARE_KVM_BASE)
			e->function += up;
	}
	if ((e = kvm_cpuid_leaf(c, KVM_CPUID_VMWARE_KVM_BASE)) != NULL)
		e->eax += up; /* the highest KVM leaf, moved with them */
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = KVM_CPUID_SIGNATURE;
	e->eax = KVM_CPUID_SIGNATURE;
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

/* Takes XSAVE and what needs it out of c, and leaf 0xd whole. */
static void
kvm_cpuid_no_xsave(struct kvm_cpuid2 *c)
{
	uint32_t i, j, n = 0;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		uint32_t *regs[4] = {&e->eax, &e->ebx, &e->ecx, &e->edx};

		if (e->function == 0xd)
			continue;
		for (j = 0; j < sizeof(kvm_cpuid_xsave_bits) /
				    sizeof(kvm_cpuid_xsave_bits[0]);
		     j++)
			if (kvm_cpuid_xsave_bits[j].fn == e->function &&
			    kvm_cpuid_xsave_bits[j].index == e->index)
				*regs[kvm_cpuid_xsave_bits[j].reg] &=
				    ~kvm_cpuid_xsave_bits[j].bits;
		c->entries[n++] = *e;
	}
	c->nent = n;
}

/*
 * The supported CPUID with this vCPU's APIC ID.  A flat VM has no local
 * APIC model (no in-kernel irqchip), so the APIC, x2APIC and
 * TSC-deadline bits are cleared rather than promised.  A Linux VM
 * (irqchip) keeps them -- KVM's local APIC has all three; TSC-deadline,
 * which KVM_GET_SUPPORTED_CPUID never sets, is added where
 * KVM_CAP_TSC_DEADLINE_TIMER says so, as QEMU does: Linux then needs no
 * calibration of the APIC timer against the PIT -- and is told
 * it runs on KVM: the hypervisor bit (leaf 1, ECX bit 31), without which
 * Linux neither looks at the KVM leaves nor uses kvm-clock, and its
 * clock calibration against the PIT crawls under nested virtualization,
 * and the KVM leaves (kvm_cpuid_kvm_leaves), under VMware's signature
 * when KVM_CPUID_VMWARE (kvm_cpuid_vmware).
 */
void
kvm_cpuid_filter(struct kvm_cpuid2 *c, unsigned id, unsigned flags)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) {
			e->ebx = (e->ebx & 0x00ffffff) | id << 24;
			if (flags & KVM_CPUID_LINUX) {
				e->ecx |= KVM_CPUID1_ECX_HYPERVISOR;
				if (flags & KVM_CPUID_TSC_DEADLINE)
					e->ecx |= KVM_CPUID1_ECX_TSC_DEADLINE;
			} else {
				e->edx &= ~KVM_CPUID1_EDX_APIC;
				e->ecx &= ~(KVM_CPUID1_ECX_X2APIC |
					    KVM_CPUID1_ECX_TSC_DEADLINE);
			}
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = id;
		}
	}
	if (flags & KVM_CPUID_LINUX) {
		kvm_cpuid_kvm_leaves(c);
		if (flags & KVM_CPUID_VMWARE)
			kvm_cpuid_vmware(c);
	}
	if (flags & KVM_CPUID_NO_XSAVE)
		kvm_cpuid_no_xsave(c);
}

/*
 * QEMU's emulated SVM (TCG, -cpu max) does not intercept XSETBV: the
 * guest's write goes to the emulated CPU's XCR0 and KVM never hears of
 * it.  KVM keeps the guest's XCR0 at its reset value (x87 only), puts
 * that back before every VMRUN while the guest has CR4.OSXSAVE, and
 * sizes leaf 0xd by it: a guest that enabled AVX would find it off again
 * after its next exit, and Debian's 6.1 kernel sees leaf 0xd disagree
 * ("XSAVE consistency problem: size 2696 != kernel_size 576"), warns
 * and turns XSAVE off.  Hardware SVM and VMX always exit on XSETBV.
 * Without XSAVE in its CPUID the guest uses FXSAVE from the start.
 */
unsigned
kvm_cpuid_host_flags(const char *host_hv_sig)
{
	if (host_hv_sig != NULL && strcmp(host_hv_sig, "TCGTCGTCGTCG") == 0)
		return KVM_CPUID_NO_XSAVE;
	return 0;
}

#endif /* __linux__ */
