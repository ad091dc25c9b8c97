/*
 * The runner: owns the vCPU threads of one running VM and its small device
 * model.  Each vCPU thread loops on the backend's vcpu_run and answers the
 * exits:
 *   - COM1, a 16550 UART at 0x3f8-0x3ff: output to the VM's console,
 *     input from it (LSR data-ready), the registers a Linux 8250 driver
 *     probes answered sensibly (vmm-driver/uart.c);
 *   - the debug-exit port 0x501 (QEMU's isa-debug-exit): a write powers
 *     the VM off with that value as its exit status;
 *   - the i8042 reset (0x64 <- 0xfe): the VM resets;
 *   - HLT with interrupts disabled on every vCPU: powered off;
 *   - triple fault: crashed ("triple fault at cs:rip");
 *   - a Linux VM (rc_linux) differs: the backend's in-kernel interrupt
 *     controllers and PIT, the UART raising IRQ 4, a CMOS RTC at 0x70
 *     (vmm-driver/cmos.h), a keyboard controller at 0x60/0x64
 *     (vmm-driver/i8042.h); HLT never reaches the runner, so halting
 *     every vCPU is no power-off (Linux's `poweroff -f` without ACPI
 *     halts them: the run goes on until stopped); a reboot (the i8042
 *     reset, a triple fault) starts the kernel again in a new backend
 *     VM or ends the run, as rc_reboot_restarts says;
 *   - failed entry, internal errors, unsupported instructions: crashed,
 *     with the hardware reason;
 *   - the VMware backdoor (vmm-driver/backdoor.h) on ports 0x5658 (a
 *     32-bit `in`) and 0x5659 (byte string I/O), when rc_guestinfo is
 *     set: the vCPU's registers are read, answered and written back;
 *   - other ports: reads return all-ones, writes are ignored and counted.
 * A guest's fault or hang never blocks the caller: every call below
 * returns within its timeout, and a forced stop kicks the vCPUs out of
 * vcpu_run.
 *
 * Locking: one mutex per runner guards its state; the console has its own.
 */
#ifndef VMMAPID_VMM_DRIVER_RUNNER_H
#define VMMAPID_VMM_DRIVER_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "vmm-driver/vmm.h"

struct backdoor_store;
struct lxboot_config;
struct ppt_dev_config;
struct console;
struct runner;

enum runner_state {
	RUNNER_RUNNING = 1,
	RUNNER_PAUSED,
	RUNNER_STOPPED, /* powered off: by the guest, or stopped */
	RUNNER_CRASHED,
};

/* How a run ended; given to rc_on_exit once. */
struct runner_exit {
	enum runner_state re_state; /* RUNNER_STOPPED or RUNNER_CRASHED */
	char re_reason[200]; /* "debug-exit port", "halted with interrupts
				disabled", "stopped by request", "forced stop",
				"triple fault at 0000:1003", ... */
	int re_has_status;   /* the debug-exit port gave a status */
	int re_status;
};

struct runner_config {
	const struct vmm_ops *rc_ops;
	const char *rc_name;
	unsigned rc_vcpus;
	uint64_t rc_memory; /* bytes */
	/* Flat boot: the image is copied to rc_load_address; vCPU 0 starts
	 * in real mode at cs:ip = 0:rc_entry, the others wait halted. */
	const void *rc_image;
	size_t rc_image_len;
	uint64_t rc_load_address;
	uint16_t rc_entry;
	struct console *rc_console; /* borrowed; outlives the runner */
	/* Called once when the run ends, from a runner thread, after the
	 * backend's VM is destroyed; not for a start that failed.  It must
	 * not call runner_free. */
	void (*rc_on_exit)(void *cls, const struct runner_exit *ex);
	void *rc_cls;
	/* Borrowed; outlives the runner.  Its callbacks run on vCPU
	 * threads, one at a time per VM.  NULL: no backdoor, its ports are
	 * like any unknown port. */
	const struct backdoor_store *rc_guestinfo;
	/* Linux boot (vmm-driver/lxboot.h) instead of the flat image when
	 * not NULL (borrowed; outlives the runner): vCPU 0 enters the kernel
	 * in 64-bit mode, the others wait for the guest's INIT/SIPI. */
	const struct lxboot_config *rc_linux;
	/* A guest's reboot (i8042 reset, triple fault): 1 starts the guest
	 * again from its kernel, 0 ends the run RUNNER_STOPPED ("guest
	 * rebooted (on_reboot: stop)").  Linux VMs only. */
	int rc_reboot_restarts;
	/* PCI devices handed to the guest through VFIO (vmm-driver/ppt.h),
	 * rc_npptdevs of them (copied), attached when the VM is made (a
	 * Linux VM's again after each reboot); a device that cannot be is
	 * a set-up failure with ENXIO and the reason in rc_why. */
	const struct ppt_dev_config *rc_pptdevs;
	unsigned rc_npptdevs;
	/* Where a set-up that fails says why in a sentence (lxboot_load's,
	 * for a kernel it refuses), NUL-terminated, written before
	 * runner_ready returns -1; NULL: not wanted. */
	char *rc_why;
	size_t rc_why_len;
};

/*
 * Creates the VM, loads the image, starts the vCPU threads.  -1 with
 * errno (EINVAL: the image does not fit; the backend's errno otherwise)
 * and nothing left behind.  runner_begin, runner_ready, runner_go.
 */
int runner_start(const struct runner_config *cfg, struct runner **out);

/*
 * runner_start in steps, so that the caller can do something else (record
 * the run) while the VM is being set up.  runner_begin checks the
 * configuration (EINVAL as above) and starts the vCPU threads, vCPU 0's
 * creating the VM and loading the image; it returns without waiting for
 * that.
 *
 * runner_ready waits for the set-up: 0 when the VM is ready, or -1 with
 * the backend's errno, the runner then freed (nothing left behind,
 * rc_on_exit never called, the console neither opened nor written).  It
 * must be called once, before any other call on the runner.
 *
 * After a 0 from runner_ready, exactly one of: runner_go, which opens the
 * console and lets the guest run (it may end at once: rc_on_exit is
 * called as usual); or runner_cancel, which frees everything without the
 * guest having run an instruction (the console untouched).  The guest
 * waits for this on purpose: on the kvm_pvm host the run's record
 * committed ~4 times slower while the guest executed (docs/benchmarks.md),
 * and a run nobody could record never starts.
 */
int runner_begin(const struct runner_config *cfg, struct runner **out);
int runner_ready(struct runner *r);
void runner_go(struct runner *r);
void runner_cancel(struct runner *r);

/* Every vCPU out of vcpu_run and parked / running again. EINVAL if the
 * runner is not running / paused. */
int runner_pause(struct runner *r);
int runner_resume(struct runner *r);

/* Resets every vCPU to the power-on state and reloads the flat image
 * (memory is cleared); the VM runs on (or stays paused).  A Linux VM
 * restarts its kernel in a new backend VM, as for a guest's reboot. */
int runner_reset(struct runner *r);

/* How many times a Linux guest's reboot (or runner_reset) started the
 * kernel again during this run. */
unsigned runner_restarts(struct runner *r);

/*
 * Stops the VM: asks the guest first (nothing a UART-only guest can hear
 * yet), waits up to timeout_ms for it to power off, then forces it.
 * force: at once.  Returns when the run has ended (rc_on_exit was called).
 * Returns 1 when the stop had to be forced, 0 when the guest powered off.
 */
int runner_stop(struct runner *r, unsigned timeout_ms, int force);

/* The current state. */
enum runner_state runner_state(struct runner *r);

/* Counters of one vCPU, for the API's vCPU view. */
struct runner_vcpu_stats {
	uint64_t vs_exits_io, vs_exits_mmio, vs_exits_hlt, vs_exits_other;
	uint64_t vs_unknown_port_writes, vs_unknown_port_reads;
	int vs_halted; /* waiting in HLT */
};
int runner_vcpu_stats(struct runner *r, unsigned id,
		      struct runner_vcpu_stats *st);

/*
 * Queues an interrupt (VMM_IOC_INTR) for vCPU id: delivered by the vCPU's
 * thread when the guest can take it, waking it from HLT.  EINVAL: no such
 * vCPU or the run ended.  On a Linux VM the vCPU's thread hands it to
 * its local APIC (an IRQ as a fixed MSI, an NMI as KVM_NMI), which holds
 * it until the guest can take it; a guest whose local APIC is software-
 * disabled loses the IRQ, as it would a device's MSI (logged).
 */
int runner_interrupt(struct runner *r, unsigned id, enum vmm_intr_type type,
		     unsigned vector);

/* The backend VM, for register operations while paused. */
struct vmm_vm *runner_vm(struct runner *r);

/* The VM's shape, fixed for the run: vCPUs and bytes of guest RAM. */
unsigned runner_vcpus(const struct runner *r);
uint64_t runner_memory(const struct runner *r);

/*
 * The driver operations on a paused VM (after runner_pause, before
 * runner_resume), each the backend's operation of the same name (vmm.h).
 * The caller serializes them with runner_stop and runner_reset, as with
 * runner_vm.  Errors: EBUSY when the VM is not paused (or the run
 * ended); ENOENT when there is no vCPU id; ENOTSUP when the backend
 * cannot; otherwise the backend's errno (EINVAL: the backend refused the
 * values, and nothing changed).  Unlike the controls above, a bad id is
 * not EINVAL, so that EINVAL always means the values.
 */
int runner_vcpu_get_regs(struct runner *r, unsigned id, struct vmm_regs *regs,
			 unsigned groups);
int runner_vcpu_set_regs(struct runner *r, unsigned id,
			 const struct vmm_regs *regs, unsigned groups);
int runner_params_get(struct runner *r, struct vmm_params *p);
int runner_params_set(struct runner *r, const struct vmm_params *p);
/* gpa and size page-aligned; prot a set of VMM_PROT_* bits (0: none). */
int runner_protect(struct runner *r, uint64_t gpa, uint64_t size,
		   unsigned prot);

/*
 * VMM_IOC_RESETCPU for one vCPU of a paused VM (not a Linux VM's: its
 * local APIC would not be reset with it, ENOTSUP): its power-on state, and
 * for vCPU 0 the flat image's entry (real mode at 0:entry) as at start;
 * memory and the other vCPUs stay as they are.  Interrupts queued for it
 * are dropped; its exit counters stay.  A secondary vCPU goes back to
 * waiting for a start-up IPI, which nothing sends yet.  Errors as above;
 * a reset the backend refuses leaves the vCPU in an unknown state.
 */
int runner_vcpu_reset(struct runner *r, unsigned id);

/*
 * Frees the runner after its run ended (waits for its threads to be
 * gone). Not from rc_on_exit. NULL ok.
 */
void runner_free(struct runner *r);

#endif
