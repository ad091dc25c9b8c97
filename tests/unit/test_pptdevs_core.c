/*
 * core/pptdevs.c below the API: what only a run with devices shows, which
 * the API cannot make on sim (a start with devices answers 501 there):
 * a run's claim on its devices is all or none, a second VM's claim on one
 * of them is refused naming the holder, a release is refused while a run
 * holds the device, and what counts is the run's claim, never what a
 * spec names now.  The host is a sysfs tree made in the fixture's
 * directory, with devices 0/31/0 and 0/30/0.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/pptdevs.h"
#include "tfixture.h"

struct fx {
	struct tfixture f_tf; /* first */
	struct pptdevs *f_ppt;
	char f_root[128];
};

static void
put(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	static const char *const parts[] = {"",
					    "/bus",
					    "/bus/pci",
					    "/bus/pci/devices",
					    "/bus/pci/devices/0000:00:1f.0",
					    "/bus/pci/devices/0000:00:1e.0"};
	struct fx *fx = tfixture_new(sizeof(*fx));
	char dir[256];
	size_t i;

	if (fx == NULL)
		return -1;
	snprintf(fx->f_root, sizeof(fx->f_root), "%s/sys", fx->f_tf.tf_dir);
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		snprintf(dir, sizeof(dir), "%s%s", fx->f_root, parts[i]);
		if (mkdir(dir, 0755) != 0) {
			tfixture_free(fx);
			return -1;
		}
		if (i >= 4) {
			put(dir, "vendor", "0x8086\n");
			put(dir, "device", "0x10d3\n");
			put(dir, "class", "0x020000\n");
		}
	}
	if (pptdevs_open(&fx->f_ppt, fx->f_tf.tf_db, fx->f_root, 0) != 0) {
		tfixture_free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	pptdevs_close(fx->f_ppt);
	tfixture_free(fx);
	return 0;
}

static void
reserve(struct fx *fx, unsigned bus, unsigned slot, unsigned func)
{
	struct pptdev_info pi;
	char why[256];
	int created;

	assert_int_equal(pptdevs_reserve(fx->f_ppt, bus, slot, func, &created,
					 &pi, why, sizeof(why)),
			 0);
}

/* A spec giving a run devices 0/slot[i]/0, i < n. */
static struct vm_spec
spec_of(const unsigned *slot, size_t n)
{
	struct vm_spec s;
	size_t i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		s.vs_pptdevs[i][1] = slot[i];
		s.vs_npptdevs++;
	}
	return s;
}

static void
test_pptdevs_core__a_held_device_is_not_released(void **state)
{
	struct fx *fx = *state;
	static const unsigned dev[] = {31};
	struct vm_spec spec = spec_of(dev, 1);
	struct pptdev_info pi;
	char why[256], vm[VMKEY_SIZE];

	reserve(fx, 0, 31, 0);
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, NULL, vm), 0);
	assert_int_equal(
	    pptdevs_claim(fx->f_ppt, &spec, "j1/a", why, sizeof(why)), 0);
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, NULL, vm), 1);
	assert_string_equal(vm, "j1/a");
	/* A's own start does not find itself. */
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, "j1/a", vm), 0);
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 30, 0, NULL, vm), 0);
	assert_int_equal(pptdevs_get(fx->f_ppt, 0, 31, 0, &pi), 0);
	assert_string_equal(pi.pi_assigned, "j1/a");
	assert_int_equal(pptdevs_release(fx->f_ppt, 0, 31, 0, why, sizeof(why)),
			 -1);
	assert_int_equal(errno, EBUSY);
	/* No VM named: the caller may be a jail's root, and "a" another
	 * scope's (api/pptdevs.c names the holder to whom may see it). */
	assert_non_null(strstr(why, "in use by a running VM"));
	assert_null(strstr(why, "j1/a"));
	pptdevs_unclaim(fx->f_ppt, "j1/a");
	assert_int_equal(pptdevs_get(fx->f_ppt, 0, 31, 0, &pi), 0);
	assert_string_equal(pi.pi_assigned, "");
	assert_int_equal(pptdevs_release(fx->f_ppt, 0, 31, 0, why, sizeof(why)),
			 0);
	assert_int_equal(pptdevs_get(fx->f_ppt, 0, 31, 0, &pi), 0);
	assert_false(pi.pi_reserved);
}

static void
test_pptdevs_core__a_claim_is_all_or_none_and_one_run_per_device(void **state)
{
	struct fx *fx = *state;
	static const unsigned one[] = {30}, both[] = {31, 30};
	struct vm_spec a = spec_of(one, 1), b = spec_of(both, 2);
	char why[256], vm[VMKEY_SIZE] = "";

	reserve(fx, 0, 31, 0);
	reserve(fx, 0, 30, 0);
	assert_int_equal(pptdevs_claim(fx->f_ppt, &a, "a", why, sizeof(why)),
			 0);
	/* b wants 0/31/0, free, and 0/30/0, a's: it gets neither. */
	assert_int_equal(pptdevs_claim(fx->f_ppt, &b, "b", why, sizeof(why)),
			 -1);
	assert_int_equal(errno, EBUSY);
	assert_non_null(strstr(why, "0/30/0 is in use by another running VM"));
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 30, 0, "b", vm), 1);
	assert_string_equal(vm, "a");
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, NULL, vm), 0);
	/* Once a's run gave it back, b's claim takes both. */
	pptdevs_unclaim(fx->f_ppt, "a");
	assert_int_equal(pptdevs_claim(fx->f_ppt, &b, "b", why, sizeof(why)),
			 0);
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, NULL, vm), 1);
	assert_string_equal(vm, "b");
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 30, 0, NULL, vm), 1);
	assert_string_equal(vm, "b");
	/* Unclaiming a VM that holds nothing changes nothing. */
	pptdevs_unclaim(fx->f_ppt, "a");
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 30, 0, NULL, vm), 1);
	pptdevs_unclaim(fx->f_ppt, "b");
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 30, 0, NULL, vm), 0);
}

static void
test_pptdevs_core__a_claim_needs_every_device_reserved(void **state)
{
	struct fx *fx = *state;
	static const unsigned both[] = {31, 30};
	struct vm_spec b = spec_of(both, 2);
	char why[256], vm[VMKEY_SIZE];

	reserve(fx, 0, 31, 0);
	assert_int_equal(pptdevs_claim(fx->f_ppt, &b, "b", why, sizeof(why)),
			 -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(why, "0/30/0 is not reserved"));
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, NULL, vm), 0);
}

static void
test_pptdevs_core__a_spec_naming_an_unreserved_device_is_refused(void **state)
{
	struct fx *fx = *state;
	struct pptdev_info pi;
	char why[256];
	size_t index = 9;
	int created;
	json_t *spec = json_pack("{s:[s,s]}", "pptdevs", "0/31/0", "1/0/0");

	reserve(fx, 0, 31, 0);
	assert_int_equal(
	    pptdevs_check_spec(fx->f_ppt, spec, &index, why, sizeof(why)), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(index, 1);
	assert_non_null(strstr(why, "1/0/0 is not reserved"));
	json_decref(spec);
	/* No such device on the host: nothing reserved. */
	assert_int_equal(pptdevs_reserve(fx->f_ppt, 1, 0, 0, &created, &pi, why,
					 sizeof(why)),
			 -1);
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_pptdevs_core__a_held_device_is_not_released, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_pptdevs_core__a_claim_is_all_or_none_and_one_run_per_device,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_pptdevs_core__a_claim_needs_every_device_reserved, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_pptdevs_core__a_spec_naming_an_unreserved_device_is_refused,
		setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
