/*
 * A 16550A UART (COM1) in front of a VM's console: what the guest
 * transmits goes to the console, what the console's input queue holds is
 * what the guest receives.  The registers a Linux 8250 driver probes
 * answer as a real 16550A does (scratch register, FIFO bits in IIR,
 * loopback mode echoing MCR into MSR), and transmission is instant:
 * LSR always says THRE | TEMT.
 *
 * The UART only keeps registers; it never calls the console's output
 * side.  uart_write hands a transmitted byte back, and the caller puts it
 * into the console without any UART lock held (console watchers run on
 * that thread).
 *
 * Locking: ua_lock guards every register; the console has its own lock.
 */
#ifndef VMMAPID_VMM_DRIVER_UART_H
#define VMMAPID_VMM_DRIVER_UART_H

#include <pthread.h>
#include <stdint.h>

#define UART_COM1_BASE 0x3f8
#define UART_NPORTS 8

struct console;

struct uart {
	pthread_mutex_t ua_lock;
	struct console *ua_console; /* borrowed: receive side only */
	uint8_t ua_ier, ua_lcr, ua_mcr, ua_scr, ua_fcr;
	uint8_t ua_dll, ua_dlm;
	uint8_t ua_thr_ipending; /* THR-empty interrupt not yet taken */
	uint8_t ua_loop_full;    /* loopback: a byte waits in RBR */
	uint8_t ua_loop_byte;
	uint8_t ua_last_rx; /* RBR when nothing new arrived */
};

/* Sets the power-on register values; c is read for input. 0 or -1. */
int uart_init(struct uart *u, struct console *c);
void uart_destroy(struct uart *u);

/* Back to the power-on register values (a VM reset). */
void uart_reset(struct uart *u);

/* A read of register off (0..7, base-relative). */
uint8_t uart_read(struct uart *u, unsigned off);

/*
 * A write of val to register off.  Returns 1 with *tx set when the write
 * transmits a byte for the console, else 0.
 */
int uart_write(struct uart *u, unsigned off, uint8_t val, uint8_t *tx);

/* Whether the UART asserts its interrupt line (IRQ 4) now. */
int uart_irq_pending(struct uart *u);

#endif
