/*
 * The 16550A register model (see uart.h).  Register numbers and bits are
 * the ones of the National Semiconductor PC16550D data sheet.
 */
#include "vmm-driver/uart.h"

#include "base/console.h"

#include <errno.h>
#include <string.h>

/* Register offsets. */
#define UART_RBR 0 /* read, DLAB=0; THR on write; DLL with DLAB=1 */
#define UART_IER 1 /* DLM with DLAB=1 */
#define UART_IIR 2 /* read; FCR on write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01  /* received data available */
#define UART_IER_THRI 0x02 /* transmitter holding register empty */
#define UART_IER_MASK 0x0f

#define UART_IIR_NONE 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO 0xc0 /* both bits: FIFOs enabled (16550A) */

#define UART_FCR_ENABLE 0x01
#define UART_FCR_KEEP 0xc9 /* enable + trigger level; the rest is acts */

#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_CTS 0x10
#define UART_MSR_DSR 0x20
#define UART_MSR_RI 0x40
#define UART_MSR_DCD 0x80

/* Whether a received byte waits (ua_lock held). */
static int
uart_rx_ready(struct uart *u)
{
	if (u->ua_mcr & UART_MCR_LOOP)
		return u->ua_loop_full;
	return console_input_pending(u->ua_console) > 0;
}

/* IIR's identification bits for the highest-priority cause. */
static uint8_t
uart_iid(struct uart *u)
{
	if ((u->ua_ier & UART_IER_RDI) && uart_rx_ready(u))
		return UART_IIR_RDI;
	if ((u->ua_ier & UART_IER_THRI) && u->ua_thr_ipending)
		return UART_IIR_THRI;
	return UART_IIR_NONE;
}

/* Hands a change of the gated line to the callback (ua_lock held). */
static void
uart_update(struct uart *u)
{
	int level = (u->ua_mcr & UART_MCR_OUT2) && uart_iid(u) != UART_IIR_NONE;

	if (level == u->ua_irq_level)
		return;
	u->ua_irq_level = level;
	if (u->ua_irq != NULL)
		u->ua_irq(u->ua_irq_cls, level);
}

static void
uart_reset_locked(struct uart *u)
{
	u->ua_ier = 0;
	u->ua_lcr = 0;
	u->ua_mcr = 0;
	u->ua_scr = 0;
	u->ua_fcr = 0;
	/* 9600 baud from the 1.8432 MHz clock, what firmware leaves. */
	u->ua_dll = 0x0c;
	u->ua_dlm = 0;
	u->ua_thr_ipending = 0;
	u->ua_loop_full = 0;
	u->ua_loop_byte = 0;
	u->ua_last_rx = 0;
}

/*
 * Power-on state; the UART borrows c until uart_destroy.  -1 with errno
 * from pthread_mutex_init.
 */
int
uart_init(struct uart *u, struct console *c)
{
	int err;

	memset(u, 0, sizeof(*u));
	if ((err = pthread_mutex_init(&u->ua_lock, NULL)) != 0) {
		errno = err;
		return -1;
	}
	u->ua_console = c;
	uart_reset_locked(u);
	return 0;
}

/* Frees the lock; the console is not touched. */
void
uart_destroy(struct uart *u)
{
	pthread_mutex_destroy(&u->ua_lock);
}

/* The power-on register values again; queued console input stays. */
void
uart_reset(struct uart *u)
{
	pthread_mutex_lock(&u->ua_lock);
	uart_reset_locked(u);
	uart_update(u);
	pthread_mutex_unlock(&u->ua_lock);
}

/* Takes the received byte (ua_lock held). */
static uint8_t
uart_rx(struct uart *u)
{
	uint8_t b;

	if (u->ua_mcr & UART_MCR_LOOP) {
		if (u->ua_loop_full) {
			u->ua_loop_full = 0;
			u->ua_last_rx = u->ua_loop_byte;
		}
		return u->ua_last_rx;
	}
	/* An empty RBR reads as the last byte, as the hardware does. */
	if (console_take(u->ua_console, &b))
		u->ua_last_rx = b;
	return u->ua_last_rx;
}

/* MSR: in loopback the modem inputs are wired to MCR's outputs. */
static uint8_t
uart_msr(struct uart *u)
{
	uint8_t m = u->ua_mcr;

	if (!(m & UART_MCR_LOOP))
		return UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	return (m & UART_MCR_RTS ? UART_MSR_CTS : 0) |
	       (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
	       (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) |
	       (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
}

/* Reads a register; reading RBR takes the byte, reading IIR acks THRI. */
uint8_t
uart_read(struct uart *u, unsigned off)
{
	uint8_t v = 0xff, iid;

	pthread_mutex_lock(&u->ua_lock);
	switch (off) {
	case UART_RBR:
		v = u->ua_lcr & UART_LCR_DLAB ? u->ua_dll : uart_rx(u);
		break;
	case UART_IER:
		v = u->ua_lcr & UART_LCR_DLAB ? u->ua_dlm : u->ua_ier;
		break;
	case UART_IIR:
		iid = uart_iid(u);
		/* Reading IIR while it names THRE is that interrupt's ack. */
		if (iid == UART_IIR_THRI)
			u->ua_thr_ipending = 0;
		v = iid | (u->ua_fcr & UART_FCR_ENABLE ? UART_IIR_FIFO : 0);
		break;
	case UART_LCR:
		v = u->ua_lcr;
		break;
	case UART_MCR:
		v = u->ua_mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT |
		    (uart_rx_ready(u) ? UART_LSR_DR : 0);
		break;
	case UART_MSR:
		v = uart_msr(u);
		break;
	case UART_SCR:
		v = u->ua_scr;
		break;
	}
	uart_update(u);
	pthread_mutex_unlock(&u->ua_lock);
	return v;
}

/* Writes a register; see uart.h for *tx. */
int
uart_write(struct uart *u, unsigned off, uint8_t val, uint8_t *tx)
{
	int out = 0;

	pthread_mutex_lock(&u->ua_lock);
	switch (off) {
	case UART_RBR:
		if (u->ua_lcr & UART_LCR_DLAB) {
			u->ua_dll = val;
			break;
		}
		/* Writing THR clears its interrupt ... */
		u->ua_thr_ipending = 0;
		uart_update(u);
		if (u->ua_mcr & UART_MCR_LOOP) {
			/* Loopback: the byte comes back in, not out. */
			u->ua_loop_byte = val;
			u->ua_loop_full = 1;
		} else {
			*tx = val;
			out = 1;
		}
		/* ... and, sent at once, THR is empty again. */
		u->ua_thr_ipending = 1;
		break;
	case UART_IER:
		if (u->ua_lcr & UART_LCR_DLAB) {
			u->ua_dlm = val;
			break;
		}
		/* Enabling THRI with THR empty raises the interrupt. */
		if ((val & UART_IER_THRI) && !(u->ua_ier & UART_IER_THRI))
			u->ua_thr_ipending = 1;
		u->ua_ier = val & UART_IER_MASK;
		break;
	case UART_IIR: /* FCR: the reset bits act, nothing to clear. */
		u->ua_fcr = val & UART_FCR_KEEP;
		break;
	case UART_LCR:
		u->ua_lcr = val;
		break;
	case UART_MCR:
		u->ua_mcr = val & UART_MCR_MASK;
		break;
	case UART_SCR:
		u->ua_scr = val;
		break;
	default: /* LSR and MSR: factory test writes, ignored */
		break;
	}
	uart_update(u);
	pthread_mutex_unlock(&u->ua_lock);
	return out;
}

/* OUT2 gates the interrupt line on PC serial ports. */
int
uart_irq_pending(struct uart *u)
{
	int pending;

	pthread_mutex_lock(&u->ua_lock);
	pending = (u->ua_mcr & UART_MCR_OUT2) && uart_iid(u) != UART_IIR_NONE;
	pthread_mutex_unlock(&u->ua_lock);
	return pending;
}

/* The callback starts from a low line; see uart.h. */
void
uart_set_irq(struct uart *u, void (*fn)(void *cls, int level), void *cls)
{
	pthread_mutex_lock(&u->ua_lock);
	u->ua_irq = fn;
	u->ua_irq_cls = cls;
	u->ua_irq_level = 0;
	uart_update(u);
	pthread_mutex_unlock(&u->ua_lock);
}

/* New console input: RDI, if enabled, raises the line. */
void
uart_input(struct uart *u)
{
	pthread_mutex_lock(&u->ua_lock);
	uart_update(u);
	pthread_mutex_unlock(&u->ua_lock);
}
