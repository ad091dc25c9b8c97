/*
 * The host's PCI devices from sysfs; see pcihost.h.
 */
#include "core/pcihost.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

#ifdef __linux__

/* Reads the first line of root/rel (at most len-1 bytes, no newline). */
static int
pcihost_read_line(const char *path, char *buf, size_t len)
{
	ssize_t got;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	got = read(fd, buf, len - 1);
	close(fd);
	if (got < 0)
		return -1;
	buf[got] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A hexadecimal identification file ("0x8086"): 0 and *v, or -1. */
static int
pcihost_read_hex(const char *dir, const char *name, unsigned max, unsigned *v)
{
	char path[PATH_MAX], buf[32], *end;
	unsigned long n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		sizeof(path) ||
	    pcihost_read_line(path, buf, sizeof(buf)) == -1)
		return -1;
	errno = 0;
	n = strtoul(buf, &end, 16);
	if (errno != 0 || end == buf || *end != '\0' || n > max) {
		errno = EINVAL;
		return -1;
	}
	*v = (unsigned)n;
	return 0;
}

/* The last component of symlink dir/name into out; "" when there is none. */
static void
pcihost_link_base(const char *dir, const char *name, char *out, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *base;
	ssize_t n;

	out[0] = '\0';
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
		sizeof(path) ||
	    (n = readlink(path, target, sizeof(target) - 1)) <= 0)
		return;
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (strlen(base) < len)
		memcpy(out, base, strlen(base) + 1);
}

/*
 * Parses sysfs's name of a device, "dddd:bb:ss.f" in hexadecimal.
 * 0, or -1 for another name.
 */
static int
pcihost_parse_address(const char *name, struct pcihost_dev *d)
{
	unsigned dom, bus, slot, func;
	int end = 0;

	if (sscanf(name, "%4x:%2x:%2x.%1x%n", &dom, &bus, &slot, &func, &end) !=
		4 ||
	    name[end] != '\0' || end != 12 || bus > 255 || slot > 31 ||
	    func > 7)
		return -1;
	d->pd_domain = dom;
	d->pd_bus = bus;
	d->pd_slot = slot;
	d->pd_func = func;
	memcpy(d->pd_address, name, 13);
	return 0;
}

/* Reads device name under devices (its directory) into *d. */
static int
pcihost_read_dev(const char *devices, const char *name, struct pcihost_dev *d)
{
	char dir[PATH_MAX], group[16];

	memset(d, 0, sizeof(*d));
	if (pcihost_parse_address(name, d) == -1 ||
	    (size_t)snprintf(dir, sizeof(dir), "%s/%s", devices, name) >=
		sizeof(dir))
		return -1;
	if (pcihost_read_hex(dir, "vendor", 0xffff, &d->pd_vendor) == -1 ||
	    pcihost_read_hex(dir, "device", 0xffff, &d->pd_device) == -1 ||
	    pcihost_read_hex(dir, "class", 0xffffff, &d->pd_class) == -1) {
		log_warn("pci: %s: reading its identification", dir);
		return -1;
	}
	pcihost_link_base(dir, "driver", d->pd_driver, sizeof(d->pd_driver));
	pcihost_link_base(dir, "iommu_group", group, sizeof(group));
	d->pd_iommu_group = group[0] != '\0' ? atoi(group) : -1;
	return 0;
}

static int
pcihost_cmp(const void *a, const void *b)
{
	const struct pcihost_dev *x = a, *y = b;

	if (x->pd_domain != y->pd_domain)
		return x->pd_domain < y->pd_domain ? -1 : 1;
	if (x->pd_bus != y->pd_bus)
		return x->pd_bus < y->pd_bus ? -1 : 1;
	if (x->pd_slot != y->pd_slot)
		return x->pd_slot < y->pd_slot ? -1 : 1;
	if (x->pd_func != y->pd_func)
		return x->pd_func < y->pd_func ? -1 : 1;
	return 0;
}

int
pcihost_scan(const char *root, struct pcihost_dev **list, size_t *n)
{
	char devices[PATH_MAX];
	struct pcihost_dev *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	*list = NULL;
	*n = 0;
	if ((size_t)snprintf(devices, sizeof(devices), "%s/bus/pci/devices",
			     root) >= sizeof(devices)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((dir = opendir(devices)) == NULL) {
		if (errno == ENOENT)
			return 0; /* no PCI bus here */
		log_warn("pci: %s", devices);
		errno = EIO;
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (cnt == cap) {
			cap = cap == 0 ? 32 : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				free(v);
				closedir(dir);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		if (pcihost_read_dev(devices, de->d_name, &v[cnt]) == 0)
			cnt++;
	}
	closedir(dir);
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), pcihost_cmp);
	*list = v;
	*n = cnt;
	return 0;
}

int
pcihost_find(const char *root, unsigned bus, unsigned slot, unsigned func,
	     struct pcihost_dev *out)
{
	struct pcihost_dev *list;
	size_t n, i;

	if (pcihost_scan(root, &list, &n) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (list[i].pd_bus == bus && list[i].pd_slot == slot &&
		    list[i].pd_func == func) {
			*out = list[i];
			free(list);
			return 0;
		}
	}
	free(list);
	errno = ENOENT;
	return -1;
}

/*
 * Writes text to the sysfs attribute at path, which must exist (a tree
 * without it is not one the kernel made).  0, or -1 with errno and why.
 */
static int
pcihost_write(const char *path, const char *text, char *why, size_t len)
{
	size_t n = strlen(text);
	ssize_t put;
	int fd, err;

	if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) == -1)
		goto fail;
	put = write(fd, text, n);
	err = errno;
	if (close(fd) == -1 && put == (ssize_t)n) {
		err = errno;
		put = -1;
	}
	if (put == (ssize_t)n)
		return 0;
	errno = put < 0 ? err : EIO;
fail:
	err = errno;
	snprintf(why, len, "writing \"%.*s\" to %s: %s",
		 (int)strcspn(text, "\n"), text, path, strerror(err));
	log_warnx("pci: %s", why);
	errno = err;
	return -1;
}

/* pcihost_write of text to root/bus/pci/devices/ADDR/rel. */
static int
pcihost_write_dev(const char *root, const struct pcihost_dev *d,
		  const char *rel, const char *text, char *why, size_t len)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/%s",
			     root, d->pd_address, rel) >= sizeof(path)) {
		snprintf(why, len, "sysfs path too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	return pcihost_write(path, text, why, len);
}

/* Asks the kernel to find d a driver: root/bus/pci/drivers_probe. */
static int
pcihost_probe(const char *root, const struct pcihost_dev *d, char *why,
	      size_t len)
{
	char path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe",
			     root) >= sizeof(path)) {
		snprintf(why, len, "sysfs path too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	return pcihost_write(path, d->pd_address, why, len);
}

int
pcihost_bind_vfio(const char *root, const struct pcihost_dev *d, char *why,
		  size_t len)
{
	char path[PATH_MAX], ignored[128];
	struct stat st;
	int err;

	if ((size_t)snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s", root,
			     PCIHOST_VFIO_DRIVER) >= sizeof(path) ||
	    stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(why, len,
			 "the %s driver is not loaded (no %s): modprobe "
			 "vfio-pci, then reserve %u/%u/%u again",
			 PCIHOST_VFIO_DRIVER, path, d->pd_bus, d->pd_slot,
			 d->pd_func);
		errno = ENOTSUP;
		return -1;
	}
	if (pcihost_write_dev(root, d, "driver_override",
			      PCIHOST_VFIO_DRIVER "\n", why, len) == -1)
		return -1;
	if (d->pd_driver[0] != '\0' &&
	    strcmp(d->pd_driver, PCIHOST_VFIO_DRIVER) != 0 &&
	    pcihost_write_dev(root, d, "driver/unbind", d->pd_address, why,
			      len) == -1)
		goto undo;
	if (pcihost_probe(root, d, why, len) == -1)
		goto undo;
	log_info("pci: %s (%u/%u/%u) handed from %s to %s", d->pd_address,
		 d->pd_bus, d->pd_slot, d->pd_func,
		 d->pd_driver[0] != '\0' ? d->pd_driver : "no driver",
		 PCIHOST_VFIO_DRIVER);
	return 0;
undo:
	err = errno;
	(void)pcihost_write_dev(root, d, "driver_override", "\n", ignored,
				sizeof(ignored));
	errno = err;
	return -1;
}

int
pcihost_unbind_vfio(const char *root, const struct pcihost_dev *d, char *why,
		    size_t len)
{
	if (pcihost_write_dev(root, d, "driver_override", "\n", why, len) ==
		-1 ||
	    (strcmp(d->pd_driver, PCIHOST_VFIO_DRIVER) == 0 &&
	     pcihost_write_dev(root, d, "driver/unbind", d->pd_address, why,
			       len) == -1) ||
	    pcihost_probe(root, d, why, len) == -1)
		return -1;
	log_info("pci: %s (%u/%u/%u) released by %s", d->pd_address, d->pd_bus,
		 d->pd_slot, d->pd_func, PCIHOST_VFIO_DRIVER);
	return 0;
}

#else /* !__linux__ */

/*
 * FreeBSD: pciconf's PCIOCGETCONF ioctl on /dev/pci, which .ci/layers
 * keeps in vmm-driver/; until it is there, no enumeration.
 */
int
pcihost_scan(const char *root, struct pcihost_dev **list, size_t *n)
{
	(void)root;
	*list = NULL;
	*n = 0;
	errno = ENOTSUP;
	return -1;
}

int
pcihost_find(const char *root, unsigned bus, unsigned slot, unsigned func,
	     struct pcihost_dev *out)
{
	(void)root, (void)bus, (void)slot, (void)func, (void)out;
	errno = ENOTSUP;
	return -1;
}

int
pcihost_bind_vfio(const char *root, const struct pcihost_dev *d, char *why,
		  size_t len)
{
	(void)root, (void)d;
	snprintf(why, len, "vfio-pci exists only on Linux");
	errno = ENOTSUP;
	return -1;
}

int
pcihost_unbind_vfio(const char *root, const struct pcihost_dev *d, char *why,
		    size_t len)
{
	return pcihost_bind_vfio(root, d, why, len);
}

#endif
