/*
 * The driver interface: one table of operations that every backend fills,
 * mirroring OpenBSD vmm(4)'s ioctls (VMM_IOC_CREATE, RUN, INFO, TERM,
 * RESETCPU, INTR, READREGS/WRITEREGS, READVMPARAMS/WRITEVMPARAMS,
 * MPROTECT_EPT).  An operation a backend cannot do returns -1 with errno
 * ENOTSUP; the API turns that into a 501 naming the backend.
 *
 * Threads: vm_create and vm_destroy may run on any thread (the runner
 * calls them from its vCPU threads);
 * vcpu_run runs on the vCPU's own thread (the runner's); vcpu_kick may be
 * called from any thread; the register, reset, interrupt, params and
 * protect operations are called only while the vCPU is not inside
 * vcpu_run (the runner pauses it first).
 */
#ifndef VMMAPID_VMM_DRIVER_VMM_H
#define VMMAPID_VMM_DRIVER_VMM_H

#include <stddef.h>
#include <stdint.h>

#define VMM_MAX_VCPUS 64

struct vmm_vm; /* a backend's VM */

struct vmm_create_params {
	const char *cp_name;
	unsigned cp_vcpus;  /* 1..VMM_MAX_VCPUS */
	uint64_t cp_memory; /* bytes of guest RAM at gpa 0, page-aligned */
	/*
	 * 1: a VM for a Linux kernel (vmm-driver/lxboot.h): an in-kernel
	 * interrupt controller (local APICs, I/O APIC, PICs) and timer
	 * (PIT), CPUID that says "KVM" (and "VMware" with
	 * cp_cpuid_vmware), memory below LXBOOT_MEMORY_MAX
	 * (E2BIG past it).
	 * HLT then stays inside the backend, vCPUs other than 0 wait there
	 * for the guest's INIT/SIPI, and devices raise interrupt lines with
	 * vo_vm_irq_line.  Backends that cannot: ENOTSUP.
	 */
	int cp_linux;
	/*
	 * With cp_linux, 1: the VM's VMware backdoor answers (the runner's
	 * rc_guestinfo), and its CPUID says so where VMware's tools look:
	 * leaf 0x40000000 is "VMwareVMware" and the KVM leaves move up to
	 * 0x40000100, where Linux still finds them and picks KVM (kvm-clock;
	 * vmm-driver/kvmcpuid.c).  Backends without that CPUID ignore it.
	 */
	int cp_cpuid_vmware;
};

/* A segment register as struct vcpu_segment_info has it. */
struct vmm_seg {
	uint16_t sg_selector;
	uint32_t sg_limit;
	uint32_t sg_ar; /* access rights, VMX layout (type, s, dpl, p, avl, l,
			   db, g) */
	uint64_t sg_base;
};

struct vmm_dtable {
	uint32_t dt_limit;
	uint64_t dt_base;
};

enum vmm_gpr {
	VMM_RAX,
	VMM_RBX,
	VMM_RCX,
	VMM_RDX,
	VMM_RSI,
	VMM_RDI,
	VMM_R8,
	VMM_R9,
	VMM_R10,
	VMM_R11,
	VMM_R12,
	VMM_R13,
	VMM_R14,
	VMM_R15,
	VMM_RSP,
	VMM_RBP,
	VMM_RIP,
	VMM_RFLAGS,
	VMM_NGPRS
};
enum vmm_sreg {
	VMM_ES,
	VMM_CS,
	VMM_SS,
	VMM_DS,
	VMM_FS,
	VMM_GS,
	VMM_LDTR,
	VMM_TR,
	VMM_NSREGS
};
enum vmm_cr { VMM_CR0, VMM_CR2, VMM_CR3, VMM_CR4, VMM_CR8, VMM_XCR0, VMM_NCRS };
enum vmm_msr {
	VMM_EFER,
	VMM_STAR,
	VMM_LSTAR,
	VMM_CSTAR,
	VMM_SFMASK,
	VMM_KGSBASE,
	VMM_MISC_ENABLE,
	VMM_NMSRS
};
enum vmm_dr { VMM_DR0, VMM_DR1, VMM_DR2, VMM_DR3, VMM_DR6, VMM_DR7, VMM_NDRS };

/* Register groups, as bits (VM_RWREGS_GPRS ...). */
enum {
	VMM_REGS_GPRS = 1 << 0,
	VMM_REGS_SREGS = 1 << 1, /* segments, gdtr, idtr */
	VMM_REGS_CRS = 1 << 2,
	VMM_REGS_MSRS = 1 << 3,
	VMM_REGS_DRS = 1 << 4,
	VMM_REGS_ALL = 0x1f,
};

/* struct vcpu_reg_state's counterpart. */
struct vmm_regs {
	uint64_t rg_gprs[VMM_NGPRS];
	struct vmm_seg rg_sregs[VMM_NSREGS];
	struct vmm_dtable rg_gdtr, rg_idtr;
	uint64_t rg_crs[VMM_NCRS];
	uint64_t rg_msrs[VMM_NMSRS];
	uint64_t rg_drs[VMM_NDRS];
};

enum vmm_exit_kind {
	VMM_EXIT_IO = 1,      /* port I/O: the runner answers it */
	VMM_EXIT_MMIO,        /* access outside RAM or to protected RAM */
	VMM_EXIT_HLT,         /* HLT (the runner looks at IF) */
	VMM_EXIT_SHUTDOWN,    /* triple fault */
	VMM_EXIT_FAIL_ENTRY,  /* the hardware refused to enter the guest */
	VMM_EXIT_INTERNAL,    /* the backend could not go on (emulation) */
	VMM_EXIT_KICKED,      /* vcpu_kick made vcpu_run return */
	VMM_EXIT_UNSUPPORTED, /* sim: an instruction outside its subset */
};

/*
 * What made vcpu_run return.  For port input the runner fills
 * ex_io.io_data before the next vcpu_run, which completes the IN.
 */
struct vmm_exit {
	enum vmm_exit_kind ex_kind;
	struct {
		uint16_t io_port;
		uint8_t io_size;   /* 1, 2 or 4 */
		uint8_t io_in;     /* 1: IN, 0: OUT */
		uint32_t io_count; /* repetitions (string I/O) */
		uint8_t *io_data;  /* io_size * io_count bytes, the backend's */
	} ex_io;
	struct {
		uint64_t mm_gpa;
		uint8_t mm_len;
		uint8_t mm_write;
		uint8_t mm_data[8];
	} ex_mmio;
	uint64_t ex_hw_reason; /* FAIL_ENTRY / INTERNAL: the hardware code */
	char ex_text[160];     /* a sentence for the exit reason */
};

/* pvclock parameters (VMM_IOC_READVMPARAMS): kvmclock's MSRs on KVM. */
struct vmm_params {
	uint64_t pp_pvclock_system_gpa; /* 0: disabled */
	uint32_t pp_pvclock_version;
};

enum vmm_intr_type { VMM_INTR_IRQ = 1, VMM_INTR_NMI };

enum vmm_prot { VMM_PROT_R = 1, VMM_PROT_RW = 3, VMM_PROT_X = 4 };

/*
 * Interrupt lines of a cp_linux VM: 0-15 the ISA lines, 16-23 I/O APIC
 * pins for PCI devices' INTx (VMM_PCI_GSI_BASE + i for the i-th
 * passthrough device), and VMM_MSI_GSIS lines past the I/O APIC's pins
 * that deliver MSI messages (vo_vm_msi_route).
 */
#define VMM_PCI_GSI_BASE 16
#define VMM_MSI_GSI_BASE 24
#define VMM_MSI_GSIS 8

/* The most VMs a backend keeps made ahead (--spare-vms). */
#define VMM_SPARES_MAX 8

/* VMs made ahead of starts (--spare-vms): GET /v1 shows these. */
struct vmm_spares {
	unsigned vs_target;      /* kept ready (--spare-vms) */
	unsigned vs_ready;       /* ready now */
	unsigned long vs_taken;  /* creates that used one */
	unsigned long vs_missed; /* creates that found none */
	unsigned long vs_failed; /* spares that could not be made */
};

struct vmm_ops {
	const char *vo_name;
	/* What the backend cannot do, one sentence each, NULL-terminated:
	 * GET /v1 shows it. */
	const char *const *vo_lacks;
	/* What it offers that a client may check before trying, one word
	 * each ("linux-boot", "guestinfo-backdoor", "pvclock", ...),
	 * NULL-terminated: GET /v1 shows it as driver.features. */
	const char *const *vo_features;
	/* VMM_IOC_CREATE: memory mapped, vCPUs created, not running. */
	int (*vo_vm_create)(const struct vmm_create_params *cp,
			    struct vmm_vm **out);
	/* VMM_IOC_TERM: frees everything; no vcpu_run may be in progress. */
	void (*vo_vm_destroy)(struct vmm_vm *vm);
	/* The host mapping of guest RAM (gpa 0 .. size). */
	uint8_t *(*vo_vm_memory)(struct vmm_vm *vm, uint64_t *size);
	/* VMM_IOC_RUN: runs vCPU id until an exit; 0 with *ex filled. */
	int (*vo_vcpu_run)(struct vmm_vm *vm, unsigned id, struct vmm_exit *ex);
	/* Makes vcpu_run of id return VMM_EXIT_KICKED soon (any thread). */
	int (*vo_vcpu_kick)(struct vmm_vm *vm, unsigned id);
	/* VMM_IOC_RESETCPU: power-on state, then regs (may be NULL). */
	int (*vo_vcpu_reset)(struct vmm_vm *vm, unsigned id,
			     const struct vmm_regs *regs, unsigned groups);
	/* VMM_IOC_READREGS / WRITEREGS for the groups given. */
	int (*vo_vcpu_get_regs)(struct vmm_vm *vm, unsigned id,
				struct vmm_regs *regs, unsigned groups);
	int (*vo_vcpu_set_regs)(struct vmm_vm *vm, unsigned id,
				const struct vmm_regs *regs, unsigned groups);
	/*
	 * VMM_IOC_INTR: queue an interrupt for id.  EAGAIN: not now, the
	 * next vcpu_run returns (KICKED) once the guest can take it.  On a
	 * cp_linux VM an IRQ is a fixed-delivery message to id's local APIC
	 * (what a device's MSI is), an NMI goes to its LINT1 path.
	 */
	int (*vo_vcpu_interrupt)(struct vmm_vm *vm, unsigned id,
				 enum vmm_intr_type type, unsigned vector);
	/*
	 * Optional, for cp_linux VMs: sets the level of ISA interrupt line
	 * irq (0..15) at the in-kernel PIC and I/O APIC (a rising edge
	 * interrupts on an edge-triggered line).  Any thread, also while
	 * vCPUs run.  ENOTSUP for a VM without an interrupt controller.
	 */
	int (*vo_vm_irq_line)(struct vmm_vm *vm, unsigned irq, int level);
	/* VMM_IOC_READVMPARAMS / WRITEVMPARAMS. */
	int (*vo_vm_get_params)(struct vmm_vm *vm, struct vmm_params *p);
	int (*vo_vm_set_params)(struct vmm_vm *vm, const struct vmm_params *p);
	/* MPROTECT_EPT's counterpart: gpa and size page-aligned. */
	int (*vo_vm_protect)(struct vmm_vm *vm, uint64_t gpa, uint64_t size,
			     unsigned prot);
	/*
	 * Optional (passthrough, vmm-driver/ppt.h): makes [gpa, gpa + size)
	 * of the guest's physical space host memory at host (a device's
	 * BAR, mmapped from VFIO), so that guest accesses reach it without
	 * exits.  Outside RAM; gpa, size and host page-aligned.  The mapping
	 * must outlive the VM.  -1 with errno (ENOSPC: no slot left).
	 */
	int (*vo_vm_map_device)(struct vmm_vm *vm, uint64_t gpa, void *host,
				uint64_t size);
	/*
	 * Optional, for cp_linux VMs (passthrough interrupts, ppt.h):
	 * signalling eventfd fd raises interrupt line gsi (KVM_IRQFD).  With
	 * resamplefd >= 0 the line is level-triggered: it stays up until the
	 * guest's EOI, which lowers it and signals resamplefd (a device's
	 * INTx); -1: each signal is one edge or message (an MSI).  Any
	 * thread.  The assignment ends with the VM, or with
	 * vo_vm_irqfd_remove.  ENOTSUP without an interrupt controller.
	 */
	int (*vo_vm_irqfd)(struct vmm_vm *vm, unsigned gsi, int fd,
			   int resamplefd);
	int (*vo_vm_irqfd_remove)(struct vmm_vm *vm, unsigned gsi, int fd);
	/*
	 * Optional, for cp_linux VMs: makes line gsi (VMM_MSI_GSI_BASE ..
	 * + VMM_MSI_GSIS - 1) deliver the MSI message (addr, data) to the
	 * local APICs, as a device's MSI capability holds it; enable 0
	 * takes the route away (the line then reaches nothing).  Any
	 * thread, also while vCPUs run.
	 */
	int (*vo_vm_msi_route)(struct vmm_vm *vm, unsigned gsi, int enable,
			       uint64_t addr, uint32_t data);
	/*
	 * Optional (NULL where a VM's set-up is cheap): keep n
	 * (1..VMM_SPARES_MAX) VMs made ahead, which vm_create then finishes
	 * instead of making one. Open once, after the process has forked for
	 * good and with every signal the daemon handles blocked; close after
	 * the last vm_destroy.  stats works at any time (zeros when not open).
	 */
	int (*vo_spares_open)(unsigned n);
	void (*vo_spares_close)(void);
	void (*vo_spares_stats)(struct vmm_spares *st);
	/*
	 * Optional: 1 when a guest's port I/O on the VMware backdoor's ports
	 * (0x5658, 0x5659) reaches the runner at any privilege, whatever
	 * the guest's IOPL and I/O permission bitmap say, as on VMware (KVM
	 * with enable_vmware_backdoor=1); 0 or NULL when the guest's own
	 * rules apply, and a port its process may not use faults in the
	 * guest.  Asked once per run.
	 */
	int (*vo_backdoor_any_cpl)(void);
};

/* The backends compiled in; NULL where not available on this system. */
extern const struct vmm_ops vmm_kvm_ops;
extern const struct vmm_ops vmm_sim_ops;

/* The x86 power-on register state (cs 0xf000 base 0xffff0000, rip 0xfff0). */
void vmm_regs_poweron(struct vmm_regs *regs);

#endif
