/*
 * PCI passthrough reservations; see pptdevs.h.
 */
#include "core/pptdevs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "db/db.h"

/* A PCI-to-PCI bridge's class and subclass. */
#define PPTDEVS_CLASS_BRIDGE 0x0604

/* A device a run holds: pptdevs_claim to pptdevs_unclaim. */
struct pptdevs_claim {
	unsigned pc_key; /* pptdevs_key */
	char pc_vm[VMKEY_SIZE];
};

struct pptdevs {
	struct db *pp_db;
	char *pp_root;
	int pp_bind;
	pthread_mutex_t pp_lock;
	/* Guarded by pp_lock: the reservations, in (bus, slot, func) order,
	 * and the claims of runs (in no order). */
	struct db_pptdev_row *pp_res;
	size_t pp_nres;
	struct pptdevs_claim *pp_claims;
	size_t pp_nclaims;
};

/* A device's place in (bus, slot, func) order, for sorting and search. */
static unsigned
pptdevs_key(unsigned bus, unsigned slot, unsigned func)
{
	return bus << 8 | slot << 3 | func;
}

static unsigned
pptdevs_row_key(const struct db_pptdev_row *r)
{
	return pptdevs_key(r->pr_bus, r->pr_slot, r->pr_func);
}

/* The reservation of bus/slot/func under pp_lock, or NULL. */
static struct db_pptdev_row *
pptdevs_find(struct pptdevs *p, unsigned bus, unsigned slot, unsigned func)
{
	unsigned k = pptdevs_key(bus, slot, func);
	size_t i;

	for (i = 0; i < p->pp_nres; i++)
		if (pptdevs_row_key(&p->pp_res[i]) == k)
			return &p->pp_res[i];
	return NULL;
}

/* The claim on bus/slot/func under pp_lock, or NULL. */
static const struct pptdevs_claim *
pptdevs_claim_of(const struct pptdevs *p, unsigned bus, unsigned slot,
		 unsigned func)
{
	unsigned k = pptdevs_key(bus, slot, func);
	size_t i;

	for (i = 0; i < p->pp_nclaims; i++)
		if (p->pp_claims[i].pc_key == k)
			return &p->pp_claims[i];
	return NULL;
}

/* Adds row to the cache in order, under pp_lock.  -1 ENOMEM. */
static int
pptdevs_cache_add(struct pptdevs *p, const struct db_pptdev_row *row)
{
	struct db_pptdev_row *v;
	size_t i;

	if ((v = realloc(p->pp_res, (p->pp_nres + 1) * sizeof(*v))) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	p->pp_res = v;
	for (i = p->pp_nres;
	     i > 0 && pptdevs_row_key(&v[i - 1]) > pptdevs_row_key(row); i--)
		v[i] = v[i - 1];
	v[i] = *row;
	p->pp_nres++;
	return 0;
}

static int
pptdevs_load_one(void *arg, const struct db_pptdev_row *row)
{
	return pptdevs_cache_add(arg, row);
}

int
pptdevs_open(struct pptdevs **out, struct db *db, const char *sysfs_root,
	     int bind)
{
	struct pptdevs *p;

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->pp_root = strdup(sysfs_root)) == NULL) {
		free(p);
		errno = ENOMEM;
		return -1;
	}
	p->pp_db = db;
	p->pp_bind = bind;
	pthread_mutex_init(&p->pp_lock, NULL);
	if (db != NULL && db_pptdev_load_all(db, pptdevs_load_one, p) != 0) {
		pptdevs_close(p);
		return -1;
	}
	*out = p;
	return 0;
}

void
pptdevs_close(struct pptdevs *p)
{
	if (p == NULL)
		return;
	pthread_mutex_destroy(&p->pp_lock);
	free(p->pp_res);
	free(p->pp_claims);
	free(p->pp_root);
	free(p);
}

/* What a reservation, and a run's claim, add to a device's info; under
 * pp_lock. */
static void
pptdevs_info_res(const struct pptdevs *p, struct pptdev_info *pi,
		 const struct db_pptdev_row *r)
{
	const struct pptdevs_claim *c =
	    pptdevs_claim_of(p, r->pr_bus, r->pr_slot, r->pr_func);

	pi->pi_reserved = 1;
	pi->pi_bound = r->pr_bound;
	memcpy(pi->pi_orig_driver, r->pr_orig_driver,
	       sizeof(pi->pi_orig_driver));
	pi->pi_reserved_ms = r->pr_created_ms;
	if (c != NULL)
		memcpy(pi->pi_assigned, c->pc_vm, sizeof(pi->pi_assigned));
}

/* A reserved device the host no longer shows; under pp_lock. */
static void
pptdevs_info_absent(const struct pptdevs *p, struct pptdev_info *pi,
		    const struct db_pptdev_row *r)
{
	memset(pi, 0, sizeof(*pi));
	pi->pi_dev.pd_bus = r->pr_bus;
	pi->pi_dev.pd_slot = r->pr_slot;
	pi->pi_dev.pd_func = r->pr_func;
	pi->pi_dev.pd_iommu_group = -1;
	memcpy(pi->pi_dev.pd_address, r->pr_address,
	       sizeof(pi->pi_dev.pd_address));
	pptdevs_info_res(p, pi, r);
}

int
pptdevs_list(struct pptdevs *p, struct pptdev_info **list, size_t *n)
{
	struct pcihost_dev *devs;
	struct pptdev_info *v;
	struct db_pptdev_row *r;
	size_t nd, i, k = 0;

	if (pcihost_scan(p->pp_root, &devs, &nd) == -1)
		return -1;
	pthread_mutex_lock(&p->pp_lock);
	if ((v = calloc(nd + p->pp_nres + 1, sizeof(*v))) == NULL) {
		pthread_mutex_unlock(&p->pp_lock);
		free(devs);
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < nd; i++, k++) {
		size_t j;

		v[k].pi_dev = devs[i];
		v[k].pi_present = 1;
		/* pptdevs name no domain: a reservation is the device of the
		 * first domain that has it (pcihost_find's). */
		for (j = 0; j < i; j++)
			if (pptdevs_key(devs[j].pd_bus, devs[j].pd_slot,
					devs[j].pd_func) ==
			    pptdevs_key(devs[i].pd_bus, devs[i].pd_slot,
					devs[i].pd_func))
				break;
		if (j == i &&
		    (r = pptdevs_find(p, devs[i].pd_bus, devs[i].pd_slot,
				      devs[i].pd_func)) != NULL)
			pptdevs_info_res(p, &v[k], r);
	}
	for (i = 0; i < p->pp_nres; i++) {
		size_t j;

		for (j = 0; j < nd; j++)
			if (pptdevs_row_key(&p->pp_res[i]) ==
			    pptdevs_key(devs[j].pd_bus, devs[j].pd_slot,
					devs[j].pd_func))
				break;
		if (j == nd)
			pptdevs_info_absent(p, &v[k++], &p->pp_res[i]);
	}
	pthread_mutex_unlock(&p->pp_lock);
	free(devs);
	*list = v;
	*n = k;
	return 0;
}

int
pptdevs_get(struct pptdevs *p, unsigned bus, unsigned slot, unsigned func,
	    struct pptdev_info *out)
{
	struct db_pptdev_row *r;
	struct pcihost_dev d;
	int found = pcihost_find(p->pp_root, bus, slot, func, &d) == 0;

	if (!found && errno != ENOENT)
		return -1;
	pthread_mutex_lock(&p->pp_lock);
	r = pptdevs_find(p, bus, slot, func);
	if (found) {
		memset(out, 0, sizeof(*out));
		out->pi_dev = d;
		out->pi_present = 1;
		if (r != NULL)
			pptdevs_info_res(p, out, r);
	} else if (r != NULL) {
		pptdevs_info_absent(p, out, r);
	}
	pthread_mutex_unlock(&p->pp_lock);
	if (!found && r == NULL) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int
pptdevs_reserve(struct pptdevs *p, unsigned bus, unsigned slot, unsigned func,
		int *created, struct pptdev_info *out, char *why, size_t len)
{
	struct db_pptdev_row row;
	struct pcihost_dev d;
	char ignored[256];
	int err;

	pthread_mutex_lock(&p->pp_lock);
	if (pptdevs_find(p, bus, slot, func) != NULL) {
		pthread_mutex_unlock(&p->pp_lock);
		*created = 0;
		return pptdevs_get(p, bus, slot, func, out);
	}
	if (pcihost_find(p->pp_root, bus, slot, func, &d) == -1) {
		err = errno;
		if (err == ENOENT)
			snprintf(why, len,
				 "the host has no PCI device %u/%u/%u (see GET "
				 "/v1/pptdevs)",
				 bus, slot, func);
		else
			snprintf(why, len, "reading the host's PCI devices: %s",
				 strerror(err));
		goto fail;
	}
	memset(&row, 0, sizeof(row));
	row.pr_bus = bus;
	row.pr_slot = slot;
	row.pr_func = func;
	memcpy(row.pr_address, d.pd_address, sizeof(row.pr_address));
	/* Bound only by us, and so given back only by us: a device that is
	 * vfio-pci's already stays vfio-pci's after its release. */
	if (p->pp_bind && strcmp(d.pd_driver, PCIHOST_VFIO_DRIVER) != 0) {
		if (pcihost_bind_vfio(p->pp_root, &d, why, len) == -1) {
			err = errno;
			goto fail;
		}
		memcpy(row.pr_orig_driver, d.pd_driver,
		       sizeof(row.pr_orig_driver));
		row.pr_bound = 1;
	}
	if (db_pptdev_insert(p->pp_db, &row) == -1 ||
	    pptdevs_cache_add(p, &row) == -1) {
		err = errno;
		snprintf(why, len, "recording the reservation of %u/%u/%u: %s",
			 bus, slot, func, strerror(err));
		if (row.pr_created_ms != 0)
			(void)db_pptdev_delete(p->pp_db, bus, slot, func);
		if (row.pr_bound)
			(void)pcihost_unbind_vfio(p->pp_root, &d, ignored,
						  sizeof(ignored));
		goto fail;
	}
	pthread_mutex_unlock(&p->pp_lock);
	log_info("pptdevs: %u/%u/%u (%s) reserved%s", bus, slot, func,
		 d.pd_address, row.pr_bound ? ", bound to vfio-pci" : "");
	*created = 1;
	return pptdevs_get(p, bus, slot, func, out);
fail:
	pthread_mutex_unlock(&p->pp_lock);
	errno = err;
	return -1;
}

int
pptdevs_release(struct pptdevs *p, unsigned bus, unsigned slot, unsigned func,
		char *why, size_t len)
{
	struct db_pptdev_row *r;
	struct pcihost_dev d;
	int err;

	pthread_mutex_lock(&p->pp_lock);
	if ((r = pptdevs_find(p, bus, slot, func)) == NULL) {
		snprintf(why, len, "%u/%u/%u is not reserved", bus, slot, func);
		err = ENOENT;
		goto fail;
	}
	if (pptdevs_claim_of(p, bus, slot, func) != NULL) {
		/* No VM named: the caller may be a jail's root, and the VM
		 * another scope's (api/pptdevs.c names it to whom may see). */
		snprintf(why, len,
			 "%u/%u/%u is in use by a running VM; stop it before "
			 "releasing the device",
			 bus, slot, func);
		err = EBUSY;
		goto fail;
	}
	if (r->pr_bound && p->pp_bind &&
	    pcihost_find(p->pp_root, bus, slot, func, &d) == 0 &&
	    pcihost_unbind_vfio(p->pp_root, &d, why, len) == -1) {
		err = errno;
		goto fail;
	}
	if (r->pr_bound && !p->pp_bind)
		log_warnx("pptdevs: %u/%u/%u stays with vfio-pci: this daemon "
			  "runs without --ppt-bind (it had %s)",
			  bus, slot, func,
			  r->pr_orig_driver[0] ? r->pr_orig_driver
					       : "no driver");
	if (db_pptdev_delete(p->pp_db, bus, slot, func) == -1) {
		err = errno;
		snprintf(why, len, "deleting the reservation of %u/%u/%u: %s",
			 bus, slot, func, strerror(err));
		goto fail;
	}
	memmove(r, r + 1,
		(size_t)(p->pp_res + p->pp_nres - (r + 1)) * sizeof(*r));
	p->pp_nres--;
	pthread_mutex_unlock(&p->pp_lock);
	log_info("pptdevs: %u/%u/%u released", bus, slot, func);
	return 0;
fail:
	pthread_mutex_unlock(&p->pp_lock);
	errno = err;
	return -1;
}

/* Parses a normalized "bus/slot/func": 0, or -1. */
static int
pptdevs_parse(const char *s, unsigned *bus, unsigned *slot, unsigned *func)
{
	int end = 0;

	if (sscanf(s, "%3u/%2u/%1u%n", bus, slot, func, &end) != 3 ||
	    s[end] != '\0' || *bus > 255 || *slot > 31 || *func > 7)
		return -1;
	return 0;
}

int
pptdevs_check_spec(struct pptdevs *p, const json_t *spec, size_t *index,
		   char *why, size_t len)
{
	const json_t *devs = json_object_get(spec, "pptdevs");
	unsigned bus, slot, func;
	const char *s;
	size_t i;
	int ok;

	for (i = 0; i < json_array_size(devs); i++) {
		*index = i;
		s = json_string_value(json_array_get(devs, i));
		if (s == NULL || pptdevs_parse(s, &bus, &slot, &func) == -1) {
			snprintf(why, len, "pptdevs[%zu] is not bus/slot/func",
				 i);
			errno = EINVAL;
			return -1;
		}
		pthread_mutex_lock(&p->pp_lock);
		ok = pptdevs_find(p, bus, slot, func) != NULL;
		pthread_mutex_unlock(&p->pp_lock);
		if (!ok) {
			snprintf(why, len,
				 "PCI device %s is not reserved for "
				 "passthrough; reserve it with PUT "
				 "/v1/pptdevs/%u/%u/%u",
				 s, bus, slot, func);
			errno = ENOENT;
			return -1;
		}
	}
	return 0;
}

int
pptdevs_holder(struct pptdevs *p, unsigned bus, unsigned slot, unsigned func,
	       const char *except, char vm[VMKEY_SIZE])
{
	const struct pptdevs_claim *c;
	int found;

	pthread_mutex_lock(&p->pp_lock);
	c = pptdevs_claim_of(p, bus, slot, func);
	found = c != NULL && (except == NULL || strcmp(c->pc_vm, except) != 0);
	if (found)
		memcpy(vm, c->pc_vm, VMKEY_SIZE);
	pthread_mutex_unlock(&p->pp_lock);
	return found;
}

int
pptdevs_claim(struct pptdevs *p, const struct vm_spec *spec, const char *vm,
	      char *why, size_t len)
{
	const struct pptdevs_claim *c;
	struct pptdevs_claim *v;
	size_t i;
	int err;

	pthread_mutex_lock(&p->pp_lock);
	for (i = 0; i < spec->vs_npptdevs; i++) {
		const unsigned *b = spec->vs_pptdevs[i];

		if (pptdevs_find(p, b[0], b[1], b[2]) == NULL) {
			snprintf(why, len,
				 "PCI device %u/%u/%u is not reserved (PUT "
				 "/v1/pptdevs/%u/%u/%u)",
				 b[0], b[1], b[2], b[0], b[1], b[2]);
			err = ENOENT;
			goto fail;
		}
		if ((c = pptdevs_claim_of(p, b[0], b[1], b[2])) != NULL) {
			/* Not named here: the caller may be another
			 * scope's (api/pptdevs.c names it to whom may see). */
			snprintf(why, len,
				 "PCI device %u/%u/%u is in use by another "
				 "running VM (GET /v1/pptdevs/%u/%u/%u says "
				 "which)",
				 b[0], b[1], b[2], b[0], b[1], b[2]);
			err = EBUSY;
			goto fail;
		}
	}
	if ((v = realloc(p->pp_claims, (p->pp_nclaims + spec->vs_npptdevs + 1) *
					   sizeof(*v))) == NULL) {
		snprintf(why, len, "no memory to claim the VM's PCI devices");
		err = ENOMEM;
		goto fail;
	}
	p->pp_claims = v;
	for (i = 0; i < spec->vs_npptdevs; i++) {
		const unsigned *b = spec->vs_pptdevs[i];

		v[p->pp_nclaims].pc_key = pptdevs_key(b[0], b[1], b[2]);
		snprintf(v[p->pp_nclaims].pc_vm, VMKEY_SIZE, "%s", vm);
		p->pp_nclaims++;
	}
	pthread_mutex_unlock(&p->pp_lock);
	return 0;
fail:
	pthread_mutex_unlock(&p->pp_lock);
	errno = err;
	return -1;
}

void
pptdevs_unclaim(struct pptdevs *p, const char *vm)
{
	size_t i = 0;

	pthread_mutex_lock(&p->pp_lock);
	while (i < p->pp_nclaims)
		if (strcmp(p->pp_claims[i].pc_vm, vm) == 0)
			p->pp_claims[i] = p->pp_claims[--p->pp_nclaims];
		else
			i++;
	pthread_mutex_unlock(&p->pp_lock);
}

int
pptdevs_loader_conf(struct pptdevs *p, char **text, size_t *fit, size_t *total)
{
	/* Each line: pptdevsN="<value>"\n, the value at most 128. */
	char buf[PPTDEVS_LOADER_VARS * (PPTDEVS_LOADER_VALUE_MAX + 16)];
	char value[PPTDEVS_LOADER_VARS][PPTDEVS_LOADER_VALUE_MAX + 1];
	size_t used[PPTDEVS_LOADER_VARS] = {0}, i, var = 0, off = 0;
	static const char *const vars[PPTDEVS_LOADER_VARS] = {
	    "pptdevs", "pptdevs2", "pptdevs3"};
	char dev[16];
	int n;

	memset(value, 0, sizeof(value));
	pthread_mutex_lock(&p->pp_lock);
	*total = p->pp_nres;
	*fit = 0;
	for (i = 0; i < p->pp_nres; i++) {
		n = snprintf(dev, sizeof(dev), "%u/%u/%u", p->pp_res[i].pr_bus,
			     p->pp_res[i].pr_slot, p->pp_res[i].pr_func);
		/* Into this variable, or the next, or none fits. */
		while (var < PPTDEVS_LOADER_VARS &&
		       used[var] + (used[var] > 0) + (size_t)n >
			   PPTDEVS_LOADER_VALUE_MAX)
			var++;
		if (var == PPTDEVS_LOADER_VARS)
			break;
		if (used[var] > 0)
			value[var][used[var]++] = ' ';
		memcpy(value[var] + used[var], dev, (size_t)n + 1);
		used[var] += (size_t)n;
		(*fit)++;
	}
	pthread_mutex_unlock(&p->pp_lock);
	if (*fit < *total) {
		errno = E2BIG;
		return -1;
	}
	buf[0] = '\0';
	for (i = 0; i < PPTDEVS_LOADER_VARS && used[i] > 0; i++) {
		n = snprintf(buf + off, sizeof(buf) - off, "%s=\"%s\"\n",
			     vars[i], value[i]);
		off += (size_t)n;
	}
	if ((*text = strdup(buf)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
pptdevs_for_run(struct pptdevs *p, const struct vm_spec *spec,
		struct ppt_dev_config *out, char *why, size_t len)
{
	struct pcihost_dev *devs = NULL;
	size_t nd, i, j, k;

	if (pcihost_scan(p->pp_root, &devs, &nd) == -1) {
		snprintf(why, len, "reading the host's PCI devices failed: %s",
			 strerror(errno));
		errno = EIO;
		return -1;
	}
	for (i = 0; i < spec->vs_npptdevs; i++) {
		const unsigned *b = spec->vs_pptdevs[i];
		const struct pcihost_dev *d = NULL;

		for (j = 0; j < nd && d == NULL; j++)
			if (devs[j].pd_bus == b[0] && devs[j].pd_slot == b[1] &&
			    devs[j].pd_func == b[2])
				d = &devs[j];
		if (d == NULL) {
			snprintf(why, len,
				 "PCI device %u/%u/%u is reserved but the host "
				 "no longer shows it",
				 b[0], b[1], b[2]);
			goto invalid;
		}
		if (d->pd_iommu_group < 0) {
			snprintf(why, len,
				 "PCI device %u/%u/%u (%s) is in no IOMMU "
				 "group: the host has no IOMMU, or it is off "
				 "(intel_iommu=on / amd_iommu=on)",
				 b[0], b[1], b[2], d->pd_address);
			goto invalid;
		}
		if (strcmp(d->pd_driver, PCIHOST_VFIO_DRIVER) != 0) {
			snprintf(why, len,
				 "PCI device %u/%u/%u (%s) is not bound to "
				 "vfio-pci (its driver: %s): reserve it with "
				 "the daemon running with --ppt-bind, or bind "
				 "it yourself",
				 b[0], b[1], b[2], d->pd_address,
				 d->pd_driver[0] != '\0' ? d->pd_driver
							 : "none");
			goto invalid;
		}
		/* VFIO hands a group over whole: every other device of it
		 * must be this VM's too.  But PCI-to-PCI bridges (class
		 * 0x0604), which VFIO lets stay with pcieport: a guest has
		 * no use for them. */
		for (j = 0; j < nd; j++) {
			const struct pcihost_dev *o = &devs[j];

			if (o == d || o->pd_iommu_group != d->pd_iommu_group ||
			    o->pd_class >> 8 == PPTDEVS_CLASS_BRIDGE)
				continue;
			for (k = 0; k < spec->vs_npptdevs; k++)
				if (spec->vs_pptdevs[k][0] == o->pd_bus &&
				    spec->vs_pptdevs[k][1] == o->pd_slot &&
				    spec->vs_pptdevs[k][2] == o->pd_func)
					break;
			if (k == spec->vs_npptdevs) {
				snprintf(
				    why, len,
				    "PCI device %u/%u/%u (%s) shares IOMMU "
				    "group %d with %s (%u/%u/%u), which "
				    "the VM is not given: name every "
				    "device of the group in pptdevs",
				    b[0], b[1], b[2], d->pd_address,
				    d->pd_iommu_group, o->pd_address, o->pd_bus,
				    o->pd_slot, o->pd_func);
				goto invalid;
			}
		}
		memset(&out[i], 0, sizeof(out[i]));
		snprintf(out[i].pdc_address, sizeof(out[i].pdc_address), "%s",
			 d->pd_address);
		out[i].pdc_group = d->pd_iommu_group;
	}
	free(devs);
	return 0;
invalid:
	free(devs);
	errno = EINVAL;
	return -1;
}
