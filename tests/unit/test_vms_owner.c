/*
 * api/vms.c: who may write a VM is decided on the version written, not
 * only on the one the router saw when the request came (#14).  Between
 * the router's check and the write, the VM may be deleted and defined
 * again by another member: a PUT checked as a definition must not become
 * a replace of that member's VM, nor a DELETE remove it.
 *
 * The interleavings are made deterministic with the database's writer
 * held at a gate (tfixture.h): each write is queued in a known order
 * (db_writer_queued) while the registry still shows the state before it,
 * which is what the router of a later request checks against.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/policy.h"
#include "core/vmreg.h"
#include "db/db.h"
#include "db/db_internal.h"

#include "tfixture.h"

#define VMM_GID 100
#define SPEC(mem)                                                              \
	"{\"name\":\"x\",\"memory_mib\":" #mem ",\"boot\":{\"kind\":\"flat\"," \
	"\"image\":\"hello.bin\"}}"

struct fx {
	struct tfixture f_tf; /* first */
	struct vmreg *f_reg;
	struct policy f_po;
	struct api_context f_ctx;
	struct tgate f_gate;
	int f_gated; /* f_gate is closed */
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	if (vmreg_open(&fx->f_reg, fx->f_tf.tf_db) != 0) {
		tfixture_free(fx);
		return -1;
	}
	fx->f_po.po_vmm_gid = VMM_GID;
	fx->f_ctx.ac_vmreg = fx->f_reg;
	/* No ac_db: no audit records, whose appends would be queued
	 * behind the gate too and blur the count of writes waiting. */
	fx->f_ctx.ac_policy = &fx->f_po;
	fx->f_ctx.ac_driver = "sim";
	fx->f_ctx.ac_driver_reason = "test";
	fx->f_ctx.ac_max_vcpus = 4;
	fx->f_ctx.ac_max_memory_mib = 1024;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	/* A case that failed with the writer held must not hang here. */
	if (fx->f_gated)
		tgate_open(&fx->f_gate);
	vmreg_close(fx->f_reg);
	tfixture_free(fx);
	return 0;
}

static void
gate_close(struct fx *fx)
{
	tgate_close(&fx->f_gate, fx->f_tf.tf_db);
	fx->f_gated = 1;
}

static void
gate_open(struct fx *fx)
{
	fx->f_gated = 0;
	tgate_open(&fx->f_gate);
}

/* One request through api_handle, as server/ makes it. */
struct req {
	struct fx *r_fx;
	struct api_request r_rq;
	const char *r_ctype;
	struct api_response r_rs;
	pthread_t r_thread;
};

static const char *
req_header(void *cls, const char *name)
{
	struct req *r = cls;

	return strcasecmp(name, "Content-Type") == 0 ? r->r_ctype : NULL;
}

/* uid a member of the vmm group (jail "" : the host's). */
static void
req_init(struct req *r, struct fx *fx, uid_t uid, const char *jail,
	 const char *method, const char *path, const char *body)
{
	memset(r, 0, sizeof(*r));
	r->r_fx = fx;
	r->r_rq.rq_method = api_method_parse(method);
	r->r_rq.rq_method_name = method;
	r->r_rq.rq_path = path;
	r->r_rq.rq_header = req_header;
	r->r_rq.rq_header_cls = r;
	r->r_rq.rq_body_fd = -1;
	r->r_rq.rq_principal.pr_known = 1;
	r->r_rq.rq_principal.pr_uid = uid;
	r->r_rq.rq_principal.pr_gid = VMM_GID;
	snprintf(r->r_rq.rq_principal.pr_jail,
		 sizeof(r->r_rq.rq_principal.pr_jail), "%s", jail);
	snprintf(r->r_rq.rq_principal.pr_via,
		 sizeof(r->r_rq.rq_principal.pr_via), "unix");
	if (body != NULL) {
		r->r_rq.rq_body = body;
		r->r_rq.rq_body_len = strlen(body);
		r->r_ctype = strcmp(method, "PATCH") == 0
				 ? "application/merge-patch+json"
				 : "application/json";
	}
}

static void *
req_main(void *arg)
{
	struct req *r = arg;

	api_handle(&r->r_fx->f_ctx, &r->r_rq, &r->r_rs);
	return NULL;
}

/* Starts r on a thread and returns once its write is queued: n jobs
 * wait behind the gate. */
static void
req_start_queued(struct req *r, size_t n)
{
	struct timespec ms = {0, 1000 * 1000};
	int i;

	assert_int_equal(pthread_create(&r->r_thread, NULL, req_main, r), 0);
	for (i = 0; i < 30000 && db_writer_queued(r->r_fx->f_tf.tf_db) < n; i++)
		nanosleep(&ms, NULL);
	assert_int_equal(db_writer_queued(r->r_fx->f_tf.tf_db), n);
}

static int
req_wait(struct req *r)
{
	pthread_join(r->r_thread, NULL);
	return r->r_rs.rs_status;
}

/*
 * Member 1001 defining x with memory mib, as its own request's handler
 * would once the router let it (x gone by then): the write alone, on a
 * thread, queued behind the gate.  Its router check cannot be made here:
 * the registry still shows the x that the write queued before it deletes.
 */
struct define {
	struct fx *d_fx;
	int d_mib;
	int d_rc;
	pthread_t d_thread;
};

static void *
define_main(void *arg)
{
	struct define *d = arg;
	struct vmreg_owner owner = {1001, VMM_GID, ""};
	struct vmreg_doc doc = {0};
	json_t *spec =
	    json_pack("{s:s, s:i, s:{s:s, s:s}}", "name", "x", "memory_mib",
		      d->d_mib, "boot", "kind", "flat", "image", "hello.bin");

	d->d_rc = vmreg_create(d->d_fx->f_reg, "x", spec, &owner, &doc);
	free(doc.vd_body);
	json_decref(spec);
	return NULL;
}

static void
define_start_queued(struct define *d, struct fx *fx, int mib, size_t n)
{
	struct timespec ms = {0, 1000 * 1000};
	int i;

	d->d_fx = fx;
	d->d_mib = mib;
	assert_int_equal(pthread_create(&d->d_thread, NULL, define_main, d), 0);
	for (i = 0; i < 30000 && db_writer_queued(fx->f_tf.tf_db) < n; i++)
		nanosleep(&ms, NULL);
	assert_int_equal(db_writer_queued(fx->f_tf.tf_db), n);
}

/* One request on this thread; its status. */
static int
request(struct fx *fx, uid_t uid, const char *jail, const char *method,
	const char *path, const char *body)
{
	struct req r;
	int status;

	req_init(&r, fx, uid, jail, method, path, body);
	req_main(&r);
	status = r.r_rs.rs_status;
	api_response_clear(&r.r_rs);
	return status;
}

/* VM x's owner uid and memory; -1 owner when there is none. */
static void
vm_x(struct fx *fx, long *owner, long *memory)
{
	json_t *spec;
	uint64_t rev, spec_rev;
	uid_t uid;
	char jail[65];

	*owner = *memory = -1;
	if (vmreg_get_spec_owned(fx->f_reg, "x", &spec, &rev, &spec_rev, &uid,
				 jail) != 0)
		return;
	*owner = (long)uid;
	*memory = (long)json_integer_value(json_object_get(spec, "memory_mib"));
	json_decref(spec);
}

static void
test_vms_owner__a_put_checked_as_a_definition_does_not_replace_a_vm_defined_since(
    void **state)
{
	struct fx *fx = *state;
	struct req b, a;
	long owner, memory;

	gate_close(fx);
	/* Member 1001 defines x: queued, not yet visible. */
	req_init(&b, fx, 1001, "", "PUT", "/v1/vms/x", SPEC(8));
	req_start_queued(&b, 1);
	/* Member 1000's PUT: the router sees no x and checks a definition;
	 * its insert is queued behind 1001's. */
	req_init(&a, fx, 1000, "", "PUT", "/v1/vms/x", SPEC(16));
	req_start_queued(&a, 2);
	gate_open(fx);
	assert_int_equal(req_wait(&b), 201);
	/* x is 1001's by then: a replace of it is refused. */
	assert_int_equal(req_wait(&a), 403);
	vm_x(fx, &owner, &memory);
	assert_int_equal(owner, 1001);
	assert_int_equal(memory, 8);
	api_response_clear(&a.r_rs);
	api_response_clear(&b.r_rs);
}

static void
test_vms_owner__a_delete_checked_on_ones_own_vm_does_not_remove_its_successor(
    void **state)
{
	struct fx *fx = *state;
	struct req del1, del2;
	struct define def;
	long owner, memory;

	assert_int_equal(request(fx, 1000, "", "PUT", "/v1/vms/x", SPEC(8)),
			 201);
	gate_close(fx);
	/* 1000 deletes its x; 1001 defines x anew; 1000 deletes again,
	 * checked by the router against 1000's x, still visible. */
	req_init(&del1, fx, 1000, "", "DELETE", "/v1/vms/x", NULL);
	req_start_queued(&del1, 1);
	define_start_queued(&def, fx, 16, 2);
	req_init(&del2, fx, 1000, "", "DELETE", "/v1/vms/x", NULL);
	req_start_queued(&del2, 3);
	gate_open(fx);
	assert_int_equal(req_wait(&del1), 204);
	pthread_join(def.d_thread, NULL);
	assert_int_equal(def.d_rc, 0);
	/* x is 1001's when 1000's second delete is written: refused. */
	assert_int_equal(req_wait(&del2), 403);
	vm_x(fx, &owner, &memory);
	assert_int_equal(owner, 1001);
	assert_int_equal(memory, 16);
	api_response_clear(&del1.r_rs);
	api_response_clear(&del2.r_rs);
}

static void
test_vms_owner__a_patch_checked_on_ones_own_vm_does_not_change_its_successor(
    void **state)
{
	struct fx *fx = *state;
	struct req del, patch;
	struct define def;
	long owner, memory;

	assert_int_equal(request(fx, 1000, "", "PUT", "/v1/vms/x", SPEC(8)),
			 201);
	gate_close(fx);
	req_init(&del, fx, 1000, "", "DELETE", "/v1/vms/x", NULL);
	req_start_queued(&del, 1);
	define_start_queued(&def, fx, 16, 2);
	req_init(&patch, fx, 1000, "", "PATCH", "/v1/vms/x",
		 "{\"memory_mib\":32}");
	req_start_queued(&patch, 3);
	gate_open(fx);
	assert_int_equal(req_wait(&del), 204);
	pthread_join(def.d_thread, NULL);
	assert_int_equal(def.d_rc, 0);
	assert_int_equal(req_wait(&patch), 403);
	vm_x(fx, &owner, &memory);
	assert_int_equal(owner, 1001);
	assert_int_equal(memory, 16);
	api_response_clear(&del.r_rs);
	api_response_clear(&patch.r_rs);
}

/*
 * The handlers check the version they write even when called without a
 * router check at all: a jail's caller handed a host VM's key (which the
 * router never makes for it) gets 404, another member 403, and nothing
 * changes.
 */
static void
test_vms_owner__handlers_refuse_a_vm_outside_the_callers_reach(void **state)
{
	struct fx *fx = *state;
	struct api_request rq;
	struct api_call call;
	struct api_response rs;
	json_t *body = json_loads(SPEC(64), 0, NULL);
	long owner, memory;
	struct {
		uid_t uid;
		const char *jail;
		int status;
	} who[] = {{1000, "", 403}, {0, "j1", 404}, {1000, "j1", 404}};
	size_t i;

	assert_int_equal(request(fx, 1001, "", "PUT", "/v1/vms/x", SPEC(8)),
			 201);
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
		memset(&rq, 0, sizeof(rq));
		rq.rq_principal.pr_known = 1;
		rq.rq_principal.pr_uid = who[i].uid;
		rq.rq_principal.pr_gid = VMM_GID;
		snprintf(rq.rq_principal.pr_jail,
			 sizeof(rq.rq_principal.pr_jail), "%s", who[i].jail);
		memset(&call, 0, sizeof(call));
		call.ca_rq = &rq;
		call.ca_params[0] = "x";
		snprintf(call.ca_vm, sizeof(call.ca_vm), "x");
		call.ca_body = body;

		memset(&rs, 0, sizeof(rs));
		api_vms_put(&fx->f_ctx, &call, &rs);
		assert_int_equal(rs.rs_status, who[i].status);
		api_response_clear(&rs);
		memset(&rs, 0, sizeof(rs));
		api_vms_delete(&fx->f_ctx, &call, &rs);
		assert_int_equal(rs.rs_status, who[i].status);
		api_response_clear(&rs);
	}
	vm_x(fx, &owner, &memory);
	assert_int_equal(owner, 1001);
	assert_int_equal(memory, 8);
	json_decref(body);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_vms_owner__a_put_checked_as_a_definition_does_not_replace_a_vm_defined_since),
	    T(test_vms_owner__a_delete_checked_on_ones_own_vm_does_not_remove_its_successor),
	    T(test_vms_owner__a_patch_checked_on_ones_own_vm_does_not_change_its_successor),
	    T(test_vms_owner__handlers_refuse_a_vm_outside_the_callers_reach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
