/*
 * The runner's VMware backdoor ports (vmm-driver/runner.c, backdoor.c)
 * against a scripted backend: a fake vCPU that plays a guest's side of
 * the RPCI protocol as exits -- a 32-bit `in` on 0x5658 with the magic,
 * `rep outsb` / `rep insb` on 0x5659 split into several exits as KVM
 * splits them -- with registers the runner reads and writes, and a fake
 * store handed in as rc_guestinfo.  No hypervisor needed: what the runner
 * does between an exit and the backdoor (reading and writing registers,
 * the IN's data, string I/O counts) is what is tested.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/console.h"
#include "vmm-driver/backdoor.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

#include "tstore.h"

/* ---- the store (tests/common/tstore.h) ---- */

static struct tstore t_store = TSTORE_INITIALIZER;
static const struct backdoor_store t_bstore = {tstore_get, tstore_set,
					       &t_store};

/* ---- the scripted guest ---- */

/* One RPCI command the guest sends, and how. */
struct gcmd {
	const char *gc_text;
	int gc_hb; /* 1: rep outsb / insb on 0x5659; 0: four bytes an `in` */
};

/* What the guest saw: the test checks it afterwards. */
struct gseen {
	uint32_t gs_version_eax, gs_version_ebx;
	uint32_t gs_nomagic_eax; /* an `in` on 0x5658 without the magic */
	unsigned gs_bad_status;  /* calls whose status lacked SUCCESS */
	char gs_reply[4][128];
	size_t gs_reply_len[4];
	unsigned gs_string_exits;  /* exits of the rep outsb / insb */
	unsigned gs_hb_offered;    /* send and receive sizes offering HB */
	unsigned gs_rbp_clobbered; /* `in`s after which rbp had changed */
};

/* What a 64-bit caller keeps in rbp across its `in` (a stack address:
 * open-vm-tools' Backdoor_InOut leaves rbp to the compiler). */
#define G_RBP 0x00007ffc553f6ee0ull

/* The vCPU's privilege as the runner reads it: CR0 (PE), SS's DPL (the
 * CPL), RFLAGS (IOPL).  Zeros: real mode. */
static uint64_t g_cr0, g_rflags;
static unsigned g_cpl;

enum gphase {
	G_VERSION,
	G_NOMAGIC,
	G_OPEN,
	G_SENDSIZE,
	G_SEND,
	G_RECVSIZE,
	G_RECV,
	G_RECVSTATUS,
	G_CLOSE,
	G_EXIT,
	G_DONE,
};

/* The most bytes one string I/O exit moves here: a `rep` of more is
 * split into several exits, as KVM splits one at page boundaries. */
#define G_STRING_MAX 5

struct vmm_vm {
	pthread_mutex_t fv_lock;
	pthread_cond_t fv_cond;
	int fv_kicked;
	struct vmm_regs fv_regs; /* the vCPU's, as the runner sees them */
	uint8_t fv_io[64];
	uint8_t fv_mem[0x2000];
	/* The guest's program counter and what it keeps. */
	enum gphase fv_phase, fv_last; /* last: the exit being completed */
	unsigned fv_cmd;               /* the command in flight */
	size_t fv_off, fv_len;         /* bytes sent / received so far */
	uint16_t fv_chan;
	uint32_t fv_hi, fv_lo;
	size_t fv_io_count;
};

/* The test's script and what its guest saw. */
static const struct gcmd *g_cmds;
static unsigned g_ncmds;
static struct gseen g_seen;

static uint32_t
reg32(const struct vmm_vm *vm, int r)
{
	return (uint32_t)vm->fv_regs.rg_gprs[r];
}

static void
set32(struct vmm_vm *vm, int r, uint32_t v)
{
	vm->fv_regs.rg_gprs[r] = v;
}

/* Registers of a MESSAGE call of type on the open channel. */
static void
g_message(struct vmm_vm *vm, unsigned type, uint32_t ebx)
{
	set32(vm, VMM_RAX, BACKDOOR_MAGIC);
	set32(vm, VMM_RBX, ebx);
	set32(vm, VMM_RCX, BACKDOOR_CMD_MESSAGE | type << 16);
	set32(vm, VMM_RDX, BACKDOOR_PORT | (uint32_t)vm->fv_chan << 16);
	set32(vm, VMM_RSI, vm->fv_hi);
	set32(vm, VMM_RDI, vm->fv_lo);
}

/* An `in (%dx), %eax` on 0x5658. */
static void
g_in32(struct vmm_vm *vm, struct vmm_exit *ex)
{
	ex->ex_kind = VMM_EXIT_IO;
	ex->ex_io.io_port = BACKDOOR_PORT;
	ex->ex_io.io_size = 4;
	ex->ex_io.io_in = 1;
	ex->ex_io.io_count = 1;
	vm->fv_regs.rg_gprs[VMM_RFLAGS] = g_rflags;
	vm->fv_regs.rg_gprs[VMM_RBP] = G_RBP;
	memset(vm->fv_io, 0xff, 4);
	ex->ex_io.io_data = vm->fv_io;
}

/* The next exit of a rep outsb (in 0) or insb (in 1) of the command in
 * flight: at most G_STRING_MAX bytes. */
static void
g_string(struct vmm_vm *vm, struct vmm_exit *ex, int in)
{
	const char *text = g_cmds[vm->fv_cmd].gc_text;
	size_t n = vm->fv_len - vm->fv_off;

	if (n > G_STRING_MAX)
		n = G_STRING_MAX;
	set32(vm, VMM_RAX, BACKDOOR_MAGIC);
	set32(vm, VMM_RBX, BACKDOOR_HB_CMD_MESSAGE | BACKDOOR_ST_SUCCESS << 16);
	set32(vm, VMM_RCX, (uint32_t)(vm->fv_len - vm->fv_off));
	set32(vm, VMM_RDX, BACKDOOR_PORT_HB | (uint32_t)vm->fv_chan << 16);
	if (in) {
		set32(vm, VMM_RSI, vm->fv_hi);
		set32(vm, VMM_RBP, vm->fv_lo);
		memset(vm->fv_io, 0xff, n);
	} else {
		set32(vm, VMM_RBP, vm->fv_hi);
		set32(vm, VMM_RDI, vm->fv_lo);
		memcpy(vm->fv_io, text + vm->fv_off, n);
	}
	ex->ex_kind = VMM_EXIT_IO;
	ex->ex_io.io_port = BACKDOOR_PORT_HB;
	ex->ex_io.io_size = 1;
	ex->ex_io.io_in = (uint8_t)in;
	ex->ex_io.io_count = (uint32_t)n;
	ex->ex_io.io_data = vm->fv_io;
	vm->fv_io_count = n;
	g_seen.gs_string_exits++;
}

/* A MESSAGE call's status: in ecx's high half (ebx's on 0x5659). */
static void
g_status(unsigned st)
{
	if (!(st & BACKDOOR_ST_SUCCESS))
		g_seen.gs_bad_status++;
}

/*
 * Completes the last exit as the CPU would (the IN's data into eax; the
 * insb's bytes into memory) and notes what the guest learnt from it.
 */
static void
g_complete(struct vmm_vm *vm)
{
	struct gseen *s = &g_seen;
	uint32_t eax = (uint32_t)vm->fv_io[0] | (uint32_t)vm->fv_io[1] << 8 |
		       (uint32_t)vm->fv_io[2] << 16 |
		       (uint32_t)vm->fv_io[3] << 24;
	int hb = vm->fv_cmd < g_ncmds && g_cmds[vm->fv_cmd].gc_hb;

	if (vm->fv_last != G_EXIT && vm->fv_last != G_DONE &&
	    !((vm->fv_last == G_SEND || vm->fv_last == G_RECV) && hb)) {
		set32(vm, VMM_RAX, eax); /* in (%dx), %eax */
		if (vm->fv_regs.rg_gprs[VMM_RBP] != G_RBP)
			s->gs_rbp_clobbered++;
	}
	switch (vm->fv_last) {
	case G_VERSION:
		s->gs_version_eax = reg32(vm, VMM_RAX);
		s->gs_version_ebx = reg32(vm, VMM_RBX);
		break;
	case G_NOMAGIC:
		s->gs_nomagic_eax = reg32(vm, VMM_RAX);
		break;
	case G_OPEN:
		g_status(reg32(vm, VMM_RCX) >> 16);
		vm->fv_chan = (uint16_t)(reg32(vm, VMM_RDX) >> 16);
		vm->fv_hi = reg32(vm, VMM_RSI);
		vm->fv_lo = reg32(vm, VMM_RDI);
		break;
	case G_SENDSIZE:
		if ((reg32(vm, VMM_RCX) >> 16) & BACKDOOR_ST_HB)
			s->gs_hb_offered++;
		g_status(reg32(vm, VMM_RCX) >> 16);
		break;
	case G_RECVSTATUS:
	case G_CLOSE:
		g_status(reg32(vm, VMM_RCX) >> 16);
		break;
	case G_SEND:
		if (hb) {
			g_status(reg32(vm, VMM_RBX) >> 16);
			vm->fv_off += vm->fv_io_count;
		} else {
			g_status(reg32(vm, VMM_RCX) >> 16);
			vm->fv_off += 4;
		}
		break;
	case G_RECVSIZE:
		if ((reg32(vm, VMM_RCX) >> 16) & BACKDOOR_ST_HB)
			s->gs_hb_offered++;
		g_status(reg32(vm, VMM_RCX) >> 16);
		vm->fv_len = reg32(vm, VMM_RBX);
		vm->fv_off = 0;
		assert_true(vm->fv_len < sizeof(s->gs_reply[0]));
		s->gs_reply_len[vm->fv_cmd] = vm->fv_len;
		break;
	case G_RECV:
		if (hb) {
			g_status(reg32(vm, VMM_RBX) >> 16);
			memcpy(s->gs_reply[vm->fv_cmd] + vm->fv_off, vm->fv_io,
			       vm->fv_io_count);
			vm->fv_off += vm->fv_io_count;
		} else {
			uint32_t w = reg32(vm, VMM_RBX);
			size_t n = vm->fv_len - vm->fv_off < 4
				       ? vm->fv_len - vm->fv_off
				       : 4;

			g_status(reg32(vm, VMM_RCX) >> 16);
			memcpy(s->gs_reply[vm->fv_cmd] + vm->fv_off, &w, n);
			vm->fv_off += n;
		}
		break;
	default:
		break;
	}
}

/* The guest's next exit; its phase moves on. */
static void
g_next(struct vmm_vm *vm, struct vmm_exit *ex)
{
	const char *text;
	uint32_t w;

	for (;;) {
		vm->fv_last = vm->fv_phase;
		switch (vm->fv_phase) {
		case G_VERSION:
			memset(&vm->fv_regs.rg_gprs, 0,
			       sizeof(vm->fv_regs.rg_gprs));
			set32(vm, VMM_RAX, BACKDOOR_MAGIC);
			set32(vm, VMM_RCX, BACKDOOR_CMD_GETVERSION);
			set32(vm, VMM_RDX, BACKDOOR_PORT);
			g_in32(vm, ex);
			vm->fv_phase = G_NOMAGIC;
			return;
		case G_NOMAGIC:
			set32(vm, VMM_RAX, 0x12345678);
			set32(vm, VMM_RCX, BACKDOOR_CMD_GETVERSION);
			g_in32(vm, ex);
			vm->fv_phase = vm->fv_cmd < g_ncmds ? G_OPEN : G_EXIT;
			return;
		case G_OPEN:
			vm->fv_chan = 0;
			vm->fv_hi = vm->fv_lo = 0;
			g_message(vm, BACKDOOR_MSG_OPEN,
				  BACKDOOR_PROTO_RPCI | BACKDOOR_FLAG_COOKIE);
			g_in32(vm, ex);
			vm->fv_phase = G_SENDSIZE;
			return;
		case G_SENDSIZE:
			vm->fv_len = strlen(g_cmds[vm->fv_cmd].gc_text);
			vm->fv_off = 0;
			g_message(vm, BACKDOOR_MSG_SENDSIZE,
				  (uint32_t)vm->fv_len);
			g_in32(vm, ex);
			vm->fv_phase = G_SEND;
			return;
		case G_SEND:
			if (vm->fv_off >= vm->fv_len) {
				vm->fv_phase = G_RECVSIZE;
				continue;
			}
			if (g_cmds[vm->fv_cmd].gc_hb) {
				g_string(vm, ex, 0);
				return;
			}
			text = g_cmds[vm->fv_cmd].gc_text;
			w = 0;
			memcpy(&w, text + vm->fv_off,
			       vm->fv_len - vm->fv_off < 4
				   ? vm->fv_len - vm->fv_off
				   : 4);
			g_message(vm, BACKDOOR_MSG_SENDPAYLOAD, w);
			g_in32(vm, ex);
			return;
		case G_RECVSIZE:
			g_message(vm, BACKDOOR_MSG_RECVSIZE, 0);
			g_in32(vm, ex);
			vm->fv_phase = G_RECV;
			return;
		case G_RECV:
			if (vm->fv_off >= vm->fv_len) {
				vm->fv_phase = G_RECVSTATUS;
				continue;
			}
			if (g_cmds[vm->fv_cmd].gc_hb) {
				g_string(vm, ex, 1);
				return;
			}
			g_message(vm, BACKDOOR_MSG_RECVPAYLOAD,
				  BACKDOOR_ST_SUCCESS);
			g_in32(vm, ex);
			return;
		case G_RECVSTATUS:
			g_message(vm, BACKDOOR_MSG_RECVSTATUS,
				  BACKDOOR_ST_SUCCESS);
			g_in32(vm, ex);
			vm->fv_phase = G_CLOSE;
			return;
		case G_CLOSE:
			g_message(vm, BACKDOOR_MSG_CLOSE, 0);
			g_in32(vm, ex);
			vm->fv_phase = G_OPEN;
			if (++vm->fv_cmd == g_ncmds)
				vm->fv_phase = G_EXIT;
			return;
		case G_EXIT:
			ex->ex_kind = VMM_EXIT_IO;
			ex->ex_io.io_port = 0x501;
			ex->ex_io.io_size = 1;
			ex->ex_io.io_count = 1;
			vm->fv_io[0] = 0;
			ex->ex_io.io_data = vm->fv_io;
			vm->fv_phase = G_DONE;
			return;
		case G_DONE:
			ex->ex_kind = VMM_EXIT_KICKED;
			return;
		}
	}
}

/* ---- the scripted backend ---- */

static int
fake_vm_create(const struct vmm_create_params *cp, struct vmm_vm **out)
{
	struct vmm_vm *vm = calloc(1, sizeof(*vm));

	if (vm == NULL || cp->cp_memory > sizeof(vm->fv_mem)) {
		free(vm);
		errno = vm == NULL ? ENOMEM : EINVAL;
		return -1;
	}
	pthread_mutex_init(&vm->fv_lock, NULL);
	pthread_cond_init(&vm->fv_cond, NULL);
	vm->fv_last = G_DONE;
	vm->fv_regs.rg_crs[VMM_CR0] = g_cr0;
	vm->fv_regs.rg_sregs[VMM_SS].sg_ar = 0x93 | g_cpl << 5;
	*out = vm;
	return 0;
}

static void
fake_vm_destroy(struct vmm_vm *vm)
{
	pthread_cond_destroy(&vm->fv_cond);
	pthread_mutex_destroy(&vm->fv_lock);
	free(vm);
}

static uint8_t *
fake_vm_memory(struct vmm_vm *vm, uint64_t *size)
{
	*size = sizeof(vm->fv_mem);
	return vm->fv_mem;
}

static int
fake_vcpu_run(struct vmm_vm *vm, unsigned id, struct vmm_exit *ex)
{
	memset(ex, 0, sizeof(*ex));
	pthread_mutex_lock(&vm->fv_lock);
	if (id == 0 && vm->fv_phase != G_DONE) {
		g_complete(vm);
		g_next(vm, ex);
		if (ex->ex_kind != VMM_EXIT_KICKED) {
			pthread_mutex_unlock(&vm->fv_lock);
			return 0;
		}
	}
	/* Past the script (and other vCPUs): spins until kicked. */
	while (!vm->fv_kicked)
		pthread_cond_wait(&vm->fv_cond, &vm->fv_lock);
	vm->fv_kicked = 0;
	pthread_mutex_unlock(&vm->fv_lock);
	ex->ex_kind = VMM_EXIT_KICKED;
	return 0;
}

static int
fake_vcpu_kick(struct vmm_vm *vm, unsigned id)
{
	(void)id;
	pthread_mutex_lock(&vm->fv_lock);
	vm->fv_kicked = 1;
	pthread_cond_broadcast(&vm->fv_cond);
	pthread_mutex_unlock(&vm->fv_lock);
	return 0;
}

static int
fake_vcpu_reset(struct vmm_vm *vm, unsigned id, const struct vmm_regs *regs,
		unsigned groups)
{
	(void)vm;
	(void)id;
	(void)regs;
	(void)groups;
	return 0;
}

static int
fake_vcpu_get_regs(struct vmm_vm *vm, unsigned id, struct vmm_regs *regs,
		   unsigned groups)
{
	(void)id;
	(void)groups;
	pthread_mutex_lock(&vm->fv_lock);
	*regs = vm->fv_regs;
	pthread_mutex_unlock(&vm->fv_lock);
	return 0;
}

static int
fake_vcpu_set_regs(struct vmm_vm *vm, unsigned id, const struct vmm_regs *regs,
		   unsigned groups)
{
	(void)id;
	assert_true(groups & VMM_REGS_GPRS);
	pthread_mutex_lock(&vm->fv_lock);
	memcpy(vm->fv_regs.rg_gprs, regs->rg_gprs, sizeof(regs->rg_gprs));
	pthread_mutex_unlock(&vm->fv_lock);
	return 0;
}

static int
fake_vcpu_interrupt(struct vmm_vm *vm, unsigned id, enum vmm_intr_type type,
		    unsigned vector)
{
	(void)vm;
	(void)id;
	(void)type;
	(void)vector;
	return 0;
}

/* vo_backdoor_any_cpl's answer, when the case sets it in fake_ops. */
static int
fake_backdoor_any_cpl(void)
{
	return 1;
}

static struct vmm_ops fake_ops = {
    .vo_name = "scripted",
    .vo_vm_create = fake_vm_create,
    .vo_vm_destroy = fake_vm_destroy,
    .vo_vm_memory = fake_vm_memory,
    .vo_vcpu_run = fake_vcpu_run,
    .vo_vcpu_kick = fake_vcpu_kick,
    .vo_vcpu_reset = fake_vcpu_reset,
    .vo_vcpu_get_regs = fake_vcpu_get_regs,
    .vo_vcpu_set_regs = fake_vcpu_set_regs,
    .vo_vcpu_interrupt = fake_vcpu_interrupt,
};

/* ---- one run ---- */

struct trun {
	pthread_mutex_t tr_lock;
	pthread_cond_t tr_cond;
	int tr_exits;
	struct runner_exit tr_exit;
};

static void
trun_on_exit(void *cls, const struct runner_exit *ex)
{
	struct trun *t = cls;

	pthread_mutex_lock(&t->tr_lock);
	t->tr_exits++;
	t->tr_exit = *ex;
	pthread_cond_broadcast(&t->tr_cond);
	pthread_mutex_unlock(&t->tr_lock);
}

/* Runs the script cmds (n of them) to its end; store: rc_guestinfo. */
static void
trun(const struct gcmd *cmds, unsigned n, const struct backdoor_store *store,
     struct runner_exit *out)
{
	static const uint8_t image[] = {0xeb, 0xfe};
	struct runner_config cfg;
	struct console *con = console_new(4096, 64);
	struct runner *r;
	struct timespec ts;
	struct trun t;

	assert_non_null(con);
	memset(&t, 0, sizeof(t));
	pthread_mutex_init(&t.tr_lock, NULL);
	pthread_cond_init(&t.tr_cond, NULL);
	g_cmds = cmds;
	g_ncmds = n;
	memset(&g_seen, 0, sizeof(g_seen));
	memset(&cfg, 0, sizeof(cfg));
	cfg.rc_ops = &fake_ops;
	cfg.rc_name = "scripted";
	cfg.rc_vcpus = 1;
	cfg.rc_memory = 0x2000;
	cfg.rc_image = image;
	cfg.rc_image_len = sizeof(image);
	cfg.rc_load_address = 0x1000;
	cfg.rc_entry = 0x1000;
	cfg.rc_console = con;
	cfg.rc_on_exit = trun_on_exit;
	cfg.rc_cls = &t;
	cfg.rc_guestinfo = store;
	assert_int_equal(runner_start(&cfg, &r), 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	pthread_mutex_lock(&t.tr_lock);
	while (t.tr_exits == 0)
		if (pthread_cond_timedwait(&t.tr_cond, &t.tr_lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&t.tr_lock);
	if (t.tr_exits == 0)
		runner_stop(r, 0, 1);
	assert_int_equal(t.tr_exits, 1);
	*out = t.tr_exit;
	runner_free(r);
	console_free(con);
	pthread_cond_destroy(&t.tr_cond);
	pthread_mutex_destroy(&t.tr_lock);
}

/* ---- cases ---- */

static int
teardown(void **state)
{
	(void)state;
	tstore_clear(&t_store);
	fake_ops.vo_backdoor_any_cpl = NULL;
	g_cr0 = g_rflags = 0;
	g_cpl = 0;
	return 0;
}

/* The runner answers a guest through rc_guestinfo on both paths: an
 * info-set four bytes an `in`, then info-gets by string I/O split into
 * exits of G_STRING_MAX bytes. */
static void
test_runner_backdoor__answers_through_rc_guestinfo(void **state)
{
	static const struct gcmd cmds[] = {
	    {"info-set guestinfo.fromscript hello world", 0},
	    {"info-get guestinfo.fromscript", 1},
	    {"info-get guestinfo.fromscript", 0},
	    {"info-get guestinfo.nope", 1},
	};
	struct runner_exit ex;

	(void)state;
	trun(cmds, 4, &t_bstore, &ex);
	assert_int_equal(ex.re_state, RUNNER_STOPPED);
	assert_string_equal(ex.re_reason, "debug-exit port");
	assert_int_equal(g_seen.gs_version_eax, BACKDOOR_VERSION);
	assert_int_equal(g_seen.gs_version_ebx, BACKDOOR_MAGIC);
	/* No magic: the port is like any other unknown one. */
	assert_int_equal(g_seen.gs_nomagic_eax, 0xffffffffu);
	assert_int_equal(g_seen.gs_bad_status, 0);
	/* Registers the backdoor does not answer in keep all 64 bits. */
	assert_int_equal(g_seen.gs_rbp_clobbered, 0);
	assert_int_equal(g_seen.gs_reply_len[0], 2);
	assert_string_equal(g_seen.gs_reply[0], "1 ");
	assert_string_equal(g_seen.gs_reply[1], "1 hello world");
	assert_string_equal(g_seen.gs_reply[2], "1 hello world");
	assert_string_equal(g_seen.gs_reply[3], "0 No value found");
	/* The outsbs of 29 and 23 bytes and the insbs of 13 and 16 bytes,
	 * each in exits of G_STRING_MAX bytes at most. */
	assert_int_equal(g_seen.gs_string_exits, 6 + 3 + 5 + 4);
	assert_int_equal(t_store.ts_sets, 1);
	assert_int_equal(t_store.ts_gets, 3);
	assert_int_equal(tstore_find(&t_store, "fromscript"), 0);
	assert_string_equal(t_store.ts_val[0], "hello world");
}

/* Without rc_guestinfo the ports are unknown ones: GETVERSION reads
 * all-ones, an open fails, and the store is never asked. */
static void
test_runner_backdoor__without_rc_guestinfo_the_ports_are_unknown(void **state)
{
	static const struct gcmd cmds[] = {{"info-get guestinfo.k", 0}};
	struct runner_exit ex;

	(void)state;
	trun(cmds, 1, NULL, &ex);
	assert_string_equal(ex.re_reason, "debug-exit port");
	assert_int_equal(g_seen.gs_version_eax, 0xffffffffu);
	assert_int_not_equal(g_seen.gs_bad_status, 0);
	assert_int_equal(t_store.ts_gets + t_store.ts_sets, 0);
}

/*
 * The high-bandwidth path is offered (at send size and receive size) to
 * a caller that can use port 0x5659 and to no other: real mode, CPL 0,
 * CPL <= IOPL, or a backend that passes the ports at any privilege (KVM
 * with enable_vmware_backdoor); not a process that reached 0x5658
 * through the I/O permission bitmap alone.  Either way the guest gets its
 * answers on the low-bandwidth path.
 */
static void
test_runner_backdoor__hb_is_offered_only_to_a_caller_that_can_use_it(
    void **state)
{
	static const struct gcmd cmds[] = {{"info-get guestinfo.k", 0}};
	static const struct {
		uint64_t cr0;
		unsigned cpl, iopl;
		int any_cpl, offered;
		const char *what;
	} c[] = {
	    {0, 0, 0, 0, 2, "real mode"},
	    {1, 0, 0, 0, 2, "CPL 0"},
	    {1, 3, 0, 0, 0, "CPL 3, IOPL 0: the bitmap's grant"},
	    {1, 3, 3, 0, 2, "CPL 3, IOPL 3"},
	    {1, 3, 0, 1, 2, "CPL 3, IOPL 0, any CPL passes"},
	};
	struct runner_exit ex;
	size_t i;

	(void)state;
	assert_int_equal(tstore_set(&t_store, "k", "v", 1), 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		g_cr0 = c[i].cr0;
		g_cpl = c[i].cpl;
		g_rflags = 0x2 | (uint64_t)c[i].iopl << 12;
		fake_ops.vo_backdoor_any_cpl =
		    c[i].any_cpl ? fake_backdoor_any_cpl : NULL;
		trun(cmds, 1, &t_bstore, &ex);
		print_message("%s: HB offered %u times\n", c[i].what,
			      g_seen.gs_hb_offered);
		assert_string_equal(ex.re_reason, "debug-exit port");
		assert_int_equal(g_seen.gs_bad_status, 0);
		assert_string_equal(g_seen.gs_reply[0], "1 v");
		assert_int_equal(g_seen.gs_hb_offered, c[i].offered);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(
		test_runner_backdoor__answers_through_rc_guestinfo, teardown),
	    cmocka_unit_test_teardown(
		test_runner_backdoor__without_rc_guestinfo_the_ports_are_unknown,
		teardown),
	    cmocka_unit_test_teardown(
		test_runner_backdoor__hb_is_offered_only_to_a_caller_that_can_use_it,
		teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
