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
#define PCICFG_REG_INTR 0x3c
#define PCICFG_STATUS_CAPLIST (1u << (16 + 4))
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

int
pcicfg_add(struct pcicfg *pc, const struct pcicfg_dev *dev, unsigned *slot)
{
	if (pc->pc_ndevs == PCICFG_MAX_DEVS) {
		errno = ENOSPC;
		return -1;
	}
	pc->pc_devs[pc->pc_ndevs] = *dev;
	pc->pc_devs[pc->pc_ndevs].pd_sizing = 0;
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

	if (reg >= PCICFG_HEADER || reg == PCICFG_REG_ROM ||
	    reg == PCICFG_REG_CAP)
		return 0;
	if (reg >= PCICFG_REG_BAR0 && reg < PCICFG_REG_BAR0 + 4 * PCICFG_NBARS)
		return pcicfg_bar_read(d, (reg - PCICFG_REG_BAR0) / 4);
	if (d->pd_read(d->pd_cls, reg, 4, &v) != 0)
		return 0xffffffffu;
	if (reg == PCICFG_REG_COMMAND)
		v &= ~PCICFG_STATUS_CAPLIST;
	else if (reg == PCICFG_REG_INTR)
		v &= ~0xff00u; /* interrupt pin: none */
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
		v = d != NULL ? pcicfg_dword(d, off & ~3u) : 0xffffffffu;
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
