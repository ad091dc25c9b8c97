/*
 * Private to the handlers of the driver operations on a VM under
 * /v1/vms/{name} (api/vcpus_op.c):
 *
 *   api/vcpus.c          vcpus, vcpus/{id}, its registers, reset, interrupt
 *   api/vcpus_params.c   params (pvclock)
 *   api/vcpus_protect.c  memory/protect
 *
 * Each handler finds the VM (404), checks its request (400), then runs
 * one operation on the VM's runner with the VM's lifecycle lock held
 * (core/vmrun.c), so no start, stop or reset interleaves, and answers
 * what the operation left in its struct vcpus_op: a document, or the
 * kind of problem and the sentence that explain a failure.
 */
#ifndef VMMAPID_API_VCPUS_OP_H
#define VMMAPID_API_VCPUS_OP_H

#include <jansson.h>

#include "api/handlers.h"
#include "api/problem.h"
#include "core/vmrun.h"

/* Guest pages as vm_protect and pvclock count them. */
#define VCPUS_PAGE 4096ULL

/*
 * The status of a backend failure nothing more specific explains: the
 * errno's (problem.c), except that an EINVAL here is no client's fault.
 */
#define VCPUS_OTHER_KIND(err)                                                  \
	((err) == EINVAL ? PROBLEM_INTERNAL : problem_kind_from_errno(err))

/*
 * One operation on a VM's runner: what it is about, and what comes back.
 * op_kind, op_why and op_field explain a failure the operation
 * understood.  The inputs of each kind of operation are its file's, in a
 * struct that holds this one.
 */
struct vcpus_op {
	const struct api_context *op_ctx;
	const char *op_name;       /* the VM, as the caller names it */
	const char *op_key;        /* its key (api_call's ca_vm) */
	unsigned op_id;            /* the vCPU */
	enum problem_kind op_kind; /* when op_kind_set */
	int op_kind_set;
	char op_field[96];
	char op_why[320];
	json_t *op_result; /* new reference, for the response */
};

/*
 * Sets op up (zeroed) for the VM named by call's first parameter and
 * answers 404 unless that VM is defined and, when id_str is not NULL,
 * id_str names one of its vCPUs (op_id).  A VM that does not run has the
 * vCPUs of its spec; one that runs, those it was started with, checked
 * again under its lock by the operation (the spec may have changed
 * meanwhile).  *nvcpus (may be NULL): the spec's count.  0 or -1.
 */
int vcpus_op_begin(struct vcpus_op *op, const struct api_context *ctx,
		   const struct api_call *call, const char *id_str,
		   unsigned *nvcpus, struct api_response *rs);

/*
 * Answers 400 unless body is a JSON object whose members are all in
 * known (NULL-terminated).  0 or -1.
 */
int vcpus_op_body(const json_t *body, const char *const *known,
		  struct api_response *rs);

/* Whether v is an integer from min to max; then its value into *out. */
int vcpus_op_integer(const json_t *v, json_int_t min, json_int_t max,
		     json_int_t *out);

/*
 * Fails op, from inside the operation, with a kind of problem, the
 * member of the request it is about (NULL: none) and a sentence.  Sets
 * errno to err for vmrun and returns -1.
 */
int vcpus_op_fail(struct vcpus_op *op, enum problem_kind kind, int err,
		  const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Keeps doc (a new reference, or NULL) as op's result, from inside the
 * operation: 0, or -1 ENOMEM for NULL.
 */
int vcpus_op_result(struct vcpus_op *op, json_t *doc);

/*
 * Runs fn(runner, arg) on op's VM, which must be as need says.  0, or -1
 * with errno and op saying why (vcpus_op_problem answers it).
 */
int vcpus_op_call(struct vcpus_op *op, enum vmrun_need need,
		  int (*fn)(struct runner *, void *), void *arg);

/* The problem for a failed operation: the kind it chose, else errno's. */
void vcpus_op_problem(struct api_response *rs, const struct vcpus_op *op,
		      int err);

/* Answers op_result (which it releases) with status. */
void vcpus_op_answer(struct api_response *rs, struct vcpus_op *op, int status);

/*
 * vcpus_op_call, then the answer: op_result with status, or the
 * problem.
 */
void vcpus_op_run(struct api_response *rs, struct vcpus_op *op,
		  enum vmrun_need need, int (*fn)(struct runner *, void *),
		  void *arg, int status);

#endif
