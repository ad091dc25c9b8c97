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
 * Its interrupt (IRQ 4 on a PC) follows the 16550's rules: IIR names the
 * highest-priority cause the IER enables -- received data, then
 * transmitter holding register empty (THRE) -- and the INTR output is
 * asserted while there is one.  The THRE interrupt is raised when THRI
 * is enabled with THR empty and when a byte written to THR leaves it
 * (at once here), and cleared by reading IIR while IIR names it or by
 * writing THR; so a write drops the line and raises it again, the edge
 * an edge-triggered PIC needs for the next interrupt.  As on the PC,
 * the line reaches the interrupt controller only while MCR's OUT2 is
 * set.  Each change of that gated level is handed to the callback of
 * uart_set_irq (a VM with an interrupt controller: KVM_IRQ_LINE);
 * received data that arrives while nobody reads the UART (console
 * input from the API) is announced with uart_input.
 *
 * Locking: ua_lock guards every register and the interrupt line, and is
 * held while the line's callback runs; the console has its own lock,
 * taken inside ua_lock.
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
	/* The line: its callback and the level last handed to it. */
	void (*ua_irq)(void *cls, int level);
	void *ua_irq_cls;
	int ua_irq_level;
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

/*
 * From now on, fn(cls, level) is called with ua_lock held each time the
 * line's level changes, and at once with the current level when it is
 * high (fn starts from low).  fn NULL: no more calls; none is under way
 * once this returns.  fn must not call the UART.
 */
void uart_set_irq(struct uart *u, void (*fn)(void *cls, int level), void *cls);

/* Console input arrived (any thread): the line rises when IER says so. */
void uart_input(struct uart *u);

#endif
