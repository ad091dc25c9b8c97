/*
 * The keyboard controller with no devices (see i8042.h).  Commands and
 * bits as Linux's drivers/input/serio/i8042.h names them.
 */
#include "vmm-driver/i8042.h"

#include <errno.h>
#include <string.h>

#define STR_OBF 0x01
#define STR_SYS 0x04
#define STR_CMDDAT 0x08
#define STR_UNLOCKED 0x10
#define STR_AUXDATA 0x20
#define STR_TIMEOUT 0x40

#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYS 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40
/* What a BIOS leaves: keyboard interrupt on, POST passed, translation. */
#define CTR_POWERON (CTR_KBDINT | CTR_SYS | CTR_XLATE)

#define CMD_CTL_RCTR 0x20
#define CMD_CTL_WCTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_CTL_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTPORT 0xd0
#define CMD_WRITE_OUTPORT 0xd1
#define CMD_KBD_LOOP 0xd2
#define CMD_AUX_LOOP 0xd3
#define CMD_AUX_SEND 0xd4
#define CMD_PULSE 0xf0 /* 0xf0-0xff: bits 3-0 low pulse those lines */

#define OUTPORT_RESET 0x01 /* low: the CPU is held in reset */
#define OUTPORT_A20 0x02

/* What a device that is not there answers, with STR_TIMEOUT. */
#define REPLY_NO_DEVICE 0xfe

/* IRQ 1 and 12 as the output buffer and the command byte say. */
static void
i8042_update(struct i8042 *k)
{
	static const unsigned irqs[2] = {I8042_IRQ_KBD, I8042_IRQ_AUX};
	int want[2] = {0, 0}, i;

	if (k->ik_q_len > 0) {
		if (k->ik_q_flags[k->ik_q_head] & STR_AUXDATA)
			want[1] = (k->ik_ctr & CTR_AUXINT) != 0;
		else
			want[0] = (k->ik_ctr & CTR_KBDINT) != 0;
	}
	for (i = 0; i < 2; i++) {
		if (want[i] == k->ik_level[i])
			continue;
		k->ik_level[i] = want[i];
		if (k->ik_irq != NULL)
			k->ik_irq(k->ik_irq_cls, irqs[i], want[i]);
	}
}

/* Queues a byte for the output buffer; a full queue drops it. */
static void
i8042_put(struct i8042 *k, uint8_t v, uint8_t flags)
{
	unsigned i;

	if (k->ik_q_len == I8042_QUEUE)
		return;
	i = (k->ik_q_head + k->ik_q_len++) % I8042_QUEUE;
	k->ik_q[i] = v;
	k->ik_q_flags[i] = flags;
}

static void
i8042_reset_locked(struct i8042 *k)
{
	k->ik_ctr = CTR_POWERON;
	k->ik_outport = OUTPORT_RESET | OUTPORT_A20;
	k->ik_cmd = 0;
	k->ik_last_cmd = 0;
	k->ik_q_head = k->ik_q_len = 0;
	k->ik_last_out = 0;
}

int
i8042_init(struct i8042 *k)
{
	int err;

	memset(k, 0, sizeof(*k));
	if ((err = pthread_mutex_init(&k->ik_lock, NULL)) != 0) {
		errno = err;
		return -1;
	}
	i8042_reset_locked(k);
	return 0;
}

void
i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->ik_lock);
}

void
i8042_reset(struct i8042 *k)
{
	pthread_mutex_lock(&k->ik_lock);
	i8042_reset_locked(k);
	i8042_update(k);
	pthread_mutex_unlock(&k->ik_lock);
}

/* The status register.  ik_lock held. */
static uint8_t
i8042_status(const struct i8042 *k)
{
	uint8_t s = STR_UNLOCKED;

	if (k->ik_ctr & CTR_SYS)
		s |= STR_SYS;
	if (k->ik_last_cmd)
		s |= STR_CMDDAT;
	if (k->ik_q_len > 0)
		s |= STR_OBF | k->ik_q_flags[k->ik_q_head];
	return s;
}

/* The output buffer's byte; it then holds the next one, if any. */
uint8_t
i8042_read(struct i8042 *k, uint16_t port)
{
	uint8_t v;

	pthread_mutex_lock(&k->ik_lock);
	if (port == I8042_PORT_CMD) {
		v = i8042_status(k);
	} else {
		if (k->ik_q_len > 0) {
			k->ik_last_out = k->ik_q[k->ik_q_head];
			k->ik_q_head = (k->ik_q_head + 1) % I8042_QUEUE;
			k->ik_q_len--;
		}
		v = k->ik_last_out;
	}
	i8042_update(k);
	pthread_mutex_unlock(&k->ik_lock);
	return v;
}

/* A controller command.  1: reset.  ik_lock held. */
static int
i8042_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_CTL_RCTR:
		i8042_put(k, k->ik_ctr, 0);
		return 0;
	case CMD_CTL_WCTR:
	case CMD_WRITE_OUTPORT:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		k->ik_cmd = cmd; /* the data byte follows at 0x60 */
		return 0;
	case CMD_AUX_DISABLE:
		k->ik_ctr |= CTR_AUXDIS;
		return 0;
	case CMD_AUX_ENABLE:
		k->ik_ctr &= ~CTR_AUXDIS;
		return 0;
	case CMD_KBD_DISABLE:
		k->ik_ctr |= CTR_KBDDIS;
		return 0;
	case CMD_KBD_ENABLE:
		k->ik_ctr &= ~CTR_KBDDIS;
		return 0;
	case CMD_CTL_TEST:
		i8042_put(k, 0x55, 0);
		return 0;
	case CMD_KBD_TEST:
	case CMD_AUX_TEST:
		i8042_put(k, 0x00, 0); /* the interface lines are fine */
		return 0;
	case CMD_READ_OUTPORT:
		i8042_put(k, k->ik_outport, 0);
		return 0;
	}
	/* Pulses: a low bit 0 pulses the CPU's reset line. */
	if ((cmd & 0xf0) == CMD_PULSE)
		return !(cmd & OUTPORT_RESET);
	return 0; /* unknown commands do nothing */
}

/* The data byte of command cmd, or for the keyboard.  1: reset. */
static int
i8042_data(struct i8042 *k, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case CMD_CTL_WCTR:
		k->ik_ctr = v;
		return 0;
	case CMD_WRITE_OUTPORT:
		k->ik_outport = v;
		return !(v & OUTPORT_RESET);
	case CMD_KBD_LOOP:
		i8042_put(k, v, 0);
		return 0;
	case CMD_AUX_LOOP:
		i8042_put(k, v, STR_AUXDATA);
		return 0;
	case CMD_AUX_SEND:
		i8042_put(k, REPLY_NO_DEVICE, STR_AUXDATA | STR_TIMEOUT);
		return 0;
	default: /* a byte for the keyboard, which is not there */
		i8042_put(k, REPLY_NO_DEVICE, STR_TIMEOUT);
		return 0;
	}
}

int
i8042_write(struct i8042 *k, uint16_t port, uint8_t val)
{
	uint8_t cmd;
	int reset;

	pthread_mutex_lock(&k->ik_lock);
	if (port == I8042_PORT_CMD) {
		k->ik_last_cmd = 1;
		k->ik_cmd = 0;
		reset = i8042_command(k, val);
	} else {
		k->ik_last_cmd = 0;
		cmd = k->ik_cmd;
		k->ik_cmd = 0;
		reset = i8042_data(k, cmd, val);
	}
	i8042_update(k);
	pthread_mutex_unlock(&k->ik_lock);
	return reset;
}

void
i8042_set_irq(struct i8042 *k, void (*fn)(void *cls, unsigned irq, int level),
	      void *cls)
{
	pthread_mutex_lock(&k->ik_lock);
	k->ik_irq = fn;
	k->ik_irq_cls = cls;
	k->ik_level[0] = k->ik_level[1] = 0;
	i8042_update(k);
	pthread_mutex_unlock(&k->ik_lock);
}
