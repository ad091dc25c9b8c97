/*
 * The host's PCI devices as the kernel shows them: on Linux, sysfs
 * (ROOT/bus/pci/devices, ROOT normally "/sys"; --sysfs-root points the
 * daemon at another tree, which the tests generate).  Reads and, only
 * for core/pptdevs.c under --ppt-bind, the writes that hand a device to
 * vfio-pci and back (driver_override, unbind, drivers_probe).
 *
 * Files only, no ioctl: FreeBSD's pciconf(8) ioctl (PCIOCGETCONF on
 * /dev/pci) belongs to vmm-driver/ (.ci/layers), and until it is written
 * there a scan on FreeBSD answers ENOTSUP.
 *
 * No state, no locks: core/pptdevs.c serializes the writes.
 */
#ifndef VMMAPID_CORE_PCIHOST_H
#define VMMAPID_CORE_PCIHOST_H

#include <stddef.h>

/* The driver that hands a device to a guest on Linux. */
#define PCIHOST_VFIO_DRIVER "vfio-pci"

struct pcihost_dev {
	unsigned pd_domain;
	unsigned pd_bus;     /* 0-255 */
	unsigned pd_slot;    /* 0-31 */
	unsigned pd_func;    /* 0-7 */
	char pd_address[17]; /* "dddd:bb:ss.f", sysfs's name */
	unsigned pd_vendor;  /* 16 bits */
	unsigned pd_device;  /* 16 bits */
	unsigned pd_class;   /* 24 bits: class, subclass, prog-if */
	char pd_driver[64];  /* the bound driver's name, "" none */
	int pd_iommu_group;  /* -1: none (no IOMMU, or not in a group) */
};

/*
 * Every device under root, in (domain, bus, slot, func) order, as a new
 * array the caller frees.  A tree without bus/pci/devices has none (0,
 * *n 0).  -1 with errno: ENOMEM, EIO (logged), ENOTSUP off Linux.
 * Entries whose names or identification files cannot be read are
 * skipped, with a log line.
 */
int pcihost_scan(const char *root, struct pcihost_dev **list, size_t *n);

/*
 * The device at bus/slot/func (of the lowest domain that has one) into
 * *out.  ENOENT: none.
 */
int pcihost_find(const char *root, unsigned bus, unsigned slot, unsigned func,
		 struct pcihost_dev *out);

/*
 * Hands d to vfio-pci: driver_override "vfio-pci", unbind from its
 * driver (if any and not vfio-pci already), drivers_probe.  -1 with
 * errno and why: ENOTSUP when root has no vfio-pci driver (the module
 * is not loaded), EIO (or the write's errno) when a write failed; the
 * override is then cleared again.
 */
int pcihost_bind_vfio(const char *root, const struct pcihost_dev *d, char *why,
		      size_t len);

/*
 * Undoes pcihost_bind_vfio: clears driver_override, unbinds d from
 * vfio-pci when bound to it, and asks the kernel to probe it again, which
 * gives it back to the driver that matches it (the one it had, or none).
 * -1 with errno and why when a write failed.
 */
int pcihost_unbind_vfio(const char *root, const struct pcihost_dev *d,
			char *why, size_t len);

#endif
