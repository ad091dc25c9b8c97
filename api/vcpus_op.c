/*
 * One operation on a VM's runner and its answer, shared by the handlers
 * of vcpus.c, vcpus_params.c and vcpus_protect.c (vcpus_op.h).
 *
 * The order of checks: unknown query parameters (400), the VM and the
 * vCPU (404), the body (400), the VM's state (409), then the backend
 * (422 for values it refuses, 501 for what it cannot do).
 */
#include "api/vcpus_op.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/regs_json.h"
#include "api/response.h"
#include "base/names.h"
#include "core/vmreg.h"
#include "vmm-driver/vmm.h"

/* "0" or a decimal without leading zeros, below VMM_MAX_VCPUS. */
static int
vcpus_op_parse_id(const char *s, unsigned *id)
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

int
vcpus_op_begin(struct vcpus_op *op, const struct api_context *ctx,
	       const struct api_call *call, const char *id_str,
	       unsigned *nvcpus, struct api_response *rs)
{
	const char *name = call->ca_params[0], *key = call->ca_vm;
	char echo[REGS_JSON_ECHO_MAX + 4];
	struct vm_spec spec;

	memset(op, 0, sizeof(*op));
	op->op_ctx = ctx;
	op->op_name = name;
	op->op_key = key;
	if (!name_valid(name) ||
	    vmreg_get_vm_spec(ctx->ac_vmreg, key, &spec) != 0) {
		regs_json_echo(name, strlen(name), echo, sizeof(echo));
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "no VM named %s",
			      echo);
		return -1;
	}
	if (nvcpus != NULL)
		*nvcpus = spec.vs_vcpus;
	if (id_str == NULL)
		return 0;
	if (vcpus_op_parse_id(id_str, &op->op_id) != 0) {
		regs_json_echo(id_str, strlen(id_str), echo, sizeof(echo));
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "VM %s has no vCPU \"%s\": vCPUs are numbered "
			      "from 0 in decimal",
			      name, echo);
		return -1;
	}
	if (op->op_id >= spec.vs_vcpus &&
	    !vmrun_is_running(ctx->ac_vmrun, key)) {
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL,
			      "VM %s has no vCPU %u; its vCPUs are 0 to %u",
			      name, op->op_id, spec.vs_vcpus - 1);
		return -1;
	}
	return 0;
}

int
vcpus_op_body(const json_t *body, const char *const *known,
	      struct api_response *rs)
{
	char key[REGS_JSON_ECHO_MAX + 4];
	const char *k;
	json_t *v;
	int i;

	if (!json_is_object(body)) {
		problem_raise(rs, PROBLEM_VALIDATION, NULL,
			      "the document must be a JSON object");
		return -1;
	}
	json_object_foreach ((json_t *)body, k, v) {
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

int
vcpus_op_integer(const json_t *v, json_int_t min, json_int_t max,
		 json_int_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return 0;
	*out = json_integer_value(v);
	return 1;
}

int
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

int
vcpus_op_result(struct vcpus_op *op, json_t *doc)
{
	if ((op->op_result = doc) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
vcpus_op_call(struct vcpus_op *op, enum vmrun_need need,
	      int (*fn)(struct runner *, void *), void *arg)
{
	return vmrun_with_runner(op->op_ctx->ac_vmrun, op->op_key, need, fn,
				 arg, op->op_why, sizeof(op->op_why));
}

/*
 * The kind the operation chose, else the one the errno means (vmrun's
 * ENOENT and EBUSY, with vmrun's sentence).
 */
void
vcpus_op_problem(struct api_response *rs, const struct vcpus_op *op, int err)
{
	const char *why = op->op_why[0] != '\0' ? op->op_why : strerror(err);
	const char *field = op->op_field[0] != '\0' ? op->op_field : NULL;

	if (op->op_kind_set)
		problem_raise(rs, op->op_kind, field, "%s", why);
	else
		problem_errno(rs, err, "%s", why);
}

void
vcpus_op_answer(struct api_response *rs, struct vcpus_op *op, int status)
{
	api_response_json(rs, status, op->op_result);
	json_decref(op->op_result);
	op->op_result = NULL;
}

void
vcpus_op_run(struct api_response *rs, struct vcpus_op *op, enum vmrun_need need,
	     int (*fn)(struct runner *, void *), void *arg, int status)
{
	if (vcpus_op_call(op, need, fn, arg) != 0)
		vcpus_op_problem(rs, op, errno);
	else
		vcpus_op_answer(rs, op, status);
}
