/*
 * The architectural register state every backend starts a vCPU in: the
 * x86 power-on (RESET) values of the Intel SDM, vol. 3, table 10-1.
 */
#include "vmm-driver/vmm.h"

#include <string.h>

/* Access rights in the VMX layout: type | S | P (| DPL 0). */
#define REGS_AR_CODE 0x9b /* present, code, execute/read, accessed */
#define REGS_AR_DATA 0x93 /* present, data, read/write, accessed */
#define REGS_AR_LDT 0x82  /* present, system, LDT */
#define REGS_AR_TSS 0x8b  /* present, system, busy 32-bit TSS */

/*
 * Fills regs with the power-on state: cs 0xf000 with base 0xffff0000 and
 * rip 0xfff0 (the reset vector), real mode, every other segment at 0 with
 * a 64 KiB limit, edx the processor signature (family 6).
 */
void
vmm_regs_poweron(struct vmm_regs *regs)
{
	int i;

	memset(regs, 0, sizeof(*regs));
	regs->rg_gprs[VMM_RDX] = 0x600;
	regs->rg_gprs[VMM_RIP] = 0xfff0;
	regs->rg_gprs[VMM_RFLAGS] = 0x2;

	for (i = 0; i < VMM_NSREGS; i++) {
		regs->rg_sregs[i].sg_limit = 0xffff;
		regs->rg_sregs[i].sg_ar = REGS_AR_DATA;
	}
	regs->rg_sregs[VMM_CS].sg_selector = 0xf000;
	regs->rg_sregs[VMM_CS].sg_base = 0xffff0000;
	regs->rg_sregs[VMM_CS].sg_ar = REGS_AR_CODE;
	regs->rg_sregs[VMM_LDTR].sg_ar = REGS_AR_LDT;
	regs->rg_sregs[VMM_TR].sg_ar = REGS_AR_TSS;
	regs->rg_gdtr.dt_limit = 0xffff;
	regs->rg_idtr.dt_limit = 0xffff;

	regs->rg_crs[VMM_CR0] = 0x60000010; /* CD | NW | ET */
	regs->rg_crs[VMM_XCR0] = 1;         /* x87 state is always on */

	/* What QEMU starts with: fast strings, no BTS, no PEBS. */
	regs->rg_msrs[VMM_MISC_ENABLE] = 0x1801;

	regs->rg_drs[VMM_DR6] = 0xffff0ff0;
	regs->rg_drs[VMM_DR7] = 0x400;
}
