/*
 * A VM's vCPUs and the driver operations on a running VM (vmm(4)'s
 * RESETCPU, INTR, READREGS/WRITEREGS, READVMPARAMS/WRITEVMPARAMS and
 * MPROTECT_EPT), all under /v1/vms/{name}:
 *
 *   GET  vcpus, vcpus/{id}          state and exit counters
 *   GET  vcpus/{id}/registers       ?groups=gprs,sregs,crs,msrs,drs
 *   PUT  vcpus/{id}/registers       the groups and registers given
 *   POST vcpus/{id}/reset           power-on state (vCPU 0: flat entry)
 *   POST vcpus/{id}/interrupt       {"type": "irq", "vector": n} | nmi
 *   GET  params, PUT params         pvclock parameters
 *   POST memory/protect             read-only guest memory
 *
 * Each runs with the VM's lifecycle lock held (core/vmrun.c), so no
 * start, stop or reset interleaves.  Reads of a running VM pause it for
 * the read and resume it after (registers are only architectural while
 * every vCPU is out of the guest); writes of registers and a vCPU reset
 * need the VM paused by the caller, so that the guest never runs between
 * a read and the write a client bases on it.
 *
 * The order of checks: unknown query parameters (400), the VM and the
 * vCPU (404), the body (400), the VM's state (409), then the backend
 * (422 for values it refuses, 501 for what it cannot do).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "api/regs_json.h"
#include "api/response.h"
#include "base/names.h"
#include "core/vmreg.h"
#include "core/vmrun.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

/* Guest pages as vm_protect counts them. */
#define VCPUS_PAGE 4096ULL
/* The pvclock structure (pvclock_vcpu_time_info): 32 bytes, 4-aligned,
 * and inside one page, as KVM's MSR_KVM_SYSTEM_TIME_NEW wants it. */
#define VCPUS_PVCLOCK_SIZE 32ULL
#define VCPUS_PVCLOCK_ALIGN 4ULL
#define VCPUS_MAX_VECTOR 255

/*
 * The status of a backend failure nothing more specific explains: the
 * errno's (problem.c), except that an EINVAL here is no client's fault.
 */
#define VCPUS_OTHER_KIND(err)                                                  \
	((err) == EINVAL ? PROBLEM_INTERNAL : problem_kind_from_errno(err))

/* One operation on a VM's runner: what the handler asks, what comes
 * back.  op_kind, op_why and op_field explain a failure fn understood. */
struct vcpus_op {
	const struct api_context *op_ctx;
	const char *op_name;       /* the VM */
	unsigned op_id;            /* the vCPU */
	enum problem_kind op_kind; /* when op_kind_set */
	int op_kind_set;
	char op_field[96];
	char op_why[320];
	json_t *op_result; /* new reference, for the response */
	/* Inputs, by operation. */
	unsigned op_groups;
	struct regs_json_patch op_patch;
	enum vmm_intr_type op_intr;
	unsigned op_vector;
	struct vmm_params op_params;
	int op_set_gpa, op_set_version;
	uint64_t op_gpa, op_size;
	unsigned op_prot;
	const char *op_prot_word;
	const char *op_prot_desc; /* "execute-only", for a 501 */
};

/* Fails op with a status and a sentence (errno is set for vmrun). */
static int vcpus_op_fail(struct vcpus_op *op, enum problem_kind kind, int err,
			 const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
vcpus_op_fail(struct vcpus_op *op, enum problem_kind kind, int err,
	      const char *field, const char *fmt, ...)
{
	va_list ap;

	op->op_kind = kind;
	op->op_kind_set = 1;
	snprintf(op->op_field, sizeof(op->op_field), "%s",
		 field != NULL ? field : "");
	va_start(ap, fmt);
	vsnprintf(op->op_why, sizeof(op->op_why), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/*
 * The problem for a failed operation: the kind fn chose, else the one
 * the errno means (vmrun's ENOENT and EBUSY, with vmrun's sentence).
 */
static void
vcpus_problem(struct api_response *rs, const struct vcpus_op *op, int err)
{
	const char *why = op->op_why[0] != '\0' ? op->op_why : strerror(err);
	const char *field = op->op_field[0] != '\0' ? op->op_field : NULL;

	if (op->op_kind_set)
		problem_raise(rs, op->op_kind, field, "%s", why);
	else
		problem_errno(rs, err, "%s", why);
}

/* "0" or a decimal without leading zeros, below VMM_MAX_VCPUS. */
static int
vcpus_parse_id(const char *s, unsigned *id)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v >= VMM_MAX_VCPUS)
			return -1;
	}
	*id = (unsigned)v;
	return 0;
}

/*
 * 404 unless VM name is defined and, when id_str is not NULL, names one
 * of its vCPUs (*id).  A VM that does not run has the vCPUs of its spec;
 * one that runs, those it was started with, checked again under its
 * lock (the spec may have changed meanwhile).  *nvcpus: the spec's.
 */
static int
vcpus_find(const struct api_context *ctx, const char *name, const char *id_str,
	   unsigned *id, unsigned *nvcpus, struct api_response *rs)
{
	char echo[REGS_JSON_ECHO_MAX + 4];
	uint64_t rev;
	json_t *spec;
	unsigned n;

	if (!name_valid(name) ||
	    vmreg_get_spec(ctx->ac_vmreg, name, &spec, &rev) != 0) {
		regs_json_echo(name, strlen(name), echo, sizeof(echo));
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "no VM named %s",
			      echo);
		return -1;
	}
	n = (unsigned)json_integer_value(json_object_get(spec, "vcpus"));
	json_decref(spec);
	if (nvcpus != NULL)
		*nvcpus = n;
	if (id_str == NULL)
		return 0;
	if (vcpus_parse_id(id_str, id) != 0) {
		regs_json_echo(id_str, strlen(id_str), echo, sizeof(echo));
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "VM %s has no vCPU \"%s\": vCPUs are numbered "
			      "from 0 in decimal",
			      name, echo);
		return -1;
	}
	if (*id >= n && !vmrun_is_running(ctx->ac_vmrun, name)) {
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "VM %s has no vCPU %u; its vCPUs are 0 to %u",
			      name, *id, n - 1);
		return -1;
	}
	return 0;
}

/* The running VM's own count, under its lock. */
static int
vcpus_check_id(struct runner *r, struct vcpus_op *op)
{
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

/* vCPU id of a live runner as an item; NULL when out of memory. */
static json_t *
vcpus_live_item(struct runner *r, unsigned id)
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

/* ---- GET vcpus, GET vcpus/{id} ---- */

#define VCPUS_ALL (~0u)

static int
vcpus_list_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = arg;
	json_t *items, *it;
	unsigned i, n = runner_vcpus(r);

	if (op->op_id != VCPUS_ALL) {
		if (vcpus_check_id(r, op) != 0)
			return -1;
		op->op_result = vcpus_live_item(r, op->op_id);
		return op->op_result != NULL ? 0 : (errno = ENOMEM, -1);
	}
	if ((items = json_array()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((it = vcpus_live_item(r, i)) == NULL ||
		    json_array_append_new(items, it) != 0) {
			json_decref(items);
			errno = ENOMEM;
			return -1;
		}
	}
	op->op_result = json_pack("{s:o}", "items", items);
	return op->op_result != NULL ? 0 : (errno = ENOMEM, -1);
}

/* A VM that does not run: its spec's vCPUs, stopped, nothing counted. */
static json_t *
vcpus_stopped(unsigned nvcpus, unsigned id)
{
	struct runner_vcpu_stats zero;
	json_t *items, *it;
	unsigned i;

	memset(&zero, 0, sizeof(zero));
	if (id != VCPUS_ALL)
		return vcpus_item(id, "stopped", &zero);
	if ((items = json_array()) == NULL)
		return NULL;
	for (i = 0; i < nvcpus; i++)
		if ((it = vcpus_item(i, "stopped", &zero)) == NULL ||
		    json_array_append_new(items, it) != 0) {
			json_decref(items);
			return NULL;
		}
	return json_pack("{s:o}", "items", items);
}

static void
vcpus_show(const struct api_context *ctx, const struct api_call *call,
	   struct api_response *rs, int one)
{
	const char *name = call->ca_params[0];
	struct vcpus_op op;
	unsigned nvcpus;
	json_t *doc;

	memset(&op, 0, sizeof(op));
	op.op_ctx = ctx;
	op.op_name = name;
	op.op_id = VCPUS_ALL;
	if (vcpus_find(ctx, name, one ? call->ca_params[1] : NULL, &op.op_id,
		       &nvcpus, rs) != 0)
		return;
	if (vmrun_with_runner(ctx->ac_vmrun, name, VMRUN_NEED_LIVE,
			      vcpus_list_fn, &op, op.op_why,
			      sizeof(op.op_why)) == 0) {
		api_response_json(rs, 200, op.op_result);
		json_decref(op.op_result);
		return;
	}
	if (errno != EBUSY) {
		vcpus_problem(rs, &op, errno);
		return;
	}
	/* Not running: the spec says what there is.  find let a larger id
	 * through if the VM ran then. */
	if (op.op_id != VCPUS_ALL && op.op_id >= nvcpus) {
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "VM %s has no vCPU %u; its vCPUs are 0 to %u",
			      name, op.op_id, nvcpus - 1);
		return;
	}
	doc = vcpus_stopped(nvcpus, op.op_id);
	api_response_json(rs, 200, doc);
	json_decref(doc);
}

/*
 * Runs fn on the VM's runner (need: the state it requires) and answers
 * op_result with status, or the problem the run left in op.
 */
static void
vcpus_run(struct api_response *rs, struct vcpus_op *op, enum vmrun_need need,
	  int (*fn)(struct runner *, void *), int status)
{
	if (vmrun_with_runner(op->op_ctx->ac_vmrun, op->op_name, need, fn, op,
			      op->op_why, sizeof(op->op_why)) != 0) {
		vcpus_problem(rs, op, errno);
		return;
	}
	api_response_json(rs, status, op->op_result);
	json_decref(op->op_result);
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

static int
vcpus_regs_get_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = arg;
	struct vmm_regs regs;

	if (vcpus_check_id(r, op) != 0)
		return -1;
	memset(&regs, 0, sizeof(regs));
	if (runner_vcpu_get_regs(r, op->op_id, &regs, op->op_groups) != 0)
		return vcpus_regs_failed(op, "read");
	if ((op->op_result = regs_json_render(&regs, op->op_groups)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* GET vcpus/{id}/registers: a running VM is paused for the read. */
void
api_vcpus_regs_get(const struct api_context *ctx, const struct api_call *call,
		   struct api_response *rs)
{
	const char *name = call->ca_params[0];
	const char *groups = api_query(call->ca_rq, "groups");
	struct regs_json_error err;
	struct vcpus_op op;

	memset(&op, 0, sizeof(op));
	op.op_ctx = ctx;
	op.op_name = name;
	op.op_groups = VMM_REGS_ALL;
	if (vcpus_find(ctx, name, call->ca_params[1], &op.op_id, NULL, rs) != 0)
		return;
	/* Only groups got past the check: an empty value is an error. */
	if (call->ca_rq->rq_nquery > 0 &&
	    regs_json_groups(groups, &op.op_groups, &err) != 0) {
		problem_raise(rs, PROBLEM_INVALID_QUERY, "groups", "%s",
			      err.rje_detail);
		return;
	}
	vcpus_run(rs, &op, VMRUN_PAUSE_AROUND, vcpus_regs_get_fn, 200);
}

/*
 * Reads the groups the patch touches, lays the given registers over
 * them and writes them back (the backend writes all or nothing), then
 * reads every group for the answer.
 */
static int
vcpus_regs_put_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = arg;
	unsigned groups = op->op_patch.rjp_groups;
	struct vmm_regs regs;

	if (vcpus_check_id(r, op) != 0)
		return -1;
	memset(&regs, 0, sizeof(regs));
	if (groups != 0) {
		if (runner_vcpu_get_regs(r, op->op_id, &regs, groups) != 0)
			return vcpus_regs_failed(op, "read");
		regs_json_apply(&op->op_patch, &regs);
		if (runner_vcpu_set_regs(r, op->op_id, &regs, groups) != 0)
			return vcpus_regs_failed(op, "write");
	}
	if (runner_vcpu_get_regs(r, op->op_id, &regs, VMM_REGS_ALL) != 0)
		return vcpus_regs_failed(op, "read");
	if ((op->op_result = regs_json_render(&regs, VMM_REGS_ALL)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* PUT vcpus/{id}/registers: only on a paused VM; 422 changes nothing. */
void
api_vcpus_regs_put(const struct api_context *ctx, const struct api_call *call,
		   struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct regs_json_error err;
	struct vcpus_op op;

	memset(&op, 0, sizeof(op));
	op.op_ctx = ctx;
	op.op_name = name;
	if (vcpus_find(ctx, name, call->ca_params[1], &op.op_id, NULL, rs) != 0)
		return;
	if (regs_json_parse(call->ca_body, &op.op_patch, &err) != 0) {
		problem_raise(
		    rs, PROBLEM_VALIDATION,
		    err.rje_field[0] != '\0' ? err.rje_field : NULL, "%s: %s",
		    err.rje_field[0] != '\0' ? err.rje_field : "the document",
		    err.rje_detail);
		return;
	}
	vcpus_run(rs, &op, VMRUN_NEED_PAUSED, vcpus_regs_put_fn, 200);
}

/* ---- POST vcpus/{id}/reset ---- */

static int
vcpus_reset_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = arg;
	int err;

	if (vcpus_check_id(r, op) != 0)
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
	if ((op->op_result = vcpus_live_item(r, op->op_id)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* POST vcpus/{id}/reset: only on a paused VM; answers the vCPU. */
void
api_vcpus_reset(const struct api_context *ctx, const struct api_call *call,
		struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct vcpus_op op;

	memset(&op, 0, sizeof(op));
	op.op_ctx = ctx;
	op.op_name = name;
	if (vcpus_find(ctx, name, call->ca_params[1], &op.op_id, NULL, rs) != 0)
		return;
	vcpus_run(rs, &op, VMRUN_NEED_PAUSED, vcpus_reset_fn, 200);
}

/* ---- POST vcpus/{id}/interrupt ---- */

/* 400 naming the first member of obj not in known. */
static int
vcpus_members_known(const json_t *obj, const char *const *known,
		    struct api_response *rs)
{
	char key[REGS_JSON_ECHO_MAX + 4];
	const char *k;
	json_t *v;
	int i;

	json_object_foreach ((json_t *)obj, k, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(k, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			regs_json_echo(k, strlen(k), key, sizeof(key));
			problem_raise(rs, PROBLEM_VALIDATION, key,
				      "%s: unknown member", key);
			return -1;
		}
	}
	return 0;
}

/* 400 unless the body is an object. */
static int
vcpus_body_object(const json_t *body, struct api_response *rs)
{
	if (json_is_object(body))
		return 0;
	problem_raise(rs, PROBLEM_VALIDATION, NULL,
		      "the document must be a JSON object");
	return -1;
}

static int
vcpus_intr_parse(const json_t *body, struct vcpus_op *op,
		 struct api_response *rs)
{
	static const char *const known[] = {"type", "vector", NULL};
	const json_t *type = json_object_get(body, "type");
	const json_t *vector = json_object_get(body, "vector");
	const char *t = json_string_value(type);

	if (vcpus_body_object(body, rs) != 0 ||
	    vcpus_members_known(body, known, rs) != 0)
		return -1;
	if (t != NULL && strcmp(t, "irq") == 0) {
		op->op_intr = VMM_INTR_IRQ;
	} else if (t != NULL && strcmp(t, "nmi") == 0) {
		op->op_intr = VMM_INTR_NMI;
	} else {
		problem_raise(rs, PROBLEM_VALIDATION, "type",
			      "type: must be \"irq\" or \"nmi\"");
		return -1;
	}
	if (op->op_intr == VMM_INTR_NMI) {
		if (vector != NULL) {
			problem_raise(rs, PROBLEM_VALIDATION, "vector",
				      "vector: an NMI has no vector (it is "
				      "always 2); leave it out");
			return -1;
		}
		op->op_vector = 2;
		return 0;
	}
	if (!json_is_integer(vector) || json_integer_value(vector) < 0 ||
	    json_integer_value(vector) > VCPUS_MAX_VECTOR) {
		problem_raise(rs, PROBLEM_VALIDATION, "vector",
			      "vector: an irq needs a vector, an integer from "
			      "0 to %d",
			      VCPUS_MAX_VECTOR);
		return -1;
	}
	op->op_vector = (unsigned)json_integer_value(vector);
	return 0;
}

static int
vcpus_intr_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = arg;

	if (vcpus_check_id(r, op) != 0)
		return -1;
	/* EINVAL here: the run ended meanwhile (the id and the vector were
	 * checked), which is the VM's state, not the request. */
	if (runner_interrupt(r, op->op_id, op->op_intr, op->op_vector) != 0)
		return vcpus_op_fail(op, PROBLEM_INVALID_STATE, EBUSY, NULL,
				     "the VM stopped before the interrupt "
				     "could be queued");
	op->op_result = json_pack("{s:b}", "queued", 1);
	return op->op_result != NULL ? 0 : (errno = ENOMEM, -1);
}

/* POST vcpus/{id}/interrupt: queued, 202; running or paused VMs. */
void
api_vcpus_interrupt(const struct api_context *ctx, const struct api_call *call,
		    struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct vcpus_op op;

	memset(&op, 0, sizeof(op));
	op.op_ctx = ctx;
	op.op_name = name;
	if (vcpus_find(ctx, name, call->ca_params[1], &op.op_id, NULL, rs) !=
		0 ||
	    vcpus_intr_parse(call->ca_body, &op, rs) != 0)
		return;
	vcpus_run(rs, &op, VMRUN_NEED_LIVE, vcpus_intr_fn, 202);
}

/* ---- GET/PUT params ---- */

static json_t *
vcpus_params_doc(const struct vmm_params *p)
{
	return json_pack("{s:o, s:I}", "pvclock_system_gpa",
			 regs_json_hex_new(p->pp_pvclock_system_gpa),
			 "pvclock_version", (json_int_t)p->pp_pvclock_version);
}

static int
vcpus_params_failed(struct vcpus_op *op, const char *what)
{
	int err = errno;

	if (err == ENOTSUP)
		return vcpus_op_fail(op, PROBLEM_NOT_SUPPORTED, err, NULL,
				     "the %s backend cannot %s pvclock "
				     "parameters",
				     op->op_ctx->ac_driver, what);
	if (err == EINVAL && strcmp(what, "set") == 0)
		return vcpus_op_fail(op, PROBLEM_REFUSED, err, NULL,
				     "the %s backend refused the pvclock "
				     "parameters: %s",
				     op->op_ctx->ac_driver, strerror(err));
	return vcpus_op_fail(op, VCPUS_OTHER_KIND(err), err, NULL,
			     "the %s backend could not %s the pvclock "
			     "parameters: %s",
			     op->op_ctx->ac_driver, what, strerror(err));
}

/* Reads the parameters, and with op_set_* writes and reads again. */
static int
vcpus_params_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = arg;
	struct vmm_params p;
	uint64_t mem = runner_memory(r), gpa;

	memset(&p, 0, sizeof(p));
	if (runner_params_get(r, &p) != 0)
		return vcpus_params_failed(op, "read");
	if (op->op_set_gpa || op->op_set_version) {
		if (op->op_set_gpa)
			p.pp_pvclock_system_gpa =
			    op->op_params.pp_pvclock_system_gpa;
		if (op->op_set_version)
			p.pp_pvclock_version = op->op_params.pp_pvclock_version;
		gpa = p.pp_pvclock_system_gpa;
		if (gpa != 0 && (mem < VCPUS_PVCLOCK_SIZE ||
				 gpa > mem - VCPUS_PVCLOCK_SIZE))
			return vcpus_op_fail(
			    op, PROBLEM_VALIDATION, EINVAL,
			    "pvclock_system_gpa",
			    "pvclock_system_gpa: 0x%" PRIx64 " does not leave "
			    "room for the %llu-byte pvclock structure inside "
			    "guest memory (0x%" PRIx64 " bytes)",
			    gpa, VCPUS_PVCLOCK_SIZE, mem);
		if (runner_params_set(r, &p) != 0)
			return vcpus_params_failed(op, "set");
		if (runner_params_get(r, &p) != 0)
			return vcpus_params_failed(op, "read");
	}
	op->op_result = vcpus_params_doc(&p);
	return op->op_result != NULL ? 0 : (errno = ENOMEM, -1);
}

static int
vcpus_params_parse(const json_t *body, struct vcpus_op *op,
		   struct api_response *rs)
{
	static const char *const known[] = {"pvclock_system_gpa",
					    "pvclock_version", NULL};
	const json_t *gpa = json_object_get(body, "pvclock_system_gpa");
	const json_t *version = json_object_get(body, "pvclock_version");
	char why[256];
	uint64_t g;

	if (vcpus_body_object(body, rs) != 0 ||
	    vcpus_members_known(body, known, rs) != 0)
		return -1;
	if (gpa != NULL) {
		if (regs_json_hex(gpa, 64, &g, why, sizeof(why)) != 0) {
			problem_raise(rs, PROBLEM_VALIDATION,
				      "pvclock_system_gpa",
				      "pvclock_system_gpa: %s", why);
			return -1;
		}
		/* 4-aligned and within one page: where KVM's
		 * MSR_KVM_SYSTEM_TIME_NEW takes the structure. */
		if (g % VCPUS_PVCLOCK_ALIGN != 0 ||
		    g % VCPUS_PAGE + VCPUS_PVCLOCK_SIZE > VCPUS_PAGE) {
			problem_raise(
			    rs, PROBLEM_VALIDATION, "pvclock_system_gpa",
			    "pvclock_system_gpa: 0x%" PRIx64 " must be "
			    "a multiple of %llu with the %llu-byte "
			    "structure inside one %llu-byte page "
			    "(0x0 disables pvclock)",
			    g, VCPUS_PVCLOCK_ALIGN, VCPUS_PVCLOCK_SIZE,
			    VCPUS_PAGE);
			return -1;
		}
		op->op_params.pp_pvclock_system_gpa = g;
		op->op_set_gpa = 1;
	}
	if (version != NULL) {
		if (!json_is_integer(version) ||
		    json_integer_value(version) < 0 ||
		    json_integer_value(version) > (json_int_t)UINT32_MAX) {
			problem_raise(
			    rs, PROBLEM_VALIDATION, "pvclock_version",
			    "pvclock_version: must be an integer from 0 "
			    "to %" PRIu32,
			    UINT32_MAX);
			return -1;
		}
		op->op_params.pp_pvclock_version =
		    (uint32_t)json_integer_value(version);
		op->op_set_version = 1;
	}
	return 0;
}

/* GET and PUT differ only in the body. */
static void
vcpus_params(const struct api_context *ctx, const struct api_call *call,
	     struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct vcpus_op op;

	memset(&op, 0, sizeof(op));
	op.op_ctx = ctx;
	op.op_name = name;
	if (vcpus_find(ctx, name, NULL, NULL, NULL, rs) != 0)
		return;
	if (call->ca_body != NULL &&
	    vcpus_params_parse(call->ca_body, &op, rs) != 0)
		return;
	vcpus_run(rs, &op, VMRUN_PAUSE_AROUND, vcpus_params_fn, 200);
}

/* GET params: a running VM is paused for the read. */
void
api_vcpus_params_get(const struct api_context *ctx, const struct api_call *call,
		     struct api_response *rs)
{
	vcpus_params(ctx, call, rs);
}

/* PUT params: what the body gives; paused around the write. */
void
api_vcpus_params_put(const struct api_context *ctx, const struct api_call *call,
		     struct api_response *rs)
{
	vcpus_params(ctx, call, rs);
}

/* ---- POST memory/protect ---- */

/* The protections the API knows, as vm_protect's bits. */
static const struct {
	const char *pw_word;
	unsigned pw_prot;
	const char *pw_desc; /* for a 501 */
} vcpus_prot_words[] = {
    {"r", VMM_PROT_R, "read-only"},
    {"rw", VMM_PROT_RW, "read-write"},
    {"x", VMM_PROT_X, "execute-only"},
    {"none", 0, "no-access"},
};
#define VCPUS_NPROT (sizeof(vcpus_prot_words) / sizeof(vcpus_prot_words[0]))

static int
vcpus_protect_parse(const json_t *body, struct vcpus_op *op,
		    struct api_response *rs)
{
	static const char *const known[] = {"gpa", "size", "prot", NULL};
	const json_t *gpa = json_object_get(body, "gpa");
	const json_t *size = json_object_get(body, "size");
	const char *prot = json_string_value(json_object_get(body, "prot"));
	char why[256];
	size_t i;

	if (vcpus_body_object(body, rs) != 0 ||
	    vcpus_members_known(body, known, rs) != 0)
		return -1;
	if (gpa == NULL ||
	    regs_json_hex(gpa, 64, &op->op_gpa, why, sizeof(why)) != 0) {
		problem_raise(rs, PROBLEM_VALIDATION, "gpa", "gpa: %s",
			      gpa == NULL ? "required: the guest-physical "
					    "address as \"0x...\""
					  : why);
		return -1;
	}
	if (op->op_gpa % VCPUS_PAGE != 0) {
		problem_raise(rs, PROBLEM_VALIDATION, "gpa",
			      "gpa: 0x%" PRIx64 " is not a multiple of the "
			      "%llu-byte page",
			      op->op_gpa, VCPUS_PAGE);
		return -1;
	}
	if (!json_is_integer(size) || json_integer_value(size) <= 0 ||
	    (uint64_t)json_integer_value(size) % VCPUS_PAGE != 0) {
		problem_raise(rs, PROBLEM_VALIDATION, "size",
			      "size: must be a positive multiple of the "
			      "%llu-byte page, in bytes",
			      VCPUS_PAGE);
		return -1;
	}
	op->op_size = (uint64_t)json_integer_value(size);
	for (i = 0; prot != NULL && i < VCPUS_NPROT; i++)
		if (strcmp(prot, vcpus_prot_words[i].pw_word) == 0)
			break;
	if (prot == NULL || i == VCPUS_NPROT) {
		problem_raise(rs, PROBLEM_VALIDATION, "prot",
			      "prot: must be \"r\", \"rw\", \"x\" or \"none\"");
		return -1;
	}
	op->op_prot = vcpus_prot_words[i].pw_prot;
	op->op_prot_word = vcpus_prot_words[i].pw_word;
	op->op_prot_desc = vcpus_prot_words[i].pw_desc;
	return 0;
}

static int
vcpus_protect_fn(struct runner *r, void *arg)
{
	struct vcpus_op *op = arg;
	uint64_t mem = runner_memory(r);
	int err;

	if (op->op_gpa >= mem)
		return vcpus_op_fail(op, PROBLEM_VALIDATION, EINVAL, "gpa",
				     "gpa: 0x%" PRIx64 " is past guest memory "
				     "(0x%" PRIx64 " bytes)",
				     op->op_gpa, mem);
	if (op->op_size > mem - op->op_gpa)
		return vcpus_op_fail(op, PROBLEM_VALIDATION, EINVAL, "size",
				     "size: gpa 0x%" PRIx64 " + size %" PRIu64
				     " reaches past guest memory (0x%" PRIx64
				     " bytes)",
				     op->op_gpa, op->op_size, mem);
	if (runner_protect(r, op->op_gpa, op->op_size, op->op_prot) != 0) {
		err = errno;
		if (err == ENOTSUP)
			return vcpus_op_fail(
			    op, PROBLEM_NOT_SUPPORTED, err, NULL,
			    "the %s backend cannot express %s protection%s",
			    op->op_ctx->ac_driver, op->op_prot_desc,
			    op->op_prot == VMM_PROT_R ||
				    op->op_prot == VMM_PROT_RW
				? " on this host"
				: "");
		if (err == ENOSPC)
			return vcpus_op_fail(op, PROBLEM_REFUSED, err, NULL,
					     "the %s backend cannot split "
					     "guest memory into that many "
					     "differently protected ranges",
					     op->op_ctx->ac_driver);
		if (err == EINVAL)
			return vcpus_op_fail(op, PROBLEM_REFUSED, err, NULL,
					     "the %s backend refused the "
					     "range: %s",
					     op->op_ctx->ac_driver,
					     strerror(err));
		return vcpus_op_fail(op, VCPUS_OTHER_KIND(err), err, NULL,
				     "protecting guest memory failed: %s",
				     strerror(err));
	}
	op->op_result = json_pack(
	    "{s:o, s:I, s:s}", "gpa", regs_json_hex_new(op->op_gpa), "size",
	    (json_int_t)op->op_size, "prot", op->op_prot_word);
	return op->op_result != NULL ? 0 : (errno = ENOMEM, -1);
}

/* POST memory/protect: paused around the change; 501 for what the
 * backend cannot express. */
void
api_vcpus_protect(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	const char *name = call->ca_params[0];
	struct vcpus_op op;

	memset(&op, 0, sizeof(op));
	op.op_ctx = ctx;
	op.op_name = name;
	if (vcpus_find(ctx, name, NULL, NULL, NULL, rs) != 0 ||
	    vcpus_protect_parse(call->ca_body, &op, rs) != 0)
		return;
	vcpus_run(rs, &op, VMRUN_PAUSE_AROUND, vcpus_protect_fn, 200);
}
