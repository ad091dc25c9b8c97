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
 * Interrupts, for a VM with an in-kernel interrupt controller (irq 1:
 * a Linux VM) -- none reach the kernel's hands, they go device ->
 * VFIO's eventfd -> KVM's irqfd -> the guest:
 *   - INTx: the i-th device's pin is I/O APIC pin VMM_PCI_GSI_BASE + i
 *     (ppt_mptable_irqs says so for the MP table), level-triggered: VFIO
 *     signals an eventfd that KVM_IRQFD turns into the line's level and
 *     masks the device's INTx; the guest's EOI lowers the line and
 *     signals KVM's resample eventfd, which is VFIO's unmask eventfd.
 *   - MSI (one vector): the guest programs the capability that pcicfg
 *     emulates; when it enables it, line VMM_MSI_GSI_BASE + i is routed
 *     to the guest's message (vo_vm_msi_route) and VFIO's MSI is turned
 *     on with an eventfd KVM_IRQFD injects on that line (INTx off
 *     meanwhile, as the PCI rules have it); a new message while on
 *     moves the route; disabled, INTx comes back.
 * Without irq (a flat guest: no interrupt controller) the pin and the
 * capabilities are hidden and the guest polls.
 *
 * Not yet: MSI-X (hidden), I/O port BARs (shown as absent), BARs VFIO
 * will not mmap or smaller than a page (the attach fails saying so).
 * Each device gets a container of its own.  A Linux guest's reboot
 * detaches the devices and attaches them again to the new VM: closing
 * the VFIO device makes vfio-pci reset it (function, slot or bus reset,
 * whichever it has), so the rebooted kernel finds it as at power-on.
 *
 * Threads: ppt_attach and ppt_detach while no vCPU runs; ppt_io from
 * any vCPU thread (pcicfg's lock, under which the MSI changes run).
 */
#ifndef VMMAPID_VMM_DRIVER_PPT_H
#define VMMAPID_VMM_DRIVER_PPT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm-driver/mptable.h"
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
 * Attaches devs[0..n) to vm (of ops, guest RAM at gpa 0); irq 1: vm has
 * an in-kernel interrupt controller (cp_linux), and the devices'
 * interrupts are delivered (above).  0 with *out, or -1 with errno and
 * why naming the device and what failed (nothing left open).  The VM
 * must be destroyed before ppt_detach.
 */
int ppt_attach(const struct vmm_ops *ops, struct vmm_vm *vm,
	       const struct ppt_dev_config *devs, unsigned n, int irq,
	       struct ppt **out, char *why, size_t len);

/*
 * The INTx wiring for the MP table: one entry per device with a pin
 * (irq attaches only), into out[0..PPT_MAX_DEVS); the count.  NULL p:
 * none.
 */
unsigned ppt_mptable_irqs(const struct ppt *p, struct mptable_pci_irq *out);

/* Releases every device (their DMA mappings, BARs, files). NULL: none. */
void ppt_detach(struct ppt *p);

/* A port access: 1 when it was the configuration space's. */
int ppt_io(struct ppt *p, uint16_t port, unsigned size, int in, uint8_t *data);

#endif
