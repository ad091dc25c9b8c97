/*
 * A PCI device through VFIO's container and group API: see vfio.h.
 */
#include "vmm-driver/vfio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "base/log.h"

#define VFIO_CFG_BAR0 0x10

struct vfio_dev {
	int vd_container;
	int vd_group;
	int vd_fd;
	uint64_t vd_cfg_off; /* the config region's offset in vd_fd */
	struct vfio_bar vd_bars[VFIO_NBARS];
	uint64_t vd_bar_len[VFIO_NBARS]; /* what vb_map maps */
	char vd_address[32];
};

/* Says why in why, sets errno to err and returns -1. */
static int __attribute__((format(printf, 4, 5)))
vfio_fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

void
vfio_close(struct vfio_dev *d)
{
	unsigned i;

	if (d == NULL)
		return;
	for (i = 0; i < VFIO_NBARS; i++)
		if (d->vd_bars[i].vb_map != NULL)
			munmap(d->vd_bars[i].vb_map, d->vd_bar_len[i]);
	/* The device first, then the group, then the container: closing
	 * the container drops its DMA mappings and unpins the pages. */
	if (d->vd_fd >= 0)
		close(d->vd_fd);
	if (d->vd_group >= 0)
		close(d->vd_group);
	if (d->vd_container >= 0)
		close(d->vd_container);
	free(d);
}

int
vfio_cfg_read(struct vfio_dev *d, unsigned off, unsigned size, uint32_t *val)
{
	*val = 0;
	if (pread(d->vd_fd, val, size, (off_t)(d->vd_cfg_off + off)) !=
	    (ssize_t)size) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

int
vfio_cfg_write(struct vfio_dev *d, unsigned off, unsigned size, uint32_t val)
{
	if (pwrite(d->vd_fd, &val, size, (off_t)(d->vd_cfg_off + off)) !=
	    (ssize_t)size) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

const struct vfio_bar *
vfio_bar(const struct vfio_dev *d, unsigned i)
{
	return &d->vd_bars[i];
}

int
vfio_dma_map(struct vfio_dev *d, void *host, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_map m;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE;
	m.vaddr = (uint64_t)(uintptr_t)host;
	m.iova = iova;
	m.size = size;
	return ioctl(d->vd_container, VFIO_IOMMU_MAP_DMA, &m) == 0 ? 0 : -1;
}

static unsigned
vfio_irq_index(enum vfio_irq_kind kind)
{
	return kind == VFIO_IRQ_KIND_MSI ? VFIO_PCI_MSI_IRQ_INDEX
					 : VFIO_PCI_INTX_IRQ_INDEX;
}

int
vfio_irq_count(struct vfio_dev *d, enum vfio_irq_kind kind)
{
	struct vfio_irq_info ii;

	memset(&ii, 0, sizeof(ii));
	ii.argsz = sizeof(ii);
	ii.index = vfio_irq_index(kind);
	if (ioctl(d->vd_fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) != 0)
		return -1;
	return (int)ii.count;
}

/* VFIO_DEVICE_SET_IRQS of vector 0 of index: action with fd, or none. */
static int
vfio_irq_set(struct vfio_dev *d, unsigned index, uint32_t action, int fd)
{
	struct {
		struct vfio_irq_set s;
		int32_t fd;
	} a;

	memset(&a, 0, sizeof(a));
	a.s.argsz = sizeof(a);
	a.s.index = index;
	a.s.start = 0;
	if (fd >= 0) {
		a.s.flags = action | VFIO_IRQ_SET_DATA_EVENTFD;
		a.s.count = 1;
		a.fd = fd;
	} else {
		a.s.flags = action | VFIO_IRQ_SET_DATA_NONE;
		a.s.count = 0;
		a.s.argsz = sizeof(a.s);
	}
	return ioctl(d->vd_fd, VFIO_DEVICE_SET_IRQS, &a) == 0 ? 0 : -1;
}

int
vfio_irq_trigger(struct vfio_dev *d, enum vfio_irq_kind kind, int fd)
{
	return vfio_irq_set(d, vfio_irq_index(kind),
			    VFIO_IRQ_SET_ACTION_TRIGGER, fd);
}

int
vfio_intx_unmask_fd(struct vfio_dev *d, int fd)
{
	return vfio_irq_set(d, VFIO_PCI_INTX_IRQ_INDEX,
			    VFIO_IRQ_SET_ACTION_UNMASK, fd);
}

/* The BARs: their regions, their kinds (from the header), their maps. */
static int
vfio_bars(struct vfio_dev *d, char *why, size_t len)
{
	unsigned i;

	for (i = 0; i < VFIO_NBARS; i++) {
		struct vfio_region_info ri;
		struct vfio_bar *b = &d->vd_bars[i];
		uint32_t reg;

		memset(&ri, 0, sizeof(ri));
		ri.argsz = sizeof(ri);
		ri.index = VFIO_PCI_BAR0_REGION_INDEX + i;
		if (ioctl(d->vd_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0)
			return vfio_fail(why, len, errno,
					 "device %s: reading BAR%d's region "
					 "failed",
					 d->vd_address, (int)i);
		if (ri.size == 0)
			continue;
		if (vfio_cfg_read(d, VFIO_CFG_BAR0 + 4 * i, 4, &reg) != 0)
			return vfio_fail(why, len, errno,
					 "device %s: reading BAR%d failed",
					 d->vd_address, (int)i);
		b->vb_size = ri.size;
		b->vb_io = reg & 1;
		b->vb_mem64 = !b->vb_io && ((reg >> 1) & 3) == 2;
		b->vb_prefetch = !b->vb_io && (reg & 8);
		if (!b->vb_io && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP)) {
			void *p = mmap(NULL, ri.size, PROT_READ | PROT_WRITE,
				       MAP_SHARED, d->vd_fd, (off_t)ri.offset);

			if (p == MAP_FAILED)
				return vfio_fail(why, len, errno,
						 "device %s: mapping BAR%d "
						 "failed",
						 d->vd_address, (int)i);
			b->vb_map = p;
			d->vd_bar_len[i] = ri.size;
		}
		if (b->vb_mem64)
			i++; /* its upper half is no BAR of its own */
	}
	return 0;
}

int
vfio_open(const char *address, int group, struct vfio_dev **out, char *why,
	  size_t len)
{
	struct vfio_group_status gs;
	struct vfio_region_info ri;
	struct vfio_dev *d;
	char path[64];
	int err;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return vfio_fail(why, len, ENOMEM, "no memory for device %s",
				 address);
	d->vd_container = d->vd_group = d->vd_fd = -1;
	snprintf(d->vd_address, sizeof(d->vd_address), "%s", address);

	if ((d->vd_container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC)) <
	    0) {
		err = errno;
		vfio_fail(why, len, err == ENOENT ? ENOENT : err,
			  "/dev/vfio/vfio does not open (%s): the host "
			  "has no VFIO (load vfio-pci)",
			  strerror(err));
		goto fail;
	}
	if (ioctl(d->vd_container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(d->vd_container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <=
		0) {
		vfio_fail(why, len, ENOTSUP, "VFIO offers no type 1 v2 IOMMU");
		goto fail;
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	if ((d->vd_group = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		err = errno;
		if (err == EBUSY)
			vfio_fail(why, len, EBUSY,
				  "IOMMU group %d is in use by another "
				  "VM or program",
				  group);
		else
			vfio_fail(why, len, err,
				  "/dev/vfio/%d does not open: the device "
				  "is not bound to vfio-pci (reserve it with "
				  "the daemon's --ppt-bind, or bind it)",
				  group);
		goto fail;
	}
	memset(&gs, 0, sizeof(gs));
	gs.argsz = sizeof(gs);
	if (ioctl(d->vd_group, VFIO_GROUP_GET_STATUS, &gs) != 0) {
		vfio_fail(why, len, errno,
			  "IOMMU group %d: reading its status failed", group);
		goto fail;
	}
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		vfio_fail(why, len, EPERM,
			  "IOMMU group %d is not viable: another device "
			  "in it is bound to a host driver (bind every "
			  "device of the group to vfio-pci)",
			  group);
		goto fail;
	}
	if (ioctl(d->vd_group, VFIO_GROUP_SET_CONTAINER, &d->vd_container) !=
	    0) {
		vfio_fail(why, len, errno,
			  "IOMMU group %d: VFIO_GROUP_SET_CONTAINER failed",
			  group);
		goto fail;
	}
	if (ioctl(d->vd_container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) != 0) {
		err = errno;
		vfio_fail(why, len, err,
			  "VFIO_SET_IOMMU refused the type 1 v2 IOMMU for "
			  "group %d",
			  group);
		if (err == EPERM)
			snprintf(why + strlen(why), len - strlen(why),
				 " (EPERM: the IOMMU has no interrupt "
				 "remapping)");
		errno = err;
		goto fail;
	}
	if ((d->vd_fd = ioctl(d->vd_group, VFIO_GROUP_GET_DEVICE_FD,
			      d->vd_address)) < 0) {
		vfio_fail(why, len, errno,
			  "device %s is not in IOMMU group %d (is it bound "
			  "to vfio-pci?)",
			  address, group);
		goto fail;
	}
	memset(&ri, 0, sizeof(ri));
	ri.argsz = sizeof(ri);
	ri.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(d->vd_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0) {
		vfio_fail(why, len, errno,
			  "device %s: its configuration region does not "
			  "read",
			  address);
		goto fail;
	}
	d->vd_cfg_off = ri.offset;
	if (vfio_bars(d, why, len) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	err = errno;
	vfio_close(d);
	errno = err;
	return -1;
}

#else /* !__linux__ */

int
vfio_open(const char *address, int group, struct vfio_dev **out, char *why,
	  size_t len)
{
	(void)address;
	(void)group;
	(void)out;
	snprintf(why, len, "VFIO exists on Linux only");
	errno = ENOTSUP;
	return -1;
}

void
vfio_close(struct vfio_dev *d)
{
	(void)d;
}

int
vfio_dma_map(struct vfio_dev *d, void *host, uint64_t iova, uint64_t size)
{
	(void)d, (void)host, (void)iova, (void)size;
	errno = ENOTSUP;
	return -1;
}

const struct vfio_bar *
vfio_bar(const struct vfio_dev *d, unsigned i)
{
	(void)d, (void)i;
	return NULL;
}

int
vfio_cfg_read(struct vfio_dev *d, unsigned off, unsigned size, uint32_t *val)
{
	(void)d, (void)off, (void)size;
	*val = 0xffffffffu;
	errno = ENOTSUP;
	return -1;
}

int
vfio_cfg_write(struct vfio_dev *d, unsigned off, unsigned size, uint32_t val)
{
	(void)d, (void)off, (void)size, (void)val;
	errno = ENOTSUP;
	return -1;
}

int
vfio_irq_count(struct vfio_dev *d, enum vfio_irq_kind kind)
{
	(void)d, (void)kind;
	errno = ENOTSUP;
	return -1;
}

int
vfio_irq_trigger(struct vfio_dev *d, enum vfio_irq_kind kind, int fd)
{
	(void)d, (void)kind, (void)fd;
	errno = ENOTSUP;
	return -1;
}

int
vfio_intx_unmask_fd(struct vfio_dev *d, int fd)
{
	(void)d, (void)fd;
	errno = ENOTSUP;
	return -1;
}

#endif
