/*
 * The PC's keyboard controller (an Intel 8042 at ports 0x60, data, and
 * 0x64, status and commands) with nothing plugged into it, for a Linux
 * guest: enough that Linux's i8042 driver finds a controller and hears
 * at once that no keyboard and no mouse answer, and that its reboot
 * through the controller (0x64 <- 0xfe) works.
 *
 * The controller commands Linux uses are answered as a PS/2 controller
 * does: read and write the command byte (0x20, 0x60), self tests (0xaa
 * answers 0x55, 0xab and 0xa9 answer 0), enable and disable the ports
 * (0xa7, 0xa8, 0xad, 0xae), read and write the output port (0xd0, 0xd1),
 * write the keyboard's or the mouse's output buffer (0xd2, 0xd3: the
 * loopback Linux tests the AUX port with).  A byte for a device (a data
 * write with no command waiting, or after 0xd4) finds none: the
 * controller answers 0xfe with the time-out bit, as for an unplugged
 * device.  A reset is asked for by 0xfe (pulse the reset line), any
 * 0xf0-0xff pulse with bit 0 clear, or 0xd1 with the output port's
 * bit 0 clear.
 *
 * Status: output buffer full while a byte waits (and then whether it is
 * the mouse's), never input buffer full (a write is taken at once), the
 * system flag from the command byte, command/data from the last write,
 * keyboard not inhibited.  The output buffer raises IRQ 1 (keyboard
 * byte) or IRQ 12 (mouse byte) while full, when the command byte
 * enables that interrupt; level changes go to the callback of
 * i8042_set_irq.  Port 0x61 (speaker, PIT gate) is not here: KVM's PIT
 * answers it.
 *
 * Locking: ik_lock guards everything, and is held while the callback
 * runs.
 */
#ifndef VMMAPID_VMM_DRIVER_I8042_H
#define VMMAPID_VMM_DRIVER_I8042_H

#include <pthread.h>
#include <stdint.h>

#define I8042_PORT_DATA 0x60
#define I8042_PORT_CMD 0x64
#define I8042_IRQ_KBD 1
#define I8042_IRQ_AUX 12
#define I8042_QUEUE 16

struct i8042 {
	pthread_mutex_t ik_lock;
	uint8_t ik_ctr;      /* the command byte */
	uint8_t ik_outport;  /* bit 0: not in reset; bit 1: A20 */
	uint8_t ik_cmd;      /* a command waiting for its data byte; 0 */
	uint8_t ik_last_cmd; /* the last write was to 0x64 */
	/* The output buffer and what waits behind it. */
	uint8_t ik_q[I8042_QUEUE];
	uint8_t ik_q_flags[I8042_QUEUE]; /* the status bits with it */
	unsigned ik_q_head, ik_q_len;
	uint8_t ik_last_out; /* data port read with nothing waiting */
	void (*ik_irq)(void *cls, unsigned irq, int level);
	void *ik_irq_cls;
	int ik_level[2]; /* IRQ 1, IRQ 12 as last handed over */
};

/* Power-on state.  0, or -1 with errno. */
int i8042_init(struct i8042 *k);
void i8042_destroy(struct i8042 *k);

/* Back to the power-on state (a VM reset); the lines fall. */
void i8042_reset(struct i8042 *k);

/* A read of port 0x60 or 0x64. */
uint8_t i8042_read(struct i8042 *k, uint16_t port);

/* A write to port 0x60 or 0x64: 1 when it asks for a system reset. */
int i8042_write(struct i8042 *k, uint16_t port, uint8_t val);

/*
 * fn(cls, irq, level) for each change of IRQ 1's or 12's level from now
 * on, with ik_lock held, starting from low (called at once for a line
 * that is high).  fn NULL: no more calls, none under way after this.
 */
void i8042_set_irq(struct i8042 *k,
		   void (*fn)(void *cls, unsigned irq, int level), void *cls);

#endif
