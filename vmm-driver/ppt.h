/*
 * A run's passthrough devices (VFIO, vmm-driver/vfio.h) attached to its
 * backend VM: for each device its VFIO container, group and file; all
 * guest RAM mapped for the device's DMA at IOVA = guest physical
 * address; its memory BARs placed above RAM (vmm-driver/pcicfg.h) and
 * made memory slots of the VM (vo_vm_map_device), so that the guest
 * reaches the device without exits; memory decoding and bus mastering
 * turned on in its command register before the guest runs; and the
 * configuration space the guest probes at 0xCF8/0xCFC.
 *
 * Not yet: interrupts (no INTx or MSI reaches the guest: the pin and
 * the capabilities are hidden, the guest polls), I/O port BARs (shown
 * as absent), BARs VFIO will not mmap or smaller than a page (the attach
 * fails saying so).  Each device gets a container of its own.
 *
 * Threads: ppt_attach and ppt_detach while no vCPU runs; ppt_io from
 * any vCPU thread (pcicfg's lock).
 */
#ifndef VMMAPID_VMM_DRIVER_PPT_H
#define VMMAPID_VMM_DRIVER_PPT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm-driver/vmm.h"

/* The most devices one VM is given (LIMIT_PPTDEVS). */
#define PPT_MAX_DEVS 8

/* One device to attach, as the host names it. */
struct ppt_dev_config {
	char pdc_address[32]; /* "0000:00:03.0" */
	int pdc_group;        /* its IOMMU group */
};

struct ppt;

/*
 * Attaches devs[0..n) to vm (of ops, guest RAM at gpa 0).  0 with *out,
 * or -1 with errno and why naming the device and what failed (nothing
 * left open).  The VM must be destroyed before ppt_detach.
 */
int ppt_attach(const struct vmm_ops *ops, struct vmm_vm *vm,
	       const struct ppt_dev_config *devs, unsigned n, struct ppt **out,
	       char *why, size_t len);

/* Releases every device (their DMA mappings, BARs, files). NULL: none. */
void ppt_detach(struct ppt *p);

/* A port access: 1 when it was the configuration space's. */
int ppt_io(struct ppt *p, uint16_t port, unsigned size, int in, uint8_t *data);

#endif
