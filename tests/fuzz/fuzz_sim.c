/*
 * libFuzzer harness of the sim backend's interpreter
 * (vmm-driver/sim_decode.c, through vmm_sim_ops as the runner drives
 * it): arbitrary guest bytes at 0x1000 in 1 MiB of guest RAM, run in
 * real mode from 0:0x1000 with registers from the input, for at most
 * FUZZ_EXITS exits of vcpu_run, answered as the runner would (port input
 * gets bytes, a HLT with interrupts open gets one interrupt).
 *
 * Input: ax bx cx dx si di bp flags (8 x 16 bits, little-endian), one
 * byte of options (bit 0: page 0x2000 read-only, bit 1: an NMI queued
 * before the first run, bit 2: an IRQ at the first HLT, its vector the
 * next byte), the vector, then the code.
 *
 * The interpreter runs until an exit, and a guest may never make one
 * (`jmp .`): a thread kicks the vCPU once a run has taken FUZZ_RUN_US,
 * as the daemon's pause does, and a kicked run ends the input.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm-driver/vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MEM (1u << 20)
#define FUZZ_LOAD 0x1000
#define FUZZ_HEADER 18
#define FUZZ_EXITS 64
#define FUZZ_RUN_US 500

static const struct vmm_ops *ops = &vmm_sim_ops;
static struct vmm_vm *fuzz_vm;
static atomic_ullong fuzz_deadline_us; /* 0: no run under way */

static unsigned long long
fuzz_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL +
	       (unsigned long long)ts.tv_nsec / 1000;
}

static void *
fuzz_kicker(void *arg)
{
	const struct timespec tick = {0, 100 * 1000};
	unsigned long long d;

	(void)arg;
	for (;;) {
		nanosleep(&tick, NULL);
		d = atomic_load(&fuzz_deadline_us);
		if (d != 0 && fuzz_now_us() > d)
			(void)ops->vo_vcpu_kick(fuzz_vm, 0);
	}
	return NULL;
}

static void
fuzz_setup(void)
{
	struct vmm_create_params cp = {
	    .cp_name = "fuzz", .cp_vcpus = 1, .cp_memory = FUZZ_MEM};
	pthread_t t;

	if (ops->vo_vm_create(&cp, &fuzz_vm) != 0 ||
	    pthread_create(&t, NULL, fuzz_kicker, NULL) != 0)
		abort();
	pthread_detach(t);
}

static uint16_t
fuzz_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int gpr[] = {VMM_RAX, VMM_RBX, VMM_RCX, VMM_RDX,
				  VMM_RSI, VMM_RDI, VMM_RBP};
	struct vmm_regs r;
	struct vmm_exit ex;
	uint64_t memsize;
	uint8_t *mem, opt;
	size_t i, code;
	int irq_given = 0;

	if (fuzz_vm == NULL)
		fuzz_setup();
	if (size < FUZZ_HEADER)
		return 0;
	code = size - FUZZ_HEADER;
	if (code > FUZZ_MEM - FUZZ_LOAD)
		code = FUZZ_MEM - FUZZ_LOAD;
	mem = ops->vo_vm_memory(fuzz_vm, &memsize);
	memset(mem, 0, FUZZ_MEM);
	memcpy(mem + FUZZ_LOAD, data + FUZZ_HEADER, code);

	vmm_regs_poweron(&r);
	r.rg_sregs[VMM_CS].sg_selector = 0;
	r.rg_sregs[VMM_CS].sg_base = 0;
	r.rg_gprs[VMM_RIP] = FUZZ_LOAD;
	r.rg_gprs[VMM_RSP] = 0x8000;
	for (i = 0; i < sizeof(gpr) / sizeof(gpr[0]); i++)
		r.rg_gprs[gpr[i]] = fuzz_u16(data + 2 * i);
	r.rg_gprs[VMM_RFLAGS] = 0x2 | fuzz_u16(data + 14);
	opt = data[16];
	if (ops->vo_vcpu_reset(fuzz_vm, 0, &r,
			       VMM_REGS_GPRS | VMM_REGS_SREGS) != 0)
		return 0; /* flags the CPU would not take */
	(void)ops->vo_vm_protect(fuzz_vm, 0x2000, 0x1000,
				 (opt & 1) ? VMM_PROT_R : VMM_PROT_RW);
	if (opt & 2)
		(void)ops->vo_vcpu_interrupt(fuzz_vm, 0, VMM_INTR_NMI, 2);

	for (i = 0; i < FUZZ_EXITS; i++) {
		memset(&ex, 0, sizeof(ex));
		atomic_store(&fuzz_deadline_us, fuzz_now_us() + FUZZ_RUN_US);
		if (ops->vo_vcpu_run(fuzz_vm, 0, &ex) != 0)
			abort();
		atomic_store(&fuzz_deadline_us, 0);
		if (ex.ex_kind == VMM_EXIT_IO) {
			if (ex.ex_io.io_size != 1 && ex.ex_io.io_size != 2 &&
			    ex.ex_io.io_size != 4)
				abort();
			if (ex.ex_io.io_in)
				memset(ex.ex_io.io_data,
				       (int)(ex.ex_io.io_port & 0xff),
				       (size_t)ex.ex_io.io_size *
					   ex.ex_io.io_count);
			continue;
		}
		if (ex.ex_kind == VMM_EXIT_MMIO)
			continue;
		if (ex.ex_kind == VMM_EXIT_HLT && (opt & 4) && !irq_given) {
			irq_given = 1;
			(void)ops->vo_vcpu_interrupt(fuzz_vm, 0, VMM_INTR_IRQ,
						     data[17]);
			continue;
		}
		break;
	}
	return 0;
}
