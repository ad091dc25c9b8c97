/*
 * vmm-driver/kvmcpuid.c: the CPUID a vCPU gets -- its APIC ID, a flat
 * VM's missing local APIC, a Linux VM's KVM leaves (under VMware's
 * signature when its backdoor answers), and no XSAVE on a host whose
 * emulated SVM lets the guest's XSETBV through (QEMU TCG).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#ifdef __linux__

#include <asm/kvm_para.h>
#include <stdlib.h>
#include <string.h>

#include "vmm-driver/kvmcpuid.h"

/* A supported CPUID as an AMD host with AVX-512 answers it (the
 * registers that matter here), with room for KVM_CPUID_EXTRA more. */
static struct kvm_cpuid2 *
supported(int with_kvm_leaves)
{
	static const struct kvm_cpuid_entry2 e[] = {
	    {.function = 0, .eax = 0xd},
	    /* APIC ID 0; FMA, X2APIC, XSAVE, AVX, F16C, SSE4.2; APIC */
	    {.function = 1,
	     .ebx = 0x00020800,
	     .ecx = 1u << 12 | 1u << 20 | 1u << 21 | 1u << 26 | 1u << 28 |
		    1u << 29,
	     .edx = 1u << 9 | 1u << 25},
	    /* BMI1, AVX2, AVX512F, AVX512BW, AVX512VL; PKU; FSRM */
	    {.function = 7,
	     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	     .ebx = 1u << 3 | 1u << 5 | 1u << 16 | 1u << 30 | 1u << 31,
	     .ecx = 1u << 3,
	     .edx = 1u << 4},
	    {.function = 7,
	     .index = 1,
	     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	     .eax = 1u << 4 | 1u << 5},
	    {.function = 0xb, .index = 0, .edx = 0},
	    {.function = 0xd,
	     .index = 0,
	     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	     .eax = 0xe7,
	     .ebx = 576,
	     .ecx = 2696},
	    {.function = 0xd,
	     .index = 1,
	     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	     .eax = 0xf},
	    {.function = 0xd,
	     .index = 2,
	     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	     .eax = 256,
	     .ebx = 576},
	    /* LAHF, XOP, FMA4; LM */
	    {.function = 0x80000001,
	     .ecx = 1u << 0 | 1u << 11 | 1u << 16,
	     .edx = 1u << 29},
	    {.function = KVM_CPUID_SIGNATURE, .eax = KVM_CPUID_FEATURES},
	    {.function = KVM_CPUID_FEATURES,
	     .eax = 1u << KVM_FEATURE_CLOCKSOURCE2 |
		    1u << KVM_FEATURE_ASYNC_PF | 1u << KVM_FEATURE_PV_EOI |
		    1u << KVM_FEATURE_NOP_IO_DELAY},
	};
	size_t n = sizeof(e) / sizeof(e[0]) - (with_kvm_leaves ? 0 : 2);
	struct kvm_cpuid2 *c = calloc(
	    1, sizeof(*c) + (n + KVM_CPUID_EXTRA) * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = (uint32_t)n;
	memcpy(c->entries, e, n * sizeof(e[0]));
	return c;
}

static const struct kvm_cpuid_entry2 *
leaf(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

/* CPUID fn in the guest, as KVM on AMD answers it: the entry, or zeros
 * for a leaf the table lacks. */
static void
guest_cpuid(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t r[4])
{
	const struct kvm_cpuid_entry2 *e = leaf(c, fn, 0);

	r[0] = e != NULL ? e->eax : 0;
	r[1] = e != NULL ? e->ebx : 0;
	r[2] = e != NULL ? e->ecx : 0;
	r[3] = e != NULL ? e->edx : 0;
}

/* Linux 6.1's hypervisor_cpuid_base(sig, 0) (asm/processor.h). */
static uint32_t
linux_cpuid_base(const struct kvm_cpuid2 *c, const char *sig)
{
	uint32_t base, r[4];

	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		guest_cpuid(c, base, r);
		if (memcmp(sig, &r[1], 12) == 0)
			return base;
	}
	return 0;
}

/*
 * The platform Linux 6.1 picks (arch/x86/kernel/cpu/hypervisor.c): each
 * detect() in the list's order, VMware's before KVM's, the highest
 * answer wins and a tie keeps the first.  vmware_platform() answers
 * 0x40000000 for its signature there, kvm_detect() the base of KVM's.
 * NULL: none (also without the hypervisor bit, which both check first).
 */
static const char *
linux_platform(const struct kvm_cpuid2 *c, uint32_t *kvm_base)
{
	uint32_t r[4], vmware = 0, kvm;

	guest_cpuid(c, 1, r);
	*kvm_base = 0;
	if (!(r[2] & 1u << 31))
		return NULL;
	guest_cpuid(c, 0x40000000, r);
	if (memcmp(&r[1], "VMwareVMware", 12) == 0)
		vmware = 0x40000000;
	kvm = *kvm_base = linux_cpuid_base(c, "KVMKVMKVM\0\0\0");
	if (vmware == 0 && kvm == 0)
		return NULL;
	return kvm > vmware ? "KVM" : "VMware";
}

static void
test_kvmcpuid__a_flat_vm_has_no_local_apic_bits_and_no_kvm_leaves(void **state)
{
	struct kvm_cpuid2 *c = supported(0);

	(void)state;
	kvm_cpuid_filter(c, 3, KVM_CPUID_TSC_DEADLINE);
	assert_int_equal(c->nent, 9);
	assert_int_equal(leaf(c, 1, 0)->ebx >> 24, 3);
	assert_int_equal(leaf(c, 1, 0)->ebx & 0xffffff, 0x020800);
	assert_false(leaf(c, 1, 0)->edx & 1u << 9);
	assert_false(leaf(c, 1, 0)->ecx & (1u << 21 | 1u << 24 | 1u << 31));
	assert_true(leaf(c, 1, 0)->ecx & 1u << 26); /* XSAVE stays */
	assert_int_equal(leaf(c, 0xb, 0)->edx, 3);
	assert_null(leaf(c, KVM_CPUID_SIGNATURE, 0));
	free(c);
}

static void
test_kvmcpuid__a_linux_vm_is_told_it_runs_on_kvm(void **state)
{
	struct kvm_cpuid2 *c = supported(1);
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	kvm_cpuid_filter(c, 1, KVM_CPUID_LINUX | KVM_CPUID_TSC_DEADLINE);
	assert_int_equal(c->nent, 11);
	e = leaf(c, 1, 0);
	assert_int_equal(e->ebx >> 24, 1);
	assert_true(e->edx & 1u << 9);
	assert_true(e->ecx & 1u << 21);
	assert_true(e->ecx & 1u << 24);
	assert_true(e->ecx & 1u << 31);
	e = leaf(c, KVM_CPUID_SIGNATURE, 0);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_memory_equal(&e->ecx, "VMKV", 4);
	assert_memory_equal(&e->edx, "M\0\0\0", 4);
	/* Asynchronous page faults and PV EOI are not offered. */
	assert_int_equal(leaf(c, KVM_CPUID_FEATURES, 0)->eax,
			 1u << KVM_FEATURE_CLOCKSOURCE2 |
			     1u << KVM_FEATURE_NOP_IO_DELAY);
	free(c);

	/* Without TSC-deadline; the KVM leaves added where missing. */
	c = supported(0);
	kvm_cpuid_filter(c, 0, KVM_CPUID_LINUX);
	assert_false(leaf(c, 1, 0)->ecx & 1u << 24);
	assert_int_equal(c->nent, 11);
	assert_int_equal(leaf(c, KVM_CPUID_SIGNATURE, 0)->eax,
			 KVM_CPUID_FEATURES);
	assert_int_equal(leaf(c, KVM_CPUID_FEATURES, 0)->eax,
			 1u << KVM_FEATURE_CLOCKSOURCE2);
	free(c);
}

static void
test_kvmcpuid__a_linux_vm_with_the_backdoor_says_vmware_and_linux_picks_kvm(
    void **state)
{
	struct kvm_cpuid2 *c;
	const struct kvm_cpuid_entry2 *e;
	uint32_t base, r[4];
	int with;

	(void)state;
	for (with = 0; with <= 1; with++) {
		c = supported(with);
		kvm_cpuid_filter(c, 0,
				 KVM_CPUID_LINUX | KVM_CPUID_TSC_DEADLINE |
				     KVM_CPUID_VMWARE);
		assert_int_equal(c->nent, 12);
		/* What open-vm-tools reads: VMware's signature, and no
		 * features leaf (0x40000010) that could ask for VMCALL. */
		e = leaf(c, 0x40000000, 0);
		assert_non_null(e);
		assert_memory_equal(&e->ebx, "VMwareVMware", 12);
		assert_int_equal(e->eax, 0x40000000);
		assert_null(leaf(c, 0x40000010, 0));
		/* KVM's leaves one block up, nothing left at 0x40000001. */
		assert_null(leaf(c, 0x40000001, 0));
		e = leaf(c, KVM_CPUID_VMWARE_KVM_BASE, 0);
		assert_non_null(e);
		assert_memory_equal(&e->ebx, "KVMKVMKVM\0\0\0", 12);
		assert_int_equal(e->eax, 0x40000101);
		assert_int_equal(leaf(c, 0x40000101, 0)->eax,
				 with ? 1u << KVM_FEATURE_CLOCKSOURCE2 |
					    1u << KVM_FEATURE_NOP_IO_DELAY
				      : 1u << KVM_FEATURE_CLOCKSOURCE2);
		/* What Linux makes of it: KVM, features (kvm-clock) at
		 * base | KVM_CPUID_FEATURES as kvm_arch_para_features()
		 * reads them. */
		assert_string_equal(linux_platform(c, &base), "KVM");
		assert_int_equal(base, 0x40000100);
		guest_cpuid(c, base | KVM_CPUID_FEATURES, r);
		assert_true(r[0] & 1u << KVM_FEATURE_CLOCKSOURCE2);
		/* The rest is as without it. */
		assert_true(leaf(c, 1, 0)->ecx & 1u << 31);
		assert_true(leaf(c, 1, 0)->ecx & 1u << 24);
		/* Had KVM's signature been lost under VMware's, Linux would
		 * take the VMware platform and no kvm-clock. */
		((struct kvm_cpuid_entry2 *)leaf(c, KVM_CPUID_VMWARE_KVM_BASE,
						 0))
		    ->function = 0x40010000;
		assert_string_equal(linux_platform(c, &base), "VMware");
		free(c);
	}

	/* Without the flag, KVM alone at 0x40000000, as before. */
	c = supported(1);
	kvm_cpuid_filter(c, 0, KVM_CPUID_LINUX);
	assert_int_equal(c->nent, 11);
	assert_string_equal(linux_platform(c, &base), "KVM");
	assert_int_equal(base, 0x40000000);
	assert_null(leaf(c, KVM_CPUID_VMWARE_KVM_BASE, 0));
	free(c);

	/* A flat VM gets no hypervisor leaves, flag or not. */
	c = supported(0);
	kvm_cpuid_filter(c, 0, KVM_CPUID_VMWARE);
	assert_int_equal(c->nent, 9);
	assert_null(leaf(c, 0x40000000, 0));
	assert_null(linux_platform(c, &base));
	free(c);
}

static void
test_kvmcpuid__no_xsave_takes_out_xsave_and_what_needs_it(void **state)
{
	struct kvm_cpuid2 *c = supported(1);
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	kvm_cpuid_filter(c, 0, KVM_CPUID_LINUX | KVM_CPUID_NO_XSAVE);
	/* Leaf 0xd is gone, all three of its entries. */
	assert_int_equal(c->nent, 8);
	assert_null(leaf(c, 0xd, 0));
	assert_null(leaf(c, 0xd, 1));
	assert_null(leaf(c, 0xd, 2));
	e = leaf(c, 1, 0);
	assert_int_equal(e->ecx, 1u << 20 | 1u << 21 | 1u << 31);
	assert_int_equal(e->edx, 1u << 9 | 1u << 25);
	e = leaf(c, 7, 0);
	assert_int_equal(e->ebx, 1u << 3);
	assert_int_equal(e->ecx, 0);
	assert_int_equal(e->edx, 1u << 4);
	assert_int_equal(leaf(c, 7, 1)->eax, 0);
	e = leaf(c, 0x80000001, 0);
	assert_int_equal(e->ecx, 1u << 0);
	assert_int_equal(e->edx, 1u << 29);
	/* The rest is as it was. */
	assert_int_equal(leaf(c, 0, 0)->eax, 0xd);
	assert_non_null(leaf(c, KVM_CPUID_FEATURES, 0));
	free(c);
}

static void
test_kvmcpuid__only_qemus_emulator_calls_for_no_xsave(void **state)
{
	(void)state;
	assert_int_equal(kvm_cpuid_host_flags("TCGTCGTCGTCG"),
			 KVM_CPUID_NO_XSAVE);
	assert_int_equal(kvm_cpuid_host_flags(""), 0);
	assert_int_equal(kvm_cpuid_host_flags(NULL), 0);
	assert_int_equal(kvm_cpuid_host_flags("KVMKVMKVM"), 0);
	assert_int_equal(kvm_cpuid_host_flags("Microsoft Hv"), 0);
	assert_int_equal(kvm_cpuid_host_flags("TCGTCGTCG"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_kvmcpuid__a_flat_vm_has_no_local_apic_bits_and_no_kvm_leaves),
	    cmocka_unit_test(test_kvmcpuid__a_linux_vm_is_told_it_runs_on_kvm),
	    cmocka_unit_test(
		test_kvmcpuid__a_linux_vm_with_the_backdoor_says_vmware_and_linux_picks_kvm),
	    cmocka_unit_test(
		test_kvmcpuid__no_xsave_takes_out_xsave_and_what_needs_it),
	    cmocka_unit_test(
		test_kvmcpuid__only_qemus_emulator_calls_for_no_xsave),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* !__linux__ */

int
main(void)
{
	return 77; /* KVM, and this CPUID, exist only on Linux */
}

#endif
