/*
 * The KVM backend: vmm(4)'s operations on /dev/kvm.
 *
 * A VM is one VM fd, one fd and one mmapped kvm_run page per vCPU, and
 * guest RAM as one anonymous mapping at gpa 0.  /dev/kvm itself is only
 * open while a VM is being created.  A flat VM has no in-kernel irqchip:
 * HLT comes back to the runner, and interrupts go in with KVM_INTERRUPT
 * (the userspace-irqchip protocol), which also works where
 * KVM_CREATE_IRQCHIP is refused (PVM).  A Linux VM (cp_linux) has one
 * (local APICs, I/O APIC, PICs) and the PIT: HLT waits in the kernel,
 * vCPUs other than 0 wait there for INIT/SIPI, devices raise lines with
 * KVM_IRQ_LINE and API interrupts go in as MSIs (KVM_SIGNAL_MSI).
 *
 * Kicks: vcpu_kick sets kvm_run->immediate_exit and sends VMM_KICK_SIGNAL
 * to the thread that runs the vCPU.  A kick that lands before KVM_RUN is
 * caught by immediate_exit; one that lands inside it by the signal (KVM
 * checks for pending signals before each guest entry).  Either way
 * KVM_RUN fails with EINTR, reported as VMM_EXIT_KICKED.
 */
#include "vmm-driver/vmm.h"

#include <errno.h>

#ifdef __linux__

#include "base/log.h"
#include "vmm-driver/lxboot.h"

#include "vmm-driver/detect.h"
#include "vmm-driver/kick.h"
#include "vmm-driver/kvmcpuid.h"
#include "vmm-driver/spare.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KVM_DEVICE "/dev/kvm"
/* Where KVM keeps the real-mode TSS (three pages) and, just below it, the
 * identity page table; guest RAM must end below both. */
#define KVM_TSS_ADDR 0xfffbd000ULL
#define KVM_RAM_END_MAX 0xfffbc000ULL
/*
 * A Linux VM's: in the hole below 4 GiB that its e820 map leaves out,
 * clear of the I/O APIC (0xfec00000) and the local APICs (0xfee00000),
 * where QEMU puts them too: the identity page table (Intel without
 * unrestricted guest) one page, the TSS three.
 */
#define KVM_LINUX_IDMAP_ADDR 0xfeffc000ULL
#define KVM_LINUX_TSS_ADDR 0xfeffd000ULL
/* An MSI's address: the local APIC whose ID is in bits 19:12. */
#define KVM_MSI_ADDR_BASE 0xfee00000U
#define KVM_ISA_IRQS 16
#define KVM_IOAPIC_PINS 24
#define KVM_PAGE 4096ULL
/* Memory slots a VM may use for protection splits. */
#define KVM_MAX_SLOTS 32
/* Memory slots for devices' BARs (passthrough), IDs after those. */
#define KVM_DEV_SLOTS 48
#define KVM_CPUID_MAX_ENTRIES 1024

#define KVM_MSR_EFER 0xc0000080
#define KVM_MSR_STAR 0xc0000081
#define KVM_MSR_LSTAR 0xc0000082
#define KVM_MSR_CSTAR 0xc0000083
#define KVM_MSR_SFMASK 0xc0000084
#define KVM_MSR_KERNEL_GS_BASE 0xc0000102
#define KVM_MSR_MISC_ENABLE 0x1a0
/* kvmclock: the gpa of vCPU 0's pvclock_vcpu_time_info, bit 0 enables. */
#define KVM_MSR_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_PVCLOCK_SIZE 32

#define KVM_RFLAGS_IF (1ULL << 9)

/* The MSRs of the register document, in enum vmm_msr's order. */
static const uint32_t kvm_msr_index[VMM_NMSRS] = {
    [VMM_EFER] = KVM_MSR_EFER,
    [VMM_STAR] = KVM_MSR_STAR,
    [VMM_LSTAR] = KVM_MSR_LSTAR,
    [VMM_CSTAR] = KVM_MSR_CSTAR,
    [VMM_SFMASK] = KVM_MSR_SFMASK,
    [VMM_KGSBASE] = KVM_MSR_KERNEL_GS_BASE,
    [VMM_MISC_ENABLE] = KVM_MSR_MISC_ENABLE,
};

/* A kvm_msrs with room for the entries we ever pass at once. */
struct kvm_msrbuf {
	struct kvm_msrs mb_hdr;
	struct kvm_msr_entry mb_ent[VMM_NMSRS + 1];
};

/* One memory slot: a piece of guest RAM, writable or read-only. */
struct kvm_slot {
	uint64_t sl_gpa;
	uint64_t sl_size;
	int sl_ro;
};

struct kvm_vcpu {
	int kc_fd;
	struct kvm_run *kc_run;
	/* The thread inside (or about to enter) KVM_RUN, for kicks; written
	 * by that thread, read by kickers, both with atomics. */
	pthread_t kc_thread;
	int kc_has_thread;
	/* As KVM_CREATE_VCPU (and our CPUID) left it: never run, nothing
	 * written or queued since.  See kvm_vcpu_reset. */
	int kc_fresh;
};

struct vmm_vm {
	int vm_fd;
	uint8_t *vm_mem;
	uint64_t vm_memsize;
	int vm_has_xcrs;
	int vm_has_readonly;
	/* The slots covering [0, vm_memsize) in order; slot i is ID i. */
	unsigned vm_nslots;
	struct kvm_slot vm_slots[KVM_MAX_SLOTS];
	int vm_irqchip;        /* in-kernel irqchip and PIT (cp_linux) */
	int vm_cpuid_vmware;   /* cp_cpuid_vmware, with vm_irqchip */
	unsigned vm_ndevslots; /* slots KVM_MAX_SLOTS.. (kvm_vm_map_device) */
	/* The MSI routes (kvm_vm_msi_route): entry i is line
	 * VMM_MSI_GSI_BASE + i.  vm_route_lock guards them and the
	 * KVM_SET_GSI_ROUTING that installs them with the PC's lines. */
	pthread_mutex_t vm_route_lock;
	struct kvm_msi_route {
		int mr_on;
		uint64_t mr_addr;
		uint32_t mr_data;
	} vm_msi[VMM_MSI_GSIS];
	unsigned vm_nvcpus;
	struct kvm_vcpu vm_vcpus[];
};

/* Process-wide facts about /dev/kvm, filled once under kvm_init_lock. */
static pthread_mutex_t kvm_init_lock = PTHREAD_MUTEX_INITIALIZER;
static int kvm_inited;
static size_t kvm_run_size;
static struct kvm_cpuid2 *kvm_cpuid; /* KVM_GET_SUPPORTED_CPUID */
/* What the host calls for in every VM's CPUID (kvm_cpuid_host_flags). */
static unsigned kvm_cpuid_flags;
/*
 * What a VM of the (one) type we create supports, asked of the first VM
 * and kept: two ioctls fewer on every later start.  Under kvm_init_lock.
 */
static int kvm_caps_known, kvm_has_xcrs, kvm_has_readonly, kvm_has_tsc_deadline;
/* VMs made ahead of starts, or NULL (kvm_spares_open); the guest RAM
 * they get: the last VM's (the spec's default at first). */
static _Atomic(struct spare_pool *) kvm_spares;
static _Atomic uint64_t kvm_spare_memory = 64ULL << 20;

/* ioctl, retried when a signal (a kick) interrupted it. */
static int
kvm_ioctl(int fd, unsigned long req, void *arg)
{
	int rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc == -1 && errno == EINTR);
	return rc;
}

/* What the host's KVM supports, asked once per process. */
static int
kvm_init(int devfd)
{
	struct kvm_cpuid2 *cpuid = NULL;
	char sig[13];
	int size, nent, err;

	pthread_mutex_lock(&kvm_init_lock);
	if (kvm_inited) {
		pthread_mutex_unlock(&kvm_init_lock);
		return 0;
	}
	if (vmm_kick_init() != 0)
		goto fail;
	if (ioctl(devfd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		/* Without it a kick landing just before KVM_RUN is lost. */
		errno = ENOTSUP;
		goto fail;
	}
	if ((size = ioctl(devfd, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0)
		goto fail;
	for (nent = 64; nent <= KVM_CPUID_MAX_ENTRIES; nent *= 2) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) +
				      (size_t)nent * sizeof(cpuid->entries[0]));
		if (cpuid == NULL)
			goto fail;
		cpuid->nent = (uint32_t)nent;
		if (kvm_ioctl(devfd, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
			break;
		if (errno != E2BIG)
			goto fail;
	}
	if (nent > KVM_CPUID_MAX_ENTRIES) {
		errno = E2BIG;
		goto fail;
	}
	kvm_run_size = (size_t)size;
	kvm_cpuid = cpuid;
	vmm_host_nested(sig, sizeof(sig));
	kvm_cpuid_flags = kvm_cpuid_host_flags(sig);
	if (kvm_cpuid_flags & KVM_CPUID_NO_XSAVE)
		log_info("kvm: this host runs under QEMU's software emulator "
			 "(CPUID signature %s), whose SVM does not intercept "
			 "XSETBV: guests are offered no XSAVE",
			 sig);
	kvm_inited = 1;
	pthread_mutex_unlock(&kvm_init_lock);
	return 0;

fail:
	err = errno;
	free(cpuid);
	pthread_mutex_unlock(&kvm_init_lock);
	errno = err;
	return -1;
}

/*
 * This vCPU's CPUID (kvm_cpuid_filter): the supported one with its APIC
 * ID, and for a Linux VM the local APIC's bits and the KVM leaves, under
 * VMware's signature when the VM asked for it.
 */
static int
kvm_vcpu_set_cpuid(int fd, unsigned id, const struct vmm_vm *vm)
{
	size_t len = sizeof(*kvm_cpuid) + (kvm_cpuid->nent + KVM_CPUID_EXTRA) *
					      sizeof(kvm_cpuid->entries[0]);
	struct kvm_cpuid2 *c = malloc(len);
	unsigned flags = kvm_cpuid_flags;
	int rc, err;

	if (c == NULL)
		return -1;
	memcpy(c, kvm_cpuid,
	       len - KVM_CPUID_EXTRA * sizeof(kvm_cpuid->entries[0]));
	if (vm->vm_irqchip) {
		flags |= KVM_CPUID_LINUX;
		if (kvm_has_tsc_deadline)
			flags |= KVM_CPUID_TSC_DEADLINE;
		if (vm->vm_cpuid_vmware)
			flags |= KVM_CPUID_VMWARE;
	}
	kvm_cpuid_filter(c, id, flags);
	rc = kvm_ioctl(fd, KVM_SET_CPUID2, c);
	err = errno;
	free(c);
	errno = err;
	return rc;
}

/* Makes memory slot id cover s (size 0 deletes it). */
static int
kvm_slot_set(struct vmm_vm *vm, unsigned id, const struct kvm_slot *s)
{
	struct kvm_userspace_memory_region r;

	memset(&r, 0, sizeof(r));
	r.slot = id;
	r.flags = s->sl_ro ? KVM_MEM_READONLY : 0;
	r.guest_phys_addr = s->sl_gpa;
	r.memory_size = s->sl_size;
	r.userspace_addr = (uint64_t)(uintptr_t)(vm->vm_mem + s->sl_gpa);
	return kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* Closes and unmaps whatever vm holds; vm may be half-built. */
static void
kvm_vm_free(struct vmm_vm *vm)
{
	unsigned i;

	if (vm == NULL)
		return;
	for (i = 0; i < vm->vm_nvcpus; i++) {
		struct kvm_vcpu *vc = &vm->vm_vcpus[i];

		if (vc->kc_run != NULL)
			munmap(vc->kc_run, kvm_run_size);
		if (vc->kc_fd >= 0)
			close(vc->kc_fd);
	}
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->vm_mem != NULL)
		munmap(vm->vm_mem, vm->vm_memsize);
	pthread_mutex_destroy(&vm->vm_route_lock);
	free(vm);
}

/* A VM with room for nvcpus, nothing open yet. */
static struct vmm_vm *
kvm_vm_alloc(unsigned nvcpus)
{
	struct vmm_vm *vm;
	unsigned i;

	vm = calloc(1, sizeof(*vm) + nvcpus * sizeof(vm->vm_vcpus[0]));
	if (vm == NULL)
		return NULL;
	vm->vm_fd = -1;
	vm->vm_nvcpus = nvcpus;
	pthread_mutex_init(&vm->vm_route_lock, NULL);
	for (i = 0; i < nvcpus; i++)
		vm->vm_vcpus[i].kc_fd = -1;
	return vm;
}

/*
 * The PC's wiring of interrupt lines (GSIs) to the PICs and the I/O
 * APIC, as QEMU sets it: lines 0-15 to the 8259s' pins, and each line to
 * the I/O APIC pin of its number but the timer's, line 0, which goes to
 * pin 2 -- the interrupt source override every MP table and MADT
 * declares, there since the I/O APIC took pin 0 for the 8259's output.
 * KVM's default table sends line 0 to pin 0, where Linux, told pin 2,
 * never sees the PIT's ticks in I/O APIC mode (its LAPIC timer
 * calibration then fails, and jiffies stand still).  Lines 16-23 go to
 * their I/O APIC pins only (passthrough devices' INTx), and the MSI
 * routes of vm_msi follow (vm_route_lock held, or no other thread yet).
 */
static int
kvm_vm_gsi_routing(struct vmm_vm *vm)
{
	struct {
		struct kvm_irq_routing rt;
		struct kvm_irq_routing_entry
		    ent[KVM_ISA_IRQS + KVM_IOAPIC_PINS + VMM_MSI_GSIS];
	} r;
	struct kvm_irq_routing_entry *e;
	unsigned i, n = 0;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < KVM_ISA_IRQS; i++) {
		if (i == 2) /* the cascade: no line of its own */
			continue;
		e = &r.ent[n++];
		e->gsi = i;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip =
		    i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		e->u.irqchip.pin = i % 8;
	}
	for (i = 0; i < KVM_IOAPIC_PINS; i++) {
		if (i == 2)
			continue;
		e = &r.ent[n++];
		e->gsi = i;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = i == 0 ? 2 : i;
	}
	for (i = 0; i < VMM_MSI_GSIS; i++) {
		if (!vm->vm_msi[i].mr_on)
			continue;
		e = &r.ent[n++];
		e->gsi = VMM_MSI_GSI_BASE + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)vm->vm_msi[i].mr_addr;
		e->u.msi.address_hi = (uint32_t)(vm->vm_msi[i].mr_addr >> 32);
		e->u.msi.data = vm->vm_msi[i].mr_data;
	}
	r.rt.nr = n;
	return kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &r.rt);
}

/*
 * A Linux VM's interrupt controllers and timer, before any vCPU: the
 * TSS and identity map in the hole below 4 GiB (KVM_LINUX_*), the
 * in-kernel irqchip (PICs, I/O APIC; each vCPU then gets a local APIC)
 * wired as a PC's (kvm_vm_gsi_routing) and the PIT, whose speaker port
 * (0x61) KVM answers too.  ENOTSUP
 * where KVM lacks any of them (kvm_pvm refuses the irqchip).
 */
static int
kvm_vm_irqchip(struct vmm_vm *vm)
{
	struct kvm_pit_config pit;
	struct kvm_reinject_control rc;
	uint64_t idmap = KVM_LINUX_IDMAP_ADDR;

	if (ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) <= 0 ||
	    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION,
		  KVM_CAP_SET_IDENTITY_MAP_ADDR) <= 0 ||
	    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SIGNAL_MSI) <= 0 ||
	    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) <= 0) {
		errno = ENOTSUP;
		return -1;
	}
	if (kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) != 0 ||
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR,
		  (unsigned long)KVM_LINUX_TSS_ADDR) < 0 ||
	    kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, NULL) != 0 ||
	    kvm_vm_gsi_routing(vm) != 0)
		return -1;
	memset(&pit, 0, sizeof(pit));
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) != 0)
		return -1;
	/*
	 * Ticks the guest missed are dropped, not delivered late one after
	 * another (KVM's default): a guest that was not scheduled for a while
	 * -- a loaded host, or the nested host, where a tick costs more than
	 * its period -- would otherwise spend itself on a backlog of timer
	 * interrupts.  Linux keeps time by its clocksource, not by counting
	 * ticks; QEMU's lost_tick_policy=discard.
	 */
	memset(&rc, 0, sizeof(rc));
	rc.pit_reinject = 0;
	if (kvm_ioctl(vm->vm_fd, KVM_REINJECT_CONTROL, &rc) != 0)
		return -1;
	vm->vm_irqchip = 1;
	return 0;
}

/*
 * KVM_CREATE_VM and what the VM needs before anything else (lx: its
 * irqchip, kvm_vm_irqchip).  0 or -1.
 */
static int
kvm_vm_open(struct vmm_vm *vm, int lx)
{
	int devfd, err;

	if ((devfd = open(KVM_DEVICE, O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	if (kvm_init(devfd) != 0 ||
	    (vm->vm_fd = kvm_ioctl(devfd, KVM_CREATE_VM, 0)) < 0) {
		err = errno;
		close(devfd);
		errno = err;
		return -1;
	}
	/* Only the VM's fds stay open: at most 1 + vCPUs per VM. */
	close(devfd);
	pthread_mutex_lock(&kvm_init_lock);
	if (!kvm_caps_known) {
		kvm_has_tsc_deadline = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION,
					     KVM_CAP_TSC_DEADLINE_TIMER) > 0;
		kvm_has_xcrs =
		    ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
		kvm_has_readonly = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION,
					 KVM_CAP_READONLY_MEM) > 0;
		kvm_caps_known = 1;
	}
	vm->vm_has_xcrs = kvm_has_xcrs;
	vm->vm_has_readonly = kvm_has_readonly;
	pthread_mutex_unlock(&kvm_init_lock);
	if (lx)
		return kvm_vm_irqchip(vm);
	/* Intel without unrestricted guest runs real mode through this TSS;
	 * elsewhere (AMD, PVM) it is harmless. */
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return -1;
	return 0;
}

/* Guest RAM: size bytes at gpa 0, one writable slot.  0 or -1. */
static int
kvm_vm_map(struct vmm_vm *vm, uint64_t size)
{
	struct kvm_slot all;
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	vm->vm_mem = p;
	vm->vm_memsize = size;
	/* Guest RAM has no place in the daemon's core dumps. */
	(void)madvise(vm->vm_mem, vm->vm_memsize, MADV_DONTDUMP);
	all.sl_gpa = 0;
	all.sl_size = size;
	all.sl_ro = 0;
	if (kvm_slot_set(vm, 0, &all) != 0)
		return -1;
	vm->vm_slots[0] = all;
	vm->vm_nslots = 1;
	return 0;
}

/* KVM_CREATE_VCPU for id, its run page and CPUID.  0 or -1. */
static int
kvm_vcpu_open(struct vmm_vm *vm, unsigned id)
{
	struct kvm_vcpu *vc = &vm->vm_vcpus[id];
	void *p;

	if ((vc->kc_fd = kvm_ioctl(vm->vm_fd, KVM_CREATE_VCPU,
				   (void *)(uintptr_t)id)) < 0)
		return -1;
	p = mmap(NULL, kvm_run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 vc->kc_fd, 0);
	if (p == MAP_FAILED)
		return -1;
	vc->kc_run = p;
	if (kvm_vcpu_set_cpuid(vc->kc_fd, id, vm) != 0)
		return -1;
	vc->kc_fresh = 1;
	return 0;
}

/*
 * A spare (see spare.h): a VM with its TSS, a fresh vCPU 0, and guest
 * RAM of the size the last VM created had (untouched, so it costs no
 * resident memory): the memory slot alone took ~150 µs of a start here.
 */
static void *
kvm_spare_make(void)
{
	struct vmm_vm *vm;
	int err;

	if ((vm = kvm_vm_alloc(1)) == NULL)
		return NULL;
	if (kvm_vm_open(vm, 0) != 0 || kvm_vcpu_open(vm, 0) != 0 ||
	    kvm_vm_map(vm, atomic_load(&kvm_spare_memory)) != 0) {
		err = errno;
		kvm_vm_free(vm);
		errno = err;
		return NULL;
	}
	return vm;
}

static void
kvm_spare_discard(void *obj)
{
	kvm_vm_free(obj);
}

/* Unmaps vm's guest RAM, its slot deleted first. */
static void
kvm_vm_unmap(struct vmm_vm *vm)
{
	struct kvm_slot none = {0, 0, 0};

	if (vm->vm_mem == NULL)
		return;
	(void)kvm_slot_set(vm, 0, &none);
	munmap(vm->vm_mem, vm->vm_memsize);
	vm->vm_mem = NULL;
	vm->vm_memsize = 0;
	vm->vm_nslots = 0;
}

/*
 * A spare with memory bytes of RAM and room for nvcpus vCPUs (the others
 * not open yet), or NULL.  Spares made from now on get memory bytes.
 */
static struct vmm_vm *
kvm_spare_take(unsigned nvcpus, uint64_t memory)
{
	struct spare_pool *sp = atomic_load(&kvm_spares);
	struct vmm_vm *vm, *wide;
	unsigned i;

	if (sp == NULL)
		return NULL;
	atomic_store(&kvm_spare_memory, memory);
	if ((vm = spare_pool_take(sp)) == NULL)
		return NULL;
	if (vm->vm_memsize != memory) {
		kvm_vm_unmap(vm);
		if (kvm_vm_map(vm, memory) != 0) {
			kvm_vm_free(vm);
			return NULL;
		}
	}
	if (nvcpus == 1)
		return vm;
	wide = realloc(vm, sizeof(*vm) + nvcpus * sizeof(vm->vm_vcpus[0]));
	if (wide == NULL) {
		kvm_vm_free(vm);
		return NULL;
	}
	for (i = 1; i < nvcpus; i++) {
		memset(&wide->vm_vcpus[i], 0, sizeof(wide->vm_vcpus[i]));
		wide->vm_vcpus[i].kc_fd = -1;
	}
	wide->vm_nvcpus = nvcpus;
	return wide;
}

static int
kvm_vm_create(const struct vmm_create_params *cp, struct vmm_vm **out)
{
	struct vmm_vm *vm;
	unsigned i, first = 1;
	int err;

	if (cp->cp_vcpus < 1 || cp->cp_vcpus > VMM_MAX_VCPUS ||
	    cp->cp_memory == 0 || cp->cp_memory % KVM_PAGE != 0 ||
	    cp->cp_memory > KVM_RAM_END_MAX) {
		errno = EINVAL;
		return -1;
	}
	/* Below the I/O APIC and local APICs, as lxboot_load says. */
	if (cp->cp_linux && cp->cp_memory > LXBOOT_MEMORY_MAX) {
		errno = E2BIG;
		return -1;
	}
	/* Spares have no irqchip, and it cannot be added after their
	 * vCPU 0: a Linux VM is always made from scratch. */
	if (cp->cp_linux ||
	    (vm = kvm_spare_take(cp->cp_vcpus, cp->cp_memory)) == NULL) {
		if ((vm = kvm_vm_alloc(cp->cp_vcpus)) == NULL)
			return -1;
		if (kvm_vm_open(vm, cp->cp_linux) != 0 ||
		    kvm_vm_map(vm, cp->cp_memory) != 0)
			goto fail;
		vm->vm_cpuid_vmware = cp->cp_linux && cp->cp_cpuid_vmware;
		first = 0;
	}
	for (i = first; i < vm->vm_nvcpus; i++)
		if (kvm_vcpu_open(vm, i) != 0)
			goto fail;
	*out = vm;
	return 0;

fail:
	err = errno;
	kvm_vm_free(vm);
	errno = err;
	return -1;
}

/*
 * Keeps n spares; see vmm.h.  Only here, not in kvm_vm_create: the pool's
 * thread must not be started before the daemon forks for good.
 */
static int
kvm_spares_open(unsigned n)
{
	struct spare_pool *sp;

	if (atomic_load(&kvm_spares) != NULL) {
		errno = EBUSY;
		return -1;
	}
	if (spare_pool_open(&sp, n, kvm_spare_make, kvm_spare_discard) != 0)
		return -1;
	atomic_store(&kvm_spares, sp);
	return 0;
}

static void
kvm_spares_close(void)
{
	spare_pool_close(atomic_exchange(&kvm_spares, NULL));
}

static void
kvm_spares_stats(struct vmm_spares *st)
{
	struct spare_pool *sp = atomic_load(&kvm_spares);

	if (sp != NULL)
		spare_pool_stats(sp, st);
	else
		memset(st, 0, sizeof(*st));
}

static void
kvm_vm_destroy(struct vmm_vm *vm)
{
	kvm_vm_free(vm);
}

static uint8_t *
kvm_vm_memory(struct vmm_vm *vm, uint64_t *size)
{
	*size = vm->vm_memsize;
	return vm->vm_mem;
}

static struct kvm_vcpu *
kvm_vcpu(struct vmm_vm *vm, unsigned id)
{
	if (vm == NULL || id >= vm->vm_nvcpus) {
		errno = EINVAL;
		return NULL;
	}
	return &vm->vm_vcpus[id];
}

/* Fills ex from the exit KVM_RUN left in run. */
static void
kvm_exit_translate(struct kvm_run *run, struct vmm_exit *ex)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		ex->ex_kind = VMM_EXIT_IO;
		ex->ex_io.io_port = run->io.port;
		ex->ex_io.io_size = run->io.size;
		ex->ex_io.io_in = run->io.direction == KVM_EXIT_IO_IN;
		ex->ex_io.io_count = run->io.count;
		/* IN: the runner writes here and the next KVM_RUN completes
		 * the instruction with it. */
		ex->ex_io.io_data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		ex->ex_kind = VMM_EXIT_MMIO;
		ex->ex_mmio.mm_gpa = run->mmio.phys_addr;
		ex->ex_mmio.mm_len = (uint8_t)run->mmio.len;
		ex->ex_mmio.mm_write = run->mmio.is_write;
		if (run->mmio.is_write) {
			memcpy(ex->ex_mmio.mm_data, run->mmio.data,
			       sizeof(ex->ex_mmio.mm_data));
		} else {
			/* Nothing is mapped there: reads float high, as on
			 * an empty bus. */
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
			memset(ex->ex_mmio.mm_data, 0xff,
			       sizeof(ex->ex_mmio.mm_data));
		}
		break;
	case KVM_EXIT_HLT:
		ex->ex_kind = VMM_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		ex->ex_kind = VMM_EXIT_SHUTDOWN;
		snprintf(ex->ex_text, sizeof(ex->ex_text), "triple fault");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		ex->ex_kind = VMM_EXIT_FAIL_ENTRY;
		ex->ex_hw_reason =
		    run->fail_entry.hardware_entry_failure_reason;
		snprintf(ex->ex_text, sizeof(ex->ex_text),
			 "the CPU refused to enter the guest (KVM_EXIT_FAIL_"
			 "ENTRY, hardware entry failure reason 0x%llx)",
			 (unsigned long long)ex->ex_hw_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		ex->ex_kind = VMM_EXIT_INTERNAL;
		ex->ex_hw_reason = run->internal.suberror;
		snprintf(ex->ex_text, sizeof(ex->ex_text),
			 "KVM internal error, suberror %u%s",
			 run->internal.suberror,
			 run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
			     ? " (instruction emulation failed)"
			     : "");
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		/*
		 * The guest can take the interrupt the runner wants to
		 * inject.  vmm.h has no exit of its own for that; KICKED
		 * means "nothing happened, look at your queue and run
		 * again", which is exactly what the runner must do.
		 */
		run->request_interrupt_window = 0;
		ex->ex_kind = VMM_EXIT_KICKED;
		snprintf(ex->ex_text, sizeof(ex->ex_text),
			 "interrupt window open");
		break;
	default:
		ex->ex_kind = VMM_EXIT_INTERNAL;
		ex->ex_hw_reason = run->exit_reason;
		snprintf(ex->ex_text, sizeof(ex->ex_text),
			 "unexpected KVM exit %u", run->exit_reason);
		break;
	}
}

static int
kvm_vcpu_run(struct vmm_vm *vm, unsigned id, struct vmm_exit *ex)
{
	struct kvm_vcpu *vc = kvm_vcpu(vm, id);
	pthread_t self = pthread_self();

	if (vc == NULL)
		return -1;
	vc->kc_fresh = 0;
	/* Kickers must signal this thread from now on. */
	if (!__atomic_load_n(&vc->kc_has_thread, __ATOMIC_ACQUIRE) ||
	    !pthread_equal(vc->kc_thread, self)) {
		__atomic_store(&vc->kc_thread, &self, __ATOMIC_RELEASE);
		__atomic_store_n(&vc->kc_has_thread, 1, __ATOMIC_RELEASE);
	}
	memset(ex, 0, sizeof(*ex));
	for (;;) {
		if (ioctl(vc->kc_fd, KVM_RUN, 0) == 0)
			break;
		if (errno == EAGAIN)
			continue;
		if (errno != EINTR)
			return -1;
		/*
		 * Kicked (immediate_exit or the signal).  Clearing the flag
		 * may swallow a second kick that came meanwhile; the
		 * caller looks at why it kicked after every return, so
		 * that kick's request is still seen.
		 */
		__atomic_store_n(&vc->kc_run->immediate_exit, 0,
				 __ATOMIC_SEQ_CST);
		ex->ex_kind = VMM_EXIT_KICKED;
		snprintf(ex->ex_text, sizeof(ex->ex_text), "kicked");
		return 0;
	}
	kvm_exit_translate(vc->kc_run, ex);
	return 0;
}

static int
kvm_vcpu_kick(struct vmm_vm *vm, unsigned id)
{
	struct kvm_vcpu *vc = kvm_vcpu(vm, id);
	pthread_t t;
	int err;

	if (vc == NULL)
		return -1;
	/* First the flag (a KVM_RUN about to start sees it), then the
	 * signal (a KVM_RUN already in the guest gets out). */
	__atomic_store_n(&vc->kc_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&vc->kc_has_thread, __ATOMIC_ACQUIRE))
		return 0;
	__atomic_load(&vc->kc_thread, &t, __ATOMIC_ACQUIRE);
	if ((err = pthread_kill(t, VMM_KICK_SIGNAL)) != 0 && err != ESRCH) {
		errno = err;
		return -1;
	}
	return 0;
}

/* KVM's segment fields <-> the VMX access-rights word of struct vmm_seg. */
static void
kvm_seg_get(const struct kvm_segment *k, struct vmm_seg *s)
{
	s->sg_selector = k->selector;
	s->sg_limit = k->limit;
	s->sg_base = k->base;
	s->sg_ar = (uint32_t)(k->type & 0xf) | (uint32_t)(k->s & 1) << 4 |
		   (uint32_t)(k->dpl & 3) << 5 |
		   (uint32_t)(k->present & 1) << 7 |
		   (uint32_t)(k->avl & 1) << 12 | (uint32_t)(k->l & 1) << 13 |
		   (uint32_t)(k->db & 1) << 14 | (uint32_t)(k->g & 1) << 15 |
		   (uint32_t)(k->unusable & 1) << 16;
}

static void
kvm_seg_set(struct kvm_segment *k, const struct vmm_seg *s)
{
	k->selector = s->sg_selector;
	k->limit = s->sg_limit;
	k->base = s->sg_base;
	k->type = s->sg_ar & 0xf;
	k->s = s->sg_ar >> 4 & 1;
	k->dpl = s->sg_ar >> 5 & 3;
	k->present = s->sg_ar >> 7 & 1;
	k->avl = s->sg_ar >> 12 & 1;
	k->l = s->sg_ar >> 13 & 1;
	k->db = s->sg_ar >> 14 & 1;
	k->g = s->sg_ar >> 15 & 1;
	k->unusable = s->sg_ar >> 16 & 1;
}

static struct kvm_segment *
kvm_sreg(struct kvm_sregs *sr, int i)
{
	switch (i) {
	case VMM_ES:
		return &sr->es;
	case VMM_CS:
		return &sr->cs;
	case VMM_SS:
		return &sr->ss;
	case VMM_DS:
		return &sr->ds;
	case VMM_FS:
		return &sr->fs;
	case VMM_GS:
		return &sr->gs;
	case VMM_LDTR:
		return &sr->ldt;
	default:
		return &sr->tr;
	}
}

/* One vCPU's state as KVM's ioctls carry it. */
struct kvm_state {
	struct kvm_regs ks_regs;
	struct kvm_sregs ks_sregs;
	struct kvm_xcrs ks_xcrs;
	struct kvm_msrbuf ks_msrs;
	struct kvm_debugregs ks_dregs;
};

/* Which ioctl pairs a set of register groups touches. */
enum {
	KVM_PART_REGS = 1 << 0,
	KVM_PART_SREGS = 1 << 1,
	KVM_PART_XCRS = 1 << 2,
	KVM_PART_MSRS = 1 << 3,
	KVM_PART_DREGS = 1 << 4,
};

static unsigned
kvm_parts(const struct vmm_vm *vm, unsigned groups)
{
	unsigned parts = 0;

	if (groups & VMM_REGS_GPRS)
		parts |= KVM_PART_REGS;
	if (groups & (VMM_REGS_SREGS | VMM_REGS_CRS))
		parts |= KVM_PART_SREGS;
	if ((groups & VMM_REGS_CRS) && vm->vm_has_xcrs)
		parts |= KVM_PART_XCRS;
	if (groups & VMM_REGS_MSRS)
		parts |= KVM_PART_MSRS;
	if (groups & VMM_REGS_DRS)
		parts |= KVM_PART_DREGS;
	return parts;
}

static void
kvm_msrs_prepare(struct kvm_msrbuf *mb)
{
	int i;

	memset(mb, 0, sizeof(*mb));
	mb->mb_hdr.nmsrs = VMM_NMSRS;
	for (i = 0; i < VMM_NMSRS; i++)
		mb->mb_ent[i].index = kvm_msr_index[i];
}

/* KVM_GET/SET_MSRS answer how many entries they did; short is EINVAL. */
static int
kvm_msrs_io(int fd, unsigned long req, struct kvm_msrbuf *mb)
{
	int n = kvm_ioctl(fd, req, mb);

	if (n < 0)
		return -1;
	if ((uint32_t)n != mb->mb_hdr.nmsrs) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Reads the parts of vCPU fd's state. */
static int
kvm_state_get(int fd, unsigned parts, struct kvm_state *st)
{
	if ((parts & KVM_PART_REGS) &&
	    kvm_ioctl(fd, KVM_GET_REGS, &st->ks_regs) != 0)
		return -1;
	if ((parts & KVM_PART_SREGS) &&
	    kvm_ioctl(fd, KVM_GET_SREGS, &st->ks_sregs) != 0)
		return -1;
	if (parts & KVM_PART_XCRS) {
		memset(&st->ks_xcrs, 0, sizeof(st->ks_xcrs));
		if (kvm_ioctl(fd, KVM_GET_XCRS, &st->ks_xcrs) != 0)
			return -1;
	}
	if (parts & KVM_PART_MSRS) {
		kvm_msrs_prepare(&st->ks_msrs);
		if (kvm_msrs_io(fd, KVM_GET_MSRS, &st->ks_msrs) != 0)
			return -1;
	}
	if ((parts & KVM_PART_DREGS) &&
	    kvm_ioctl(fd, KVM_GET_DEBUGREGS, &st->ks_dregs) != 0)
		return -1;
	return 0;
}

/*
 * Writes the parts of st in an order where the ones most likely to be
 * refused (segments and control registers, then XCR0, MSRs, debug
 * registers) come first; *done says which got written.
 */
static int
kvm_state_set(int fd, unsigned parts, struct kvm_state *st, unsigned *done)
{
	*done = 0;
	if (parts & KVM_PART_SREGS) {
		if (kvm_ioctl(fd, KVM_SET_SREGS, &st->ks_sregs) != 0)
			return -1;
		*done |= KVM_PART_SREGS;
	}
	if (parts & KVM_PART_XCRS) {
		if (kvm_ioctl(fd, KVM_SET_XCRS, &st->ks_xcrs) != 0)
			return -1;
		*done |= KVM_PART_XCRS;
	}
	if (parts & KVM_PART_MSRS) {
		/* Even a short write changed some MSRs: restore them too. */
		*done |= KVM_PART_MSRS;
		if (kvm_msrs_io(fd, KVM_SET_MSRS, &st->ks_msrs) != 0)
			return -1;
	}
	if (parts & KVM_PART_DREGS) {
		if (kvm_ioctl(fd, KVM_SET_DEBUGREGS, &st->ks_dregs) != 0)
			return -1;
		*done |= KVM_PART_DREGS;
	}
	if (parts & KVM_PART_REGS) {
		if (kvm_ioctl(fd, KVM_SET_REGS, &st->ks_regs) != 0)
			return -1;
		*done |= KVM_PART_REGS;
	}
	return 0;
}

static __u64 *
kvm_xcr0(struct kvm_xcrs *x)
{
	uint32_t i;

	for (i = 0; i < x->nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (x->xcrs[i].xcr == 0)
			return &x->xcrs[i].value;
	return NULL;
}

static int
kvm_vcpu_get_regs(struct vmm_vm *vm, unsigned id, struct vmm_regs *regs,
		  unsigned groups)
{
	struct kvm_vcpu *vc = kvm_vcpu(vm, id);
	struct kvm_state st;
	__u64 *x;
	int i;

	if (vc == NULL)
		return -1;
	if (groups & ~(unsigned)VMM_REGS_ALL) {
		errno = EINVAL;
		return -1;
	}
	if (kvm_state_get(vc->kc_fd, kvm_parts(vm, groups), &st) != 0)
		return -1;
	if (groups & VMM_REGS_GPRS) {
		const struct kvm_regs *r = &st.ks_regs;
		uint64_t *g = regs->rg_gprs;

		g[VMM_RAX] = r->rax;
		g[VMM_RBX] = r->rbx;
		g[VMM_RCX] = r->rcx;
		g[VMM_RDX] = r->rdx;
		g[VMM_RSI] = r->rsi;
		g[VMM_RDI] = r->rdi;
		g[VMM_R8] = r->r8;
		g[VMM_R9] = r->r9;
		g[VMM_R10] = r->r10;
		g[VMM_R11] = r->r11;
		g[VMM_R12] = r->r12;
		g[VMM_R13] = r->r13;
		g[VMM_R14] = r->r14;
		g[VMM_R15] = r->r15;
		g[VMM_RSP] = r->rsp;
		g[VMM_RBP] = r->rbp;
		g[VMM_RIP] = r->rip;
		g[VMM_RFLAGS] = r->rflags;
	}
	if (groups & VMM_REGS_SREGS) {
		for (i = 0; i < VMM_NSREGS; i++)
			kvm_seg_get(kvm_sreg(&st.ks_sregs, i),
				    &regs->rg_sregs[i]);
		regs->rg_gdtr.dt_base = st.ks_sregs.gdt.base;
		regs->rg_gdtr.dt_limit = st.ks_sregs.gdt.limit;
		regs->rg_idtr.dt_base = st.ks_sregs.idt.base;
		regs->rg_idtr.dt_limit = st.ks_sregs.idt.limit;
	}
	if (groups & VMM_REGS_CRS) {
		regs->rg_crs[VMM_CR0] = st.ks_sregs.cr0;
		regs->rg_crs[VMM_CR2] = st.ks_sregs.cr2;
		regs->rg_crs[VMM_CR3] = st.ks_sregs.cr3;
		regs->rg_crs[VMM_CR4] = st.ks_sregs.cr4;
		regs->rg_crs[VMM_CR8] = st.ks_sregs.cr8;
		x = vm->vm_has_xcrs ? kvm_xcr0(&st.ks_xcrs) : NULL;
		regs->rg_crs[VMM_XCR0] = x != NULL ? *x : 0;
	}
	if (groups & VMM_REGS_MSRS)
		for (i = 0; i < VMM_NMSRS; i++)
			regs->rg_msrs[i] = st.ks_msrs.mb_ent[i].data;
	if (groups & VMM_REGS_DRS) {
		for (i = 0; i < 4; i++)
			regs->rg_drs[VMM_DR0 + i] = st.ks_dregs.db[i];
		regs->rg_drs[VMM_DR6] = st.ks_dregs.dr6;
		regs->rg_drs[VMM_DR7] = st.ks_dregs.dr7;
	}
	return 0;
}

/* Puts the groups of regs into st (which holds the current state). */
static int
kvm_state_merge(const struct vmm_vm *vm, struct kvm_state *st,
		const struct vmm_regs *regs, unsigned groups)
{
	__u64 *x;
	int i;

	if (groups & VMM_REGS_GPRS) {
		struct kvm_regs *r = &st->ks_regs;
		const uint64_t *g = regs->rg_gprs;

		r->rax = g[VMM_RAX];
		r->rbx = g[VMM_RBX];
		r->rcx = g[VMM_RCX];
		r->rdx = g[VMM_RDX];
		r->rsi = g[VMM_RSI];
		r->rdi = g[VMM_RDI];
		r->r8 = g[VMM_R8];
		r->r9 = g[VMM_R9];
		r->r10 = g[VMM_R10];
		r->r11 = g[VMM_R11];
		r->r12 = g[VMM_R12];
		r->r13 = g[VMM_R13];
		r->r14 = g[VMM_R14];
		r->r15 = g[VMM_R15];
		r->rsp = g[VMM_RSP];
		r->rbp = g[VMM_RBP];
		r->rip = g[VMM_RIP];
		r->rflags = g[VMM_RFLAGS];
	}
	if (groups & VMM_REGS_SREGS) {
		for (i = 0; i < VMM_NSREGS; i++)
			kvm_seg_set(kvm_sreg(&st->ks_sregs, i),
				    &regs->rg_sregs[i]);
		st->ks_sregs.gdt.base = regs->rg_gdtr.dt_base;
		st->ks_sregs.gdt.limit = (uint16_t)regs->rg_gdtr.dt_limit;
		st->ks_sregs.idt.base = regs->rg_idtr.dt_base;
		st->ks_sregs.idt.limit = (uint16_t)regs->rg_idtr.dt_limit;
		if (regs->rg_gdtr.dt_limit > 0xffff ||
		    regs->rg_idtr.dt_limit > 0xffff) {
			errno = EINVAL;
			return -1;
		}
	}
	if (groups & VMM_REGS_CRS) {
		st->ks_sregs.cr0 = regs->rg_crs[VMM_CR0];
		st->ks_sregs.cr2 = regs->rg_crs[VMM_CR2];
		st->ks_sregs.cr3 = regs->rg_crs[VMM_CR3];
		st->ks_sregs.cr4 = regs->rg_crs[VMM_CR4];
		st->ks_sregs.cr8 = regs->rg_crs[VMM_CR8];
		if (vm->vm_has_xcrs) {
			if ((x = kvm_xcr0(&st->ks_xcrs)) == NULL) {
				errno = ENOTSUP;
				return -1;
			}
			*x = regs->rg_crs[VMM_XCR0];
		} else if (regs->rg_crs[VMM_XCR0] > 1) {
			/* No XSAVE here: only "absent" and the x87-only
			 * power-on value make sense. */
			errno = ENOTSUP;
			return -1;
		}
	}
	if (groups & VMM_REGS_MSRS) {
		for (i = 0; i < VMM_NMSRS; i++)
			st->ks_msrs.mb_ent[i].data = regs->rg_msrs[i];
		/* EFER also travels in sregs: keep the two in agreement so
		 * KVM_SET_SREGS checks the new EFER with the new CRs. */
		st->ks_sregs.efer = regs->rg_msrs[VMM_EFER];
	}
	if (groups & VMM_REGS_DRS) {
		for (i = 0; i < 4; i++)
			st->ks_dregs.db[i] = regs->rg_drs[VMM_DR0 + i];
		st->ks_dregs.dr6 = regs->rg_drs[VMM_DR6];
		st->ks_dregs.dr7 = regs->rg_drs[VMM_DR7];
		st->ks_dregs.flags = 0;
	}
	return 0;
}

/*
 * Writes the groups of regs, all or nothing: the current state is read
 * first and written back if KVM refuses a part (its errno is returned).
 */
static int
kvm_regs_write(struct vmm_vm *vm, int fd, const struct vmm_regs *regs,
	       unsigned groups)
{
	struct kvm_state old, new;
	unsigned parts = kvm_parts(vm, groups), done, undone;
	int err;

	if (kvm_state_get(fd, parts, &old) != 0)
		return -1;
	new = old;
	if (kvm_state_merge(vm, &new, regs, groups) != 0)
		return -1;
	if (kvm_state_set(fd, parts, &new, &done) == 0)
		return 0;
	err = errno;
	(void)kvm_state_set(fd, done, &old, &undone);
	errno = err;
	return -1;
}

static int
kvm_vcpu_set_regs(struct vmm_vm *vm, unsigned id, const struct vmm_regs *regs,
		  unsigned groups)
{
	struct kvm_vcpu *vc = kvm_vcpu(vm, id);

	if (vc == NULL)
		return -1;
	if (groups & ~(unsigned)VMM_REGS_ALL) {
		errno = EINVAL;
		return -1;
	}
	if (groups == 0)
		return 0;
	vc->kc_fresh = 0;
	return kvm_regs_write(vm, vc->kc_fd, regs, groups);
}

/* Writes one MSR of vCPU fd. */
static int
kvm_msr_write(int fd, uint32_t index, uint64_t value)
{
	struct kvm_msrbuf mb;

	memset(&mb, 0, sizeof(mb));
	mb.mb_hdr.nmsrs = 1;
	mb.mb_ent[0].index = index;
	mb.mb_ent[0].data = value;
	return kvm_msrs_io(fd, KVM_SET_MSRS, &mb);
}

static int
kvm_msr_read(int fd, uint32_t index, uint64_t *value)
{
	struct kvm_msrbuf mb;

	memset(&mb, 0, sizeof(mb));
	mb.mb_hdr.nmsrs = 1;
	mb.mb_ent[0].index = index;
	if (kvm_msrs_io(fd, KVM_GET_MSRS, &mb) != 0)
		return -1;
	*value = mb.mb_ent[0].data;
	return 0;
}

/*
 * Whether the segments KVM_CREATE_VCPU gives differ from
 * vmm_regs_poweron's: not on kvm_pvm (nor, by the SDM, kvm_intel); on
 * kvm_amd they do, its init_vmcb leaving CS and SS without the accessed
 * bit and TR a 16-bit busy TSS (access rights 0x9a, 0x92 and 0x83 where
 * ours are 0x9b, 0x93 and 0x8b).  Asked of the first fresh vCPU reset
 * without segments and kept: -1 not known yet, 0 the same, 1 different.
 */
static _Atomic int kvm_fresh_sregs_differ = -1;

/* 0 or 1 as above for the fresh vCPU vc, -1 when KVM_GET_SREGS fails. */
static int
kvm_fresh_sregs_check(const struct kvm_vcpu *vc, const struct vmm_regs *on)
{
	int known = atomic_load(&kvm_fresh_sregs_differ), differ = 0, i;
	struct kvm_sregs sr;
	struct vmm_seg s;

	if (known >= 0)
		return known;
	if (kvm_ioctl(vc->kc_fd, KVM_GET_SREGS, &sr) != 0)
		return -1;
	for (i = 0; i < VMM_NSREGS; i++) {
		const struct vmm_seg *o = &on->rg_sregs[i];

		kvm_seg_get(kvm_sreg(&sr, i), &s);
		if (s.sg_selector != o->sg_selector ||
		    s.sg_limit != o->sg_limit || s.sg_ar != o->sg_ar ||
		    s.sg_base != o->sg_base)
			differ = 1;
	}
	if (sr.gdt.base != on->rg_gdtr.dt_base ||
	    sr.gdt.limit != on->rg_gdtr.dt_limit ||
	    sr.idt.base != on->rg_idtr.dt_base ||
	    sr.idt.limit != on->rg_idtr.dt_limit)
		differ = 1;
	atomic_store(&kvm_fresh_sregs_differ, differ);
	return differ;
}

/*
 * The reset of a fresh vCPU (kc_fresh): KVM_CREATE_VCPU left it in the
 * power-on state, nothing pending, kvmclock off -- vmm_regs_poweron's
 * state in every group but MISC_ENABLE, which KVM starts at a value of
 * its own (0x1 on kvm_pvm; ours is QEMU's 0x1801), and, on kvm_amd, the
 * segments (kvm_fresh_sregs_differ).  So only the groups the caller
 * gives, the segments where they differ, and that MSR are written: for
 * a flat start GET_SREGS (for what struct vmm_regs leaves out: APIC
 * base, the interrupt bitmap), SET_SREGS, SET_REGS and SET_MSRS, where
 * the full reset takes twelve ioctls (5-30 us each on kvm_pvm), and
 * only SET_MSRS for a secondary vCPU (GET_SREGS and SET_SREGS too on
 * kvm_amd).  tests/driver checks that both paths give the same state.
 */
static int
kvm_vcpu_reset_fresh(struct vmm_vm *vm, struct kvm_vcpu *vc,
		     const struct vmm_regs *on, unsigned groups)
{
	unsigned parts, done;
	struct kvm_state st;
	int rc;

	if (!(groups & VMM_REGS_SREGS)) {
		if ((rc = kvm_fresh_sregs_check(vc, on)) < 0)
			return -1;
		if (rc)
			groups |= VMM_REGS_SREGS;
	}
	parts = kvm_parts(vm, groups);
	memset(&st, 0, sizeof(st));
	/* What the groups given do not fill entirely: read it first. */
	if (kvm_state_get(vc->kc_fd, parts & (KVM_PART_SREGS | KVM_PART_XCRS),
			  &st) != 0)
		return -1;
	if (parts & KVM_PART_MSRS)
		kvm_msrs_prepare(&st.ks_msrs);
	if (kvm_state_merge(vm, &st, on, groups) != 0)
		return -1;
	/* No longer as KVM made it, whatever happens next. */
	vc->kc_fresh = 0;
	rc = kvm_state_set(vc->kc_fd, parts, &st, &done);
	if (rc == 0 && !(groups & VMM_REGS_MSRS))
		rc = kvm_msr_write(vc->kc_fd, KVM_MSR_MISC_ENABLE,
				   on->rg_msrs[VMM_MISC_ENABLE]);
	vc->kc_run->request_interrupt_window = 0;
	return rc;
}

/*
 * VMM_IOC_RESETCPU: the power-on state with the groups of regs over it,
 * nothing pending.  A vCPU never run nor changed takes the short way.
 */
static int
kvm_vcpu_reset(struct vmm_vm *vm, unsigned id, const struct vmm_regs *regs,
	       unsigned groups)
{
	struct kvm_vcpu *vc = kvm_vcpu(vm, id);
	struct kvm_vcpu_events ev;
	struct vmm_regs on;

	if (vc == NULL)
		return -1;
	if (groups & ~(unsigned)VMM_REGS_ALL || (groups != 0 && regs == NULL)) {
		errno = EINVAL;
		return -1;
	}
	vmm_regs_poweron(&on);
	if (groups & VMM_REGS_GPRS)
		memcpy(on.rg_gprs, regs->rg_gprs, sizeof(on.rg_gprs));
	if (groups & VMM_REGS_SREGS) {
		memcpy(on.rg_sregs, regs->rg_sregs, sizeof(on.rg_sregs));
		on.rg_gdtr = regs->rg_gdtr;
		on.rg_idtr = regs->rg_idtr;
	}
	if (groups & VMM_REGS_CRS)
		memcpy(on.rg_crs, regs->rg_crs, sizeof(on.rg_crs));
	if (groups & VMM_REGS_MSRS)
		memcpy(on.rg_msrs, regs->rg_msrs, sizeof(on.rg_msrs));
	if (groups & VMM_REGS_DRS)
		memcpy(on.rg_drs, regs->rg_drs, sizeof(on.rg_drs));
	if (vc->kc_fresh)
		return kvm_vcpu_reset_fresh(vm, vc, &on, groups);
	if (kvm_regs_write(vm, vc->kc_fd, &on, VMM_REGS_ALL) != 0)
		return -1;

	/* A reset also forgets what was in flight: pending exceptions,
	 * NMIs, the interrupt shadow, and this vCPU's kvmclock. */
	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	if (kvm_ioctl(vc->kc_fd, KVM_SET_VCPU_EVENTS, &ev) != 0)
		return -1;
	if (kvm_msr_write(vc->kc_fd, KVM_MSR_SYSTEM_TIME_NEW, 0) != 0)
		return -1;
	vc->kc_run->request_interrupt_window = 0;
	return 0;
}

/*
 * An interrupt for vCPU id of a VM with local APICs, where KVM_INTERRUPT
 * is refused (ENXIO): an IRQ is what a device's MSI would be, a fixed,
 * edge-triggered message with the vector to the APIC whose ID is id
 * (kvm_vcpu_set_cpuid gives vCPU i APIC ID i), which holds it until the
 * guest can take it; an NMI goes in as the LINT1 NMI QEMU's `nmi`
 * sends (KVM_NMI).  No interrupt window to wait for, so never EAGAIN.
 */
static int
kvm_vcpu_interrupt_apic(struct vmm_vm *vm, unsigned id, enum vmm_intr_type type,
			unsigned vector)
{
	struct kvm_msi msi;
	int rc;

	switch (type) {
	case VMM_INTR_NMI:
		return kvm_ioctl(vm->vm_vcpus[id].kc_fd, KVM_NMI, NULL);
	case VMM_INTR_IRQ:
		if (vector > 255 || id > 255) {
			errno = EINVAL;
			return -1;
		}
		memset(&msi, 0, sizeof(msi));
		msi.address_lo = KVM_MSI_ADDR_BASE | id << 12;
		msi.data = vector;
		/* > 0 delivered; 0: the APIC refused it (disabled by the
		 * guest), as a device's MSI would be lost. */
		if ((rc = kvm_ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi)) < 0)
			return -1;
		if (rc == 0) {
			errno = EIO;
			return -1;
		}
		return 0;
	}
	errno = EINVAL;
	return -1;
}

/* Sets ISA line irq's level at the PICs and the I/O APIC. */
static int
kvm_vm_irq_line(struct vmm_vm *vm, unsigned irq, int level)
{
	struct kvm_irq_level il;

	if (vm == NULL || irq >= KVM_ISA_IRQS) {
		errno = EINVAL;
		return -1;
	}
	if (!vm->vm_irqchip) {
		errno = ENOTSUP;
		return -1;
	}
	memset(&il, 0, sizeof(il));
	il.irq = irq;
	il.level = level != 0;
	return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &il);
}

/* KVM_IRQFD: fd raises gsi; a resample fd makes it level-triggered. */
static int
kvm_vm_irqfd(struct vmm_vm *vm, unsigned gsi, int fd, int resamplefd)
{
	struct kvm_irqfd f;

	if (!vm->vm_irqchip) {
		errno = ENOTSUP;
		return -1;
	}
	memset(&f, 0, sizeof(f));
	f.fd = (uint32_t)fd;
	f.gsi = gsi;
	if (resamplefd >= 0) {
		f.flags = KVM_IRQFD_FLAG_RESAMPLE;
		f.resamplefd = (uint32_t)resamplefd;
	}
	return kvm_ioctl(vm->vm_fd, KVM_IRQFD, &f);
}

static int
kvm_vm_irqfd_remove(struct vmm_vm *vm, unsigned gsi, int fd)
{
	struct kvm_irqfd f;

	memset(&f, 0, sizeof(f));
	f.fd = (uint32_t)fd;
	f.gsi = gsi;
	f.flags = KVM_IRQFD_FLAG_DEASSIGN;
	return kvm_ioctl(vm->vm_fd, KVM_IRQFD, &f);
}

/* Line gsi delivers the MSI (addr, data): the routing table again. */
static int
kvm_vm_msi_route(struct vmm_vm *vm, unsigned gsi, int enable, uint64_t addr,
		 uint32_t data)
{
	struct kvm_msi_route *m, old;
	int rc, err;

	if (!vm->vm_irqchip) {
		errno = ENOTSUP;
		return -1;
	}
	if (gsi < VMM_MSI_GSI_BASE || gsi >= VMM_MSI_GSI_BASE + VMM_MSI_GSIS) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&vm->vm_route_lock);
	m = &vm->vm_msi[gsi - VMM_MSI_GSI_BASE];
	old = *m;
	m->mr_on = enable != 0;
	m->mr_addr = addr;
	m->mr_data = data;
	if ((rc = kvm_vm_gsi_routing(vm)) != 0) {
		err = errno;
		*m = old;
		errno = err;
	}
	pthread_mutex_unlock(&vm->vm_route_lock);
	return rc;
}

static int
kvm_vcpu_interrupt(struct vmm_vm *vm, unsigned id, enum vmm_intr_type type,
		   unsigned vector)
{
	struct kvm_vcpu *vc = kvm_vcpu(vm, id);
	struct kvm_interrupt irq;
	struct kvm_run *run;

	if (vc == NULL)
		return -1;
	vc->kc_fresh = 0;
	if (vm->vm_irqchip)
		return kvm_vcpu_interrupt_apic(vm, id, type, vector);
	run = vc->kc_run;
	switch (type) {
	case VMM_INTR_NMI:
		/* KVM holds NMIs until the guest can take them. */
		return kvm_ioctl(vc->kc_fd, KVM_NMI, NULL);
	case VMM_INTR_IRQ:
		if (vector > 255) {
			errno = EINVAL;
			return -1;
		}
		/*
		 * The userspace-irqchip protocol: inject only when the last
		 * exit said the guest takes interrupts; otherwise ask KVM
		 * to come back (an interrupt-window exit, reported as
		 * KICKED) and let the caller try again then.
		 */
		if (!run->ready_for_interrupt_injection || !run->if_flag) {
			run->request_interrupt_window = 1;
			errno = EAGAIN;
			return -1;
		}
		memset(&irq, 0, sizeof(irq));
		irq.irq = vector;
		if (kvm_ioctl(vc->kc_fd, KVM_INTERRUPT, &irq) != 0)
			return -1;
		run->request_interrupt_window = 0;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

static int
kvm_vm_get_params(struct vmm_vm *vm, struct vmm_params *p)
{
	uint64_t msr, gpa;
	uint32_t version;

	if (vm == NULL) {
		errno = EINVAL;
		return -1;
	}
	if (kvm_msr_read(vm->vm_vcpus[0].kc_fd, KVM_MSR_SYSTEM_TIME_NEW,
			 &msr) != 0)
		return -1;
	memset(p, 0, sizeof(*p));
	if (!(msr & 1))
		return 0;
	gpa = msr & ~1ULL;
	p->pp_pvclock_system_gpa = gpa;
	if (gpa <= vm->vm_memsize - sizeof(version)) {
		/* The pvclock version is the structure's first field; the
		 * guest and KVM update it, so read it as one load. */
		__atomic_load((uint32_t *)(void *)(vm->vm_mem + gpa), &version,
			      __ATOMIC_ACQUIRE);
		p->pp_pvclock_version = version;
	}
	return 0;
}

static int
kvm_vm_set_params(struct vmm_vm *vm, const struct vmm_params *p)
{
	uint64_t gpa;
	uint32_t version;

	if (vm == NULL) {
		errno = EINVAL;
		return -1;
	}
	vm->vm_vcpus[0].kc_fresh = 0;
	gpa = p->pp_pvclock_system_gpa;
	if (gpa == 0)
		return kvm_msr_write(vm->vm_vcpus[0].kc_fd,
				     KVM_MSR_SYSTEM_TIME_NEW, 0);
	/* KVM wants the structure 4-byte aligned, in RAM and in one page. */
	if (gpa % 4 != 0 || gpa > vm->vm_memsize - KVM_PVCLOCK_SIZE ||
	    gpa % KVM_PAGE + KVM_PVCLOCK_SIZE > KVM_PAGE) {
		errno = EINVAL;
		return -1;
	}
	if (kvm_msr_write(vm->vm_vcpus[0].kc_fd, KVM_MSR_SYSTEM_TIME_NEW,
			  gpa | 1) != 0)
		return -1;
	version = p->pp_pvclock_version;
	__atomic_store((uint32_t *)(void *)(vm->vm_mem + gpa), &version,
		       __ATOMIC_RELEASE);
	return 0;
}

/*
 * The slot layout with [gpa, gpa + size) made ro (or not), adjacent
 * slots alike merged.  -1 (ENOSPC) when it needs too many slots.
 */
static int
kvm_slots_overlay(const struct vmm_vm *vm, uint64_t gpa, uint64_t size, int ro,
		  struct kvm_slot *out, unsigned *nout)
{
	struct kvm_slot pieces[KVM_MAX_SLOTS + 2];
	uint64_t end = gpa + size;
	unsigned i, n = 0, m = 0;
	int inserted = 0;

	memset(pieces, 0, sizeof(pieces));

	/* Slots cover RAM in order: keep what lies outside the range,
	 * and put the range itself where it starts. */
	for (i = 0; i < vm->vm_nslots; i++) {
		const struct kvm_slot *s = &vm->vm_slots[i];
		uint64_t s_end = s->sl_gpa + s->sl_size;

		if (s->sl_gpa < gpa) {
			pieces[n] = *s;
			pieces[n].sl_size =
			    (s_end < gpa ? s_end : gpa) - s->sl_gpa;
			n++;
		}
		if (!inserted && s_end > gpa) {
			pieces[n].sl_gpa = gpa;
			pieces[n].sl_size = size;
			pieces[n].sl_ro = ro;
			n++;
			inserted = 1;
		}
		if (s_end > end) {
			pieces[n] = *s;
			pieces[n].sl_gpa = s->sl_gpa > end ? s->sl_gpa : end;
			pieces[n].sl_size = s_end - pieces[n].sl_gpa;
			n++;
		}
	}
	for (i = 0; i < n; i++) {
		if (m > 0 && out[m - 1].sl_ro == pieces[i].sl_ro) {
			out[m - 1].sl_size += pieces[i].sl_size;
			continue;
		}
		if (m == KVM_MAX_SLOTS) {
			errno = ENOSPC;
			return -1;
		}
		out[m++] = pieces[i];
	}
	*nout = m;
	return 0;
}

static int
kvm_slots_same(const struct kvm_slot *a, unsigned na, const struct kvm_slot *b,
	       unsigned nb)
{
	unsigned i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (a[i].sl_gpa != b[i].sl_gpa ||
		    a[i].sl_size != b[i].sl_size || a[i].sl_ro != b[i].sl_ro)
			return 0;
	return 1;
}

/* Replaces slots 0..nold-1 with new[0..nnew); memslot IDs follow. */
static int
kvm_slots_apply(struct vmm_vm *vm, unsigned nold, const struct kvm_slot *new,
		unsigned nnew)
{
	struct kvm_slot gone = {0, 0, 0};
	unsigned i;

	/* KVM cannot resize a slot or change its read-only flag, and
	 * slots may not overlap: delete all, then create. */
	for (i = 0; i < nold; i++)
		if (kvm_slot_set(vm, i, &gone) != 0)
			return -1;
	for (i = 0; i < nnew; i++)
		if (kvm_slot_set(vm, i, &new[i]) != 0)
			return -1;
	return 0;
}

static int
kvm_vm_protect(struct vmm_vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	struct kvm_slot layout[KVM_MAX_SLOTS] = {{0, 0, 0}};
	unsigned n, i;
	int err;

	if (vm == NULL || size == 0 || gpa % KVM_PAGE != 0 ||
	    size % KVM_PAGE != 0 || gpa > vm->vm_memsize ||
	    size > vm->vm_memsize - gpa) {
		errno = EINVAL;
		return -1;
	}
	if ((prot != VMM_PROT_R && prot != VMM_PROT_RW) ||
	    !vm->vm_has_readonly) {
		/* Execute-only or no-access needs EPT permissions that KVM
		 * does not offer to userspace. */
		errno = ENOTSUP;
		return -1;
	}
	if (kvm_slots_overlay(vm, gpa, size, prot == VMM_PROT_R, layout, &n) !=
	    0)
		return -1;
	if (kvm_slots_same(layout, n, vm->vm_slots, vm->vm_nslots))
		return 0;
	if (kvm_slots_apply(vm, vm->vm_nslots, layout, n) != 0) {
		err = errno;
		/* Back to the layout the guest had. */
		for (i = 0; i < n; i++) {
			struct kvm_slot gone = {0, 0, 0};

			(void)kvm_slot_set(vm, i, &gone);
		}
		(void)kvm_slots_apply(vm, 0, vm->vm_slots, vm->vm_nslots);
		errno = err;
		return -1;
	}
	memcpy(vm->vm_slots, layout, n * sizeof(layout[0]));
	vm->vm_nslots = n;
	return 0;
}

/* A device's BAR at gpa: a slot of its own, after the RAM ones. */
static int
kvm_vm_map_device(struct vmm_vm *vm, uint64_t gpa, void *host, uint64_t size)
{
	struct kvm_userspace_memory_region r;

	if (vm->vm_ndevslots == KVM_DEV_SLOTS) {
		errno = ENOSPC;
		return -1;
	}
	if (gpa % KVM_PAGE != 0 || size % KVM_PAGE != 0 || size == 0 ||
	    gpa < vm->vm_memsize) {
		errno = EINVAL;
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.slot = KVM_MAX_SLOTS + vm->vm_ndevslots;
	r.guest_phys_addr = gpa;
	r.memory_size = size;
	r.userspace_addr = (uint64_t)(uintptr_t)host;
	if (kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) != 0)
		return -1;
	vm->vm_ndevslots++;
	return 0;
}

/* kvm.enable_vmware_backdoor (vmm.h, vo_backdoor_any_cpl). */
static int
kvm_backdoor_any_cpl(void)
{
	return vmm_kvm_backdoor_user(VMM_KVM_BACKDOOR_PARAM) == 1;
}

/* The KVM backend: every operation of vmm.h. */
static const char *const kvm_lacks[] = {
    "exec-only and no-access memory protection (read-only memslots "
    "express r and rw only)",
    NULL,
};

static const char *const kvm_features[] = {
    "guestinfo-backdoor",
    "linux-boot",
    "memory-protect",
    "pci-passthrough",
    "pvclock",
    "spare-vms",
    NULL,
};

const struct vmm_ops vmm_kvm_ops = {
    .vo_name = "kvm",
    .vo_lacks = kvm_lacks,
    .vo_features = kvm_features,
    .vo_vm_create = kvm_vm_create,
    .vo_vm_destroy = kvm_vm_destroy,
    .vo_vm_memory = kvm_vm_memory,
    .vo_vcpu_run = kvm_vcpu_run,
    .vo_vcpu_kick = kvm_vcpu_kick,
    .vo_vcpu_reset = kvm_vcpu_reset,
    .vo_vcpu_get_regs = kvm_vcpu_get_regs,
    .vo_vcpu_set_regs = kvm_vcpu_set_regs,
    .vo_vcpu_interrupt = kvm_vcpu_interrupt,
    .vo_vm_irq_line = kvm_vm_irq_line,
    .vo_vm_get_params = kvm_vm_get_params,
    .vo_vm_set_params = kvm_vm_set_params,
    .vo_vm_protect = kvm_vm_protect,
    .vo_vm_map_device = kvm_vm_map_device,
    .vo_vm_irqfd = kvm_vm_irqfd,
    .vo_vm_irqfd_remove = kvm_vm_irqfd_remove,
    .vo_vm_msi_route = kvm_vm_msi_route,
    .vo_spares_open = kvm_spares_open,
    .vo_spares_close = kvm_spares_close,
    .vo_spares_stats = kvm_spares_stats,
    .vo_backdoor_any_cpl = kvm_backdoor_any_cpl,
};

#else /* !__linux__ */

/* KVM exists only on Linux: creating a VM says so. */
static int
kvm_vm_create(const struct vmm_create_params *cp, struct vmm_vm **out)
{
	(void)cp;
	(void)out;
	errno = ENOTSUP;
	return -1;
}

/* Elsewhere the table exists, and creating a VM answers ENOTSUP. */
const struct vmm_ops vmm_kvm_ops = {
    .vo_name = "kvm",
    .vo_vm_create = kvm_vm_create,
};

#endif
