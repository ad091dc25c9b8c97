/*
 * vmm-driver/pvbus.c: the hypervisors a host runs under, from CPUID as a
 * test plays it, and from this machine's own CPU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "vmm-driver/pvbus.h"

/* A CPU of the test's making: the HV bit, and signatures at leaves. */
static int fake_hv_bit;
static const char *fake_sig[4]; /* at 0x40000000 + 0x100 * i */

static void
fake_cpuid(uint32_t leaf, uint32_t regs[4])
{
	memset(regs, 0, 4 * sizeof(regs[0]));
	if (leaf == 1) {
		regs[2] = fake_hv_bit ? 1u << 31 : 0;
		return;
	}
	if (leaf >= 0x40000000 && leaf < 0x40000400 && (leaf & 0xff) == 0 &&
	    fake_sig[(leaf - 0x40000000) >> 8] != NULL) {
		regs[0] = leaf + 0x10;
		memcpy(&regs[1], fake_sig[(leaf - 0x40000000) >> 8], 12);
	}
}

static void
test_pvbus__bare_metal_has_none(void **state)
{
	struct pvbus_hv hv[PVBUS_MAX];

	fake_hv_bit = 0;
	fake_sig[0] = "KVMKVMKVM\0\0\0";
	assert_int_equal(pvbus_detect(fake_cpuid, hv, PVBUS_MAX), 0);
}

static void
test_pvbus__each_signature_is_named_as_pvbus_names_it(void **state)
{
	struct pvbus_hv hv[PVBUS_MAX];

	fake_hv_bit = 1;
	fake_sig[0] = "Microsoft Hv";
	fake_sig[1] = "KVMKVMKVM\0\0\0";
	fake_sig[2] = "not a known ";
	fake_sig[3] = "VMwareVMware";
	assert_int_equal(pvbus_detect(fake_cpuid, hv, PVBUS_MAX), 3);
	assert_string_equal(hv[0].ph_type, "Hyper-V");
	assert_int_equal(hv[0].ph_leaf, 0x40000000);
	assert_int_equal(hv[0].ph_max_leaf, 0x40000010);
	assert_string_equal(hv[1].ph_type, "KVM");
	assert_string_equal(hv[1].ph_signature, "KVMKVMKVM");
	assert_int_equal(hv[1].ph_leaf, 0x40000100);
	assert_string_equal(hv[2].ph_type, "VMware");
	assert_int_equal(hv[2].ph_leaf, 0x40000300);
	/* No room past max. */
	assert_int_equal(pvbus_detect(fake_cpuid, hv, 1), 1);
	memset(fake_sig, 0, sizeof(fake_sig));
}

static void
test_pvbus__this_machine_answers_within_bounds(void **state)
{
	struct pvbus_hv hv[PVBUS_MAX];
	size_t n = pvbus_detect(NULL, hv, PVBUS_MAX), i;

	/* These machines are KVM guests; elsewhere the list may be empty. */
	assert_true(n <= PVBUS_MAX);
	for (i = 0; i < n; i++) {
		assert_non_null(hv[i].ph_type);
		assert_true(hv[i].ph_leaf >= 0x40000000);
	}
	print_message("pvbus on this host: %zu interface(s)%s%s\n", n,
		      n > 0 ? ", first " : "", n > 0 ? hv[0].ph_type : "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pvbus__bare_metal_has_none),
	    cmocka_unit_test(
		test_pvbus__each_signature_is_named_as_pvbus_names_it),
	    cmocka_unit_test(test_pvbus__this_machine_answers_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
