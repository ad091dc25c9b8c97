/*
 * The sim backend's insides, shared by its two files and nothing else:
 * sim.c is the vmm_ops table (VMs, registers, kicks, interrupts,
 * protection), sim_decode.c the interpreter of the real-mode subset.
 *
 * Threads: a vCPU's state is touched only by the thread inside
 * vcpu_run, or, while no vcpu_run of that vCPU is in progress, by the
 * caller of the other operations (vmm.h's rule).  sv_kick is the one
 * field any thread writes, with atomics.  Guest RAM is shared by every
 * vCPU without locks, as RAM is.
 */
#ifndef VMMAPID_VMM_DRIVER_SIM_H
#define VMMAPID_VMM_DRIVER_SIM_H

#include <stdint.h>

#include "vmm-driver/vmm.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the sim backend keeps guest registers in host little-endian unions"
#endif

#define SIM_PAGE 4096ULL
/* Bytes one string I/O exit carries at most (KVM's is a page too). */
#define SIM_IOBUF 4096

/* RFLAGS bits the interpreter uses. */
#define SIM_CF 0x0001u
#define SIM_PF 0x0004u
#define SIM_AF 0x0010u
#define SIM_ZF 0x0040u
#define SIM_SF 0x0080u
#define SIM_TF 0x0100u
#define SIM_IF 0x0200u
#define SIM_DF 0x0400u
#define SIM_OF 0x0800u
#define SIM_VM 0x20000u
#define SIM_AC 0x40000u
#define SIM_ARITH (SIM_CF | SIM_PF | SIM_AF | SIM_ZF | SIM_SF | SIM_OF)

/* A general register: the 16-bit view is what real mode changes; the
 * upper bits stay as the register document set them. */
union sim_gpr {
	uint64_t q;
	uint32_t d[2]; /* 0x66 (operand size 32) instructions */
	uint16_t w[4];
	uint8_t b[8];
};

/* The general registers in x86 encoding order (ModRM reg numbers). */
enum sim_reg {
	SIM_AX,
	SIM_CX,
	SIM_DX,
	SIM_BX,
	SIM_SP,
	SIM_BP,
	SIM_SI,
	SIM_DI,
	SIM_NGPRS = 16 /* r8..r15 follow, kept for the register document */
};

/* A port input waiting for the runner's data (the next run writes it). */
enum sim_pend { SIM_PEND_NONE, SIM_PEND_IN, SIM_PEND_INS };

/* Guest RAM and its write protection. */
struct sim_mem {
	uint8_t *sm_ram;
	uint64_t sm_size;
	uint8_t *sm_ro;  /* one byte per page, 1 = read-only; NULL: none */
	uint64_t sm_nro; /* read-only pages */
};

/* One vCPU: its registers, what is in flight, its port I/O buffer. */
struct sim_vcpu {
	/* Architectural state (the register document). */
	union sim_gpr sv_gpr[SIM_NGPRS];
	uint64_t sv_rip;
	uint64_t sv_rflags;
	struct vmm_seg sv_sregs[VMM_NSREGS];
	struct vmm_dtable sv_gdtr, sv_idtr;
	uint64_t sv_crs[VMM_NCRS];
	uint64_t sv_msrs[VMM_NMSRS];
	uint64_t sv_drs[VMM_NDRS];

	/* Set by vcpu_kick from any thread; taken by vcpu_run. */
	int sv_kick;
	/* Something to look at before the next instruction: an interrupt
	 * that may be deliverable, a trap, a shadow, an MMIO report. */
	int sv_attn;
	int sv_shadow;      /* STI / MOV SS: the next boundary takes none */
	int sv_trap;        /* TF was set: #DB after this instruction */
	int sv_nmi_pending; /* NMIs collapse into one */
	int sv_nmi_blocked; /* inside an NMI handler until IRET */
	int sv_irq_pending;
	uint8_t sv_irq_vector;
	int sv_window; /* an IRQ was refused: KICKED once IF opens */

	/* A half-done IN / INS (the runner fills sv_io meanwhile). */
	enum sim_pend sv_pend;
	uint16_t sv_pend_next; /* the ip after it */
	uint8_t sv_pend_size;
	uint8_t sv_pend_rep;
	uint32_t sv_pend_count;

	/* The first access of this instruction outside RAM or to read-only
	 * RAM: reported as VMM_EXIT_MMIO once the instruction is done. */
	int sv_mmio;
	uint64_t sv_mmio_gpa;
	uint8_t sv_mmio_len;
	uint8_t sv_mmio_write;
	uint8_t sv_mmio_data[8];

	uint8_t sv_io[SIM_IOBUF];
};

/*
 * Runs v from its current state until an exit, filled into ex (zeroed by
 * the caller).  Completes a pending IN first, then takes a kick, then
 * delivers what is pending.  Never fails: every way out is an exit.
 */
void sim_decode_run(struct sim_vcpu *v, struct sim_mem *m, struct vmm_exit *ex);

#endif
