/*
 * Passthrough devices attached to a run's VM: see ppt.h.
 */
#include "vmm-driver/ppt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "vmm-driver/pcicfg.h"
#include "vmm-driver/vfio.h"

#define PPT_CMD_MEMORY 0x2
#define PPT_CMD_MASTER 0x4
#define PPT_PAGE 4096ULL

struct ppt {
	unsigned pt_n;
	struct vfio_dev *pt_devs[PPT_MAX_DEVS];
	char pt_address[PPT_MAX_DEVS][32];
	struct pcicfg pt_cfg;
};

static int
ppt_cfg_read(void *cls, unsigned off, unsigned size, uint32_t *val)
{
	return vfio_cfg_read(cls, off, size, val);
}

static int
ppt_cfg_write(void *cls, unsigned off, unsigned size, uint32_t val)
{
	return vfio_cfg_write(cls, off, size, val);
}

void
ppt_detach(struct ppt *p)
{
	unsigned i;

	if (p == NULL)
		return;
	for (i = 0; i < p->pt_n; i++) {
		vfio_close(p->pt_devs[i]);
		log_info("passthrough: %s released", p->pt_address[i]);
	}
	pcicfg_destroy(&p->pt_cfg);
	free(p);
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
	   const struct ppt_dev_config *devs, unsigned n, struct ppt **out,
	   char *why, size_t len)
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
	if (n > PPT_MAX_DEVS) {
		snprintf(why, len, "%u devices; a VM takes at most %u", n,
			 PPT_MAX_DEVS);
		errno = EINVAL;
		return -1;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
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
		memset(&pd, 0, sizeof(pd));
		pd.pd_read = ppt_cfg_read;
		pd.pd_write = ppt_cfg_write;
		pd.pd_cls = p->pt_devs[i];
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
