/*
 * A generated sysfs tree for the daemon's --sysfs-root: PCI devices as
 * Linux shows them under /sys/bus/pci/devices (vendor, device, class,
 * driver_override files; a driver symlink into bus/pci/drivers; an
 * iommu_group symlink into kernel/iommu_groups), and the files a bind
 * writes (drivers_probe, a driver's unbind and bind), so that a test
 * reads back what the daemon wrote.  Nothing here reacts to a write the
 * way the kernel would: a driver symlink stays what the test made it.
 *
 * Header-only, for tests/api programs; failures fail the case.
 */
#ifndef VMMAPID_TESTS_API_SYSFS_TREE_H
#define VMMAPID_TESTS_API_SYSFS_TREE_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

/* mkdir -p path. */
static inline void
sysfs_tree_mkdirs(const char *path)
{
	char buf[1100];
	size_t i;

	snprintf(buf, sizeof(buf), "%s", path);
	for (i = 1; buf[i] != '\0'; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		(void)mkdir(buf, 0755);
		buf[i] = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", buf, strerror(errno));
}

/* Writes text to dir/name, creating it. */
static inline void
sysfs_tree_put(const char *dir, const char *name, const char *text)
{
	char path[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		fail_msg("creating %s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

/*
 * Makes the tree's skeleton under h's directory and returns its root
 * (h's memory): ROOT/bus/pci/{devices,drivers,drivers_probe},
 * ROOT/kernel/iommu_groups.
 */
static inline const char *
sysfs_tree_make(struct harness *h)
{
	char *root = harness_alloc(h, 256), path[512];

	snprintf(root, 256, "%s/sys", h->h_dir);
	snprintf(path, sizeof(path), "%s/bus/pci/devices", root);
	sysfs_tree_mkdirs(path);
	snprintf(path, sizeof(path), "%s/bus/pci/drivers", root);
	sysfs_tree_mkdirs(path);
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups", root);
	sysfs_tree_mkdirs(path);
	snprintf(path, sizeof(path), "%s/bus/pci", root);
	sysfs_tree_put(path, "drivers_probe", "");
	return root;
}

/* A driver directory with its bind and unbind files. */
static inline void
sysfs_tree_driver(const char *root, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", root, name);
	sysfs_tree_mkdirs(path);
	sysfs_tree_put(path, "bind", "");
	sysfs_tree_put(path, "unbind", "");
}

/*
 * Device addr ("0000:00:1f.0") with its ids, bound to driver (NULL:
 * none), in IOMMU group (-1: none).
 */
static inline void
sysfs_tree_device(const char *root, const char *addr, unsigned vendor,
		  unsigned device, unsigned class, const char *driver,
		  int group)
{
	char dir[400], path[512], target[512], text[32];

	snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", root, addr);
	sysfs_tree_mkdirs(dir);
	snprintf(text, sizeof(text), "0x%04x\n", vendor);
	sysfs_tree_put(dir, "vendor", text);
	snprintf(text, sizeof(text), "0x%04x\n", device);
	sysfs_tree_put(dir, "device", text);
	snprintf(text, sizeof(text), "0x%06x\n", class);
	sysfs_tree_put(dir, "class", text);
	sysfs_tree_put(dir, "driver_override", "(null)\n");
	if (driver != NULL) {
		sysfs_tree_driver(root, driver);
		snprintf(path, sizeof(path), "%s/driver", dir);
		snprintf(target, sizeof(target), "../../drivers/%s", driver);
		if (symlink(target, path) != 0)
			fail_msg("symlink %s: %s", path, strerror(errno));
	}
	if (group >= 0) {
		snprintf(target, sizeof(target), "%s/kernel/iommu_groups/%d",
			 root, group);
		sysfs_tree_mkdirs(target);
		snprintf(path, sizeof(path), "%s/iommu_group", dir);
		if (symlink(target, path) != 0)
			fail_msg("symlink %s: %s", path, strerror(errno));
	}
}

/* The content of ROOT/rel (h's memory), "" when it is empty. */
static inline const char *
sysfs_tree_read(struct harness *h, const char *root, const char *rel)
{
	char path[512];
	size_t len;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	return harness_read_file(h, path, &len);
}

#endif
