/*
 * The sim backend's interpreter: a subset of 16-bit real-mode x86, enough
 * for the test guests (tests/guests) and small hand-written programs.
 *
 * The subset (16-bit operand and address size only):
 *   - data: mov in all its forms (88-8c, 8e, a0-a3, b0-bf, c6 /0, c7 /0),
 *     xchg (86, 87, 91-97), lea, cbw, cwd, lahf, sahf, nop (and pause);
 *   - arithmetic, 8 and 16 bits, every r/m, reg and immediate form:
 *     add, or, adc, sbb, and, sub, xor, cmp (00-3d, 80-83), test (84, 85,
 *     a8, a9, f6/f7 /0), inc, dec (40-4f, fe /0 /1, ff /0 /1), not,
 *     neg (f6/f7 /2 /3);
 *   - stack: push/pop of registers, segment registers (not pop cs),
 *     immediates (68, 6a) and memory (ff /6, 8f /0); pushf, popf;
 *   - control: jmp (short, near, rel16, indirect, far, far indirect),
 *     jcc (all 16 conditions, rel8 and 0f 8x rel16), loop, loope,
 *     loopne, jcxz, call (rel16, indirect, far, far indirect), ret,
 *     ret imm16, retf, retf imm16, int n, int3, iret;
 *   - flags: clc, stc, cmc, cli, sti, cld, std;
 *   - strings: movs, stos, lods (byte and word), ins, outs, each with an
 *     optional rep (f3 or f2: both simply repeat these), honouring DF;
 *   - port I/O: in and out, byte and word, imm8 and dx forms;
 *   - hlt;
 *   - prefixes: es, cs, ss, ds, fs, gs overrides; rep/repne;
 *   - with the operand-size prefix 66 (32-bit operands), only what the
 *     VMware backdoor's callers need: mov r32, imm32 (66 b8+r); mov
 *     between r32 and r/m32 (66 89, 66 8b) and between eax and a
 *     direct address (66 a1, 66 a3); in eax and out eax, imm8
 *     and dx forms (66 e5, e7, ed, ef).  The upper half of a 64-bit
 *     register stays as it was.
 * Anything else -- other 66 forms, 67, lock, mul/div, shifts,
 * rotates, BCD, cmps/scas, les/lds, enter/leave, pusha/popa, x87, and
 * every system instruction (lgdt, lidt, mov to control registers, ...)
 * -- stops the vCPU with VMM_EXIT_UNSUPPORTED, "unsupported instruction
 * 0xNN at cccc:iiii": NN the byte that left the subset (the opcode, or a
 * prefix such as 66), cccc:iiii where the instruction starts, which is
 * where ip stays.  ex_hw_reason holds the opcode (0x0fNN for two-byte
 * ones).
 *
 * Addresses: linear = segment base + 16-bit offset, truncated to 32 bits;
 * no wrap at 1 MiB (the A20 line is on, as KVM leaves it: there is no A20
 * gate to turn it off), so ffff:0010 is 0x100000.  Loading a segment
 * register sets base = selector << 4 and keeps the cached limit and
 * access rights; the base a register write put there is honoured until
 * then ("unreal mode").  Segment limits are not checked: a word at
 * offset 0xffff takes its second byte from offset 0x10000.  ip wraps at
 * 64 KiB.
 *
 * Memory outside guest RAM reads as all-ones and takes no writes; an
 * access there, or a write to a page protected read-only, completes the
 * instruction that way and then returns VMM_EXIT_MMIO for the first such
 * access (the runner has no MMIO devices: reads float, writes vanish,
 * which is what KVM's exit gives it too).  String I/O is the exception:
 * its exit is the port I/O, and its memory beyond RAM is treated the same
 * way without an MMIO exit.  Fetching an instruction from outside RAM
 * stops the vCPU with VMM_EXIT_INTERNAL (KVM's emulator fails the same
 * way).
 *
 * Port I/O: OUT and OUTS are done when the exit returns (ip is past them,
 * the data in the exit's buffer).  IN and INS return with ip on the
 * instruction and the buffer preset to all-ones; the runner fills it, and
 * the next vcpu_run completes the instruction with it before anything
 * else -- KVM's protocol.  A rep string I/O moves at most SIM_IOBUF bytes
 * per exit and stays on the instruction until cx is 0.  Rep string
 * instructions otherwise run to the end in one go (not interruptible
 * between iterations).
 *
 * Interrupts (int n, external, NMI, the single-step trap) go through the
 * IVT at idtr.base + 4 * vector: flags, cs, ip pushed; IF, TF and AC
 * cleared.  A vector beyond the IDT limit becomes #GP, then #DF, then a
 * shutdown (VMM_EXIT_SHUTDOWN, which the runner calls a triple fault).
 * STI (when IF was clear) and MOV/POP SS block interrupts at the next
 * boundary; after an NMI, NMIs wait until IRET.  TF traps after each
 * instruction through vector 1.  No other exceptions are modelled: what
 * would raise one (#UD, #GP, #DE) is outside the subset anyway.
 *
 * Kicks: the kick flag is read between every two instructions (a plain
 * load on x86), so a kick ends vcpu_run within one instruction, and
 * there is no periodic return.  An interrupt refused while IF is clear
 * asks for a KICKED return ("interrupt window open") as soon as IF opens,
 * as KVM's interrupt window does.
 *
 * Speed: one switch per instruction on the opcode, flags computed
 * eagerly, no allocation; the state lives in struct sim_vcpu (sim.h).
 */
#include "vmm-driver/sim.h"

#include <stdio.h>
#include <string.h>

#define SIM_LIKELY(x) __builtin_expect(!!(x), 1)
#define SIM_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The hot helpers, forced into the one loop that calls them: left to
 * itself gcc 12 -O2 keeps sim_step and sim_alu out of line, and an
 * ALU-heavy loop ran at 27 M instructions/s instead of 130 M. */
#define SIM_INLINE inline __attribute__((always_inline))

/* More prefixes than this on one instruction leave the subset. */
#define SIM_MAX_PREFIXES 8
/* Bytes the decoder may read from one instruction's start: prefixes,
 * opcode, ModRM, displacement and immediate, with room to spare. */
#define SIM_FETCH_MAX 32

#define SIM_VEC_DB 1
#define SIM_VEC_NMI 2
#define SIM_VEC_BP 3
#define SIM_VEC_DF 8
#define SIM_VEC_GP 13

/* FLAGS bits a 16-bit POPF / IRET may set in real mode: arithmetic, TF,
 * IF, DF, IOPL, NT.  Bit 1 always reads 1. */
#define SIM_FLAGS16_WRITABLE 0x7fd5u
#define SIM_FLAGS_FIXED 0x2u

enum sim_aluop {
	SIM_ADD,
	SIM_OR,
	SIM_ADC,
	SIM_SBB,
	SIM_AND,
	SIM_SUB,
	SIM_XOR,
	SIM_CMP
};

/* The byte register numbers 4-7 name ah, ch, dh, bh. */
#define SIM_AH 4
/* The flags SAHF loads from ah. */
#define SIM_SAHF (SIM_CF | SIM_PF | SIM_AF | SIM_ZF | SIM_SF)

#define R16(n) (v->sv_gpr[(n)].w[0])
#define R8(n) (*sim_r8(v, (n)))

static SIM_INLINE uint8_t *
sim_r8(struct sim_vcpu *v, unsigned n)
{
	return n < 4 ? &v->sv_gpr[n].b[0] : &v->sv_gpr[n - 4].b[1];
}

static SIM_INLINE uint16_t
sim_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- memory ---- */

/* Remembers the first access of this instruction that left RAM. */
static void
sim_mmio_note(struct sim_vcpu *v, uint32_t lin, unsigned len, int write,
	      unsigned val)
{
	unsigned i;

	if (v->sv_mmio)
		return;
	v->sv_mmio = 1;
	v->sv_attn = 1;
	v->sv_mmio_gpa = lin;
	v->sv_mmio_len = (uint8_t)len;
	v->sv_mmio_write = (uint8_t)write;
	memset(v->sv_mmio_data, 0xff, sizeof(v->sv_mmio_data));
	if (write)
		for (i = 0; i < len; i++)
			v->sv_mmio_data[i] = (uint8_t)(val >> (8 * i));
}

/* Byte i of an access: RAM, or all-ones beyond it. */
static unsigned
sim_read_slow(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin, unsigned len,
	      int note)
{
	unsigned i, val = 0, miss = 0;

	for (i = 0; i < len; i++) {
		uint64_t a = (uint64_t)lin + i;

		if (a < m->sm_size) {
			val |= (unsigned)m->sm_ram[a] << (8 * i);
		} else {
			val |= 0xffu << (8 * i);
			miss = 1;
		}
	}
	if (miss && note)
		sim_mmio_note(v, lin, len, 0, 0);
	return val;
}

static int
sim_writable(const struct sim_mem *m, uint64_t a)
{
	return a < m->sm_size && (m->sm_nro == 0 || !m->sm_ro[a / SIM_PAGE]);
}

static void
sim_write_slow(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin,
	       unsigned len, unsigned val, int note)
{
	unsigned i, miss = 0;

	for (i = 0; i < len; i++) {
		uint64_t a = (uint64_t)lin + i;

		if (sim_writable(m, a))
			m->sm_ram[a] = (uint8_t)(val >> (8 * i));
		else
			miss = 1;
	}
	if (miss && note)
		sim_mmio_note(v, lin, len, 1, val);
}

static SIM_INLINE unsigned
sim_rd8(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin)
{
	if (SIM_LIKELY(lin < m->sm_size))
		return m->sm_ram[lin];
	return sim_read_slow(v, m, lin, 1, 1);
}

static SIM_INLINE unsigned
sim_rd16(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin)
{
	if (SIM_LIKELY((uint64_t)lin + 2 <= m->sm_size))
		return sim_le16(m->sm_ram + lin);
	return sim_read_slow(v, m, lin, 2, 1);
}

static SIM_INLINE void
sim_wr8(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin, unsigned val)
{
	if (SIM_LIKELY(lin < m->sm_size && m->sm_nro == 0))
		m->sm_ram[lin] = (uint8_t)val;
	else
		sim_write_slow(v, m, lin, 1, val, 1);
}

static SIM_INLINE void
sim_wr16(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin, unsigned val)
{
	if (SIM_LIKELY((uint64_t)lin + 2 <= m->sm_size && m->sm_nro == 0)) {
		m->sm_ram[lin] = (uint8_t)val;
		m->sm_ram[lin + 1] = (uint8_t)(val >> 8);
	} else {
		sim_write_slow(v, m, lin, 2, val, 1);
	}
}

static SIM_INLINE unsigned
sim_rd(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin, unsigned w)
{
	return w ? sim_rd16(v, m, lin) : sim_rd8(v, m, lin);
}

static SIM_INLINE void
sim_wr(struct sim_vcpu *v, struct sim_mem *m, uint32_t lin, unsigned w,
       unsigned val)
{
	if (w)
		sim_wr16(v, m, lin, val);
	else
		sim_wr8(v, m, lin, val);
}

static SIM_INLINE uint32_t
sim_lin(const struct sim_vcpu *v, unsigned seg, uint16_t off)
{
	return (uint32_t)(v->sv_sregs[seg].sg_base + off);
}

/* Real mode: the selector names the base. */
static SIM_INLINE void
sim_seg_load(struct sim_vcpu *v, unsigned seg, uint16_t sel)
{
	v->sv_sregs[seg].sg_selector = sel;
	v->sv_sregs[seg].sg_base = (uint64_t)sel << 4;
}

static SIM_INLINE void
sim_push(struct sim_vcpu *v, struct sim_mem *m, unsigned val)
{
	uint16_t sp = (uint16_t)(R16(SIM_SP) - 2);

	R16(SIM_SP) = sp;
	sim_wr16(v, m, sim_lin(v, VMM_SS, sp), val);
}

static SIM_INLINE unsigned
sim_pop(struct sim_vcpu *v, struct sim_mem *m)
{
	uint16_t sp = R16(SIM_SP);
	unsigned val = sim_rd16(v, m, sim_lin(v, VMM_SS, sp));

	R16(SIM_SP) = (uint16_t)(sp + 2);
	return val;
}

/* ---- ModRM ---- */

/* An r/m operand: a register (or_reg >= 0) or a linear address. */
struct sim_opnd {
	int or_reg;
	uint16_t or_off;
	uint32_t or_lin;
};

/*
 * Decodes the ModRM byte at *pp and what follows it (the displacement),
 * with seg the override (-1: none).  *pp moves past them.
 */
static SIM_INLINE unsigned
sim_modrm(struct sim_vcpu *v, const uint8_t **pp, int seg, struct sim_opnd *o)
{
	const uint8_t *p = *pp;
	unsigned modrm = *p++, mod = modrm >> 6;
	unsigned dseg = VMM_DS;
	uint16_t off;

	if (mod == 3) {
		o->or_reg = (int)(modrm & 7);
		o->or_off = 0;
		o->or_lin = 0;
		*pp = p;
		return modrm;
	}
	switch (modrm & 7) {
	case 0:
		off = (uint16_t)(R16(SIM_BX) + R16(SIM_SI));
		break;
	case 1:
		off = (uint16_t)(R16(SIM_BX) + R16(SIM_DI));
		break;
	case 2:
		off = (uint16_t)(R16(SIM_BP) + R16(SIM_SI));
		dseg = VMM_SS;
		break;
	case 3:
		off = (uint16_t)(R16(SIM_BP) + R16(SIM_DI));
		dseg = VMM_SS;
		break;
	case 4:
		off = R16(SIM_SI);
		break;
	case 5:
		off = R16(SIM_DI);
		break;
	case 6:
		if (mod == 0) {
			off = sim_le16(p);
			p += 2;
		} else {
			off = R16(SIM_BP);
			dseg = VMM_SS;
		}
		break;
	default:
		off = R16(SIM_BX);
		break;
	}
	if (mod == 1) {
		off = (uint16_t)(off + (int8_t)*p);
		p++;
	} else if (mod == 2) {
		off = (uint16_t)(off + sim_le16(p));
		p += 2;
	}
	*pp = p;
	o->or_reg = -1;
	o->or_off = off;
	o->or_lin = sim_lin(v, seg >= 0 ? (unsigned)seg : dseg, off);
	return modrm;
}

static SIM_INLINE unsigned
sim_get(struct sim_vcpu *v, struct sim_mem *m, const struct sim_opnd *o,
	unsigned w)
{
	if (o->or_reg >= 0)
		return w ? R16(o->or_reg) : R8((unsigned)o->or_reg);
	return sim_rd(v, m, o->or_lin, w);
}

static SIM_INLINE void
sim_put(struct sim_vcpu *v, struct sim_mem *m, const struct sim_opnd *o,
	unsigned w, unsigned val)
{
	if (o->or_reg >= 0) {
		if (w)
			R16(o->or_reg) = (uint16_t)val;
		else
			R8((unsigned)o->or_reg) = (uint8_t)val;
	} else {
		sim_wr(v, m, o->or_lin, w, val);
	}
}

static SIM_INLINE unsigned
sim_reg_get(struct sim_vcpu *v, unsigned n, unsigned w)
{
	return w ? R16(n) : R8(n);
}

static SIM_INLINE void
sim_reg_put(struct sim_vcpu *v, unsigned n, unsigned w, unsigned val)
{
	if (w)
		R16(n) = (uint16_t)val;
	else
		R8(n) = (uint8_t)val;
}

/* ---- flags ---- */

static SIM_INLINE void
sim_flags_set(struct sim_vcpu *v, unsigned mask, unsigned f)
{
	v->sv_rflags = (v->sv_rflags & ~(uint64_t)mask) | f;
}

/* SF, ZF, PF of a result (PF from its low byte). */
static SIM_INLINE unsigned
sim_szp(unsigned r, unsigned w)
{
	unsigned f = __builtin_parity(r & 0xff) ? 0 : SIM_PF;

	if (r == 0)
		f |= SIM_ZF;
	if (r & (w ? 0x8000u : 0x80u))
		f |= SIM_SF;
	return f;
}

/*
 * One of the eight ALU operations on a and b (8 or 16 bits, w), every
 * arithmetic flag set as the CPU sets it (AF cleared by the logical
 * ones, as Intel CPUs do).  Returns the result (CMP's is not stored).
 */
static SIM_INLINE unsigned
sim_alu(struct sim_vcpu *v, unsigned op, unsigned a, unsigned b, unsigned w)
{
	unsigned sign = w ? 0x8000u : 0x80u, mask = w ? 0xffffu : 0xffu;
	unsigned bits = w ? 16 : 8, r, f = 0, c;

	switch (op) {
	case SIM_ADD:
	case SIM_ADC:
		c = op == SIM_ADC ? (unsigned)(v->sv_rflags & SIM_CF) : 0;
		r = a + b + c;
		if (r >> bits)
			f |= SIM_CF;
		if ((a ^ r) & (b ^ r) & sign)
			f |= SIM_OF;
		f |= (a ^ b ^ r) & SIM_AF;
		break;
	case SIM_SUB:
	case SIM_SBB:
	case SIM_CMP:
		c = op == SIM_SBB ? (unsigned)(v->sv_rflags & SIM_CF) : 0;
		r = a - b - c;
		if ((r >> bits) & 1)
			f |= SIM_CF;
		if ((a ^ b) & (a ^ r) & sign)
			f |= SIM_OF;
		f |= (a ^ b ^ r) & SIM_AF;
		break;
	case SIM_OR:
		r = a | b;
		break;
	case SIM_AND:
		r = a & b;
		break;
	default: /* SIM_XOR */
		r = a ^ b;
		break;
	}
	r &= mask;
	sim_flags_set(v, SIM_ARITH, f | sim_szp(r, w));
	return r;
}

/* INC / DEC: ADD / SUB 1 that leave CF alone. */
static SIM_INLINE unsigned
sim_incdec(struct sim_vcpu *v, unsigned a, int dec, unsigned w)
{
	uint64_t cf = v->sv_rflags & SIM_CF;
	unsigned r = sim_alu(v, dec ? SIM_SUB : SIM_ADD, a, 1, w);

	v->sv_rflags = (v->sv_rflags & ~(uint64_t)SIM_CF) | cf;
	return r;
}

/* Jcc / LOOPcc condition cc (the low nibble of the opcode). */
static SIM_INLINE int
sim_cond(uint64_t f, unsigned cc)
{
	int r;

	switch (cc >> 1) {
	case 0:
		r = (f & SIM_OF) != 0;
		break;
	case 1:
		r = (f & SIM_CF) != 0;
		break;
	case 2:
		r = (f & SIM_ZF) != 0;
		break;
	case 3:
		r = (f & (SIM_CF | SIM_ZF)) != 0;
		break;
	case 4:
		r = (f & SIM_SF) != 0;
		break;
	case 5:
		r = (f & SIM_PF) != 0;
		break;
	case 6:
		r = !(f & SIM_SF) != !(f & SIM_OF);
		break;
	default:
		r = (f & SIM_ZF) || !(f & SIM_SF) != !(f & SIM_OF);
		break;
	}
	return r ^ (int)(cc & 1);
}

/* POPF / IRET: the 16 bits real mode lets a program write. */
static SIM_INLINE void
sim_flags16_load(struct sim_vcpu *v, unsigned val)
{
	v->sv_rflags = (v->sv_rflags & ~(uint64_t)0xffff) |
		       (val & SIM_FLAGS16_WRITABLE) | SIM_FLAGS_FIXED;
	/* IF may have opened, TF may trap: look before the next one. */
	v->sv_attn = 1;
}

/* ---- interrupts ---- */

/*
 * Delivers vector through the IVT, returning to the current ip.  -1 when
 * the IDT limit turns it into a shutdown (#GP, then #DF, did not fit).
 */
static int
sim_deliver(struct sim_vcpu *v, struct sim_mem *m, unsigned vector)
{
	uint32_t ent;

	while ((uint64_t)vector * 4 + 3 > v->sv_idtr.dt_limit) {
		if (vector == SIM_VEC_DF)
			return -1;
		vector = vector == SIM_VEC_GP ? SIM_VEC_DF : SIM_VEC_GP;
	}
	sim_push(v, m, (unsigned)(v->sv_rflags & 0xffff));
	sim_push(v, m, v->sv_sregs[VMM_CS].sg_selector);
	sim_push(v, m, (unsigned)(v->sv_rip & 0xffff));
	v->sv_rflags &= ~(uint64_t)(SIM_IF | SIM_TF | SIM_AC);
	ent = (uint32_t)(v->sv_idtr.dt_base + vector * 4);
	v->sv_rip = sim_rd16(v, m, ent);
	sim_seg_load(v, VMM_CS, (uint16_t)sim_rd16(v, m, ent + 2));
	return 0;
}

/* ---- exits ---- */

static int
sim_exit_unsupported(struct sim_vcpu *v, struct vmm_exit *ex, uint16_t ip,
		     unsigned byte, unsigned opcode)
{
	ex->ex_kind = VMM_EXIT_UNSUPPORTED;
	ex->ex_hw_reason = opcode;
	snprintf(ex->ex_text, sizeof(ex->ex_text),
		 "unsupported instruction 0x%02x at %04x:%04x", byte & 0xff,
		 v->sv_sregs[VMM_CS].sg_selector, ip);
	return 1;
}

static int
sim_exit_io(struct sim_vcpu *v, struct vmm_exit *ex, uint16_t port,
	    unsigned size, int in, uint32_t count)
{
	ex->ex_kind = VMM_EXIT_IO;
	ex->ex_io.io_port = port;
	ex->ex_io.io_size = (uint8_t)size;
	ex->ex_io.io_in = (uint8_t)in;
	ex->ex_io.io_count = count;
	ex->ex_io.io_data = v->sv_io;
	return 1;
}

static int
sim_exit_shutdown(struct vmm_exit *ex)
{
	ex->ex_kind = VMM_EXIT_SHUTDOWN;
	snprintf(ex->ex_text, sizeof(ex->ex_text), "triple fault");
	return 1;
}

static void
sim_exit_kicked(struct vmm_exit *ex, const char *why)
{
	ex->ex_kind = VMM_EXIT_KICKED;
	snprintf(ex->ex_text, sizeof(ex->ex_text), "%s", why);
}

/* ---- port input, completed by the next run ---- */

static int
sim_in_start(struct sim_vcpu *v, struct vmm_exit *ex, uint16_t ip,
	     uint16_t next, uint16_t port, unsigned size, enum sim_pend kind,
	     int rep, uint32_t count)
{
	memset(v->sv_io, 0xff, (size_t)size * count);
	v->sv_pend = kind;
	v->sv_pend_next = next;
	v->sv_pend_size = (uint8_t)size;
	v->sv_pend_rep = (uint8_t)rep;
	v->sv_pend_count = count;
	v->sv_rip = ip;
	return sim_exit_io(v, ex, port, size, 1, count);
}

/* Writes what the runner put in sv_io where the IN / INS wanted it. */
static void
sim_in_complete(struct sim_vcpu *v, struct sim_mem *m)
{
	unsigned size = v->sv_pend_size, w = size == 2;
	int delta = v->sv_rflags & SIM_DF ? -(int)size : (int)size;
	uint32_t i;

	if (v->sv_pend == SIM_PEND_IN && size == 4) {
		v->sv_gpr[SIM_AX].d[0] = (uint32_t)sim_le16(v->sv_io) |
					 (uint32_t)sim_le16(v->sv_io + 2) << 16;
		v->sv_rip = v->sv_pend_next;
	} else if (v->sv_pend == SIM_PEND_IN) {
		sim_reg_put(v, SIM_AX, w, w ? sim_le16(v->sv_io) : v->sv_io[0]);
		v->sv_rip = v->sv_pend_next;
	} else {
		for (i = 0; i < v->sv_pend_count; i++) {
			const uint8_t *d = v->sv_io + (size_t)i * size;

			sim_write_slow(v, m, sim_lin(v, VMM_ES, R16(SIM_DI)),
				       size, w ? sim_le16(d) : d[0], 0);
			R16(SIM_DI) = (uint16_t)(R16(SIM_DI) + delta);
		}
		if (v->sv_pend_rep)
			R16(SIM_CX) =
			    (uint16_t)(R16(SIM_CX) - v->sv_pend_count);
		if (!v->sv_pend_rep || R16(SIM_CX) == 0)
			v->sv_rip = v->sv_pend_next;
	}
	v->sv_pend = SIM_PEND_NONE;
}

/* ---- string instructions ---- */

/* movs, stos, lods (op a4-a5, aa-ad); count iterations. */
static void
sim_string(struct sim_vcpu *v, struct sim_mem *m, unsigned op, int seg,
	   uint32_t count)
{
	unsigned w = op & 1, src = seg >= 0 ? (unsigned)seg : VMM_DS;
	int delta = v->sv_rflags & SIM_DF ? -(int)(1 + w) : (int)(1 + w);
	unsigned val;

	for (; count > 0; count--) {
		switch (op & ~1u) {
		case 0xa4: /* movs */
			val = sim_rd(v, m, sim_lin(v, src, R16(SIM_SI)), w);
			sim_wr(v, m, sim_lin(v, VMM_ES, R16(SIM_DI)), w, val);
			R16(SIM_SI) = (uint16_t)(R16(SIM_SI) + delta);
			R16(SIM_DI) = (uint16_t)(R16(SIM_DI) + delta);
			break;
		case 0xaa: /* stos */
			sim_wr(v, m, sim_lin(v, VMM_ES, R16(SIM_DI)), w,
			       sim_reg_get(v, SIM_AX, w));
			R16(SIM_DI) = (uint16_t)(R16(SIM_DI) + delta);
			break;
		default: /* lods */
			val = sim_rd(v, m, sim_lin(v, src, R16(SIM_SI)), w);
			sim_reg_put(v, SIM_AX, w, val);
			R16(SIM_SI) = (uint16_t)(R16(SIM_SI) + delta);
			break;
		}
	}
}

/* ---- instruction length, for fetches near the end of RAM ---- */

static int
sim_is_prefix(unsigned b)
{
	switch (b) {
	case 0x26:
	case 0x2e:
	case 0x36:
	case 0x3e:
	case 0x64:
	case 0x65:
	case 0xf2:
	case 0xf3:
		return 1;
	}
	return 0;
}

/*
 * The length of the instruction at b (SIM_FETCH_MAX readable bytes) as
 * far as the subset goes; for anything outside it, up to its opcode
 * (that is all the decoder reads before refusing it).
 */
static unsigned
sim_length(const uint8_t *b)
{
	unsigned n = 0, op, modrm = 0, imm = 0, mod, rm, o32 = 0;

	while (n < SIM_MAX_PREFIXES && (sim_is_prefix(b[n]) || b[n] == 0x66))
		o32 |= b[n++] == 0x66;
	op = b[n++];
	if (o32 && op >= 0xb8 && op <= 0xbf)
		return n + 4;
	if (op == 0x0f)
		return b[n] >= 0x80 && b[n] <= 0x8f ? n + 3 : n + 1;
	if (op < 0x40) {
		switch (op & 7) {
		case 0:
		case 1:
		case 2:
		case 3:
			modrm = 1;
			break;
		case 4:
			imm = 1;
			break;
		case 5:
			imm = 2;
			break;
		}
	} else if (op >= 0x70 && op <= 0x7f) {
		imm = 1;
	} else if (op >= 0x80 && op <= 0x8f) {
		modrm = 1;
		imm = op == 0x81 ? 2 : op <= 0x83 ? 1 : 0;
	} else if (op >= 0xb0 && op <= 0xbf) {
		imm = op < 0xb8 ? 1 : 2;
	} else if (op >= 0xe0 && op <= 0xe7) {
		imm = 1;
	} else {
		switch (op) {
		case 0x68:
		case 0xa0:
		case 0xa1:
		case 0xa2:
		case 0xa3:
		case 0xa9:
		case 0xc2:
		case 0xca:
		case 0xe8:
		case 0xe9:
			imm = 2;
			break;
		case 0x6a:
		case 0xa8:
		case 0xcd:
		case 0xeb:
			imm = 1;
			break;
		case 0x9a:
		case 0xea:
			imm = 4;
			break;
		case 0xc6:
			modrm = 1;
			imm = 1;
			break;
		case 0xc7:
			modrm = 1;
			imm = 2;
			break;
		case 0xf6:
		case 0xf7:
			modrm = 1;
			if (((b[n] >> 3) & 7) == 0)
				imm = op == 0xf6 ? 1 : 2;
			break;
		case 0xfe:
		case 0xff:
			modrm = 1;
			break;
		}
	}
	if (modrm) {
		mod = b[n] >> 6;
		rm = b[n] & 7;
		n++;
		if (mod == 1)
			n += 1;
		else if (mod == 2 || (mod == 0 && rm == 6))
			n += 2;
	}
	return n + imm;
}

/*
 * Copies the instruction at cs:ip into buf byte by byte (ip wrapping at
 * 64 KiB), up to the end of RAM.  0 when all of it is in RAM; otherwise
 * fills an INTERNAL exit and returns 1.
 */
static int
sim_fetch_slow(struct sim_vcpu *v, struct sim_mem *m, uint16_t ip, uint8_t *buf,
	       struct vmm_exit *ex)
{
	unsigned i, avail = SIM_FETCH_MAX;
	uint32_t lin = 0;

	memset(buf, 0, SIM_FETCH_MAX);
	for (i = 0; i < SIM_FETCH_MAX; i++) {
		lin = sim_lin(v, VMM_CS, (uint16_t)(ip + i));
		if (lin >= m->sm_size) {
			avail = i;
			break;
		}
		buf[i] = m->sm_ram[lin];
	}
	if (avail == SIM_FETCH_MAX || (avail > 0 && sim_length(buf) <= avail))
		return 0;
	ex->ex_kind = VMM_EXIT_INTERNAL;
	snprintf(ex->ex_text, sizeof(ex->ex_text),
		 "instruction fetch outside guest RAM at %04x:%04x (linear "
		 "0x%llx, RAM ends at 0x%llx)",
		 v->sv_sregs[VMM_CS].sg_selector, ip, (unsigned long long)lin,
		 (unsigned long long)m->sm_size);
	return 1;
}

/* ---- one instruction ---- */

#define NEXT ((uint16_t)(ip + (p - start)))
#define IMM8() (*p++)
#define IMM16() (p += 2, sim_le16(p - 2))

/*
 * An instruction with the operand-size prefix (66): the few forms of the
 * subset's header, op the opcode after the prefixes and p past it.
 * Out of line: the hot loop never sees 32-bit operands otherwise.
 */
static int
sim_step_o32(struct sim_vcpu *v, struct sim_mem *m, struct vmm_exit *ex,
	     unsigned op, const uint8_t *p, const uint8_t *start, uint16_t ip,
	     int seg)
{
	struct sim_opnd o;
	unsigned reg, port;
	uint32_t val;

	switch (op) {
	case 0x89: /* mov r/m32, r32 */
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		val = v->sv_gpr[reg].d[0];
		if (o.or_reg >= 0)
			v->sv_gpr[o.or_reg].d[0] = val;
		else
			sim_write_slow(v, m, o.or_lin, 4, val, 1);
		break;
	case 0x8b: /* mov r32, r/m32 */
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		if (o.or_reg >= 0)
			val = v->sv_gpr[o.or_reg].d[0];
		else
			val = sim_read_slow(v, m, o.or_lin, 4, 1);
		v->sv_gpr[reg].d[0] = val;
		break;
	case 0xa1: /* mov eax, moffs32 */
	case 0xa3: /* mov moffs32, eax */
		val = sim_le16(p);
		p += 2;
		val = sim_lin(v, seg >= 0 ? (unsigned)seg : VMM_DS,
			      (uint16_t)val);
		if (op == 0xa1)
			v->sv_gpr[SIM_AX].d[0] = sim_read_slow(v, m, val, 4, 1);
		else
			sim_write_slow(v, m, val, 4, v->sv_gpr[SIM_AX].d[0], 1);
		break;
	case 0xb8: /* mov r32, imm32 */
	case 0xb9:
	case 0xba:
	case 0xbb:
	case 0xbc:
	case 0xbd:
	case 0xbe:
	case 0xbf:
		v->sv_gpr[op & 7].d[0] =
		    (uint32_t)sim_le16(p) | (uint32_t)sim_le16(p + 2) << 16;
		p += 4;
		break;
	case 0xe5: /* in eax, imm8 */
	case 0xed: /* in eax, dx */
		port = op == 0xe5 ? *p++ : R16(SIM_DX);
		return sim_in_start(v, ex, ip, NEXT, (uint16_t)port, 4,
				    SIM_PEND_IN, 0, 1);
	case 0xe7: /* out imm8, eax */
	case 0xef: /* out dx, eax */
		port = op == 0xe7 ? *p++ : R16(SIM_DX);
		val = v->sv_gpr[SIM_AX].d[0];
		v->sv_io[0] = (uint8_t)val;
		v->sv_io[1] = (uint8_t)(val >> 8);
		v->sv_io[2] = (uint8_t)(val >> 16);
		v->sv_io[3] = (uint8_t)(val >> 24);
		v->sv_rip = NEXT;
		return sim_exit_io(v, ex, (uint16_t)port, 4, 0, 1);
	default:
		return sim_exit_unsupported(v, ex, ip, 0x66, 0x6600 | op);
	}
	v->sv_rip = NEXT;
	return 0;
}

/*
 * Executes the instruction at cs:ip.  0: done, go on; 1: ex is filled
 * (the instruction exited, or could not be executed).
 */
static SIM_INLINE int
sim_step(struct sim_vcpu *v, struct sim_mem *m, struct vmm_exit *ex)
{
	uint8_t buf[SIM_FETCH_MAX];
	const uint8_t *p, *start;
	uint16_t ip = (uint16_t)v->sv_rip, port;
	uint32_t lin = sim_lin(v, VMM_CS, ip), count;
	struct sim_opnd o;
	unsigned op, w, reg, a, b, r, npfx = 0;
	int seg = -1, rep = 0, o32 = 0;

	if (SIM_LIKELY((uint64_t)lin + SIM_FETCH_MAX <= m->sm_size &&
		       ip <= 0x10000 - SIM_FETCH_MAX)) {
		p = m->sm_ram + lin;
	} else {
		if (sim_fetch_slow(v, m, ip, buf, ex))
			return 1;
		p = buf;
	}
	start = p;

	for (;;) {
		op = *p++;
		switch (op) {
		case 0x26:
			seg = VMM_ES;
			break;
		case 0x2e:
			seg = VMM_CS;
			break;
		case 0x36:
			seg = VMM_SS;
			break;
		case 0x3e:
			seg = VMM_DS;
			break;
		case 0x64:
			seg = VMM_FS;
			break;
		case 0x65:
			seg = VMM_GS;
			break;
		case 0xf2:
		case 0xf3:
			rep = 1;
			break;
		case 0x66:
			o32 = 1;
			break;
		default:
			goto decoded;
		}
		if (++npfx > SIM_MAX_PREFIXES)
			return sim_exit_unsupported(v, ex, ip, op, op);
	}
decoded:
	if (SIM_UNLIKELY(o32))
		return sim_step_o32(v, m, ex, op, p, start, ip, seg);
	w = op & 1;
	/* 00-3d: eight ALU operations (op >> 3) in six forms (op & 7). */
	if (op < 0x40 && (op & 7) < 6) {
		unsigned aop = op >> 3;

		switch (op & 7) {
		case 0: /* r/m, reg */
		case 1:
			reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
			r = sim_alu(v, aop, sim_get(v, m, &o, w),
				    sim_reg_get(v, reg, w), w);
			if (aop != SIM_CMP)
				sim_put(v, m, &o, w, r);
			break;
		case 2: /* reg, r/m */
		case 3:
			reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
			r = sim_alu(v, aop, sim_reg_get(v, reg, w),
				    sim_get(v, m, &o, w), w);
			if (aop != SIM_CMP)
				sim_reg_put(v, reg, w, r);
			break;
		case 4: /* al, imm8 */
			r = sim_alu(v, aop, R8(SIM_AX), IMM8(), 0);
			if (aop != SIM_CMP)
				R8(SIM_AX) = (uint8_t)r;
			break;
		default: /* ax, imm16 */
			b = IMM16();
			r = sim_alu(v, aop, R16(SIM_AX), b, 1);
			if (aop != SIM_CMP)
				R16(SIM_AX) = (uint16_t)r;
			break;
		}
		v->sv_rip = NEXT;
		return 0;
	}
	switch (op) {
	case 0x06: /* push es, cs, ss, ds */
	case 0x0e:
	case 0x16:
	case 0x1e:
		sim_push(v, m, v->sv_sregs[op >> 3].sg_selector);
		break;
	case 0x07: /* pop es, ss, ds */
	case 0x17:
	case 0x1f:
		sim_seg_load(v, op >> 3, (uint16_t)sim_pop(v, m));
		if (op == 0x17) {
			v->sv_shadow = 1;
			v->sv_attn = 1;
		}
		break;
	case 0x0f:
		b = *p++;
		if (b < 0x80 || b > 0x8f)
			return sim_exit_unsupported(v, ex, ip, op, 0x0f00 | b);
		a = IMM16();
		if (sim_cond(v->sv_rflags, b & 0xf)) {
			v->sv_rip = (uint16_t)(NEXT + a);
			return 0;
		}
		break;
	case 0x40: /* inc r16 */
	case 0x41:
	case 0x42:
	case 0x43:
	case 0x44:
	case 0x45:
	case 0x46:
	case 0x47:
		R16(op & 7) = (uint16_t)sim_incdec(v, R16(op & 7), 0, 1);
		break;
	case 0x48: /* dec r16 */
	case 0x49:
	case 0x4a:
	case 0x4b:
	case 0x4c:
	case 0x4d:
	case 0x4e:
	case 0x4f:
		R16(op & 7) = (uint16_t)sim_incdec(v, R16(op & 7), 1, 1);
		break;
	case 0x50: /* push r16: push sp pushes the old value (286+) */
	case 0x51:
	case 0x52:
	case 0x53:
	case 0x54:
	case 0x55:
	case 0x56:
	case 0x57:
		sim_push(v, m, R16(op & 7));
		break;
	case 0x58: /* pop r16 */
	case 0x59:
	case 0x5a:
	case 0x5b:
	case 0x5c:
	case 0x5d:
	case 0x5e:
	case 0x5f:
		a = sim_pop(v, m);
		R16(op & 7) = (uint16_t)a;
		break;
	case 0x68: /* push imm16 */
		sim_push(v, m, IMM16());
		break;
	case 0x6a: /* push simm8 */
		sim_push(v, m, (uint16_t)(int8_t)IMM8());
		break;
	case 0x6c: /* insb, insw */
	case 0x6d:
		count = 1;
		if (rep) {
			if ((count = R16(SIM_CX)) == 0)
				break;
			if (count > SIM_IOBUF / (1 + w))
				count = SIM_IOBUF / (1 + w);
		}
		return sim_in_start(v, ex, ip, NEXT, R16(SIM_DX), 1 + w,
				    SIM_PEND_INS, rep, count);
	case 0x6e: /* outsb, outsw */
	case 0x6f: {
		unsigned src = seg >= 0 ? (unsigned)seg : VMM_DS, size = 1 + w;
		int delta = v->sv_rflags & SIM_DF ? -(int)size : (int)size;
		uint32_t i;

		count = 1;
		if (rep) {
			if ((count = R16(SIM_CX)) == 0)
				break;
			if (count > SIM_IOBUF / size)
				count = SIM_IOBUF / size;
		}
		for (i = 0; i < count; i++) {
			a = sim_read_slow(v, m, sim_lin(v, src, R16(SIM_SI)),
					  size, 0);
			v->sv_io[i * size] = (uint8_t)a;
			if (w)
				v->sv_io[i * size + 1] = (uint8_t)(a >> 8);
			R16(SIM_SI) = (uint16_t)(R16(SIM_SI) + delta);
		}
		if (rep)
			R16(SIM_CX) = (uint16_t)(R16(SIM_CX) - count);
		v->sv_rip = !rep || R16(SIM_CX) == 0 ? NEXT : ip;
		return sim_exit_io(v, ex, R16(SIM_DX), size, 0, count);
	}
	case 0x70: /* jcc rel8 */
	case 0x71:
	case 0x72:
	case 0x73:
	case 0x74:
	case 0x75:
	case 0x76:
	case 0x77:
	case 0x78:
	case 0x79:
	case 0x7a:
	case 0x7b:
	case 0x7c:
	case 0x7d:
	case 0x7e:
	case 0x7f:
		a = (unsigned)(int8_t)IMM8();
		if (sim_cond(v->sv_rflags, op & 0xf)) {
			v->sv_rip = (uint16_t)(NEXT + a);
			return 0;
		}
		break;
	case 0x80: /* group 1: r/m8, imm8 */
	case 0x81: /* r/m16, imm16 */
	case 0x82: /* r/m8, imm8 (80's alias) */
	case 0x83: /* r/m16, simm8 */
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		if (op == 0x81)
			b = IMM16();
		else if (op == 0x83)
			b = (uint16_t)(int8_t)IMM8();
		else
			b = IMM8();
		r = sim_alu(v, reg, sim_get(v, m, &o, w), b, w);
		if (reg != SIM_CMP)
			sim_put(v, m, &o, w, r);
		break;
	case 0x84: /* test r/m, reg */
	case 0x85:
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		sim_alu(v, SIM_AND, sim_get(v, m, &o, w),
			sim_reg_get(v, reg, w), w);
		break;
	case 0x86: /* xchg r/m, reg */
	case 0x87:
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		a = sim_get(v, m, &o, w);
		sim_put(v, m, &o, w, sim_reg_get(v, reg, w));
		sim_reg_put(v, reg, w, a);
		break;
	case 0x88: /* mov r/m, reg */
	case 0x89:
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		sim_put(v, m, &o, w, sim_reg_get(v, reg, w));
		break;
	case 0x8a: /* mov reg, r/m */
	case 0x8b:
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		sim_reg_put(v, reg, w, sim_get(v, m, &o, w));
		break;
	case 0x8c: /* mov r/m16, sreg */
		reg = (p[0] >> 3) & 7;
		if (reg >= VMM_LDTR)
			return sim_exit_unsupported(v, ex, ip, op, op);
		sim_modrm(v, &p, seg, &o);
		sim_put(v, m, &o, 1, v->sv_sregs[reg].sg_selector);
		break;
	case 0x8d: /* lea */
		if ((p[0] >> 6) == 3)
			return sim_exit_unsupported(v, ex, ip, op, op);
		reg = (sim_modrm(v, &p, seg, &o) >> 3) & 7;
		R16(reg) = o.or_off;
		break;
	case 0x8e: /* mov sreg, r/m16 (not cs) */
		reg = (p[0] >> 3) & 7;
		if (reg == VMM_CS || reg >= VMM_LDTR)
			return sim_exit_unsupported(v, ex, ip, op, op);
		sim_modrm(v, &p, seg, &o);
		sim_seg_load(v, reg, (uint16_t)sim_get(v, m, &o, 1));
		if (reg == VMM_SS) {
			v->sv_shadow = 1;
			v->sv_attn = 1;
		}
		break;
	case 0x8f: /* pop r/m16 */
		if (((p[0] >> 3) & 7) != 0)
			return sim_exit_unsupported(v, ex, ip, op, op);
		a = sim_pop(v, m);
		sim_modrm(v, &p, seg, &o);
		sim_put(v, m, &o, 1, a);
		break;
	case 0x90: /* nop (f3 90: pause) */
		break;
	case 0x91: /* xchg ax, r16 */
	case 0x92:
	case 0x93:
	case 0x94:
	case 0x95:
	case 0x96:
	case 0x97:
		a = R16(SIM_AX);
		R16(SIM_AX) = R16(op & 7);
		R16(op & 7) = (uint16_t)a;
		break;
	case 0x98: /* cbw */
		R16(SIM_AX) = (uint16_t)(int8_t)R8(SIM_AX);
		break;
	case 0x99: /* cwd */
		R16(SIM_DX) = R16(SIM_AX) & 0x8000 ? 0xffff : 0;
		break;
	case 0x9a: /* call far ptr16:16 */
		a = IMM16();
		b = IMM16();
		sim_push(v, m, v->sv_sregs[VMM_CS].sg_selector);
		sim_push(v, m, NEXT);
		sim_seg_load(v, VMM_CS, (uint16_t)b);
		v->sv_rip = a;
		return 0;
	case 0x9c: /* pushf */
		sim_push(v, m, (unsigned)(v->sv_rflags & 0xffff));
		break;
	case 0x9d: /* popf */
		sim_flags16_load(v, sim_pop(v, m));
		break;
	case 0x9e: /* sahf */
		sim_flags_set(v, SIM_SAHF, R8(SIM_AH) & SIM_SAHF);
		break;
	case 0x9f: /* lahf */
		R8(SIM_AH) = (uint8_t)(v->sv_rflags & 0xff);
		break;
	case 0xa0: /* load al/ax from moffs */
	case 0xa1:
		a = IMM16();
		lin =
		    sim_lin(v, seg >= 0 ? (unsigned)seg : VMM_DS, (uint16_t)a);
		sim_reg_put(v, SIM_AX, w, sim_rd(v, m, lin, w));
		break;
	case 0xa2: /* store al/ax at moffs */
	case 0xa3:
		a = IMM16();
		lin =
		    sim_lin(v, seg >= 0 ? (unsigned)seg : VMM_DS, (uint16_t)a);
		sim_wr(v, m, lin, w, sim_reg_get(v, SIM_AX, w));
		break;
	case 0xa4: /* movs */
	case 0xa5:
	case 0xaa: /* stos */
	case 0xab:
	case 0xac: /* lods */
	case 0xad:
		if (rep) {
			sim_string(v, m, op, seg, R16(SIM_CX));
			R16(SIM_CX) = 0;
		} else {
			sim_string(v, m, op, seg, 1);
		}
		break;
	case 0xa8: /* test al/ax, imm */
		sim_alu(v, SIM_AND, R8(SIM_AX), IMM8(), 0);
		break;
	case 0xa9:
		b = IMM16();
		sim_alu(v, SIM_AND, R16(SIM_AX), b, 1);
		break;
	case 0xb0: /* mov r8, imm8 */
	case 0xb1:
	case 0xb2:
	case 0xb3:
	case 0xb4:
	case 0xb5:
	case 0xb6:
	case 0xb7:
		R8(op & 7) = IMM8();
		break;
	case 0xb8: /* mov r16, imm16 */
	case 0xb9:
	case 0xba:
	case 0xbb:
	case 0xbc:
	case 0xbd:
	case 0xbe:
	case 0xbf:
		R16(op & 7) = IMM16();
		break;
	case 0xc2: /* ret imm16 */
		b = IMM16();
		v->sv_rip = sim_pop(v, m);
		R16(SIM_SP) = (uint16_t)(R16(SIM_SP) + b);
		return 0;
	case 0xc3: /* ret */
		v->sv_rip = sim_pop(v, m);
		return 0;
	case 0xc6: /* mov r/m, imm */
	case 0xc7:
		if (((p[0] >> 3) & 7) != 0)
			return sim_exit_unsupported(v, ex, ip, op, op);
		sim_modrm(v, &p, seg, &o);
		sim_put(v, m, &o, w, w ? IMM16() : IMM8());
		break;
	case 0xca: /* retf imm16 */
	case 0xcb: /* retf */
		b = op == 0xca ? IMM16() : 0;
		a = sim_pop(v, m);
		sim_seg_load(v, VMM_CS, (uint16_t)sim_pop(v, m));
		R16(SIM_SP) = (uint16_t)(R16(SIM_SP) + b);
		v->sv_rip = a;
		return 0;
	case 0xcc: /* int3 */
	case 0xcd: /* int n */
		a = op == 0xcc ? SIM_VEC_BP : IMM8();
		v->sv_rip = NEXT;
		if (sim_deliver(v, m, a) != 0)
			return sim_exit_shutdown(ex);
		return 0;
	case 0xcf: /* iret */
		a = sim_pop(v, m);
		sim_seg_load(v, VMM_CS, (uint16_t)sim_pop(v, m));
		sim_flags16_load(v, sim_pop(v, m));
		v->sv_nmi_blocked = 0;
		v->sv_rip = a;
		return 0;
	case 0xe0: /* loopne, loope, loop */
	case 0xe1:
	case 0xe2:
		a = (unsigned)(int8_t)IMM8();
		R16(SIM_CX)--;
		if (R16(SIM_CX) != 0 &&
		    (op == 0xe2 || !(v->sv_rflags & SIM_ZF) == (op == 0xe0))) {
			v->sv_rip = (uint16_t)(NEXT + a);
			return 0;
		}
		break;
	case 0xe3: /* jcxz */
		a = (unsigned)(int8_t)IMM8();
		if (R16(SIM_CX) == 0) {
			v->sv_rip = (uint16_t)(NEXT + a);
			return 0;
		}
		break;
	case 0xe4: /* in al/ax, imm8 */
	case 0xe5:
		port = IMM8();
		return sim_in_start(v, ex, ip, NEXT, port, 1 + w, SIM_PEND_IN,
				    0, 1);
	case 0xec: /* in al/ax, dx */
	case 0xed:
		return sim_in_start(v, ex, ip, NEXT, R16(SIM_DX), 1 + w,
				    SIM_PEND_IN, 0, 1);
	case 0xe6: /* out imm8, al/ax */
	case 0xe7:
	case 0xee: /* out dx, al/ax */
	case 0xef:
		port = op < 0xe8 ? IMM8() : R16(SIM_DX);
		v->sv_io[0] = R8(SIM_AX);
		v->sv_io[1] = R8(SIM_AH);
		v->sv_rip = NEXT;
		return sim_exit_io(v, ex, port, 1 + w, 0, 1);
	case 0xe8: /* call rel16 */
		a = IMM16();
		sim_push(v, m, NEXT);
		v->sv_rip = (uint16_t)(NEXT + a);
		return 0;
	case 0xe9: /* jmp rel16 */
		a = IMM16();
		v->sv_rip = (uint16_t)(NEXT + a);
		return 0;
	case 0xea: /* jmp far ptr16:16 */
		a = IMM16();
		b = IMM16();
		sim_seg_load(v, VMM_CS, (uint16_t)b);
		v->sv_rip = a;
		return 0;
	case 0xeb: /* jmp rel8 */
		a = (unsigned)(int8_t)IMM8();
		v->sv_rip = (uint16_t)(NEXT + a);
		return 0;
	case 0xf4: /* hlt */
		v->sv_rip = NEXT;
		ex->ex_kind = VMM_EXIT_HLT;
		return 1;
	case 0xf5: /* cmc */
		v->sv_rflags ^= SIM_CF;
		break;
	case 0xf6: /* group 3 */
	case 0xf7:
		reg = (p[0] >> 3) & 7;
		/* /1 is an undocumented alias of /0; /4-/7 mul and div. */
		if (reg == 1 || reg > 3)
			return sim_exit_unsupported(v, ex, ip, op, op);
		sim_modrm(v, &p, seg, &o);
		a = sim_get(v, m, &o, w);
		switch (reg) {
		case 0: /* test r/m, imm */
			b = w ? IMM16() : IMM8();
			sim_alu(v, SIM_AND, a, b, w);
			break;
		case 2: /* not */
			sim_put(v, m, &o, w, ~a);
			break;
		default: /* neg */
			r = sim_alu(v, SIM_SUB, 0, a, w);
			sim_put(v, m, &o, w, r);
			break;
		}
		break;
	case 0xf8: /* clc */
		v->sv_rflags &= ~(uint64_t)SIM_CF;
		break;
	case 0xf9: /* stc */
		v->sv_rflags |= SIM_CF;
		break;
	case 0xfa: /* cli */
		v->sv_rflags &= ~(uint64_t)SIM_IF;
		break;
	case 0xfb: /* sti: the next boundary takes no interrupt */
		if (!(v->sv_rflags & SIM_IF))
			v->sv_shadow = 1;
		v->sv_rflags |= SIM_IF;
		v->sv_attn = 1;
		break;
	case 0xfc: /* cld */
		v->sv_rflags &= ~(uint64_t)SIM_DF;
		break;
	case 0xfd: /* std */
		v->sv_rflags |= SIM_DF;
		break;
	case 0xfe: /* group 4: inc, dec r/m8 */
		reg = (p[0] >> 3) & 7;
		if (reg > 1)
			return sim_exit_unsupported(v, ex, ip, op, op);
		sim_modrm(v, &p, seg, &o);
		sim_put(v, m, &o, 0,
			sim_incdec(v, sim_get(v, m, &o, 0), (int)reg, 0));
		break;
	case 0xff: /* group 5 */
		reg = (p[0] >> 3) & 7;
		if (reg == 7 || ((reg == 3 || reg == 5) && (p[0] >> 6) == 3))
			return sim_exit_unsupported(v, ex, ip, op, op);
		sim_modrm(v, &p, seg, &o);
		switch (reg) {
		case 0: /* inc, dec r/m16 */
		case 1:
			sim_put(
			    v, m, &o, 1,
			    sim_incdec(v, sim_get(v, m, &o, 1), (int)reg, 1));
			break;
		case 2: /* call near r/m16 */
			a = sim_get(v, m, &o, 1);
			sim_push(v, m, NEXT);
			v->sv_rip = a;
			return 0;
		case 3: /* call far m16:16 */
			a = sim_rd16(v, m, o.or_lin);
			b = sim_rd16(v, m, o.or_lin + 2);
			sim_push(v, m, v->sv_sregs[VMM_CS].sg_selector);
			sim_push(v, m, NEXT);
			sim_seg_load(v, VMM_CS, (uint16_t)b);
			v->sv_rip = a;
			return 0;
		case 4: /* jmp near r/m16 */
			v->sv_rip = sim_get(v, m, &o, 1);
			return 0;
		case 5: /* jmp far m16:16 */
			a = sim_rd16(v, m, o.or_lin);
			b = sim_rd16(v, m, o.or_lin + 2);
			sim_seg_load(v, VMM_CS, (uint16_t)b);
			v->sv_rip = a;
			return 0;
		default: /* push r/m16 */
			sim_push(v, m, sim_get(v, m, &o, 1));
			break;
		}
		break;
	default:
		return sim_exit_unsupported(v, ex, ip, op, op);
	}
	v->sv_rip = NEXT;
	return 0;
}

/* ---- between instructions ---- */

static SIM_INLINE int
sim_if_open(const struct sim_vcpu *v)
{
	return (v->sv_rflags & SIM_IF) != 0;
}

/*
 * What happens at an instruction boundary when sv_attn or the kick flag
 * is set: an MMIO report, a kick, a trap, an interrupt, the interrupt
 * window.  1 when ex is filled.
 */
static int
sim_attn(struct sim_vcpu *v, struct sim_mem *m, struct vmm_exit *ex)
{
	int rc = 0;

	if (v->sv_mmio) {
		v->sv_mmio = 0;
		ex->ex_kind = VMM_EXIT_MMIO;
		ex->ex_mmio.mm_gpa = v->sv_mmio_gpa;
		ex->ex_mmio.mm_len = v->sv_mmio_len;
		ex->ex_mmio.mm_write = v->sv_mmio_write;
		memcpy(ex->ex_mmio.mm_data, v->sv_mmio_data,
		       sizeof(ex->ex_mmio.mm_data));
		return 1;
	}
	if (__atomic_exchange_n(&v->sv_kick, 0, __ATOMIC_ACQ_REL)) {
		sim_exit_kicked(ex, "kicked");
		return 1;
	}
	/* One event per boundary, the CPU's priorities: the single-step
	 * trap, then (unless shadowed) NMI, then an external interrupt. */
	if (v->sv_trap) {
		v->sv_trap = 0;
		rc = sim_deliver(v, m, SIM_VEC_DB);
	} else if (v->sv_shadow) {
		v->sv_shadow = 0;
	} else if (v->sv_nmi_pending && !v->sv_nmi_blocked) {
		v->sv_nmi_pending = 0;
		v->sv_nmi_blocked = 1;
		rc = sim_deliver(v, m, SIM_VEC_NMI);
	} else if (v->sv_irq_pending && sim_if_open(v)) {
		v->sv_irq_pending = 0;
		rc = sim_deliver(v, m, v->sv_irq_vector);
	} else if (v->sv_window && sim_if_open(v)) {
		v->sv_window = 0;
		sim_exit_kicked(ex, "interrupt window open");
		return 1;
	}
	if (rc != 0)
		return sim_exit_shutdown(ex);
	/* TF now: the coming instruction traps when it is done. */
	if (v->sv_rflags & SIM_TF)
		v->sv_trap = 1;
	v->sv_attn = v->sv_trap || v->sv_shadow || v->sv_mmio ||
		     (v->sv_nmi_pending && !v->sv_nmi_blocked) ||
		     ((v->sv_irq_pending || v->sv_window) && sim_if_open(v));
	return 0;
}

/*
 * Runs until an exit: the pending IN first (KVM completes it before it
 * looks at immediate_exit, and the runner relies on that), then every
 * boundary checks the kick flag and, when set, sv_attn.
 */
void
sim_decode_run(struct sim_vcpu *v, struct sim_mem *m, struct vmm_exit *ex)
{
	if (v->sv_pend != SIM_PEND_NONE)
		sim_in_complete(v, m);
	v->sv_attn = 1;
	for (;;) {
		if (SIM_UNLIKELY(
			v->sv_attn |
			__atomic_load_n(&v->sv_kick, __ATOMIC_RELAXED)) &&
		    sim_attn(v, m, ex))
			break;
		if (sim_step(v, m, ex))
			break;
	}
}
