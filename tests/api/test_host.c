/*
 * GET /v1's account of the virtualization under the daemon: the kind
 * the backend uses (svm, vmx, pvm; none for sim), whether the host is
 * itself a guest, as the kernel sees it, and whether guests' user space
 * reaches the VMware backdoor (kvm's enable_vmware_backdoor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* The "hypervisor" flag of /proc/cpuinfo: 1, 0, or -1 without one. */
static int
host_cpuinfo_hypervisor(void)
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
test_host__root_names_the_virtualization_and_whether_it_is_nested(
    struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");
	const json_t *nested, *sig;
	const char *driver, *want;
	int kernel = host_cpuinfo_hypervisor();
	const char *vg = getenv("VMMAPID_TEST_VALGRIND");

	assert_status(r, 200);
	driver = json_string_value(harness_json_at(r->hr_json, "driver.name"));
	assert_non_null(driver);
	if (strcmp(driver, "sim") == 0)
		want = "none";
	else if (access("/sys/module/kvm_pvm", F_OK) == 0)
		want = "pvm";
	else if (access("/sys/module/kvm_intel", F_OK) == 0)
		want = "vmx";
	else if (access("/sys/module/kvm_amd", F_OK) == 0)
		want = "svm";
	else
		want = "unknown";
	assert_json_str(r, "driver.virtualization", want);

	nested = harness_json_at(r->hr_json, "driver.nested");
	sig = harness_json_at(r->hr_json, "driver.host_hypervisor");
	assert_true(json_is_boolean(nested));
	assert_true(json_is_string(sig));
	/* Under valgrind the daemon's CPUID is valgrind's, which never
	 * sets the hypervisor bit: nothing to compare with the kernel's. */
	if (kernel >= 0 && (vg == NULL || strcmp(vg, "1") != 0))
		assert_int_equal(json_is_true(nested), kernel);
	if (!json_is_true(nested))
		assert_string_equal(json_string_value(sig), "");
	printf("driver %s, virtualization %s, nested %s (%s)\n", driver, want,
	       json_is_true(nested) ? "yes" : "no", json_string_value(sig));
}

/* The kvm module's enable_vmware_backdoor: 1 Y, 0 N, -1 no module. */
static int
host_backdoor_param(void)
{
	char buf[8] = "";
	FILE *f =
	    fopen("/sys/module/kvm/parameters/enable_vmware_backdoor", "r");

	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return buf[0] == 'Y' || buf[0] == '1';
}

/*
 * driver.features lists guestinfo-backdoor-user exactly when the daemon
 * runs kvm and the kvm module lets guests' user space reach the backdoor
 * (the nested test host loads it so; this machine's own kvm may not).
 */
static void
test_host__backdoor_user_is_a_feature_where_kvm_lets_user_space_through(
    struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");
	const char *driver;
	int param = host_backdoor_param(), want;

	assert_status(r, 200);
	driver = json_string_value(harness_json_at(r->hr_json, "driver.name"));
	assert_non_null(driver);
	want = strcmp(driver, "kvm") == 0 && param == 1;
	assert_int_equal(harness_backend_has(h, "guestinfo-backdoor-user"),
			 want);
	printf("driver %s, kvm.enable_vmware_backdoor %s: "
	       "guestinfo-backdoor-user %s\n",
	       driver,
	       param < 0    ? "(no kvm module)"
	       : param == 1 ? "Y"
			    : "N",
	       want ? "listed" : "not listed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_host__root_names_the_virtualization_and_whether_it_is_nested,
		0),
	    HARNESS_CASE(
		test_host__backdoor_user_is_a_feature_where_kvm_lets_user_space_through,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
