/*
 * The PC's CMOS RAM and real-time clock (a Motorola MC146818 at ports
 * 0x70, the index, and 0x71, the data), for a Linux guest: the time and
 * date, the status registers, and the memory-size bytes a BIOS leaves.
 *
 * The clock is the host's (UTC, as a Linux guest expects of a machine
 * without a time zone told), read at each access of a time register, in
 * BCD or binary and in 24- or 12-hour format as register B says (the
 * power-on value: BCD, 24-hour); the guest setting the time keeps the
 * difference as an offset of its own.  Register A's update-in-progress
 * bit always reads clear, since an access never sees the registers
 * change under it; register D says the RAM is valid.  No interrupts:
 * register C reads 0 and the periodic, alarm and update-ended interrupts
 * register B enables never come (nothing raises IRQ 8).  Bit 7 of port
 * 0x70 is the NMI mask on the PC, not part of the index: it is dropped.
 *
 * Memory sizes, from the VM's RAM (a BIOS's values): 0x15/0x16 base
 * memory in KiB (640), 0x17/0x18 and 0x30/0x31 extended memory above
 * 1 MiB in KiB (at most 65535), 0x34/0x35 memory above 16 MiB in 64 KiB
 * blocks (at most 65535).
 *
 * Locking: cm_lock guards the index and the RAM (every vCPU may use the
 * ports).
 */
#ifndef VMMAPID_VMM_DRIVER_CMOS_H
#define VMMAPID_VMM_DRIVER_CMOS_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#define CMOS_PORT_INDEX 0x70
#define CMOS_PORT_DATA 0x71
#define CMOS_SIZE 128

struct cmos {
	pthread_mutex_t cm_lock;
	uint8_t cm_index;
	uint8_t cm_ram[CMOS_SIZE];
	int64_t cm_offset; /* guest time minus host time, seconds */
	/* The host clock (time(NULL)); tests give their own. */
	time_t (*cm_now)(void *cls);
	void *cm_cls;
};

/*
 * Power-on state for a VM with memory bytes of RAM; now NULL: the host's
 * time.  0, or -1 with errno from pthread_mutex_init.
 */
int cmos_init(struct cmos *c, uint64_t memory, time_t (*now)(void *cls),
	      void *cls);
void cmos_destroy(struct cmos *c);

/* A read (0 from port 0x70 is the index) or write of one byte. */
uint8_t cmos_read(struct cmos *c, uint16_t port);
void cmos_write(struct cmos *c, uint16_t port, uint8_t val);

#endif
