/*
 * The sim backend: vmm(4)'s operations in software, for hosts without
 * /dev/kvm (containers, CI).  Guest RAM is an anonymous mapping; each
 * vCPU is a struct sim_vcpu run by the interpreter in sim_decode.c, which
 * documents the instruction subset, addressing and exits.
 *
 * What it does the way kvm.c does, so that the runner and the API see one
 * behaviour: the register document (all groups, read and written all or
 * nothing), power-on reset, port I/O exits with IN completed by the next
 * run, HLT exits, MMIO exits, kicks (an atomic flag, no signal), IRQs
 * refused with EAGAIN while IF is clear and a KICKED return once it opens,
 * NMIs always queued, read-only protection.
 *
 * What it does not have: protected, long or virtual-8086 mode, paging,
 * debug breakpoints, XSAVE state beyond x87, pvclock.  A register write
 * that needs one (CR0.PE or PG, EFER.LME, RFLAGS.VM, DR7 breakpoint
 * enables, XCR0 other than 1, rip past 64 KiB) is refused with EINVAL
 * and changes nothing, like the kernel refusing a value its CPU lacks;
 * the pvclock parameters answer ENOTSUP.
 */
#include "vmm-driver/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Real-mode linear addresses are 32 bits: RAM beyond is unreachable. */
#define SIM_RAM_MAX (1ULL << 32)

/* RFLAGS bits that exist (CF, 1, PF, AF, ZF, SF, TF, IF, DF, OF, IOPL,
 * NT, RF, VM, AC, VIF, VIP, ID); the rest are reserved. */
#define SIM_RFLAGS_DEFINED 0x3f7fd7ULL

#define SIM_CR0_PE (1ULL << 0)
#define SIM_CR0_NW (1ULL << 29)
#define SIM_CR0_CD (1ULL << 30)
#define SIM_CR0_PG (1ULL << 31)
/* CR4 bits of a CPU without VMX, SMX, LA57, PCID, CET or protection
 * keys: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT UMIP,
 * FSGSBASE, OSXSAVE, SMEP, SMAP.  None matters in real mode. */
#define SIM_CR4_VALID 0x350fffULL
#define SIM_CR8_MAX 15
#define SIM_XCR0_X87 1ULL
#define SIM_EFER_SCE (1ULL << 0)
#define SIM_EFER_NXE (1ULL << 11)
/* DR7's L0-L3 / G0-G3: breakpoints the sim cannot raise. */
#define SIM_DR7_ENABLES 0xffULL

struct vmm_vm {
	struct sim_mem vm_mem;
	unsigned vm_nvcpus;
	struct sim_vcpu vm_vcpus[];
};

/* enum vmm_gpr -> the x86 register number the interpreter uses. */
static const uint8_t sim_gpr_index[VMM_RIP] = {
    [VMM_RAX] = SIM_AX, [VMM_RBX] = SIM_BX, [VMM_RCX] = SIM_CX,
    [VMM_RDX] = SIM_DX, [VMM_RSI] = SIM_SI, [VMM_RDI] = SIM_DI,
    [VMM_R8] = 8,       [VMM_R9] = 9,       [VMM_R10] = 10,
    [VMM_R11] = 11,     [VMM_R12] = 12,     [VMM_R13] = 13,
    [VMM_R14] = 14,     [VMM_R15] = 15,     [VMM_RSP] = SIM_SP,
    [VMM_RBP] = SIM_BP,
};

static struct sim_vcpu *
sim_vcpu(struct vmm_vm *vm, unsigned id)
{
	if (vm == NULL || id >= vm->vm_nvcpus) {
		errno = EINVAL;
		return NULL;
	}
	return &vm->vm_vcpus[id];
}

/* The vCPU's registers, the groups asked for, into regs. */
static void
sim_regs_read(const struct sim_vcpu *v, struct vmm_regs *regs, unsigned groups)
{
	int i;

	if (groups & VMM_REGS_GPRS) {
		for (i = 0; i < VMM_RIP; i++)
			regs->rg_gprs[i] = v->sv_gpr[sim_gpr_index[i]].q;
		regs->rg_gprs[VMM_RIP] = v->sv_rip;
		regs->rg_gprs[VMM_RFLAGS] = v->sv_rflags;
	}
	if (groups & VMM_REGS_SREGS) {
		memcpy(regs->rg_sregs, v->sv_sregs, sizeof(regs->rg_sregs));
		regs->rg_gdtr = v->sv_gdtr;
		regs->rg_idtr = v->sv_idtr;
	}
	if (groups & VMM_REGS_CRS)
		memcpy(regs->rg_crs, v->sv_crs, sizeof(regs->rg_crs));
	if (groups & VMM_REGS_MSRS)
		memcpy(regs->rg_msrs, v->sv_msrs, sizeof(regs->rg_msrs));
	if (groups & VMM_REGS_DRS)
		memcpy(regs->rg_drs, v->sv_drs, sizeof(regs->rg_drs));
}

/* The groups of src into dst (whole register documents). */
static void
sim_regs_merge(struct vmm_regs *dst, const struct vmm_regs *src,
	       unsigned groups)
{
	if (groups & VMM_REGS_GPRS)
		memcpy(dst->rg_gprs, src->rg_gprs, sizeof(dst->rg_gprs));
	if (groups & VMM_REGS_SREGS) {
		memcpy(dst->rg_sregs, src->rg_sregs, sizeof(dst->rg_sregs));
		dst->rg_gdtr = src->rg_gdtr;
		dst->rg_idtr = src->rg_idtr;
	}
	if (groups & VMM_REGS_CRS)
		memcpy(dst->rg_crs, src->rg_crs, sizeof(dst->rg_crs));
	if (groups & VMM_REGS_MSRS)
		memcpy(dst->rg_msrs, src->rg_msrs, sizeof(dst->rg_msrs));
	if (groups & VMM_REGS_DRS)
		memcpy(dst->rg_drs, src->rg_drs, sizeof(dst->rg_drs));
}

static int
sim_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/*
 * 0 when the sim can run a vCPU in state r; -1 EINVAL for what a CPU
 * would refuse (reserved bits, non-canonical addresses) and for what
 * this one cannot do (see the top of this file).
 */
static int
sim_regs_check(const struct vmm_regs *r)
{
	uint64_t fl = r->rg_gprs[VMM_RFLAGS], cr0 = r->rg_crs[VMM_CR0];
	const uint64_t *msr = r->rg_msrs, *dr = r->rg_drs;

	if (r->rg_gprs[VMM_RIP] > 0xffff || (fl & ~SIM_RFLAGS_DEFINED) ||
	    (fl & SIM_VM))
		goto fail;
	if (r->rg_gdtr.dt_limit > 0xffff || r->rg_idtr.dt_limit > 0xffff)
		goto fail;
	if ((cr0 >> 32) || (cr0 & (SIM_CR0_PE | SIM_CR0_PG)) ||
	    ((cr0 & SIM_CR0_NW) && !(cr0 & SIM_CR0_CD)))
		goto fail;
	if ((r->rg_crs[VMM_CR4] & ~SIM_CR4_VALID) ||
	    r->rg_crs[VMM_CR8] > SIM_CR8_MAX ||
	    r->rg_crs[VMM_XCR0] != SIM_XCR0_X87)
		goto fail;
	if ((msr[VMM_EFER] & ~(SIM_EFER_SCE | SIM_EFER_NXE)) ||
	    !sim_canonical(msr[VMM_LSTAR]) || !sim_canonical(msr[VMM_CSTAR]) ||
	    !sim_canonical(msr[VMM_KGSBASE]))
		goto fail;
	if ((dr[VMM_DR6] >> 32) || (dr[VMM_DR7] >> 32) ||
	    (dr[VMM_DR7] & SIM_DR7_ENABLES))
		goto fail;
	return 0;
fail:
	errno = EINVAL;
	return -1;
}

/* Makes r (checked) the vCPU's state. */
static void
sim_regs_install(struct sim_vcpu *v, const struct vmm_regs *r)
{
	int i;

	for (i = 0; i < VMM_RIP; i++)
		v->sv_gpr[sim_gpr_index[i]].q = r->rg_gprs[i];
	v->sv_rip = r->rg_gprs[VMM_RIP];
	/* Bit 1 always reads 1; KVM sets it the same way. */
	v->sv_rflags = r->rg_gprs[VMM_RFLAGS] | 0x2;
	memcpy(v->sv_sregs, r->rg_sregs, sizeof(v->sv_sregs));
	v->sv_gdtr = r->rg_gdtr;
	v->sv_idtr = r->rg_idtr;
	memcpy(v->sv_crs, r->rg_crs, sizeof(v->sv_crs));
	memcpy(v->sv_msrs, r->rg_msrs, sizeof(v->sv_msrs));
	memcpy(v->sv_drs, r->rg_drs, sizeof(v->sv_drs));
}

/* Forgets everything in flight (a reset): only a kick survives. */
static void
sim_events_clear(struct sim_vcpu *v)
{
	v->sv_attn = 0;
	v->sv_shadow = 0;
	v->sv_trap = 0;
	v->sv_nmi_pending = 0;
	v->sv_nmi_blocked = 0;
	v->sv_irq_pending = 0;
	v->sv_window = 0;
	v->sv_pend = SIM_PEND_NONE;
	v->sv_mmio = 0;
}

static int
sim_vm_create(const struct vmm_create_params *cp, struct vmm_vm **out)
{
	struct vmm_regs on;
	struct vmm_vm *vm;
	unsigned i;
	void *p;

	/* No interrupt controller, no 64-bit mode: flat images only. */
	if (cp->cp_linux) {
		errno = ENOTSUP;
		return -1;
	}
	if (cp->cp_vcpus < 1 || cp->cp_vcpus > VMM_MAX_VCPUS ||
	    cp->cp_memory == 0 || cp->cp_memory % SIM_PAGE != 0 ||
	    cp->cp_memory > SIM_RAM_MAX) {
		errno = EINVAL;
		return -1;
	}
	vm = calloc(1, sizeof(*vm) + cp->cp_vcpus * sizeof(vm->vm_vcpus[0]));
	if (vm == NULL)
		return -1;
	/* Zero-filled and allocated as the guest touches it. */
	p = mmap(NULL, cp->cp_memory, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(vm);
		errno = ENOMEM;
		return -1;
	}
	/* Guest RAM has no place in the daemon's core dumps. */
	(void)madvise(p, cp->cp_memory, MADV_DONTDUMP);
	vm->vm_mem.sm_ram = p;
	vm->vm_mem.sm_size = cp->cp_memory;
	vm->vm_nvcpus = cp->cp_vcpus;
	vmm_regs_poweron(&on);
	for (i = 0; i < vm->vm_nvcpus; i++)
		sim_regs_install(&vm->vm_vcpus[i], &on);
	*out = vm;
	return 0;
}

static void
sim_vm_destroy(struct vmm_vm *vm)
{
	if (vm == NULL)
		return;
	munmap(vm->vm_mem.sm_ram, vm->vm_mem.sm_size);
	free(vm->vm_mem.sm_ro);
	free(vm);
}

static uint8_t *
sim_vm_memory(struct vmm_vm *vm, uint64_t *size)
{
	*size = vm->vm_mem.sm_size;
	return vm->vm_mem.sm_ram;
}

static int
sim_vcpu_run(struct vmm_vm *vm, unsigned id, struct vmm_exit *ex)
{
	struct sim_vcpu *v = sim_vcpu(vm, id);

	if (v == NULL)
		return -1;
	memset(ex, 0, sizeof(*ex));
	sim_decode_run(v, &vm->vm_mem, ex);
	return 0;
}

/* The interpreter reads the flag between instructions: no signal. */
static int
sim_vcpu_kick(struct vmm_vm *vm, unsigned id)
{
	struct sim_vcpu *v = sim_vcpu(vm, id);

	if (v == NULL)
		return -1;
	__atomic_store_n(&v->sv_kick, 1, __ATOMIC_RELEASE);
	return 0;
}

static int
sim_vcpu_reset(struct vmm_vm *vm, unsigned id, const struct vmm_regs *regs,
	       unsigned groups)
{
	struct sim_vcpu *v = sim_vcpu(vm, id);
	struct vmm_regs on;

	if (v == NULL)
		return -1;
	if (groups & ~(unsigned)VMM_REGS_ALL || (groups != 0 && regs == NULL)) {
		errno = EINVAL;
		return -1;
	}
	vmm_regs_poweron(&on);
	if (groups != 0)
		sim_regs_merge(&on, regs, groups);
	if (sim_regs_check(&on) != 0)
		return -1;
	sim_regs_install(v, &on);
	sim_events_clear(v);
	return 0;
}

static int
sim_vcpu_get_regs(struct vmm_vm *vm, unsigned id, struct vmm_regs *regs,
		  unsigned groups)
{
	struct sim_vcpu *v = sim_vcpu(vm, id);

	if (v == NULL)
		return -1;
	if (groups & ~(unsigned)VMM_REGS_ALL) {
		errno = EINVAL;
		return -1;
	}
	sim_regs_read(v, regs, groups);
	return 0;
}

/*
 * All or nothing: the new state is the current one with the groups
 * replaced, checked as a whole.  Writing the general registers drops an
 * armed single-step trap, and a half-done IN only when rip moves off the
 * IN: otherwise the next run completes it on top of the written
 * registers, as KVM does (the runner answers the VMware backdoor that
 * way: registers written, then the IN's data into eax).  The runner
 * never leaves one pending while paused.
 */
static int
sim_vcpu_set_regs(struct vmm_vm *vm, unsigned id, const struct vmm_regs *regs,
		  unsigned groups)
{
	struct sim_vcpu *v = sim_vcpu(vm, id);
	struct vmm_regs st;
	int moved;

	if (v == NULL)
		return -1;
	if (groups & ~(unsigned)VMM_REGS_ALL) {
		errno = EINVAL;
		return -1;
	}
	if (groups == 0)
		return 0;
	sim_regs_read(v, &st, VMM_REGS_ALL);
	sim_regs_merge(&st, regs, groups);
	if (sim_regs_check(&st) != 0)
		return -1;
	moved = st.rg_gprs[VMM_RIP] != v->sv_rip ||
		st.rg_sregs[VMM_CS].sg_base != v->sv_sregs[VMM_CS].sg_base;
	sim_regs_install(v, &st);
	if (groups & VMM_REGS_GPRS) {
		if (moved)
			v->sv_pend = SIM_PEND_NONE;
		v->sv_trap = 0;
	}
	return 0;
}

/*
 * As kvm.c: an NMI is always taken (held until the guest can take it);
 * an IRQ only when the guest has IF set, no interrupt shadow and no IRQ
 * still undelivered -- otherwise EAGAIN, and vcpu_run returns KICKED
 * ("interrupt window open") once the guest can take one.
 */
static int
sim_vcpu_interrupt(struct vmm_vm *vm, unsigned id, enum vmm_intr_type type,
		   unsigned vector)
{
	struct sim_vcpu *v = sim_vcpu(vm, id);

	if (v == NULL)
		return -1;
	switch (type) {
	case VMM_INTR_NMI:
		v->sv_nmi_pending = 1;
		return 0;
	case VMM_INTR_IRQ:
		if (vector > 255) {
			errno = EINVAL;
			return -1;
		}
		if (!(v->sv_rflags & SIM_IF) || v->sv_shadow ||
		    v->sv_irq_pending) {
			v->sv_window = 1;
			errno = EAGAIN;
			return -1;
		}
		v->sv_irq_pending = 1;
		v->sv_irq_vector = (uint8_t)vector;
		v->sv_window = 0;
		return 0;
	}
	errno = EINVAL;
	return -1;
}

/* No pvclock in software: ENOTSUP, which the API reports as 501. */
static int
sim_vm_get_params(struct vmm_vm *vm, struct vmm_params *p)
{
	(void)p;
	errno = vm == NULL ? EINVAL : ENOTSUP;
	return -1;
}

static int
sim_vm_set_params(struct vmm_vm *vm, const struct vmm_params *p)
{
	(void)p;
	errno = vm == NULL ? EINVAL : ENOTSUP;
	return -1;
}

/* Read-only and read-write pages; a write to a read-only one is an MMIO
 * exit and does not land.  Execute-only or no-access: ENOTSUP. */
static int
sim_vm_protect(struct vmm_vm *vm, uint64_t gpa, uint64_t size, unsigned prot)
{
	struct sim_mem *m;
	uint64_t pg, first, n;
	uint8_t ro;

	if (vm == NULL || size == 0 || gpa % SIM_PAGE != 0 ||
	    size % SIM_PAGE != 0 || gpa > vm->vm_mem.sm_size ||
	    size > vm->vm_mem.sm_size - gpa) {
		errno = EINVAL;
		return -1;
	}
	if (prot != VMM_PROT_R && prot != VMM_PROT_RW) {
		errno = ENOTSUP;
		return -1;
	}
	m = &vm->vm_mem;
	ro = prot == VMM_PROT_R;
	if (m->sm_ro == NULL) {
		if (!ro)
			return 0;
		m->sm_ro = calloc(m->sm_size / SIM_PAGE, 1);
		if (m->sm_ro == NULL)
			return -1;
	}
	first = gpa / SIM_PAGE;
	n = size / SIM_PAGE;
	for (pg = first; pg < first + n; pg++) {
		if (m->sm_ro[pg] == ro)
			continue;
		m->sm_ro[pg] = ro;
		if (ro)
			m->sm_nro++;
		else
			m->sm_nro--;
	}
	return 0;
}

/* The software backend: every operation of vmm.h, params as ENOTSUP. */
static const char *const sim_features[] = {
    "guestinfo-backdoor",
    "memory-protect",
    NULL,
};

static const char *const sim_lacks[] = {
    "hardware execution: it interprets a documented subset of 16-bit real "
    "mode (vmm-driver/sim_decode.c) and stops a guest that leaves it",
    "protected and long mode",
    "pvclock parameters",
    "exec-only and no-access memory protection",
    NULL,
};

const struct vmm_ops vmm_sim_ops = {
    .vo_name = "sim",
    .vo_lacks = sim_lacks,
    .vo_features = sim_features,
    .vo_vm_create = sim_vm_create,
    .vo_vm_destroy = sim_vm_destroy,
    .vo_vm_memory = sim_vm_memory,
    .vo_vcpu_run = sim_vcpu_run,
    .vo_vcpu_kick = sim_vcpu_kick,
    .vo_vcpu_reset = sim_vcpu_reset,
    .vo_vcpu_get_regs = sim_vcpu_get_regs,
    .vo_vcpu_set_regs = sim_vcpu_set_regs,
    .vo_vcpu_interrupt = sim_vcpu_interrupt,
    .vo_vm_get_params = sim_vm_get_params,
    .vo_vm_set_params = sim_vm_set_params,
    .vo_vm_protect = sim_vm_protect,
};
