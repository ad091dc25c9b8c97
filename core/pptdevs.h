/*
 * PCI passthrough devices: the host's PCI devices (core/pcihost.h) and
 * which of them are reserved for guests, FreeBSD's pptdevs.  A
 * reservation is made by bus/slot/function, kept in the database and in
 * memory, and with --ppt-bind (never by default) hands the device to
 * vfio-pci, remembering the driver it had so that a release gives it
 * back.
 *
 * A device is assigned to the VM whose run was given it (pi_assigned):
 * only the kvm backend starts such a VM, after pptdevs_claim made the
 * device that run's and pptdevs_for_run found it attachable, and attaches it
 * (vmm-driver/ppt.h) for the run; pptdevs_unclaim gives it back when the
 * run has ended.  What a VM's spec says now does not count: a PATCH of a
 * running VM's pptdevs changes its next run, not which devices this one
 * holds.  A release is refused while a run holds the device.
 *
 * Locking: pp_lock guards the reservation cache and the claims, and
 * serializes reservations, releases and claims (a release and a start
 * cannot both win a device).
 */
#ifndef VMMAPID_CORE_PPTDEVS_H
#define VMMAPID_CORE_PPTDEVS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/names.h"
#include "core/pcihost.h"
#include "core/spec.h"
#include "vmm-driver/ppt.h"

/* loader.conf(5): a variable's value is at most this long. */
#define PPTDEVS_LOADER_VALUE_MAX 128
/* pptdevs, pptdevs2, pptdevs3 (vmm(4)). */
#define PPTDEVS_LOADER_VARS 3

struct db;
struct pptdevs;

/* One device: what the host shows and what vmmapid made of it. */
struct pptdev_info {
	struct pcihost_dev pi_dev; /* absent: only bus/slot/func, address */
	int pi_present;            /* the host shows it now */
	int pi_reserved;
	int pi_bound;                 /* the daemon bound it to vfio-pci */
	char pi_orig_driver[64];      /* its driver before that, "" none */
	int64_t pi_reserved_ms;       /* when it was reserved, 0 if not */
	char pi_assigned[VMKEY_SIZE]; /* the VM (key) whose run holds it, ""
				       * none */
};

/*
 * Opens the registry on db's reservations, reading devices under
 * sysfs_root ("/sys" on a real host), binding them to vfio-pci on
 * reservation only when bind.  No run holds a device yet.  -1 with
 * errno.
 */
int pptdevs_open(struct pptdevs **out, struct db *db, const char *sysfs_root,
		 int bind);
void pptdevs_close(struct pptdevs *p);

/*
 * Every device the host shows, then reserved ones it no longer shows, in
 * (domain, bus, slot, func) order, as a new array the caller frees.
 * -1 with errno (pcihost_scan's).
 */
int pptdevs_list(struct pptdevs *p, struct pptdev_info **list, size_t *n);

/* Device bus/slot/func into *out.  ENOENT: neither shown nor reserved. */
int pptdevs_get(struct pptdevs *p, unsigned bus, unsigned slot, unsigned func,
		struct pptdev_info *out);

/*
 * Reserves bus/slot/func, durably; *created says whether it was not
 * reserved already (a second reservation changes nothing).  With
 * --ppt-bind the device is handed to vfio-pci first.  *out is the device
 * afterwards.  -1 with errno and why: ENOENT (the host has no such
 * device), ENOTSUP (vfio-pci not loaded), EIO and others (a sysfs write
 * or the database failed; nothing stays changed).
 */
int pptdevs_reserve(struct pptdevs *p, unsigned bus, unsigned slot,
		    unsigned func, int *created, struct pptdev_info *out,
		    char *why, size_t len);

/*
 * Releases bus/slot/func, durably, giving it back to its driver when the
 * daemon had bound it (and runs with --ppt-bind).  -1 with errno and
 * why: ENOENT (not reserved), EBUSY (a run holds it; why does not name
 * the VM, which may be another scope's), EIO and others (a write
 * failed; it stays reserved).
 */
int pptdevs_release(struct pptdevs *p, unsigned bus, unsigned slot,
		    unsigned func, char *why, size_t len);

/*
 * Whether every device spec's "pptdevs" (normalized "bus/slot/func"
 * strings) names is reserved.  0, or -1 with ENOENT, *index the first
 * device that is not and why saying so; EINVAL for a member that is not
 * such a string.
 */
int pptdevs_check_spec(struct pptdevs *p, const json_t *spec, size_t *index,
		       char *why, size_t len);

/*
 * The VM whose run holds bus/slot/func (pptdevs_claim), other than except
 * (NULL: none), into vm: 1 when there is one, 0 when not.
 */
int pptdevs_holder(struct pptdevs *p, unsigned bus, unsigned slot,
		   unsigned func, const char *except, char vm[VMKEY_SIZE]);

/*
 * Makes every device of spec's pptdevs VM vm's run's, all or none, so
 * that no other run is given them and none is released until
 * pptdevs_unclaim.  0, or -1 with why naming the device: ENOENT (not
 * reserved), EBUSY (another VM's run holds it: pptdevs_holder names it).
 */
int pptdevs_claim(struct pptdevs *p, const struct vm_spec *spec, const char *vm,
		  char *why, size_t len);

/* Gives back every device VM vm's run holds (none: nothing). */
void pptdevs_unclaim(struct pptdevs *p, const char *vm);

/*
 * The devices a run of spec is given, for the attach: out[i] for its
 * i-th.  Each (reserved: pptdevs_claim says so) must be shown by the
 * host, in an IOMMU group,
 * bound to vfio-pci, and its group may hold no device the spec does not
 * name (VFIO hands a group over whole).  0, or -1 with EINVAL and why
 * naming the device and what to do.
 */
int pptdevs_for_run(struct pptdevs *p, const struct vm_spec *spec,
		    struct ppt_dev_config *out, char *why, size_t len);

/*
 * loader.conf lines for the reserved devices, in (bus, slot, func)
 * order: pptdevs="b/s/f ...", then pptdevs2, then pptdevs3, each value
 * at most PPTDEVS_LOADER_VALUE_MAX characters; none when nothing is
 * reserved.  0 with *text (malloc'd, the caller frees); -1 with E2BIG
 * when they do not fit (*fit of *total do), ENOMEM.
 */
int pptdevs_loader_conf(struct pptdevs *p, char **text, size_t *fit,
			size_t *total);

#endif
