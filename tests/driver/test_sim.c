/*
 * The sim backend's interpreter, instruction by instruction: each case
 * loads a few bytes of 16-bit code at 0x1000 on a bare VM, runs it to its
 * hlt and checks registers, flags and memory.  The cases run on the sim
 * and, where /dev/kvm opens, on KVM too, so that every expected value is
 * also what a real x86 does (cases about the sim's own limits -- its
 * subset, its exits -- are skipped on KVM, saying why).  The bytes of
 * each snippet are shown as the assembler writes them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm-driver/vmm.h"

#include "tbackend.h"

#define S_MEMORY (1 << 20)
#define S_LOAD 0x1000
#define S_SP 0x8000
#define S_HLT 0xf4

#define CF 0x0001
#define PF 0x0004
#define AF 0x0010
#define ZF 0x0040
#define SF 0x0080
#define TF 0x0100
#define IF 0x0200
#define DF 0x0400
#define OF 0x0800
/* The flags the snippets compare: the arithmetic ones and DF. */
#define S_FLAGS (CF | PF | AF | ZF | SF | OF | DF)

/* The 16-bit registers a snippet starts with and ends with. */
struct r16 {
	uint16_t ax, bx, cx, dx, si, di, fl;
};

/* One instruction (or a few) and what it does. */
struct snip {
	const char *sn_what; /* as the assembler writes it */
	const char *sn_code; /* its bytes; a hlt is appended */
	unsigned sn_len;
	struct r16 sn_in, sn_out;
};

#define SNIP(what, code, ...)                                                  \
	{                                                                      \
		what, code, sizeof(code) - 1, __VA_ARGS__                      \
	}

/* ---- a bare VM ---- */

static struct vmm_vm *
vm_new(void)
{
	struct vmm_create_params cp = {
	    .cp_name = "sim-test", .cp_vcpus = 1, .cp_memory = S_MEMORY};
	struct vmm_vm *vm;

	assert_int_equal(ops->vo_vm_create(&cp, &vm), 0);
	return vm;
}

static uint8_t *
vm_mem(struct vmm_vm *vm)
{
	uint64_t size;

	return ops->vo_vm_memory(vm, &size);
}

/* Real mode at 0:S_LOAD, every segment 0, sp S_SP, the registers of in
 * (NULL: all zero), flags in->fl. */
static void
vm_regs_start(struct vmm_regs *r, const struct r16 *in)
{
	vmm_regs_poweron(r);
	r->rg_sregs[VMM_CS].sg_selector = 0;
	r->rg_sregs[VMM_CS].sg_base = 0;
	r->rg_gprs[VMM_RIP] = S_LOAD;
	r->rg_gprs[VMM_RSP] = S_SP;
	r->rg_gprs[VMM_RDX] = 0;
	if (in != NULL) {
		r->rg_gprs[VMM_RAX] = in->ax;
		r->rg_gprs[VMM_RBX] = in->bx;
		r->rg_gprs[VMM_RCX] = in->cx;
		r->rg_gprs[VMM_RDX] = in->dx;
		r->rg_gprs[VMM_RSI] = in->si;
		r->rg_gprs[VMM_RDI] = in->di;
		r->rg_gprs[VMM_RFLAGS] = 0x2 | in->fl;
	}
}

static void
vm_set(struct vmm_vm *vm, const struct vmm_regs *r)
{
	assert_int_equal(
	    ops->vo_vcpu_reset(vm, 0, r, VMM_REGS_GPRS | VMM_REGS_SREGS), 0);
}

/* Copies code to S_LOAD with a hlt after it. */
static void
vm_code(struct vmm_vm *vm, const void *code, size_t len)
{
	uint8_t *mem = vm_mem(vm);

	memcpy(mem + S_LOAD, code, len);
	mem[S_LOAD + len] = S_HLT;
}

/* Runs until an exit other than KICKED. */
static void
vm_run(struct vmm_vm *vm, struct vmm_exit *ex)
{
	do
		assert_int_equal(ops->vo_vcpu_run(vm, 0, ex), 0);
	while (ex->ex_kind == VMM_EXIT_KICKED);
}

/* Runs to a hlt, failing on any other exit; the registers after it. */
static void
vm_run_hlt(struct vmm_vm *vm, struct vmm_regs *out, const char *what)
{
	struct vmm_exit ex;

	vm_run(vm, &ex);
	if (ex.ex_kind != VMM_EXIT_HLT)
		fail_msg("%s: exit %d (%s) instead of hlt", what,
			 (int)ex.ex_kind, ex.ex_text);
	assert_int_equal(ops->vo_vcpu_get_regs(vm, 0, out, VMM_REGS_ALL), 0);
}

/* Loads code, starts it with in, runs it to its hlt. */
static void
vm_exec(struct vmm_vm *vm, const void *code, size_t len, const struct r16 *in,
	struct vmm_regs *out)
{
	struct vmm_regs r;

	vm_code(vm, code, len);
	vm_regs_start(&r, in);
	vm_set(vm, &r);
	vm_run_hlt(vm, out, "snippet");
}

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* "CF|ZF"-style text for a failure message. */
static const char *
flags_text(unsigned fl, char *buf, size_t len)
{
	static const struct {
		unsigned f;
		const char *n;
	} names[] = {{CF, "CF"}, {PF, "PF"}, {AF, "AF"}, {ZF, "ZF"},
		     {SF, "SF"}, {DF, "DF"}, {OF, "OF"}};
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (fl & names[i].f)
			n += (size_t)snprintf(buf + n, len - n, "%s%s",
					      n ? "|" : "", names[i].n);
	if (n == 0)
		snprintf(buf, len, "-");
	return buf;
}

/* Runs every snippet of a table and compares its registers and flags. */
static void
snips_check(const struct snip *t, size_t n)
{
	struct vmm_vm *vm = vm_new();
	struct vmm_regs out;
	char a[64], b[64];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct snip *s = &t[i];
		struct r16 got;

		vm_exec(vm, s->sn_code, s->sn_len, &s->sn_in, &out);
		got.ax = (uint16_t)out.rg_gprs[VMM_RAX];
		got.bx = (uint16_t)out.rg_gprs[VMM_RBX];
		got.cx = (uint16_t)out.rg_gprs[VMM_RCX];
		got.dx = (uint16_t)out.rg_gprs[VMM_RDX];
		got.si = (uint16_t)out.rg_gprs[VMM_RSI];
		got.di = (uint16_t)out.rg_gprs[VMM_RDI];
		got.fl = (uint16_t)(out.rg_gprs[VMM_RFLAGS] & S_FLAGS);
		if (got.ax != s->sn_out.ax || got.bx != s->sn_out.bx ||
		    got.cx != s->sn_out.cx || got.dx != s->sn_out.dx ||
		    got.si != s->sn_out.si || got.di != s->sn_out.di ||
		    got.fl != s->sn_out.fl)
			fail_msg("%s: ax %04x bx %04x cx %04x dx %04x si %04x "
				 "di %04x flags %s; expected ax %04x bx %04x "
				 "cx %04x dx %04x si %04x di %04x flags %s",
				 s->sn_what, got.ax, got.bx, got.cx, got.dx,
				 got.si, got.di,
				 flags_text(got.fl, a, sizeof(a)), s->sn_out.ax,
				 s->sn_out.bx, s->sn_out.cx, s->sn_out.dx,
				 s->sn_out.si, s->sn_out.di,
				 flags_text(s->sn_out.fl, b, sizeof(b)));
		assert_int_equal(out.rg_gprs[VMM_RIP], S_LOAD + s->sn_len + 1);
		assert_int_equal(out.rg_gprs[VMM_RSP], S_SP);
	}
	ops->vo_vm_destroy(vm);
}

#define SNIPS_CHECK(t) snips_check(t, sizeof(t) / sizeof((t)[0]))

/* ---- arithmetic and logic ---- */

/* Register and immediate forms, 8 and 16 bits: result and every flag. */
static const struct snip s_alu[] = {
    SNIP("add %bx,%ax (signed overflow)", "\x01\xd8", {.ax = 0x7fff, .bx = 1},
	 {.ax = 0x8000, .bx = 1, .fl = OF | SF | AF | PF}),
    SNIP("add %bl,%al (carry, ah kept)", "\x00\xd8", {.ax = 0x12ff, .bx = 1},
	 {.ax = 0x1200, .bx = 1, .fl = CF | ZF | AF | PF}),
    SNIP("add $0x80,%al", "\x04\x80", {.ax = 0x0080},
	 {.ax = 0, .fl = CF | ZF | OF | PF}),
    SNIP("add $0x1234,%ax", "\x05\x34\x12", {.ax = 0x1111}, {.ax = 0x2345}),
    SNIP("add %bl,%al (reg, r/m)", "\x02\xc3", {.ax = 1, .bx = 2},
	 {.ax = 3, .bx = 2, .fl = PF}),
    SNIP("add %bx,%ax (reg, r/m)", "\x03\xc3", {.ax = 0x8000, .bx = 0x8000},
	 {.ax = 0, .bx = 0x8000, .fl = CF | ZF | OF | PF}),
    SNIP("adc %bx,%ax (CF in)", "\x11\xd8", {.ax = 0xffff, .bx = 0, .fl = CF},
	 {.ax = 0, .bx = 0, .fl = CF | ZF | AF | PF}),
    SNIP("adc %bl,%al (CF in)", "\x10\xd8", {.ax = 0x7f, .bx = 0, .fl = CF},
	 {.ax = 0x80, .bx = 0, .fl = OF | SF | AF}),
    SNIP("adc $0,%al (CF in)", "\x14\x00", {.ax = 0xff, .fl = CF},
	 {.ax = 0, .fl = CF | ZF | AF | PF}),
    SNIP("adc $0,%ax (no CF)", "\x15\x00\x00", {.ax = 0xffff},
	 {.ax = 0xffff, .fl = SF | PF}),
    SNIP("sub %bx,%ax (borrow)", "\x29\xd8", {.ax = 0, .bx = 1},
	 {.ax = 0xffff, .bx = 1, .fl = CF | SF | AF | PF}),
    SNIP("sub $1,%al (signed overflow)", "\x2c\x01", {.ax = 0x80},
	 {.ax = 0x7f, .fl = OF | AF}),
    SNIP("sub %cx,%bx (reg, r/m)", "\x2b\xd9", {.ax = 0, .bx = 5, .cx = 3},
	 {.ax = 0, .bx = 2, .cx = 3}),
    SNIP("sub $0x100,%ax", "\x2d\x00\x01", {.ax = 0x100},
	 {.ax = 0, .fl = ZF | PF}),
    SNIP("sbb %bx,%ax (CF in)", "\x19\xd8", {.ax = 5, .bx = 5, .fl = CF},
	 {.ax = 0xffff, .bx = 5, .fl = CF | SF | AF | PF}),
    SNIP("sbb %bx,%ax (reg, r/m, CF in)", "\x1b\xc3",
	 {.ax = 0, .bx = 0, .fl = CF},
	 {.ax = 0xffff, .bx = 0, .fl = CF | SF | AF | PF}),
    SNIP("sbb $0,%al (CF in)", "\x1c\x00", {.ax = 0, .fl = CF},
	 {.ax = 0xff, .fl = CF | SF | AF | PF}),
    SNIP("cmp %bx,%ax", "\x39\xd8", {.ax = 3, .bx = 5},
	 {.ax = 3, .bx = 5, .fl = CF | SF | AF}),
    SNIP("cmp %ah,%al (reg, r/m)", "\x3a\xc4", {.ax = 0x0102}, {.ax = 0x0102}),
    SNIP("cmp $0x71,%al", "\x3c\x71", {.ax = 0x71},
	 {.ax = 0x71, .fl = ZF | PF}),
    SNIP("cmp $0x8000,%ax", "\x3d\x00\x80", {.ax = 0x7fff},
	 {.ax = 0x7fff, .fl = CF | SF | OF | PF}),
    SNIP("and %bx,%ax (clears CF, OF)", "\x21\xd8",
	 {.ax = 0xf0f0, .bx = 0x0ff0, .fl = CF | OF},
	 {.ax = 0x00f0, .bx = 0x0ff0, .fl = PF}),
    SNIP("and %bl,%al (reg, r/m)", "\x22\xc3", {.ax = 0x3c, .bx = 0x0f},
	 {.ax = 0x0c, .bx = 0x0f, .fl = PF}),
    SNIP("and $0xff,%al", "\x24\xff", {.ax = 0x80}, {.ax = 0x80, .fl = SF}),
    SNIP("and $0xff00,%ax", "\x25\x00\xff", {.ax = 0x00ff},
	 {.ax = 0, .fl = ZF | PF}),
    SNIP("or %bl,%al", "\x08\xd8", {.ax = 0x80, .bx = 0x01},
	 {.ax = 0x81, .bx = 0x01, .fl = SF | PF}),
    SNIP("or %bl,%al (reg, r/m)", "\x0a\xc3", {.ax = 0x10, .bx = 0x01},
	 {.ax = 0x11, .bx = 0x01, .fl = PF}),
    SNIP("or $1,%al", "\x0c\x01", {.ax = 0x00}, {.ax = 0x01}),
    SNIP("or $0x8000,%ax", "\x0d\x00\x80", {.ax = 1}, {.ax = 0x8001, .fl = SF}),
    SNIP("xor %ax,%ax", "\x31\xc0", {.ax = 0x1234}, {.ax = 0, .fl = ZF | PF}),
    SNIP("xor %bl,%al (reg, r/m)", "\x32\xc3", {.ax = 0xff, .bx = 0x0f},
	 {.ax = 0xf0, .bx = 0x0f, .fl = SF | PF}),
    SNIP("xor $0xff,%al", "\x34\xff", {.ax = 0x0f},
	 {.ax = 0xf0, .fl = SF | PF}),
    SNIP("xor $0xffff,%ax", "\x35\xff\xff", {.ax = 0xff00},
	 {.ax = 0x00ff, .fl = PF}),
    SNIP("test $1,%al", "\xa8\x01", {.ax = 0x60}, {.ax = 0x60, .fl = ZF | PF}),
    SNIP("test $0x8000,%ax", "\xa9\x00\x80", {.ax = 0x8001},
	 {.ax = 0x8001, .fl = SF | PF}),
    SNIP("test %bx,%ax", "\x85\xd8", {.ax = 0xff00, .bx = 0x0f0f},
	 {.ax = 0xff00, .bx = 0x0f0f, .fl = PF}),
    SNIP("test %bl,%al", "\x84\xd8", {.ax = 0x80, .bx = 0x80},
	 {.ax = 0x80, .bx = 0x80, .fl = SF}),
    SNIP("test $0x0f,%bl (f6 /0)", "\xf6\xc3\x0f", {.ax = 0, .bx = 0xf0},
	 {.ax = 0, .bx = 0xf0, .fl = ZF | PF}),
    SNIP("test $0x8000,%cx (f7 /0)", "\xf7\xc1\x00\x80",
	 {.ax = 0, .bx = 0, .cx = 0x8000},
	 {.ax = 0, .bx = 0, .cx = 0x8000, .fl = SF | PF}),
};

static void
test_sim__alu_register_and_immediate_forms(void **state)
{
	BACKEND(state);
	SNIPS_CHECK(s_alu);
}

/* Groups 1, 3, 4, 5 and the one-byte inc/dec: /reg picks the operation. */
static const struct snip s_groups[] = {
    SNIP("add $-1,%bx (83 /0)", "\x83\xc3\xff", {.ax = 0, .bx = 1},
	 {.ax = 0, .bx = 0, .fl = CF | ZF | AF | PF}),
    SNIP("or $1,%ah (80 /1)", "\x80\xcc\x01", {.ax = 0}, {.ax = 0x0100}),
    SNIP("adc $0,%al (80 /2, CF in)", "\x80\xd0\x00", {.ax = 0xff, .fl = CF},
	 {.ax = 0, .fl = CF | ZF | AF | PF}),
    SNIP("sbb $0,%bl (80 /3, CF in)", "\x80\xdb\x00",
	 {.ax = 0, .bx = 0, .fl = CF},
	 {.ax = 0, .bx = 0xff, .fl = CF | SF | AF | PF}),
    SNIP("and $0xf,%bl (80 /4)", "\x80\xe3\x0f", {.ax = 0, .bx = 0x12f3},
	 {.ax = 0, .bx = 0x1203, .fl = PF}),
    SNIP("sub $0x100,%cx (81 /5)", "\x81\xe9\x00\x01",
	 {.ax = 0, .bx = 0, .cx = 0x100},
	 {.ax = 0, .bx = 0, .cx = 0, .fl = ZF | PF}),
    SNIP("xor $0xff,%cl (80 /6)", "\x80\xf1\xff",
	 {.ax = 0, .bx = 0, .cx = 0x00f0},
	 {.ax = 0, .bx = 0, .cx = 0x000f, .fl = PF}),
    SNIP("cmp $0xff,%dl (80 /7)", "\x80\xfa\xff",
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0xff},
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0xff, .fl = ZF | PF}),
    SNIP("cmp $-1,%ax (83 /7)", "\x83\xf8\xff", {.ax = 0},
	 {.ax = 0, .fl = CF | AF}),
    SNIP("add $0x10,%dl (82 /0)", "\x82\xc2\x10",
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0xf0},
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0, .fl = CF | ZF | PF}),
    SNIP("add $0x7fff,%si (81 /0)", "\x81\xc6\xff\x7f", {.si = 1},
	 {.si = 0x8000, .fl = OF | SF | AF | PF}),
    SNIP("inc %ax (keeps CF)", "\x40", {.ax = 0xffff, .fl = CF},
	 {.ax = 0, .fl = CF | ZF | AF | PF}),
    SNIP("inc %di", "\x47", {.di = 0x7fff},
	 {.di = 0x8000, .fl = OF | SF | AF | PF}),
    SNIP("dec %bx", "\x4b", {.ax = 0, .bx = 0x8000},
	 {.ax = 0, .bx = 0x7fff, .fl = OF | AF | PF}),
    SNIP("dec %si (keeps CF)", "\x4e", {.si = 1, .fl = CF},
	 {.fl = CF | ZF | PF}),
    SNIP("inc %ah (fe /0)", "\xfe\xc4", {.ax = 0x7f00},
	 {.ax = 0x8000, .fl = OF | SF | AF}),
    SNIP("dec %cl (fe /1)", "\xfe\xc9", {.ax = 0, .bx = 0, .cx = 1},
	 {.ax = 0, .bx = 0, .cx = 0, .fl = ZF | PF}),
    SNIP("inc %dx (ff /0)", "\xff\xc2",
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0x00ff},
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0x0100, .fl = AF | PF}),
    SNIP("dec %dx (ff /1)", "\xff\xca", {.ax = 0, .bx = 0, .cx = 0, .dx = 0},
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0xffff, .fl = SF | AF | PF}),
    SNIP("not %ax (flags kept)", "\xf7\xd0", {.ax = 0x00ff, .fl = CF | ZF},
	 {.ax = 0xff00, .fl = CF | ZF}),
    SNIP("not %bl", "\xf6\xd3", {.ax = 0, .bx = 0x120f},
	 {.ax = 0, .bx = 0x12f0}),
    SNIP("neg %ax", "\xf7\xd8", {.ax = 1},
	 {.ax = 0xffff, .fl = CF | SF | AF | PF}),
    SNIP("neg %ax (of 0)", "\xf7\xd8", {.ax = 0, .fl = CF},
	 {.ax = 0, .fl = ZF | PF}),
    SNIP("neg %al (of 0x80)", "\xf6\xd8", {.ax = 0x80},
	 {.ax = 0x80, .fl = CF | OF | SF}),
};

static void
test_sim__group_opcodes_and_inc_dec(void **state)
{
	BACKEND(state);
	SNIPS_CHECK(s_groups);
}

/* Moves, exchanges, conversions and the flag instructions. */
static const struct snip s_moves[] = {
    SNIP("mov %bx,%ax (89)", "\x89\xd8", {.ax = 1, .bx = 2},
	 {.ax = 2, .bx = 2}),
    SNIP("mov %bx,%ax (8b)", "\x8b\xc3", {.ax = 1, .bx = 2},
	 {.ax = 2, .bx = 2}),
    SNIP("mov %ah,%al (88)", "\x88\xe0", {.ax = 0x1234}, {.ax = 0x1212}),
    SNIP("mov %bh,%cl (8a)", "\x8a\xcf", {.ax = 0, .bx = 0xab00, .cx = 0x1111},
	 {.ax = 0, .bx = 0xab00, .cx = 0x11ab}),
    SNIP("mov $0x12,%al; mov $0x34,%ah", "\xb0\x12\xb4\x34", {.ax = 0xffff},
	 {.ax = 0x3412}),
    SNIP("mov $0x56,%bh; mov $0x78,%dl", "\xb7\x56\xb2\x78", {.ax = 0},
	 {.ax = 0, .bx = 0x5600, .cx = 0, .dx = 0x78}),
    SNIP("mov $0x1234,%bp; mov %bp,%si", "\xbd\x34\x12\x89\xee", {.ax = 0},
	 {.si = 0x1234}),
    SNIP("mov $imm16 to every register",
	 "\xb8\x01\x00\xb9\x02\x00\xba\x03\x00\xbb\x04\x00\xbe\x05\x00\xbf\x06"
	 "\x00",
	 {.ax = 0}, {.ax = 1, .bx = 4, .cx = 2, .dx = 3, .si = 5, .di = 6}),
    SNIP("xchg %ax,%bx (93)", "\x93", {.ax = 1, .bx = 2}, {.ax = 2, .bx = 1}),
    SNIP("xchg %cx,%bx (87)", "\x87\xd9", {.ax = 0, .bx = 1, .cx = 2},
	 {.ax = 0, .bx = 2, .cx = 1}),
    SNIP("xchg %al,%ah (86)", "\x86\xc4", {.ax = 0x1234}, {.ax = 0x3412}),
    SNIP("nop; pause", "\x90\xf3\x90", {.ax = 7}, {.ax = 7}),
    SNIP("cbw", "\x98", {.ax = 0x1280}, {.ax = 0xff80}),
    SNIP("cbw (positive)", "\x98", {.ax = 0xff7f}, {.ax = 0x007f}),
    SNIP("cwd", "\x99", {.ax = 0x8000, .bx = 0, .cx = 0, .dx = 0},
	 {.ax = 0x8000, .bx = 0, .cx = 0, .dx = 0xffff}),
    SNIP("cwd (positive)", "\x99",
	 {.ax = 0x7fff, .bx = 0, .cx = 0, .dx = 0x1234},
	 {.ax = 0x7fff, .bx = 0, .cx = 0, .dx = 0}),
    SNIP("lea 5(%bx,%si),%ax", "\x8d\x40\x05",
	 {.ax = 0, .bx = 0x100, .si = 0x20},
	 {.ax = 0x125, .bx = 0x100, .si = 0x20}),
    SNIP("lea -1(%di),%dx (16-bit wrap)", "\x8d\x55\xff", {.di = 0},
	 {.ax = 0, .bx = 0, .cx = 0, .dx = 0xffff}),
    SNIP("lahf", "\x9f", {.ax = 0, .fl = CF | ZF | SF},
	 {.ax = 0xc300, .fl = CF | ZF | SF}),
    SNIP("sahf", "\x9e", {.ax = 0xd500},
	 {.ax = 0xd500, .fl = CF | PF | AF | ZF | SF}),
    SNIP("clc", "\xf8", {.ax = 0, .fl = CF | ZF}, {.ax = 0, .fl = ZF}),
    SNIP("stc", "\xf9", {.ax = 0}, {.ax = 0, .fl = CF}),
    SNIP("cmc; cmc; cmc", "\xf5\xf5\xf5", {.ax = 0}, {.ax = 0, .fl = CF}),
    SNIP("std", "\xfd", {.ax = 0}, {.ax = 0, .fl = DF}),
    SNIP("cld", "\xfc", {.ax = 0, .fl = DF | CF}, {.ax = 0, .fl = CF}),
};

static void
test_sim__moves_exchanges_and_flag_instructions(void **state)
{
	BACKEND(state);
	SNIPS_CHECK(s_moves);
}

/* 16-bit moves leave the upper bits of the 64-bit registers alone. */
static void
test_sim__16_bit_writes_keep_the_upper_bits(void **state)
{
	/* mov $0xabcd,%ax; mov $0x12,%bh; inc %cx; xor %dx,%dx */
	static const uint8_t code[] = {0xb8, 0xcd, 0xab, 0xb7,
				       0x12, 0x41, 0x31, 0xd2};
	struct vmm_regs r, out;
	struct vmm_vm *vm;

	BACKEND(state);
	vm = vm_new();
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	r.rg_gprs[VMM_RAX] = 0x1122334455667788ULL;
	r.rg_gprs[VMM_RBX] = 0x99aabbccddeeff00ULL;
	r.rg_gprs[VMM_RCX] = 0x00000001ffffffffULL;
	r.rg_gprs[VMM_RDX] = 0x8000000000001234ULL;
	r.rg_gprs[VMM_R9] = 0x5a5a5a5a5a5a5a5aULL;
	vm_set(vm, &r);
	vm_run_hlt(vm, &out, "upper bits");
	assert_int_equal(out.rg_gprs[VMM_RAX], 0x112233445566abcdULL);
	assert_int_equal(out.rg_gprs[VMM_RBX], 0x99aabbccddee1200ULL);
	assert_int_equal(out.rg_gprs[VMM_RCX], 0x00000001ffff0000ULL);
	assert_int_equal(out.rg_gprs[VMM_RDX], 0x8000000000000000ULL);
	assert_int_equal(out.rg_gprs[VMM_R9], 0x5a5a5a5a5a5a5a5aULL);
	ops->vo_vm_destroy(vm);
}

/* ---- jumps ---- */

/* Jcc's condition, written from the manual's table. */
static int
jcc_taken(unsigned cc, unsigned fl)
{
	int cf = !!(fl & CF), zf = !!(fl & ZF), sf = !!(fl & SF);
	int of = !!(fl & OF), pf = !!(fl & PF);

	switch (cc) {
	case 0x0:
		return of;
	case 0x1:
		return !of;
	case 0x2:
		return cf;
	case 0x3:
		return !cf;
	case 0x4:
		return zf;
	case 0x5:
		return !zf;
	case 0x6:
		return cf || zf;
	case 0x7:
		return !cf && !zf;
	case 0x8:
		return sf;
	case 0x9:
		return !sf;
	case 0xa:
		return pf;
	case 0xb:
		return !pf;
	case 0xc:
		return sf != of;
	case 0xd:
		return sf == of;
	case 0xe:
		return zf || sf != of;
	default:
		return !zf && sf == of;
	}
}

/* All sixteen conditions, short (7x) and near (0f 8x), under every mix
 * of CF, ZF, SF, OF, PF. */
static void
test_sim__jcc_every_condition_both_forms(void **state)
{
	struct vmm_regs r, out;
	struct vmm_vm *vm;
	uint8_t code[8];
	unsigned cc, mix, near;

	BACKEND(state);
	vm = vm_new();
	for (near = 0; near < 2; near++) {
		for (cc = 0; cc < 16; cc++) {
			size_t n = 0;

			/* jcc +2; mov $1,%al; (hlt) */
			if (near) {
				code[n++] = 0x0f;
				code[n++] = (uint8_t)(0x80 + cc);
				code[n++] = 2;
				code[n++] = 0;
			} else {
				code[n++] = (uint8_t)(0x70 + cc);
				code[n++] = 2;
			}
			code[n++] = 0xb0;
			code[n++] = 1;
			vm_code(vm, code, n);
			for (mix = 0; mix < 32; mix++) {
				unsigned fl =
				    (mix & 1 ? CF : 0) | (mix & 2 ? ZF : 0) |
				    (mix & 4 ? SF : 0) | (mix & 8 ? OF : 0) |
				    (mix & 16 ? PF : 0);
				int want = jcc_taken(cc, fl);

				vm_regs_start(&r, NULL);
				r.rg_gprs[VMM_RFLAGS] = 0x2 | fl;
				vm_set(vm, &r);
				vm_run_hlt(vm, &out, "jcc");
				if ((out.rg_gprs[VMM_RAX] & 0xff) != !want)
					fail_msg("%s %x with flags %x: %s",
						 near ? "0f 8x" : "7x", cc, fl,
						 want ? "not taken" : "taken");
			}
		}
	}
	ops->vo_vm_destroy(vm);
}

static const struct snip s_jumps[] = {
    /* jmp 1f; mov $1,%al; 1: */
    SNIP("jmp rel8", "\xeb\x02\xb0\x01", {.ax = 0}, {.ax = 0}),
    SNIP("jmp rel16", "\xe9\x02\x00\xb0\x01", {.ax = 0}, {.ax = 0}),
    /* 1: inc %ax; cmp $3,%ax; jne 1b (backwards) */
    SNIP("jne backwards", "\x40\x3d\x03\x00\x75\xfa", {.ax = 0},
	 {.ax = 3, .fl = ZF | PF}),
    /* mov $0x1006,%bx; jmp *%bx; inc %ax; (1006:) */
    SNIP("jmp *%bx", "\xbb\x06\x10\xff\xe3\x40", {.ax = 0},
	 {.ax = 0, .bx = 0x1006}),
    /* mov $5,%cx; 1: inc %ax; loop 1b */
    SNIP("loop", "\xb9\x05\x00\x40\xe2\xfd", {.ax = 0},
	 {.ax = 5, .bx = 0, .cx = 0, .fl = PF}),
    SNIP("loop with cx = 0 runs 65536 times", "\x40\xe2\xfd", {.ax = 0},
	 {.ax = 0, .fl = ZF | AF | PF}),
    /* mov $10,%cx; 1: inc %ax; cmp $3,%ax; loopne 1b */
    SNIP("loopne stops on ZF", "\xb9\x0a\x00\x40\x3d\x03\x00\xe0\xfa",
	 {.ax = 0}, {.ax = 3, .bx = 0, .cx = 7, .fl = ZF | PF}),
    /* mov $10,%cx; 1: inc %ax; cmp %ax,%ax; loope 1b */
    SNIP("loope runs while ZF", "\xb9\x0a\x00\x40\x39\xc0\xe1\xfb", {.ax = 0},
	 {.ax = 10, .bx = 0, .cx = 0, .fl = ZF | PF}),
    /* jcxz 1f; mov $1,%al; 1: */
    SNIP("jcxz taken", "\xe3\x02\xb0\x01", {.ax = 0, .bx = 0, .cx = 0},
	 {.ax = 0}),
    SNIP("jcxz not taken", "\xe3\x02\xb0\x01", {.ax = 0, .bx = 0, .cx = 1},
	 {.ax = 1, .bx = 0, .cx = 1}),
};

static void
test_sim__jumps_and_loops(void **state)
{
	BACKEND(state);
	SNIPS_CHECK(s_jumps);
}

/* ---- memory operands ---- */

/* The byte the addressing test puts at linear address a. */
static uint8_t
pattern(uint32_t a)
{
	return (uint8_t)(a * 31 + (a >> 8));
}

/* Every ModRM memory form (mod 0, 1, 2 with rm 0..7), the segment it
 * defaults to, overrides, and the 16-bit offset wrap. */
static void
test_sim__every_modrm_addressing_form(void **state)
{
	static const uint16_t bx = 0x0100, si = 0x0020, di = 0x0040;
	static const uint16_t bp = 0x0200;
	static const uint16_t ds = 0x0300, ss = 0x0500, es = 0x0700;
	struct vmm_regs r, out;
	struct vmm_vm *vm;
	uint8_t *mem, code[8];
	uint32_t a;
	unsigned mod, rm, ovr;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	for (a = 0x3000; a < 0x20000; a++)
		mem[a] = pattern(a);
	for (ovr = 0; ovr < 3; ovr++) {
		for (mod = 0; mod < 3; mod++) {
			for (rm = 0; rm < 8; rm++) {
				static const uint8_t pfx[3] = {0, 0x26, 0x3e};
				uint16_t off = 0, base;
				int use_ss = 0;
				size_t n = 0;

				switch (rm) {
				case 0:
					off = bx + si;
					break;
				case 1:
					off = bx + di;
					break;
				case 2:
					off = bp + si;
					use_ss = 1;
					break;
				case 3:
					off = bp + di;
					use_ss = 1;
					break;
				case 4:
					off = si;
					break;
				case 5:
					off = di;
					break;
				case 6:
					off = mod == 0 ? 0x0456 : bp;
					use_ss = mod != 0;
					break;
				default:
					off = bx;
					break;
				}
				/* mov DISP(...),%ax (8b /0) */
				if (ovr)
					code[n++] = pfx[ovr];
				code[n++] = 0x8b;
				code[n++] = (uint8_t)(mod << 6 | rm);
				if (mod == 0 && rm == 6) {
					code[n++] = 0x56;
					code[n++] = 0x04;
				} else if (mod == 1) {
					code[n++] = 0xf3; /* -13 */
					off = (uint16_t)(off - 13);
				} else if (mod == 2) {
					code[n++] = 0x34;
					code[n++] = 0x12;
					off = (uint16_t)(off + 0x1234);
				}
				base = ovr == 1   ? es
				       : ovr == 2 ? ds
				       : use_ss   ? ss
						  : ds;
				a = (uint32_t)base * 16 + off;
				vm_code(vm, code, n);
				vm_regs_start(&r, NULL);
				r.rg_gprs[VMM_RBX] = bx;
				r.rg_gprs[VMM_RSI] = si;
				r.rg_gprs[VMM_RDI] = di;
				r.rg_gprs[VMM_RBP] = bp;
				r.rg_sregs[VMM_DS].sg_selector = ds;
				r.rg_sregs[VMM_DS].sg_base = ds * 16;
				r.rg_sregs[VMM_SS].sg_selector = ss;
				r.rg_sregs[VMM_SS].sg_base = ss * 16;
				r.rg_sregs[VMM_ES].sg_selector = es;
				r.rg_sregs[VMM_ES].sg_base = es * 16;
				vm_set(vm, &r);
				vm_run_hlt(vm, &out, "modrm");
				if ((out.rg_gprs[VMM_RAX] & 0xffff) !=
				    (unsigned)(pattern(a) | pattern(a + 1)
								<< 8))
					fail_msg(
					    "prefix %02x mod %u rm %u: ax "
					    "%04x, want the word at 0x%x",
					    pfx[ovr], mod, rm,
					    (unsigned)out.rg_gprs[VMM_RAX] &
						0xffff,
					    a);
			}
		}
	}
	/* (%bx,%si) with the sum past 0xffff wraps within the segment. */
	code[0] = 0x8b;
	code[1] = 0x00;
	vm_code(vm, code, 2);
	vm_regs_start(&r, NULL);
	r.rg_gprs[VMM_RBX] = 0xfff0;
	r.rg_gprs[VMM_RSI] = 0x0030;
	r.rg_sregs[VMM_DS].sg_selector = ds;
	r.rg_sregs[VMM_DS].sg_base = ds * 16;
	vm_set(vm, &r);
	vm_run_hlt(vm, &out, "wrap");
	a = ds * 16 + 0x20;
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xffff,
			 pattern(a) | pattern(a + 1) << 8);
	ops->vo_vm_destroy(vm);
}

/* Instructions with a memory operand read and write it. */
static void
test_sim__memory_operands_read_and_write(void **state)
{
	static const uint8_t code[] = {
	    0x89, 0x07,                   /* mov %ax,(%bx) */
	    0xc7, 0x47, 0x02, 0x78, 0x56, /* movw $0x5678,2(%bx) */
	    0xc6, 0x47, 0x04, 0x9a,       /* movb $0x9a,4(%bx) */
	    0xa3, 0x10, 0x20,             /* mov %ax,0x2010 */
	    0xa2, 0x12, 0x20,             /* mov %al,0x2012 */
	    0x01, 0x47, 0x06,             /* add %ax,6(%bx) */
	    0x80, 0x47, 0x08, 0x01,       /* addb $1,8(%bx) */
	    0xff, 0x47, 0x0a,             /* incw 10(%bx) */
	    0xfe, 0x4f, 0x0c,             /* decb 12(%bx) */
	    0xf6, 0x57, 0x0e,             /* notb 14(%bx) */
	    0xf7, 0x5f, 0x20,             /* negw 0x20(%bx) */
	    0x86, 0x47, 0x22,             /* xchg %al,0x22(%bx) */
	    0x8b, 0x4f, 0x02,             /* mov 2(%bx),%cx */
	    0x8a, 0x57, 0x04,             /* mov 4(%bx),%dl */
	    0xa1, 0x10, 0x20,             /* mov 0x2010,%ax */
	    0xff, 0x37,                   /* push (%bx) */
	    0x8f, 0x47, 0x24,             /* pop 0x24(%bx) */
	    0x03, 0x77, 0x02,             /* add 2(%bx),%si */
	    0x2b, 0x7f, 0x06,             /* sub 6(%bx),%di */
	    0x83, 0x6f, 0x26, 0x01,       /* subw $1,0x26(%bx) */
	    0x39, 0x07,                   /* cmp %ax,(%bx) */
	};
	struct r16 in = {.ax = 0x1234, .bx = 0x2000, .si = 1, .di = 0x2000};
	struct vmm_regs out;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	put16(mem + 0x2006, 0x0001);
	mem[0x2008] = 0xff;
	put16(mem + 0x200a, 0xffff);
	mem[0x200c] = 0;
	mem[0x200e] = 0x0f;
	put16(mem + 0x2020, 1);
	mem[0x2022] = 0x55;
	put16(mem + 0x2026, 0);
	vm_exec(vm, code, sizeof(code), &in, &out);
	assert_int_equal(le16(mem + 0x2000), 0x1234);
	assert_int_equal(le16(mem + 0x2002), 0x5678);
	assert_int_equal(mem[0x2004], 0x9a);
	assert_int_equal(le16(mem + 0x2010), 0x1234);
	assert_int_equal(mem[0x2012], 0x34);
	assert_int_equal(le16(mem + 0x2006), 0x1235);
	assert_int_equal(mem[0x2008], 0x00);
	assert_int_equal(le16(mem + 0x200a), 0x0000);
	assert_int_equal(mem[0x200c], 0xff);
	assert_int_equal(mem[0x200e], 0xf0);
	assert_int_equal(le16(mem + 0x2020), 0xffff);
	assert_int_equal(mem[0x2022], 0x34);
	assert_int_equal(le16(mem + 0x2024), 0x1234);
	assert_int_equal(le16(mem + 0x2026), 0xffff);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 0x5678);
	assert_int_equal(out.rg_gprs[VMM_RDX] & 0xff, 0x9a);
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xffff, 0x1234);
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, 0x5679);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffff, 0x2000 - 0x1235);
	/* The last cmp: equal. */
	assert_int_equal(out.rg_gprs[VMM_RFLAGS] & (ZF | CF), ZF);
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP);
	ops->vo_vm_destroy(vm);
}

/* Segment registers: loads set the base (selector * 16), stores and the
 * stack forms move selectors. */
static void
test_sim__segment_registers_load_and_store(void **state)
{
	static const uint8_t code[] = {
	    0xb8, 0x00, 0x20,             /* mov $0x2000,%ax */
	    0x8e, 0xc0,                   /* mov %ax,%es */
	    0x06,                         /* push %es */
	    0x1f,                         /* pop %ds */
	    0x8c, 0xd9,                   /* mov %ds,%cx */
	    0xc6, 0x06, 0x05, 0x00, 0x77, /* movb $0x77,5 (ds:5 = 0x20005) */
	    0x0e,                         /* push %cs */
	    0x07,                         /* pop %es */
	    0x8c, 0x06, 0x00, 0x30,       /* mov %es,0x3000 (0x23000) */
	    0xba, 0x00, 0x03,             /* mov $0x300,%dx */
	    0x8e, 0xe2,                   /* mov %dx,%fs */
	    0x64, 0x8a, 0x1e, 0x10, 0x00, /* mov %fs:0x10,%bl (0x3010) */
	    0x65, 0x8e, 0x2e, 0x02, 0x30, /* mov %gs:0x3002,%gs (0x3002) */
	    0x16,                         /* push %ss (0, at 0x7ffe) */
	    0x1e,                         /* push %ds */
	    0x17,                         /* pop %ss: 0x2000 */
	    0x36, 0x8b, 0x36, 0x06, 0x30, /* mov %ss:0x3006,%si (0x23006) */
	    0x8e, 0xd7,                   /* mov %di,%ss: 0 again */
	    0x17,                         /* pop %ss: the 0 pushed first */
	};
	struct vmm_regs r, out;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	mem[0x3010] = 0xcd;
	put16(mem + 0x3002, 0x0400);
	put16(mem + 0x23000, 0xffff);
	put16(mem + 0x23006, 0xbeef);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	vm_set(vm, &r);
	vm_run_hlt(vm, &out, "segments");
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 0x2000);
	assert_int_equal(out.rg_sregs[VMM_DS].sg_selector, 0x2000);
	assert_int_equal(out.rg_sregs[VMM_DS].sg_base, 0x20000);
	assert_int_equal(mem[0x20005], 0x77);
	assert_int_equal(out.rg_sregs[VMM_ES].sg_selector, 0);
	assert_int_equal(out.rg_sregs[VMM_ES].sg_base, 0);
	assert_int_equal(le16(mem + 0x23000), 0);
	assert_int_equal(out.rg_sregs[VMM_FS].sg_base, 0x3000);
	assert_int_equal(out.rg_gprs[VMM_RBX] & 0xff, 0xcd);
	assert_int_equal(out.rg_sregs[VMM_GS].sg_selector, 0x400);
	assert_int_equal(out.rg_sregs[VMM_GS].sg_base, 0x4000);
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, 0xbeef);
	assert_int_equal(out.rg_sregs[VMM_SS].sg_selector, 0);
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP);
	ops->vo_vm_destroy(vm);
}

/* ---- the stack, calls, interrupts ---- */

static void
test_sim__push_pop_and_flags_on_the_stack(void **state)
{
	static const uint8_t code[] = {
	    0x50,             /* push %ax */
	    0x68, 0x34, 0x12, /* push $0x1234 */
	    0x6a, 0xfe,       /* push $-2 */
	    0x5b,             /* pop %bx */
	    0x59,             /* pop %cx */
	    0x5a,             /* pop %dx */
	    0x54,             /* push %sp (the value before the push) */
	    0x5e,             /* pop %si */
	    0x9c,             /* pushf */
	    0x5f,             /* pop %di */
	    0x68, 0xd5, 0x08, /* push $0x8d5 */
	    0x9d,             /* popf */
	};
	struct r16 in = {.ax = 0xbeef, .fl = CF | ZF};
	struct vmm_regs out;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	vm_exec(vm, code, sizeof(code), &in, &out);
	assert_int_equal(out.rg_gprs[VMM_RBX] & 0xffff, 0xfffe);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 0x1234);
	assert_int_equal(out.rg_gprs[VMM_RDX] & 0xffff, 0xbeef);
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, S_SP);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffff, 0x2 | CF | ZF);
	assert_int_equal(out.rg_gprs[VMM_RFLAGS] & 0xffff,
			 0x2 | CF | PF | AF | ZF | SF | OF);
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP);
	/* What the last push left, and the words below it. */
	assert_int_equal(le16(mem + S_SP - 2), 0x08d5);
	assert_int_equal(le16(mem + S_SP - 4), 0x1234);
	assert_int_equal(le16(mem + S_SP - 6), 0xfffe);
	ops->vo_vm_destroy(vm);
}

static void
test_sim__calls_and_returns_near_far_indirect(void **state)
{
	static const uint8_t code[] = {
	    /* 1000 */ 0xe8,
	    0x1d,
	    0x00, /* call 0x1020 */
	    /* 1003 */ 0x9a,
	    0x28,
	    0x00,
	    0x00,
	    0x01, /* lcall $0x100,$0x28 */
	    /* 1008 */ 0xbb,
	    0x30,
	    0x10, /* mov $0x1030,%bx */
	    /* 100b */ 0xff,
	    0xd3, /* call *%bx */
	    /* 100d */ 0xff,
	    0x16,
	    0x00,
	    0x20, /* call *0x2000 */
	    /* 1011 */ 0xff,
	    0x1e,
	    0x02,
	    0x20, /* lcall *0x2002 */
	    /* 1015 */ 0xff,
	    0x26,
	    0x06,
	    0x20, /* jmp *0x2006 */
	    /* 1019 */ 0xf4,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* 1020 */ 0x40,
	    0xc3,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0, /* inc %ax; ret */
	    /* 1028 */ 0x41,
	    0xcb,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0, /* inc %cx; lret */
	    /* 1030 */ 0x42,
	    0xc2,
	    0x02,
	    0x00, /* inc %dx; ret $2 */
	    /* 1034 */ 0x46,
	    0xca,
	    0x02,
	    0x00, /* inc %si; lret $2 */
	    /* 1038 */ 0x47,
	    0xea,
	    0x40,
	    0x00,
	    0x01,
	    0x01, /* inc %di;
		 ljmp $0x101,$0x40 */
	    /* 103e */ 0,
	    0,
	    /* 1040 + 0x10 = 1050 */ 0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* 1050 */ 0xff,
	    0x2e,
	    0x0a,
	    0x20, /* ljmp *0x200a */
	};
	struct vmm_regs r, out;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	put16(mem + 0x2000, 0x1020); /* near target: inc %ax; ret */
	put16(mem + 0x2002, 0x0034); /* far: 0100:0034 = 0x1034 */
	put16(mem + 0x2004, 0x0100);
	put16(mem + 0x2006, 0x1038); /* near jump target */
	put16(mem + 0x200a, 0x1019); /* far jump back: 0000:1019 */
	put16(mem + 0x200c, 0x0000);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	vm_set(vm, &r);
	vm_run_hlt(vm, &out, "calls");
	/* Each callee ran once and returned where it should. */
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xffff, 2);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 1);
	assert_int_equal(out.rg_gprs[VMM_RDX] & 0xffff, 1);
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, 1);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffff, 1);
	assert_int_equal(out.rg_gprs[VMM_RIP], 0x101a);
	assert_int_equal(out.rg_sregs[VMM_CS].sg_selector, 0);
	assert_int_equal(out.rg_sregs[VMM_CS].sg_base, 0);
	/* ret $2 and lret $2 dropped a word each. */
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP + 4);
	ops->vo_vm_destroy(vm);
}

/* int n and int3 go through the IVT with flags, cs, ip pushed and IF,
 * TF cleared; iret restores them. */
static void
test_sim__int_and_iret_through_the_ivt(void **state)
{
	static const uint8_t code[] = {
	    /* 1000 */ 0xfb, /* sti */
	    /* 1001 */ 0xcd,
	    0x40,            /* int $0x40 */
	    /* 1003 */ 0xcc, /* int3 */
	    /* 1004 */ 0xf4,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* 1010: vector 0x40 at 0100:0020 */ 0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    0,
	    /* 1020 */ 0x9c, /* pushf */
	    /* 1021 */ 0x5b, /* pop %bx */
	    /* 1022 */ 0x89,
	    0xe5, /* mov %sp,%bp */
	    /* 1024 */ 0x8b,
	    0x76,
	    0x00, /* mov 0(%bp),%si: pushed ip */
	    /* 1027 */ 0x8b,
	    0x7e,
	    0x02, /* mov 2(%bp),%di: pushed cs */
	    /* 102a */ 0x8b,
	    0x56,
	    0x04, /* mov 4(%bp),%dx: pushed flags */
	    /* 102d */ 0xb0,
	    0x05,                      /* mov $5,%al */
	    /* 102f */ 0xcf,           /* iret */
	    /* 1030: vector 3 */ 0x41, /* inc %cx */
	    /* 1031 */ 0xcf,           /* iret */
	};
	struct r16 in = {.fl = CF};
	struct vmm_regs r, out;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	put16(mem + 0x40 * 4, 0x0020);
	put16(mem + 0x40 * 4 + 2, 0x0100);
	put16(mem + 3 * 4, 0x1030);
	put16(mem + 3 * 4 + 2, 0);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, &in);
	vm_set(vm, &r);
	vm_run_hlt(vm, &out, "int");
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xff, 5);
	assert_int_equal(out.rg_gprs[VMM_RBX] & (IF | TF), 0); /* inside */
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, 0x1003);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffff, 0);
	assert_int_equal(out.rg_gprs[VMM_RDX] & (IF | CF), IF | CF);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 1);
	assert_int_equal(out.rg_gprs[VMM_RFLAGS] & (IF | CF), IF | CF);
	assert_int_equal(out.rg_gprs[VMM_RIP], 0x1005);
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP);
	ops->vo_vm_destroy(vm);
}

/* TF: a trap through vector 1 after every instruction that starts with
 * TF set, the one that clears it included. */
static void
test_sim__trap_flag_single_steps(void **state)
{
	static const uint8_t code[] = {
	    0x9c,             /* pushf */
	    0x58,             /* pop %ax */
	    0x0d, 0x00, 0x01, /* or $0x100,%ax */
	    0x50,             /* push %ax */
	    0x9d,             /* popf: TF on, no trap after this one */
	    0x43,             /* inc %bx: trap */
	    0x43,             /* inc %bx: trap */
	    0x9c,             /* pushf: trap */
	    0x58,             /* pop %ax: trap */
	    0x25, 0xff, 0xfe, /* and $0xfeff,%ax: trap */
	    0x50,             /* push %ax: trap */
	    0x9d,             /* popf: TF off, trap after it still */
	    0x43,             /* inc %bx: no trap */
	};
	static const uint8_t handler[] = {0x41, 0xcf}; /* inc %cx; iret */
	struct vmm_regs r, out;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	memcpy(mem + 0x1100, handler, sizeof(handler));
	put16(mem + 1 * 4, 0x1100);
	put16(mem + 1 * 4 + 2, 0);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	vm_set(vm, &r);
	vm_run_hlt(vm, &out, "tf");
	assert_int_equal(out.rg_gprs[VMM_RBX] & 0xffff, 3);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 7);
	assert_int_equal(out.rg_gprs[VMM_RFLAGS] & TF, 0);
	ops->vo_vm_destroy(vm);
}

/* After an NMI, NMIs wait until its IRET; one that came meanwhile is
 * taken right after it.  IF does not matter. */
static void
test_sim__nmis_wait_for_the_handlers_iret(void **state)
{
	static const uint8_t code[] = {
	    0xfa,       /* cli */
	    0xf4,       /* 1: hlt */
	    0xeb, 0xfd, /* jmp 1b */
	};
	static const uint8_t handler[] = {
	    0x41, /* inc %cx */
	    0xf4, /* hlt */
	    0xcf, /* iret */
	};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	memcpy(mem + 0x1100, handler, sizeof(handler));
	put16(mem + 2 * 4, 0x1100);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_HLT);
	/* The first: its handler halts inside. */
	assert_int_equal(ops->vo_vcpu_interrupt(vm, 0, VMM_INTR_NMI, 2), 0);
	vm_run_hlt(vm, &out, "first nmi");
	assert_int_equal(out.rg_gprs[VMM_RIP], 0x1102);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 1);
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP - 6);
	/* The second waits for the iret, then runs the handler again, not
	 * nested: the first frame is gone.  The sim takes it right after
	 * the iret; KVM where real mode is emulated (kvm_pvm) only at the
	 * next entry, after main's hlt -- both hold it past the iret. */
	assert_int_equal(ops->vo_vcpu_interrupt(vm, 0, VMM_INTR_NMI, 2), 0);
	vm_run_hlt(vm, &out, "second nmi");
	if (out.rg_gprs[VMM_RIP] == 0x1002) {
		assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 1);
		assert_int_equal(out.rg_gprs[VMM_RSP], S_SP);
		vm_run_hlt(vm, &out, "second nmi, next entry");
	}
	assert_int_equal(out.rg_gprs[VMM_RIP], 0x1102);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 2);
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP - 6);
	assert_int_equal(le16(mem + S_SP - 6), 0x1002); /* from main's hlt */
	/* None left: the iret goes back to main, which halts again. */
	vm_run_hlt(vm, &out, "no nmi");
	assert_int_equal(out.rg_gprs[VMM_RIP], 0x1002);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 2);
	assert_int_equal(out.rg_gprs[VMM_RSP], S_SP);
	ops->vo_vm_destroy(vm);
}

/* ---- strings ---- */

static void
test_sim__string_instructions_honour_df_and_rep(void **state)
{
	static const uint8_t code[] = {
	    0xac,             /* lodsb: al = 'a' */
	    0xaa,             /* stosb */
	    0xa4,             /* movsb */
	    0xad,             /* lodsw */
	    0xab,             /* stosw */
	    0xa5,             /* movsw */
	    0xfd,             /* std */
	    0xa4,             /* movsb (backwards) */
	    0xfc,             /* cld */
	    0xb9, 0x05, 0x00, /* mov $5,%cx */
	    0xbf, 0x00, 0x31, /* mov $0x3100,%di */
	    0xb0, 0x2a,       /* mov $'*',%al */
	    0xf3, 0xaa,       /* rep stosb */
	    0xf3, 0xaa,       /* rep stosb with cx = 0: nothing */
	    0xb9, 0x03, 0x00, /* mov $3,%cx */
	    0xbe, 0x00, 0x20, /* mov $0x2000,%si */
	    0xbf, 0x00, 0x32, /* mov $0x3200,%di */
	    0xf3, 0xa5,       /* rep movsw */
	    0xbe, 0x00, 0x00, /* mov $0,%si */
	    0xbf, 0x00, 0x33, /* mov $0x3300,%di */
	    0x26, 0xa4,       /* movsb %es:(%si),(%di) */
	    0xfd,             /* std */
	    0xb9, 0x03, 0x00, /* mov $3,%cx */
	    0xbe, 0x02, 0x20, /* mov $0x2002,%si */
	    0xbf, 0x02, 0x34, /* mov $0x3402,%di */
	    0xf3, 0xa4,       /* rep movsb, backwards */
	    0xfc,             /* cld */
	};
	struct r16 in = {.si = 0x2000, .di = 0x3000};
	struct vmm_regs r, out;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	memcpy(mem + 0x2000, "abcdefghij", 10);
	mem[0x4000] = 'E';
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, &in);
	r.rg_sregs[VMM_ES].sg_selector = 0;
	vm_set(vm, &r);
	/* es stays 0; the last movsb reads es:0 = the IVT's first byte,
	 * which is 0. */
	mem[0] = 'I';
	vm_run_hlt(vm, &out, "strings");
	/* lodsb/stosb, movsb, lodsw/stosw, movsw, then (std) a movsb of
	 * 'g' to 0x3006 that stepped both back. */
	assert_memory_equal(mem + 0x3000, "abcdefg", 7);
	assert_memory_equal(mem + 0x3100, "*****", 5);
	assert_int_equal(mem[0x3105], 0);
	assert_memory_equal(mem + 0x3200, "abcdef", 6);
	assert_int_equal(mem[0x3300], 'I');
	assert_memory_equal(mem + 0x3400, "abc", 3);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 0);
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, 0x1fff);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffff, 0x33ff);
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xffff, 0x642a);
	ops->vo_vm_destroy(vm);
}

/* ---- port I/O ---- */

/* Every in/out form: port from imm8 or dx, byte or word. */
static void
test_sim__in_and_out_every_form(void **state)
{
	static const uint8_t code[] = {
	    0xe6, 0x80,       /* out %al,$0x80 */
	    0xe7, 0x81,       /* out %ax,$0x81 */
	    0xba, 0x34, 0x12, /* mov $0x1234,%dx */
	    0xee,             /* out %al,(%dx) */
	    0xef,             /* out %ax,(%dx) */
	    0xe4, 0x82,       /* in $0x82,%al */
	    0xe5, 0x83,       /* in $0x83,%ax */
	    0xec,             /* in (%dx),%al */
	    0x88, 0xc3,       /* mov %al,%bl */
	    0xed,             /* in (%dx),%ax */
	};
	static const struct {
		uint16_t port;
		uint8_t size, in;
		uint16_t data;
	} want[] = {{0x80, 1, 0, 0x22},   {0x81, 2, 0, 0x1122},
		    {0x1234, 1, 0, 0x22}, {0x1234, 2, 0, 0x1122},
		    {0x82, 1, 1, 0x33},   {0x83, 2, 1, 0x4455},
		    {0x1234, 1, 1, 0x66}, {0x1234, 2, 1, 0x7788}};
	struct r16 in = {.ax = 0x1122};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	size_t i;

	BACKEND(state);
	vm = vm_new();
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, &in);
	vm_set(vm, &r);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		vm_run(vm, &ex);
		assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
		assert_int_equal(ex.ex_io.io_port, want[i].port);
		assert_int_equal(ex.ex_io.io_size, want[i].size);
		assert_int_equal(ex.ex_io.io_in, want[i].in);
		assert_int_equal(ex.ex_io.io_count, 1);
		if (want[i].in) {
			ex.ex_io.io_data[0] = (uint8_t)want[i].data;
			ex.ex_io.io_data[1] = (uint8_t)(want[i].data >> 8);
		} else {
			assert_int_equal(ex.ex_io.io_data[0],
					 want[i].data & 0xff);
			if (want[i].size == 2)
				assert_int_equal(ex.ex_io.io_data[1],
						 want[i].data >> 8);
		}
	}
	vm_run_hlt(vm, &out, "io");
	assert_int_equal(out.rg_gprs[VMM_RBX] & 0xff, 0x66);
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xffff, 0x7788);
	ops->vo_vm_destroy(vm);
}

/*
 * The 32-bit operand forms the VMware backdoor's callers use (66 prefix):
 * mov r32, imm32; mov between r32 and r/m32; out and in eax.  The upper
 * half of a 64-bit register stays; an IN's registers written while it is
 * half-done (rip unchanged) stay too, and the IN completes on top of
 * them, as the runner's backdoor needs on every backend.
 */
static void
test_sim__o32_moves_and_in_out_eax(void **state)
{
	static const uint8_t code[] = {
	    0x66, 0xb8, 0x78, 0x56, 0x34, 0x12, /* mov $0x12345678,%eax */
	    0x66, 0x89, 0xc3,                   /* mov %eax,%ebx */
	    0x66, 0x89, 0x1e, 0x00, 0x20,       /* mov %ebx,0x2000 */
	    0x66, 0x8b, 0x0e, 0x00, 0x20,       /* mov 0x2000,%ecx */
	    0x66, 0xa3, 0x04, 0x20,             /* mov %eax,0x2004 */
	    0x66, 0xa1, 0x00, 0x20,             /* mov 0x2000,%eax */
	    0xba, 0x58, 0x56,                   /* mov $0x5658,%dx */
	    0x66, 0xef,                         /* out %eax,(%dx) */
	    0x66, 0xe7, 0x80,                   /* out %eax,$0x80 */
	    0x66, 0xe5, 0x81,                   /* in $0x81,%eax */
	    0x66, 0x89, 0xc6,                   /* mov %eax,%esi */
	    0x66, 0xed,                         /* in (%dx),%eax */
	};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	r.rg_gprs[VMM_RAX] = 0xaaaaaaaa00000000ULL;
	vm_set(vm, &r);

	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
	assert_int_equal(ex.ex_io.io_port, 0x5658);
	assert_int_equal(ex.ex_io.io_size, 4);
	assert_int_equal(ex.ex_io.io_in, 0);
	assert_memory_equal(ex.ex_io.io_data, "\x78\x56\x34\x12", 4);
	assert_memory_equal(mem + 0x2000, "\x78\x56\x34\x12", 4);
	assert_memory_equal(mem + 0x2004, "\x78\x56\x34\x12", 4);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
	assert_int_equal(ex.ex_io.io_port, 0x80);
	assert_int_equal(ex.ex_io.io_size, 4);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
	assert_int_equal(ex.ex_io.io_port, 0x81);
	assert_int_equal(ex.ex_io.io_in, 1);
	assert_int_equal(ex.ex_io.io_size, 4);
	memcpy(ex.ex_io.io_data, "\x01\x02\x03\x04", 4);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
	assert_int_equal(ex.ex_io.io_port, 0x5658);
	assert_int_equal(ex.ex_io.io_in, 1);
	assert_int_equal(ex.ex_io.io_size, 4);
	/* What the runner does for the backdoor: registers, then data. */
	assert_int_equal(ops->vo_vcpu_get_regs(vm, 0, &r, VMM_REGS_GPRS), 0);
	r.rg_gprs[VMM_RBX] = 0x564d5868;
	r.rg_gprs[VMM_RDI] = 0xfedcba98;
	assert_int_equal(ops->vo_vcpu_set_regs(vm, 0, &r, VMM_REGS_GPRS), 0);
	memcpy(ex.ex_io.io_data, "\x06\x00\x00\x80", 4);
	vm_run_hlt(vm, &out, "o32");
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xffffffff, 0x80000006);
	assert_int_equal(out.rg_gprs[VMM_RBX] & 0xffffffff, 0x564d5868);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffffffff, 0x12345678);
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffffffff, 0x04030201);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffffffff, 0xfedcba98);
	/* Outside 64-bit mode the CPU leaves them undefined; sim keeps them. */
	if (tbackend_is("sim"))
		assert_int_equal(out.rg_gprs[VMM_RAX] >> 32, 0xaaaaaaaa);
	ops->vo_vm_destroy(vm);
}

/* rep insb: one exit for the lot, the data lands at es:di on the next
 * run, cx and di move on. */
static void
test_sim__rep_insb_lands_at_es_di(void **state)
{
	static const uint8_t code[] = {
	    0xf3, 0x6c, /* rep insb (%dx),%es:(%di) */
	};
	struct r16 in = {.cx = 3, .dx = 0x60, .di = 0x2000};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	vm = vm_new();
	mem = vm_mem(vm);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, &in);
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
	assert_int_equal(ex.ex_io.io_port, 0x60);
	assert_int_equal(ex.ex_io.io_in, 1);
	assert_int_equal(ex.ex_io.io_size, 1);
	assert_int_equal(ex.ex_io.io_count, 3);
	memcpy(ex.ex_io.io_data, "xyz", 3);
	vm_run_hlt(vm, &out, "rep insb");
	assert_memory_equal(mem + 0x2000, "xyz", 3);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 0);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffff, 0x2003);
	ops->vo_vm_destroy(vm);
}

/* String output, forwards and (std) backwards: the port sees the bytes
 * in the order the instruction reads them, however many exits that
 * takes. */
static void
test_sim__rep_outs_in_both_directions(void **state)
{
	static const uint8_t code[] = {
	    0xf3, 0x6e,       /* rep outsb */
	    0xfd,             /* std */
	    0xb9, 0x03, 0x00, /* mov $3,%cx */
	    0xbe, 0x05, 0x20, /* mov $0x2005,%si */
	    0xf3, 0x6e,       /* rep outsb */
	    0xb9, 0x02, 0x00, /* mov $2,%cx */
	    0xbe, 0x02, 0x20, /* mov $0x2002,%si */
	    0xf3, 0x6f,       /* rep outsw */
	    0xfc,             /* cld */
	};
	struct r16 in = {.cx = 3, .dx = 0x3f8, .si = 0x2000};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	char got[32];
	size_t n = 0, len;

	BACKEND(state);
	vm = vm_new();
	memcpy(vm_mem(vm) + 0x2000, "abcdef", 6);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, &in);
	vm_set(vm, &r);
	for (;;) {
		vm_run(vm, &ex);
		if (ex.ex_kind != VMM_EXIT_IO)
			break;
		assert_int_equal(ex.ex_io.io_port, 0x3f8);
		assert_int_equal(ex.ex_io.io_in, 0);
		len = (size_t)ex.ex_io.io_size * ex.ex_io.io_count;
		assert_true(n + len < sizeof(got));
		memcpy(got + n, ex.ex_io.io_data, len);
		n += len;
	}
	assert_int_equal(ex.ex_kind, VMM_EXIT_HLT);
	/* abc; then f, e, d; then the words at 0x2002 and 0x2000. */
	assert_int_equal(n, 10);
	assert_memory_equal(got, "abcfedcdab", 10);
	assert_int_equal(ops->vo_vcpu_get_regs(vm, 0, &out, VMM_REGS_GPRS), 0);
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, 0x1ffe);
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 0);
	ops->vo_vm_destroy(vm);
}

/* ---- code and memory ---- */

/* A store into the instruction stream is what runs next. */
static void
test_sim__self_modifying_code_runs_the_new_bytes(void **state)
{
	static const uint8_t code[] = {
	    0xc6, 0x06, 0x0a, 0x10, 0xb0, /* movb $0xb0,0x100a */
	    0xc6, 0x06, 0x0b, 0x10, 0x42, /* movb $0x42,0x100b */
	    0x90, 0x90,                   /* becomes mov $0x42,%al */
	};
	struct vmm_regs out;
	struct vmm_vm *vm;

	BACKEND(state);
	vm = vm_new();
	vm_exec(vm, code, sizeof(code), NULL, &out);
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xff, 0x42);
	ops->vo_vm_destroy(vm);
}

/* ---- the sim's own limits ---- */

#define SIM_ONLY()                                                             \
	tbackend_only("sim", "about the sim's subset and exits, not x86")

/* Outside the subset: the vCPU stops on the instruction, says which byte
 * and where, and says it again if run again. */
static void
test_sim__unsupported_instructions_stop_where_they_are(void **state)
{
	static const struct {
		const char *code;
		unsigned len;
		unsigned byte, hw;
	} t[] = {
	    {"\x66\x01\xc0", 3, 0x66, 0x6601},         /* add %eax,%eax */
	    {"\x67\x8b\x00", 3, 0x67, 0x67},           /* addr32 */
	    {"\xf0\x01\x07", 3, 0xf0, 0xf0},           /* lock add */
	    {"\x0f\x01\x1e\x00\x20", 5, 0x0f, 0x0f01}, /* lidt */
	    {"\x0f\x20\xc0", 3, 0x0f, 0x0f20},         /* mov %cr0 */
	    {"\x0f\x0b", 2, 0x0f, 0x0f0b},             /* ud2 */
	    {"\xf6\xe3", 2, 0xf6, 0xf6},               /* mul %bl */
	    {"\xf7\xf1", 2, 0xf7, 0xf7},               /* div %cx */
	    {"\xf6\xcb\x01", 3, 0xf6, 0xf6},           /* test /1 */
	    {"\xd1\xe0", 2, 0xd1, 0xd1},               /* shl %ax */
	    {"\xc1\xe0\x02", 3, 0xc1, 0xc1},           /* shl $2,%ax */
	    {"\x8e\xc8", 2, 0x8e, 0x8e},               /* mov %ax,%cs */
	    {"\x8d\xc0", 2, 0x8d, 0x8d},               /* lea, register */
	    {"\xc6\xc8\x01", 3, 0xc6, 0xc6},           /* c6 /1 */
	    {"\xff\xff", 2, 0xff, 0xff},               /* ff /7 */
	    {"\xff\xd8", 2, 0xff, 0xff},               /* lcall *%ax */
	    {"\x8f\xc8", 2, 0x8f, 0x8f},               /* 8f /1 */
	    {"\xa6", 1, 0xa6, 0xa6},                   /* cmpsb */
	    {"\xae", 1, 0xae, 0xae},                   /* scasb */
	    {"\x60", 1, 0x60, 0x60},                   /* pusha */
	    {"\xc4\x07", 2, 0xc4, 0xc4},               /* les */
	    {"\x27", 1, 0x27, 0x27},                   /* daa */
	    {"\xd8\xc1", 2, 0xd8, 0xd8},               /* fadd */
	    {"\x26\x26\x26\x26\x26\x26\x26\x26\x26\x90", 10, 0x26,
	     0x26}, /* too many prefixes */
	};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	char want[80];
	size_t i;
	int k;

	BACKEND(state);
	SIM_ONLY();
	vm = vm_new();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* nop; the instruction */
		uint8_t code[16];

		code[0] = 0x90;
		memcpy(code + 1, t[i].code, t[i].len);
		vm_code(vm, code, t[i].len + 1);
		vm_regs_start(&r, NULL);
		vm_set(vm, &r);
		snprintf(want, sizeof(want),
			 "unsupported instruction 0x%02x at 0000:%04x",
			 t[i].byte, S_LOAD + 1);
		for (k = 0; k < 2; k++) {
			vm_run(vm, &ex);
			assert_int_equal(ex.ex_kind, VMM_EXIT_UNSUPPORTED);
			assert_string_equal(ex.ex_text, want);
			assert_int_equal(ex.ex_hw_reason, t[i].hw);
			assert_int_equal(
			    ops->vo_vcpu_get_regs(vm, 0, &out, VMM_REGS_GPRS),
			    0);
			assert_int_equal(out.rg_gprs[VMM_RIP], S_LOAD + 1);
		}
	}
	ops->vo_vm_destroy(vm);
}

/* Code must come from RAM: a jump past its end stops the vCPU. */
static void
test_sim__fetch_outside_ram_is_an_internal_exit(void **state)
{
	static const uint8_t jump[] = {0xea, 0x10, 0x00, 0xff, 0xff};
	struct vmm_regs r;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	SIM_ONLY();
	vm = vm_new();
	mem = vm_mem(vm);
	vm_code(vm, jump, sizeof(jump));
	vm_regs_start(&r, NULL);
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_INTERNAL);
	assert_string_equal(ex.ex_text,
			    "instruction fetch outside guest RAM at ffff:0010 "
			    "(linear 0x100000, RAM ends at 0x100000)");

	/* An instruction cut by the end of RAM: mov $imm16,%ax at
	 * f001:ffee, its last byte at 0x100000. */
	mem[S_MEMORY - 2] = 0xb8;
	mem[S_MEMORY - 1] = 0x34;
	vm_regs_start(&r, NULL);
	r.rg_sregs[VMM_CS].sg_selector = 0xf001;
	r.rg_sregs[VMM_CS].sg_base = 0xf0010;
	r.rg_gprs[VMM_RIP] = 0xffee;
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_INTERNAL);
	assert_int_equal(ops->vo_vcpu_get_regs(vm, 0, &r, VMM_REGS_GPRS), 0);
	assert_int_equal(r.rg_gprs[VMM_RIP], 0xffee);

	/* The last byte of RAM is fine, and ip wraps at 64 KiB: nop at
	 * f000:ffff, then hlt at f000:0000. */
	mem[S_MEMORY - 1] = 0x90;
	mem[0xf0000] = S_HLT;
	vm_regs_start(&r, NULL);
	r.rg_sregs[VMM_CS].sg_selector = 0xf000;
	r.rg_sregs[VMM_CS].sg_base = 0xf0000;
	r.rg_gprs[VMM_RIP] = 0xffff;
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_HLT);
	assert_int_equal(ops->vo_vcpu_get_regs(vm, 0, &r, VMM_REGS_GPRS), 0);
	assert_int_equal(r.rg_gprs[VMM_RIP], 1);
	ops->vo_vm_destroy(vm);
}

/* A vector beyond the IDT limit becomes #GP, then #DF, then a shutdown. */
static void
test_sim__ivt_limit_turns_int_into_gp_then_shutdown(void **state)
{
	static const uint8_t code[] = {0xcd, 0x40}; /* int $0x40 */
	static const uint8_t gp[] = {0xb0, 0x0d};   /* mov $13,%al */
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	tbackend_only("sim", "KVM hosts that emulate real mode do not "
			     "check the IDT limit (tests/guests/README.md)");
	vm = vm_new();
	mem = vm_mem(vm);
	memcpy(mem + 0x1100, gp, sizeof(gp));
	mem[0x1100 + sizeof(gp)] = S_HLT;
	put16(mem + 13 * 4, 0x1100);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	r.rg_idtr.dt_limit = 13 * 4 + 3;
	vm_set(vm, &r);
	vm_run_hlt(vm, &out, "gp");
	assert_int_equal(out.rg_gprs[VMM_RAX] & 0xff, 13);

	r.rg_idtr.dt_limit = 0;
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_SHUTDOWN);
	assert_string_equal(ex.ex_text, "triple fault");
	ops->vo_vm_destroy(vm);
}

/* The sim's string I/O exits carry at most a page; the rest follows. */
static void
test_sim__rep_outsb_is_cut_into_page_sized_exits(void **state)
{
	static const uint8_t code[] = {0xf3, 0x6e}; /* rep outsb */
	struct r16 in = {.cx = 5000, .dx = 0x3f8, .si = 0x2000};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	uint8_t *mem;
	unsigned i;

	BACKEND(state);
	SIM_ONLY();
	vm = vm_new();
	mem = vm_mem(vm);
	for (i = 0; i < 5000; i++)
		mem[0x2000 + i] = (uint8_t)i;
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, &in);
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
	assert_int_equal(ex.ex_io.io_count, 4096);
	assert_int_equal(ex.ex_io.io_data[4095], (uint8_t)4095);
	assert_int_equal(ops->vo_vcpu_get_regs(vm, 0, &out, VMM_REGS_GPRS), 0);
	assert_int_equal(out.rg_gprs[VMM_RIP], S_LOAD); /* not done yet */
	assert_int_equal(out.rg_gprs[VMM_RCX] & 0xffff, 5000 - 4096);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_IO);
	assert_int_equal(ex.ex_io.io_count, 5000 - 4096);
	assert_int_equal(ex.ex_io.io_data[0], (uint8_t)4096);
	vm_run_hlt(vm, &out, "outsb");
	assert_int_equal(out.rg_gprs[VMM_RSI] & 0xffff, 0x2000 + 5000);
	ops->vo_vm_destroy(vm);
}

/* Read-only pages: every write of a rep stosb lands except those, and
 * one MMIO exit reports the first; a word across the end of RAM reads
 * its missing byte as all-ones. */
static void
test_sim__protected_and_missing_memory_in_one_instruction(void **state)
{
	static const uint8_t code[] = {
	    0xf3, 0xaa,             /* rep stosb */
	    0x8b, 0x1e, 0xff, 0xff, /* mov 0xffff,%bx (ds=f000) */
	};
	struct r16 in = {.ax = 0x5a, .cx = 0x20, .di = 0x4ff0};
	struct vmm_regs r, out;
	struct vmm_exit ex;
	struct vmm_vm *vm;
	uint8_t *mem;

	BACKEND(state);
	SIM_ONLY();
	vm = vm_new();
	mem = vm_mem(vm);
	mem[S_MEMORY - 1] = 0x34;
	assert_int_equal(ops->vo_vm_protect(vm, 0x5000, 0x1000, VMM_PROT_R), 0);
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, &in);
	r.rg_sregs[VMM_DS].sg_selector = 0xf000;
	r.rg_sregs[VMM_DS].sg_base = 0xf0000;
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_MMIO);
	assert_int_equal(ex.ex_mmio.mm_gpa, 0x5000);
	assert_int_equal(ex.ex_mmio.mm_write, 1);
	assert_int_equal(ex.ex_mmio.mm_data[0], 0x5a);
	assert_int_equal(mem[0x4fff], 0x5a);
	assert_int_equal(mem[0x5000], 0);
	assert_int_equal(mem[0x500f], 0);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_MMIO);
	assert_int_equal(ex.ex_mmio.mm_gpa, S_MEMORY - 1);
	assert_int_equal(ex.ex_mmio.mm_len, 2);
	assert_int_equal(ex.ex_mmio.mm_write, 0);
	vm_run_hlt(vm, &out, "protect");
	assert_int_equal(out.rg_gprs[VMM_RBX] & 0xffff, 0xff34);
	assert_int_equal(out.rg_gprs[VMM_RDI] & 0xffff, 0x5010);
	/* Writable again. */
	assert_int_equal(ops->vo_vm_protect(vm, 0x5000, 0x1000, VMM_PROT_RW),
			 0);
	vm_regs_start(&r, &in);
	r.rg_sregs[VMM_DS].sg_selector = 0xf000;
	r.rg_sregs[VMM_DS].sg_base = 0xf0000;
	vm_set(vm, &r);
	vm_run(vm, &ex);
	/* Only the word read is left to report. */
	assert_int_equal(ex.ex_kind, VMM_EXIT_MMIO);
	assert_int_equal(ex.ex_mmio.mm_gpa, S_MEMORY - 1);
	assert_int_equal(mem[0x500f], 0x5a);
	ops->vo_vm_destroy(vm);
}

/* While IF is clear an IRQ is refused; once accepted, a second waits
 * (EAGAIN) until the first is delivered and the guest opens IF again. */
static void
test_sim__one_irq_at_a_time(void **state)
{
	static const uint8_t code[] = {
	    0xfb, /* sti */
	    0x90, /* nop */
	    0xf4, /* hlt */
	};
	struct vmm_regs r;
	struct vmm_exit ex;
	struct vmm_vm *vm;

	BACKEND(state);
	SIM_ONLY();
	vm = vm_new();
	vm_code(vm, code, sizeof(code));
	vm_regs_start(&r, NULL);
	vm_set(vm, &r);
	vm_run(vm, &ex);
	assert_int_equal(ex.ex_kind, VMM_EXIT_HLT);
	assert_int_equal(ops->vo_vcpu_interrupt(vm, 0, VMM_INTR_IRQ, 0x30), 0);
	assert_int_equal(ops->vo_vcpu_interrupt(vm, 0, VMM_INTR_IRQ, 0x31), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(ops->vo_vcpu_interrupt(vm, 0, VMM_INTR_NMI + 7, 0),
			 -1);
	assert_int_equal(errno, EINVAL);
	/* A reset forgets both. */
	vm_set(vm, &r);
	assert_int_equal(ops->vo_vcpu_interrupt(vm, 0, VMM_INTR_IRQ, 0x30), -1);
	assert_int_equal(errno, EAGAIN);
	ops->vo_vm_destroy(vm);
}

/* How fast the interpreter runs: printed, not asserted. */
static void
test_sim__speed_of_a_loop_and_an_alu_mix(void **state)
{
	/* mov $N,%dx; 1: xor %cx,%cx; 2: loop 2b; dec %dx; jnz 1b */
	static const uint8_t loop[] = {0xba, 0x00, 0x01, 0x31, 0xc9,
				       0xe2, 0xfe, 0x4a, 0x75, 0xf9};
	/* mov $N,%dx; 1: xor %cx,%cx; 2: add %bx,%ax; xor %ax,%bx;
	 * inc %bx; cmp $5,%al; je 3f; 3: mov %ax,(%si); loop 2b; dec %dx;
	 * jnz 1b */
	static const uint8_t alu[] = {0xba, 0x40, 0x00, 0x31, 0xc9, 0x01, 0xd8,
				      0x31, 0xc3, 0x43, 0x3c, 0x05, 0x74, 0x00,
				      0x89, 0x04, 0xe2, 0xf3, 0x4a, 0x75, 0xee};
	struct vmm_regs out;
	struct vmm_vm *vm;
	struct timespec t0, t1;
	double dt, n;

	BACKEND(state);
	SIM_ONLY();
	vm = vm_new();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	vm_exec(vm, loop, sizeof(loop), NULL, &out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(out.rg_gprs[VMM_RDX] & 0xffff, 0);
	dt = (double)(t1.tv_sec - t0.tv_sec) +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	n = 256.0 * (65536 + 3) + 2;
	print_message("loop: %.0f instructions in %.3f s: %.1f M/s\n", n, dt,
		      n / dt / 1e6);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	vm_exec(vm, alu, sizeof(alu), &(struct r16){.si = 0x2000}, &out);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(out.rg_gprs[VMM_RDX] & 0xffff, 0);
	dt = (double)(t1.tv_sec - t0.tv_sec) +
	     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	n = 64.0 * (65536.0 * 7 + 3) + 2;
	print_message("alu mix: %.0f instructions in %.3f s: %.1f M/s\n", n, dt,
		      n / dt / 1e6);
	ops->vo_vm_destroy(vm);
}

/* Every case, for one backend b. */
#define CASES(b)                                                               \
	cmocka_unit_test_prestate(test_sim__alu_register_and_immediate_forms,  \
				  b),                                          \
	    cmocka_unit_test_prestate(test_sim__group_opcodes_and_inc_dec, b), \
	    cmocka_unit_test_prestate(                                         \
		test_sim__moves_exchanges_and_flag_instructions, b),           \
	    cmocka_unit_test_prestate(                                         \
		test_sim__16_bit_writes_keep_the_upper_bits, b),               \
	    cmocka_unit_test_prestate(                                         \
		test_sim__jcc_every_condition_both_forms, b),                  \
	    cmocka_unit_test_prestate(test_sim__jumps_and_loops, b),           \
	    cmocka_unit_test_prestate(test_sim__every_modrm_addressing_form,   \
				      b),                                      \
	    cmocka_unit_test_prestate(                                         \
		test_sim__memory_operands_read_and_write, b),                  \
	    cmocka_unit_test_prestate(                                         \
		test_sim__segment_registers_load_and_store, b),                \
	    cmocka_unit_test_prestate(                                         \
		test_sim__push_pop_and_flags_on_the_stack, b),                 \
	    cmocka_unit_test_prestate(                                         \
		test_sim__calls_and_returns_near_far_indirect, b),             \
	    cmocka_unit_test_prestate(test_sim__int_and_iret_through_the_ivt,  \
				      b),                                      \
	    cmocka_unit_test_prestate(test_sim__trap_flag_single_steps, b),    \
	    cmocka_unit_test_prestate(                                         \
		test_sim__nmis_wait_for_the_handlers_iret, b),                 \
	    cmocka_unit_test_prestate(                                         \
		test_sim__string_instructions_honour_df_and_rep, b),           \
	    cmocka_unit_test_prestate(test_sim__in_and_out_every_form, b),     \
	    cmocka_unit_test_prestate(test_sim__o32_moves_and_in_out_eax, b),  \
	    cmocka_unit_test_prestate(test_sim__rep_insb_lands_at_es_di, b),   \
	    cmocka_unit_test_prestate(test_sim__rep_outs_in_both_directions,   \
				      b),                                      \
	    cmocka_unit_test_prestate(                                         \
		test_sim__self_modifying_code_runs_the_new_bytes, b),          \
	    cmocka_unit_test_prestate(                                         \
		test_sim__unsupported_instructions_stop_where_they_are, b),    \
	    cmocka_unit_test_prestate(                                         \
		test_sim__fetch_outside_ram_is_an_internal_exit, b),           \
	    cmocka_unit_test_prestate(                                         \
		test_sim__ivt_limit_turns_int_into_gp_then_shutdown, b),       \
	    cmocka_unit_test_prestate(                                         \
		test_sim__rep_outsb_is_cut_into_page_sized_exits, b),          \
	    cmocka_unit_test_prestate(                                         \
		test_sim__protected_and_missing_memory_in_one_instruction, b), \
	    cmocka_unit_test_prestate(test_sim__one_irq_at_a_time, b),         \
	    cmocka_unit_test_prestate(                                         \
		test_sim__speed_of_a_loop_and_an_alu_mix, b)

TBACKEND_MAIN(CASES)
