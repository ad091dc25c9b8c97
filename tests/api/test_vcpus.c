/*
 * The vCPU API under /v1/vms/{name}: vcpus and vcpus/{id}, registers
 * (read while running, written while paused, refused writes that change
 * nothing), a vCPU's reset, interrupts, pvclock parameters and memory
 * protection; every 400, 404, 409, 422 and 501 they answer.
 *
 * Cases that run guests (tests/guests, see its README) run on every
 * driver (see harness.h); the few about what one backend alone has skip
 * on the other, saying so.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#ifndef GUESTS_DIR
#error "GUESTS_DIR must name the directory of the test guests' NAME.bin"
#endif

/* Bound for a guest to reach a state it reaches by itself. */
#define WAIT_MS (10000 * harness_time_factor()) /* harness.h */
/* 4 MiB of guest memory: the guests use the first 32 KiB. */
#define VM_MEMORY_MIB HARNESS_VM_MEMORY_MIB
#define VM_MEMORY_BYTES (VM_MEMORY_MIB * 1024 * 1024)
/* Where regs.S spins (README: binutils 2.40), and the flat entry. */
#define REGS_SPIN_RIP 0x1021
#define FLAT_ENTRY 0x1000

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Defines VM name booting image with vcpus vCPUs. */
static void
define_vm(struct harness *h, const char *name, const char *image,
	  unsigned vcpus)
{
	char extra[32];

	snprintf(extra, sizeof(extra), "\"vcpus\":%u", vcpus);
	harness_define_vm(h, name, image, extra);
}

/* POST /v1/vms/name/op with no body; 200 with the VM in state. */
static void
vm_op(struct harness *h, const char *name, const char *op, const char *state)
{
	struct harness_response *r;
	char path[256];

	snprintf(path, sizeof(path), "/v1/vms/%s/%s", name, op);
	r = harness_req(h, "POST", path, NULL, NULL);
	assert_status(r, 200);
	assert_json_str(r, "status.state", state);
}

/* A request to /v1/vms/vm/sub with an optional JSON body. */
static struct harness_response *
req(struct harness *h, const char *method, const char *vm, const char *sub,
    const char *body)
{
	char path[512];

	snprintf(path, sizeof(path), "/v1/vms/%s/%s", vm, sub);
	return harness_req(h, method, path, body, NULL);
}

static const char *
json_str(const struct harness_response *r, const char *dotted)
{
	return json_string_value(harness_json_at(r->hr_json, dotted));
}

/* The register at dotted ("gprs.rax") of a register document. */
static uint64_t
reg(const struct harness_response *r, const char *dotted)
{
	const char *s = json_str(r, dotted);
	char *end;
	uint64_t v;

	if (s == NULL || strncmp(s, "0x", 2) != 0)
		fail_msg("%s %s: %s is not a hex string: %s", r->hr_method,
			 r->hr_path, dotted, r->hr_body);
	v = strtoull(s + 2, &end, 16);
	if (*end != '\0' || end == s + 2)
		fail_msg("%s: \"%s\" is not a hex string", dotted, s);
	return v;
}

/* GET registers of vCPU id (query "" or "?groups=..."), 200. */
static struct harness_response *
get_regs(struct harness *h, const char *vm, unsigned id, const char *query)
{
	struct harness_response *r;
	char sub[128];

	snprintf(sub, sizeof(sub), "vcpus/%u/registers%s", id, query);
	r = req(h, "GET", vm, sub, NULL);
	assert_status(r, 200);
	return r;
}

/* The detail of a problem contains needle. */
static void
assert_detail_has(const struct harness_response *r, const char *needle)
{
	const char *d = json_str(r, "detail");

	if (d == NULL || strstr(d, needle) == NULL)
		fail_msg("%s %s: detail lacks \"%s\": %s", r->hr_method,
			 r->hr_path, needle, r->hr_body);
}

static const char *
console_of(struct harness *h, const char *name)
{
	struct harness_response *r;
	char path[128];

	snprintf(path, sizeof(path), "/v1/vms/%s/console", name);
	r = harness_get(h, path);
	assert_status(r, 200);
	return r->hr_body;
}

/* Polls VM name's console until it is exactly want, or fails. */
static void
wait_console(struct harness *h, const char *name, const char *want)
{
	long long deadline = now_ms() + WAIT_MS;

	while (strcmp(console_of(h, name), want) != 0 && now_ms() < deadline)
		sleep_ms(20);
	assert_string_equal(console_of(h, name), want);
}

/* Polls vCPU id until its state is want. */
static struct harness_response *
wait_vcpu_state(struct harness *h, const char *vm, unsigned id,
		const char *want)
{
	long long deadline = now_ms() + WAIT_MS;
	struct harness_response *r;
	char sub[64];
	const char *s;

	snprintf(sub, sizeof(sub), "vcpus/%u", id);
	for (;;) {
		r = req(h, "GET", vm, sub, NULL);
		assert_status(r, 200);
		s = json_str(r, "state");
		if (s != NULL && strcmp(s, want) == 0)
			return r;
		if (now_ms() > deadline)
			fail_msg("vCPU %u of %s never became %s: %s", id, vm,
				 want, r->hr_body);
		sleep_ms(10);
	}
}

/*
 * Starts the regs guest as VM vm and waits until it reached its final
 * loop (every register set); it is left running.
 */
static void
start_regs_guest(struct harness *h, const char *vm, unsigned vcpus)
{
	long long deadline = now_ms() + WAIT_MS;
	struct harness_response *r;

	harness_put_guest(h, "regs");
	define_vm(h, vm, "regs.bin", vcpus);
	vm_op(h, vm, "start", "running");
	for (;;) {
		r = get_regs(h, vm, 0, "?groups=gprs");
		if (reg(r, "gprs.rip") == REGS_SPIN_RIP &&
		    (reg(r, "gprs.rbp") & 0xffff) == 0x7777)
			return;
		if (now_ms() > deadline)
			fail_msg("the regs guest never reached its loop: %s",
				 r->hr_body);
		sleep_ms(10);
	}
}

/* One item of a vCPU list or a vCPU answer, checked field by field. */
static void
assert_vcpu_item(const json_t *it, unsigned id, const char *state)
{
	char *text = json_dumps(it, JSON_COMPACT);
	const char *s = json_string_value(json_object_get(it, "state"));
	const json_t *exits = json_object_get(it, "exits");
	static const char *const counters[] = {"io", "mmio", "hlt", "other"};
	size_t i;

	if (json_integer_value(json_object_get(it, "id")) != (json_int_t)id ||
	    s == NULL || strcmp(s, state) != 0 || !json_is_object(exits) ||
	    !json_is_integer(json_object_get(it, "unknown_port_reads")) ||
	    !json_is_integer(json_object_get(it, "unknown_port_writes")))
		fail_msg("expected vCPU %u %s, got %s", id, state, text);
	for (i = 0; i < 4; i++)
		if (!json_is_integer(json_object_get(exits, counters[i])))
			fail_msg("exits.%s missing: %s", counters[i], text);
	free(text);
}

/*
 * Skips the case, saying why, where the daemon allows fewer than two
 * vCPUs per VM (it allows at most the host's CPU count).
 */
static void
need_two_vcpus(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");
	json_int_t n;

	assert_status(r, 200);
	n = json_integer_value(harness_json_at(r->hr_json, "limits.vcpus"));
	if (n >= 2)
		return;
	harness_skip(h,
		     "needs VMs with two vCPUs; the daemon allows %lld (the "
		     "host's CPU count)",
		     (long long)n);
}

/* ---- without guests ---- */

static void
test_vcpus__a_vm_that_does_not_run_lists_its_spec_vcpus_stopped(
    struct harness *h)
{
	struct harness_response *r;
	json_t *items;
	unsigned i;

	need_two_vcpus(h);
	define_vm(h, "two", "none.bin", 2);
	r = req(h, "GET", "two", "vcpus", NULL);
	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/json");
	items = json_object_get(r->hr_json, "items");
	assert_int_equal(json_array_size(items), 2);
	for (i = 0; i < 2; i++) {
		json_t *it = json_array_get(items, i);

		assert_vcpu_item(it, i, "stopped");
		assert_int_equal(json_integer_value(json_object_get(
				     json_object_get(it, "exits"), "io")),
				 0);
		assert_int_equal(json_integer_value(json_object_get(
				     it, "unknown_port_writes")),
				 0);
	}
	r = req(h, "GET", "two", "vcpus/1", NULL);
	assert_status(r, 200);
	assert_vcpu_item(r->hr_json, 1, "stopped");
	assert_json_int(r, "exits.hlt", 0);

	/* The spec changes: so does the list of a VM that does not run. */
	assert_status(harness_req(h, "PATCH", "/v1/vms/two", "{\"vcpus\":1}",
				  "Content-Type: application/merge-patch+json",
				  NULL),
		      200);
	r = req(h, "GET", "two", "vcpus", NULL);
	assert_int_equal(json_array_size(json_object_get(r->hr_json, "items")),
			 1);
	assert_problem(req(h, "GET", "two", "vcpus/1", NULL), 404, NULL);
}

static void
test_vcpus__unknown_vms_and_vcpu_ids_are_404(struct harness *h)
{
	static const char *const bad_ids[] = {
	    "1",
	    "64",
	    "-1",
	    "01",
	    "00",
	    "x",
	    "1.0",
	    "0x1",
	    "+1",
	    "1 ",
	    "99999999999999999999999",
	};
	static const char *const subs[] = {
	    "",
	    "/registers",
	};
	struct harness_response *r;
	char sub[128];
	size_t i, j;

	define_vm(h, "one", "none.bin", 1);
	/* No such VM, whatever is asked of it. */
	assert_problem(req(h, "GET", "nope", "vcpus", NULL), 404, NULL);
	assert_problem(req(h, "GET", "nope", "vcpus/0", NULL), 404, NULL);
	assert_problem(req(h, "GET", "nope", "vcpus/0/registers", NULL), 404,
		       NULL);
	assert_problem(req(h, "PUT", "nope", "vcpus/0/registers", "{}"), 404,
		       NULL);
	assert_problem(req(h, "POST", "nope", "vcpus/0/reset", NULL), 404,
		       NULL);
	assert_problem(
	    req(h, "POST", "nope", "vcpus/0/interrupt", "{\"type\":\"nmi\"}"),
	    404, NULL);
	assert_problem(req(h, "GET", "nope", "params", NULL), 404, NULL);
	assert_problem(req(h, "PUT", "nope", "params", "{}"), 404, NULL);
	assert_problem(req(h, "POST", "nope", "memory/protect",
			   "{\"gpa\":\"0x0\",\"size\":4096,\"prot\":\"r\"}"),
		       404, NULL);
	r = req(h, "GET", "%ff%fe", "vcpus", NULL);
	assert_problem(r, 404, NULL);

	/* Ids that are not decimal numbers of one of its vCPUs. */
	for (i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++)
		for (j = 0; j < sizeof(subs) / sizeof(subs[0]); j++) {
			char enc[64];
			size_t k, o = 0;

			/* The space goes percent-encoded. */
			for (k = 0; bad_ids[i][k] != '\0'; k++)
				o += (size_t)snprintf(
				    enc + o, sizeof(enc) - o,
				    bad_ids[i][k] == ' ' ? "%%20" : "%c",
				    bad_ids[i][k]);
			snprintf(sub, sizeof(sub), "vcpus/%s%s", enc, subs[j]);
			assert_problem(req(h, "GET", "one", sub, NULL), 404,
				       NULL);
		}
	assert_problem(req(h, "PUT", "one", "vcpus/1/registers", "{}"), 404,
		       NULL);
	assert_problem(req(h, "POST", "one", "vcpus/1/reset", NULL), 404, NULL);
	r = req(h, "POST", "one", "vcpus/1/interrupt", "{\"type\":\"nmi\"}");
	assert_problem(r, 404, NULL);
	assert_detail_has(r, "0 to 0");
	/* The last one exists. */
	assert_status(req(h, "GET", "one", "vcpus/0", NULL), 200);
}

static void
test_vcpus__unknown_query_parameters_are_400(struct harness *h)
{
	static const struct {
		const char *method, *sub, *body;
	} routes[] = {
	    {"GET", "vcpus?x=1", NULL},
	    {"GET", "vcpus/0?x=1", NULL},
	    {"GET", "vcpus/0/registers?x=1", NULL},
	    {"PUT", "vcpus/0/registers?x=1", "{}"},
	    {"POST", "vcpus/0/reset?x=1", NULL},
	    {"POST", "vcpus/0/interrupt?x=1", "{\"type\":\"nmi\"}"},
	    {"GET", "params?x=1", NULL},
	    {"PUT", "params?x=1", "{}"},
	    {"POST", "memory/protect?x=1",
	     "{\"gpa\":\"0x0\",\"size\":4096,\"prot\":\"r\"}"},
	};
	struct harness_response *r;
	size_t i;

	define_vm(h, "q", "none.bin", 1);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		assert_problem(req(h, routes[i].method, "q", routes[i].sub,
				   routes[i].body),
			       400, "x");

	/* groups: known names only, not empty, not twice. */
	r = req(h, "GET", "q", "vcpus/0/registers?groups=gprs,fpu", NULL);
	assert_problem(r, 400, "groups");
	assert_detail_has(r, "\"fpu\"");
	assert_problem(req(h, "GET", "q", "vcpus/0/registers?groups=", NULL),
		       400, "groups");
	assert_problem(req(h, "GET", "q", "vcpus/0/registers?groups", NULL),
		       400, "groups");
	assert_problem(
	    req(h, "GET", "q", "vcpus/0/registers?groups=gprs,", NULL), 400,
	    "groups");
	assert_problem(
	    req(h, "GET", "q", "vcpus/0/registers?groups=gdtr", NULL), 400,
	    "groups");
	assert_problem(req(h, "GET", "q",
			   "vcpus/0/registers?groups=gprs&groups=crs", NULL),
		       400, "groups");
	/* A client's bytes are echoed as valid UTF-8 (or not at all). */
	r = req(h, "GET", "q", "vcpus/0/registers?groups=%ff%c3", NULL);
	assert_problem(r, 400, "groups");
	r = req(h, "GET", "q", "vcpus/0?%ff=1", NULL);
	assert_problem(r, 400, "?");
}

/* Each bad register document is a 400 naming field. */
static void
regs_put_is_400(struct harness *h, const char *body, const char *field)
{
	struct harness_response *r =
	    req(h, "PUT", "v", "vcpus/0/registers", body);

	assert_problem(r, 400, field);
	assert_json_str(r, "type", "/v1/problems/validation");
}

static void
test_vcpus__register_documents_are_validated_before_the_state(struct harness *h)
{
	define_vm(h, "v", "none.bin", 1);
	regs_put_is_400(h, "{\"gprs\":{\"rxx\":\"0x1\"}}", "gprs.rxx");
	regs_put_is_400(h, "{\"fpu\":{}}", "fpu");
	regs_put_is_400(h, "{\"sregs\":{\"xs\":{}}}", "sregs.xs");
	regs_put_is_400(h, "{\"sregs\":{\"cs\":{\"sel\":\"0x0\"}}}",
			"sregs.cs.sel");
	regs_put_is_400(h, "{\"gdtr\":{\"selector\":\"0x0\"}}",
			"gdtr.selector");
	regs_put_is_400(h, "{\"sregs\":{\"cs\":{\"selector\":\"0x10000\"}}}",
			"sregs.cs.selector");
	regs_put_is_400(h, "{\"sregs\":{\"ds\":{\"limit\":\"0x100000000\"}}}",
			"sregs.ds.limit");
	regs_put_is_400(h, "{\"gprs\":{\"rax\":\"0x\"}}", "gprs.rax");
	regs_put_is_400(h, "{\"gprs\":{\"rax\":\"1f\"}}", "gprs.rax");
	regs_put_is_400(h, "{\"gprs\":{\"rax\":\"-0x1\"}}", "gprs.rax");
	regs_put_is_400(h, "{\"gprs\":{\"rax\":\"0x10000000000000000\"}}",
			"gprs.rax");
	regs_put_is_400(h, "{\"gprs\":{\"rax\":16}}", "gprs.rax");
	regs_put_is_400(h, "{\"crs\":{\"cr0\":null}}", "crs.cr0");
	regs_put_is_400(h, "{\"msrs\":[]}", "msrs");
	/* The document as a whole: no field. */
	regs_put_is_400(h, "[]", NULL);
	assert_problem(req(h, "PUT", "v", "vcpus/0/registers", "[]"), 400,
		       NULL);
	if (json_object_get(
		req(h, "PUT", "v", "vcpus/0/registers", "[]")->hr_json,
		"field") != NULL)
		fail_msg("a problem with the whole document names a field");
	/* The router's checks: a body, JSON, its media type. */
	assert_problem(req(h, "PUT", "v", "vcpus/0/registers", NULL), 400,
		       NULL);
	assert_problem(req(h, "PUT", "v", "vcpus/0/registers", "{"), 400, NULL);
	assert_problem(harness_req(h, "PUT", "/v1/vms/v/vcpus/0/registers",
				   "{}", "Content-Type: text/plain", NULL),
		       415, NULL);
	/* Well-formed, but the VM does not run: the state comes next. */
	assert_problem(req(h, "PUT", "v", "vcpus/0/registers",
			   "{\"gprs\":{\"rax\":\"0X1F\"}}"),
		       409, NULL);
}

static void
test_vcpus__interrupt_params_and_protect_bodies_are_validated(struct harness *h)
{
	static const struct {
		const char *sub, *method, *body, *field;
	} bad[] = {
	    {"vcpus/0/interrupt", "POST", "{}", "type"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":\"smi\"}", "type"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":7}", "type"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":\"irq\"}", "vector"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":\"irq\",\"vector\":256}",
	     "vector"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":\"irq\",\"vector\":-1}",
	     "vector"},
	    {"vcpus/0/interrupt", "POST",
	     "{\"type\":\"irq\",\"vector\":\"32\"}", "vector"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":\"irq\",\"vector\":3.5}",
	     "vector"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":\"nmi\",\"vector\":2}",
	     "vector"},
	    {"vcpus/0/interrupt", "POST", "{\"type\":\"nmi\",\"cpu\":0}",
	     "cpu"},
	    {"vcpus/0/interrupt", "POST", "[]", NULL},
	    {"params", "PUT", "{\"pvclock_system_gpa\":8192}",
	     "pvclock_system_gpa"},
	    {"params", "PUT", "{\"pvclock_system_gpa\":\"0x2002\"}",
	     "pvclock_system_gpa"},
	    {"params", "PUT", "{\"pvclock_system_gpa\":\"0x2ff0\"}",
	     "pvclock_system_gpa"},
	    {"params", "PUT", "{\"pvclock_version\":-1}", "pvclock_version"},
	    {"params", "PUT", "{\"pvclock_version\":4294967296}",
	     "pvclock_version"},
	    {"params", "PUT", "{\"pvclock_version\":\"1\"}", "pvclock_version"},
	    {"params", "PUT", "{\"pvclock\":1}", "pvclock"},
	    {"params", "PUT", "7", NULL},
	    {"memory/protect", "POST", "{\"size\":4096,\"prot\":\"r\"}", "gpa"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1001\",\"size\":4096,\"prot\":\"r\"}", "gpa"},
	    {"memory/protect", "POST",
	     "{\"gpa\":4096,\"size\":4096,\"prot\":\"r\"}", "gpa"},
	    {"memory/protect", "POST", "{\"gpa\":\"0x1000\",\"prot\":\"r\"}",
	     "size"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1000\",\"size\":0,\"prot\":\"r\"}", "size"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1000\",\"size\":100,\"prot\":\"r\"}", "size"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1000\",\"size\":-4096,\"prot\":\"r\"}", "size"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1000\",\"size\":\"4096\",\"prot\":\"r\"}", "size"},
	    {"memory/protect", "POST", "{\"gpa\":\"0x1000\",\"size\":4096}",
	     "prot"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1000\",\"size\":4096,\"prot\":\"w\"}", "prot"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1000\",\"size\":4096,\"prot\":\"R\"}", "prot"},
	    {"memory/protect", "POST",
	     "{\"gpa\":\"0x1000\",\"size\":4096,\"prot\":\"r\",\"x\":1}", "x"},
	};
	size_t i;

	define_vm(h, "v", "none.bin", 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct harness_response *r =
		    req(h, bad[i].method, "v", bad[i].sub, bad[i].body);

		assert_problem(r, 400, bad[i].field);
	}
	/* Bodies are required, and JSON. */
	assert_problem(req(h, "POST", "v", "vcpus/0/interrupt", NULL), 400,
		       NULL);
	assert_problem(harness_req(h, "POST", "/v1/vms/v/memory/protect", "{}",
				   "Content-Type: text/plain", NULL),
		       415, NULL);
	assert_problem(req(h, "PUT", "v", "params", NULL), 400, NULL);
}

static void
test_vcpus__operations_on_a_vm_that_does_not_run_are_409(struct harness *h)
{
	static const struct {
		const char *method, *sub, *body;
	} ops[] = {
	    {"GET", "vcpus/0/registers", NULL},
	    {"GET", "vcpus/0/registers?groups=crs", NULL},
	    {"PUT", "vcpus/0/registers", "{\"gprs\":{\"rax\":\"0x1\"}}"},
	    {"PUT", "vcpus/0/registers", "{}"},
	    {"POST", "vcpus/0/reset", NULL},
	    {"POST", "vcpus/0/interrupt", "{\"type\":\"irq\",\"vector\":32}"},
	    {"POST", "vcpus/0/interrupt", "{\"type\":\"nmi\"}"},
	    {"GET", "params", NULL},
	    {"PUT", "params", "{\"pvclock_version\":1}"},
	    {"POST", "memory/protect",
	     "{\"gpa\":\"0x0\",\"size\":4096,\"prot\":\"r\"}"},
	    {"POST", "memory/protect",
	     "{\"gpa\":\"0x0\",\"size\":4096,\"prot\":\"x\"}"},
	};
	size_t i;

	define_vm(h, "idle", "none.bin", 1);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct harness_response *r =
		    req(h, ops[i].method, "idle", ops[i].sub, ops[i].body);

		assert_problem(r, 409, NULL);
		assert_json_str(r, "type", "/v1/problems/invalid-state");
		assert_detail_has(r, "defined");
	}
}

/* ---- with guests ---- */

static void
test_vcpus__registers_of_a_running_guest_are_read_during_a_pause(
    struct harness *h)
{
	static const struct {
		const char *reg;
		unsigned v;
	} want[] = {
	    {"gprs.rax", 0x1111}, {"gprs.rbx", 0x2222}, {"gprs.rcx", 0x3333},
	    {"gprs.rdx", 0x4444}, {"gprs.rsi", 0x5555}, {"gprs.rdi", 0x6666},
	    {"gprs.rbp", 0x7777},
	};
	struct harness_response *r;
	const char *etag;
	char keys[128] = "", *text;
	const char *k;
	json_t *v;
	size_t i;

	start_regs_guest(h, "regs", 1);
	etag = harness_header(harness_get(h, "/v1/vms/regs"), "ETag");
	assert_non_null(etag);

	r = get_regs(h, "regs", 0, "");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(reg(r, want[i].reg) & 0xffff, want[i].v);
	assert_int_equal(reg(r, "gprs.rsp") & 0xffff, 0x8000);
	assert_int_equal(reg(r, "gprs.rip"), REGS_SPIN_RIP);
	assert_int_equal(reg(r, "sregs.cs.selector"), 0);
	assert_int_equal(reg(r, "sregs.cs.base"), 0);
	assert_int_equal(reg(r, "sregs.ds.selector"), 0);
	assert_int_equal(reg(r, "sregs.ss.selector"), 0);
	/* Real mode, and the other groups are there. */
	assert_int_equal(reg(r, "crs.cr0") & 1, 0);
	assert_int_equal(reg(r, "msrs.efer"), 0);
	reg(r, "gdtr.limit");
	reg(r, "idtr.base");
	reg(r, "drs.dr7");
	json_object_foreach (r->hr_json, k, v) {
		strcat(keys, k);
		strcat(keys, ",");
	}
	assert_string_equal(keys, "gprs,sregs,gdtr,idtr,crs,msrs,drs,");

	/* Only the groups asked for. */
	r = get_regs(h, "regs", 0, "?groups=sregs,drs");
	keys[0] = '\0';
	json_object_foreach (r->hr_json, k, v) {
		strcat(keys, k);
		strcat(keys, ",");
	}
	assert_string_equal(keys, "sregs,gdtr,idtr,drs,");
	r = get_regs(h, "regs", 0, "?groups=crs");
	text = json_dumps(r->hr_json, JSON_COMPACT);
	if (json_object_size(r->hr_json) != 1 ||
	    json_object_get(r->hr_json, "crs") == NULL)
		fail_msg("groups=crs answered %s", text);
	free(text);

	/* The read paused and resumed the VM: still running, unchanged. */
	r = harness_get(h, "/v1/vms/regs");
	assert_json_str(r, "status.state", "running");
	assert_header(r, "ETag", etag);
	assert_string_equal(console_of(h, "regs"), "");
	r = req(h, "GET", "regs", "vcpus/0", NULL);
	assert_vcpu_item(r->hr_json, 0, "running");
	vm_op(h, "regs", "stop?force=1", "stopped");
	/* Over: 409 again. */
	assert_problem(req(h, "GET", "regs", "vcpus/0/registers", NULL), 409,
		       NULL);
}

static void
test_vcpus__a_register_write_while_paused_redirects_regsout(struct harness *h)
{
	struct harness_response *r;

	harness_put_guest(h, "regsout");
	define_vm(h, "out", "regsout.bin", 1);
	vm_op(h, "out", "start", "running");
	/* Writes need a pause: the guest must not run in between. */
	r = req(h, "PUT", "out", "vcpus/0/registers",
		"{\"gprs\":{\"rip\":\"0x1002\",\"rbx\":\"0xBEEF\"}}");
	assert_problem(r, 409, NULL);
	assert_detail_has(r, "running");
	vm_op(h, "out", "pause", "paused");
	r = get_regs(h, "out", 0, "?groups=gprs");
	assert_int_equal(reg(r, "gprs.rip"), FLAT_ENTRY);

	r = req(h, "PUT", "out", "vcpus/0/registers",
		"{\"gprs\":{\"rip\":\"0x1002\",\"rbx\":\"0xBEEF\"}}");
	assert_status(r, 200);
	/* The whole document after the write, in lower case. */
	assert_json_str(r, "gprs.rip", "0x1002");
	assert_json_str(r, "gprs.rbx", "0xbeef");
	assert_int_equal(reg(r, "sregs.cs.selector"), 0);
	assert_non_null(json_object_get(r->hr_json, "drs"));
	/* What was not named kept its value. */
	r = get_regs(h, "out", 0, "?groups=gprs");
	assert_int_equal(reg(r, "gprs.rip"), 0x1002);
	assert_int_equal(reg(r, "gprs.rbx"), 0xbeef);
	/* An empty document writes nothing and answers the same. */
	r = req(h, "PUT", "out", "vcpus/0/registers", "{}");
	assert_status(r, 200);
	assert_json_str(r, "gprs.rbx", "0xbeef");

	assert_string_equal(console_of(h, "out"), "");
	vm_op(h, "out", "resume", "running");
	wait_console(h, "out", "BEEF\n");
	r = harness_wait_vm_state(h, "out", "stopped", WAIT_MS);
	assert_json_int(r, "status.exit_status", 0);
	assert_json_str(r, "status.exit_reason", "debug-exit port");
}

/* PUT body must be 422 and leave every register as it was. */
static void
refused_write_changes_nothing(struct harness *h, const char *body)
{
	struct harness_response *before, *r, *after;

	before = get_regs(h, "regs", 0, "");
	r = req(h, "PUT", "regs", "vcpus/0/registers", body);
	assert_problem(r, 422, NULL);
	assert_json_str(r, "type", "/v1/problems/refused");
	assert_detail_has(r, harness_driver());
	assert_detail_has(r, "Invalid argument");
	after = get_regs(h, "regs", 0, "");
	if (!json_equal(before->hr_json, after->hr_json))
		fail_msg("a refused write (%s) changed registers:\nbefore "
			 "%s\nafter %s",
			 body, before->hr_body, after->hr_body);
}

static void
test_vcpus__registers_the_hardware_refuses_are_422_and_change_nothing(
    struct harness *h)
{
	start_regs_guest(h, "regs", 1);
	vm_op(h, "regs", "pause", "paused");
	/* Paging without protection, with GPRs in the same write. */
	refused_write_changes_nothing(
	    h,
	    "{\"gprs\":{\"rax\":\"0xdead\"},\"crs\":{\"cr0\":\"0x80000000\"}}");
	/* A reserved CR4 bit with new segments. */
	refused_write_changes_nothing(
	    h, "{\"sregs\":{\"ds\":{\"base\":\"0x5000\"}},"
	       "\"crs\":{\"cr4\":\"0x8000000000000000\"}}");
	/* DR7's upper half is reserved. */
	refused_write_changes_nothing(
	    h,
	    "{\"gprs\":{\"rbx\":\"0x1\"},\"drs\":{\"dr7\":\"0x10000000000\"}}");
	/* A non-canonical LSTAR. */
	refused_write_changes_nothing(h, "{\"msrs\":{\"star\":\"0x1111\","
					 "\"lstar\":\"0x8000000000000000\"}}");
	/* A GDT limit past what the table register holds. */
	refused_write_changes_nothing(h, "{\"gdtr\":{\"limit\":\"0x10000\"}}");

	/* The guest runs on where it was. */
	vm_op(h, "regs", "resume", "running");
	vm_op(h, "regs", "pause", "paused");
	assert_int_equal(
	    reg(get_regs(h, "regs", 0, "?groups=gprs"), "gprs.rip"),
	    REGS_SPIN_RIP);
}

static void
test_vcpus__a_vcpu_reset_returns_it_to_the_flat_entry(struct harness *h)
{
	struct harness_response *r;
	long long deadline;

	need_two_vcpus(h);
	start_regs_guest(h, "regs", 2);
	/* Needs a pause. */
	assert_problem(req(h, "POST", "regs", "vcpus/0/reset", NULL), 409,
		       NULL);
	vm_op(h, "regs", "pause", "paused");
	r = req(h, "POST", "regs", "vcpus/0/reset", NULL);
	assert_status(r, 200);
	assert_vcpu_item(r->hr_json, 0, "paused");
	/* Exits counted before the reset stay. */
	if (json_integer_value(harness_json_at(r->hr_json, "exits.other")) < 1)
		fail_msg("the pauses were not counted: %s", r->hr_body);

	r = get_regs(h, "regs", 0, "");
	assert_int_equal(reg(r, "gprs.rip"), FLAT_ENTRY);
	assert_int_equal(reg(r, "sregs.cs.selector"), 0);
	assert_int_equal(reg(r, "sregs.cs.base"), 0);
	assert_int_equal(reg(r, "gprs.rax"), 0);
	assert_int_equal(reg(r, "gprs.rbp"), 0);
	/* The power-on values of the rest. */
	assert_int_equal(reg(r, "gprs.rdx"), 0x600);
	assert_int_equal(reg(r, "gprs.rflags"), 0x2);
	assert_int_equal(reg(r, "crs.cr0"), 0x60000010);
	assert_int_equal(reg(r, "drs.dr7"), 0x400);

	/* vCPU 1 goes to the reset vector and keeps waiting there. */
	r = req(h, "POST", "regs", "vcpus/1/reset", NULL);
	assert_status(r, 200);
	assert_vcpu_item(r->hr_json, 1, "paused");
	r = get_regs(h, "regs", 1, "");
	assert_int_equal(reg(r, "sregs.cs.selector"), 0xf000);
	assert_int_equal(reg(r, "sregs.cs.base"), 0xffff0000);
	assert_int_equal(reg(r, "gprs.rip"), 0xfff0);

	/* Resumed, vCPU 0 runs the guest again from its entry. */
	vm_op(h, "regs", "resume", "running");
	deadline = now_ms() + WAIT_MS;
	for (;;) {
		r = get_regs(h, "regs", 0, "?groups=gprs");
		if (reg(r, "gprs.rip") == REGS_SPIN_RIP &&
		    (reg(r, "gprs.rbp") & 0xffff) == 0x7777)
			break;
		if (now_ms() > deadline)
			fail_msg("the reset guest never ran again: %s",
				 r->hr_body);
		sleep_ms(10);
	}
	assert_int_equal(reg(r, "gprs.rax") & 0xffff, 0x1111);
	r = req(h, "GET", "regs", "vcpus", NULL);
	assert_vcpu_item(
	    json_array_get(json_object_get(r->hr_json, "items"), 1), 1,
	    "halted");
	assert_json_str(harness_get(h, "/v1/vms/regs"), "status.state",
			"running");
}

/* Starts intr as VM vm and waits until it waits for an interrupt. */
static void
start_intr_guest(struct harness *h, const char *vm, unsigned vcpus)
{
	harness_put_guest(h, "intr");
	define_vm(h, vm, "intr.bin", vcpus);
	vm_op(h, vm, "start", "running");
	wait_console(h, vm, "ready\n");
	wait_vcpu_state(h, vm, 0, "halted");
}

static void
test_vcpus__irq_32_reaches_the_intr_guest(struct harness *h)
{
	struct harness_response *r;
	json_t *items, *it;

	need_two_vcpus(h);
	start_intr_guest(h, "intr", 2);
	/* Both vCPUs wait: 0 in its HLT loop, 1 for a start-up IPI. */
	r = req(h, "GET", "intr", "vcpus", NULL);
	assert_status(r, 200);
	items = json_object_get(r->hr_json, "items");
	assert_int_equal(json_array_size(items), 2);
	it = json_array_get(items, 0);
	assert_vcpu_item(it, 0, "halted");
	/* "ready\n": one port write per byte, then one HLT. */
	if (json_integer_value(harness_json_at(it, "exits.io")) < 6 ||
	    json_integer_value(harness_json_at(it, "exits.hlt")) < 1)
		fail_msg("vCPU 0's exits were not counted: %s", r->hr_body);
	assert_vcpu_item(json_array_get(items, 1), 1, "halted");

	r = req(h, "POST", "intr", "vcpus/0/interrupt",
		"{\"type\":\"irq\",\"vector\":32}");
	assert_status(r, 202);
	assert_header(r, "Content-Type", "application/json");
	if (!json_is_true(json_object_get(r->hr_json, "queued")))
		fail_msg("the answer is not {\"queued\": true}: %s",
			 r->hr_body);
	r = harness_wait_vm_state(h, "intr", "stopped", WAIT_MS);
	assert_json_int(r, "status.exit_status", 0);
	assert_string_equal(console_of(h, "intr"), "ready\nirq 32\n");
	/* The run is over: interrupts are refused. */
	assert_problem(
	    req(h, "POST", "intr", "vcpus/0/interrupt", "{\"type\":\"nmi\"}"),
	    409, NULL);
}

static void
test_vcpus__an_nmi_sent_while_paused_arrives_on_resume(struct harness *h)
{
	struct harness_response *r;

	start_intr_guest(h, "intr", 1);
	vm_op(h, "intr", "pause", "paused");
	r = req(h, "POST", "intr", "vcpus/0/interrupt", "{\"type\":\"nmi\"}");
	assert_status(r, 202);
	/* Queued, not taken: the guest does not run. */
	sleep_ms(100);
	assert_string_equal(console_of(h, "intr"), "ready\n");
	assert_json_str(harness_get(h, "/v1/vms/intr"), "status.state",
			"paused");
	vm_op(h, "intr", "resume", "running");
	r = harness_wait_vm_state(h, "intr", "stopped", WAIT_MS);
	assert_json_int(r, "status.exit_status", 0);
	assert_string_equal(console_of(h, "intr"), "ready\nnmi\n");
}

/* A VM running keeps the vCPUs it started with while its spec changes. */
static void
test_vcpus__a_running_vm_keeps_the_vcpus_it_started_with(struct harness *h)
{
	struct harness_response *r;

	need_two_vcpus(h);
	start_intr_guest(h, "intr", 2);
	assert_status(harness_req(h, "PATCH", "/v1/vms/intr", "{\"vcpus\":1}",
				  "Content-Type: application/merge-patch+json",
				  NULL),
		      200);
	r = req(h, "GET", "intr", "vcpus", NULL);
	assert_int_equal(json_array_size(json_object_get(r->hr_json, "items")),
			 2);
	assert_status(req(h, "GET", "intr", "vcpus/1", NULL), 200);
	assert_status(get_regs(h, "intr", 1, "?groups=gprs"), 200);
	assert_problem(req(h, "GET", "intr", "vcpus/2", NULL), 404, NULL);
	assert_problem(req(h, "GET", "intr", "vcpus/2/registers", NULL), 404,
		       NULL);
	vm_op(h, "intr", "stop?force=1", "stopped");
	/* Stopped: the spec's count again. */
	assert_problem(req(h, "GET", "intr", "vcpus/1", NULL), 404, NULL);
	r = req(h, "GET", "intr", "vcpus/0", NULL);
	assert_vcpu_item(r->hr_json, 0, "stopped");
	assert_json_int(r, "exits.io", 0);
}

static void
test_vcpus__pvclock_params_are_read_and_written(struct harness *h)
{
	struct harness_response *r;
	char body[128];

	harness_need_driver(h, "kvm",
			    "pvclock (kvmclock); the sim's params are 501");
	start_regs_guest(h, "regs", 1);
	r = req(h, "GET", "regs", "params", NULL);
	assert_status(r, 200);
	assert_json_str(r, "pvclock_system_gpa", "0x0");
	assert_json_int(r, "pvclock_version", 0);

	r = req(h, "PUT", "regs", "params",
		"{\"pvclock_system_gpa\":\"0x2000\",\"pvclock_version\":2}");
	assert_status(r, 200);
	assert_json_str(r, "pvclock_system_gpa", "0x2000");
	assert_json_int(r, "pvclock_version", 2);
	r = req(h, "GET", "regs", "params", NULL);
	assert_status(r, 200);
	assert_json_str(r, "pvclock_system_gpa", "0x2000");
	/* The backend updates the structure, and its version, itself. */
	if (json_integer_value(json_object_get(r->hr_json, "pvclock_version")) <
	    2)
		fail_msg("the version went back: %s", r->hr_body);
	/* The VM was paused around each call and runs on. */
	assert_json_str(harness_get(h, "/v1/vms/regs"), "status.state",
			"running");

	/* A member left out keeps its value. */
	r = req(h, "PUT", "regs", "params", "{\"pvclock_version\":40}");
	assert_status(r, 200);
	assert_json_str(r, "pvclock_system_gpa", "0x2000");
	assert_json_int(r, "pvclock_version", 40);

	/* The structure must fit in guest memory: the last 32 bytes do. */
	snprintf(body, sizeof(body), "{\"pvclock_system_gpa\":\"0x%x\"}",
		 VM_MEMORY_BYTES - 32);
	assert_status(req(h, "PUT", "regs", "params", body), 200);
	snprintf(body, sizeof(body), "{\"pvclock_system_gpa\":\"0x%x\"}",
		 VM_MEMORY_BYTES);
	assert_problem(req(h, "PUT", "regs", "params", body), 400,
		       "pvclock_system_gpa");
	assert_problem(req(h, "PUT", "regs", "params",
			   "{\"pvclock_system_gpa\":\"0xffffffffffffffe0\"}"),
		       400, "pvclock_system_gpa");
	/* 0 disables it. */
	r = req(h, "PUT", "regs", "params", "{\"pvclock_system_gpa\":\"0x0\"}");
	assert_status(r, 200);
	assert_json_str(r, "pvclock_system_gpa", "0x0");
	/* Paused: no pause around, same answers. */
	vm_op(h, "regs", "pause", "paused");
	assert_status(req(h, "GET", "regs", "params", NULL), 200);
	assert_json_str(harness_get(h, "/v1/vms/regs"), "status.state",
			"paused");
}

static void
test_vcpus__memory_protection_r_and_rw_work_and_x_is_501(struct harness *h)
{
	struct harness_response *r;
	char body[160], detail[80];

	start_regs_guest(h, "regs", 1);
	r = req(h, "POST", "regs", "memory/protect",
		"{\"gpa\":\"0x10000\",\"size\":8192,\"prot\":\"r\"}");
	assert_status(r, 200);
	assert_json_str(r, "gpa", "0x10000");
	assert_json_int(r, "size", 8192);
	assert_json_str(r, "prot", "r");
	r = req(h, "POST", "regs", "memory/protect",
		"{\"gpa\":\"0X11000\",\"size\":4096,\"prot\":\"rw\"}");
	assert_status(r, 200);
	assert_json_str(r, "gpa", "0x11000");
	assert_json_str(r, "prot", "rw");
	/* The guest was paused around the calls and still runs. */
	assert_json_str(harness_get(h, "/v1/vms/regs"), "status.state",
			"running");
	assert_int_equal(
	    reg(get_regs(h, "regs", 0, "?groups=gprs"), "gprs.rip"),
	    REGS_SPIN_RIP);

	/* Protections the API knows and no backend can express. */
	r = req(h, "POST", "regs", "memory/protect",
		"{\"gpa\":\"0x10000\",\"size\":4096,\"prot\":\"x\"}");
	assert_problem(r, 501, NULL);
	snprintf(detail, sizeof(detail),
		 "the %s backend cannot express execute-only protection",
		 harness_driver());
	assert_json_str(r, "detail", detail);
	r = req(h, "POST", "regs", "memory/protect",
		"{\"gpa\":\"0x10000\",\"size\":4096,\"prot\":\"none\"}");
	assert_problem(r, 501, NULL);
	assert_detail_has(r, "no-access");

	/* Inside guest memory: the last page is, the next one is not. */
	snprintf(body, sizeof(body),
		 "{\"gpa\":\"0x%x\",\"size\":4096,\"prot\":\"r\"}",
		 VM_MEMORY_BYTES - 4096);
	assert_status(req(h, "POST", "regs", "memory/protect", body), 200);
	snprintf(body, sizeof(body),
		 "{\"gpa\":\"0x%x\",\"size\":4096,\"prot\":\"r\"}",
		 VM_MEMORY_BYTES);
	assert_problem(req(h, "POST", "regs", "memory/protect", body), 400,
		       "gpa");
	snprintf(body, sizeof(body),
		 "{\"gpa\":\"0x%x\",\"size\":8192,\"prot\":\"r\"}",
		 VM_MEMORY_BYTES - 4096);
	assert_problem(req(h, "POST", "regs", "memory/protect", body), 400,
		       "size");
	assert_problem(req(h, "POST", "regs", "memory/protect",
			   "{\"gpa\":\"0xfffffffffffff000\",\"size\":8192,"
			   "\"prot\":\"r\"}"),
		       400, NULL);
}

/*
 * A read-only range stays readable and executable: with the page of the
 * interrupt vector table and the page of its code read-only, the intr
 * guest still takes an NMI through the table and runs its handler (its
 * stack, at 0x7ffa, stays writable).
 */
static void
test_vcpus__read_only_memory_stays_readable_by_the_guest(struct harness *h)
{
	struct harness_response *r;

	start_intr_guest(h, "intr", 1);
	r = req(h, "POST", "intr", "memory/protect",
		"{\"gpa\":\"0x0\",\"size\":8192,\"prot\":\"r\"}");
	assert_status(r, 200);
	assert_json_str(r, "gpa", "0x0");
	assert_status(
	    req(h, "POST", "intr", "vcpus/0/interrupt", "{\"type\":\"nmi\"}"),
	    202);
	r = harness_wait_vm_state(h, "intr", "stopped", WAIT_MS);
	assert_json_int(r, "status.exit_status", 0);
	assert_string_equal(console_of(h, "intr"), "ready\nnmi\n");
}

/*
 * A guest write to read-only memory leaves the guest as an MMIO exit and
 * changes nothing, and the guest goes on: the intr guest, reset to its
 * entry with its vector table's page read-only, writes its four vector
 * words again (each an MMIO exit), prints "ready" again and still takes
 * an NMI through the table it could not write.
 */
static void
test_vcpus__a_guest_write_to_read_only_memory_is_an_mmio_exit(struct harness *h)
{
	struct harness_response *r;
	json_int_t mmio;

	start_intr_guest(h, "intr", 1);
	r = req(h, "GET", "intr", "vcpus/0", NULL);
	assert_json_int(r, "exits.mmio", 0);
	vm_op(h, "intr", "pause", "paused");
	assert_status(req(h, "POST", "intr", "memory/protect",
			  "{\"gpa\":\"0x0\",\"size\":4096,\"prot\":\"r\"}"),
		      200);
	assert_status(req(h, "POST", "intr", "vcpus/0/reset", NULL), 200);
	vm_op(h, "intr", "resume", "running");
	wait_console(h, "intr", "ready\nready\n");
	r = wait_vcpu_state(h, "intr", 0, "halted");
	mmio = json_integer_value(harness_json_at(r->hr_json, "exits.mmio"));
	print_message("MMIO exits after the IVT writes: %lld\n",
		      (long long)mmio);
	if (mmio < 4)
		fail_msg("four writes to read-only memory, %lld MMIO exits: %s",
			 (long long)mmio, r->hr_body);
	assert_json_str(harness_get(h, "/v1/vms/intr"), "status.state",
			"running");
	assert_status(
	    req(h, "POST", "intr", "vcpus/0/interrupt", "{\"type\":\"nmi\"}"),
	    202);
	r = harness_wait_vm_state(h, "intr", "stopped", WAIT_MS);
	assert_json_int(r, "status.exit_status", 0);
	assert_string_equal(console_of(h, "intr"), "ready\nready\nnmi\n");
}

/* Every other read-only page: more pieces than kvm keeps slots for. */
static void
test_vcpus__too_many_protected_ranges_are_422(struct harness *h)
{
	struct harness_response *r = NULL;
	char body[160];
	unsigned i;

	harness_need_driver(h, "kvm",
			    "KVM's memory slots run out; the sim keeps any "
			    "number of protected ranges");
	start_regs_guest(h, "regs", 1);
	vm_op(h, "regs", "pause", "paused");
	for (i = 0; i < 64; i++) {
		snprintf(body, sizeof(body),
			 "{\"gpa\":\"0x%x\",\"size\":4096,\"prot\":\"r\"}",
			 0x100000 + i * 0x2000);
		r = req(h, "POST", "regs", "memory/protect", body);
		if (r->hr_status != 200)
			break;
	}
	assert_problem(r, 422, NULL);
	assert_json_str(r, "type", "/v1/problems/refused");
	print_message("protection refused at range %u\n", i);
	/* The guest still runs. */
	vm_op(h, "regs", "resume", "running");
	vm_op(h, "regs", "pause", "paused");
	assert_int_equal(
	    reg(get_regs(h, "regs", 0, "?groups=gprs"), "gprs.rip"),
	    REGS_SPIN_RIP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_vcpus__a_vm_that_does_not_run_lists_its_spec_vcpus_stopped,
		0),
	    HARNESS_CASE(test_vcpus__unknown_vms_and_vcpu_ids_are_404, 0),
	    HARNESS_CASE(test_vcpus__unknown_query_parameters_are_400, 0),
	    HARNESS_CASE(
		test_vcpus__register_documents_are_validated_before_the_state,
		0),
	    HARNESS_CASE(
		test_vcpus__interrupt_params_and_protect_bodies_are_validated,
		0),
	    HARNESS_CASE(
		test_vcpus__operations_on_a_vm_that_does_not_run_are_409, 0),
	    HARNESS_CASE(
		test_vcpus__registers_of_a_running_guest_are_read_during_a_pause,
		0),
	    HARNESS_CASE(
		test_vcpus__a_register_write_while_paused_redirects_regsout, 0),
	    HARNESS_CASE(
		test_vcpus__registers_the_hardware_refuses_are_422_and_change_nothing,
		0),
	    HARNESS_CASE(test_vcpus__a_vcpu_reset_returns_it_to_the_flat_entry,
			 0),
	    HARNESS_CASE(test_vcpus__irq_32_reaches_the_intr_guest, 0),
	    HARNESS_CASE(test_vcpus__an_nmi_sent_while_paused_arrives_on_resume,
			 0),
	    HARNESS_CASE(
		test_vcpus__a_running_vm_keeps_the_vcpus_it_started_with, 0),
	    HARNESS_CASE(test_vcpus__pvclock_params_are_read_and_written, 0),
	    HARNESS_CASE(
		test_vcpus__memory_protection_r_and_rw_work_and_x_is_501, 0),
	    HARNESS_CASE(
		test_vcpus__read_only_memory_stays_readable_by_the_guest, 0),
	    HARNESS_CASE(
		test_vcpus__a_guest_write_to_read_only_memory_is_an_mmio_exit,
		0),
	    HARNESS_CASE(test_vcpus__too_many_protected_ranges_are_422, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
