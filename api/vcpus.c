/*
 * A VM's vCPUs (vmm(4)'s RESETCPU, INTR, READREGS/WRITEREGS), all under
 * /v1/vms/{name}:
 *
 *   GET  vcpus, vcpus/{id}          state and exit counters
 *   GET  vcpus/{id}/registers       ?groups=gprs,sregs,crs,msrs,drs
 *   PUT  vcpus/{id}/registers       the groups and registers given
 *   POST vcpus/{id}/reset           power-on state (vCPU 0: flat entry)
 *   POST vcpus/{id}/interrupt       {"type": "irq", "vector": n} | nmi
 *
 * The VM's pvclock parameters are vcpus_params.c's, its memory
 * protection vcpus_protect.c's; all of them run as vcpus_op.h says.
 * Reads of a running VM pause it for the read and resume it after
 * (registers are only architectural while every vCPU is out of the
 * guest); writes of registers and a vCPU reset need the VM paused by the
 * caller, so that the guest never runs between a read and the write a
 * client bases on it.
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "api/regs_json.h"
#include "api/vcpus_op.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

#define VCPUS_MAX_VECTOR 255

/* An operation on one vCPU (or, VCPUS_ALL, on the list) and its inputs. */
struct vcpus_cpu_op {
	struct vcpus_op co_op;
	unsigned co_groups;
	struct regs_json_patch co_patch;
	enum vmm_intr_type co_intr;
	unsigned co_vector;
};

/*
 * Sets co up (zeroed) for the vCPU named by call's second parameter:
 * vcpus_op_begin's 404s.  0 or -1.
 */
static int
vcpus_begin(struct vcpus_cpu_op *co, const struct api_context *ctx,
	    const struct api_call *call, struct api_response *rs)
{
	memset(co, 0, sizeof(*co));
	return vcpus_op_begin(&co->co_op, ctx, call, call->ca_params[1], NULL,
			      rs);
}

/*
 * The operation arg (a struct vcpus_cpu_op) on the running VM: 0 when
 * its vCPU is one of those the VM runs with (checked under its lock),
 * else -1 with op failed 404.
 */
static int
vcpus_check_id(struct runner *r, void *arg)
{
	struct vcpus_op *op = &((struct vcpus_cpu_op *)arg)->co_op;
	unsigned n = runner_vcpus(r);

	if (op->op_id < n)
		return 0;
	return vcpus_op_fail(op, PROBLEM_NOT_FOUND, ENOENT, NULL,
			     "VM %s has no vCPU %u; it runs with vCPUs 0 to "
			     "%u",
			     op->op_name, op->op_id, n - 1);
}

/* One vCPU as the API shows it. */
static json_t *
vcpus_item(unsigned id, const char *state, const struct runner_vcpu_stats *st)
{
	return json_pack(
	    "{s:I, s:s, s:{s:I, s:I, s:I, s:I}, s:I, s:I}", "id",
	    (json_int_t)id, "state", state, "exits", "io",
	    (json_int_t)st->vs_exits_io, "mmio", (json_int_t)st->vs_exits_mmio,
	    "hlt", (json_int_t)st->vs_exits_hlt, "other",
	    (json_int_t)st->vs_exits_other, "unknown_port_reads",
	    (json_int_t)st->vs_unknown_port_reads, "unknown_port_writes",
	    (json_int_t)st->vs_unknown_port_writes);
}

/* vCPU id of live runner r as an item; NULL when out of memory. */
static json_t *
vcpus_live_item(void *r, unsigned id)
{
	struct runner_vcpu_stats st;
	const char *state;

	if (runner_vcpu_stats(r, id, &st) != 0)
		return NULL;
	switch (runner_state(r)) {
	case RUNNER_RUNNING:
		state = st.vs_halted ? "halted" : "running";
		break;
	case RUNNER_PAUSED:
		state = "paused";
		break;
	default: /* ended, not yet recorded */
		state = "stopped";
		break;
	}
	return vcpus_item(id, state, &st);
}

/* vCPU id of a VM that does not run: stopped, nothing counted. */
static json_t *
vcpus_stopped_item(void *unused, unsigned id)
{
	static const struct runner_vcpu_stats zero;

	(void)unused;
	return vcpus_item(id, "stopped", &zero);
}

/*
 * {"items": [...]}: item(cls, id) of the vCPUs 0 to n - 1; NULL when out
 * of memory.
 */
static json_t *
vcpus_items(unsigned n, json_t *(*item)(void *cls, unsigned id), void *cls)
{
	json_t *items, *it;
	unsigned i;

	if ((items = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((it = item(cls, i)) == NULL ||
		    json_array_append_new(items, it) != 0) {
			json_decref(items);
			return NULL;
		}
	return json_pack("{s:o}", "items", items);
}

/* ---- GET vcpus, GET vcpus/{id} ---- */

#define VCPUS_ALL (~0u)

static int
vcpus_list_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = &((struct vcpus_cpu_op *)arg)->co_op;

	if (op->op_id == VCPUS_ALL)
		return vcpus_op_result(
		    op, vcpus_items(runner_vcpus(r), vcpus_live_item, r));
	if (vcpus_check_id(r, arg) != 0)
		return -1;
	return vcpus_op_result(op, vcpus_live_item(r, op->op_id));
}

static void
vcpus_show(const struct api_context *ctx, const struct api_call *call,
	   struct api_response *rs, int one)
{
	struct vcpus_cpu_op co;
	struct vcpus_op *op = &co.co_op;
	unsigned nvcpus;

	memset(&co, 0, sizeof(co));
	if (vcpus_op_begin(op, ctx, call, one ? call->ca_params[1] : NULL,
			   &nvcpus, rs) != 0)
		return;
	if (!one)
		op->op_id = VCPUS_ALL;
	if (vcpus_op_call(op, VMRUN_NEED_LIVE, vcpus_list_fn, &co) == 0) {
		vcpus_op_answer(rs, op, 200);
		return;
	}
	if (errno != EBUSY) {
		vcpus_op_problem(rs, op, errno);
		return;
	}
	/* Not running: the spec says what there is.  begin let a larger id
	 * through if the VM ran then. */
	if (one && op->op_id >= nvcpus) {
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "VM %s has no vCPU %u; its vCPUs are 0 to %u",
			      op->op_name, op->op_id, nvcpus - 1);
		return;
	}
	op->op_result = one ? vcpus_stopped_item(NULL, op->op_id)
			    : vcpus_items(nvcpus, vcpus_stopped_item, NULL);
	vcpus_op_answer(rs, op, 200);
}

/* GET vcpus: the running VM's vCPUs, or its spec's when it does not run. */
void
api_vcpus_list(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	vcpus_show(ctx, call, rs, 0);
}

/* GET vcpus/{id}: one item of that list. */
void
api_vcpus_get(const struct api_context *ctx, const struct api_call *call,
	      struct api_response *rs)
{
	vcpus_show(ctx, call, rs, 1);
}

/* ---- registers ---- */

/* Answers what the backend said about registers (get or set). */
static int
vcpus_regs_failed(struct vcpus_op *op, const char *what)
{
	int err = errno;

	if (err == EINVAL && strcmp(what, "write") == 0)
		return vcpus_op_fail(op, PROBLEM_REFUSED, err, NULL,
				     "the %s backend refused the registers "
				     "of vCPU %u: %s; nothing was changed",
				     op->op_ctx->ac_driver, op->op_id,
				     strerror(err));
	if (err == ENOTSUP)
		return vcpus_op_fail(op, PROBLEM_NOT_SUPPORTED, err, NULL,
				     "the %s backend cannot %s these "
				     "registers of vCPU %u",
				     op->op_ctx->ac_driver, what, op->op_id);
	return vcpus_op_fail(op, VCPUS_OTHER_KIND(err), err, NULL,
			     "%s the registers of vCPU %u failed: %s",
			     strcmp(what, "read") == 0 ? "reading" : "writing",
			     op->op_id, strerror(err));
}

/*
 * With co_patch's groups (none for a GET): reads the groups the patch
 * touches, lays the given registers over them and writes them back (the
 * backend writes all or nothing).  Then reads co_groups for the answer.
 */
static int
vcpus_regs_fn(struct runner *r, void *arg)
{
	struct vcpus_cpu_op *co = arg;
	struct vcpus_op *op = &co->co_op;
	unsigned groups = co->co_patch.rjp_groups;
	struct vmm_regs regs;

	if (vcpus_check_id(r, arg) != 0)
		return -1;
	memset(&regs, 0, sizeof(regs));
	if (groups != 0) {
		if (runner_vcpu_get_regs(r, op->op_id, &regs, groups) != 0)
			return vcpus_regs_failed(op, "read");
		regs_json_apply(&co->co_patch, &regs);
		if (runner_vcpu_set_regs(r, op->op_id, &regs, groups) != 0)
			return vcpus_regs_failed(op, "write");
	}
	if (runner_vcpu_get_regs(r, op->op_id, &regs, co->co_groups) != 0)
		return vcpus_regs_failed(op, "read");
	return vcpus_op_result(op, regs_json_render(&regs, co->co_groups));
}

/* GET vcpus/{id}/registers: a running VM is paused for the read. */
void
api_vcpus_regs_get(const struct api_context *ctx, const struct api_call *call,
		   struct api_response *rs)
{
	const char *groups = api_query(call->ca_rq, "groups");
	struct regs_json_error err;
	struct vcpus_cpu_op co;

	if (vcpus_begin(&co, ctx, call, rs) != 0)
		return;
	co.co_groups = VMM_REGS_ALL;
	/* Only groups got past the check: an empty value is an error. */
	if (call->ca_rq->rq_nquery > 0 &&
	    regs_json_groups(groups, &co.co_groups, &err) != 0) {
		problem_raise(rs, PROBLEM_INVALID_QUERY, "groups", "%s",
			      err.rje_detail);
		return;
	}
	vcpus_op_run(rs, &co.co_op, VMRUN_PAUSE_AROUND, vcpus_regs_fn, &co,
		     200);
}

/* PUT vcpus/{id}/registers: only on a paused VM; 422 changes nothing. */
void
api_vcpus_regs_put(const struct api_context *ctx, const struct api_call *call,
		   struct api_response *rs)
{
	struct regs_json_error err;
	struct vcpus_cpu_op co;

	if (vcpus_begin(&co, ctx, call, rs) != 0)
		return;
	co.co_groups = VMM_REGS_ALL;
	if (regs_json_parse(call->ca_body, &co.co_patch, &err) != 0) {
		problem_raise(
		    rs, PROBLEM_VALIDATION,
		    err.rje_field[0] != '\0' ? err.rje_field : NULL, "%s: %s",
		    err.rje_field[0] != '\0' ? err.rje_field : "the document",
		    err.rje_detail);
		return;
	}
	vcpus_op_run(rs, &co.co_op, VMRUN_NEED_PAUSED, vcpus_regs_fn, &co, 200);
}

/* ---- POST vcpus/{id}/reset ---- */

static int
vcpus_reset_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = &((struct vcpus_cpu_op *)arg)->co_op;
	int err;

	if (vcpus_check_id(r, arg) != 0)
		return -1;
	if (runner_vcpu_reset(r, op->op_id) != 0) {
		err = errno;
		if (err == ENOTSUP)
			return vcpus_op_fail(op, PROBLEM_NOT_SUPPORTED, err,
					     NULL,
					     "the %s backend cannot reset one "
					     "vCPU",
					     op->op_ctx->ac_driver);
		return vcpus_op_fail(op, PROBLEM_INTERNAL, err, NULL,
				     "resetting vCPU %u failed: %s; its "
				     "registers are in an unknown state",
				     op->op_id, strerror(err));
	}
	return vcpus_op_result(op, vcpus_live_item(r, op->op_id));
}

/* POST vcpus/{id}/reset: only on a paused VM; answers the vCPU. */
void
api_vcpus_reset(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	struct vcpus_cpu_op co;

	if (vcpus_begin(&co, ctx, call, rs) != 0)
		return;
	vcpus_op_run(rs, &co.co_op, VMRUN_NEED_PAUSED, vcpus_reset_fn, &co,
		     200);
}

/* ---- POST vcpus/{id}/interrupt ---- */

static int
vcpus_intr_parse(const json_t *body, struct vcpus_cpu_op *co,
		 struct api_response *rs)
{
	static const char *const known[] = {"type", "vector", NULL};
	const json_t *type = json_object_get(body, "type");
	const json_t *vector = json_object_get(body, "vector");
	const char *t = json_string_value(type);
	json_int_t n;

	if (vcpus_op_body(body, known, rs) != 0)
		return -1;
	if (t != NULL && strcmp(t, "irq") == 0) {
		co->co_intr = VMM_INTR_IRQ;
	} else if (t != NULL && strcmp(t, "nmi") == 0) {
		co->co_intr = VMM_INTR_NMI;
	} else {
		problem_raise(rs, PROBLEM_VALIDATION, "type",
			      "type: must be \"irq\" or \"nmi\"");
		return -1;
	}
	if (co->co_intr == VMM_INTR_NMI) {
		if (vector != NULL) {
			problem_raise(rs, PROBLEM_VALIDATION, "vector",
				      "vector: an NMI has no vector (it is "
				      "always 2); leave it out");
			return -1;
		}
		co->co_vector = 2;
		return 0;
	}
	if (!vcpus_op_integer(vector, 0, VCPUS_MAX_VECTOR, &n)) {
		problem_raise(rs, PROBLEM_VALIDATION, "vector",
			      "vector: an irq needs a vector, an integer from "
			      "0 to %d",
			      VCPUS_MAX_VECTOR);
		return -1;
	}
	co->co_vector = (unsigned)n;
	return 0;
}

static int
vcpus_intr_fn(struct runner *r, void *arg)
{
	struct vcpus_cpu_op *co = arg;
	struct vcpus_op *op = &co->co_op;

	if (vcpus_check_id(r, arg) != 0)
		return -1;
	/* EINVAL here: the run ended meanwhile (the id and the vector were
	 * checked), which is the VM's state, not the request. */
	if (runner_interrupt(r, op->op_id, co->co_intr, co->co_vector) != 0)
		return vcpus_op_fail(op, PROBLEM_INVALID_STATE, EBUSY, NULL,
				     "the VM stopped before the interrupt "
				     "could be queued");
	return vcpus_op_result(op, json_pack("{s:b}", "queued", 1));
}

/* POST vcpus/{id}/interrupt: queued, 202; running or paused VMs. */
void
api_vcpus_interrupt(const struct api_context *ctx, const struct api_call *call,
		    struct api_response *rs)
{
	struct vcpus_cpu_op co;

	if (vcpus_begin(&co, ctx, call, rs) != 0 ||
	    vcpus_intr_parse(call->ca_body, &co, rs) != 0)
		return;
	vcpus_op_run(rs, &co.co_op, VMRUN_NEED_LIVE, vcpus_intr_fn, &co, 202);
}
