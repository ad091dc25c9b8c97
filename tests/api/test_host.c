/*
 * GET /v1's account of the virtualization under the daemon: the kind
 * the backend uses (svm, vmx, pvm; none for sim) and whether the host
 * is itself a guest, as the kernel sees it.
 */
#include <stdio.h>
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
	if (kernel >= 0)
		assert_int_equal(json_is_true(nested), kernel);
	if (!json_is_true(nested))
		assert_string_equal(json_string_value(sig), "");
	printf("driver %s, virtualization %s, nested %s (%s)\n", driver, want,
	       json_is_true(nested) ? "yes" : "no", json_string_value(sig));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_host__root_names_the_virtualization_and_whether_it_is_nested,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
