/*
 * The runner's device model and controls against a scripted backend (no
 * hypervisor needed), and the 16550 UART's registers as a Linux 8250
 * probe sees them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/console.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/uart.h"
#include "vmm-driver/vmm.h"

#include "tskip.h"

/* ---- the UART ---- */

struct tuart {
	struct console *tu_console;
	struct uart tu_uart;
};

static int
tuart_setup(void **state)
{
	struct tuart *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->tu_console = console_new(256, 16);
	assert_non_null(t->tu_console);
	assert_int_equal(uart_init(&t->tu_uart, t->tu_console), 0);
	*state = t;
	return 0;
}

static int
tuart_teardown(void **state)
{
	struct tuart *t = *state;

	uart_destroy(&t->tu_uart);
	console_free(t->tu_console);
	free(t);
	return 0;
}

static void
test_uart__scratch_and_ier_round_trip(void **state)
{
	struct tuart *t = *state;
	uint8_t tx;

	assert_int_equal(uart_write(&t->tu_uart, 7, 0xa5, &tx), 0);
	assert_int_equal(uart_read(&t->tu_uart, 7), 0xa5);
	assert_int_equal(uart_write(&t->tu_uart, 7, 0x5a, &tx), 0);
	assert_int_equal(uart_read(&t->tu_uart, 7), 0x5a);
	/* What 8250's autoconfig checks: IER keeps exactly 4 bits. */
	uart_write(&t->tu_uart, 1, 0, &tx);
	assert_int_equal(uart_read(&t->tu_uart, 1), 0);
	uart_write(&t->tu_uart, 1, 0xff, &tx);
	assert_int_equal(uart_read(&t->tu_uart, 1), 0x0f);
}

static void
test_uart__loopback_echoes_mcr_into_msr(void **state)
{
	struct tuart *t = *state;
	uint8_t tx = 0;

	/* Not in loopback: carrier, DSR and CTS are up. */
	assert_int_equal(uart_read(&t->tu_uart, 6), 0xb0);
	/* Linux: MCR = LOOP | RTS | OUT2 must read MSR & 0xf0 == 0x90. */
	uart_write(&t->tu_uart, 4, 0x10 | 0x0a, &tx);
	assert_int_equal(uart_read(&t->tu_uart, 6) & 0xf0, 0x90);
	uart_write(&t->tu_uart, 4, 0x10 | 0x05, &tx); /* DTR | OUT1 */
	assert_int_equal(uart_read(&t->tu_uart, 6) & 0xf0, 0x60);
	/* A byte sent in loopback comes back in, not out. */
	assert_int_equal(uart_write(&t->tu_uart, 0, 'L', &tx), 0);
	assert_int_equal(uart_read(&t->tu_uart, 5) & 0x01, 0x01);
	assert_int_equal(uart_read(&t->tu_uart, 0), 'L');
	assert_int_equal(uart_read(&t->tu_uart, 5) & 0x01, 0);
	assert_int_equal(console_end(t->tu_console), 0);
	/* Out of loopback, a byte is transmitted. */
	uart_write(&t->tu_uart, 4, 0x0b, &tx);
	assert_int_equal(uart_write(&t->tu_uart, 0, 'T', &tx), 1);
	assert_int_equal(tx, 'T');
}

static void
test_uart__iir_reports_fifo_and_thre(void **state)
{
	struct tuart *t = *state;
	uint8_t tx;

	assert_int_equal(uart_read(&t->tu_uart, 2), 0x01); /* none */
	uart_write(&t->tu_uart, 2, 0x01, &tx);             /* FCR: FIFO on */
	assert_int_equal(uart_read(&t->tu_uart, 2), 0xc1);
	/* Enabling THRI with THR empty raises it; reading IIR acks it. */
	uart_write(&t->tu_uart, 1, 0x02, &tx);
	assert_int_equal(uart_read(&t->tu_uart, 2), 0xc2);
	assert_int_equal(uart_read(&t->tu_uart, 2), 0xc1);
	/* Sending a byte empties THR again at once. */
	assert_int_equal(uart_write(&t->tu_uart, 0, 'x', &tx), 1);
	assert_int_equal(uart_read(&t->tu_uart, 2), 0xc2);
	/* The line goes to the PIC only with OUT2. */
	assert_int_equal(uart_write(&t->tu_uart, 0, 'y', &tx), 1);
	assert_int_equal(uart_irq_pending(&t->tu_uart), 0);
	uart_write(&t->tu_uart, 4, 0x08, &tx);
	assert_int_equal(uart_irq_pending(&t->tu_uart), 1);
	uart_write(&t->tu_uart, 2, 0x06, &tx); /* reset FIFOs, FIFO off */
	assert_int_equal(uart_read(&t->tu_uart, 2) & 0xc0, 0);
}

static void
test_uart__received_bytes_come_from_the_console(void **state)
{
	struct tuart *t = *state;
	uint8_t tx;

	/* Transmitter always empty, nothing received. */
	assert_int_equal(uart_read(&t->tu_uart, 5), 0x60);
	assert_int_equal(console_input(t->tu_console, "hi", 2), 2);
	assert_int_equal(uart_read(&t->tu_uart, 5), 0x61);
	uart_write(&t->tu_uart, 1, 0x01, &tx); /* RDI */
	assert_int_equal(uart_read(&t->tu_uart, 2) & 0x0f, 0x04);
	assert_int_equal(uart_read(&t->tu_uart, 0), 'h');
	assert_int_equal(uart_read(&t->tu_uart, 0), 'i');
	assert_int_equal(uart_read(&t->tu_uart, 5), 0x60);
	assert_int_equal(uart_read(&t->tu_uart, 2) & 0x0f, 0x01);
	/* An empty RBR reads the last byte again. */
	assert_int_equal(uart_read(&t->tu_uart, 0), 'i');
}

static void
test_uart__dlab_switches_to_the_divisor(void **state)
{
	struct tuart *t = *state;
	uint8_t tx;

	uart_write(&t->tu_uart, 1, 0x05, &tx);
	uart_write(&t->tu_uart, 3, 0x83, &tx);             /* DLAB, 8N1 */
	assert_int_equal(uart_read(&t->tu_uart, 0), 0x0c); /* 9600 */
	assert_int_equal(uart_write(&t->tu_uart, 0, 0x01, &tx), 0);
	uart_write(&t->tu_uart, 1, 0x00, &tx);
	assert_int_equal(uart_read(&t->tu_uart, 0), 0x01);
	assert_int_equal(uart_read(&t->tu_uart, 1), 0x00);
	assert_int_equal(uart_read(&t->tu_uart, 3), 0x83);
	uart_write(&t->tu_uart, 3, 0x03, &tx);
	assert_int_equal(uart_read(&t->tu_uart, 1), 0x05); /* IER again */
	assert_int_equal(console_end(t->tu_console), 0);
	uart_reset(&t->tu_uart);
	assert_int_equal(uart_read(&t->tu_uart, 1), 0);
	assert_int_equal(uart_read(&t->tu_uart, 3), 0);
}

/* ---- a scripted backend ---- */

/* A millisecond's sleep, for polling loops (5000 of them: 5 s). */
static void
nap(void)
{
	struct timespec ts = {0, 1000000L};

	nanosleep(&ts, NULL);
}

/* One exit the fake vCPU 0 produces, in order. */
struct fstep {
	enum vmm_exit_kind fs_kind;
	uint16_t fs_port;
	uint8_t fs_in, fs_size;
	uint32_t fs_value;
	uint64_t fs_rflags; /* rflags from now on */
};

#define F_IF 0x202ULL
#define F_NOIF 0x2ULL
#define F_MAX_STEPS 64

struct vmm_vm {
	pthread_mutex_t fv_lock;
	pthread_cond_t fv_cond;
	int fv_kicked;
	const struct fstep *fv_script;
	size_t fv_pos, fv_len;
	size_t fv_gate; /* steps past it wait for fake_open() */
	uint64_t fv_rflags;
	uint8_t fv_io[8];
	int fv_prev_in; /* the last exit was an IN */
	int fv_have_in;
	uint32_t fv_last_in; /* what the runner answered to it */
	uint8_t fv_mem[0x2000];
};

/* The script the next fake VM runs and its gate; set by each test. */
static const struct fstep *f_script;
static size_t f_script_len, f_gate = (size_t)-1;
/* Shared with the runner's threads: under f_lock. */
static pthread_mutex_t f_lock = PTHREAD_MUTEX_INITIALIZER;
static int f_vms_alive;
static struct vmm_vm *f_last_vm;
static int f_injected[8]; /* vectors the fake took, in order; NMI -2 */
static int f_ninjected;
static int f_reset_errno; /* set: every vcpu_reset fails with it */
static atomic_int f_runs; /* vcpu_run calls, every VM */
/* How many CPUs vCPU 0's thread could use at its first two vcpu_runs of
 * the last VM created. */
static atomic_int f_vcpu0_cpus[2];

static int
fake_vm_create(const struct vmm_create_params *cp, struct vmm_vm **out)
{
	struct vmm_vm *vm = calloc(1, sizeof(*vm));

	if (vm == NULL || cp->cp_memory > sizeof(vm->fv_mem)) {
		free(vm);
		errno = vm == NULL ? ENOMEM : EINVAL;
		return -1;
	}
	pthread_mutex_init(&vm->fv_lock, NULL);
	pthread_cond_init(&vm->fv_cond, NULL);
	vm->fv_script = f_script;
	vm->fv_len = f_script_len;
	vm->fv_gate = f_gate;
	vm->fv_rflags = F_NOIF;
	pthread_mutex_lock(&f_lock);
	f_vms_alive++;
	f_last_vm = vm;
	f_ninjected = 0;
	pthread_mutex_unlock(&f_lock);
	*out = vm;
	return 0;
}

static void
fake_vm_destroy(struct vmm_vm *vm)
{
	pthread_cond_destroy(&vm->fv_cond);
	pthread_mutex_destroy(&vm->fv_lock);
	pthread_mutex_lock(&f_lock);
	f_vms_alive--;
	if (f_last_vm == vm)
		f_last_vm = NULL;
	pthread_mutex_unlock(&f_lock);
	free(vm);
}

static uint8_t *
fake_vm_memory(struct vmm_vm *vm, uint64_t *size)
{
	*size = sizeof(vm->fv_mem);
	return vm->fv_mem;
}

/* Plays the script on vCPU 0; past its end (and on other vCPUs) the
 * guest "spins" until kicked. */
static int
fake_vcpu_run(struct vmm_vm *vm, unsigned id, struct vmm_exit *ex)
{
	const struct fstep *s;

	memset(ex, 0, sizeof(*ex));
	atomic_fetch_add(&f_runs, 1);
	if (id == 0 && vm->fv_pos < 2) {
		cpu_set_t set;

		/* Not under f_lock: tests hold it while vCPU 0 runs. */
		if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) ==
		    0)
			atomic_store(&f_vcpu0_cpus[vm->fv_pos],
				     CPU_COUNT(&set));
	}
	pthread_mutex_lock(&vm->fv_lock);
	if (id == 0 && vm->fv_prev_in) {
		vm->fv_last_in = vm->fv_io[0];
		vm->fv_have_in = 1;
		vm->fv_prev_in = 0;
		pthread_cond_broadcast(&vm->fv_cond);
	}
	while (!vm->fv_kicked && (id != 0 || vm->fv_pos == vm->fv_len ||
				  vm->fv_pos >= vm->fv_gate))
		pthread_cond_wait(&vm->fv_cond, &vm->fv_lock);
	if (vm->fv_kicked) {
		vm->fv_kicked = 0;
		pthread_mutex_unlock(&vm->fv_lock);
		ex->ex_kind = VMM_EXIT_KICKED;
		return 0;
	}
	s = &vm->fv_script[vm->fv_pos++];
	vm->fv_rflags = s->fs_rflags;
	ex->ex_kind = s->fs_kind;
	if (s->fs_kind == VMM_EXIT_IO) {
		ex->ex_io.io_port = s->fs_port;
		ex->ex_io.io_in = s->fs_in;
		ex->ex_io.io_size = s->fs_size;
		ex->ex_io.io_count = 1;
		memset(vm->fv_io, 0, sizeof(vm->fv_io));
		memcpy(vm->fv_io, &s->fs_value, s->fs_size);
		ex->ex_io.io_data = vm->fv_io;
		vm->fv_prev_in = s->fs_in;
	}
	if (s->fs_kind == VMM_EXIT_FAIL_ENTRY)
		strcpy(ex->ex_text, "entry failed (fake)");
	pthread_mutex_unlock(&vm->fv_lock);
	return 0;
}

static int
fake_vcpu_kick(struct vmm_vm *vm, unsigned id)
{
	(void)id;
	pthread_mutex_lock(&vm->fv_lock);
	vm->fv_kicked = 1;
	pthread_cond_broadcast(&vm->fv_cond);
	pthread_mutex_unlock(&vm->fv_lock);
	return 0;
}

static int
fake_vcpu_reset(struct vmm_vm *vm, unsigned id, const struct vmm_regs *regs,
		unsigned groups)
{
	int err;

	(void)vm;
	(void)id;
	(void)regs;
	(void)groups;
	pthread_mutex_lock(&f_lock);
	err = f_reset_errno;
	pthread_mutex_unlock(&f_lock);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

static int
fake_vcpu_get_regs(struct vmm_vm *vm, unsigned id, struct vmm_regs *regs,
		   unsigned groups)
{
	(void)id;
	(void)groups;
	memset(regs, 0, sizeof(*regs));
	pthread_mutex_lock(&vm->fv_lock);
	regs->rg_gprs[VMM_RFLAGS] = vm->fv_rflags;
	regs->rg_gprs[VMM_RIP] = 0x1234;
	regs->rg_sregs[VMM_CS].sg_selector = 0x10;
	pthread_mutex_unlock(&vm->fv_lock);
	return 0;
}

/* Takes an IRQ only with IF set, like the userspace-irqchip protocol. */
static int
fake_vcpu_interrupt(struct vmm_vm *vm, unsigned id, enum vmm_intr_type type,
		    unsigned vector)
{
	(void)id;
	pthread_mutex_lock(&vm->fv_lock);
	if (type == VMM_INTR_IRQ && !(vm->fv_rflags & 0x200)) {
		pthread_mutex_unlock(&vm->fv_lock);
		errno = EAGAIN;
		return -1;
	}
	pthread_mutex_unlock(&vm->fv_lock);
	pthread_mutex_lock(&f_lock);
	if (f_ninjected < 8)
		f_injected[f_ninjected++] =
		    type == VMM_INTR_NMI ? -2 : (int)vector;
	pthread_mutex_unlock(&f_lock);
	return 0;
}

/* Lets the fake VM play its script up to step n. */
static void
fake_open(size_t n)
{
	struct vmm_vm *vm;

	pthread_mutex_lock(&f_lock);
	vm = f_last_vm;
	pthread_mutex_lock(&vm->fv_lock);
	vm->fv_gate = n;
	pthread_cond_broadcast(&vm->fv_cond);
	pthread_mutex_unlock(&vm->fv_lock);
	pthread_mutex_unlock(&f_lock);
}

/* What the runner answered to the fake's IN (waits for it). */
static uint32_t
fake_in_answer(void)
{
	struct vmm_vm *vm;
	uint32_t v;

	pthread_mutex_lock(&f_lock);
	vm = f_last_vm;
	pthread_mutex_lock(&vm->fv_lock);
	while (!vm->fv_have_in)
		pthread_cond_wait(&vm->fv_cond, &vm->fv_lock);
	v = vm->fv_last_in;
	pthread_mutex_unlock(&vm->fv_lock);
	pthread_mutex_unlock(&f_lock);
	return v;
}

static const struct vmm_ops fake_ops = {
    .vo_name = "fake",
    .vo_vm_create = fake_vm_create,
    .vo_vm_destroy = fake_vm_destroy,
    .vo_vm_memory = fake_vm_memory,
    .vo_vcpu_run = fake_vcpu_run,
    .vo_vcpu_kick = fake_vcpu_kick,
    .vo_vcpu_reset = fake_vcpu_reset,
    .vo_vcpu_get_regs = fake_vcpu_get_regs,
    .vo_vcpu_interrupt = fake_vcpu_interrupt,
};

/* One run against the fake. */
struct frun {
	struct console *fr_console;
	struct runner *fr_runner;
	pthread_mutex_t fr_lock;
	pthread_cond_t fr_cond;
	int fr_exits;
	int fr_alive_at_exit;
	struct runner_exit fr_exit;
};

static void
frun_on_exit(void *cls, const struct runner_exit *ex)
{
	struct frun *f = cls;

	pthread_mutex_lock(&f_lock);
	f->fr_alive_at_exit = f_vms_alive;
	pthread_mutex_unlock(&f_lock);
	pthread_mutex_lock(&f->fr_lock);
	f->fr_exits++;
	f->fr_exit = *ex;
	pthread_cond_broadcast(&f->fr_cond);
	pthread_mutex_unlock(&f->fr_lock);
}

/*
 * Starts a run of script whose steps from gate on wait for fake_open:
 * the guest may run before runner_start returns, so a test that must act
 * first closes the gate here.
 */
static void
frun_start_gated(struct frun *f, const struct fstep *script, size_t len,
		 unsigned vcpus, size_t gate)
{
	static const uint8_t image[] = {0xeb, 0xfe};
	struct runner_config cfg;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->fr_lock, NULL);
	pthread_cond_init(&f->fr_cond, NULL);
	f->fr_console = console_new(4096, 64);
	assert_non_null(f->fr_console);
	f_script = script;
	f_script_len = len;
	f_gate = gate;
	memset(&cfg, 0, sizeof(cfg));
	cfg.rc_ops = &fake_ops;
	cfg.rc_name = "fake";
	cfg.rc_vcpus = vcpus;
	cfg.rc_memory = 0x2000;
	cfg.rc_image = image;
	cfg.rc_image_len = sizeof(image);
	cfg.rc_load_address = 0x1000;
	cfg.rc_entry = 0x1000;
	cfg.rc_console = f->fr_console;
	cfg.rc_on_exit = frun_on_exit;
	cfg.rc_cls = f;
	assert_int_equal(runner_start(&cfg, &f->fr_runner), 0);
}

/* A run of script, every step open. */
static void
frun_start(struct frun *f, const struct fstep *script, size_t len,
	   unsigned vcpus)
{
	frun_start_gated(f, script, len, vcpus, (size_t)-1);
}

static void
frun_wait(struct frun *f)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&f->fr_lock);
	while (f->fr_exits == 0)
		if (pthread_cond_timedwait(&f->fr_cond, &f->fr_lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&f->fr_lock);
	assert_int_equal(f->fr_exits, 1);
	/* The backend VM was gone before the callback. */
	assert_int_equal(f->fr_alive_at_exit, 0);
}

static const char *
frun_output(struct frun *f)
{
	static char buf[4097];
	uint64_t off = 0, lost;
	size_t n = console_read(f->fr_console, &off, buf, 4096, &lost);

	buf[n] = '\0';
	return buf;
}

static void
frun_free(struct frun *f)
{
	runner_free(f->fr_runner);
	assert_int_equal(f->fr_exits, 1);
	console_free(f->fr_console);
	pthread_cond_destroy(&f->fr_cond);
	pthread_mutex_destroy(&f->fr_lock);
}

#define OUT(port, v)                                                           \
	{                                                                      \
		VMM_EXIT_IO, (port), 0, 1, (v), F_NOIF                         \
	}
#define IN(port)                                                               \
	{                                                                      \
		VMM_EXIT_IO, (port), 1, 1, 0, F_NOIF                           \
	}

static void
test_runner__ports_reach_their_devices(void **state)
{
	static const struct fstep s[] = {
	    OUT(0x3f8, 'o'),
	    OUT(0x3f8, 'k'),
	    OUT(0x3ff, 0x42),
	    IN(0x3ff), /* scratch */
	    OUT(0x80, 1),
	    OUT(0x80, 2),
	    IN(0x71),
	    IN(0x3fd), /* LSR */
	    {VMM_EXIT_MMIO, 0, 0, 0, 0, F_NOIF},
	    {VMM_EXIT_IO, 0x501, 0, 2, 0x1234, F_NOIF},
	    OUT(0x3f8, '!'), /* never: the VM is off */
	};
	struct runner_vcpu_stats st;
	struct frun f;

	(void)state;
	frun_start(&f, s, sizeof(s) / sizeof(s[0]), 1);
	frun_wait(&f);
	assert_string_equal(frun_output(&f), "ok");
	assert_int_equal(f.fr_exit.re_state, RUNNER_STOPPED);
	assert_string_equal(f.fr_exit.re_reason, "debug-exit port");
	assert_int_equal(f.fr_exit.re_has_status, 1);
	assert_int_equal(f.fr_exit.re_status, 0x1234);
	assert_int_equal(runner_vcpu_stats(f.fr_runner, 0, &st), 0);
	assert_int_equal(st.vs_unknown_port_writes, 2);
	assert_int_equal(st.vs_unknown_port_reads, 1);
	assert_int_equal(st.vs_exits_mmio, 1);
	assert_int_equal(st.vs_exits_io, 9);
	frun_free(&f);
}

static void
test_runner__in_gets_the_device_answer(void **state)
{
	static const struct fstep s[] = {OUT(0x3ff, 0x42), IN(0x3ff), IN(0x3fd),
					 IN(0x64)};
	struct frun f;

	(void)state;
	frun_start(&f, s, 2, 1); /* the scratch register */
	assert_int_equal(fake_in_answer(), 0x42);
	assert_int_equal(runner_stop(f.fr_runner, 0, 1), 1);
	frun_wait(&f);
	frun_free(&f);

	frun_start(&f, s + 2, 1, 1);
	assert_int_equal(fake_in_answer(), 0x60); /* LSR: THRE | TEMT */
	assert_int_equal(runner_stop(f.fr_runner, 0, 1), 1);
	frun_free(&f);

	frun_start(&f, s + 3, 1, 1);
	assert_int_equal(fake_in_answer(), 0xff); /* nothing at 0x64 */
	assert_int_equal(runner_stop(f.fr_runner, 0, 1), 1);
	frun_free(&f);
}

static void
test_runner__crashes_say_why(void **state)
{
	static const struct fstep shut[] = {
	    {VMM_EXIT_SHUTDOWN, 0, 0, 0, 0, F_NOIF}};
	static const struct fstep fail[] = {
	    {VMM_EXIT_FAIL_ENTRY, 0, 0, 0, 0, F_NOIF}};
	struct frun f;

	(void)state;
	frun_start(&f, shut, 1, 1);
	frun_wait(&f);
	assert_int_equal(f.fr_exit.re_state, RUNNER_CRASHED);
	assert_string_equal(f.fr_exit.re_reason, "triple fault at 0010:1234");
	assert_int_equal(runner_state(f.fr_runner), RUNNER_CRASHED);
	frun_free(&f);

	frun_start(&f, fail, 1, 1);
	frun_wait(&f);
	assert_int_equal(f.fr_exit.re_state, RUNNER_CRASHED);
	assert_string_equal(f.fr_exit.re_reason, "entry failed (fake)");
	frun_free(&f);
}

static void
test_runner__halt_waits_for_an_interrupt(void **state)
{
	static const struct fstep s[] = {
	    {VMM_EXIT_HLT, 0, 0, 0, 0, F_IF},   /* sti; hlt: a wait */
	    OUT(0x3f8, 'w'),                    /* after the interrupt */
	    {VMM_EXIT_HLT, 0, 0, 0, 0, F_NOIF}, /* cli; hlt: off */
	};
	struct runner_vcpu_stats st;
	struct frun f;
	int i;

	(void)state;
	frun_start(&f, s, 3, 1);
	for (i = 0; i < 5000; i++) {
		assert_int_equal(runner_vcpu_stats(f.fr_runner, 0, &st), 0);
		if (st.vs_halted)
			break;
		nap();
	}
	assert_int_equal(st.vs_halted, 1);
	assert_int_equal(runner_state(f.fr_runner), RUNNER_RUNNING);
	assert_string_equal(frun_output(&f), "");
	assert_int_equal(runner_interrupt(f.fr_runner, 0, VMM_INTR_IRQ, 40), 0);
	frun_wait(&f);
	assert_string_equal(frun_output(&f), "w");
	assert_string_equal(f.fr_exit.re_reason,
			    "halted with interrupts disabled");
	frun_free(&f);
}

static void
test_runner__every_vcpu_must_halt_for_power_off(void **state)
{
	static const struct fstep s[] = {{VMM_EXIT_HLT, 0, 0, 0, 0, F_NOIF}};
	struct frun f;

	(void)state;
	/* vCPU 0 halts; vCPUs 1..2 were never started and count as
	 * halted: powered off. */
	frun_start(&f, s, 1, 3);
	frun_wait(&f);
	assert_string_equal(f.fr_exit.re_reason,
			    "halted with interrupts disabled");
	frun_free(&f);
}

static void
test_runner__pause_stop_and_counts_of_a_spinning_fake(void **state)
{
	struct frun f;

	(void)state;
	frun_start(&f, NULL, 0, 2);
	assert_int_equal(runner_pause(f.fr_runner), 0);
	assert_int_equal(runner_state(f.fr_runner), RUNNER_PAUSED);
	assert_non_null(runner_vm(f.fr_runner));
	assert_int_equal(runner_reset(f.fr_runner), 0);
	assert_int_equal(runner_state(f.fr_runner), RUNNER_PAUSED);
	assert_int_equal(runner_resume(f.fr_runner), 0);
	assert_int_equal(runner_reset(f.fr_runner), 0);
	assert_int_equal(runner_state(f.fr_runner), RUNNER_RUNNING);
	assert_int_equal(runner_stop(f.fr_runner, 30, 0), 1);
	frun_wait(&f);
	assert_string_equal(f.fr_exit.re_reason, "forced stop");
	assert_int_equal(runner_state(f.fr_runner), RUNNER_STOPPED);
	frun_free(&f);
}

static void
test_runner__interrupt_waits_for_if(void **state)
{
	static const struct fstep s[] = {
	    OUT(0x3f8, 'a'),                       /* IF still off */
	    {VMM_EXIT_IO, 0x3f8, 0, 1, 'b', F_IF}, /* sti */
	    {VMM_EXIT_HLT, 0, 0, 0, 0, F_NOIF},
	};
	struct frun f;
	int i;

	(void)state;
	frun_start_gated(&f, s, 3, 1, 0); /* the guest spins with IF off */
	assert_int_equal(runner_interrupt(f.fr_runner, 0, VMM_INTR_IRQ, 33), 0);
	assert_int_equal(runner_interrupt(f.fr_runner, 0, VMM_INTR_IRQ, 34), 0);
	assert_int_equal(runner_interrupt(f.fr_runner, 0, VMM_INTR_NMI, 2), 0);
	assert_int_equal(runner_interrupt(f.fr_runner, 0, VMM_INTR_IRQ, 256),
			 -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(runner_interrupt(f.fr_runner, 9, VMM_INTR_IRQ, 1), -1);
	assert_int_equal(errno, EINVAL);
	/* The NMI goes in at once; the IRQs wait for IF. */
	for (i = 0; i < 5000; i++) {
		pthread_mutex_lock(&f_lock);
		if (f_ninjected > 0) {
			pthread_mutex_unlock(&f_lock);
			break;
		}
		pthread_mutex_unlock(&f_lock);
		nap();
	}
	fake_open(3);
	frun_wait(&f);
	assert_string_equal(frun_output(&f), "ab");
	/* After the sti only the highest vector went in before the guest
	 * halted with IF off again. */
	pthread_mutex_lock(&f_lock);
	assert_int_equal(f_ninjected, 2);
	assert_int_equal(f_injected[0], -2);
	assert_int_equal(f_injected[1], 34);
	pthread_mutex_unlock(&f_lock);
	frun_free(&f);
}

/*
 * vCPU 0's thread starts on every CPU the caller may use but the one the
 * caller runs on (the caller then waits for the guest's first output: a
 * guest sharing its CPU would hold it), and gets them all back after the
 * guest's first exit.
 */
static void
test_runner__vcpu0_starts_away_from_the_callers_cpu(void **state)
{
	static const struct fstep s[] = {
	    OUT(0x3f8, 'x'),
	    OUT(0x3f8, 'y'),
	    {VMM_EXIT_IO, 0x501, 0, 1, 0, F_NOIF},
	};
	struct frun f;
	cpu_set_t mine;
	int n;

	(void)state;
	assert_int_equal(
	    pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine), 0);
	n = CPU_COUNT(&mine);
	if (n < 2) {
		tskip("this test may only use %d CPU; vCPU 0 then starts "
		      "where it may",
		      n);
	}
	frun_start(&f, s, sizeof(s) / sizeof(s[0]), 1);
	frun_wait(&f);
	assert_int_equal(atomic_load(&f_vcpu0_cpus[0]), n - 1);
	assert_int_equal(atomic_load(&f_vcpu0_cpus[1]), n);
	assert_string_equal(frun_output(&f), "xy");
	frun_free(&f);
}

static void
count_exit(void *cls, const struct runner_exit *ex)
{
	(void)ex;
	__atomic_fetch_add((int *)cls, 1, __ATOMIC_SEQ_CST); /* tests poll it */
}

/*
 * A set-up that fails (the backend refuses the VM, or its vCPU reset)
 * is runner_ready's -1 with the backend's errno, after runner_begin
 * answered 0, and leaves nothing: no VM, no exit callback, the console
 * untouched.
 */
/*
 * A 2-vCPU run of the fake named name, on console c (closed, as a stopped
 * VM's is), counting its ends in *exits; the caller sets the script.
 */
static void
cfg_two_vcpus(struct runner_config *cfg, const char *name, struct console *c,
	      int *exits)
{
	static const uint8_t image[] = {0xeb, 0xfe};

	assert_non_null(c);
	console_close(c);
	memset(cfg, 0, sizeof(*cfg));
	cfg->rc_ops = &fake_ops;
	cfg->rc_name = name;
	cfg->rc_vcpus = 2;
	cfg->rc_memory = 0x2000;
	cfg->rc_image = image;
	cfg->rc_image_len = sizeof(image);
	cfg->rc_load_address = 0x1000;
	cfg->rc_console = c;
	cfg->rc_on_exit = count_exit;
	cfg->rc_cls = exits;
}

/*
 * Between runner_ready and runner_go the guest waits (the caller records
 * the run meanwhile); runner_cancel then frees everything without the
 * guest having run, and runner_go lets it run.
 */
static void
test_runner__the_guest_waits_for_go_and_never_runs_if_cancelled(void **state)
{
	static const struct fstep s[] = {
	    OUT(0x3f8, 'x'),
	    {VMM_EXIT_IO, 0x501, 0, 1, 0, F_NOIF},
	};
	struct timespec pause = {0, 50 * 1000 * 1000}, tick = {0, 10000000};
	struct runner_config cfg;
	struct console *c = console_new(4096, 64);
	struct runner *r;
	int exits = 0, alive, runs, i;
	uint64_t off = 0, lost;
	char buf[8];

	(void)state;
	cfg_two_vcpus(&cfg, "held", c, &exits);
	f_script = s;
	f_script_len = sizeof(s) / sizeof(s[0]);
	f_gate = (size_t)-1;
	pthread_mutex_lock(&f_lock);
	alive = f_vms_alive;
	pthread_mutex_unlock(&f_lock);
	runs = atomic_load(&f_runs);

	assert_int_equal(runner_begin(&cfg, &r), 0);
	assert_int_equal(runner_ready(r), 0);
	nanosleep(&pause, NULL); /* time enough to run, were it allowed */
	assert_int_equal(atomic_load(&f_runs), runs);
	pthread_mutex_lock(&f_lock);
	assert_int_equal(f_vms_alive, alive + 1);
	pthread_mutex_unlock(&f_lock);
	runner_cancel(r);
	assert_int_equal(atomic_load(&f_runs), runs);
	pthread_mutex_lock(&f_lock);
	assert_int_equal(f_vms_alive, alive);
	pthread_mutex_unlock(&f_lock);
	assert_int_equal(exits, 0);
	assert_int_equal(console_is_closed(c), 1);
	assert_int_equal(console_end(c), 0);

	/* The same start, let go: it runs, prints and powers off. */
	assert_int_equal(runner_begin(&cfg, &r), 0);
	assert_int_equal(runner_ready(r), 0);
	runner_go(r);
	for (i = 0; i < 1000 && __atomic_load_n(&exits, __ATOMIC_SEQ_CST) == 0;
	     i++)
		nanosleep(&tick, NULL);
	assert_int_equal(__atomic_load_n(&exits, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(console_read(c, &off, buf, sizeof(buf), &lost), 1);
	assert_int_equal(buf[0], 'x');
	runner_free(r);
	console_free(c);
}

static void
test_runner__a_failed_setup_leaves_nothing_behind(void **state)
{
	struct runner_config cfg;
	struct console *c = console_new(4096, 64);
	struct runner *r;
	int exits = 0, alive;

	(void)state;
	cfg_two_vcpus(&cfg, "refused", c, &exits);
	cfg.rc_memory = 0x4000; /* more than the fake has: EINVAL */
	f_script = NULL;
	f_script_len = 0;
	f_gate = (size_t)-1;
	pthread_mutex_lock(&f_lock);
	alive = f_vms_alive;
	pthread_mutex_unlock(&f_lock);

	assert_int_equal(runner_begin(&cfg, &r), 0);
	assert_int_equal(runner_ready(r), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(runner_start(&cfg, &r), -1);
	assert_int_equal(errno, EINVAL);

	/* Created, then its vCPU refused: destroyed again. */
	cfg.rc_memory = 0x2000;
	pthread_mutex_lock(&f_lock);
	f_reset_errno = EPERM;
	pthread_mutex_unlock(&f_lock);
	assert_int_equal(runner_start(&cfg, &r), -1);
	assert_int_equal(errno, EPERM);
	pthread_mutex_lock(&f_lock);
	f_reset_errno = 0;
	assert_int_equal(f_vms_alive, alive);
	pthread_mutex_unlock(&f_lock);

	assert_int_equal(exits, 0);
	assert_int_equal(console_is_closed(c), 1);
	assert_int_equal(console_end(c), 0);
	console_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_uart__scratch_and_ier_round_trip, tuart_setup,
		tuart_teardown),
	    cmocka_unit_test_setup_teardown(
		test_uart__loopback_echoes_mcr_into_msr, tuart_setup,
		tuart_teardown),
	    cmocka_unit_test_setup_teardown(
		test_uart__iir_reports_fifo_and_thre, tuart_setup,
		tuart_teardown),
	    cmocka_unit_test_setup_teardown(
		test_uart__received_bytes_come_from_the_console, tuart_setup,
		tuart_teardown),
	    cmocka_unit_test_setup_teardown(
		test_uart__dlab_switches_to_the_divisor, tuart_setup,
		tuart_teardown),
	    cmocka_unit_test(test_runner__ports_reach_their_devices),
	    cmocka_unit_test(test_runner__in_gets_the_device_answer),
	    cmocka_unit_test(test_runner__crashes_say_why),
	    cmocka_unit_test(test_runner__halt_waits_for_an_interrupt),
	    cmocka_unit_test(test_runner__every_vcpu_must_halt_for_power_off),
	    cmocka_unit_test(
		test_runner__pause_stop_and_counts_of_a_spinning_fake),
	    cmocka_unit_test(test_runner__interrupt_waits_for_if),
	    cmocka_unit_test(test_runner__a_failed_setup_leaves_nothing_behind),
	    cmocka_unit_test(
		test_runner__the_guest_waits_for_go_and_never_runs_if_cancelled),
	    cmocka_unit_test(
		test_runner__vcpu0_starts_away_from_the_callers_cpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
