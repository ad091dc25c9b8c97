/*
 * /v1/pptdevs against a generated sysfs tree (sysfs_tree.h): the fields
 * of the enumeration, reservation and release, bad addresses, the
 * loader.conf lines at and past their limits, persistence across a
 * restart, --ppt-bind's writes, and VM specs that name devices.  Access
 * is in test_access.c's table.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs_tree.h"

/* The generated host: an Intel NIC on e1000e in IOMMU group 7, two
 * functions of a device without a driver or group, one device in domain
 * 1 on bus 10. */
static const char *
host_tree(struct harness *h)
{
	const char *root = sysfs_tree_make(h);

	sysfs_tree_device(root, "0000:00:1f.0", 0x8086, 0x10d3, 0x020000,
			  "e1000e", 7);
	sysfs_tree_device(root, "0000:06:05.0", 0x1234, 0x11e8, 0x00ff00, NULL,
			  -1);
	sysfs_tree_device(root, "0000:06:05.1", 0x1234, 0x11e8, 0x00ff00, NULL,
			  -1);
	sysfs_tree_device(root, "0001:0a:00.0", 0x15b3, 0x1017, 0x020000,
			  "mlx5_core", 12);
	return root;
}

/* Starts the daemon on root, with --ppt-bind when bind. */
static void
start_on(struct harness *h, const char *root, int bind)
{
	const char *args[] = {"--sysfs-root", root, bind ? "--ppt-bind" : NULL,
			      NULL};

	harness_start(h, args);
}

static struct harness_response *
dev_req(struct harness *h, const char *method, const char *dev)
{
	char *path = harness_alloc(h, 128);

	snprintf(path, 128, "/v1/pptdevs/%s", dev);
	return harness_req(h, method, path, NULL, NULL);
}

/* The item of a list whose pptdev is dev, or fails. */
static json_t *
item(const struct harness_response *r, const char *dev)
{
	json_t *items = json_object_get(r->hr_json, "items"), *v;
	size_t i;

	json_array_foreach (items, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "pptdev")),
			   dev) == 0)
			return v;
	}
	fail_msg("no device %s in %s", dev, r->hr_body);
	return NULL;
}

static const char *
str_at(const json_t *v, const char *key)
{
	return json_string_value(json_object_get(v, key));
}

static void
test_pptdevs__the_list_shows_each_device_with_its_fields(struct harness *h)
{
	struct harness_response *r;
	json_t *v;

	start_on(h, host_tree(h), 0);
	r = harness_get(h, "/v1/pptdevs");
	assert_status(r, 200);
	assert_int_equal(json_array_size(json_object_get(r->hr_json, "items")),
			 4);
	/* In domain, bus, slot, function order. */
	assert_json_str(r, "items.0.pptdev", "0/31/0");
	v = item(r, "0/31/0");
	assert_string_equal(str_at(v, "address"), "0000:00:1f.0");
	assert_int_equal(json_integer_value(json_object_get(v, "bus")), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "slot")), 31);
	assert_int_equal(json_integer_value(json_object_get(v, "func")), 0);
	assert_string_equal(str_at(v, "vendor"), "0x8086");
	assert_string_equal(str_at(v, "device"), "0x10d3");
	assert_string_equal(str_at(v, "class"), "0x020000");
	assert_string_equal(str_at(v, "driver"), "e1000e");
	assert_int_equal(json_integer_value(json_object_get(v, "iommu_group")),
			 7);
	assert_true(json_is_false(json_object_get(v, "reserved")));
	assert_true(json_is_true(json_object_get(v, "present")));
	assert_true(json_is_null(json_object_get(v, "assigned_to")));
	assert_true(json_is_null(json_object_get(v, "original_driver")));
	v = item(r, "6/5/1");
	assert_string_equal(str_at(v, "address"), "0000:06:05.1");
	assert_true(json_is_null(json_object_get(v, "driver")));
	assert_true(json_is_null(json_object_get(v, "iommu_group")));
	/* Decimal bus, hexadecimal address. */
	v = item(r, "10/0/0");
	assert_string_equal(str_at(v, "address"), "0001:0a:00.0");
	assert_json_str(r, "items.3.pptdev", "10/0/0");
	/* One device. */
	r = dev_req(h, "GET", "6/5/0");
	assert_status(r, 200);
	assert_json_str(r, "device", "0x11e8");
	assert_problem(dev_req(h, "GET", "6/5/2"), 404, NULL);
}

static void
test_pptdevs__a_device_is_reserved_and_released(struct harness *h)
{
	const char *root = host_tree(h);
	struct harness_response *r;

	start_on(h, root, 0);
	r = dev_req(h, "PUT", "0/31/0");
	assert_status(r, 201);
	assert_header(r, "Location", "/v1/pptdevs/0/31/0");
	assert_true(json_is_true(json_object_get(r->hr_json, "reserved")));
	assert_true(harness_is_rfc3339(
	    json_string_value(json_object_get(r->hr_json, "reserved_at"))));
	/* Again: nothing changes. */
	assert_status(dev_req(h, "PUT", "0/31/0"), 200);
	r = harness_get(h, "/v1/pptdevs");
	assert_true(
	    json_is_true(json_object_get(item(r, "0/31/0"), "reserved")));
	assert_true(
	    json_is_false(json_object_get(item(r, "6/5/0"), "reserved")));
	/* Without --ppt-bind nothing is written to sysfs. */
	assert_string_equal(sysfs_tree_read(h, root,
					    "bus/pci/devices/0000:00:1f.0/"
					    "driver_override"),
			    "(null)\n");
	assert_string_equal(sysfs_tree_read(h, root, "bus/pci/drivers_probe"),
			    "");
	assert_string_equal(str_at(item(r, "0/31/0"), "driver"), "e1000e");
	/* Unknown devices, and a release of what is not reserved: 404. */
	r = dev_req(h, "PUT", "0/2/0");
	assert_problem(r, 404, NULL);
	assert_non_null(strstr(r->hr_body, "0/2/0"));
	assert_problem(dev_req(h, "DELETE", "6/5/0"), 404, NULL);
	assert_status(dev_req(h, "DELETE", "0/31/0"), 204);
	assert_problem(dev_req(h, "DELETE", "0/31/0"), 404, NULL);
	r = dev_req(h, "GET", "0/31/0");
	assert_true(json_is_false(json_object_get(r->hr_json, "reserved")));
}

static void
test_pptdevs__bad_addresses_are_400_and_change_nothing(struct harness *h)
{
	static const struct {
		const char *dev, *field;
	} bad[] = {
	    {"256/0/0", "bus"},  {"0/32/0", "slot"},    {"0/0/8", "func"},
	    {"x/0/0", "bus"},    {"-1/0/0", "bus"},     {"+1/0/0", "bus"},
	    {"0/1e1/0", "slot"}, {"0/0/00000", "func"}, {"0/0/%201", "func"},
	};
	static const char *const methods[] = {"GET", "PUT", "DELETE"};
	size_t i, m;

	start_on(h, host_tree(h), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		for (m = 0; m < 3; m++)
			assert_problem(dev_req(h, methods[m], bad[i].dev), 400,
				       bad[i].field);
	assert_string_equal(harness_get(h, "/v1/pptdevs/loader.conf")->hr_body,
			    "");
	/* A body on PUT: 400, nothing reserved. */
	assert_problem(harness_req(h, "PUT", "/v1/pptdevs/0/31/0", "{}", NULL),
		       400, NULL);
	assert_problem(dev_req(h, "DELETE", "0/31/0"), 404, NULL);
	/* Leading zeros are decimal still. */
	assert_status(dev_req(h, "PUT", "00/031/0"), 201);
	assert_status(dev_req(h, "DELETE", "0/31/0"), 204);
}

static void
test_pptdevs__reservations_survive_a_restart(struct harness *h)
{
	const char *root = host_tree(h);
	struct harness_response *r;
	char from[512], to[512];

	start_on(h, root, 0);
	assert_status(dev_req(h, "PUT", "0/31/0"), 201);
	assert_status(dev_req(h, "PUT", "10/0/0"), 201);
	assert_status(dev_req(h, "PUT", "6/5/1"), 201);
	assert_status(dev_req(h, "DELETE", "6/5/1"), 204);
	harness_stop(h);
	start_on(h, root, 0);
	r = harness_get(h, "/v1/pptdevs");
	assert_true(
	    json_is_true(json_object_get(item(r, "0/31/0"), "reserved")));
	assert_true(
	    json_is_true(json_object_get(item(r, "10/0/0"), "reserved")));
	assert_true(
	    json_is_false(json_object_get(item(r, "6/5/1"), "reserved")));
	r = harness_get(h, "/v1/pptdevs/loader.conf");
	assert_status(r, 200);
	assert_string_equal(r->hr_body, "pptdevs=\"0/31/0 10/0/0\"\n");
	/* A device the host stopped showing stays reserved, shown absent,
	 * and may be released. */
	harness_stop(h);
	snprintf(from, sizeof(from), "%s/bus/pci/devices/0000:00:1f.0", root);
	snprintf(to, sizeof(to), "%s/gone", root);
	assert_int_equal(rename(from, to), 0);
	start_on(h, root, 0);
	r = dev_req(h, "GET", "0/31/0");
	assert_status(r, 200);
	assert_true(json_is_false(json_object_get(r->hr_json, "present")));
	assert_true(json_is_true(json_object_get(r->hr_json, "reserved")));
	assert_json_str(r, "address", "0000:00:1f.0");
	r = harness_get(h, "/v1/pptdevs");
	assert_json_str(r, "items.3.pptdev", "0/31/0");
	assert_status(dev_req(h, "DELETE", "0/31/0"), 204);
	assert_problem(dev_req(h, "GET", "0/31/0"), 404, NULL);
}

/* The length of the value of line n (0-based) of a loader.conf body. */
static size_t
value_len(const char *body, int n, char *name, size_t namelen)
{
	const char *l = body, *q1 = NULL, *q2 = NULL;

	while (n-- > 0 && l != NULL)
		if ((l = strchr(l, '\n')) != NULL)
			l++;
	if (l == NULL || (q1 = strchr(l, '"')) == NULL ||
	    (q2 = strchr(q1 + 1, '"')) == NULL)
		fail_msg("no line %d in %s", n, body);
	snprintf(name, namelen, "%.*s", (int)(q1 - l - 1), l);
	return (size_t)(q2 - q1 - 1);
}

static void
test_pptdevs__loader_conf_fills_128_characters_then_pptdevs2(struct harness *h)
{
	const char *root = sysfs_tree_make(h);
	struct harness_response *r;
	char addr[16], dev[16], name[32];
	unsigned s;

	/* 9 devices of 8 characters (200/10/0 ...) and 6 of 7 (201/1/0
	 * ...): 9 * 8 + 6 * 7 + 14 spaces = 128. */
	for (s = 10; s < 19; s++) {
		snprintf(addr, sizeof(addr), "0000:c8:%02x.0", s);
		sysfs_tree_device(root, addr, 0x8086, 0x1000 + s, 0x020000,
				  NULL, -1);
	}
	for (s = 1; s < 7; s++) {
		snprintf(addr, sizeof(addr), "0000:c9:%02x.0", s);
		sysfs_tree_device(root, addr, 0x8086, 0x1100 + s, 0x020000,
				  NULL, -1);
	}
	sysfs_tree_device(root, "0000:ca:00.0", 0x8086, 0x1200, 0x020000, NULL,
			  -1);
	start_on(h, root, 0);
	r = harness_get(h, "/v1/pptdevs/loader.conf");
	assert_status(r, 200);
	assert_string_equal(r->hr_body, "");
	assert_header(r, "Content-Type", "text/plain");
	for (s = 10; s < 19; s++) {
		snprintf(dev, sizeof(dev), "200/%u/0", s);
		assert_status(dev_req(h, "PUT", dev), 201);
	}
	for (s = 1; s < 7; s++) {
		snprintf(dev, sizeof(dev), "201/%u/0", s);
		assert_status(dev_req(h, "PUT", dev), 201);
	}
	r = harness_get(h, "/v1/pptdevs/loader.conf");
	assert_status(r, 200);
	assert_int_equal(value_len(r->hr_body, 0, name, sizeof(name)), 128);
	assert_string_equal(name, "pptdevs");
	assert_null(strchr(strchr(r->hr_body, '\n') + 1, '\n'));
	assert_true(strncmp(r->hr_body, "pptdevs=\"200/10/0 200/11/0 ", 27) ==
		    0);
	/* One more: it goes to pptdevs2. */
	assert_status(dev_req(h, "PUT", "202/0/0"), 201);
	r = harness_get(h, "/v1/pptdevs/loader.conf");
	assert_int_equal(value_len(r->hr_body, 0, name, sizeof(name)), 128);
	assert_int_equal(value_len(r->hr_body, 1, name, sizeof(name)), 7);
	assert_string_equal(name, "pptdevs2");
	assert_non_null(strstr(r->hr_body, "\npptdevs2=\"202/0/0\"\n"));
}

static void
test_pptdevs__loader_conf_past_three_values_is_422(struct harness *h)
{
	const char *root = sysfs_tree_make(h);
	struct harness_response *r;
	char addr[16], dev[16], name[32];
	unsigned b, s, n = 0;
	int i;

	/* 43 devices of 8 characters; 14 fit in a value (14 * 9 - 1 =
	 * 125), so 42 in three. */
	for (b = 220; b < 222; b++)
		for (s = 10; s < 32 && n < 43; s++, n++) {
			snprintf(addr, sizeof(addr), "0000:%02x:%02x.0", b, s);
			sysfs_tree_device(root, addr, 0x8086, 0x2000 + n,
					  0x020000, NULL, -1);
		}
	start_on(h, root, 0);
	n = 0;
	for (b = 220; b < 222; b++)
		for (s = 10; s < 32 && n < 43; s++, n++) {
			snprintf(dev, sizeof(dev), "%u/%u/0", b, s);
			assert_status(dev_req(h, "PUT", dev), 201);
		}
	r = harness_get(h, "/v1/pptdevs/loader.conf");
	assert_problem(r, 422, NULL);
	assert_non_null(strstr(r->hr_body, "43 devices are reserved and only "
					   "42 fit"));
	/* One fewer: three full values. */
	assert_status(dev_req(h, "DELETE", "221/30/0"), 204);
	r = harness_get(h, "/v1/pptdevs/loader.conf");
	assert_status(r, 200);
	for (i = 0; i < 3; i++) {
		assert_int_equal(value_len(r->hr_body, i, name, sizeof(name)),
				 125);
		assert_string_equal(name, i == 0   ? "pptdevs"
					  : i == 1 ? "pptdevs2"
						   : "pptdevs3");
	}
}

static void
test_pptdevs__ppt_bind_hands_the_device_to_vfio_pci_and_back(struct harness *h)
{
	const char *root = host_tree(h);
	struct harness_response *r;
	const char *ovr = "bus/pci/devices/0000:00:1f.0/driver_override";

	start_on(h, root, 1);
	/* No vfio-pci driver: 503 saying so, nothing reserved or written. */
	r = dev_req(h, "PUT", "0/31/0");
	assert_problem(r, 503, NULL);
	assert_non_null(strstr(r->hr_body, "modprobe vfio-pci"));
	assert_string_equal(sysfs_tree_read(h, root, ovr), "(null)\n");
	assert_problem(dev_req(h, "DELETE", "0/31/0"), 404, NULL);

	sysfs_tree_driver(root, "vfio-pci");
	r = dev_req(h, "PUT", "0/31/0");
	assert_status(r, 201);
	assert_json_str(r, "original_driver", "e1000e");
	assert_string_equal(sysfs_tree_read(h, root, ovr), "vfio-pci\n");
	assert_string_equal(
	    sysfs_tree_read(h, root, "bus/pci/drivers/e1000e/unbind"),
	    "0000:00:1f.0");
	assert_string_equal(sysfs_tree_read(h, root, "bus/pci/drivers_probe"),
			    "0000:00:1f.0");
	/* Remembered across a restart. */
	harness_stop(h);
	start_on(h, root, 1);
	r = dev_req(h, "GET", "0/31/0");
	assert_json_str(r, "original_driver", "e1000e");
	/* A device without a driver: nothing to unbind, "" to go back to. */
	r = dev_req(h, "PUT", "6/5/1");
	assert_status(r, 201);
	assert_json_str(r, "original_driver", "");
	assert_string_equal(sysfs_tree_read(h, root, "bus/pci/drivers_probe"),
			    "0000:06:05.1");

	/* Release: the override cleared, the device probed again. */
	sysfs_tree_put(root, "bus/pci/drivers_probe", "");
	assert_status(dev_req(h, "DELETE", "0/31/0"), 204);
	assert_string_equal(sysfs_tree_read(h, root, ovr), "\n");
	assert_string_equal(sysfs_tree_read(h, root, "bus/pci/drivers_probe"),
			    "0000:00:1f.0");
}

/*
 * A device already on vfio-pci when reserved with --ppt-bind was not
 * bound by the daemon, so its release leaves it there: nothing unbound,
 * nothing probed, the override untouched.
 */
static void
test_pptdevs__a_device_on_vfio_pci_already_stays_there_after_release(
    struct harness *h)
{
	const char *root = host_tree(h);
	struct harness_response *r;
	const char *ovr = "bus/pci/devices/0000:03:00.0/driver_override";

	sysfs_tree_device(root, "0000:03:00.0", 0x10de, 0x1eb8, 0x030200,
			  "vfio-pci", 9);
	sysfs_tree_driver(root, "vfio-pci");
	start_on(h, root, 1);
	sysfs_tree_put(root, "bus/pci/drivers_probe", "");
	r = dev_req(h, "PUT", "3/0/0");
	assert_status(r, 201);
	assert_json_str(r, "driver", "vfio-pci");
	/* Not the daemon's doing: no driver to go back to. */
	assert_true(
	    json_is_null(json_object_get(r->hr_json, "original_driver")));
	assert_string_equal(sysfs_tree_read(h, root, ovr), "(null)\n");
	assert_status(dev_req(h, "DELETE", "3/0/0"), 204);
	assert_string_equal(sysfs_tree_read(h, root, ovr), "(null)\n");
	assert_string_equal(
	    sysfs_tree_read(h, root, "bus/pci/drivers/vfio-pci/unbind"), "");
	assert_string_equal(sysfs_tree_read(h, root, "bus/pci/drivers_probe"),
			    "");
}

/*
 * A device is assigned to the run it was given, not to whatever a VM's
 * spec says now: a running VM whose pptdevs a PATCH changed (to take
 * effect at its next start) holds nothing it was not started with, so
 * the device shows no holder and its release is a 204.
 */
static void
test_pptdevs__a_patch_of_a_running_vm_assigns_it_nothing(struct harness *h)
{
	struct harness_response *r;

	start_on(h, host_tree(h), 0);
	harness_put_guest(h, "spin");
	harness_define_vm(h, "r1", "spin.bin", "");
	assert_status(harness_req(h, "POST", "/v1/vms/r1/start", NULL, NULL),
		      200);
	assert_status(dev_req(h, "PUT", "6/5/0"), 201);
	r = harness_req(h, "PATCH", "/v1/vms/r1", "{\"pptdevs\":[\"6/5/0\"]}",
			"Content-Type: application/merge-patch+json", NULL);
	assert_status(r, 200);
	assert_true(json_is_true(json_object_get(
	    json_object_get(r->hr_json, "status"), "pending_restart")));
	assert_true(json_is_null(json_object_get(
	    dev_req(h, "GET", "6/5/0")->hr_json, "assigned_to")));
	assert_true(json_is_null(json_object_get(
	    item(harness_get(h, "/v1/pptdevs"), "6/5/0"), "assigned_to")));
	assert_status(dev_req(h, "DELETE", "6/5/0"), 204);
	assert_json_str(harness_get(h, "/v1/vms/r1"), "status.state",
			"running");
}

static void
test_pptdevs__a_spec_may_name_only_reserved_devices(struct harness *h)
{
	struct harness_response *r;
	const char *vm = "{\"name\":\"p1\",\"memory_mib\":4,\"boot\":{"
			 "\"kind\":\"flat\",\"image\":\"spin.bin\"},"
			 "\"pptdevs\":[\"6/5/0\",\"0/31/0\"]}";

	start_on(h, host_tree(h), 0);
	harness_put_guest(h, "spin");
	assert_status(dev_req(h, "PUT", "6/5/0"), 201);
	r = harness_req(h, "POST", "/v1/vms", vm, NULL);
	assert_problem(r, 422, "pptdevs[1]");
	assert_non_null(strstr(r->hr_body, "0/31/0 is not reserved"));
	assert_problem(harness_get(h, "/v1/vms/p1"), 404, NULL);
	assert_status(dev_req(h, "PUT", "0/31/0"), 201);
	assert_status(harness_req(h, "POST", "/v1/vms", vm, NULL), 201);
	/* A PATCH adding an unreserved device: 422, the VM as it was. */
	r = harness_req(h, "PATCH", "/v1/vms/p1", "{\"pptdevs\":[\"6/5/1\"]}",
			"Content-Type: application/merge-patch+json", NULL);
	assert_problem(r, 422, "pptdevs[0]");
	assert_json_str(harness_get(h, "/v1/vms/p1"), "pptdevs.1", "0/31/0");
	/* Released under a defined VM: its start names the device. */
	assert_status(dev_req(h, "DELETE", "0/31/0"), 204);
	r = harness_req(h, "POST", "/v1/vms/p1/start", NULL, NULL);
	assert_problem(r, 422, "pptdevs[1]");
	assert_non_null(strstr(r->hr_body, "0/31/0"));
	/* Reserved again, the start goes past the check to the backend:
	 * sim cannot attach devices, kvm finds 6/5/0 in no IOMMU group. */
	assert_status(dev_req(h, "PUT", "0/31/0"), 201);
	r = harness_req(h, "POST", "/v1/vms/p1/start", NULL, NULL);
	if (harness_backend_has(h, "pci-passthrough")) {
		assert_problem(r, 422, NULL);
		assert_non_null(strstr(r->hr_body, "6/5/0"));
		assert_non_null(strstr(r->hr_body, "no IOMMU group"));
	} else {
		assert_problem(r, 501, NULL);
		assert_non_null(strstr(
		    r->hr_body, "PCI passthrough needs the kvm backend"));
	}
	assert_json_str(harness_get(h, "/v1/vms/p1"), "status.state",
			"defined");
}

/* Defines VM name with the devices of devs (a JSON array's members). */
static void
define_with(struct harness *h, const char *name, const char *devs)
{
	char *vm = harness_alloc(h, 512);

	snprintf(vm, 512,
		 "{\"name\":\"%s\",\"memory_mib\":4,\"boot\":{"
		 "\"kind\":\"flat\",\"image\":\"spin.bin\"},"
		 "\"pptdevs\":[%s]}",
		 name, devs);
	assert_status(harness_req(h, "POST", "/v1/vms", vm, NULL), 201);
}

/* The start of VM name: 422 saying what, on kvm; 501 on sim. */
static void
start_refused(struct harness *h, const char *name, const char *what)
{
	char *path = harness_alloc(h, 128);
	struct harness_response *r;

	snprintf(path, 128, "/v1/vms/%s/start", name);
	r = harness_req(h, "POST", path, NULL, NULL);
	if (harness_backend_has(h, "pci-passthrough")) {
		assert_problem(r, 422, NULL);
		if (strstr(r->hr_body, what) == NULL)
			fail_msg("no \"%s\" in %s", what, r->hr_body);
	} else {
		assert_problem(r, 501, NULL);
		assert_non_null(strstr(r->hr_body, "needs the kvm backend"));
	}
	snprintf(path, 128, "/v1/vms/%s", name);
	assert_json_str(harness_get(h, path), "status.state", "defined");
}

static void
test_pptdevs__a_start_says_why_a_device_cannot_be_attached(struct harness *h)
{
	const char *root = host_tree(h);

	/* Group 9: one device on vfio-pci, one on a host driver, and the
	 * root port above them (a bridge: never asked for). */
	sysfs_tree_device(root, "0000:00:1c.0", 0x8086, 0xa110, 0x060400,
			  "pcieport", 9);
	sysfs_tree_device(root, "0000:03:00.0", 0x10de, 0x1eb8, 0x030200,
			  "vfio-pci", 9);
	sysfs_tree_device(root, "0000:03:00.1", 0x10de, 0x10f8, 0x040300,
			  "snd_hda_intel", 9);
	start_on(h, root, 0);
	harness_put_guest(h, "spin");
	assert_status(dev_req(h, "PUT", "0/31/0"), 201);
	assert_status(dev_req(h, "PUT", "6/5/1"), 201);
	assert_status(dev_req(h, "PUT", "3/0/0"), 201);
	assert_status(dev_req(h, "PUT", "3/0/1"), 201);
	define_with(h, "bound", "\"0/31/0\"");
	start_refused(h, "bound",
		      "0/31/0 (0000:00:1f.0) is not bound to vfio-pci (its "
		      "driver: e1000e)");
	define_with(h, "nogroup", "\"6/5/1\"");
	start_refused(h, "nogroup",
		      "6/5/1 (0000:06:05.1) is in no IOMMU group");
	define_with(h, "shared", "\"3/0/0\"");
	start_refused(h, "shared", "shares IOMMU group 9 with 0000:03:00.1");
	/* The whole group: past the group check, to its other device's
	 * driver. */
	define_with(h, "whole", "\"3/0/0\", \"3/0/1\"");
	start_refused(h, "whole",
		      "3/0/1 (0000:03:00.1) is not bound to vfio-pci");
	/* Nothing is assigned after refused starts. */
	assert_true(json_is_null(json_object_get(
	    dev_req(h, "GET", "3/0/0")->hr_json, "assigned_to")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_pptdevs__the_list_shows_each_device_with_its_fields,
		HARNESS_NOSTART),
	    HARNESS_CASE(test_pptdevs__a_device_is_reserved_and_released,
			 HARNESS_NOSTART),
	    HARNESS_CASE(test_pptdevs__bad_addresses_are_400_and_change_nothing,
			 HARNESS_NOSTART),
	    HARNESS_CASE(test_pptdevs__reservations_survive_a_restart,
			 HARNESS_NOSTART),
	    HARNESS_CASE(
		test_pptdevs__loader_conf_fills_128_characters_then_pptdevs2,
		HARNESS_NOSTART),
	    HARNESS_CASE(test_pptdevs__loader_conf_past_three_values_is_422,
			 HARNESS_NOSTART),
	    HARNESS_CASE(
		test_pptdevs__ppt_bind_hands_the_device_to_vfio_pci_and_back,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_pptdevs__a_device_on_vfio_pci_already_stays_there_after_release,
		HARNESS_NOSTART),
	    HARNESS_CASE(
		test_pptdevs__a_patch_of_a_running_vm_assigns_it_nothing,
		HARNESS_NOSTART),
	    HARNESS_CASE(test_pptdevs__a_spec_may_name_only_reserved_devices,
			 HARNESS_NOSTART),
	    HARNESS_CASE(
		test_pptdevs__a_start_says_why_a_device_cannot_be_attached,
		HARNESS_NOSTART),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
