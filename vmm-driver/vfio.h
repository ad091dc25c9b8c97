/*
 * One PCI device handed to a guest through Linux VFIO, with the
 * container and group API (Debian 12's 6.1 kernel has no iommufd): a
 * container of its own with the type 1 v2 IOMMU, the device's group in
 * it, the device's file, its BARs mapped into our address space.
 *
 * Every failure says why in a sentence a caller can show as it is: the
 * group not viable (another device of the group is bound to a host
 * driver), VFIO_SET_IOMMU refused (no interrupt remapping), no
 * /dev/vfio (no IOMMU, or vfio-pci not loaded), the device not in the
 * group (not bound to vfio-pci).
 *
 * Not thread-safe: the runner attaches and detaches from one thread
 * while no vCPU runs; configuration reads and writes (pread/pwrite on
 * the device's file) may come from any vCPU thread.
 */
#ifndef VMMAPID_VMM_DRIVER_VFIO_H
#define VMMAPID_VMM_DRIVER_VFIO_H

#include <stddef.h>
#include <stdint.h>

#define VFIO_NBARS 6

struct vfio_dev;

/* A BAR of the device, as VFIO and its configuration header say. */
struct vfio_bar {
	uint64_t vb_size; /* 0: not implemented */
	int vb_io;        /* an I/O port BAR (not mapped) */
	int vb_mem64;
	int vb_prefetch;
	void *vb_map; /* mmap of the region, NULL when VFIO offers none */
};

/*
 * Opens device address ("0000:00:03.0") of IOMMU group group: container,
 * group, IOMMU, device, BARs.  0 with *out, or -1 with errno and why:
 * ENOENT (no /dev/vfio/GROUP: not bound to vfio-pci, or no IOMMU),
 * EBUSY (the group is open elsewhere: another VM or program has it),
 * EPERM (the group is not viable, or VFIO_SET_IOMMU refused), ENOTSUP
 * (no type 1 v2 IOMMU), others from the kernel.
 */
int vfio_open(const char *address, int group, struct vfio_dev **out, char *why,
	      size_t len);

/* Closes everything: DMA mappings go with the container. */
void vfio_close(struct vfio_dev *d);

/*
 * Maps [host, host + size) for the device's DMA at iova (VFIO pins the
 * pages).  -1 with errno.
 */
int vfio_dma_map(struct vfio_dev *d, void *host, uint64_t iova, uint64_t size);

/* BAR i (0..VFIO_NBARS-1), the device's; never NULL for such an i. */
const struct vfio_bar *vfio_bar(const struct vfio_dev *d, unsigned i);

/* size (1, 2, 4) bytes of the configuration space at off. -1 with errno. */
int vfio_cfg_read(struct vfio_dev *d, unsigned off, unsigned size,
		  uint32_t *val);
int vfio_cfg_write(struct vfio_dev *d, unsigned off, unsigned size,
		   uint32_t val);

/* A device's interrupts, as VFIO_DEVICE_SET_IRQS indexes them. */
enum vfio_irq_kind {
	VFIO_IRQ_KIND_INTX, /* the pin (level-triggered) */
	VFIO_IRQ_KIND_MSI,  /* the MSI capability's messages */
};

/* How many interrupts of kind the device has (0: none). -1 with errno. */
int vfio_irq_count(struct vfio_dev *d, enum vfio_irq_kind kind);

/*
 * fd (an eventfd) is signalled for each of the device's interrupts of
 * kind (its first vector; VFIO programs the device's MSI capability
 * with the host's own message); fd -1 turns them off.  INTx and MSI
 * exclude each other: turn one off before the other on.  With INTx VFIO
 * masks the pin after each interrupt until vfio_intx_unmask_fd's fd is
 * signalled (the guest's EOI, through KVM's resample eventfd).  -1 with
 * errno.
 */
int vfio_irq_trigger(struct vfio_dev *d, enum vfio_irq_kind kind, int fd);
int vfio_intx_unmask_fd(struct vfio_dev *d, int fd);

#endif
