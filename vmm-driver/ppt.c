/*
 * Passthrough devices attached to a run's VM: see ppt.h.
 */
#include "vmm-driver/ppt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include "base/log.h"
#include "vmm-driver/pcicfg.h"
#include "vmm-driver/vfio.h"

#define PPT_CMD_MEMORY 0x2
#define PPT_CMD_MASTER 0x4
#define PPT_PAGE 4096ULL

#define PPT_REG_PIN 0x3d

struct ppt;

/* One device's interrupts; pcicfg's cookie for it. */
struct ppt_irq {
	struct ppt *pi_ppt;
	unsigned pi_i;      /* the device's index */
	unsigned pi_pin;    /* its INTx pin, 1 (INTA) .. 4; 0: none */
	int pi_intx_fd;     /* VFIO signals INTx; KVM raises the line */
	int pi_resample_fd; /* KVM's EOI signal; VFIO unmasks INTx */
	int pi_msi_fd;      /* VFIO signals the MSI; KVM injects it */
	int pi_msi_on;      /* pc_lock: VFIO's MSI is on */
};

struct ppt {
	unsigned pt_n;
	const struct vmm_ops *pt_ops;
	struct vmm_vm *pt_vm;
	int pt_irqs_on; /* ppt_attach's irq */
	struct vfio_dev *pt_devs[PPT_MAX_DEVS];
	char pt_address[PPT_MAX_DEVS][32];
	struct ppt_irq pt_irq[PPT_MAX_DEVS];
	struct pcicfg pt_cfg;
};

static int
ppt_cfg_read(void *cls, unsigned off, unsigned size, uint32_t *val)
{
	struct ppt_irq *pi = cls;

	return vfio_cfg_read(pi->pi_ppt->pt_devs[pi->pi_i], off, size, val);
}

static int
ppt_cfg_write(void *cls, unsigned off, unsigned size, uint32_t val)
{
	struct ppt_irq *pi = cls;

	return vfio_cfg_write(pi->pi_ppt->pt_devs[pi->pi_i], off, size, val);
}

/* INTx through the eventfds (again, after an MSI): -1 with errno. */
static int
ppt_intx_on(struct ppt *p, unsigned i)
{
	struct ppt_irq *pi = &p->pt_irq[i];

	if (vfio_irq_trigger(p->pt_devs[i], VFIO_IRQ_KIND_INTX,
			     pi->pi_intx_fd) != 0 ||
	    vfio_intx_unmask_fd(p->pt_devs[i], pi->pi_resample_fd) != 0)
		return -1;
	return 0;
}

/*
 * The guest turned the MSI capability on or off, or moved its message
 * (pcicfg's pd_msi, under pc_lock): the route, then VFIO's MSI.  What
 * fails is logged; the guest then misses that device's interrupts, as
 * on hardware whose MSI went wrong.
 */
static void
ppt_msi(void *cls, int enable, uint64_t addr, uint32_t data)
{
	struct ppt_irq *pi = cls;
	struct ppt *p = pi->pi_ppt;
	struct vfio_dev *d = p->pt_devs[pi->pi_i];
	unsigned gsi = VMM_MSI_GSI_BASE + pi->pi_i;
	const char *a = p->pt_address[pi->pi_i];

	if (enable) {
		if (p->pt_ops->vo_vm_msi_route(p->pt_vm, gsi, 1, addr, data) !=
		    0)
			log_warn("passthrough: %s: routing MSI 0x%llx/0x%x", a,
				 (unsigned long long)addr, data);
		if (pi->pi_msi_on)
			return;
		/* One of INTx and MSI at a time, VFIO says. */
		if ((pi->pi_pin != 0 &&
		     vfio_irq_trigger(d, VFIO_IRQ_KIND_INTX, -1) != 0) ||
		    vfio_irq_trigger(d, VFIO_IRQ_KIND_MSI, pi->pi_msi_fd) !=
			0) {
			log_warn("passthrough: %s: turning MSI on", a);
			return;
		}
		pi->pi_msi_on = 1;
		log_info("passthrough: %s: MSI on, message 0x%llx/0x%x "
			 "(line %u)",
			 a, (unsigned long long)addr, data, gsi);
		return;
	}
	if (pi->pi_msi_on) {
		if (vfio_irq_trigger(d, VFIO_IRQ_KIND_MSI, -1) != 0)
			log_warn("passthrough: %s: turning MSI off", a);
		pi->pi_msi_on = 0;
		if (pi->pi_pin != 0 && ppt_intx_on(p, pi->pi_i) != 0)
			log_warn("passthrough: %s: turning INTx on again", a);
		log_info("passthrough: %s: MSI off", a);
	}
	if (p->pt_ops->vo_vm_msi_route(p->pt_vm, gsi, 0, 0, 0) != 0)
		log_warn("passthrough: %s: removing the MSI route", a);
}

static void
ppt_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void
ppt_detach(struct ppt *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->pt_n; i++) {
		/* The VM is gone, and its irqfds with it; closing the
		 * device turns its interrupts off. */
		vfio_close(p->pt_devs[i]);
		ppt_close_fd(&p->pt_irq[i].pi_intx_fd);
		ppt_close_fd(&p->pt_irq[i].pi_resample_fd);
		ppt_close_fd(&p->pt_irq[i].pi_msi_fd);
		log_info("passthrough: %s released", p->pt_address[i]);
	}
	pcicfg_destroy(&p->pt_cfg);
	free(p);
}

unsigned
ppt_mptable_irqs(const struct ppt *p, struct mptable_pci_irq *out)
{
	unsigned i, n = 0;

	if (p == NULL || !p->pt_irqs_on)
		return 0;
	for (i = 0; i < p->pt_n; i++) {
		if (p->pt_irq[i].pi_pin == 0)
			continue;
		out[n].mpi_slot = (uint8_t)(i + 1);
		out[n].mpi_pin = (uint8_t)p->pt_irq[i].pi_pin;
		out[n].mpi_ioapic_pin = (uint8_t)(VMM_PCI_GSI_BASE + i);
		n++;
	}
	return n;
}

#ifdef __linux__
static int
ppt_eventfd(int *fd)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return *fd >= 0 ? 0 : -1;
}
#else
static int
ppt_eventfd(int *fd)
{
	*fd = -1;
	errno = ENOTSUP;
	return -1;
}
#endif

/*
 * Device i's interrupts (an irq attach, before the guest runs): its pin
 * and MSI as the device has them, the eventfds, KVM's irqfds, VFIO's
 * INTx.  -1 with why.
 */
static int
ppt_irqs(struct ppt *p, unsigned i, char *why, size_t len)
{
	struct ppt_irq *pi = &p->pt_irq[i];
	struct vfio_dev *d = p->pt_devs[i];
	const struct vmm_ops *ops = p->pt_ops;
	uint32_t pin = 0;
	int nintx, nmsi;
	const char *what;

	if ((nintx = vfio_irq_count(d, VFIO_IRQ_KIND_INTX)) < 0 ||
	    (nmsi = vfio_irq_count(d, VFIO_IRQ_KIND_MSI)) < 0) {
		what = "asking VFIO for its interrupts";
		goto fail;
	}
	if (nintx > 0 && vfio_cfg_read(d, PPT_REG_PIN, 1, &pin) == 0 &&
	    pin >= 1 && pin <= 4)
		pi->pi_pin = pin;
	if (pi->pi_pin != 0) {
		what = "wiring its INTx to the guest's I/O APIC";
		if (ppt_eventfd(&pi->pi_intx_fd) != 0 ||
		    ppt_eventfd(&pi->pi_resample_fd) != 0 ||
		    ops->vo_vm_irqfd(p->pt_vm, VMM_PCI_GSI_BASE + i,
				     pi->pi_intx_fd, pi->pi_resample_fd) != 0)
			goto fail;
		if (ppt_intx_on(p, i) != 0)
			goto fail;
	}
	if (nmsi > 0) {
		what = "wiring its MSI to the guest";
		if (ppt_eventfd(&pi->pi_msi_fd) != 0 ||
		    ops->vo_vm_irqfd(p->pt_vm, VMM_MSI_GSI_BASE + i,
				     pi->pi_msi_fd, -1) != 0)
			goto fail;
	}
	if (pi->pi_pin != 0)
		log_info("passthrough: %s: INTx (pin %c) on I/O APIC pin %u, "
			 "MSI %s",
			 p->pt_address[i], 'A' + (int)pi->pi_pin - 1,
			 VMM_PCI_GSI_BASE + i,
			 nmsi > 0 ? "emulated (1 vector)" : "none");
	else
		log_info("passthrough: %s: no INTx, MSI %s", p->pt_address[i],
			 nmsi > 0 ? "emulated (1 vector)" : "none");
	return 0;
fail:
	snprintf(why, len, "PCI device %s: %s failed: %s", p->pt_address[i],
		 what, strerror(errno));
	return -1;
}

/* Device i's memory BARs for the configuration space; -1 with why. */
static int
ppt_bars(struct ppt *p, unsigned i, struct pcicfg_dev *pd, char *why,
	 size_t len)
{
	unsigned j;

	for (j = 0; j < VFIO_NBARS; j++) {
		const struct vfio_bar *b = vfio_bar(p->pt_devs[i], j);

		if (b->vb_size == 0 || b->vb_io)
			continue; /* I/O BARs: shown as absent (ppt.h) */
		if (b->vb_map == NULL || b->vb_size % PPT_PAGE != 0) {
			snprintf(why, len,
				 "PCI device %s: BAR%u (%llu bytes) cannot be "
				 "mapped into the guest (VFIO offers no mmap "
				 "of it, or it is smaller than a page)",
				 p->pt_address[i], j,
				 (unsigned long long)b->vb_size);
			errno = ENOTSUP;
			return -1;
		}
		pd->pd_bars[j].pb_size = b->vb_size;
		pd->pd_bars[j].pb_mem64 = b->vb_mem64;
		pd->pd_bars[j].pb_prefetch = b->vb_prefetch;
	}
	return 0;
}

/* DMA, BAR slots and the command register of device i (placed). */
static int
ppt_wire(struct ppt *p, unsigned i, const struct vmm_ops *ops,
	 struct vmm_vm *vm, uint8_t *mem, uint64_t memsize, char *why,
	 size_t len)
{
	const struct pcicfg_dev *pd = &p->pt_cfg.pc_devs[i];
	struct vfio_dev *d = p->pt_devs[i];
	uint32_t cmd;
	unsigned j;

	/* Every byte of guest RAM, IOVA = guest physical address: the
	 * guest programs its own addresses into the device. */
	if (vfio_dma_map(d, mem, 0, memsize) != 0) {
		snprintf(why, len,
			 "PCI device %s: mapping guest RAM (%llu bytes) for "
			 "its DMA failed: %s",
			 p->pt_address[i], (unsigned long long)memsize,
			 strerror(errno));
		return -1;
	}
	for (j = 0; j < PCICFG_NBARS; j++) {
		const struct pcicfg_bar *b = &pd->pd_bars[j];

		if (b->pb_size == 0)
			continue;
		if (ops->vo_vm_map_device(vm, b->pb_gpa, vfio_bar(d, j)->vb_map,
					  b->pb_size) != 0) {
			snprintf(why, len,
				 "PCI device %s: placing BAR%u at guest "
				 "address 0x%llx failed: %s",
				 p->pt_address[i], j,
				 (unsigned long long)b->pb_gpa,
				 strerror(errno));
			return -1;
		}
		log_info("passthrough: %s BAR%u (%llu KiB) at guest 0x%llx",
			 p->pt_address[i], j,
			 (unsigned long long)(b->pb_size >> 10),
			 (unsigned long long)b->pb_gpa);
	}
	/* Decoding and bus mastering on before any DMA the guest starts:
	 * a guest that does not enable them itself still works. */
	if (vfio_cfg_read(d, 4, 2, &cmd) != 0 ||
	    vfio_cfg_write(d, 4, 2, cmd | PPT_CMD_MEMORY | PPT_CMD_MASTER) !=
		0) {
		snprintf(why, len,
			 "PCI device %s: enabling bus mastering failed: %s",
			 p->pt_address[i], strerror(errno));
		return -1;
	}
	return 0;
}

int
ppt_attach(const struct vmm_ops *ops, struct vmm_vm *vm,
	   const struct ppt_dev_config *devs, unsigned n, int irq,
	   struct ppt **out, char *why, size_t len)
{
	struct ppt *p;
	uint64_t memsize;
	uint8_t *mem;
	unsigned i, slot;
	int err;

	if (ops->vo_vm_map_device == NULL || ops->vo_vm_memory == NULL) {
		snprintf(why, len, "the %s backend cannot pass devices through",
			 ops->vo_name);
		errno = ENOTSUP;
		return -1;
	}
	if (irq && (ops->vo_vm_irqfd == NULL || ops->vo_vm_msi_route == NULL)) {
		snprintf(why, len,
			 "the %s backend cannot deliver a device's "
			 "interrupts",
			 ops->vo_name);
		errno = ENOTSUP;
		return -1;
	}
	if (n > PPT_MAX_DEVS) {
		snprintf(why, len, "%u devices; a VM takes at most %u", n,
			 PPT_MAX_DEVS);
		errno = EINVAL;
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	p->pt_ops = ops;
	p->pt_vm = vm;
	p->pt_irqs_on = irq != 0;
	for (i = 0; i < PPT_MAX_DEVS; i++) {
		p->pt_irq[i].pi_ppt = p;
		p->pt_irq[i].pi_i = i;
		p->pt_irq[i].pi_intx_fd = p->pt_irq[i].pi_resample_fd = -1;
		p->pt_irq[i].pi_msi_fd = -1;
	}
	pcicfg_init(&p->pt_cfg);
	mem = ops->vo_vm_memory(vm, &memsize);
	for (i = 0; i < n; i++) {
		struct pcicfg_dev pd;
		char dwhy[200];

		snprintf(p->pt_address[i], sizeof(p->pt_address[i]), "%s",
			 devs[i].pdc_address);
		if (vfio_open(devs[i].pdc_address, devs[i].pdc_group,
			      &p->pt_devs[i], dwhy, sizeof(dwhy)) != 0) {
			err = errno;
			snprintf(why, len, "PCI device %s: %s",
				 devs[i].pdc_address, dwhy);
			errno = err;
			goto fail;
		}
		p->pt_n = i + 1;
		if (irq && ppt_irqs(p, i, why, len) != 0)
			goto fail;
		memset(&pd, 0, sizeof(pd));
		pd.pd_read = ppt_cfg_read;
		pd.pd_write = ppt_cfg_write;
		pd.pd_cls = &p->pt_irq[i];
		pd.pd_irq = irq != 0;
		pd.pd_intline = (uint8_t)(VMM_PCI_GSI_BASE + i);
		pd.pd_msi = irq && p->pt_irq[i].pi_msi_fd >= 0 ? ppt_msi : NULL;
		if (ppt_bars(p, i, &pd, why, len) != 0 ||
		    pcicfg_add(&p->pt_cfg, &pd, &slot) != 0)
			goto fail;
	}
	if (pcicfg_place(&p->pt_cfg, memsize) != 0) {
		err = errno;
		snprintf(why, len,
			 "the devices' BARs do not fit between guest RAM's "
			 "end and 0x%llx",
			 (unsigned long long)PCICFG_MMIO_END);
		errno = err;
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (ppt_wire(p, i, ops, vm, mem, memsize, why, len) != 0)
			goto fail;
	for (i = 0; i < n; i++)
		log_info("passthrough: %s attached (IOMMU group %d), guest "
			 "00:%02x.0",
			 devs[i].pdc_address, devs[i].pdc_group, i + 1);
	*out = p;
	return 0;
fail:
	err = errno;
	ppt_detach(p);
	errno = err;
	return -1;
}

int
ppt_io(struct ppt *p, uint16_t port, unsigned size, int in, uint8_t *data)
{
	return pcicfg_io(&p->pt_cfg, port, size, in, data);
}
