/*
 * Protection of a running VM's guest memory (vmm(4)'s MPROTECT_EPT):
 *
 *   POST memory/protect   {"gpa": "0x...", "size": n, "prot": "r"}
 *
 * The VM is paused around the change; 501 for a protection the backend
 * cannot express.  Run as vcpus_op.h says.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <jansson.h>

#include "api/regs_json.h"
#include "api/vcpus_op.h"
#include "vmm-driver/runner.h"
#include "vmm-driver/vmm.h"

/* The protections the API knows, as vm_protect's bits. */
static const struct vcpus_protect_word {
	const char *pw_word;
	unsigned pw_prot;
	const char *pw_desc; /* for a 501 */
} vcpus_protect_words[] = {
    {"r", VMM_PROT_R, "read-only"},
    {"rw", VMM_PROT_RW, "read-write"},
    {"x", VMM_PROT_X, "execute-only"},
    {"none", 0, "no-access"},
};
#define VCPUS_PROTECT_NWORDS                                                   \
	(sizeof(vcpus_protect_words) / sizeof(vcpus_protect_words[0]))

/* A protect operation: the range and the protection. */
struct vcpus_protect_op {
	struct vcpus_op pp_op;
	uint64_t pp_gpa, pp_size;
	const struct vcpus_protect_word *pp_word;
};

static int
vcpus_protect_parse(const json_t *body, struct vcpus_protect_op *pp,
		    struct api_response *rs)
{
	static const char *const known[] = {"gpa", "size", "prot", NULL};
	const json_t *gpa = json_object_get(body, "gpa");
	const json_t *size = json_object_get(body, "size");
	const char *prot = json_string_value(json_object_get(body, "prot"));
	char why[256];
	json_int_t n;
	size_t i;

	if (vcpus_op_body(body, known, rs) != 0)
		return -1;
	if (gpa == NULL ||
	    regs_json_hex(gpa, 64, &pp->pp_gpa, why, sizeof(why)) != 0) {
		problem_raise(rs, PROBLEM_VALIDATION, "gpa", "gpa: %s",
			      gpa == NULL ? "required: the guest-physical "
					    "address as \"0x...\""
					  : why);
		return -1;
	}
	if (pp->pp_gpa % VCPUS_PAGE != 0) {
		problem_raise(rs, PROBLEM_VALIDATION, "gpa",
			      "gpa: 0x%" PRIx64 " is not a multiple of the "
			      "%llu-byte page",
			      pp->pp_gpa, VCPUS_PAGE);
		return -1;
	}
	if (!vcpus_op_integer(size, 1, INT64_MAX, &n) ||
	    (uint64_t)n % VCPUS_PAGE != 0) {
		problem_raise(rs, PROBLEM_VALIDATION, "size",
			      "size: must be a positive multiple of the "
			      "%llu-byte page, in bytes",
			      VCPUS_PAGE);
		return -1;
	}
	pp->pp_size = (uint64_t)n;
	for (i = 0; prot != NULL && i < VCPUS_PROTECT_NWORDS; i++)
		if (strcmp(prot, vcpus_protect_words[i].pw_word) == 0)
			break;
	if (prot == NULL || i == VCPUS_PROTECT_NWORDS) {
		problem_raise(rs, PROBLEM_VALIDATION, "prot",
			      "prot: must be \"r\", \"rw\", \"x\" or \"none\"");
		return -1;
	}
	pp->pp_word = &vcpus_protect_words[i];
	return 0;
}

/* What the backend said when it did not protect the range. */
static int
vcpus_protect_failed(struct vcpus_protect_op *pp)
{
	struct vcpus_op *op = &pp->pp_op;
	unsigned prot = pp->pp_word->pw_prot;
	int err = errno;

	if (err == ENOTSUP)
		return vcpus_op_fail(
		    op, PROBLEM_NOT_SUPPORTED, err, NULL,
		    "the %s backend cannot express %s protection%s",
		    op->op_ctx->ac_driver, pp->pp_word->pw_desc,
		    prot == VMM_PROT_R || prot == VMM_PROT_RW ? " on this host"
							      : "");
	if (err == ENOSPC)
		return vcpus_op_fail(op, PROBLEM_REFUSED, err, NULL,
				     "the %s backend cannot split guest "
				     "memory into that many differently "
				     "protected ranges",
				     op->op_ctx->ac_driver);
	if (err == EINVAL)
		return vcpus_op_fail(op, PROBLEM_REFUSED, err, NULL,
				     "the %s backend refused the range: %s",
				     op->op_ctx->ac_driver, strerror(err));
	return vcpus_op_fail(op, VCPUS_OTHER_KIND(err), err, NULL,
			     "protecting guest memory failed: %s",
			     strerror(err));
}

static int
vcpus_protect_fn(struct runner *r, void *arg)
{
	struct vcpus_protect_op *pp = arg;
	struct vcpus_op *op = &pp->pp_op;
	uint64_t mem = runner_memory(r);

	if (pp->pp_gpa >= mem)
		return vcpus_op_fail(op, PROBLEM_VALIDATION, EINVAL, "gpa",
				     "gpa: 0x%" PRIx64 " is past guest memory "
				     "(0x%" PRIx64 " bytes)",
				     pp->pp_gpa, mem);
	if (pp->pp_size > mem - pp->pp_gpa)
		return vcpus_op_fail(op, PROBLEM_VALIDATION, EINVAL, "size",
				     "size: gpa 0x%" PRIx64 " + size %" PRIu64
				     " reaches past guest memory (0x%" PRIx64
				     " bytes)",
				     pp->pp_gpa, pp->pp_size, mem);
	if (runner_protect(r, pp->pp_gpa, pp->pp_size, pp->pp_word->pw_prot) !=
	    0)
		return vcpus_protect_failed(pp);
	return vcpus_op_result(op, json_pack("{s:o, s:I, s:s}", "gpa",
					     regs_json_hex_new(pp->pp_gpa),
					     "size", (json_int_t)pp->pp_size,
					     "prot", pp->pp_word->pw_word));
}

/* POST memory/protect: paused around the change; 501 for what the
 * backend cannot express. */
void
api_vcpus_protect(const struct api_context *ctx, const struct api_call *call,
		  struct api_response *rs)
{
	struct vcpus_protect_op pp;

	memset(&pp, 0, sizeof(pp));
	if (vcpus_op_begin(&pp.pp_op, ctx, call, NULL, NULL, rs) != 0 ||
	    vcpus_protect_parse(call->ca_body, &pp, rs) != 0)
		return;
	vcpus_op_run(rs, &pp.pp_op, VMRUN_PAUSE_AROUND, vcpus_protect_fn, &pp,
		     200);
}
