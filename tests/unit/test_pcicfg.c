/*
 * The guest's PCI configuration space (vmm-driver/pcicfg.c) over a fake
 * device: probing through 0xCF8/0xCFC, the BARs at the addresses
 * pcicfg_place chose and their sizing, the capability list and interrupt
 * pin hidden, command writes reaching the device, BAR placement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmm-driver/pcicfg.h"

/* An edu device's header: 1234:11e8, class 00ff00, status 0x10 (caps). */
static uint8_t t_cfg[256];
static unsigned t_writes;
static uint32_t t_last_write;
static unsigned t_last_off, t_last_size;

static int
t_read(void *cls, unsigned off, unsigned size, uint32_t *val)
{
	(void)cls;
	*val = 0;
	memcpy(val, t_cfg + off, size);
	return 0;
}

static int
t_write(void *cls, unsigned off, unsigned size, uint32_t val)
{
	(void)cls;
	t_writes++;
	t_last_off = off;
	t_last_size = size;
	t_last_write = val;
	memcpy(t_cfg + off, &val, size);
	return 0;
}

static unsigned t_msi_calls;
static int t_msi_on;
static uint64_t t_msi_addr;
static uint32_t t_msi_data;

static void
t_msi(void *cls, int enable, uint64_t addr, uint32_t data)
{
	(void)cls;
	t_msi_calls++;
	t_msi_on = enable;
	t_msi_addr = addr;
	t_msi_data = data;
}

static void
t_edu_irq(struct pcicfg *pc, uint64_t bar0_size, int irq, unsigned *slot)
{
	struct pcicfg_dev d;

	memset(t_cfg, 0, sizeof(t_cfg));
	t_cfg[0] = 0x34, t_cfg[1] = 0x12, t_cfg[2] = 0xe8, t_cfg[3] = 0x11;
	t_cfg[6] = 0x10;                        /* status: capability list */
	t_cfg[0x0a] = 0xff;                     /* class 00ff00 */
	t_cfg[0x10] = 0x00, t_cfg[0x13] = 0xfe; /* the host's BAR0 */
	t_cfg[0x34] = 0x40;
	t_cfg[0x3c] = 11, t_cfg[0x3d] = 1; /* INTA */
	t_cfg[0x40] = 0x05;                /* MSI capability, 64-bit */
	t_cfg[0x41] = 0x50;                /* next: another one */
	t_cfg[0x42] = 0x80;
	t_cfg[0x50] = 0x01; /* power management: never shown */
	t_writes = 0;
	t_msi_calls = 0;
	memset(&d, 0, sizeof(d));
	d.pd_bars[0].pb_size = bar0_size;
	d.pd_read = t_read;
	d.pd_write = t_write;
	d.pd_irq = irq;
	d.pd_intline = 16;
	d.pd_msi = irq ? t_msi : NULL;
	pcicfg_init(pc);
	assert_int_equal(pcicfg_add(pc, &d, slot), 0);
}

static void
t_edu(struct pcicfg *pc, uint64_t bar0_size, unsigned *slot)
{
	t_edu_irq(pc, bar0_size, 0, slot);
}

static uint32_t
cfg_read(struct pcicfg *pc, unsigned slot, unsigned reg, unsigned size)
{
	uint32_t addr = 0x80000000u | slot << 11 | (reg & 0xfc), v = 0;

	assert_int_equal(
	    pcicfg_io(pc, PCICFG_PORT_ADDR, 4, 0, (uint8_t *)&addr), 1);
	assert_int_equal(
	    pcicfg_io(pc, PCICFG_PORT_DATA + (reg & 3), size, 1, (uint8_t *)&v),
	    1);
	return v;
}

static void
cfg_write(struct pcicfg *pc, unsigned slot, unsigned reg, unsigned size,
	  uint32_t v)
{
	uint32_t addr = 0x80000000u | slot << 11 | (reg & 0xfc);

	pcicfg_io(pc, PCICFG_PORT_ADDR, 4, 0, (uint8_t *)&addr);
	pcicfg_io(pc, PCICFG_PORT_DATA + (reg & 3), size, 0, (uint8_t *)&v);
}

static void
test_pcicfg__a_probe_finds_the_device_on_bus_0_device_1(void **state)
{
	struct pcicfg pc;
	unsigned slot, dev;

	(void)state;
	t_edu(&pc, 1 << 20, &slot);
	assert_int_equal(slot, 1);
	for (dev = 0; dev < 32; dev++) {
		uint32_t id = cfg_read(&pc, dev, 0, 4);

		if (dev == 0) /* the host bridge */
			assert_int_equal(id, 0x00081b36);
		else if (dev == 1)
			assert_int_equal(id, 0x11e81234);
		else
			assert_int_equal(id, 0xffffffff);
	}
	/* The host bridge is class 0600 (Linux's conf1 check), no BARs. */
	assert_int_equal(cfg_read(&pc, 0, 0x08, 4), 0x06000000);
	assert_int_equal(cfg_read(&pc, 0, 0x10, 4), 0);
	assert_int_equal(cfg_read(&pc, 1, 2, 2), 0x11e8);
	assert_int_equal(cfg_read(&pc, 1, 0x0a, 1), 0xff);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__without_the_enable_bit_nothing_answers(void **state)
{
	struct pcicfg pc;
	unsigned slot;
	uint32_t addr = 1 << 11, v = 0;

	(void)state;
	t_edu(&pc, 1 << 20, &slot);
	pcicfg_io(&pc, PCICFG_PORT_ADDR, 4, 0, (uint8_t *)&addr);
	pcicfg_io(&pc, PCICFG_PORT_DATA, 4, 1, (uint8_t *)&v);
	assert_int_equal(v, 0xffffffff);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__bar0_shows_the_placed_address_and_answers_sizing(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	t_edu(&pc, 1 << 20, &slot);
	assert_int_equal(pcicfg_place(&pc, 64 << 20), 0);
	assert_int_equal(pc.pc_devs[0].pd_bars[0].pb_gpa, PCICFG_MMIO_BASE);
	assert_int_equal(cfg_read(&pc, 1, 0x10, 4), 0xe0000000);
	cfg_write(&pc, 1, 0x10, 4, 0xffffffff);
	assert_int_equal(cfg_read(&pc, 1, 0x10, 4), 0xfff00000);
	/* Writing another address ends sizing; the BAR stays. */
	cfg_write(&pc, 1, 0x10, 4, 0x12300000);
	assert_int_equal(cfg_read(&pc, 1, 0x10, 4), 0xe0000000);
	/* BARs it does not have read 0, and answer sizing with 0. */
	cfg_write(&pc, 1, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_read(&pc, 1, 0x14, 4), 0);
	assert_int_equal(t_writes, 0);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__a_64_bit_bar_takes_two_registers(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	t_edu(&pc, 0, &slot);
	pc.pc_devs[0].pd_bars[2].pb_size = 1ULL << 24;
	pc.pc_devs[0].pd_bars[2].pb_mem64 = 1;
	pc.pc_devs[0].pd_bars[2].pb_prefetch = 1;
	assert_int_equal(pcicfg_place(&pc, 0), 0);
	assert_int_equal(cfg_read(&pc, 1, 0x18, 4), 0xe000000c);
	assert_int_equal(cfg_read(&pc, 1, 0x1c, 4), 0);
	cfg_write(&pc, 1, 0x18, 4, 0xffffffff);
	cfg_write(&pc, 1, 0x1c, 4, 0xffffffff);
	assert_int_equal(cfg_read(&pc, 1, 0x18, 4), 0xff00000c);
	assert_int_equal(cfg_read(&pc, 1, 0x1c, 4), 0xffffffff);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__capabilities_and_the_interrupt_pin_are_hidden(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	t_edu(&pc, 1 << 20, &slot);
	assert_int_equal(cfg_read(&pc, 1, 6, 2) & 0x10, 0);
	assert_int_equal(cfg_read(&pc, 1, 0x34, 1), 0);
	assert_int_equal(cfg_read(&pc, 1, 0x40, 4), 0);
	assert_int_equal(cfg_read(&pc, 1, 0x3d, 1), 0);
	assert_int_equal(cfg_read(&pc, 1, 0x3c, 1), 11);
	assert_int_equal(cfg_read(&pc, 1, 0x30, 4), 0); /* no ROM */
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__command_writes_reach_the_device(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	t_edu(&pc, 1 << 20, &slot);
	cfg_write(&pc, 1, 4, 2, 0x6);
	assert_int_equal(t_writes, 1);
	assert_int_equal(t_last_off, 4);
	assert_int_equal(t_last_size, 2);
	assert_int_equal(t_last_write, 0x6);
	/* A dword write: the status half stays the device's. */
	cfg_write(&pc, 1, 4, 4, 0xffff0002);
	assert_int_equal(t_writes, 2);
	assert_int_equal(t_last_write, 0x2);
	assert_int_equal(cfg_read(&pc, 1, 4, 2), 0x2);
	/* Other registers are not written. */
	cfg_write(&pc, 1, 0x0c, 4, 0xffffffff);
	assert_int_equal(t_writes, 2);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__other_ports_are_not_its(void **state)
{
	struct pcicfg pc;
	unsigned slot;
	uint8_t b = 6;

	(void)state;
	t_edu(&pc, 1 << 20, &slot);
	/* 0xCF9 is the PC's reset control register, not ours. */
	assert_int_equal(pcicfg_io(&pc, 0xcf9, 1, 0, &b), 0);
	assert_int_equal(pcicfg_io(&pc, 0x3f8, 1, 0, &b), 0);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__placement_is_aligned_biggest_first_above_ram(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	t_edu(&pc, 1 << 12, &slot);
	pc.pc_devs[0].pd_bars[1].pb_size = 1 << 20;
	pc.pc_devs[0].pd_bars[2].pb_size = 256; /* under a page */
	assert_int_equal(pcicfg_place(&pc, 0xe0000001ULL), 0);
	/* RAM ends past the window's start: BARs go above it. */
	assert_int_equal(pc.pc_devs[0].pd_bars[1].pb_gpa, 0xe0100000);
	assert_int_equal(pc.pc_devs[0].pd_bars[0].pb_gpa, 0xe0200000);
	assert_int_equal(pc.pc_devs[0].pd_bars[2].pb_gpa, 0xe0201000);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__placement_that_does_not_fit_is_enospc(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	/* The window is 0xe0000000..0xfec00000: 492 MiB. */
	t_edu(&pc, 1ULL << 29, &slot);
	errno = 0;
	assert_int_equal(pcicfg_place(&pc, 0), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(pc.pc_devs[0].pd_bars[0].pb_gpa, 0);
	pcicfg_destroy(&pc);
	/* One just under the limit fits. */
	t_edu(&pc, 1ULL << 28, &slot);
	assert_int_equal(pcicfg_place(&pc, 0), 0);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__a_ninth_device_is_enospc(void **state)
{
	struct pcicfg pc;
	struct pcicfg_dev d;
	unsigned slot, i;

	(void)state;
	memset(&d, 0, sizeof(d));
	pcicfg_init(&pc);
	for (i = 0; i < PCICFG_MAX_DEVS; i++)
		assert_int_equal(pcicfg_add(&pc, &d, &slot), 0);
	assert_int_equal(slot, PCICFG_MAX_DEVS);
	errno = 0;
	assert_int_equal(pcicfg_add(&pc, &d, &slot), -1);
	assert_int_equal(errno, ENOSPC);
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__with_interrupts_the_pin_and_only_msi_are_shown(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	t_edu_irq(&pc, 1 << 20, 1, &slot);
	assert_int_equal(cfg_read(&pc, 1, 6, 2) & 0x10, 0x10);
	assert_int_equal(cfg_read(&pc, 1, 0x34, 1), 0x40);
	/* MSI, next 0 (power management hidden), 64-bit, one vector. */
	assert_int_equal(cfg_read(&pc, 1, 0x40, 4), 0x00800005);
	assert_int_equal(cfg_read(&pc, 1, 0x50, 4), 0);
	assert_int_equal(cfg_read(&pc, 1, 0x3d, 1), 1);
	/* The line: the runner's first, then what the guest wrote. */
	assert_int_equal(cfg_read(&pc, 1, 0x3c, 1), 16);
	cfg_write(&pc, 1, 0x3c, 1, 10);
	assert_int_equal(cfg_read(&pc, 1, 0x3c, 1), 10);
	assert_int_equal(t_cfg[0x3c], 11); /* not the device's */
	pcicfg_destroy(&pc);
}

static void
test_pcicfg__msi_enable_and_message_reach_the_owner_not_the_device(void **state)
{
	struct pcicfg pc;
	unsigned slot;

	(void)state;
	t_edu_irq(&pc, 1 << 20, 1, &slot);
	/* As Linux does: the message, then the enable bit. */
	cfg_write(&pc, 1, 0x44, 4, 0xfee01000);
	cfg_write(&pc, 1, 0x48, 4, 0);
	cfg_write(&pc, 1, 0x4c, 2, 0x4041);
	assert_int_equal(t_msi_calls, 0); /* off: nothing to do yet */
	assert_int_equal(cfg_read(&pc, 1, 0x44, 4), 0xfee01000);
	assert_int_equal(cfg_read(&pc, 1, 0x4c, 2), 0x4041);
	cfg_write(&pc, 1, 0x42, 2, 0x0081);
	assert_int_equal(t_msi_calls, 1);
	assert_true(t_msi_on);
	assert_int_equal(t_msi_addr, 0xfee01000);
	assert_int_equal(t_msi_data, 0x4041);
	assert_int_equal(cfg_read(&pc, 1, 0x42, 2), 0x0081);
	/* A new message while on: told again; the same: not. */
	cfg_write(&pc, 1, 0x44, 4, 0xfee02000);
	assert_int_equal(t_msi_calls, 2);
	assert_int_equal(t_msi_addr, 0xfee02000);
	cfg_write(&pc, 1, 0x44, 4, 0xfee02000);
	assert_int_equal(t_msi_calls, 2);
	/* Multiple messages asked for: one is what there is. */
	cfg_write(&pc, 1, 0x42, 2, 0x0051);
	assert_int_equal(cfg_read(&pc, 1, 0x42, 2), 0x0081);
	cfg_write(&pc, 1, 0x42, 2, 0x0080);
	assert_int_equal(t_msi_calls, 3);
	assert_false(t_msi_on);
	assert_int_equal(t_writes, 0); /* the device's own MSI untouched */
	pcicfg_destroy(&pc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_pcicfg__a_probe_finds_the_device_on_bus_0_device_1),
	    cmocka_unit_test(
		test_pcicfg__without_the_enable_bit_nothing_answers),
	    cmocka_unit_test(
		test_pcicfg__bar0_shows_the_placed_address_and_answers_sizing),
	    cmocka_unit_test(test_pcicfg__a_64_bit_bar_takes_two_registers),
	    cmocka_unit_test(
		test_pcicfg__capabilities_and_the_interrupt_pin_are_hidden),
	    cmocka_unit_test(test_pcicfg__command_writes_reach_the_device),
	    cmocka_unit_test(test_pcicfg__other_ports_are_not_its),
	    cmocka_unit_test(
		test_pcicfg__placement_is_aligned_biggest_first_above_ram),
	    cmocka_unit_test(
		test_pcicfg__placement_that_does_not_fit_is_enospc),
	    cmocka_unit_test(test_pcicfg__a_ninth_device_is_enospc),
	    cmocka_unit_test(
		test_pcicfg__with_interrupts_the_pin_and_only_msi_are_shown),
	    cmocka_unit_test(
		test_pcicfg__msi_enable_and_message_reach_the_owner_not_the_device),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
