/*
 * A running VM's pvclock parameters (vmm(4)'s READVMPARAMS and
 * WRITEVMPARAMS):
 *
 *   GET params, PUT params   pvclock_system_gpa, pvclock_version
 *
 * The VM is paused around the read, and around the write and the read
 * that answers it.  Run as vcpus_op.h says.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <jansson.h>

#include "api/regs_json.h"
#include "api/vcpus_op.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

/* The pvclock structure (pvclock_vcpu_time_info): 32 bytes, 4-aligned,
 * and inside one page, as KVM's MSR_KVM_SYSTEM_TIME_NEW wants it. */
#define VCPUS_PARAMS_PVCLOCK_SIZE 32ULL
#define VCPUS_PARAMS_PVCLOCK_ALIGN 4ULL

/* A params operation: what the body sets (neither: a read). */
struct vcpus_params_op {
	struct vcpus_op po_op;
	struct vmm_params po_params;
	int po_set_gpa, po_set_version;
};

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

/* Reads the parameters, and with po_set_* writes and reads again. */
static int
vcpus_params_fn(struct runner *r, void *arg)
{
	struct vcpus_params_op *po = arg;
	struct vcpus_op *op = &po->po_op;
	struct vmm_params p;
	uint64_t mem = runner_memory(r), gpa;

	memset(&p, 0, sizeof(p));
	if (runner_params_get(r, &p) != 0)
		return vcpus_params_failed(op, "read");
	if (po->po_set_gpa || po->po_set_version) {
		if (po->po_set_gpa)
			p.pp_pvclock_system_gpa =
			    po->po_params.pp_pvclock_system_gpa;
		if (po->po_set_version)
			p.pp_pvclock_version = po->po_params.pp_pvclock_version;
		gpa = p.pp_pvclock_system_gpa;
		if (gpa != 0 && (mem < VCPUS_PARAMS_PVCLOCK_SIZE ||
				 gpa > mem - VCPUS_PARAMS_PVCLOCK_SIZE))
			return vcpus_op_fail(
			    op, PROBLEM_VALIDATION, EINVAL,
			    "pvclock_system_gpa",
			    "pvclock_system_gpa: 0x%" PRIx64 " does not leave "
			    "room for the %llu-byte pvclock structure inside "
			    "guest memory (0x%" PRIx64 " bytes)",
			    gpa, VCPUS_PARAMS_PVCLOCK_SIZE, mem);
		if (runner_params_set(r, &p) != 0)
			return vcpus_params_failed(op, "set");
		if (runner_params_get(r, &p) != 0)
			return vcpus_params_failed(op, "read");
	}
	return vcpus_op_result(op, vcpus_params_doc(&p));
}

static int
vcpus_params_parse(const json_t *body, struct vcpus_params_op *po,
		   struct api_response *rs)
{
	static const char *const known[] = {"pvclock_system_gpa",
					    "pvclock_version", NULL};
	const json_t *gpa = json_object_get(body, "pvclock_system_gpa");
	const json_t *version = json_object_get(body, "pvclock_version");
	char why[256];
	json_int_t n;
	uint64_t g;

	if (vcpus_op_body(body, known, rs) != 0)
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
		if (g % VCPUS_PARAMS_PVCLOCK_ALIGN != 0 ||
		    g % VCPUS_PAGE + VCPUS_PARAMS_PVCLOCK_SIZE > VCPUS_PAGE) {
			problem_raise(
			    rs, PROBLEM_VALIDATION, "pvclock_system_gpa",
			    "pvclock_system_gpa: 0x%" PRIx64 " must be "
			    "a multiple of %llu with the %llu-byte "
			    "structure inside one %llu-byte page "
			    "(0x0 disables pvclock)",
			    g, VCPUS_PARAMS_PVCLOCK_ALIGN,
			    VCPUS_PARAMS_PVCLOCK_SIZE, VCPUS_PAGE);
			return -1;
		}
		po->po_params.pp_pvclock_system_gpa = g;
		po->po_set_gpa = 1;
	}
	if (version != NULL) {
		if (!vcpus_op_integer(version, 0, UINT32_MAX, &n)) {
			problem_raise(
			    rs, PROBLEM_VALIDATION, "pvclock_version",
			    "pvclock_version: must be an integer from 0 "
			    "to %" PRIu32,
			    UINT32_MAX);
			return -1;
		}
		po->po_params.pp_pvclock_version = (uint32_t)n;
		po->po_set_version = 1;
	}
	return 0;
}

/* GET and PUT differ only in the body. */
static void
vcpus_params(const struct api_context *ctx, const struct api_call *call,
	     struct api_response *rs)
{
	struct vcpus_params_op po;

	memset(&po, 0, sizeof(po));
	if (vcpus_op_begin(&po.po_op, ctx, call, NULL, NULL, rs) != 0)
		return;
	if (call->ca_body != NULL &&
	    vcpus_params_parse(call->ca_body, &po, rs) != 0)
		return;
	vcpus_op_run(rs, &po.po_op, VMRUN_PAUSE_AROUND, vcpus_params_fn, &po,
		     200);
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
