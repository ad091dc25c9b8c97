/*
 * core/pptdevs.c below the API: what only a live VM shows, which the API
 * cannot make yet (a start with devices answers 501 until the VFIO
 * attach exists): the release of a device a live VM's spec names is
 * refused (EBUSY, naming it), and a start of another VM naming it finds
 * the holder.  The host is a sysfs tree made in the fixture's directory.
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
#include "core/vmreg.h"
#include "tfixture.h"

struct fx {
	struct tfixture f_tf; /* first */
	struct vmreg *f_reg;
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
	static const char *const parts[] = {"", "/bus", "/bus/pci",
					    "/bus/pci/devices",
					    "/bus/pci/devices/0000:00:1f.0"};
	struct fx *fx = tfixture_new(sizeof(*fx));
	char dir[256];
	size_t i;

	if (fx == NULL)
		return -1;
	snprintf(fx->f_root, sizeof(fx->f_root), "%s/sys", fx->f_tf.tf_dir);
	for (i = 0; i < 5; i++) {
		snprintf(dir, sizeof(dir), "%s%s", fx->f_root, parts[i]);
		if (mkdir(dir, 0755) != 0) {
			tfixture_free(fx);
			return -1;
		}
	}
	put(dir, "vendor", "0x8086\n");
	put(dir, "device", "0x10d3\n");
	put(dir, "class", "0x020000\n");
	if (vmreg_open(&fx->f_reg, fx->f_tf.tf_db) != 0 ||
	    pptdevs_open(&fx->f_ppt, fx->f_tf.tf_db, fx->f_reg, fx->f_root,
			 0) != 0) {
		vmreg_close(fx->f_reg);
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
	vmreg_close(fx->f_reg);
	tfixture_free(fx);
	return 0;
}

/* Defines VM name, a normalized spec naming dev. */
static void
define(struct fx *fx, const char *name, const char *dev)
{
	static const struct vmreg_owner root = {0, 0, ""};
	struct vmreg_doc doc = {0};
	json_t *spec = json_pack(
	    "{s:s, s:i, s:i, s:{s:s, s:s, s:i, s:i}, s:o, s:[s], s:b, s:s}",
	    "name", name, "vcpus", 1, "memory_mib", 4, "boot", "kind", "flat",
	    "image", "spin.bin", "load_address", 4096, "entry", 4096, "labels",
	    json_object(), "pptdevs", dev, "autostart", 0, "description", "");

	assert_non_null(spec);
	assert_int_equal(vmreg_create(fx->f_reg, name, spec, &root, &doc), 0);
	json_decref(spec);
	free(doc.vd_body);
}

static void
set_state(struct fx *fx, const char *name, enum vm_state s)
{
	json_t *status = json_object();

	assert_int_equal(vmreg_set_state(fx->f_reg, name, s, status), 0);
	json_decref(status);
}

static void
test_pptdevs_core__a_live_vms_device_is_not_released(void **state)
{
	struct fx *fx = *state;
	struct pptdev_info pi;
	char why[256], vm[VMKEY_SIZE];
	int created;

	assert_int_equal(pptdevs_reserve(fx->f_ppt, 0, 31, 0, &created, &pi,
					 why, sizeof(why)),
			 0);
	assert_int_equal(created, 1);
	define(fx, "a", "0/31/0");
	/* Defined, not live: nobody holds it. */
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, NULL, vm), 0);
	set_state(fx, "a", VM_RUNNING);
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, NULL, vm), 1);
	assert_string_equal(vm, "a");
	/* A's own start does not find itself. */
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 31, 0, "a", vm), 0);
	assert_int_equal(pptdevs_holder(fx->f_ppt, 0, 30, 0, NULL, vm), 0);
	assert_int_equal(pptdevs_release(fx->f_ppt, 0, 31, 0, why, sizeof(why)),
			 -1);
	assert_int_equal(errno, EBUSY);
	/* No VM named: the caller may be a jail's root, and "a" another
	 * scope's (api/pptdevs.c names the holder to whom may see it). */
	assert_non_null(strstr(why, "in use by a running VM"));
	assert_null(strstr(why, "VM a "));
	assert_int_equal(pptdevs_get(fx->f_ppt, 0, 31, 0, &pi), 0);
	assert_true(pi.pi_reserved);
	set_state(fx, "a", VM_PAUSED);
	assert_int_equal(pptdevs_release(fx->f_ppt, 0, 31, 0, why, sizeof(why)),
			 -1);
	set_state(fx, "a", VM_STOPPED);
	assert_int_equal(pptdevs_release(fx->f_ppt, 0, 31, 0, why, sizeof(why)),
			 0);
	assert_int_equal(pptdevs_get(fx->f_ppt, 0, 31, 0, &pi), 0);
	assert_false(pi.pi_reserved);
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

	assert_int_equal(pptdevs_reserve(fx->f_ppt, 0, 31, 0, &created, &pi,
					 why, sizeof(why)),
			 0);
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
		test_pptdevs_core__a_live_vms_device_is_not_released, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_pptdevs_core__a_spec_naming_an_unreserved_device_is_refused,
		setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
