/*
 * The guest's PCI configuration space, mechanism #1: an address register
 * at port 0xCF8 (bit 31 enable, bus, device, function, register) and a
 * data window at 0xCFC-0xCFF.  Passthrough devices (vmm-driver/ppt.h)
 * sit on bus 0, device i + 1 for the i-th, function 0; device 0 is a
 * host bridge (class 0x0600, Red Hat's 1b36:0008, nothing else), which
 * Linux's probe of mechanism #1 looks for unless told pci=conf1 (its
 * pci_sanity_check wants a host bridge, a VGA device or an Intel
 * vendor id on bus 0); every other address reads all ones, as an
 * absent device does.
 *
 * What the guest sees of a device: its own configuration header, read
 * from the device when the guest reads (vendor, device, class, status,
 * ...), except
 *   - the BARs, which show the guest physical addresses pcicfg_place
 *     chose (the device's own, host-side BARs mean nothing in the guest)
 *     and answer the sizing write of all ones with the size mask;
 *   - without pd_irq (a guest with no interrupt controller): the
 *     capability list (status bit 4, register 0x34), everything past
 *     the 64-byte header and the interrupt pin (0x3d) hidden: nothing
 *     would deliver the device's interrupts, so the guest must not
 *     find them;
 *   - with pd_irq: the interrupt pin as the device has it and the
 *     interrupt line register as the guest last wrote it (pd_intline
 *     first); and of the capabilities only MSI, emulated here: its
 *     next pointer 0 (MSI-X, power management, PCI Express stay
 *     hidden), one vector (multiple message capable 0), no per-vector
 *     masking, the 64-bit address bit as the device has it.  The
 *     guest's address, data and enable bit are kept here, not written
 *     to the device (VFIO programs the device's MSI with the host's own
 *     message); pd_msi tells the owner when they change.
 * Writes to the command register go to the device (memory decode, bus
 * mastering, INTx disable); a BAR written with another address keeps the
 * one chosen (the slot in the guest's physical space does not move);
 * other writes are ignored.
 *
 * No device I/O here: the device is read and written through the
 * callbacks, so the unit tests drive the emulation without one.
 *
 * Locking: pc_lock guards the address register and the BARs' sizing
 * state; vCPU threads call pcicfg_io concurrently.
 */
#ifndef VMMAPID_VMM_DRIVER_PCICFG_H
#define VMMAPID_VMM_DRIVER_PCICFG_H

#include <pthread.h>
#include <stdint.h>

#define PCICFG_PORT_ADDR 0xcf8
#define PCICFG_PORT_DATA 0xcfc
#define PCICFG_MAX_DEVS 8 /* LIMIT_PPTDEVS */
#define PCICFG_NBARS 6
#define PCICFG_HEADER 64 /* what the guest sees; the rest reads 0 */

/* Where pcicfg_place puts BARs: above RAM, below the I/O APIC. */
#define PCICFG_MMIO_BASE 0xe0000000ULL
#define PCICFG_MMIO_END 0xfec00000ULL
#define PCICFG_PAGE 4096ULL

/* One BAR as the device has it and where the guest sees it. */
struct pcicfg_bar {
	uint64_t pb_size; /* 0: not implemented (or not passed through) */
	int pb_mem64;     /* a 64-bit memory BAR (takes two registers) */
	int pb_prefetch;
	uint64_t pb_gpa; /* pcicfg_place's choice */
};

struct pcicfg_dev {
	struct pcicfg_bar pd_bars[PCICFG_NBARS];
	/* Reads size (1, 2, 4) bytes of the device's configuration at off
	 * (aligned) into *val: 0, or -1 (the guest then reads all ones). */
	int (*pd_read)(void *cls, unsigned off, unsigned size, uint32_t *val);
	/* Writes them; only the command register is written. */
	int (*pd_write)(void *cls, unsigned off, unsigned size, uint32_t val);
	void *pd_cls;
	/* 1: the guest gets the device's interrupts (see above). */
	int pd_irq;
	uint8_t pd_intline; /* the interrupt line register's first value */
	/*
	 * With pd_irq: the guest turned the MSI capability on (enable 1,
	 * with its message) or off, or rewrote the message while it is on.
	 * Called under pc_lock, on the vCPU's thread that wrote.  NULL: no
	 * MSI capability shown.
	 */
	void (*pd_msi)(void *cls, int enable, uint64_t addr, uint32_t data);
	/* pcicfg_add's: the device's MSI capability (0: none shown). */
	unsigned pd_msi_off;
	int pd_msi64;
	/* Guarded by pc_lock: the MSI capability as the guest wrote it. */
	int pd_msi_on;
	uint64_t pd_msi_addr;
	uint32_t pd_msi_data;
	/* Guarded by pc_lock: a BAR register the guest wrote all ones to. */
	unsigned pd_sizing; /* bit i: register i answers the size mask */
};

struct pcicfg {
	pthread_mutex_t pc_lock;
	uint32_t pc_addr; /* 0xCF8 */
	unsigned pc_ndevs;
	struct pcicfg_dev pc_devs[PCICFG_MAX_DEVS];
};

/* An empty bus. */
void pcicfg_init(struct pcicfg *pc);
void pcicfg_destroy(struct pcicfg *pc);

/*
 * Adds dev (copied) as the next device: 0 with *slot its device number,
 * or -1 with ENOSPC.  With pd_irq and pd_msi, finds the device's MSI
 * capability through pd_read.  Before any vCPU runs.
 */
int pcicfg_add(struct pcicfg *pc, const struct pcicfg_dev *dev, unsigned *slot);

/*
 * Chooses guest physical addresses for the memory BARs of every device
 * added, each naturally aligned (at least a page), from the larger of
 * PCICFG_MMIO_BASE and ram_end up to PCICFG_MMIO_END, biggest first.
 * 0, or -1 with ENOSPC when they do not fit (nothing placed).
 */
int pcicfg_place(struct pcicfg *pc, uint64_t ram_end);

/*
 * A port access of the guest: 1 when port is one of the configuration
 * ports (*data read or written, size bytes, little-endian), 0 when not.
 */
int pcicfg_io(struct pcicfg *pc, uint16_t port, unsigned size, int in,
	      uint8_t *data);

#endif
