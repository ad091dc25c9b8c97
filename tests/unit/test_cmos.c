/*
 * The CMOS RAM and RTC on their own (vmm-driver/cmos.c), with a clock the
 * test sets: the time in BCD and in binary, 24- and 12-hour format, the
 * status registers a Linux guest checks (UIP clear, valid RAM), the NMI
 * bit of the index port, the guest setting the time, and the
 * memory-size bytes, checked against the MC146818 data sheet and the AT
 * CMOS map.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "vmm-driver/cmos.h"

/* 2026-12-05 21:34:56 UTC, a Saturday. */
#define T_NOW 1796506496

static time_t t_clock = T_NOW;

static time_t
t_now(void *cls)
{
	(void)cls;
	return t_clock;
}

static uint8_t
reg(struct cmos *c, uint8_t r)
{
	cmos_write(c, CMOS_PORT_INDEX, r);
	return cmos_read(c, CMOS_PORT_DATA);
}

static void
set(struct cmos *c, uint8_t r, uint8_t v)
{
	cmos_write(c, CMOS_PORT_INDEX, r);
	cmos_write(c, CMOS_PORT_DATA, v);
}

static void
test_cmos__time_reads_in_bcd_24_hour_at_power_on(void **state)
{
	struct cmos c;

	(void)state;
	t_clock = T_NOW;
	assert_int_equal(cmos_init(&c, 64 << 20, t_now, NULL), 0);
	assert_int_equal(reg(&c, 0x0b), 0x02); /* BCD, 24-hour */
	assert_int_equal(reg(&c, 0x00), 0x56);
	assert_int_equal(reg(&c, 0x02), 0x34);
	assert_int_equal(reg(&c, 0x04), 0x21);
	assert_int_equal(reg(&c, 0x06), 0x07); /* Saturday; Sunday is 1 */
	assert_int_equal(reg(&c, 0x07), 0x05);
	assert_int_equal(reg(&c, 0x08), 0x12);
	assert_int_equal(reg(&c, 0x09), 0x26);
	assert_int_equal(reg(&c, 0x32), 0x20);
	/* The clock runs: a second later, the register says so. */
	t_clock++;
	assert_int_equal(reg(&c, 0x00), 0x57);
	cmos_destroy(&c);
}

static void
test_cmos__binary_and_12_hour_follow_register_b(void **state)
{
	struct cmos c;

	(void)state;
	t_clock = T_NOW;
	assert_int_equal(cmos_init(&c, 64 << 20, t_now, NULL), 0);
	set(&c, 0x0b, 0x06); /* binary, 24-hour */
	assert_int_equal(reg(&c, 0x00), 56);
	assert_int_equal(reg(&c, 0x04), 21);
	assert_int_equal(reg(&c, 0x09), 26);
	assert_int_equal(reg(&c, 0x32), 20);
	set(&c, 0x0b, 0x04); /* binary, 12-hour: 9 PM */
	assert_int_equal(reg(&c, 0x04), 0x80 | 9);
	set(&c, 0x0b, 0x00); /* BCD, 12-hour */
	assert_int_equal(reg(&c, 0x04), 0x89);
	/* Midnight is 12 AM, noon 12 PM. */
	t_clock = T_NOW - 21 * 3600;
	assert_int_equal(reg(&c, 0x04), 0x12);
	t_clock = T_NOW - 9 * 3600;
	assert_int_equal(reg(&c, 0x04), 0x92);
	cmos_destroy(&c);
}

static void
test_cmos__status_registers_say_no_update_and_valid_ram(void **state)
{
	struct cmos c;

	(void)state;
	assert_int_equal(cmos_init(&c, 64 << 20, t_now, NULL), 0);
	assert_int_equal(reg(&c, 0x0a), 0x26);
	/* UIP cannot be set, the rest of A can. */
	set(&c, 0x0a, 0xa6);
	assert_int_equal(reg(&c, 0x0a), 0x26);
	assert_int_equal(reg(&c, 0x0c), 0x00);
	assert_int_equal(reg(&c, 0x0d), 0x80);
	set(&c, 0x0d, 0x00); /* read-only */
	assert_int_equal(reg(&c, 0x0d), 0x80);
	cmos_destroy(&c);
}

static void
test_cmos__the_nmi_bit_of_the_index_is_not_part_of_it(void **state)
{
	struct cmos c;

	(void)state;
	assert_int_equal(cmos_init(&c, 64 << 20, t_now, NULL), 0);
	/* Linux reads with NMIs masked: 0x80 | 0x0d is register D. */
	assert_int_equal(reg(&c, 0x8d), 0x80);
	assert_int_equal(cmos_read(&c, CMOS_PORT_INDEX), 0x0d);
	/* Plain RAM keeps what is written. */
	set(&c, 0xc0 | 0x40, 0xa5);
	assert_int_equal(reg(&c, 0x40), 0xa5);
	cmos_destroy(&c);
}

static void
test_cmos__the_guest_setting_the_time_keeps_an_offset(void **state)
{
	struct cmos c;

	(void)state;
	t_clock = T_NOW;
	assert_int_equal(cmos_init(&c, 64 << 20, t_now, NULL), 0);
	set(&c, 0x0b, 0x82); /* SET while writing, as drivers do */
	set(&c, 0x04, 0x05); /* 05:34:56 */
	set(&c, 0x09, 0x30); /* 2030 */
	set(&c, 0x0b, 0x02);
	assert_int_equal(reg(&c, 0x04), 0x05);
	assert_int_equal(reg(&c, 0x09), 0x30);
	assert_int_equal(reg(&c, 0x32), 0x20);
	t_clock += 60;
	assert_int_equal(reg(&c, 0x02), 0x35);
	assert_int_equal(reg(&c, 0x04), 0x05);
	cmos_destroy(&c);
}

static void
test_cmos__memory_sizes_come_from_ram(void **state)
{
	struct cmos c;

	(void)state;
	/* 64 MiB: 63 MiB above 1 MiB in KiB, 48 MiB above 16 in 64 KiB. */
	assert_int_equal(cmos_init(&c, 64 << 20, t_now, NULL), 0);
	assert_int_equal(reg(&c, 0x15) | reg(&c, 0x16) << 8, 640);
	assert_int_equal(reg(&c, 0x17) | reg(&c, 0x18) << 8, 63 * 1024);
	assert_int_equal(reg(&c, 0x30) | reg(&c, 0x31) << 8, 63 * 1024);
	assert_int_equal(reg(&c, 0x34) | reg(&c, 0x35) << 8, 48 * 16);
	cmos_destroy(&c);
	/* 2 GiB: the KiB counts stop at 65535, the 64 KiB blocks do not. */
	assert_int_equal(cmos_init(&c, 2048ull << 20, t_now, NULL), 0);
	assert_int_equal(reg(&c, 0x17) | reg(&c, 0x18) << 8, 0xffff);
	assert_int_equal(reg(&c, 0x30) | reg(&c, 0x31) << 8, 0xffff);
	assert_int_equal(reg(&c, 0x34) | reg(&c, 0x35) << 8, 2032 * 16);
	cmos_destroy(&c);
	/* 1 MiB: nothing above it. */
	assert_int_equal(cmos_init(&c, 1 << 20, t_now, NULL), 0);
	assert_int_equal(reg(&c, 0x17) | reg(&c, 0x18) << 8, 0);
	assert_int_equal(reg(&c, 0x34) | reg(&c, 0x35) << 8, 0);
	cmos_destroy(&c);
}

static void
test_cmos__the_host_clock_is_the_default(void **state)
{
	struct cmos c;
	time_t before = time(NULL);
	struct tm tm;
	unsigned y;

	(void)state;
	assert_int_equal(cmos_init(&c, 64 << 20, NULL, NULL), 0);
	y = (unsigned)(reg(&c, 0x32) >> 4) * 1000 + (reg(&c, 0x32) & 15) * 100 +
	    (unsigned)(reg(&c, 0x09) >> 4) * 10 + (reg(&c, 0x09) & 15);
	gmtime_r(&before, &tm);
	/* Unless the year turned over between the two looks. */
	assert_true(y == (unsigned)tm.tm_year + 1900 ||
		    y == (unsigned)tm.tm_year + 1901);
	cmos_destroy(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cmos__time_reads_in_bcd_24_hour_at_power_on),
	    cmocka_unit_test(test_cmos__binary_and_12_hour_follow_register_b),
	    cmocka_unit_test(
		test_cmos__status_registers_say_no_update_and_valid_ram),
	    cmocka_unit_test(
		test_cmos__the_nmi_bit_of_the_index_is_not_part_of_it),
	    cmocka_unit_test(
		test_cmos__the_guest_setting_the_time_keeps_an_offset),
	    cmocka_unit_test(test_cmos__memory_sizes_come_from_ram),
	    cmocka_unit_test(test_cmos__the_host_clock_is_the_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
