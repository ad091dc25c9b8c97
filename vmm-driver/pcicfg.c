/*
 * PCI configuration mechanism #1 for passthrough devices: see pcicfg.h.
 */
#include "vmm-driver/pcicfg.h"

#include <errno.h>
#include <string.h>

#define PCICFG_ENABLE 0x80000000u
#define PCICFG_REG_COMMAND 0x04
#define PCICFG_REG_BAR0 0x10
#define PCICFG_REG_ROM 0x30
#define PCICFG_REG_CAP 0x34
#define PCICFG_REG_STATUS 0x06
#define PCICFG_REG_INTR 0x3c
#define PCICFG_STATUS_CAPLIST (1u << (16 + 4))
#define PCICFG_CAP_MSI 0x05
#define PCICFG_MSI_ENABLE 0x0001
#define PCICFG_MSI_64 0x0080
#define PCICFG_MAX_CAPS 48 /* (256 - 64) / 4: a list longer loops */
/* The host bridge at 00:00.0: Red Hat's "QEMU PCIe host bridge" id. */
#define PCICFG_HB_ID 0x00081b36u
#define PCICFG_HB_CLASS 0x06000000u
#define PCICFG_BAR_MEM64 0x4
#define PCICFG_BAR_PREFETCH 0x8

void
pcicfg_init(struct pcicfg *pc)
{
	memset(pc, 0, sizeof(*pc));
	pthread_mutex_init(&pc->pc_lock, NULL);
}

void
pcicfg_destroy(struct pcicfg *pc)
{
	pthread_mutex_destroy(&pc->pc_lock);
}

/* The device's MSI capability: its offset, or 0. */
static unsigned
pcicfg_find_msi(struct pcicfg_dev *d)
{
	uint32_t v;
	unsigned ptr, n;

	if (d->pd_read(d->pd_cls, PCICFG_REG_STATUS, 2, &v) != 0 ||
	    !(v & (PCICFG_STATUS_CAPLIST >> 16)) ||
	    d->pd_read(d->pd_cls, PCICFG_REG_CAP, 1, &v) != 0)
		return 0;
	ptr = v & 0xfc;
	for (n = 0; ptr >= PCICFG_HEADER && n < PCICFG_MAX_CAPS; n++) {
		if (d->pd_read(d->pd_cls, ptr, 4, &v) != 0)
			return 0;
		if ((v & 0xff) == PCICFG_CAP_MSI) {
			d->pd_msi64 = (v >> 16 & PCICFG_MSI_64) != 0;
			return ptr;
		}
		ptr = (v >> 8) & 0xfc;
	}
	return 0;
}

int
pcicfg_add(struct pcicfg *pc, const struct pcicfg_dev *dev, unsigned *slot)
{
	struct pcicfg_dev *d;

	if (pc->pc_ndevs == PCICFG_MAX_DEVS) {
		errno = ENOSPC;
		return -1;
	}
	d = &pc->pc_devs[pc->pc_ndevs];
	*d = *dev;
	d->pd_sizing = 0;
	d->pd_msi_on = 0;
	d->pd_msi_addr = 0;
	d->pd_msi_data = 0;
	d->pd_msi64 = 0;
	d->pd_msi_off = d->pd_irq && d->pd_msi != NULL ? pcicfg_find_msi(d) : 0;
	*slot = ++pc->pc_ndevs;
	return 0;
}

int
pcicfg_place(struct pcicfg *pc, uint64_t ram_end)
{
	struct pcicfg_bar *order[PCICFG_MAX_DEVS * PCICFG_NBARS], *t;
	uint64_t at, align;
	unsigned n = 0, i, j;

	for (i = 0; i < pc->pc_ndevs; i++)
		for (j = 0; j < PCICFG_NBARS; j++)
			if (pc->pc_devs[i].pd_bars[j].pb_size > 0)
				order[n++] = &pc->pc_devs[i].pd_bars[j];
	/* Biggest first: each then starts aligned without holes. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && order[j]->pb_size > order[j - 1]->pb_size;
		     j--) {
			t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	at = ram_end > PCICFG_MMIO_BASE ? ram_end : PCICFG_MMIO_BASE;
	for (i = 0; i < n; i++) {
		uint64_t size = order[i]->pb_size;

		/* A BAR's size is a power of two; a slot is whole pages. */
		if ((size & (size - 1)) != 0) {
			errno = EINVAL;
			return -1;
		}
		align = size < PCICFG_PAGE ? PCICFG_PAGE : size;
		at = (at + align - 1) & ~(align - 1);
		if (at >= PCICFG_MMIO_END || PCICFG_MMIO_END - at < align) {
			for (j = 0; j < i; j++)
				order[j]->pb_gpa = 0;
			errno = ENOSPC;
			return -1;
		}
		order[i]->pb_gpa = at;
		at += align;
	}
	return 0;
}

/* The device at the address register's bus/device/function, or NULL. */
static struct pcicfg_dev *
pcicfg_dev_at(struct pcicfg *pc, uint32_t addr)
{
	unsigned bus = (addr >> 16) & 0xff, dev = (addr >> 11) & 0x1f;
	unsigned fn = (addr >> 8) & 0x7;

	if (!(addr & PCICFG_ENABLE) || bus != 0 || fn != 0 || dev == 0 ||
	    dev > pc->pc_ndevs)
		return NULL;
	return &pc->pc_devs[dev - 1];
}

/* 00:00.0, the host bridge: the address register selects it. */
static int
pcicfg_is_bridge(uint32_t addr)
{
	return (addr & PCICFG_ENABLE) && (addr & 0x00ffff00u) == 0;
}

/* The host bridge's dword at reg: its ids and class, the rest 0. */
static uint32_t
pcicfg_bridge_dword(unsigned reg)
{
	if (reg == 0)
		return PCICFG_HB_ID;
	if (reg == 0x08)
		return PCICFG_HB_CLASS;
	return 0;
}

/* The MSI capability's length: 64-bit address or not; no masking. */
static unsigned
pcicfg_msi_len(const struct pcicfg_dev *d)
{
	return d->pd_msi64 ? 16 : 12;
}

/* The MSI capability's dword at reg (inside it) as the guest sees it. */
static uint32_t
pcicfg_msi_dword(const struct pcicfg_dev *d, unsigned reg)
{
	unsigned i = (reg - d->pd_msi_off) / 4;
	uint32_t ctl;

	switch (i) {
	case 0: /* id, next 0, control */
		ctl = (d->pd_msi64 ? PCICFG_MSI_64 : 0) |
		      (d->pd_msi_on ? PCICFG_MSI_ENABLE : 0);
		return PCICFG_CAP_MSI | ctl << 16;
	case 1:
		return (uint32_t)d->pd_msi_addr;
	case 2:
		return d->pd_msi64 ? (uint32_t)(d->pd_msi_addr >> 32)
				   : d->pd_msi_data;
	default:
		return d->pd_msi_data;
	}
}

/* A write into the MSI capability (dword reg, merged); pd_msi told. */
static void
pcicfg_msi_write(struct pcicfg_dev *d, unsigned reg, uint32_t v)
{
	unsigned i = (reg - d->pd_msi_off) / 4;
	int on = d->pd_msi_on;
	uint64_t addr = d->pd_msi_addr;
	uint32_t data = d->pd_msi_data;

	if (i == 0)
		on = (v >> 16 & PCICFG_MSI_ENABLE) != 0;
	else if (i == 1)
		addr = (addr & ~0xffffffffULL) | (v & ~3u);
	else if (i == 2 && d->pd_msi64)
		addr = (addr & 0xffffffffULL) | (uint64_t)v << 32;
	else
		data = v & 0xffff; /* no extended message data */
	if (on == d->pd_msi_on && addr == d->pd_msi_addr &&
	    data == d->pd_msi_data)
		return;
	d->pd_msi_addr = addr;
	d->pd_msi_data = data;
	/* A message rewritten while off means nothing to the device yet. */
	if (on || d->pd_msi_on) {
		d->pd_msi_on = on;
		d->pd_msi(d->pd_cls, on, addr, data);
	}
}

/* Register reg (aligned) falls inside the shown MSI capability. */
static int
pcicfg_in_msi(const struct pcicfg_dev *d, unsigned reg)
{
	return d->pd_msi_off != 0 && reg >= d->pd_msi_off &&
	       reg < d->pd_msi_off + pcicfg_msi_len(d);
}

/* BAR register i as the guest sees it (pc_lock held). */
static uint32_t
pcicfg_bar_read(const struct pcicfg_dev *d, unsigned i)
{
	const struct pcicfg_bar *b = &d->pd_bars[i];
	int sizing = (d->pd_sizing >> i) & 1;
	uint64_t v;

	if (i > 0 && d->pd_bars[i - 1].pb_mem64 &&
	    d->pd_bars[i - 1].pb_size > 0) {
		/* The upper half of the 64-bit BAR below. */
		b = &d->pd_bars[i - 1];
		v = sizing ? ~(b->pb_size - 1) : b->pb_gpa;
		return (uint32_t)(v >> 32);
	}
	if (b->pb_size == 0)
		return 0;
	v = sizing ? ~(b->pb_size - 1) : b->pb_gpa;
	return ((uint32_t)v & ~0xfu) | (b->pb_mem64 ? PCICFG_BAR_MEM64 : 0) |
	       (b->pb_prefetch ? PCICFG_BAR_PREFETCH : 0);
}

/* The dword at register reg (aligned) as the guest sees it. */
static uint32_t
pcicfg_dword(struct pcicfg_dev *d, unsigned reg)
{
	uint32_t v = 0;

	if (pcicfg_in_msi(d, reg))
		return pcicfg_msi_dword(d, reg);
	if (reg == PCICFG_REG_CAP)
		return d->pd_msi_off;
	if (reg >= PCICFG_HEADER || reg == PCICFG_REG_ROM)
		return 0;
	if (reg >= PCICFG_REG_BAR0 && reg < PCICFG_REG_BAR0 + 4 * PCICFG_NBARS)
		return pcicfg_bar_read(d, (reg - PCICFG_REG_BAR0) / 4);
	if (d->pd_read(d->pd_cls, reg, 4, &v) != 0)
		return 0xffffffffu;
	if (reg == PCICFG_REG_COMMAND && d->pd_msi_off == 0)
		v &= ~PCICFG_STATUS_CAPLIST;
	else if (reg == PCICFG_REG_INTR && !d->pd_irq)
		v &= ~0xff00u; /* interrupt pin: none */
	else if (reg == PCICFG_REG_INTR)
		v = (v & ~0xffu) | d->pd_intline;
	return v;
}

/* A write of size bytes at register off (pc_lock held). */
static void
pcicfg_write(struct pcicfg_dev *d, unsigned off, unsigned size, uint32_t val)
{
	unsigned reg = off & ~3u;

	if (reg == PCICFG_REG_COMMAND && off == PCICFG_REG_COMMAND) {
		/* The command register; the status half (write one to
		 * clear) is left alone. */
		(void)d->pd_write(d->pd_cls, PCICFG_REG_COMMAND,
				  size < 2 ? size : 2,
				  size < 2 ? val & 0xff : val & 0xffff);
		return;
	}
	if (reg >= PCICFG_REG_BAR0 &&
	    reg < PCICFG_REG_BAR0 + 4 * PCICFG_NBARS) {
		unsigned i = (reg - PCICFG_REG_BAR0) / 4;

		/* All ones asks for the size; any other write ends that,
		 * and the BAR stays where it was placed. */
		if (size == 4 && val == 0xffffffffu)
			d->pd_sizing |= 1u << i;
		else
			d->pd_sizing &= ~(1u << i);
		return;
	}
	if (reg == PCICFG_REG_INTR && off == PCICFG_REG_INTR && d->pd_irq) {
		d->pd_intline = (uint8_t)val;
		return;
	}
	if (pcicfg_in_msi(d, reg)) {
		uint32_t v = pcicfg_msi_dword(d, reg), mask;
		unsigned k = off - reg;

		mask = size == 4 ? 0xffffffffu : ((1u << (8 * size)) - 1);
		v = (v & ~(mask << (8 * k))) | (val & mask) << (8 * k);
		pcicfg_msi_write(d, reg, v);
	}
}

int
pcicfg_io(struct pcicfg *pc, uint16_t port, unsigned size, int in,
	  uint8_t *data)
{
	struct pcicfg_dev *d;
	unsigned k, off;
	uint32_t v;

	if (port == PCICFG_PORT_ADDR && size == 4) {
		pthread_mutex_lock(&pc->pc_lock);
		if (in) {
			v = pc->pc_addr;
			memcpy(data, &v, 4);
		} else {
			memcpy(&v, data, 4);
			pc->pc_addr = v & ~3u;
		}
		pthread_mutex_unlock(&pc->pc_lock);
		return 1;
	}
	if (port < PCICFG_PORT_DATA || port > PCICFG_PORT_DATA + 3)
		return 0;
	k = port - PCICFG_PORT_DATA;
	pthread_mutex_lock(&pc->pc_lock);
	d = pcicfg_dev_at(pc, pc->pc_addr);
	off = (pc->pc_addr & 0xfc) + k;
	if (in) {
		if (d != NULL)
			v = pcicfg_dword(d, off & ~3u);
		else if (pc->pc_ndevs > 0 && pcicfg_is_bridge(pc->pc_addr))
			v = pcicfg_bridge_dword(off & ~3u);
		else
			v = 0xffffffffu;
		v >>= 8 * k;
		memcpy(data, &v, size);
		/* Past the dword (an unaligned access): all ones. */
		if (k + size > 4)
			memset(data + (4 - k), 0xff, k + size - 4);
	} else if (d != NULL && k + size <= 4) {
		v = 0;
		memcpy(&v, data, size);
		pcicfg_write(d, off, size, v);
	}
	pthread_mutex_unlock(&pc->pc_lock);
	return 1;
}
