/*
 * The runner (see runner.h): one thread per vCPU looping on vcpu_run, the
 * device model answering the exits, and the controls (pause, resume,
 * reset, stop, interrupt) that other threads use.
 *
 * How a vCPU thread and a controller meet: a controller that needs the
 * vCPUs out of vcpu_run (pause, reset) takes a "hold" (r_hold) and kicks
 * them; each thread, back from vcpu_run, sees the hold and parks
 * (r_nparked), and the controller waits until all are parked.  A thread
 * parks only right after an exit that left nothing half-done in the
 * backend (KICKED or HLT): after a port or MMIO exit, KVM completes the
 * instruction on the next KVM_RUN, so the thread kicks itself and runs
 * once more, which completes it and returns at once.  Registers read while
 * paused are therefore architectural.
 *
 * The start of a run: vCPU 0's thread creates the backend VM and loads
 * the image (runner_setup) while the caller of runner_begin goes on (vmrun
 * records the run meanwhile); runner_ready waits for that outcome.  The
 * threads then wait for r_go, which the caller gives with runner_go once
 * the run is on record (or runner_cancel instead).
 *
 * The end of a run: the first reason wins (r_end), every thread leaves
 * its loop, and the last one out destroys the backend VM, closes the
 * console and calls rc_on_exit.
 *
 * A Linux VM (rc_linux): vCPU 0's thread lays the kernel out with
 * lxboot_load and sets vCPU 0's registers to its entry; the other vCPUs'
 * threads enter vcpu_run at once and wait inside the backend for the
 * guest's INIT/SIPI.  The devices raise interrupt lines through the
 * backend (vo_vm_irq_line) on whatever thread changes them: a vCPU's,
 * or the API's that queued console input.  A reboot parks every vCPU,
 * as a reset does, and replaces the backend VM with a new one where the
 * kernel is laid out again: the in-kernel interrupt controllers, timer
 * and local APICs then start from power-on too, which a register reset
 * would not give.
 */
#include "vmm-driver/runner.h"

#include "base/console.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "vmm-driver/backdoor.h"
#include "vmm-driver/cmos.h"
#include "vmm-driver/i8042.h"
#include "vmm-driver/kick.h"
#include "vmm-driver/lxboot.h"
#include "vmm-driver/ppt.h"
#include "vmm-driver/uart.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* vCPU thread stacks: the exit loop needs a few KiB; sanitizers more. */
#if defined(__SANITIZE_ADDRESS__)
#define RUNNER_STACK_SIZE (512 * 1024)
#else
#define RUNNER_STACK_SIZE (64 * 1024)
#endif

/* Real mode reaches 1 MiB: a flat image must end below it. */
#define RUNNER_REAL_MODE_END 0x100000ULL
#define RUNNER_PAGE 4096

#define RUNNER_PORT_DEBUG_EXIT 0x501 /* QEMU's isa-debug-exit */
#define RUNNER_PORT_I8042_CMD 0x64
#define RUNNER_I8042_RESET 0xfe

#define RUNNER_UART_IRQ 4 /* COM1's ISA line */

#define RUNNER_RFLAGS_IF (1ULL << 9)
#define RUNNER_NMI_VECTOR 2
#define RUNNER_NVECTORS 256

/* How long runner_ready, and vCPU 0 waiting for runner_go, spin before
 * they sleep (see runner_spin). */
#define RUNNER_READY_SPIN_US 300
#define RUNNER_GO_SPIN_US 500

/* Console bytes gathered from one exit before they are handed over. */
#define RUNNER_TX_BATCH 64

/* What the vCPU thread does about an exit once it holds r_lock again. */
enum runner_act {
	RUNNER_ACT_RUN,      /* run again */
	RUNNER_ACT_POWEROFF, /* debug-exit port: ra_status */
	RUNNER_ACT_CRASH,    /* ra_text */
	RUNNER_ACT_RESET,    /* i8042 reset of a flat VM */
	RUNNER_ACT_REBOOT,   /* a Linux guest's reboot: ra_text says how */
	RUNNER_ACT_WAIT,     /* HLT with IF=1 */
	RUNNER_ACT_DONE,     /* HLT with IF=0 */
};

struct runner_action {
	enum runner_act ra_act;
	int ra_status;
	unsigned ra_unknown_reads, ra_unknown_writes;
	char ra_text[sizeof(((struct runner_exit *)0)->re_reason)];
};

struct runner_vcpu {
	struct runner *rv_runner;
	unsigned rv_id;
	pthread_t rv_thread;
	int rv_started; /* rv_thread exists (set before r_go) */
	/* Guarded by r_lock: */
	int rv_in_run;  /* between releasing r_lock for vcpu_run and back */
	int rv_clean;   /* nothing half-done in the backend */
	int rv_parked;  /* counted in r_nparked */
	int rv_waiting; /* HLT with IF=1: waits for an interrupt */
	int rv_done;    /* HLT with IF=0, counted in r_ndone */
	int rv_sipi;    /* an AP that was never started: only a reset or
			   the end wakes it */
	int rv_nmi;     /* an NMI waits for injection */
	unsigned rv_nirqs;
	uint32_t rv_irqs[RUNNER_NVECTORS / 32]; /* vectors waiting */
	struct runner_vcpu_stats rv_stats;
	/* The vCPU thread's own: */
	struct vmm_exit rv_exit;
};

struct runner {
	const struct vmm_ops *r_ops;
	char *r_name;
	void *r_image; /* a copy: reset reloads it */
	size_t r_image_len;
	uint64_t r_load;
	uint64_t r_memory;
	uint16_t r_entry;
	struct console *r_console;
	void (*r_on_exit)(void *cls, const struct runner_exit *ex);
	void *r_cls;
	struct uart r_uart;          /* its own lock */
	struct backdoor *r_backdoor; /* NULL: none; its own lock */
	int r_backdoor_any_cpl;      /* vo_backdoor_any_cpl, at the start */
	/* A Linux VM's (r_linux set; borrowed, outlives the runner): */
	const struct lxboot_config *r_linux;
	int r_reboot_restarts;
	struct cmos r_cmos;   /* its own lock */
	struct i8042 r_i8042; /* its own lock */
	char *r_why;          /* rc_why */
	/* Passthrough devices (rc_pptdevs), attached by runner_setup;
	 * r_ppt is set before the vCPUs run and cleared after. */
	struct ppt_dev_config r_pptdevs[PPT_MAX_DEVS];
	unsigned r_npptdevs;
	struct ppt *r_ppt;
	size_t r_why_len;
	/* The VM the devices' interrupt lines go to: written only while
	 * no device has its line callback set (runner_lines), read by the
	 * callbacks under the device's lock. */
	struct vmm_vm *r_irq_vm;

	pthread_mutex_t r_lock;
	pthread_cond_t r_cond; /* vCPU threads wait on it */
	pthread_cond_t r_ctl;  /* controllers wait on it (monotonic) */
	/* Guarded by r_lock (r_go and r_setup_done are atomic as well, for
	 * runner_spin, which reads them without it): */
	struct vmm_vm *r_vm; /* NULL once destroyed */
	enum runner_state r_state;
	atomic_int r_go;         /* start-up: threads may run */
	int r_abort;             /* start-up: threads must leave */
	int r_spawned;           /* every vCPU thread exists (runner_begin) */
	atomic_int r_setup_done; /* vCPU 0's thread set the VM up, or failed */
	int r_setup_err;         /* how it failed (errno), 0: it did not */
	int r_end;               /* the run is ending: r_exit says how */
	int r_ended;             /* the VM is gone and rc_on_exit returned */
	int r_forced;            /* a stop had to force the end */
	struct runner_exit r_exit;
	unsigned r_hold; /* holders that want every vCPU parked */
	unsigned r_nparked;
	unsigned r_ndone;
	unsigned r_nlive;    /* vCPU threads not yet gone */
	unsigned r_vm_users; /* controllers using r_vm without r_lock */
	int r_pausing;
	int r_resetting;
	int r_guest_reset;     /* the guest asked for a reset (holds r_hold) */
	unsigned r_restarts;   /* Linux kernel restarts (runner_restarts) */
	char r_reboot_why[64]; /* what asked for the pending restart */
	/* vCPU 0's thread starts on CPUs other than runner_begin's caller's
	 * (runner_away); r_cpus is what it may use after its first exit.
	 * Set before the threads start, then vCPU 0's thread's own: */
	int r_away;
#ifdef __linux__
	cpu_set_t r_cpus;
#endif
	unsigned r_nvcpus;
	struct runner_vcpu r_vcpus[];
};

/* Kicks every vCPU inside vcpu_run (r_lock held, so the VM exists). */
static void
runner_kick_all(struct runner *r)
{
	unsigned i;

	for (i = 0; i < r->r_nvcpus; i++)
		if (r->r_vcpus[i].rv_in_run)
			(void)r->r_ops->vo_vcpu_kick(r->r_vm, i);
}

/* Decides how the run ends; the first decision wins.  r_lock held. */
static void
runner_end(struct runner *r, enum runner_state state, const char *reason,
	   int has_status, int status)
{
	if (r->r_end)
		return;
	r->r_end = 1;
	r->r_exit.re_state = state;
	snprintf(r->r_exit.re_reason, sizeof(r->r_exit.re_reason), "%s",
		 reason);
	r->r_exit.re_has_status = has_status;
	r->r_exit.re_status = status;
	pthread_cond_broadcast(&r->r_cond);
	pthread_cond_broadcast(&r->r_ctl);
	runner_kick_all(r);
}

/* The state vCPU 0 starts a flat image in: real mode at 0:entry. */
static void
runner_flat_regs(const struct runner *r, struct vmm_regs *regs)
{
	vmm_regs_poweron(regs);
	regs->rg_sregs[VMM_CS].sg_selector = 0;
	regs->rg_sregs[VMM_CS].sg_base = 0;
	regs->rg_gprs[VMM_RIP] = r->r_entry;
}

/*
 * Zeroes guest RAM page by page, writing only pages that hold something:
 * pages the guest never touched stay unallocated.
 */
static void
runner_zero(uint8_t *mem, uint64_t size)
{
	uint64_t off, i;

	for (off = 0; off < size; off += RUNNER_PAGE) {
		uint64_t n =
		    size - off < RUNNER_PAGE ? size - off : RUNNER_PAGE;
		const uint8_t *p = mem + off;

		for (i = 0; i < n && p[i] == 0; i++)
			;
		if (i < n)
			memset(mem + off, 0, n);
	}
}

/* Loads the image and sets vCPU 0 to its entry (vCPUs parked or new). */
static int
runner_load(struct runner *r, int clear)
{
	struct vmm_regs regs;
	uint64_t size;
	uint8_t *mem;
	unsigned i;

	mem = r->r_ops->vo_vm_memory(r->r_vm, &size);
	if (clear)
		runner_zero(mem, size);
	if (r->r_image_len > 0)
		memcpy(mem + r->r_load, r->r_image, r->r_image_len);
	runner_flat_regs(r, &regs);
	if (r->r_ops->vo_vcpu_reset(r->r_vm, 0, &regs,
				    VMM_REGS_GPRS | VMM_REGS_SREGS) != 0)
		return -1;
	/* APs start (and return to) the power-on state and wait there (no
	 * SIPI).  At start they are new: the backend makes that cheap. */
	for (i = 1; i < r->r_nvcpus; i++)
		if (r->r_ops->vo_vcpu_reset(r->r_vm, i, NULL, 0) != 0)
			return -1;
	return 0;
}

/* The runner's view of every vCPU after a load.  r_lock held. */
static void
runner_vcpus_init(struct runner *r)
{
	unsigned i;

	for (i = 0; i < r->r_nvcpus; i++) {
		struct runner_vcpu *rv = &r->r_vcpus[i];

		rv->rv_clean = 1;
		rv->rv_waiting = 0;
		/* A Linux VM's APs wait for INIT/SIPI inside the backend. */
		rv->rv_done = rv->rv_sipi = i != 0 && r->r_linux == NULL;
		rv->rv_nmi = 0;
		rv->rv_nirqs = 0;
		memset(rv->rv_irqs, 0, sizeof(rv->rv_irqs));
	}
	r->r_ndone = r->r_linux == NULL ? r->r_nvcpus - 1 : 0;
}

/* The devices' lines of a Linux VM, to the backend (see runner_lines). */
static void
runner_uart_line(void *cls, int level)
{
	struct runner *r = cls;

	if (r->r_ops->vo_vm_irq_line(r->r_irq_vm, RUNNER_UART_IRQ, level) != 0)
		log_warn("vm %s: IRQ %d to %d", r->r_name, RUNNER_UART_IRQ,
			 level);
}

static void
runner_i8042_line(void *cls, unsigned irq, int level)
{
	struct runner *r = cls;

	if (r->r_ops->vo_vm_irq_line(r->r_irq_vm, irq, level) != 0)
		log_warn("vm %s: IRQ %u to %d", r->r_name, irq, level);
}

/* Console input from the API: the UART may interrupt the guest. */
static void
runner_console_input(void *arg)
{
	struct runner *r = arg;

	uart_input(&r->r_uart);
}

/*
 * Connects a Linux VM's device interrupt lines, and the console's input
 * announcements, to vm; NULL disconnects them, after which no callback
 * is under way (so vm may be destroyed).  Without r_lock: the callbacks
 * run under the devices' locks, and the console's listener is waited
 * for.
 */
static void
runner_lines(struct runner *r, struct vmm_vm *vm)
{
	if (vm == NULL) {
		console_input_listen(r->r_console, NULL, NULL);
		uart_set_irq(&r->r_uart, NULL, NULL);
		i8042_set_irq(&r->r_i8042, NULL, NULL);
		r->r_irq_vm = NULL;
		return;
	}
	r->r_irq_vm = vm;
	uart_set_irq(&r->r_uart, runner_uart_line, r);
	i8042_set_irq(&r->r_i8042, runner_i8042_line, r);
	console_input_listen(r->r_console, runner_console_input, r);
}

/*
 * Lays the Linux kernel out in vm's RAM (fresh: zeroed) and sets vCPU 0
 * to its entry, every register group.  -1 with errno, and lxboot_load's
 * sentence in why when it refused the kernel.
 */
static int
runner_linux_load(struct runner *r, struct vmm_vm *vm, char *why, size_t len)
{
	struct lxboot_info info;
	struct lxboot_config lc = *r->r_linux;
	struct mptable_pci_irq pci[PPT_MAX_DEVS];
	struct vmm_regs regs;
	uint64_t size;
	uint8_t *mem = r->r_ops->vo_vm_memory(vm, &size);
	int err;

	memset(&regs, 0, sizeof(regs));
	memset(&info, 0, sizeof(info));
	if (len > 0)
		why[0] = '\0';
	/* The passthrough devices' pins, attached before (r_ppt). */
	lc.lc_pci_irqs = pci;
	lc.lc_npci_irqs = ppt_mptable_irqs(r->r_ppt, pci);
	if (lxboot_load(&lc, mem, size, &regs, &info, why, len) != 0) {
		err = errno;
		if (len > 0 && why[0] == '\0')
			snprintf(why, len, "the kernel could not be loaded: %s",
				 strerror(err));
		log_warnx("vm %s: %s", r->r_name, len > 0 ? why : "");
		errno = err;
		return -1;
	}
	log_info("vm %s: %s kernel (boot protocol %u.%02u), %s%s, "
		 "decompressed in %llu us, entry 0x%llx, initrd at 0x%llx",
		 r->r_name, info.li_format != NULL ? info.li_format : "?",
		 info.li_protocol >> 8, info.li_protocol & 0xff,
		 info.li_compression != NULL ? info.li_compression : "?",
		 info.li_cache_hit ? " (cached)" : "",
		 (unsigned long long)(info.li_decompress_ns / 1000),
		 (unsigned long long)info.li_entry,
		 (unsigned long long)info.li_initrd_gpa);
	return r->r_ops->vo_vcpu_set_regs(vm, 0, &regs, VMM_REGS_ALL);
}

/*
 * A Linux guest starts again (every vCPU parked, no r_lock): the old
 * backend VM goes, a new one gets the kernel, the devices start from
 * power-on (the RTC keeps its time), passthrough devices too: detached
 * (vfio-pci resets them) and attached to the new VM, whose RAM is new
 * (their DMA maps the old VM's).  *out is the new VM, or NULL with -1
 * and errno, and a sentence in why.
 */
static int
runner_linux_restart(struct runner *r, struct vmm_vm *old, struct vmm_vm **out,
		     char *why, size_t len)
{
	struct vmm_create_params cp;
	struct vmm_vm *vm;
	int err;

	*out = NULL;
	runner_lines(r, NULL);
	r->r_ops->vo_vm_destroy(old);
	ppt_detach(r->r_ppt);
	r->r_ppt = NULL;
	uart_reset(&r->r_uart);
	i8042_reset(&r->r_i8042);
	if (r->r_backdoor != NULL)
		backdoor_reset(r->r_backdoor);
	memset(&cp, 0, sizeof(cp));
	cp.cp_name = r->r_name;
	cp.cp_vcpus = r->r_nvcpus;
	cp.cp_memory = r->r_memory;
	cp.cp_linux = 1;
	cp.cp_cpuid_vmware = r->r_backdoor != NULL;
	if (r->r_ops->vo_vm_create(&cp, &vm) != 0) {
		snprintf(why, len, "creating the VM again failed: %s",
			 strerror(errno));
		return -1;
	}
	if ((r->r_npptdevs > 0 &&
	     ppt_attach(r->r_ops, vm, r->r_pptdevs, r->r_npptdevs, 1, &r->r_ppt,
			why, len) != 0) ||
	    runner_linux_load(r, vm, why, len) != 0) {
		err = errno;
		r->r_ops->vo_vm_destroy(vm);
		ppt_detach(r->r_ppt);
		r->r_ppt = NULL;
		errno = err;
		return -1;
	}
	runner_lines(r, vm);
	*out = vm;
	return 0;
}

/*
 * Resets the VM while every vCPU is parked (r_lock held, dropped while
 * the VM is rewritten).  A failure crashes the run.
 */
static int
runner_reset_parked(struct runner *r)
{
	char text[sizeof(r->r_exit.re_reason)], why[160];
	struct vmm_vm *old = NULL, *vm = NULL;
	int rc, err = 0;

	r->r_resetting = 1;
	r->r_vm_users++;
	if (r->r_linux != NULL) {
		/* Replaced: nothing may kick or use it meanwhile (every vCPU
		 * is parked, and controllers see r_resetting). */
		old = r->r_vm;
		r->r_vm = NULL;
	}
	pthread_mutex_unlock(&r->r_lock);
	if (r->r_linux != NULL) {
		if ((rc = runner_linux_restart(r, old, &vm, why,
					       sizeof(why))) != 0)
			err = errno;
	} else {
		uart_reset(&r->r_uart);
		/* The guest that opened them is gone: so are its channels. */
		if (r->r_backdoor != NULL)
			backdoor_reset(r->r_backdoor);
		if ((rc = runner_load(r, 1)) != 0)
			err = errno;
	}
	pthread_mutex_lock(&r->r_lock);
	if (r->r_linux != NULL) {
		r->r_vm = vm;
		if (rc == 0) {
			r->r_restarts++;
			log_info("vm %s: %s: the kernel starts again (restart "
				 "%u)",
				 r->r_name, r->r_reboot_why, r->r_restarts);
		}
	}
	r->r_vm_users--;
	r->r_resetting = 0;
	runner_vcpus_init(r);
	pthread_cond_broadcast(&r->r_ctl);
	if (rc != 0) {
		if (r->r_linux != NULL)
			snprintf(text, sizeof(text), "restart failed: %s", why);
		else
			snprintf(text, sizeof(text), "reset failed: %s",
				 strerror(err));
		runner_end(r, RUNNER_CRASHED, text, 0, 0);
		errno = err;
	}
	return rc;
}

/*
 * Waits until every vCPU is parked and no reset is under way.  r_lock
 * held.  -1 when the run ends meanwhile; the hold is taken either way
 * (runner_release drops it).
 */
static int
runner_hold(struct runner *r)
{
	r->r_hold++;
	runner_kick_all(r);
	pthread_cond_broadcast(&r->r_cond);
	while (!r->r_end && (r->r_nparked < r->r_nvcpus || r->r_guest_reset ||
			     r->r_resetting))
		pthread_cond_wait(&r->r_ctl, &r->r_lock);
	return r->r_end ? -1 : 0;
}

static void
runner_release(struct runner *r)
{
	if (--r->r_hold == 0)
		pthread_cond_broadcast(&r->r_cond);
}

enum runner_go { RUNNER_LEAVE, RUNNER_RUN, RUNNER_COMPLETE };

/*
 * Waits (r_lock held) until vCPU rv may enter vcpu_run: not held, not
 * waiting in HLT without an interrupt, not done.  RUNNER_COMPLETE: a hold
 * came while an instruction is half-done; run once, kicked, to finish it.
 */
static enum runner_go
runner_vcpu_wait(struct runner *r, struct runner_vcpu *rv)
{
	for (;;) {
		if (r->r_end)
			return RUNNER_LEAVE;
		if (r->r_hold > 0) {
			if (!rv->rv_clean) {
				(void)r->r_ops->vo_vcpu_kick(r->r_vm,
							     rv->rv_id);
				return RUNNER_COMPLETE;
			}
			if (!rv->rv_parked) {
				rv->rv_parked = 1;
				r->r_nparked++;
				pthread_cond_broadcast(&r->r_ctl);
			}
			if (r->r_guest_reset && !r->r_resetting &&
			    r->r_nparked == r->r_nvcpus) {
				r->r_guest_reset = 0;
				(void)runner_reset_parked(r);
				runner_release(r);
				continue;
			}
			pthread_cond_wait(&r->r_cond, &r->r_lock);
			continue;
		}
		if (rv->rv_parked) {
			rv->rv_parked = 0;
			r->r_nparked--;
		}
		if ((rv->rv_done && (rv->rv_sipi || !rv->rv_nmi)) ||
		    (rv->rv_waiting && !rv->rv_nmi && rv->rv_nirqs == 0)) {
			pthread_cond_wait(&r->r_cond, &r->r_lock);
			continue;
		}
		if (rv->rv_done) { /* an NMI wakes even cli; hlt */
			rv->rv_done = 0;
			r->r_ndone--;
		}
		rv->rv_waiting = 0;
		return RUNNER_RUN;
	}
}

/* Hands the backend what is queued for rv, if it takes it now. r_lock. */
static void
runner_inject(struct runner *r, struct runner_vcpu *rv)
{
	const struct vmm_ops *ops = r->r_ops;
	int v;

	if (rv->rv_nmi) {
		if (ops->vo_vcpu_interrupt(r->r_vm, rv->rv_id, VMM_INTR_NMI,
					   RUNNER_NMI_VECTOR) == 0)
			rv->rv_nmi = 0;
		else if (errno != EAGAIN) {
			log_warn("vm %s: vcpu %u: NMI dropped", r->r_name,
				 rv->rv_id);
			rv->rv_nmi = 0;
		}
	}
	if (rv->rv_nirqs == 0)
		return;
	/* The highest vector first, as a local APIC would. */
	for (v = RUNNER_NVECTORS - 1; v >= 0; v--)
		if (rv->rv_irqs[v / 32] & 1u << (v % 32))
			break;
	if (ops->vo_vcpu_interrupt(r->r_vm, rv->rv_id, VMM_INTR_IRQ,
				   (unsigned)v) != 0) {
		/* EAGAIN: the backend asked to be told when the guest can
		 * take it (an early return from vcpu_run); keep it. */
		if (errno == EAGAIN)
			return;
		log_warn("vm %s: vcpu %u: interrupt %d dropped", r->r_name,
			 rv->rv_id, v);
	}
	rv->rv_irqs[v / 32] &= ~(1u << (v % 32));
	rv->rv_nirqs--;
}

/* The little-endian value of a port access. */
static uint32_t
runner_io_value(const uint8_t *d, unsigned size)
{
	uint32_t v = 0;
	unsigned i;

	for (i = 0; i < size && i < 4; i++)
		v |= (uint32_t)d[i] << (8 * i);
	return v;
}

/* A register the backdoor set to now (was: before it): the 32-bit write. */
static void
runner_reg32(uint64_t *reg, uint32_t was, uint32_t now)
{
	if (now != was)
		*reg = now;
}

/*
 * Whether the vCPU that made a backdoor call on BACKDOOR_PORT (rflags
 * its RFLAGS) may also use BACKDOOR_PORT_HB, so that the answer may
 * offer the high-bandwidth path: open-vm-tools takes it whenever offered,
 * and a `rep insb` its process may not make faults (SIGSEGV in a Linux
 * guest) instead of falling back.
 *
 * Yes where the backend passes the backdoor's ports at any privilege
 * (r_backdoor_any_cpl: KVM with enable_vmware_backdoor=1, whose #GP
 * path emulates IN, OUT, INS and OUTS alike on both ports --
 * is_vmware_backdoor_opcode, emulator_io_port_access_allowed in Linux
 * 6.1), in real mode (no privilege), and where CPL <= IOPL (every port
 * is the caller's).  Otherwise the call came through the TSS's I/O
 * permission bitmap (a process granted port 0x5658 with ioperm), which
 * may or may not grant 0x5659 and is not read here: no, and the caller
 * stays on the low-bandwidth path, which it has shown it can use.  The
 * CPL is SS's DPL (the SDM: always equal); in virtual-8086 mode the
 * bitmap alone decides: no.  When the registers cannot be read: no.
 */
static int
runner_backdoor_hb_ok(struct runner *r, struct runner_vcpu *rv, uint64_t rflags)
{
	struct vmm_regs sr;
	unsigned cpl, iopl = (unsigned)(rflags >> 12) & 3;

	if (r->r_backdoor_any_cpl)
		return 1;
	if (r->r_ops->vo_vcpu_get_regs(r->r_vm, rv->rv_id, &sr,
				       VMM_REGS_SREGS | VMM_REGS_CRS) != 0)
		return 0;
	if (!(sr.rg_crs[VMM_CR0] & 1)) /* CR0.PE */
		return 1;
	if (rflags & (1u << 17)) /* RFLAGS.VM */
		return 0;
	cpl = (sr.rg_sregs[VMM_SS].sg_ar >> 5) & 3;
	return cpl <= iopl;
}

/*
 * The backdoor's ports (backdoor.h): reads the vCPU's registers, lets the
 * backdoor answer, writes back what it changed and, for the `in`, the
 * data.  0 when the access is not the backdoor's (no backdoor, another
 * port or width, no magic): the caller treats the port as unknown.  On
 * KVM the IN completes on the next KVM_RUN on top of the registers
 * written here, as QEMU's vmport relies on; the sim does the same.
 */
static int
runner_backdoor(struct runner *r, struct runner_vcpu *rv,
		const struct vmm_exit *ex, struct runner_action *act)
{
	uint16_t port = ex->ex_io.io_port;
	struct backdoor_regs br, old;
	struct vmm_regs regs;
	uint64_t *g = regs.rg_gprs;
	uint8_t *d = ex->ex_io.io_data;
	int hit;

	if (r->r_backdoor == NULL)
		return 0;
	if (port == BACKDOOR_PORT) {
		if (!ex->ex_io.io_in || ex->ex_io.io_size != 4 ||
		    ex->ex_io.io_count != 1)
			return 0;
	} else if (port != BACKDOOR_PORT_HB || ex->ex_io.io_size != 1) {
		return 0;
	}
	if (r->r_ops->vo_vcpu_get_regs(r->r_vm, rv->rv_id, &regs,
				       VMM_REGS_GPRS) != 0) {
		act->ra_act = RUNNER_ACT_CRASH;
		snprintf(act->ra_text, sizeof(act->ra_text),
			 "reading vCPU %u's registers for the backdoor "
			 "failed: %s",
			 rv->rv_id, strerror(errno));
		return 1;
	}
	br.br_eax = (uint32_t)g[VMM_RAX];
	br.br_ebx = (uint32_t)g[VMM_RBX];
	br.br_ecx = (uint32_t)g[VMM_RCX];
	br.br_edx = (uint32_t)g[VMM_RDX];
	br.br_esi = (uint32_t)g[VMM_RSI];
	br.br_edi = (uint32_t)g[VMM_RDI];
	br.br_ebp = (uint32_t)g[VMM_RBP];
	old = br;
	if (port == BACKDOOR_PORT)
		hit = backdoor_call(
		    r->r_backdoor, &br,
		    backdoor_call_offers_hb(&br) &&
			    !runner_backdoor_hb_ok(r, rv, g[VMM_RFLAGS])
			? BACKDOOR_CALL_NO_HB
			: 0);
	else
		hit = backdoor_hb(r->r_backdoor, &br, ex->ex_io.io_in, d,
				  ex->ex_io.io_count);
	if (!hit)
		return 0;
	if (port == BACKDOOR_PORT) {
		d[0] = (uint8_t)br.br_eax;
		d[1] = (uint8_t)(br.br_eax >> 8);
		d[2] = (uint8_t)(br.br_eax >> 16);
		d[3] = (uint8_t)(br.br_eax >> 24);
	}
	if (memcmp(&br, &old, sizeof(br)) == 0)
		return 1;
	/*
	 * Only the registers the backdoor changed, each as a 32-bit write
	 * is made (zero-extended).  The others keep all 64 bits: a 64-bit
	 * caller's compiler keeps pointers in registers its asm does not
	 * name (open-vm-tools' Backdoor_InOut leaves rbp to it), and
	 * truncating them made vmware-rpctool fault on its stack.
	 */
	runner_reg32(&g[VMM_RAX], old.br_eax, br.br_eax);
	runner_reg32(&g[VMM_RBX], old.br_ebx, br.br_ebx);
	runner_reg32(&g[VMM_RCX], old.br_ecx, br.br_ecx);
	runner_reg32(&g[VMM_RDX], old.br_edx, br.br_edx);
	runner_reg32(&g[VMM_RSI], old.br_esi, br.br_esi);
	runner_reg32(&g[VMM_RDI], old.br_edi, br.br_edi);
	runner_reg32(&g[VMM_RBP], old.br_ebp, br.br_ebp);
	if (r->r_ops->vo_vcpu_set_regs(r->r_vm, rv->rv_id, &regs,
				       VMM_REGS_GPRS) != 0) {
		act->ra_act = RUNNER_ACT_CRASH;
		snprintf(act->ra_text, sizeof(act->ra_text),
			 "writing vCPU %u's registers for the backdoor "
			 "failed: %s",
			 rv->rv_id, strerror(errno));
	}
	return 1;
}

/* Port I/O: the device model.  Runs without r_lock. */
/*
 * A Linux VM's own devices: the CMOS RTC and the keyboard controller,
 * byte-wide.  0 when the access (one repetition, data at d) is not
 * theirs.
 */
static int
runner_io_linux(struct runner *r, const struct vmm_exit *ex, uint8_t *d,
		struct runner_action *act)
{
	uint16_t port = ex->ex_io.io_port;
	int cmos = port == CMOS_PORT_INDEX || port == CMOS_PORT_DATA;
	int kbd = port == I8042_PORT_DATA || port == I8042_PORT_CMD;

	if ((!cmos && !kbd) || ex->ex_io.io_size != 1)
		return 0;
	if (cmos && ex->ex_io.io_in)
		d[0] = cmos_read(&r->r_cmos, port);
	else if (cmos)
		cmos_write(&r->r_cmos, port, d[0]);
	else if (ex->ex_io.io_in)
		d[0] = i8042_read(&r->r_i8042, port);
	else if (i8042_write(&r->r_i8042, port, d[0]) &&
		 act->ra_act == RUNNER_ACT_RUN) {
		act->ra_act = RUNNER_ACT_REBOOT;
		snprintf(act->ra_text, sizeof(act->ra_text),
			 "keyboard controller reset");
	}
	return 1;
}

static void
runner_io(struct runner *r, struct runner_vcpu *rv, const struct vmm_exit *ex,
	  struct runner_action *act)
{
	uint8_t tx[RUNNER_TX_BATCH];
	size_t ntx = 0;
	unsigned size = ex->ex_io.io_size, i, b;
	uint32_t n;

	if (runner_backdoor(r, rv, ex, act))
		return;
	for (n = 0; n < ex->ex_io.io_count; n++) {
		uint8_t *d = ex->ex_io.io_data + (size_t)n * size;
		uint16_t port = ex->ex_io.io_port;
		int unknown = 0;

		if (port == RUNNER_PORT_DEBUG_EXIT && !ex->ex_io.io_in) {
			act->ra_act = RUNNER_ACT_POWEROFF;
			act->ra_status = (int)runner_io_value(d, size);
			break;
		}
		if (r->r_linux != NULL && runner_io_linux(r, ex, d, act))
			continue;
		if (r->r_ppt != NULL &&
		    ppt_io(r->r_ppt, port, size, ex->ex_io.io_in, d))
			continue;
		if (port == RUNNER_PORT_I8042_CMD && !ex->ex_io.io_in) {
			/* Other controller commands mean nothing here. */
			if (d[0] == RUNNER_I8042_RESET) {
				act->ra_act = RUNNER_ACT_RESET;
				break;
			}
			continue;
		}
		for (b = 0; b < size; b++) {
			i = (uint16_t)(port + b) - UART_COM1_BASE;
			if (i >= UART_NPORTS) {
				unknown = 1;
				if (ex->ex_io.io_in)
					d[b] =
					    0xff; /* nothing drives the bus */
			} else if (ex->ex_io.io_in) {
				d[b] = uart_read(&r->r_uart, i);
			} else if (uart_write(&r->r_uart, i, d[b], &tx[ntx]) &&
				   ++ntx == sizeof(tx)) {
				console_put(r->r_console, tx, ntx);
				ntx = 0;
			}
		}
		if (unknown) {
			if (ex->ex_io.io_in)
				act->ra_unknown_reads++;
			else
				act->ra_unknown_writes++;
		}
	}
	if (ntx > 0)
		console_put(r->r_console, tx, ntx);
}

/* Works out what an exit means, without r_lock (devices, registers). */
static void
runner_exit_handle(struct runner *r, struct runner_vcpu *rv,
		   const struct vmm_exit *ex, struct runner_action *act)
{
	struct vmm_regs regs;
	unsigned groups = VMM_REGS_GPRS;

	act->ra_act = RUNNER_ACT_RUN;
	switch (ex->ex_kind) {
	case VMM_EXIT_IO:
		runner_io(r, rv, ex, act);
		return;
	case VMM_EXIT_MMIO: /* no MMIO devices: reads float, writes vanish */
	case VMM_EXIT_KICKED:
		return;
	case VMM_EXIT_HLT:
	case VMM_EXIT_SHUTDOWN:
		if (r->r_linux != NULL) {
			/* HLT waits in the backend's local APIC; a triple
			 * fault is how Linux's reboot=t resets. */
			if (ex->ex_kind == VMM_EXIT_SHUTDOWN) {
				act->ra_act = RUNNER_ACT_REBOOT;
				snprintf(act->ra_text, sizeof(act->ra_text),
					 "triple fault");
			}
			return;
		}
		if (ex->ex_kind == VMM_EXIT_SHUTDOWN)
			groups |= VMM_REGS_SREGS;
		if (r->r_ops->vo_vcpu_get_regs(r->r_vm, rv->rv_id, &regs,
					       groups) != 0) {
			act->ra_act = RUNNER_ACT_CRASH;
			snprintf(act->ra_text, sizeof(act->ra_text),
				 "reading vCPU %u's registers failed: %s",
				 rv->rv_id, strerror(errno));
			return;
		}
		if (ex->ex_kind == VMM_EXIT_SHUTDOWN) {
			act->ra_act = RUNNER_ACT_CRASH;
			snprintf(act->ra_text, sizeof(act->ra_text),
				 "triple fault at %04x:%04llx",
				 regs.rg_sregs[VMM_CS].sg_selector,
				 (unsigned long long)regs.rg_gprs[VMM_RIP]);
		} else if (regs.rg_gprs[VMM_RFLAGS] & RUNNER_RFLAGS_IF) {
			act->ra_act = RUNNER_ACT_WAIT;
		} else {
			act->ra_act = RUNNER_ACT_DONE;
		}
		return;
	case VMM_EXIT_FAIL_ENTRY:
	case VMM_EXIT_INTERNAL:
	case VMM_EXIT_UNSUPPORTED:
		act->ra_act = RUNNER_ACT_CRASH;
		snprintf(act->ra_text, sizeof(act->ra_text), "%s",
			 ex->ex_text[0] != '\0'
			     ? ex->ex_text
			     : "the backend stopped the vCPU");
		return;
	}
	act->ra_act = RUNNER_ACT_CRASH;
	snprintf(act->ra_text, sizeof(act->ra_text),
		 "the backend returned exit kind %d", (int)ex->ex_kind);
}

/*
 * The guest asked for a reset (a Linux guest: a restart): every vCPU
 * parks, and the last to park does it (runner_vcpu_wait).  r_lock held.
 */
static void
runner_guest_reset(struct runner *r)
{
	if (r->r_guest_reset)
		return;
	r->r_guest_reset = 1;
	r->r_hold++;
	runner_kick_all(r);
	pthread_cond_broadcast(&r->r_cond);
}

/* Applies what an exit meant.  r_lock held. */
static void
runner_exit_apply(struct runner *r, struct runner_vcpu *rv,
		  const struct vmm_exit *ex, const struct runner_action *act)
{
	struct runner_vcpu_stats *st = &rv->rv_stats;

	switch (ex->ex_kind) {
	case VMM_EXIT_IO:
		st->vs_exits_io++;
		break;
	case VMM_EXIT_MMIO:
		st->vs_exits_mmio++;
		break;
	case VMM_EXIT_HLT:
		st->vs_exits_hlt++;
		break;
	default:
		st->vs_exits_other++;
		break;
	}
	st->vs_unknown_port_reads += act->ra_unknown_reads;
	st->vs_unknown_port_writes += act->ra_unknown_writes;

	switch (act->ra_act) {
	case RUNNER_ACT_RUN:
		break;
	case RUNNER_ACT_POWEROFF:
		runner_end(r, RUNNER_STOPPED, "debug-exit port", 1,
			   act->ra_status);
		break;
	case RUNNER_ACT_CRASH:
		runner_end(r, RUNNER_CRASHED, act->ra_text, 0, 0);
		break;
	case RUNNER_ACT_REBOOT:
		if (!r->r_reboot_restarts) {
			log_info("vm %s: guest rebooted (%s), on_reboot: stop",
				 r->r_name, act->ra_text);
			runner_end(r, RUNNER_STOPPED,
				   "guest rebooted (on_reboot: stop)", 0, 0);
			break;
		}
		if (!r->r_guest_reset)
			snprintf(r->r_reboot_why, sizeof(r->r_reboot_why),
				 "guest rebooted (%.40s)", act->ra_text);
		runner_guest_reset(r);
		break;
	case RUNNER_ACT_RESET:
		runner_guest_reset(r);
		break;
	case RUNNER_ACT_WAIT:
		rv->rv_waiting = 1;
		break;
	case RUNNER_ACT_DONE:
		rv->rv_done = 1;
		if (++r->r_ndone == r->r_nvcpus)
			runner_end(r, RUNNER_STOPPED,
				   "halted with interrupts disabled", 0, 0);
		break;
	}
}

/*
 * The last vCPU thread out ends the run: the VM is destroyed, the console
 * closed, rc_on_exit called (on this thread's small stack: the callback
 * should hand work off, as vmrun's does).  r_lock held (dropped
 * meanwhile).
 */
static void
runner_vcpu_leave(struct runner *r)
{
	struct vmm_vm *vm;

	if (--r->r_nlive > 0 || r->r_abort)
		return;
	while (r->r_vm_users > 0)
		pthread_cond_wait(&r->r_ctl, &r->r_lock);
	vm = r->r_vm;
	r->r_vm = NULL;
	r->r_state = r->r_exit.re_state;
	pthread_mutex_unlock(&r->r_lock);

	if (r->r_linux != NULL)
		runner_lines(r, NULL);
	if (vm != NULL) /* NULL: a restart failed */
		r->r_ops->vo_vm_destroy(vm);
	/* After the VM: its slots map the devices' BARs. */
	ppt_detach(r->r_ppt);
	r->r_ppt = NULL;
	console_close(r->r_console);
	if (r->r_on_exit != NULL)
		r->r_on_exit(r->r_cls, &r->r_exit);

	pthread_mutex_lock(&r->r_lock);
	r->r_ended = 1;
	pthread_cond_broadcast(&r->r_ctl);
}

/*
 * Waits up to us for *flag, yielding the CPU between looks, so that a wait
 * that is usually short ends without a sleep and the cross-CPU wake-up
 * after it (~100 µs on the kvm_pvm host).  The caller then waits on its
 * condition as usual.  Used only at a start, for a few hundred µs.
 */
static void
runner_spin(atomic_int *flag, unsigned us)
{
	uint64_t until = timefmt_mono_us() + us;

	while (!atomic_load(flag) && timefmt_mono_us() < until)
		sched_yield();
}

/*
 * The set-up of a run, on vCPU 0's thread: creates the backend VM and
 * loads the image; once every vCPU thread exists, r_setup_done tells
 * runner_ready.  On success the threads wait for runner_go (r_go), which
 * opens the console; when anything failed, they leave at once.  Nothing
 * of a run reaches the console before it is open, and a failed start
 * leaves the console as it was.
 */
static void
runner_setup(struct runner *r)
{
	struct vmm_create_params cp;
	struct vmm_vm *vm;
	int err = 0;

	memset(&cp, 0, sizeof(cp));
	cp.cp_name = r->r_name;
	cp.cp_vcpus = r->r_nvcpus;
	cp.cp_memory = r->r_memory;
	cp.cp_linux = r->r_linux != NULL;
	/* VMware's tools talk only to a VM whose CPUID says VMware. */
	cp.cp_cpuid_vmware = r->r_backdoor != NULL;
	if (r->r_ops->vo_vm_create(&cp, &vm) != 0) {
		err = errno;
		if (r->r_why != NULL)
			snprintf(r->r_why, r->r_why_len,
				 "creating the VM failed: %s", strerror(err));
	} else {
		pthread_mutex_lock(&r->r_lock);
		r->r_vm = vm;
		pthread_mutex_unlock(&r->r_lock);
		/* A Linux VM's devices first: the MP table lists their
		 * pins.  Whatever the kernel said when a device cannot be
		 * this VM's, the reason is in r_why. */
		if (r->r_linux != NULL) {
			if (r->r_npptdevs > 0 &&
			    ppt_attach(r->r_ops, vm, r->r_pptdevs,
				       r->r_npptdevs, 1, &r->r_ppt, r->r_why,
				       r->r_why_len) != 0)
				err = ENXIO;
			else if (runner_linux_load(r, vm, r->r_why,
						   r->r_why_len) != 0)
				err = errno;
		} else if (runner_load(r, 0) != 0) {
			err = errno;
		} else if (r->r_npptdevs > 0 &&
			   ppt_attach(r->r_ops, vm, r->r_pptdevs, r->r_npptdevs,
				      0, &r->r_ppt, r->r_why,
				      r->r_why_len) != 0) {
			err = ENXIO;
		}
	}

	pthread_mutex_lock(&r->r_lock);
	while (!r->r_spawned && !r->r_abort)
		pthread_cond_wait(&r->r_cond, &r->r_lock);
	if (err == 0 && !r->r_abort) {
		runner_vcpus_init(r);
	} else {
		r->r_abort = 1;
		r->r_end = 1; /* threads leave without touching the VM */
		r->r_go = 1;
		if (err == 0)
			err = ECANCELED; /* runner_begin knows why */
	}
	r->r_setup_err = err;
	r->r_setup_done = 1;
	pthread_cond_broadcast(&r->r_cond);
	pthread_cond_broadcast(&r->r_ctl);
	pthread_mutex_unlock(&r->r_lock);
}

/*
 * Makes attr start vCPU 0's thread on the CPUs the caller may use but the
 * one it runs on, when there are any (r_away).  The caller commits the
 * run's record and then waits for the guest's first output; a guest on
 * its CPU would hold that CPU while it executes (a time slice, or until
 * its first exit, as the kernel decides: ~400 µs of a start on the
 * kvm_pvm host, where guest code runs under instruction emulation).
 * vCPU 0's thread goes back to every CPU after the guest's first exit.
 */
#ifdef __linux__
static void
runner_away(struct runner *r, pthread_attr_t *attr)
{
	cpu_set_t away;
	int cpu = sched_getcpu();

	r->r_away = 0;
	if (cpu < 0 || cpu >= CPU_SETSIZE ||
	    pthread_getaffinity_np(pthread_self(), sizeof(r->r_cpus),
				   &r->r_cpus) != 0)
		return;
	away = r->r_cpus;
	CPU_CLR(cpu, &away);
	if (CPU_COUNT(&away) == 0 ||
	    pthread_attr_setaffinity_np(attr, sizeof(away), &away) != 0)
		return;
	r->r_away = 1;
}

/* attr starts the other vCPUs' threads on the caller's CPUs again. */
static void
runner_everywhere(struct runner *r, pthread_attr_t *attr)
{
	if (r->r_away)
		(void)pthread_attr_setaffinity_np(attr, sizeof(r->r_cpus),
						  &r->r_cpus);
}

/* vCPU 0's thread, after the guest's first exit: every CPU again. */
static void
runner_come_back(struct runner *r)
{
	r->r_away = 0;
	(void)pthread_setaffinity_np(pthread_self(), sizeof(r->r_cpus),
				     &r->r_cpus);
}
#else /* no portable CPU affinity: threads start where they may */
static void
runner_away(struct runner *r, pthread_attr_t *attr)
{
	(void)attr;
	r->r_away = 0;
}

static void
runner_everywhere(struct runner *r, pthread_attr_t *attr)
{
	(void)r;
	(void)attr;
}

static void
runner_come_back(struct runner *r)
{
	r->r_away = 0;
}
#endif

static void *
runner_vcpu_main(void *arg)
{
	struct runner_vcpu *rv = arg;
	struct runner *r = rv->rv_runner;
	struct vmm_exit *ex = &rv->rv_exit;
	struct runner_action act;
	enum runner_go go;
	char tname[16];
	sigset_t kick;
	int rc, err;

	/* Everything was blocked at creation; only kicks get through. */
	sigemptyset(&kick);
	sigaddset(&kick, VMM_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	/* Named here, not by the creator: off the start's path. */
	snprintf(tname, sizeof(tname), "vcpu%u/%s", rv->rv_id, r->r_name);
	(void)pthread_setname_np(pthread_self(), tname);

	if (rv->rv_id == 0) {
		runner_setup(r);
		/* The record's commit is under way: see runner_spin. */
		runner_spin(&r->r_go, RUNNER_GO_SPIN_US);
	}
	pthread_mutex_lock(&r->r_lock);
	while (!r->r_go)
		pthread_cond_wait(&r->r_cond, &r->r_lock);
	while ((go = runner_vcpu_wait(r, rv)) != RUNNER_LEAVE) {
		if (go == RUNNER_RUN)
			runner_inject(r, rv);
		rv->rv_in_run = 1;
		pthread_mutex_unlock(&r->r_lock);

		memset(&act, 0, sizeof(act));
		rc = r->r_ops->vo_vcpu_run(r->r_vm, rv->rv_id, ex);
		err = errno;
		if (rv->rv_id == 0 && r->r_away)
			runner_come_back(r);
		if (rc != 0) {
			act.ra_act = RUNNER_ACT_CRASH;
			snprintf(act.ra_text, sizeof(act.ra_text),
				 "running vCPU %u failed: %s", rv->rv_id,
				 strerror(err));
			ex->ex_kind = VMM_EXIT_INTERNAL;
		} else {
			runner_exit_handle(r, rv, ex, &act);
		}

		pthread_mutex_lock(&r->r_lock);
		rv->rv_in_run = 0;
		rv->rv_clean = ex->ex_kind == VMM_EXIT_KICKED ||
			       ex->ex_kind == VMM_EXIT_HLT;
		runner_exit_apply(r, rv, ex, &act);
	}
	runner_vcpu_leave(r);
	pthread_mutex_unlock(&r->r_lock);
	return NULL;
}

static int
runner_config_check(const struct runner_config *cfg)
{
	uint64_t end = cfg->rc_load_address + cfg->rc_image_len;

	if (cfg->rc_ops == NULL || cfg->rc_console == NULL ||
	    cfg->rc_vcpus < 1 || cfg->rc_vcpus > VMM_MAX_VCPUS ||
	    cfg->rc_memory == 0 ||
	    (cfg->rc_image == NULL && cfg->rc_image_len > 0) ||
	    (cfg->rc_why == NULL && cfg->rc_why_len > 0))
		return -1;
	if (cfg->rc_npptdevs > PPT_MAX_DEVS ||
	    (cfg->rc_npptdevs > 0 && cfg->rc_pptdevs == NULL))
		return -1;
	/* lxboot_load checks the kernel against RAM; no flat image. */
	if (cfg->rc_linux != NULL)
		return cfg->rc_image_len == 0 ? 0 : -1;
	/* The image must lie in RAM and where real mode reaches it. */
	if (end < cfg->rc_load_address || end > cfg->rc_memory ||
	    end > RUNNER_REAL_MODE_END)
		return -1;
	return 0;
}

/* Frees what runner_start built; the threads are gone. */
static void
runner_destroy(struct runner *r)
{
	cmos_destroy(&r->r_cmos);
	i8042_destroy(&r->r_i8042);
	uart_destroy(&r->r_uart);
	backdoor_free(r->r_backdoor);
	pthread_cond_destroy(&r->r_ctl);
	pthread_cond_destroy(&r->r_cond);
	pthread_mutex_destroy(&r->r_lock);
	free(r->r_image);
	free(r->r_name);
	free(r);
}

/* Lock, condition variables (controllers wait on the monotonic clock). */
static int
runner_sync_init(struct runner *r)
{
	pthread_condattr_t ca;
	int err;

	if ((err = pthread_mutex_init(&r->r_lock, NULL)) != 0)
		goto fail;
	if ((err = pthread_cond_init(&r->r_cond, NULL)) != 0) {
		pthread_mutex_destroy(&r->r_lock);
		goto fail;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	err = pthread_cond_init(&r->r_ctl, &ca);
	pthread_condattr_destroy(&ca);
	if (err != 0) {
		pthread_cond_destroy(&r->r_cond);
		pthread_mutex_destroy(&r->r_lock);
		goto fail;
	}
	if (uart_init(&r->r_uart, r->r_console) != 0) {
		err = errno;
		pthread_cond_destroy(&r->r_ctl);
		pthread_cond_destroy(&r->r_cond);
		pthread_mutex_destroy(&r->r_lock);
		goto fail;
	}
	if (cmos_init(&r->r_cmos, r->r_memory, NULL, NULL) != 0) {
		err = errno;
		uart_destroy(&r->r_uart);
		pthread_cond_destroy(&r->r_ctl);
		pthread_cond_destroy(&r->r_cond);
		pthread_mutex_destroy(&r->r_lock);
		goto fail;
	}
	if (i8042_init(&r->r_i8042) != 0) {
		err = errno;
		cmos_destroy(&r->r_cmos);
		uart_destroy(&r->r_uart);
		pthread_cond_destroy(&r->r_ctl);
		pthread_cond_destroy(&r->r_cond);
		pthread_mutex_destroy(&r->r_lock);
		goto fail;
	}
	return 0;
fail:
	errno = err;
	return -1;
}

/*
 * Starts the vCPU threads, blocked from every signal but the kick; vCPU
 * 0's first, as it sets the VM up.
 */
static int
runner_threads_start(struct runner *r)
{
	pthread_attr_t attr;
	sigset_t all, old;
	unsigned i;
	int err = 0;

	if ((err = pthread_attr_init(&attr)) != 0) {
		errno = err;
		return -1;
	}
	pthread_attr_setstacksize(&attr, RUNNER_STACK_SIZE);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < r->r_nvcpus; i++) {
		struct runner_vcpu *rv = &r->r_vcpus[i];

		if (i == 0)
			runner_away(r, &attr);
		else if (i == 1) /* before vCPU 0 can run */
			runner_everywhere(r, &attr);
		err =
		    pthread_create(&rv->rv_thread, &attr, runner_vcpu_main, rv);
		if (err != 0)
			break;
		rv->rv_started = 1;
		r->r_nlive++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

/* Waits for the threads runner_threads_start made. */
static void
runner_threads_join(struct runner *r)
{
	unsigned i;

	for (i = 0; i < r->r_nvcpus; i++)
		if (r->r_vcpus[i].rv_started) {
			pthread_join(r->r_vcpus[i].rv_thread, NULL);
			r->r_vcpus[i].rv_started = 0;
		}
}

/*
 * Frees a runner whose run never started: joins its threads, then
 * destroys the VM set-up made, if it made one.
 */
static void
runner_discard(struct runner *r)
{
	runner_threads_join(r);
	if (r->r_vm != NULL)
		r->r_ops->vo_vm_destroy(r->r_vm);
	ppt_detach(r->r_ppt);
	runner_destroy(r);
}

/*
 * Starts one thread per vCPU; vCPU 0's creates the VM and loads the image
 * meanwhile (runner_setup).  The image and name are copied; rc_console is
 * borrowed and opened for the run once the VM is ready.
 */
int
runner_begin(const struct runner_config *cfg, struct runner **out)
{
	struct runner *r;
	unsigned i;
	int err;

	if (cfg == NULL || runner_config_check(cfg) != 0) {
		errno = EINVAL;
		return -1;
	}
	/* A thread that unblocks the kick signal must never die of it,
	 * whatever the backend. */
	if (vmm_kick_init() != 0)
		return -1;
	r = calloc(1, sizeof(*r) + cfg->rc_vcpus * sizeof(r->r_vcpus[0]));
	if (r == NULL)
		return -1;
	r->r_ops = cfg->rc_ops;
	r->r_nvcpus = cfg->rc_vcpus;
	r->r_memory = cfg->rc_memory;
	r->r_load = cfg->rc_load_address;
	r->r_entry = cfg->rc_entry;
	r->r_console = cfg->rc_console;
	r->r_on_exit = cfg->rc_on_exit;
	r->r_cls = cfg->rc_cls;
	r->r_linux = cfg->rc_linux;
	r->r_reboot_restarts = cfg->rc_reboot_restarts;
	r->r_why = cfg->rc_why;
	r->r_why_len = cfg->rc_why_len;
	r->r_npptdevs = cfg->rc_npptdevs;
	if (cfg->rc_npptdevs > 0)
		memcpy(r->r_pptdevs, cfg->rc_pptdevs,
		       cfg->rc_npptdevs * sizeof(r->r_pptdevs[0]));
	r->r_state = RUNNER_RUNNING;
	r->r_name = strdup(cfg->rc_name != NULL ? cfg->rc_name : "");
	r->r_image_len = cfg->rc_image_len;
	r->r_image = malloc(cfg->rc_image_len > 0 ? cfg->rc_image_len : 1);
	if (r->r_name == NULL || r->r_image == NULL) {
		free(r->r_image);
		free(r->r_name);
		free(r);
		errno = ENOMEM;
		return -1;
	}
	if (cfg->rc_image_len > 0)
		memcpy(r->r_image, cfg->rc_image, cfg->rc_image_len);
	for (i = 0; i < r->r_nvcpus; i++) {
		r->r_vcpus[i].rv_runner = r;
		r->r_vcpus[i].rv_id = i;
	}
	r->r_backdoor_any_cpl = r->r_ops->vo_backdoor_any_cpl != NULL &&
				r->r_ops->vo_backdoor_any_cpl();
	if (cfg->rc_guestinfo != NULL &&
	    (r->r_backdoor = backdoor_new(cfg->rc_guestinfo)) == NULL) {
		free(r->r_image);
		free(r->r_name);
		free(r);
		errno = ENOMEM;
		return -1;
	}
	if (runner_sync_init(r) != 0) {
		err = errno;
		backdoor_free(r->r_backdoor);
		free(r->r_image);
		free(r->r_name);
		free(r);
		errno = err;
		return -1;
	}

	if (runner_threads_start(r) != 0) {
		err = errno;
		/* vCPU 0's thread, if it exists, finishes its set-up first. */
		runner_cancel(r);
		errno = err;
		return -1;
	}
	pthread_mutex_lock(&r->r_lock);
	r->r_spawned = 1;
	pthread_cond_broadcast(&r->r_cond);
	pthread_mutex_unlock(&r->r_lock);
	*out = r;
	return 0;
}

/*
 * Waits for runner_setup.  On failure the threads are gone, and so are
 * the VM and the runner: nothing is left behind.
 */
int
runner_ready(struct runner *r)
{
	int err;

	/* The caller committed the run's record meanwhile; the set-up
	 * mostly ends within a few hundred µs of that. */
	runner_spin(&r->r_setup_done, RUNNER_READY_SPIN_US);
	pthread_mutex_lock(&r->r_lock);
	while (!r->r_setup_done)
		pthread_cond_wait(&r->r_ctl, &r->r_lock);
	err = r->r_setup_err;
	pthread_mutex_unlock(&r->r_lock);
	if (err == 0)
		return 0;
	runner_discard(r);
	errno = err;
	return -1;
}

/* runner_begin, then runner_ready: the run has started, or nothing is. */
int
runner_start(const struct runner_config *cfg, struct runner **out)
{
	struct runner *r;

	if (runner_begin(cfg, &r) != 0 || runner_ready(r) != 0)
		return -1;
	runner_go(r);
	*out = r;
	return 0;
}

/*
 * Lets a run that runner_ready reported ready go: the console is opened
 * for it and every vCPU thread enters the guest.
 */
void
runner_go(struct runner *r)
{
	struct vmm_vm *vm;

	console_open(r->r_console);
	pthread_mutex_lock(&r->r_lock);
	vm = r->r_vm;
	/* The caller's buffer is not there for restarts. */
	r->r_why = NULL;
	r->r_why_len = 0;
	pthread_mutex_unlock(&r->r_lock);
	if (r->r_linux != NULL)
		runner_lines(r, vm);
	pthread_mutex_lock(&r->r_lock);
	r->r_go = 1;
	pthread_cond_broadcast(&r->r_cond);
	pthread_mutex_unlock(&r->r_lock);
}

/*
 * Instead of runner_go: the guest never runs, and the threads, the VM and
 * the runner are gone (the console untouched, rc_on_exit not called).
 */
void
runner_cancel(struct runner *r)
{
	pthread_mutex_lock(&r->r_lock);
	r->r_abort = 1;
	r->r_end = 1;
	r->r_go = 1;
	pthread_cond_broadcast(&r->r_cond);
	pthread_mutex_unlock(&r->r_lock);
	runner_discard(r);
}

/* Parks every vCPU; EINVAL unless running (or when the run ends). */
int
runner_pause(struct runner *r)
{
	int rc;

	pthread_mutex_lock(&r->r_lock);
	if (r->r_end || r->r_state != RUNNER_RUNNING || r->r_pausing) {
		pthread_mutex_unlock(&r->r_lock);
		errno = EINVAL;
		return -1;
	}
	r->r_pausing = 1;
	rc = runner_hold(r);
	r->r_pausing = 0;
	if (rc != 0) {
		runner_release(r);
		pthread_mutex_unlock(&r->r_lock);
		errno = EINVAL;
		return -1;
	}
	r->r_state = RUNNER_PAUSED;
	pthread_mutex_unlock(&r->r_lock);
	return 0;
}

/* Lets the vCPUs run again; EINVAL unless paused. */
int
runner_resume(struct runner *r)
{
	pthread_mutex_lock(&r->r_lock);
	if (r->r_end || r->r_state != RUNNER_PAUSED) {
		pthread_mutex_unlock(&r->r_lock);
		errno = EINVAL;
		return -1;
	}
	r->r_state = RUNNER_RUNNING;
	runner_release(r);
	pthread_mutex_unlock(&r->r_lock);
	return 0;
}

/*
 * Power-on state, memory cleared, image reloaded; the pause state stays.
 * EINVAL when the run ended; a reset the backend refuses crashes the run
 * (-1 with its errno).
 */
int
runner_reset(struct runner *r)
{
	int rc;

	pthread_mutex_lock(&r->r_lock);
	if (r->r_end) {
		pthread_mutex_unlock(&r->r_lock);
		errno = EINVAL;
		return -1;
	}
	snprintf(r->r_reboot_why, sizeof(r->r_reboot_why), "reset by request");
	if (runner_hold(r) != 0) {
		runner_release(r);
		pthread_mutex_unlock(&r->r_lock);
		errno = EINVAL;
		return -1;
	}
	rc = runner_reset_parked(r);
	runner_release(r);
	pthread_mutex_unlock(&r->r_lock);
	return rc;
}

/* A deadline timeout_ms from now on the monotonic clock. */
static void
runner_deadline(struct timespec *ts, unsigned timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Waits up to timeout_ms for the guest to power off (not while paused: a
 * paused guest cannot), then forces the end ("forced stop").  Returns
 * once rc_on_exit has returned: 1 when the end was forced, else 0.
 * Not from rc_on_exit (it would wait for itself), and not while holding
 * a lock that rc_on_exit takes.
 */
int
runner_stop(struct runner *r, unsigned timeout_ms, int force)
{
	struct timespec deadline;
	int forced;

	pthread_mutex_lock(&r->r_lock);
	if (!force && !r->r_end && r->r_state == RUNNER_RUNNING) {
		runner_deadline(&deadline, timeout_ms);
		while (!r->r_end &&
		       pthread_cond_timedwait(&r->r_ctl, &r->r_lock,
					      &deadline) != ETIMEDOUT)
			;
	}
	if (!r->r_end) {
		r->r_forced = 1;
		runner_end(r, RUNNER_STOPPED, "forced stop", 0, 0);
	}
	while (!r->r_ended)
		pthread_cond_wait(&r->r_ctl, &r->r_lock);
	forced = r->r_forced;
	pthread_mutex_unlock(&r->r_lock);
	return forced;
}

/* Under r_lock: the restarts so far. */
unsigned
runner_restarts(struct runner *r)
{
	unsigned n;

	pthread_mutex_lock(&r->r_lock);
	n = r->r_restarts;
	pthread_mutex_unlock(&r->r_lock);
	return n;
}

/* Running or paused; once the end is decided, how it ended. */
enum runner_state
runner_state(struct runner *r)
{
	enum runner_state s;

	pthread_mutex_lock(&r->r_lock);
	s = r->r_end ? r->r_exit.re_state : r->r_state;
	pthread_mutex_unlock(&r->r_lock);
	return s;
}

/* Counters of vCPU id; EINVAL for no such vCPU. */
int
runner_vcpu_stats(struct runner *r, unsigned id, struct runner_vcpu_stats *st)
{
	if (id >= r->r_nvcpus) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&r->r_lock);
	*st = r->r_vcpus[id].rv_stats;
	st->vs_halted = r->r_vcpus[id].rv_waiting || r->r_vcpus[id].rv_done;
	pthread_mutex_unlock(&r->r_lock);
	return 0;
}

/*
 * Queues the interrupt and wakes (or kicks) vCPU id so that its thread
 * injects it.  One pending IRQ per vector; NMIs collapse into one.
 */
int
runner_interrupt(struct runner *r, unsigned id, enum vmm_intr_type type,
		 unsigned vector)
{
	struct runner_vcpu *rv;

	if (id >= r->r_nvcpus ||
	    (type != VMM_INTR_IRQ && type != VMM_INTR_NMI) ||
	    (type == VMM_INTR_IRQ && vector >= RUNNER_NVECTORS)) {
		errno = EINVAL;
		return -1;
	}
	rv = &r->r_vcpus[id];
	pthread_mutex_lock(&r->r_lock);
	if (r->r_end) {
		pthread_mutex_unlock(&r->r_lock);
		errno = EINVAL;
		return -1;
	}
	if (type == VMM_INTR_NMI) {
		rv->rv_nmi = 1;
	} else if (!(rv->rv_irqs[vector / 32] & 1u << (vector % 32))) {
		rv->rv_irqs[vector / 32] |= 1u << (vector % 32);
		rv->rv_nirqs++;
	}
	pthread_cond_broadcast(&r->r_cond);
	if (rv->rv_in_run)
		(void)r->r_ops->vo_vcpu_kick(r->r_vm, id);
	pthread_mutex_unlock(&r->r_lock);
	return 0;
}

/*
 * The backend VM while the run lasts, NULL after.  Register, params and
 * protect operations on it belong between runner_pause and
 * runner_resume, and must not overlap a runner_stop (the stop destroys
 * the VM): the caller serializes them.
 */
struct vmm_vm *
runner_vm(struct runner *r)
{
	struct vmm_vm *vm;

	pthread_mutex_lock(&r->r_lock);
	vm = r->r_vm;
	pthread_mutex_unlock(&r->r_lock);
	return vm;
}

/* Fixed at runner_start: no lock needed. */
unsigned
runner_vcpus(const struct runner *r)
{
	return r->r_nvcpus;
}

/* Fixed at runner_start, like the vCPU count. */
uint64_t
runner_memory(const struct runner *r)
{
	return r->r_memory;
}

/*
 * The start of a driver operation on the paused VM: EBUSY unless paused
 * (and no reset under way), ENOENT for a vCPU past the last (id
 * RUNNER_ANY_VCPU: none named).  On success r_vm stays valid until
 * runner_op_end: a stop waits for r_vm_users.
 */
#define RUNNER_ANY_VCPU (~0u)

static int
runner_op_begin(struct runner *r, unsigned id)
{
	if (id != RUNNER_ANY_VCPU && id >= r->r_nvcpus) {
		errno = ENOENT;
		return -1;
	}
	pthread_mutex_lock(&r->r_lock);
	if (r->r_end || r->r_vm == NULL || r->r_state != RUNNER_PAUSED ||
	    r->r_resetting || r->r_nparked < r->r_nvcpus) {
		pthread_mutex_unlock(&r->r_lock);
		errno = EBUSY;
		return -1;
	}
	r->r_vm_users++;
	pthread_mutex_unlock(&r->r_lock);
	return 0;
}

static void
runner_op_end(struct runner *r)
{
	int err = errno;

	pthread_mutex_lock(&r->r_lock);
	r->r_vm_users--;
	pthread_cond_broadcast(&r->r_ctl);
	pthread_mutex_unlock(&r->r_lock);
	errno = err;
}

/* A backend operation missing from the table is one it cannot do. */
#define RUNNER_OP_CALL(r, op, ...)                                             \
	((r)->r_ops->op != NULL ? (r)->r_ops->op(__VA_ARGS__)                  \
				: (errno = ENOTSUP, -1))

/* vcpu_get_regs while paused; see runner.h for the errors. */
int
runner_vcpu_get_regs(struct runner *r, unsigned id, struct vmm_regs *regs,
		     unsigned groups)
{
	int rc;

	if (runner_op_begin(r, id) != 0)
		return -1;
	rc = RUNNER_OP_CALL(r, vo_vcpu_get_regs, r->r_vm, id, regs, groups);
	runner_op_end(r);
	return rc;
}

/* vcpu_set_regs while paused; see runner.h for the errors. */
int
runner_vcpu_set_regs(struct runner *r, unsigned id, const struct vmm_regs *regs,
		     unsigned groups)
{
	int rc;

	if (runner_op_begin(r, id) != 0)
		return -1;
	rc = RUNNER_OP_CALL(r, vo_vcpu_set_regs, r->r_vm, id, regs, groups);
	runner_op_end(r);
	return rc;
}

/* vm_get_params while paused. */
int
runner_params_get(struct runner *r, struct vmm_params *p)
{
	int rc;

	if (runner_op_begin(r, RUNNER_ANY_VCPU) != 0)
		return -1;
	rc = RUNNER_OP_CALL(r, vo_vm_get_params, r->r_vm, p);
	runner_op_end(r);
	return rc;
}

/* vm_set_params while paused. */
int
runner_params_set(struct runner *r, const struct vmm_params *p)
{
	int rc;

	if (runner_op_begin(r, RUNNER_ANY_VCPU) != 0)
		return -1;
	rc = RUNNER_OP_CALL(r, vo_vm_set_params, r->r_vm, p);
	runner_op_end(r);
	return rc;
}

/* vm_protect while paused. */
int
runner_protect(struct runner *r, uint64_t gpa, uint64_t size, unsigned prot)
{
	int rc;

	if (runner_op_begin(r, RUNNER_ANY_VCPU) != 0)
		return -1;
	rc = RUNNER_OP_CALL(r, vo_vm_protect, r->r_vm, gpa, size, prot);
	runner_op_end(r);
	return rc;
}

/*
 * One vCPU back to its power-on state (vCPU 0 to the flat entry), and
 * the runner's view of it with it: nothing queued, not waiting in HLT;
 * a secondary vCPU waits for a start-up IPI again, as at start.
 */
int
runner_vcpu_reset(struct runner *r, unsigned id)
{
	struct vmm_regs regs;
	struct runner_vcpu *rv;
	int rc;

	if (r->r_linux != NULL) {
		/* KVM would leave the vCPU's local APIC as it is. */
		errno = ENOTSUP;
		return -1;
	}
	if (runner_op_begin(r, id) != 0)
		return -1;
	if (id == 0) {
		runner_flat_regs(r, &regs);
		rc = RUNNER_OP_CALL(r, vo_vcpu_reset, r->r_vm, 0, &regs,
				    VMM_REGS_GPRS | VMM_REGS_SREGS);
	} else {
		rc = RUNNER_OP_CALL(r, vo_vcpu_reset, r->r_vm, id, NULL, 0);
	}
	if (rc == 0) {
		rv = &r->r_vcpus[id];
		pthread_mutex_lock(&r->r_lock);
		rv->rv_waiting = 0;
		rv->rv_nmi = 0;
		rv->rv_nirqs = 0;
		memset(rv->rv_irqs, 0, sizeof(rv->rv_irqs));
		rv->rv_sipi = id != 0;
		if (rv->rv_done && id == 0) {
			rv->rv_done = 0;
			r->r_ndone--;
		} else if (!rv->rv_done && id != 0) {
			rv->rv_done = 1;
			/* Nothing left that could run: the end a guest gets
			 * by halting every vCPU (the VM stays until
			 * runner_op_end, as r_vm_users holds it). */
			if (++r->r_ndone == r->r_nvcpus)
				runner_end(r, RUNNER_STOPPED,
					   "halted with interrupts disabled", 0,
					   0);
		}
		pthread_mutex_unlock(&r->r_lock);
	}
	runner_op_end(r);
	return rc;
}

/* Ends the run first if it still lasts (forced), then frees. */
void
runner_free(struct runner *r)
{
	int ended;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->r_lock);
	ended = r->r_ended;
	pthread_mutex_unlock(&r->r_lock);
	if (!ended)
		(void)runner_stop(r, 0, 1);
	runner_threads_join(r);
	runner_destroy(r);
}
