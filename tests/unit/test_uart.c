/*
 * The 16550A's registers and interrupt line on their own
 * (vmm-driver/uart.c), without a VM: what a Linux 8250 driver does, and
 * the level changes the line's callback sees, checked against the
 * PC16550D data sheet's interrupt rules (IIR priorities, the THRE
 * interrupt's set and clear conditions, OUT2 gating the line).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/console.h"
#include "vmm-driver/uart.h"

#define THR 0
#define RBR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5

#define IER_RDI 0x01
#define IER_THRI 0x02
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04

/* The levels the line's callback was handed, in order. */
struct line {
	int ln_levels[64];
	unsigned ln_n;
};

static void
line_set(void *cls, int level)
{
	struct line *ln = cls;

	assert_true(ln->ln_n < 64);
	ln->ln_levels[ln->ln_n++] = level;
}

struct fix {
	struct console *f_console;
	struct uart f_uart;
	struct line f_line;
};

static int
setup(void **state)
{
	static struct fix f;

	memset(&f, 0, sizeof(f));
	f.f_console = console_new(4096, 256);
	assert_non_null(f.f_console);
	assert_int_equal(uart_init(&f.f_uart, f.f_console), 0);
	uart_set_irq(&f.f_uart, line_set, &f.f_line);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	uart_set_irq(&f->f_uart, NULL, NULL);
	uart_destroy(&f->f_uart);
	console_free(f->f_console);
	return 0;
}

static void
wr(struct fix *f, unsigned off, uint8_t v)
{
	uint8_t tx;

	(void)uart_write(&f->f_uart, off, v, &tx);
}

static uint8_t
rd(struct fix *f, unsigned off)
{
	return uart_read(&f->f_uart, off);
}

/* The last level handed over, 0 when none was. */
static int
level(struct fix *f)
{
	return f->f_line.ln_n ? f->f_line.ln_levels[f->f_line.ln_n - 1] : 0;
}

static void
test_uart__enabling_thri_with_out2_raises_the_line_and_reading_iir_acks_it(
    void **state)
{
	struct fix *f = *state;

	wr(f, MCR, MCR_OUT2);
	assert_int_equal(f->f_line.ln_n, 0);
	wr(f, IER, IER_THRI);
	assert_int_equal(level(f), 1);
	assert_int_equal(uart_irq_pending(&f->f_uart), 1);
	/* FIFOs off: IIR's top bits are clear. */
	assert_int_equal(rd(f, IIR), IIR_THRI);
	assert_int_equal(level(f), 0);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* FIFOs on: both top bits. */
	wr(f, FCR, 0x01);
	assert_int_equal(rd(f, IIR), 0xc0 | IIR_NONE);
	assert_int_equal(f->f_line.ln_n, 2);
}

static void
test_uart__out2_gates_the_line_but_not_iir(void **state)
{
	struct fix *f = *state;

	wr(f, IER, IER_THRI);
	assert_int_equal(f->f_line.ln_n, 0);
	assert_int_equal(uart_irq_pending(&f->f_uart), 0);
	wr(f, MCR, MCR_OUT2);
	assert_int_equal(level(f), 1);
	wr(f, MCR, 0);
	assert_int_equal(level(f), 0);
	/* The cause is still there; IIR names it and reading acks it. */
	assert_int_equal(rd(f, IIR), IIR_THRI);
	wr(f, MCR, MCR_OUT2);
	assert_int_equal(f->f_line.ln_n, 2);
}

static void
test_uart__writing_thr_drops_the_line_and_raises_it_again(void **state)
{
	struct fix *f = *state;
	uint8_t tx = 0;

	wr(f, MCR, MCR_OUT2);
	wr(f, IER, IER_THRI);
	assert_int_equal(f->f_line.ln_n, 1);
	/* Still pending, not acked: the write makes an edge. */
	assert_int_equal(uart_write(&f->f_uart, THR, 'x', &tx), 1);
	assert_int_equal(tx, 'x');
	assert_int_equal(f->f_line.ln_n, 3);
	assert_int_equal(f->f_line.ln_levels[1], 0);
	assert_int_equal(f->f_line.ln_levels[2], 1);
	/* Acked first, as the driver's handler does: one rise per byte. */
	assert_int_equal(rd(f, IIR), IIR_THRI);
	assert_int_equal(level(f), 0);
	wr(f, THR, 'y');
	assert_int_equal(f->f_line.ln_n, 5);
	assert_int_equal(level(f), 1);
	/* The driver stops transmitting: the line falls. */
	wr(f, IER, 0);
	assert_int_equal(level(f), 0);
	assert_int_equal(rd(f, IIR), IIR_NONE);
}

static void
test_uart__thre_is_raised_again_each_time_thri_is_enabled(void **state)
{
	struct fix *f = *state;

	/* Linux's UART_BUG_THRE probe: a real 16550 reasserts THRE. */
	wr(f, MCR, MCR_OUT2);
	wr(f, IER, IER_THRI);
	assert_int_equal(rd(f, IIR), IIR_THRI);
	wr(f, IER, 0);
	wr(f, IER, IER_THRI);
	assert_int_equal(rd(f, IIR), IIR_THRI);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* Re-enabling what is enabled is no new cause. */
	wr(f, IER, IER_THRI);
	assert_int_equal(rd(f, IIR), IIR_NONE);
}

static void
test_uart__console_input_raises_the_line_when_rdi_is_enabled(void **state)
{
	struct fix *f = *state;

	wr(f, MCR, MCR_OUT2);
	/* Not enabled: input is seen in LSR only. */
	assert_int_equal(console_input(f->f_console, "a", 1), 1);
	uart_input(&f->f_uart);
	assert_int_equal(f->f_line.ln_n, 0);
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* Enabling it with data waiting raises the line at once. */
	wr(f, IER, IER_RDI);
	assert_int_equal(level(f), 1);
	assert_int_equal(rd(f, IIR), IIR_RDI);
	/* Reading IIR does not ack received data; reading RBR does. */
	assert_int_equal(level(f), 1);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(level(f), 0);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	/* Input from another thread while the guest does nothing. */
	assert_int_equal(console_input(f->f_console, "bc", 2), 2);
	uart_input(&f->f_uart);
	assert_int_equal(level(f), 1);
	assert_int_equal(rd(f, RBR), 'b');
	assert_int_equal(level(f), 1);
	assert_int_equal(rd(f, RBR), 'c');
	assert_int_equal(level(f), 0);
}

static void
test_uart__received_data_outranks_thre(void **state)
{
	struct fix *f = *state;

	wr(f, MCR, MCR_OUT2);
	wr(f, IER, IER_RDI | IER_THRI);
	assert_int_equal(level(f), 1);
	assert_int_equal(console_input(f->f_console, "z", 1), 1);
	uart_input(&f->f_uart);
	/* Both causes: IIR names received data and does not ack THRE. */
	assert_int_equal(rd(f, IIR), IIR_RDI);
	assert_int_equal(rd(f, RBR), 'z');
	assert_int_equal(level(f), 1);
	assert_int_equal(rd(f, IIR), IIR_THRI);
	assert_int_equal(level(f), 0);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	/* A THR write while data waits: no edge, received data holds the
	 * line up. */
	assert_int_equal(console_input(f->f_console, "w", 1), 1);
	uart_input(&f->f_uart);
	assert_int_equal(level(f), 1);
	f->f_line.ln_n = 0;
	wr(f, THR, 'q');
	assert_int_equal(f->f_line.ln_n, 0);
}

static void
test_uart__loopback_data_raises_rdi(void **state)
{
	struct fix *f = *state;

	wr(f, MCR, MCR_OUT2 | MCR_LOOP);
	wr(f, IER, IER_RDI);
	assert_int_equal(f->f_line.ln_n, 0);
	wr(f, THR, 0x5a);
	assert_int_equal(level(f), 1);
	assert_int_equal(rd(f, IIR), IIR_RDI);
	assert_int_equal(rd(f, RBR), 0x5a);
	assert_int_equal(level(f), 0);
}

static void
test_uart__reset_and_a_new_callback_start_from_a_low_line(void **state)
{
	struct fix *f = *state;
	struct line other;

	wr(f, MCR, MCR_OUT2);
	wr(f, IER, IER_THRI);
	assert_int_equal(level(f), 1);
	/* A new callback hears the level that is. */
	memset(&other, 0, sizeof(other));
	uart_set_irq(&f->f_uart, line_set, &other);
	assert_int_equal(other.ln_n, 1);
	assert_int_equal(other.ln_levels[0], 1);
	uart_reset(&f->f_uart);
	assert_int_equal(other.ln_n, 2);
	assert_int_equal(other.ln_levels[1], 0);
	assert_int_equal(rd(f, IIR), IIR_NONE);
	assert_int_equal(rd(f, MCR), 0);
	/* No callback: nothing is called, the state goes on. */
	uart_set_irq(&f->f_uart, NULL, NULL);
	wr(f, MCR, MCR_OUT2);
	wr(f, IER, IER_THRI);
	assert_int_equal(other.ln_n, 2);
	assert_int_equal(uart_irq_pending(&f->f_uart), 1);
}

static void
test_uart__divisor_latch_hides_ier_and_thr(void **state)
{
	struct fix *f = *state;
	uint8_t tx;

	wr(f, MCR, MCR_OUT2);
	wr(f, LCR, 0x80);
	/* DLL and DLM, not THR and IER: nothing sent, no interrupt. */
	assert_int_equal(uart_write(&f->f_uart, THR, 0x01, &tx), 0);
	wr(f, IER, IER_THRI);
	assert_int_equal(f->f_line.ln_n, 0);
	assert_int_equal(rd(f, RBR), 0x01);
	assert_int_equal(rd(f, IER), IER_THRI);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), 0);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_uart__enabling_thri_with_out2_raises_the_line_and_reading_iir_acks_it),
	    T(test_uart__out2_gates_the_line_but_not_iir),
	    T(test_uart__writing_thr_drops_the_line_and_raises_it_again),
	    T(test_uart__thre_is_raised_again_each_time_thri_is_enabled),
	    T(test_uart__console_input_raises_the_line_when_rdi_is_enabled),
	    T(test_uart__received_data_outranks_thre),
	    T(test_uart__loopback_data_raises_rdi),
	    T(test_uart__reset_and_a_new_callback_start_from_a_low_line),
	    T(test_uart__divisor_latch_hides_ier_and_thr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
