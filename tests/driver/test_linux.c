/*
 * Linux VMs through the runner (rc_linux): the in-kernel irqchip and PIT,
 * the UART's IRQ 4, the CMOS RTC, the keyboard controller, reboots and
 * API interrupts, with tests/guests/elf64/lxmini.S as the "kernel" that
 * vmm-driver/lxboot.c lays out and enters in 64-bit mode (its command
 * line's first character picks what it does; see its header).  On kvm
 * only; on sim, a Linux VM's start is refused with ENOTSUP, which is
 * checked there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/console.h"
#include "vmm-driver/lxboot.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

#include "tbackend.h"

#define T_MEMORY (64ull << 20)
#define T_CONSOLE_OUT (64 * 1024)
#define T_CONSOLE_IN 4096
/* Generous: the nested KVM host creates a VM in tens of ms, and a Linux
 * VM is created again at each restart. */
#define T_WAIT_MS 30000

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* GUESTS_DIR/lxmini.elf, malloc'ed. */
static uint8_t *
kernel_load(size_t *len)
{
	char path[512];
	uint8_t *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/lxmini.elf", GUESTS_DIR);
	if ((f = fopen(path, "rb")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* One Linux VM under test. */
struct lvm {
	uint8_t *lv_kernel;
	struct lxboot_config lv_lc;
	struct console *lv_console;
	struct runner *lv_runner;
	pthread_mutex_t lv_lock;
	int lv_exits;
	struct runner_exit lv_exit;
	char lv_why[200];
};

static void
lvm_on_exit(void *cls, const struct runner_exit *ex)
{
	struct lvm *v = cls;

	pthread_mutex_lock(&v->lv_lock);
	v->lv_exits++;
	v->lv_exit = *ex;
	pthread_mutex_unlock(&v->lv_lock);
}

/* Starts lxmini with cmdline on vcpus vCPUs; the runner's answer. */
static int
lvm_start(struct lvm *v, const char *cmdline, unsigned vcpus, int restarts)
{
	struct runner_config cfg;
	size_t len;

	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->lv_lock, NULL);
	v->lv_kernel = kernel_load(&len);
	v->lv_lc.lc_kernel = v->lv_kernel;
	v->lv_lc.lc_kernel_len = len;
	v->lv_lc.lc_cmdline = cmdline;
	v->lv_lc.lc_vcpus = vcpus;
	v->lv_console = console_new(T_CONSOLE_OUT, T_CONSOLE_IN);
	assert_non_null(v->lv_console);
	memset(&cfg, 0, sizeof(cfg));
	cfg.rc_ops = ops;
	cfg.rc_name = "linux";
	cfg.rc_vcpus = vcpus;
	cfg.rc_memory = T_MEMORY;
	cfg.rc_console = v->lv_console;
	cfg.rc_on_exit = lvm_on_exit;
	cfg.rc_cls = v;
	cfg.rc_linux = &v->lv_lc;
	cfg.rc_reboot_restarts = restarts;
	cfg.rc_why = v->lv_why;
	cfg.rc_why_len = sizeof(v->lv_why);
	return runner_start(&cfg, &v->lv_runner);
}

static const char *
lvm_output(struct lvm *v)
{
	static char buf[T_CONSOLE_OUT + 1];
	uint64_t off = 0, lost;
	size_t n = console_read(v->lv_console, &off, buf, T_CONSOLE_OUT, &lost);

	buf[n] = '\0';
	return buf;
}

static void
lvm_wait_exit(struct lvm *v)
{
	uint64_t end = now_ms() + T_WAIT_MS;
	int done;

	for (;;) {
		pthread_mutex_lock(&v->lv_lock);
		done = v->lv_exits > 0;
		pthread_mutex_unlock(&v->lv_lock);
		if (done)
			return;
		if (now_ms() > end)
			fail_msg("the Linux VM did not end within %d ms; "
				 "console: \"%s\"",
				 T_WAIT_MS, lvm_output(v));
		sleep_ms(2);
	}
}

static void
lvm_wait_output(struct lvm *v, const char *want)
{
	uint64_t end = now_ms() + T_WAIT_MS;

	while (strstr(lvm_output(v), want) == NULL) {
		if (now_ms() > end)
			fail_msg("no \"%s\" within %d ms; console: \"%s\"",
				 want, T_WAIT_MS, lvm_output(v));
		sleep_ms(2);
	}
}

/* The run ended by the debug-exit port with status. */
static void
lvm_expect_poweroff(struct lvm *v, int status)
{
	lvm_wait_exit(v);
	if (v->lv_exit.re_state != RUNNER_STOPPED || !v->lv_exit.re_has_status)
		fail_msg("ended \"%s\", console \"%s\"", v->lv_exit.re_reason,
			 lvm_output(v));
	assert_int_equal(v->lv_exit.re_status, status);
}

static void
lvm_free(struct lvm *v)
{
	runner_free(v->lv_runner);
	assert_int_equal(v->lv_exits, 1);
	console_free(v->lv_console);
	free(v->lv_kernel);
	pthread_mutex_destroy(&v->lv_lock);
}

/* Skips on sim, where the refusal is the whole story (checked below). */
#define KVM_ONLY()                                                             \
	tbackend_only("kvm", "the sim backend runs flat binaries only")

static void
test_linux__sim_refuses_a_linux_vm_with_enotsup(void **state)
{
	struct lvm v;

	BACKEND(state);
	tbackend_only("sim", "kvm boots Linux VMs (the other cases)");
	assert_int_equal(lvm_start(&v, "p", 1, 1), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_true(strstr(v.lv_why, "creating the VM failed") != NULL);
	console_free(v.lv_console);
	free(v.lv_kernel);
	pthread_mutex_destroy(&v.lv_lock);
}

static void
test_linux__uart_output_is_driven_by_irq_4_one_byte_per_interrupt(void **state)
{
	struct lvm v;

	BACKEND(state);
	KVM_ONLY();
	assert_int_equal(lvm_start(&v, "p", 1, 1), 0);
	/* One THRE interrupt per byte and one more that finds none. */
	lvm_expect_poweroff(&v, (int)strlen("irq-driven output\n") + 1);
	assert_string_equal(lvm_output(&v), "irq-driven output\n");
	lvm_free(&v);
}

static void
test_linux__two_vcpus_the_second_waits_for_sipi(void **state)
{
	struct lvm v;

	BACKEND(state);
	KVM_ONLY();
	/* vCPU 1 sits in the backend until INIT/SIPI (none comes); a run
	 * of the AP from 0xfff0 would crash or print. */
	assert_int_equal(lvm_start(&v, "p", 2, 1), 0);
	lvm_expect_poweroff(&v, (int)strlen("irq-driven output\n") + 1);
	assert_string_equal(lvm_output(&v), "irq-driven output\n");
	lvm_free(&v);
}

static void
test_linux__console_input_interrupts_the_waiting_guest(void **state)
{
	struct lvm v;

	BACKEND(state);
	KVM_ONLY();
	assert_int_equal(lvm_start(&v, "e", 1, 1), 0);
	lvm_wait_output(&v, "ready\n");
	/* The guest waits in HLT inside KVM: only the line wakes it. */
	sleep_ms(50);
	assert_int_equal(console_input(v.lv_console, "x", 1), 1);
	lvm_expect_poweroff(&v, 'x');
	assert_string_equal(lvm_output(&v), "ready\ngot x\n");
	lvm_free(&v);
}

static void
test_linux__cmos_says_valid_ram_no_update_and_this_year(void **state)
{
	char want[64];
	struct lvm v;
	struct tm tm;
	time_t t;

	BACKEND(state);
	KVM_ONLY();
	assert_int_equal(lvm_start(&v, "c", 1, 1), 0);
	lvm_expect_poweroff(&v, 0);
	t = time(NULL);
	gmtime_r(&t, &tm);
	snprintf(want, sizeof(want), "D=80 A=26 B=02 Y=%04d\n",
		 tm.tm_year + 1900);
	assert_string_equal(lvm_output(&v), want);
	lvm_free(&v);
}

/* Boots lxmini in a reboot mode; checks how the run went. */
static void
lvm_reboot_case(const char *mode, int restarts)
{
	struct lvm v;

	assert_int_equal(lvm_start(&v, mode, 1, restarts), 0);
	if (restarts) {
		/* The CMOS RAM survives the restart: the second boot
		 * counts 2 and powers off. */
		lvm_expect_poweroff(&v, 2);
		assert_string_equal(lvm_output(&v), "boot 1\nboot 2\n");
		assert_int_equal(runner_restarts(v.lv_runner), 1);
	} else {
		lvm_wait_exit(&v);
		assert_int_equal(v.lv_exit.re_state, RUNNER_STOPPED);
		assert_string_equal(v.lv_exit.re_reason,
				    "guest rebooted (on_reboot: stop)");
		assert_false(v.lv_exit.re_has_status);
		assert_string_equal(lvm_output(&v), "boot 1\n");
		assert_int_equal(runner_restarts(v.lv_runner), 0);
	}
	lvm_free(&v);
}

static void
test_linux__i8042_reset_restarts_the_kernel(void **state)
{
	BACKEND(state);
	KVM_ONLY();
	lvm_reboot_case("k", 1);
}

static void
test_linux__i8042_reset_with_on_reboot_stop_stops(void **state)
{
	BACKEND(state);
	KVM_ONLY();
	lvm_reboot_case("k", 0);
}

static void
test_linux__triple_fault_restarts_the_kernel(void **state)
{
	BACKEND(state);
	KVM_ONLY();
	lvm_reboot_case("t", 1);
}

static void
test_linux__triple_fault_with_on_reboot_stop_stops(void **state)
{
	BACKEND(state);
	KVM_ONLY();
	lvm_reboot_case("t", 0);
}

static void
test_linux__api_interrupts_reach_the_local_apic(void **state)
{
	struct lvm v;

	BACKEND(state);
	KVM_ONLY();
	assert_int_equal(lvm_start(&v, "i", 1, 1), 0);
	lvm_wait_output(&v, "ready\n");
	assert_int_equal(runner_interrupt(v.lv_runner, 0, VMM_INTR_IRQ, 48), 0);
	lvm_expect_poweroff(&v, 48);
	assert_string_equal(lvm_output(&v), "ready\nvector 48\n");
	lvm_free(&v);

	assert_int_equal(lvm_start(&v, "i", 1, 1), 0);
	lvm_wait_output(&v, "ready\n");
	assert_int_equal(runner_interrupt(v.lv_runner, 0, VMM_INTR_NMI, 2), 0);
	lvm_expect_poweroff(&v, 2);
	assert_string_equal(lvm_output(&v), "ready\nnmi\n");
	lvm_free(&v);
}

static void
test_linux__reset_by_request_restarts_and_vcpu_reset_is_enotsup(void **state)
{
	struct lvm v;

	BACKEND(state);
	KVM_ONLY();
	assert_int_equal(lvm_start(&v, "e", 1, 1), 0);
	lvm_wait_output(&v, "ready\n");
	assert_int_equal(runner_pause(v.lv_runner), 0);
	assert_int_equal(runner_vcpu_reset(v.lv_runner, 0), -1);
	assert_int_equal(errno, ENOTSUP);
	assert_int_equal(runner_resume(v.lv_runner), 0);
	assert_int_equal(runner_reset(v.lv_runner), 0);
	lvm_wait_output(&v, "ready\nready\n");
	assert_int_equal(runner_restarts(v.lv_runner), 1);
	assert_int_equal(console_input(v.lv_console, "y", 1), 1);
	lvm_expect_poweroff(&v, 'y');
	lvm_free(&v);
}

static void
test_linux__a_file_that_is_not_a_kernel_is_refused_with_a_reason(void **state)
{
	static const uint8_t junk[4096] = {'n', 'o', 't'};
	struct runner_config cfg;
	struct lxboot_config lc;
	struct console *c;
	struct runner *r;
	char why[200] = "";

	BACKEND(state);
	KVM_ONLY();
	c = console_new(T_CONSOLE_OUT, T_CONSOLE_IN);
	assert_non_null(c);
	memset(&lc, 0, sizeof(lc));
	lc.lc_kernel = junk;
	lc.lc_kernel_len = sizeof(junk);
	lc.lc_cmdline = "";
	lc.lc_vcpus = 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.rc_ops = ops;
	cfg.rc_name = "junk";
	cfg.rc_vcpus = 1;
	cfg.rc_memory = T_MEMORY;
	cfg.rc_console = c;
	cfg.rc_linux = &lc;
	cfg.rc_why = why;
	cfg.rc_why_len = sizeof(why);
	assert_int_equal(runner_start(&cfg, &r), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(strstr(why, "not a kernel") != NULL);
	/* The console was never opened for it. */
	assert_int_equal(console_end(c), 0);
	console_free(c);
}

static void
test_linux__ram_past_3_gib_is_e2big(void **state)
{
	struct vmm_create_params cp = {.cp_name = "big",
				       .cp_vcpus = 1,
				       .cp_memory = LXBOOT_MEMORY_MAX + 4096,
				       .cp_linux = 1};
	struct vmm_vm *vm;

	BACKEND(state);
	KVM_ONLY();
	assert_int_equal(ops->vo_vm_create(&cp, &vm), -1);
	assert_int_equal(errno, E2BIG);
}

#define CASES(b)                                                                   \
	cmocka_unit_test_prestate(                                                 \
	    test_linux__sim_refuses_a_linux_vm_with_enotsup, b),                   \
	    cmocka_unit_test_prestate(                                             \
		test_linux__uart_output_is_driven_by_irq_4_one_byte_per_interrupt, \
		b),                                                                \
	    cmocka_unit_test_prestate(                                             \
		test_linux__two_vcpus_the_second_waits_for_sipi, b),               \
	    cmocka_unit_test_prestate(                                             \
		test_linux__console_input_interrupts_the_waiting_guest, b),        \
	    cmocka_unit_test_prestate(                                             \
		test_linux__cmos_says_valid_ram_no_update_and_this_year, b),       \
	    cmocka_unit_test_prestate(                                             \
		test_linux__i8042_reset_restarts_the_kernel, b),                   \
	    cmocka_unit_test_prestate(                                             \
		test_linux__i8042_reset_with_on_reboot_stop_stops, b),             \
	    cmocka_unit_test_prestate(                                             \
		test_linux__triple_fault_restarts_the_kernel, b),                  \
	    cmocka_unit_test_prestate(                                             \
		test_linux__triple_fault_with_on_reboot_stop_stops, b),            \
	    cmocka_unit_test_prestate(                                             \
		test_linux__api_interrupts_reach_the_local_apic, b),               \
	    cmocka_unit_test_prestate(                                             \
		test_linux__reset_by_request_restarts_and_vcpu_reset_is_enotsup,   \
		b),                                                                \
	    cmocka_unit_test_prestate(                                             \
		test_linux__a_file_that_is_not_a_kernel_is_refused_with_a_reason,  \
		b),                                                                \
	    cmocka_unit_test_prestate(test_linux__ram_past_3_gib_is_e2big, b)

TBACKEND_MAIN(CASES)
