/*
 * The keyboard controller with nothing plugged in (vmm-driver/i8042.c),
 * without a VM: the sequences Linux's i8042 driver and its reboot path
 * send, the status bits they wait on, the interrupt lines, and which
 * writes ask for a reset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "vmm-driver/i8042.h"

#define DATA I8042_PORT_DATA
#define CMD I8042_PORT_CMD

struct lines {
	int ln_level[13];
	unsigned ln_changes;
};

static void
lines_set(void *cls, unsigned irq, int level)
{
	struct lines *l = cls;

	assert_true(irq == 1 || irq == 12);
	l->ln_level[irq] = level;
	l->ln_changes++;
}

struct fix {
	struct i8042 f_k;
	struct lines f_l;
};

static int
setup(void **state)
{
	static struct fix f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(i8042_init(&f.f_k), 0);
	i8042_set_irq(&f.f_k, lines_set, &f.f_l);
	*state = &f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	i8042_set_irq(&f->f_k, NULL, NULL);
	i8042_destroy(&f->f_k);
	return 0;
}

/* Linux's i8042_command: write the command, poll OBF, read the data. */
static int
command(struct fix *f, uint8_t cmd, int arg, uint8_t *reply)
{
	assert_int_equal(i8042_read(&f->f_k, CMD) & 0x02, 0); /* IBF */
	if (i8042_write(&f->f_k, CMD, cmd))
		return -1;
	if (arg >= 0 && i8042_write(&f->f_k, DATA, (uint8_t)arg))
		return -1;
	if (reply == NULL)
		return 0;
	if (!(i8042_read(&f->f_k, CMD) & 0x01))
		return 1; /* would time out */
	*reply = i8042_read(&f->f_k, DATA);
	return 0;
}

static void
test_i8042__status_at_power_on_has_nothing_waiting(void **state)
{
	struct fix *f = *state;
	uint8_t s = i8042_read(&f->f_k, CMD);

	/* Not 0xff (no controller): OBF and IBF clear, system flag set. */
	assert_int_equal(s & 0x03, 0);
	assert_int_equal(s & 0x04, 0x04);
	assert_int_equal(f->f_l.ln_changes, 0);
}

static void
test_i8042__linux_probe_sequence_is_answered(void **state)
{
	struct fix *f = *state;
	uint8_t ctr, r;

	assert_int_equal(command(f, 0x20, -1, &ctr), 0);
	assert_int_equal(ctr, 0x45);
	assert_int_equal(command(f, 0xaa, -1, &r), 0);
	assert_int_equal(r, 0x55);
	assert_int_equal(command(f, 0xab, -1, &r), 0);
	assert_int_equal(r, 0x00);
	/* Write the command byte, read it back. */
	assert_int_equal(command(f, 0x60, 0x74, NULL), 0);
	assert_int_equal(command(f, 0x20, -1, &ctr), 0);
	assert_int_equal(ctr, 0x74);
	/* The AUX loopback comes back as mouse data. */
	assert_int_equal(command(f, 0xd3, 0x5a, NULL), 0);
	assert_int_equal(i8042_read(&f->f_k, CMD) & 0x21, 0x21);
	assert_int_equal(i8042_read(&f->f_k, DATA), 0x5a);
	/* AUX disable and enable show in the command byte. */
	assert_int_equal(command(f, 0xa7, -1, NULL), 0);
	assert_int_equal(command(f, 0x20, -1, &ctr), 0);
	assert_int_equal(ctr & 0x20, 0x20);
	assert_int_equal(command(f, 0xa8, -1, NULL), 0);
	assert_int_equal(command(f, 0x20, -1, &ctr), 0);
	assert_int_equal(ctr & 0x20, 0);
	assert_int_equal(i8042_read(&f->f_k, CMD) & 0x01, 0);
}

static void
test_i8042__devices_are_absent_and_say_so_at_once(void **state)
{
	struct fix *f = *state;
	uint8_t s;

	/* A keyboard command (atkbd's GETID): time-out and 0xfe. */
	assert_int_equal(i8042_write(&f->f_k, DATA, 0xf2), 0);
	s = i8042_read(&f->f_k, CMD);
	assert_int_equal(s & 0x61, 0x41);
	assert_int_equal(i8042_read(&f->f_k, DATA), 0xfe);
	/* A mouse command through 0xd4: the same, as mouse data. */
	assert_int_equal(command(f, 0xd4, 0xf2, NULL), 0);
	s = i8042_read(&f->f_k, CMD);
	assert_int_equal(s & 0x61, 0x61);
	assert_int_equal(i8042_read(&f->f_k, DATA), 0xfe);
	assert_int_equal(i8042_read(&f->f_k, CMD) & 0x01, 0);
}

static void
test_i8042__the_output_buffer_raises_irq_1_or_12_as_enabled(void **state)
{
	struct fix *f = *state;
	uint8_t r;

	/* Power-on: keyboard interrupt on, mouse off. */
	assert_int_equal(i8042_write(&f->f_k, CMD, 0x20), 0);
	assert_int_equal(f->f_l.ln_level[1], 1);
	assert_int_equal(i8042_read(&f->f_k, DATA), 0x45);
	assert_int_equal(f->f_l.ln_level[1], 0);
	assert_int_equal(command(f, 0x60, 0x47, NULL), 0); /* both on */
	assert_int_equal(command(f, 0xd3, 0xa5, NULL), 0);
	assert_int_equal(f->f_l.ln_level[12], 1);
	assert_int_equal(f->f_l.ln_level[1], 0);
	assert_int_equal(i8042_read(&f->f_k, DATA), 0xa5);
	assert_int_equal(f->f_l.ln_level[12], 0);
	/* Interrupts off (Linux's polling phase): no line moves. */
	assert_int_equal(command(f, 0x60, 0x44, NULL), 0);
	f->f_l.ln_changes = 0;
	assert_int_equal(command(f, 0xaa, -1, &r), 0);
	assert_int_equal(f->f_l.ln_changes, 0);
}

static void
test_i8042__reset_requests(void **state)
{
	struct fix *f = *state;

	/* Linux's reboot=k: 0xfe at 0x64. */
	assert_int_equal(i8042_write(&f->f_k, CMD, 0xfe), 1);
	/* Other pulses of the reset line; 0xff pulses none. */
	assert_int_equal(i8042_write(&f->f_k, CMD, 0xf0), 1);
	assert_int_equal(i8042_write(&f->f_k, CMD, 0xff), 0);
	/* The output port with bit 0 low holds the CPU in reset. */
	assert_int_equal(i8042_write(&f->f_k, CMD, 0xd1), 0);
	assert_int_equal(i8042_write(&f->f_k, DATA, 0xdf), 0);
	assert_int_equal(i8042_write(&f->f_k, CMD, 0xd1), 0);
	assert_int_equal(i8042_write(&f->f_k, DATA, 0xde), 1);
	/* 0xfe as data (a keyboard command) is no reset. */
	assert_int_equal(i8042_write(&f->f_k, DATA, 0xfe), 0);
}

static void
test_i8042__reset_empties_the_buffer_and_drops_the_lines(void **state)
{
	struct fix *f = *state;

	assert_int_equal(i8042_write(&f->f_k, CMD, 0xaa), 0);
	assert_int_equal(f->f_l.ln_level[1], 1);
	i8042_reset(&f->f_k);
	assert_int_equal(f->f_l.ln_level[1], 0);
	assert_int_equal(i8042_read(&f->f_k, CMD) & 0x01, 0);
}

#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_i8042__status_at_power_on_has_nothing_waiting),
	    T(test_i8042__linux_probe_sequence_is_answered),
	    T(test_i8042__devices_are_absent_and_say_so_at_once),
	    T(test_i8042__the_output_buffer_raises_irq_1_or_12_as_enabled),
	    T(test_i8042__reset_requests),
	    T(test_i8042__reset_empties_the_buffer_and_drops_the_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
