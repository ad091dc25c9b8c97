/*
 * vmm-driver/detect.c: what GET /v1 says about the virtualization under
 * the daemon -- the KVM vendor module's kind, and whether this host is
 * itself a guest (CPUID leaf 1 ECX bit 31, the 0x40000000 signature).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm-driver/detect.h"

/* A signature as CPUID returns it: 12 bytes over EBX, ECX, EDX. */
static void
sig_of(const char bytes[12], char *out)
{
	uint32_t r[3];

	memcpy(r, bytes, sizeof(r));
	vmm_hv_signature(r[0], r[1], r[2], out);
}

static void
test_detect__signatures_read_as_their_hypervisors_name_them(void **state)
{
	char sig[13];

	(void)state;
	sig_of("KVMKVMKVM\0\0\0", sig);
	assert_string_equal(sig, "KVMKVMKVM");
	sig_of("TCGTCGTCGTCG", sig);
	assert_string_equal(sig, "TCGTCGTCGTCG");
	sig_of("Microsoft Hv", sig);
	assert_string_equal(sig, "Microsoft Hv");
	sig_of("bhyve bhyve ", sig);
	assert_string_equal(sig, "bhyve bhyve");
	sig_of("\0\0\0\0\0\0\0\0\0\0\0\0", sig);
	assert_string_equal(sig, "");
	sig_of("ab\ncd\x80\0\0\0\0\0\0\0", sig);
	assert_string_equal(sig, "ab?cd?");
}

/* The kernel's own answer: the "hypervisor" flag of /proc/cpuinfo. */
static int
cpuinfo_says_hypervisor(void)
{
	char line[4096];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int found = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "flags", 5) == 0) {
			found = strstr(line, " hypervisor") != NULL;
			break;
		}
	fclose(f);
	return found;
}

static void
test_detect__nested_agrees_with_the_kernel(void **state)
{
	char sig[16], again[16];
	int nested = vmm_host_nested(sig, sizeof(sig)), kernel;

	(void)state;
	kernel = cpuinfo_says_hypervisor();
	if (kernel < 0)
		skip(); /* no /proc/cpuinfo flags line: not Linux on x86 */
	assert_int_equal(nested, kernel);
	if (!nested)
		assert_string_equal(sig, "");
	/* Asked once: the same answer again. */
	assert_int_equal(vmm_host_nested(again, sizeof(again)), nested);
	assert_string_equal(again, sig);
	printf("nested: %d, hypervisor signature \"%s\"\n", nested, sig);
}

static void
test_detect__kind_names_the_loaded_vendor_module(void **state)
{
	const char *kind = vmm_kvm_kind();

	(void)state;
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		assert_string_equal(kind, "pvm");
	else if (access("/sys/module/kvm_intel", F_OK) == 0)
		assert_string_equal(kind, "vmx");
	else if (access("/sys/module/kvm_amd", F_OK) == 0)
		assert_string_equal(kind, "svm");
	else
		assert_string_equal(kind, "unknown");
}

/* Writes text (NULL: removes the file) to a temporary file's path. */
static void
param_file(const char *path, const char *text)
{
	FILE *f;

	if (text == NULL) {
		(void)unlink(path);
		return;
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_detect__backdoor_user_reads_the_kvm_parameter(void **state)
{
	char path[] = "/tmp/vmmapid-test-detect-XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	param_file(path, "Y\n");
	assert_int_equal(vmm_kvm_backdoor_user(path), 1);
	param_file(path, "N\n");
	assert_int_equal(vmm_kvm_backdoor_user(path), 0);
	param_file(path, "1");
	assert_int_equal(vmm_kvm_backdoor_user(path), 1);
	param_file(path, "0\n");
	assert_int_equal(vmm_kvm_backdoor_user(path), 0);
	param_file(path, "yes\n");
	assert_int_equal(vmm_kvm_backdoor_user(path), -1);
	assert_int_equal(errno, EINVAL);
	param_file(path, "");
	assert_int_equal(vmm_kvm_backdoor_user(path), -1);
	assert_int_equal(errno, EINVAL);
	param_file(path, NULL);
	assert_int_equal(vmm_kvm_backdoor_user(path), -1);
	assert_int_equal(errno, ENOENT);
	/* This host's own, when it has a kvm module: Y or N, nothing else. */
	if (access(VMM_KVM_BACKDOOR_PARAM, R_OK) == 0)
		assert_true(vmm_kvm_backdoor_user(VMM_KVM_BACKDOOR_PARAM) >= 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_detect__signatures_read_as_their_hypervisors_name_them),
	    cmocka_unit_test(test_detect__nested_agrees_with_the_kernel),
	    cmocka_unit_test(test_detect__kind_names_the_loaded_vendor_module),
	    cmocka_unit_test(
		test_detect__backdoor_user_reads_the_kvm_parameter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
