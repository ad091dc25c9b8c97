/*
 * POST /v1/vms/{name}/start, stop, pause, resume, reset against real
 * guests (tests/guests, see its README for what each one does): how each
 * guest's run ends and what is recorded, the state machine and its 409s,
 * the query parameters, images in use, twenty VMs at once, and what a
 * daemon restart does to running and autostart VMs.
 *
 * Cases that run guests run on every driver the host has (harness.h);
 * those about what one backend alone has skip on the other, saying
 * which.  /dev/kvm here may emulate
 * real mode (about 2 million instructions a second): the guests are
 * tiny, and no case asserts a tight timing.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef GUESTS_DIR
#error "GUESTS_DIR must name the directory of the test guests' NAME.bin"
#endif

/* Bound for a guest to reach a state it reaches by itself. */
#define WAIT_MS (10000 * harness_time_factor()) /* harness.h */
/* Guest memory: the guests use the first 32 KiB. */
#define VM_MEMORY "\"memory_mib\":4" /* HARNESS_VM_MEMORY_MIB */
#define MANY_VMS 20

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

/* POST /v1/vms/name/op, query ("" or "?..." ) appended. */
static struct harness_response *
vm_op(struct harness *h, const char *name, const char *op, const char *query)
{
	char path[256];

	snprintf(path, sizeof(path), "/v1/vms/%s/%s%s", name, op, query);
	return harness_req(h, "POST", path, NULL, NULL);
}

static struct harness_response *
get_vm(struct harness *h, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/v1/vms/%s", name);
	return harness_get(h, path);
}

static const char *
json_str(const struct harness_response *r, const char *dotted)
{
	return json_string_value(harness_json_at(r->hr_json, dotted));
}

static void
assert_time_at(const struct harness_response *r, const char *dotted)
{
	if (!harness_is_rfc3339(json_str(r, dotted)))
		fail_msg("%s %s: %s is not an RFC 3339 time: %s", r->hr_method,
			 r->hr_path, dotted, r->hr_body);
}

static void
assert_null_at(const struct harness_response *r, const char *dotted)
{
	if (!json_is_null(harness_json_at(r->hr_json, dotted)))
		fail_msg("%s %s: %s is not null: %s", r->hr_method, r->hr_path,
			 dotted, r->hr_body);
}

/* A 409 invalid-state problem whose detail names the state. */
static void
assert_conflict_naming(const struct harness_response *r, const char *state)
{
	const char *detail;

	assert_problem(r, 409, NULL);
	detail = json_str(r, "detail");
	if (detail == NULL || strstr(detail, state) == NULL)
		fail_msg("%s %s: the 409's detail does not name the state "
			 "\"%s\": %s",
			 r->hr_method, r->hr_path, state, r->hr_body);
}

/* 200 with the VM in state (start's answer may be a later state). */
static void
assert_op_ok(const struct harness_response *r, const char *state)
{
	assert_status(r, 200);
	assert_json_str(r, "status.state", state);
	/* The ETag is the revision of the document sent. */
	assert_json_int(r, "revision", (long long)etag_number(r));
}

/*
 * A repeated request (start of a running VM, stop of a stopped one):
 * 200 with the representation, in state, and the header saying nothing
 * was done, naming the state; no new revision (rev: the one before).
 */
static void
assert_unchanged(const struct harness_response *r, const char *state,
		 uint64_t rev)
{
	const char *said = harness_header(r, "Vmmapid-Unchanged");

	assert_op_ok(r, state);
	if (said == NULL || strstr(said, state) == NULL)
		fail_msg("%s %s: no Vmmapid-Unchanged naming \"%s\": %s",
			 r->hr_method, r->hr_path, state,
			 said != NULL ? said : "(none)");
	if (etag_number(r) != rev)
		fail_msg("%s %s changed nothing but took revision %llu (was "
			 "%llu)",
			 r->hr_method, r->hr_path,
			 (unsigned long long)etag_number(r),
			 (unsigned long long)rev);
}

/* Starts a guest that ends by itself; the start answers 200. */
static void
start_quick_guest(struct harness *h, const char *name)
{
	struct harness_response *r = vm_op(h, name, "start", "");
	const char *state;

	assert_status(r, 200);
	state = json_str(r, "status.state");
	/* A guest this short may be over before the answer. */
	if (state == NULL ||
	    (strcmp(state, "running") != 0 && strcmp(state, "stopped") != 0 &&
	     strcmp(state, "crashed") != 0))
		fail_msg("start answered state %s: %s",
			 state != NULL ? state : "(none)", r->hr_body);
	assert_time_at(r, "status.started_at");
}

static const char *
console_of(struct harness *h, const char *name)
{
	char path[128];
	struct harness_response *r;

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

/* A guest that computes before its first exit runs, prints and halts. */
static void
test_lifecycle__compute_prints_after_its_loop_and_halts(struct harness *h)
{
	struct harness_response *r;

	harness_put_guest(h, "compute");
	harness_define_vm(h, "calc", "compute.bin", "");
	start_quick_guest(h, "calc");
	r = harness_wait_vm_state(h, "calc", "stopped", WAIT_MS);
	assert_json_str(r, "status.exit_reason",
			"halted with interrupts disabled");
	assert_string_equal(console_of(h, "calc"), "computed\n");
}

static void
test_lifecycle__hello_runs_to_a_halt_and_prints_its_greeting(struct harness *h)
{
	struct harness_response *r;
	uint64_t defined_etag;

	harness_put_guest(h, "hello");
	harness_define_vm(h, "hello", "hello.bin", "");
	defined_etag = etag_number(get_vm(h, "hello"));
	start_quick_guest(h, "hello");

	r = harness_wait_vm_state(h, "hello", "stopped", WAIT_MS);
	assert_json_str(r, "status.exit_reason",
			"halted with interrupts disabled");
	assert_null_at(r, "status.exit_status");
	assert_time_at(r, "status.started_at");
	assert_time_at(r, "status.stopped_at");
	assert_time_at(r, "status.state_changed_at");
	/* A change of state is a new revision, not a new generation. */
	assert_true(etag_number(r) > defined_etag);
	assert_json_int(r, "generation", 1);
	assert_string_equal(console_of(h, "hello"),
			    "Hello from vmmapid guest\n");
	/* The run is over: its image is free again. */
	r = harness_get(h, "/v1/images/hello.bin");
	if (!json_is_false(json_object_get(r->hr_json, "in_use")))
		fail_msg("hello.bin still in use after the run: %s",
			 r->hr_body);
}

/* GET /v1's driver.spare_vms.FIELD. */
static long long
spares_field(struct harness *h, const char *field)
{
	char dotted[64];
	struct harness_response *r = harness_get(h, "/v1");

	assert_status(r, 200);
	snprintf(dotted, sizeof(dotted), "driver.spare_vms.%s", field);
	if (!json_is_integer(harness_json_at(r->hr_json, dotted)))
		fail_msg("GET /v1 has no integer %s: %s", dotted, r->hr_body);
	return json_integer_value(harness_json_at(r->hr_json, dotted));
}

/* Waits until the backend's spare VMs are all ready (made 1 ms after a
 * take). */
static void
wait_spare_ready(struct harness *h)
{
	long long deadline = now_ms() + WAIT_MS;
	long long target = spares_field(h, "target");

	while (spares_field(h, "ready") < target && now_ms() < deadline)
		sleep_ms(10);
	assert_int_equal(spares_field(h, "ready"), target);
}

/* hello on 1 and 2 vCPUs: prints its greeting and halts. */
static void
run_hello_twice(struct harness *h, int wait_spare)
{
	static const char *const vms[] = {"one", "two"};
	size_t i;

	harness_put_guest(h, "hello");
	harness_define_vm(h, "one", "hello.bin", "");
	harness_define_vm(h, "two", "hello.bin", "\"vcpus\":2");
	for (i = 0; i < 2; i++) {
		if (wait_spare)
			wait_spare_ready(h);
		start_quick_guest(h, vms[i]);
		assert_json_str(
		    harness_wait_vm_state(h, vms[i], "stopped", WAIT_MS),
		    "status.exit_reason", "halted with interrupts disabled");
		assert_string_equal(console_of(h, vms[i]),
				    "Hello from vmmapid guest\n");
	}
}

static void
test_lifecycle__starts_finish_vms_made_ahead(struct harness *h)
{
	long long taken;

	harness_need_driver(h, "kvm", "VMs made ahead (--spare-vms)");
	assert_int_equal(spares_field(h, "target"), 2); /* the default */
	wait_spare_ready(h);
	taken = spares_field(h, "taken");
	/* One vCPU as made ahead, and one more added to it. */
	run_hello_twice(h, 1);
	assert_int_equal(spares_field(h, "taken"), taken + 2);
	assert_int_equal(spares_field(h, "failed"), 0);
	/* And the pool is made good again. */
	wait_spare_ready(h);
}

static void
test_lifecycle__without_vms_made_ahead_starts_make_their_own(struct harness *h)
{
	run_hello_twice(h, 0);
	assert_int_equal(spares_field(h, "target"), 0);
	assert_int_equal(spares_field(h, "ready"), 0);
	assert_int_equal(spares_field(h, "taken"), 0);
	assert_int_equal(spares_field(h, "missed"), 0);
}

/* A start of VM "race" on a thread of its own. */
struct racer {
	struct harness *rc_h;
	long rc_status; /* the start's answer, 0 when none came */
};

static void *
racer_start(void *arg)
{
	struct racer *rc = arg;
	struct harness_request rq;
	struct harness_response rs;
	void *curl = harness_curl_new();

	memset(&rq, 0, sizeof(rq));
	memset(&rs, 0, sizeof(rs));
	rq.rq_method = "POST";
	rq.rq_path = "/v1/vms/race/start";
	if (harness_fetch(rc->rc_h, curl, &rq, &rs) == 0)
		rc->rc_status = rs.hr_status;
	harness_response_clear(&rs);
	harness_curl_free(curl);
	return NULL;
}

/*
 * A delete and a new definition of the same name racing a start: the
 * delete waits for the start (and is 409 while the guest runs), and a run
 * recorded on the new definition is always of the new spec (exit3),
 * never the old one's (hello) landing on the new row.
 */
static void
test_lifecycle__a_delete_racing_a_start_never_moves_its_run_to_a_new_vm(
    struct harness *h)
{
	struct harness_response *r;
	long del, runs_new = 0, deletes = 0, refused = 0;
	struct timespec pause = {0, 0};
	struct racer rc;
	pthread_t t;
	int i;

	harness_put_guest(h, "hello");
	harness_put_guest(h, "exit3");
	for (i = 0; i < 20; i++) {
		harness_define_vm(h, "race", "hello.bin", "");
		rc.rc_h = h;
		rc.rc_status = 0;
		assert_int_equal(pthread_create(&t, NULL, racer_start, &rc), 0);
		/* Sweep the delete across the start's ~1 ms. */
		pause.tv_nsec = (long)(i % 10) * 150 * 1000;
		nanosleep(&pause, NULL);
		del = harness_req(h, "DELETE", "/v1/vms/race", NULL, NULL)
			  ->hr_status;
		if (del == 204) {
			deletes++;
			harness_define_vm(h, "race", "exit3.bin", "");
		}
		assert_int_equal(pthread_join(t, NULL), 0);
		if (rc.rc_status != 200 && rc.rc_status != 404 &&
		    rc.rc_status != 409)
			fail_msg("round %d: the start answered %ld", i,
				 rc.rc_status);
		if (del != 204 && del != 409)
			fail_msg("round %d: the delete answered %ld", i, del);
		refused += del == 409;
		/* Whatever ran is over: hello halts, exit3 powers off. */
		r = get_vm(h, "race");
		if (strcmp(json_str(r, "status.state"), "defined") != 0)
			r = harness_wait_vm_state(h, "race", "stopped",
						  WAIT_MS);
		if (del == 204 &&
		    strcmp(json_str(r, "status.state"), "defined") != 0) {
			/* The new VM ran: then it ran its own spec. */
			runs_new++;
			assert_json_int(r, "status.exit_status", 3);
			assert_string_equal(console_of(h, "race"), "exit 3\n");
		}
		assert_status(
		    harness_req(h, "DELETE", "/v1/vms/race", NULL, NULL), 204);
	}
	print_message("20 rounds: %ld deletes done, %ld refused (409), %ld "
		      "new VMs ran\n",
		      deletes, refused, runs_new);
}

static void
test_lifecycle__exit3_stops_with_the_debug_exit_status(struct harness *h)
{
	struct harness_response *r;
	const char *reason;

	harness_put_guest(h, "exit3");
	harness_define_vm(h, "exit3", "exit3.bin", "");
	start_quick_guest(h, "exit3");
	r = harness_wait_vm_state(h, "exit3", "stopped", WAIT_MS);
	assert_json_int(r, "status.exit_status", 3);
	reason = json_str(r, "status.exit_reason");
	if (reason == NULL || strstr(reason, "debug-exit port") == NULL)
		fail_msg("exit_reason does not mention the debug-exit port: "
			 "%s",
			 r->hr_body);
	assert_time_at(r, "status.stopped_at");
	assert_string_equal(console_of(h, "exit3"), "exit 3\n");
}

static void
test_lifecycle__fault_crashes_with_a_triple_fault_and_starts_again(
    struct harness *h)
{
	/* Outside the sim's subset (tests/guests/fault.S): its lidt. */
	const char *want = harness_driver_is("kvm")
			       ? "triple fault at "
			       : "unsupported instruction 0x0f at ";
	struct harness_response *r;
	const char *reason;

	harness_put_guest(h, "fault");
	harness_define_vm(h, "fault", "fault.bin", "");
	start_quick_guest(h, "fault");
	r = harness_wait_vm_state(h, "fault", "crashed", WAIT_MS);
	reason = json_str(r, "status.exit_reason");
	if (reason == NULL || strncmp(reason, want, strlen(want)) != 0)
		fail_msg("exit_reason is not \"%s...\": %s", want, r->hr_body);
	assert_null_at(r, "status.exit_status");
	assert_time_at(r, "status.stopped_at");
	assert_string_equal(console_of(h, "fault"), "faulting\n");

	/* crashed --start--> running; the console appends the new run. */
	start_quick_guest(h, "fault");
	r = harness_wait_vm_state(h, "fault", "crashed", WAIT_MS);
	assert_string_equal(console_of(h, "fault"), "faulting\nfaulting\n");
}

static void
test_lifecycle__pause_resume_and_reset_keep_a_spinning_guest_alive(
    struct harness *h)
{
	struct harness_response *r;
	char etag[64];

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	r = vm_op(h, "spin", "start", "");
	assert_op_ok(r, "running");
	assert_null_at(r, "status.stopped_at");
	assert_null_at(r, "status.exit_reason");
	/* Paused only once its line is out, so the output is known. */
	wait_console(h, "spin", "spinning\n");

	r = vm_op(h, "spin", "pause", "");
	assert_op_ok(r, "paused");
	assert_json_str(get_vm(h, "spin"), "status.state", "paused");
	/* Reset while paused: the VM stays paused. */
	snprintf(etag, sizeof(etag), "%s", harness_header(r, "ETag"));
	r = vm_op(h, "spin", "reset", "");
	assert_op_ok(r, "paused");
	assert_header(r, "ETag", etag);

	assert_op_ok(vm_op(h, "spin", "resume", ""), "running");
	/* The reset guest ran from its start again. */
	wait_console(h, "spin", "spinning\nspinning\n");

	/* Reset while running: runs on, same state, same ETag. */
	r = get_vm(h, "spin");
	snprintf(etag, sizeof(etag), "%s", harness_header(r, "ETag"));
	r = vm_op(h, "spin", "reset", "");
	assert_op_ok(r, "running");
	assert_header(r, "ETag", etag);
	/* Once more; the console keeps what came before. */
	wait_console(h, "spin", "spinning\nspinning\nspinning\n");
	assert_json_str(get_vm(h, "spin"), "status.state", "running");
}

static void
test_lifecycle__stop_of_a_spinning_guest_forces_after_the_timeout(
    struct harness *h)
{
	struct harness_response *r;
	long long t0, took;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");

	t0 = now_ms();
	r = vm_op(h, "spin", "stop", "?timeout=1");
	took = now_ms() - t0;
	assert_op_ok(r, "stopped");
	assert_json_str(r, "status.exit_reason", "forced stop");
	assert_null_at(r, "status.exit_status");
	assert_time_at(r, "status.stopped_at");
	print_message("stop?timeout=1 of a spinning guest took %lld ms\n",
		      took);
	/* The whole second was waited; not the default of 10 s. */
	if (took < 950 || took > 8000)
		fail_msg("stop?timeout=1 took %lld ms", took);
	assert_json_str(get_vm(h, "spin"), "status.state", "stopped");

	/* stopped --start--> running clears how the last run ended. */
	r = vm_op(h, "spin", "start", "");
	assert_op_ok(r, "running");
	assert_null_at(r, "status.stopped_at");
	assert_null_at(r, "status.exit_reason");
	assert_null_at(r, "status.exit_status");

	t0 = now_ms();
	r = vm_op(h, "spin", "stop", "?force=1");
	took = now_ms() - t0;
	assert_op_ok(r, "stopped");
	assert_json_str(r, "status.exit_reason", "forced stop");
	print_message("stop?force=1 took %lld ms\n", took);
	/* No graceful wait: far below the default 10 s timeout. */
	if (took > 5000)
		fail_msg("stop?force=1 took %lld ms", took);

	/* A paused VM stops too. */
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	assert_op_ok(vm_op(h, "spin", "pause", ""), "paused");
	r = vm_op(h, "spin", "stop", "?force=true");
	assert_op_ok(r, "stopped");
	assert_json_str(r, "status.exit_reason", "forced stop");
}

/*
 * A graceful stop waits for the guest to power off, and records how it
 * did: bigout writing 150000 bytes (1 to 2 s where real mode is
 * emulated) ends by itself well within the stop's 30 s.
 */
static void
test_lifecycle__a_graceful_stop_ends_when_the_guest_powers_off_by_itself(
    struct harness *h)
{
	/* A tenth as much where every exit is emulated (harness.h), so that
	 * the guest still powers off well within the stop's timeout. */
	const uint32_t n = 150000 / (uint32_t)harness_time_factor();
	struct harness_request rq = {0};
	struct harness_response *r;
	long long t0, took;
	size_t len;
	char path[512];
	char *data;

	snprintf(path, sizeof(path), "%s/bigout.bin", GUESTS_DIR);
	data = harness_read_file(h, path, &len);
	assert_true(len > 8);
	data[4] = (char)(n & 0xff);
	data[5] = (char)(n >> 8 & 0xff);
	data[6] = (char)(n >> 16 & 0xff);
	data[7] = (char)(n >> 24 & 0xff);
	assert_status(harness_put_image(h, "bigout.bin", data, len), 201);
	harness_define_vm(h, "big", "bigout.bin", "");
	assert_op_ok(vm_op(h, "big", "start", ""), "running");
	rq.rq_method = "POST";
	rq.rq_path = "/v1/vms/big/stop?timeout=30";
	rq.rq_timeout_ms = 40000;
	t0 = now_ms();
	r = harness_send(h, &rq);
	took = now_ms() - t0;
	if (r->hr_status == 409) {
		/* A host this fast leaves nothing to test. */
		print_message("bigout ended before the stop came (%s)\n",
			      json_str(r, "detail"));
		return;
	}
	print_message("the graceful stop returned after %lld ms\n", took);
	assert_op_ok(r, "stopped");
	assert_json_str(r, "status.exit_reason", "debug-exit port");
	assert_json_int(r, "status.exit_status", 0);
	if (took > 20000)
		fail_msg("the stop took %lld ms for a guest that powers off "
			 "by itself",
			 took);
}

/*
 * While a graceful stop waits out its timeout the VM is "stopping", and
 * the contract makes a start then a 409 that names that state (only a
 * defined, stopped or crashed VM starts).
 */
static void
test_lifecycle__a_start_during_a_graceful_stop_is_409_naming_stopping(
    struct harness *h)
{
	struct harness_response *r, *stopped;
	struct harness_stream *stop;
	long long t0, took;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	stop = harness_stream_open(h, "POST", "/v1/vms/spin/stop?timeout=3",
				   NULL, 0, 30000);
	/* Shown while the stop waits out its timeout. */
	harness_wait_vm_state(h, "spin", "stopping", 2000);
	t0 = now_ms();
	r = vm_op(h, "spin", "start", "");
	took = now_ms() - t0;
	stopped = harness_stream_end(stop, 30000, NULL);
	assert_op_ok(stopped, "stopped");
	assert_json_str(stopped, "status.exit_reason", "forced stop");
	if (r->hr_status != 409)
		fail_msg("a start sent while VM spin was stopping answered "
			 "%ld after %lld ms (state %s); expected a 409 naming "
			 "\"stopping\"",
			 r->hr_status, took,
			 json_str(r, "status.state") != NULL
			     ? json_str(r, "status.state")
			     : "(none)");
	assert_conflict_naming(r, "stopping");
	assert_json_str(get_vm(h, "spin"), "status.state", "stopped");
}

/*
 * Issue #14, finding 2, for the routes besides PUT, PATCH and DELETE: a
 * request on a VM acts on the VM the policy looked at.  A DELETE sent
 * while another request on its VM is in flight (a stop waiting out its
 * timeout) waits for it instead of deleting underneath it; meanwhile new
 * requests on the VM, a definition of the name among them, are 409
 * "being deleted", so no one can define the name again before the
 * request in flight has acted.  Then the stop answers, and the delete
 * (the VM stopped by then) is a 204.  Without the guard the delete
 * answered at once: 409 while the VM was stopping.
 */
static void
test_lifecycle__a_delete_waits_for_the_requests_in_flight_on_its_vm(
    struct harness *h)
{
	struct harness_stream *stop, *del;
	struct harness_response *r = NULL;
	long long t0;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	stop = harness_stream_open(h, "POST", "/v1/vms/spin/stop?timeout=2",
				   NULL, 0, 30000);
	harness_wait_vm_state(h, "spin", "stopping", 2000);
	del = harness_stream_open(h, "DELETE", "/v1/vms/spin", NULL, 0, 30000);
	/* Once the delete has entered, the VM's routes are refused. */
	for (t0 = now_ms(); now_ms() - t0 < 1500;) {
		r = get_vm(h, "spin");
		if (r->hr_status == 409)
			break;
		assert_int_equal(r->hr_status, 200);
		assert_json_str(r, "status.state", "stopping");
	}
	assert_conflict_naming(r, "being deleted");
	assert_conflict_naming(
	    harness_req(h, "PUT", "/v1/vms/spin",
			"{\"name\":\"spin\",\"memory_mib\":4,\"boot\":{"
			"\"kind\":\"flat\",\"image\":\"spin.bin\"}}",
			NULL),
	    "being deleted");
	assert_conflict_naming(vm_op(h, "spin", "start", ""), "being deleted");
	assert_op_ok(harness_stream_end(stop, 30000, NULL), "stopped");
	assert_status(harness_stream_end(del, 30000, NULL), 204);
	assert_status(get_vm(h, "spin"), 404);
}

/*
 * Asked again for where the VM is, start, pause and resume succeed and do
 * nothing; a start of a paused VM, or a monitor-mode start of a running
 * one, is still a conflict.
 */
static void
test_lifecycle__repeated_starts_pauses_and_resumes_change_nothing(
    struct harness *h)
{
	struct harness_response *r;
	uint64_t rev;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	r = vm_op(h, "spin", "start", "");
	assert_op_ok(r, "running");
	rev = etag_number(r);
	assert_unchanged(vm_op(h, "spin", "start", ""), "running", rev);
	assert_conflict_naming(vm_op(h, "spin", "start", "?mode=monitor"),
			       "running");
	assert_unchanged(vm_op(h, "spin", "resume", ""), "running", rev);
	r = vm_op(h, "spin", "pause", "");
	assert_op_ok(r, "paused");
	rev = etag_number(r);
	assert_unchanged(vm_op(h, "spin", "pause", ""), "paused", rev);
	assert_conflict_naming(vm_op(h, "spin", "start", ""), "paused");
	/* The refused start changed nothing. */
	r = get_vm(h, "spin");
	assert_json_str(r, "status.state", "paused");
	assert_int_equal(etag_number(r), rev);
	assert_op_ok(vm_op(h, "spin", "stop", "?force=1"), "stopped");
}

/* status.pending_restart of r is want (0 or 1). */
static void
assert_pending_restart(const struct harness_response *r, int want)
{
	const json_t *v = harness_json_at(r->hr_json, "status.pending_restart");

	if (!json_is_boolean(v) || json_is_true(v) != want)
		fail_msg("status.pending_restart is not %s: %s",
			 want ? "true" : "false", r->hr_body);
}

/*
 * An orchestrator's read-modify-write around a start: If-Match with the
 * tag read before the start still holds (the definition did not change),
 * and a running VM whose spec changed says it needs a restart.
 */
static void
test_lifecycle__if_match_is_about_the_definition_not_the_run(struct harness *h)
{
	struct harness_response *read, *r;
	char hdr[128];

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	read = get_vm(h, "spin");
	snprintf(hdr, sizeof(hdr), "If-Match: %s",
		 harness_header(read, "ETag"));
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	r = get_vm(h, "spin");
	assert_json_int(r, "status.observed_generation", 1);
	assert_pending_restart(r, 0);
	if (etag_number(r) == etag_number(read))
		fail_msg("a start took no new revision: %s", r->hr_body);

	/* The start is no reason to refuse a write of the definition. */
	r = harness_req(h, "PATCH", "/v1/vms/spin",
			"{\"description\": \"two vCPUs next time\"}",
			"Content-Type: application/merge-patch+json", hdr,
			NULL);
	assert_status(r, 200);
	assert_json_int(r, "generation", 2);
	assert_json_int(r, "status.observed_generation", 1);
	assert_json_str(r, "status.state", "running");
	assert_pending_restart(r, 1);
	/* The definition changed since that read: now it is. */
	r = harness_req(h, "PATCH", "/v1/vms/spin", "{\"description\": \"\"}",
			"Content-Type: application/merge-patch+json", hdr,
			NULL);
	assert_problem(r, 412, NULL);
	r = harness_req(h, "DELETE", "/v1/vms/spin", NULL, hdr, NULL);
	assert_problem(r, 412, NULL);

	/* Stopped, nothing is pending; started again, the run has it all. */
	r = vm_op(h, "spin", "stop", "?force=1");
	assert_op_ok(r, "stopped");
	assert_pending_restart(r, 0);
	r = vm_op(h, "spin", "start", "");
	assert_op_ok(r, "running");
	assert_json_int(r, "status.observed_generation", 2);
	assert_pending_restart(r, 0);
	assert_op_ok(vm_op(h, "spin", "stop", "?force=1"), "stopped");
}

/*
 * The same across a daemon restart: a tag read before the VM's state
 * changed and the daemon restarted still matches while the definition
 * is the same (the revision that wrote the spec is on disk, schema 11),
 * and one from before a change of the definition still does not.
 */
static void
test_lifecycle__if_match_holds_across_a_restart(struct harness *h)
{
	struct harness_response *read, *r;
	char hdr[128], stale[128];

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	snprintf(stale, sizeof(stale), "If-Match: %s",
		 harness_header(get_vm(h, "spin"), "ETag"));
	assert_status(harness_req(h, "PATCH", "/v1/vms/spin",
				  "{\"description\": \"one\"}",
				  "Content-Type: application/merge-patch+json",
				  NULL),
		      200);
	read = get_vm(h, "spin");
	snprintf(hdr, sizeof(hdr), "If-Match: %s",
		 harness_header(read, "ETag"));
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	assert_op_ok(vm_op(h, "spin", "stop", "?force=1"), "stopped");
	harness_restart(h);
	r = get_vm(h, "spin");
	if (etag_number(r) == etag_number(read))
		fail_msg("the run took no new revision: %s", r->hr_body);
	r = harness_req(h, "PATCH", "/v1/vms/spin", "{\"description\": \"\"}",
			"Content-Type: application/merge-patch+json", stale,
			NULL);
	assert_problem(r, 412, NULL);
	r = harness_req(
	    h, "PATCH", "/v1/vms/spin", "{\"description\": \"two\"}",
	    "Content-Type: application/merge-patch+json", hdr, NULL);
	assert_status(r, 200);
	assert_json_int(r, "generation", 3);
}

/*
 * Needs no guest: a stop of a defined VM is done already; pause, resume
 * and reset need a run.
 */
static void
test_lifecycle__operations_on_a_vm_that_is_not_running(struct harness *h)
{
	static const char *const ops[] = {"pause", "resume", "reset"};
	struct harness_response *r;
	uint64_t etag;
	size_t i;

	harness_define_vm(h, "idle", "hello.bin", "");
	etag = etag_number(get_vm(h, "idle"));
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_conflict_naming(vm_op(h, "idle", ops[i], ""), "defined");
	assert_unchanged(vm_op(h, "idle", "stop", ""), "defined", etag);
	assert_unchanged(vm_op(h, "idle", "stop", "?force=1"), "defined", etag);
	r = get_vm(h, "idle");
	assert_json_str(r, "status.state", "defined");
	assert_int_equal(etag_number(r), etag);
}

static void
test_lifecycle__operations_on_a_stopped_vm(struct harness *h)
{
	static const char *const ops[] = {"pause", "resume", "reset"};
	uint64_t etag;
	size_t i;

	harness_put_guest(h, "hello");
	harness_define_vm(h, "hello", "hello.bin", "");
	start_quick_guest(h, "hello");
	harness_wait_vm_state(h, "hello", "stopped", WAIT_MS);
	etag = etag_number(get_vm(h, "hello"));
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_conflict_naming(vm_op(h, "hello", ops[i], ""),
				       "stopped");
	assert_unchanged(vm_op(h, "hello", "stop", ""), "stopped", etag);
}

static void
test_lifecycle__start_with_a_missing_image_is_422_and_changes_nothing(
    struct harness *h)
{
	struct harness_response *r, *before;
	const char *detail;

	harness_define_vm(h, "lost", "nope.bin", "");
	before = get_vm(h, "lost");
	r = vm_op(h, "lost", "start", "");
	assert_problem(r, 422, NULL);
	detail = json_str(r, "detail");
	if (detail == NULL || strstr(detail, "nope.bin") == NULL)
		fail_msg("the 422 does not name the image: %s", r->hr_body);
	r = get_vm(h, "lost");
	assert_json_str(r, "status.state", "defined");
	assert_null_at(r, "status.exit_reason");
	assert_int_equal(etag_number(r), etag_number(before));

	/* A VM that ran before keeps how its last run ended. */
	harness_put_guest(h, "hello");
	harness_define_vm(h, "hello", "hello.bin", "");
	start_quick_guest(h, "hello");
	before = harness_wait_vm_state(h, "hello", "stopped", WAIT_MS);
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/hello.bin", NULL, NULL), 204);
	assert_problem(vm_op(h, "hello", "start", ""), 422, NULL);
	r = get_vm(h, "hello");
	assert_json_str(r, "status.state", "stopped");
	assert_json_str(r, "status.exit_reason",
			"halted with interrupts disabled");
	assert_int_equal(etag_number(r), etag_number(before));
}

static void
test_lifecycle__start_with_an_image_too_large_for_memory_is_422(
    struct harness *h)
{
	struct harness_response *r;
	size_t len = 1024 * 1024;
	char *big = harness_alloc(h, len);

	/* 1 MiB from load_address 4096 does not fit in 1 MiB of memory. */
	assert_status(harness_put_image(h, "big.bin", big, len), 201);
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"big\",\"memory_mib\":1,"
				  "\"boot\":{\"kind\":\"flat\","
				  "\"image\":\"big.bin\"}}",
				  NULL),
		      201);
	r = vm_op(h, "big", "start", "");
	assert_problem(r, 422, NULL);
	if (strstr(json_str(r, "detail"), "big.bin") == NULL)
		fail_msg("the 422 does not name the image: %s", r->hr_body);
	assert_json_str(get_vm(h, "big"), "status.state", "defined");
	/* Not pinned by the failed start. */
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/big.bin", NULL, NULL), 204);
}

/*
 * Needs no guest: on a backend without linux-boot the check comes before
 * the image's (tests/api/test_linux_boot.c has the rest).
 */
static void
test_lifecycle__linux_boot_without_a_kernel_is_501_or_422(struct harness *h)
{
	struct harness_response *r;

	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"deb\"," VM_MEMORY
				  ",\"boot\":{\"kind\":\"linux\","
				  "\"kernel\":\"vmlinuz\"}}",
				  NULL),
		      201);
	r = vm_op(h, "deb", "start", "");
	if (harness_backend_has(h, "linux-boot")) {
		assert_problem(r, 422, NULL);
		if (strstr(r->hr_body, "vmlinuz") == NULL)
			fail_msg("the 422 does not name the kernel: %s",
				 r->hr_body);
	} else {
		assert_problem(r, 501, NULL);
		if (strstr(r->hr_body, harness_driver()) == NULL)
			fail_msg("the 501 does not name the backend: %s",
				 r->hr_body);
	}
	assert_json_str(get_vm(h, "deb"), "status.state", "defined");
}

static void
test_lifecycle__delete_while_running_is_409_and_after_stop_204(
    struct harness *h)
{
	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	assert_problem(harness_req(h, "DELETE", "/v1/vms/spin", NULL, NULL),
		       409, NULL);
	assert_json_str(get_vm(h, "spin"), "status.state", "running");
	assert_op_ok(vm_op(h, "spin", "pause", ""), "paused");
	assert_problem(harness_req(h, "DELETE", "/v1/vms/spin", NULL, NULL),
		       409, NULL);
	assert_op_ok(vm_op(h, "spin", "stop", "?force=1"), "stopped");
	assert_status(harness_req(h, "DELETE", "/v1/vms/spin", NULL, NULL),
		      204);
	assert_problem(get_vm(h, "spin"), 404, NULL);
	/* The console went with it. */
	assert_problem(harness_get(h, "/v1/vms/spin/console"), 404, NULL);
}

/* Needs no guest: the query is checked before anything else. */
static void
test_lifecycle__bad_query_parameters_are_400(struct harness *h)
{
	static const char *const ops[] = {"start", "pause", "resume", "reset",
					  "stop"};
	static const struct {
		const char *q, *field;
	} stop_bad[] = {
	    {"?timeout=abc", "timeout"},  {"?timeout=-1", "timeout"},
	    {"?timeout=3601", "timeout"}, {"?timeout=", "timeout"},
	    {"?timeout=1s", "timeout"},   {"?force=maybe", "force"},
	    {"?force=2", "force"},        {"?grace=1", "grace"},
	};
	char query[32];
	size_t i;

	harness_define_vm(h, "q", "hello.bin", "");
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_problem(vm_op(h, "q", ops[i], "?bogus=1"), 400, "bogus");
	for (i = 0; i < sizeof(stop_bad) / sizeof(stop_bad[0]); i++)
		assert_problem(vm_op(h, "q", "stop", stop_bad[i].q), 400,
			       stop_bad[i].field);
	/* At the limit the query is fine (and the VM stopped already). */
	snprintf(query, sizeof(query), "?timeout=3600&force=0");
	assert_status(vm_op(h, "q", "stop", query), 200);
	assert_status(vm_op(h, "q", "stop", "?force=no&timeout=0"), 200);
	assert_json_str(get_vm(h, "q"), "status.state", "defined");
}

static void
test_lifecycle__operations_on_a_missing_vm_are_404(struct harness *h)
{
	static const char *const ops[] = {"start", "stop", "pause", "resume",
					  "reset"};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		assert_problem(vm_op(h, "nope", ops[i], ""), 404, NULL);
	assert_problem(vm_op(h, "nope", "stop", "?force=1"), 404, NULL);
}

static void
test_lifecycle__image_of_a_running_vm_cannot_be_replaced_or_deleted(
    struct harness *h)
{
	struct harness_response *r;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	r = harness_get(h, "/v1/images/spin.bin");
	if (!json_is_true(json_object_get(r->hr_json, "in_use")))
		fail_msg("in_use is not true while spin runs: %s", r->hr_body);
	assert_problem(harness_put_image(h, "spin.bin", "abc", 3), 409, NULL);
	assert_problem(
	    harness_req(h, "DELETE", "/v1/images/spin.bin", NULL, NULL), 409,
	    NULL);
	/* Paused still runs it. */
	assert_op_ok(vm_op(h, "spin", "pause", ""), "paused");
	assert_problem(harness_put_image(h, "spin.bin", "abc", 3), 409, NULL);
	assert_op_ok(vm_op(h, "spin", "stop", "?force=1"), "stopped");
	r = harness_get(h, "/v1/images/spin.bin");
	if (!json_is_false(json_object_get(r->hr_json, "in_use")))
		fail_msg("in_use is not false after the stop: %s", r->hr_body);
	assert_status(harness_put_image(h, "spin.bin", "abc", 3), 200);
	assert_status(
	    harness_req(h, "DELETE", "/v1/images/spin.bin", NULL, NULL), 204);
}

/* POSTs op to vm000..vm019 at once, each on a thread; all must answer
 * 200 with the VM in state. */
static void
many_op(struct harness *h, const char *op, const char *state)
{
	struct harness_stream *s[MANY_VMS];
	struct harness_response *r;
	char path[128];
	int i;

	for (i = 0; i < MANY_VMS; i++) {
		snprintf(path, sizeof(path), "/v1/vms/vm%03d/%s", i, op);
		s[i] =
		    harness_stream_open(h, "POST", path, NULL, 0, WAIT_MS * 3);
	}
	for (i = 0; i < MANY_VMS; i++) {
		r = harness_stream_end(s[i], WAIT_MS * 3, NULL);
		assert_op_ok(r, state);
	}
}

/* The names listed by GET path, checked to be vm000..vm019 in state. */
static void
assert_listed(struct harness *h, const char *path, size_t n, const char *state)
{
	struct harness_response *r = harness_get(h, path);
	json_t *items, *it;
	char want[32];
	size_t i;

	assert_status(r, 200);
	items = json_object_get(r->hr_json, "items");
	if (!json_is_array(items) || json_array_size(items) != n)
		fail_msg("GET %s: expected %zu VMs: %.2000s", path, n,
			 r->hr_body);
	json_array_foreach (items, i, it) {
		const char *nm = json_string_value(json_object_get(it, "name"));
		const char *st =
		    json_string_value(harness_json_at(it, "status.state"));

		snprintf(want, sizeof(want), "vm%03zu", i);
		if (nm == NULL || st == NULL || strcmp(nm, want) != 0 ||
		    strcmp(st, state) != 0)
			fail_msg("GET %s: item %zu is not %s, %s: %.2000s",
				 path, i, want, state, r->hr_body);
	}
}

static void
test_lifecycle__twenty_vms_run_at_once(struct harness *h)
{
	char name[16];
	int i;

	harness_put_guest(h, "spin");
	for (i = 0; i < MANY_VMS; i++) {
		snprintf(name, sizeof(name), "vm%03d", i);
		harness_define_vm(h, name, "spin.bin", "");
	}
	many_op(h, "start", "running");
	assert_listed(h, "/v1/vms?state=running&limit=100", MANY_VMS,
		      "running");
	for (i = 0; i < MANY_VMS; i++) {
		snprintf(name, sizeof(name), "vm%03d", i);
		assert_json_str(get_vm(h, name), "status.state", "running");
	}
	/* Every one of them runs its guest. */
	for (i = 0; i < MANY_VMS; i++) {
		snprintf(name, sizeof(name), "vm%03d", i);
		wait_console(h, name, "spinning\n");
	}
	many_op(h, "stop?force=1", "stopped");
	assert_listed(h, "/v1/vms?state=running&limit=100", 0, "running");
	assert_listed(h, "/v1/vms?state=stopped&limit=100", MANY_VMS,
		      "stopped");
}

static void
test_lifecycle__a_clean_shutdown_records_its_running_vms_as_stopped(
    struct harness *h)
{
	struct harness_response *r;
	long long t0;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	harness_define_vm(h, "held", "spin.bin", "");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	assert_op_ok(vm_op(h, "held", "start", ""), "running");
	assert_op_ok(vm_op(h, "held", "pause", ""), "paused");
	t0 = now_ms();
	harness_stop(h); /* SIGTERM: exit 0 within the harness's bound */
	print_message("the daemon took %lld ms to stop with 2 VMs running\n",
		      now_ms() - t0);
	harness_start(h, NULL);

	/* vmrun_close forces them off and records why. */
	r = get_vm(h, "spin");
	assert_json_str(r, "status.state", "stopped");
	assert_json_str(r, "status.exit_reason", "the daemon shut down");
	assert_null_at(r, "status.exit_status");
	assert_time_at(r, "status.stopped_at");
	r = get_vm(h, "held");
	assert_json_str(r, "status.state", "stopped");
	assert_json_str(r, "status.exit_reason", "the daemon shut down");
	r = harness_get(h, "/v1/images/spin.bin");
	if (!json_is_false(json_object_get(r->hr_json, "in_use")))
		fail_msg("spin.bin in use after the restart: %s", r->hr_body);
	/* And they run again. */
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	assert_op_ok(vm_op(h, "spin", "stop", "?force=1"), "stopped");
}

static void
test_lifecycle__a_vm_running_when_the_daemon_died_is_stopped_after_restart(
    struct harness *h)
{
	struct harness_response *r;
	int status;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
	status = harness_signal_and_wait(h, SIGKILL, 5000);
	assert_true(WIFSIGNALED(status));
	harness_start(h, NULL);

	/* Nothing ran on; vmrun_open records it. */
	r = get_vm(h, "spin");
	assert_json_str(r, "status.state", "stopped");
	assert_json_str(r, "status.exit_reason",
			"the daemon stopped while the VM ran");
	assert_null_at(r, "status.exit_status");
	assert_time_at(r, "status.stopped_at");
	assert_time_at(r, "status.started_at");
	assert_op_ok(vm_op(h, "spin", "start", ""), "running");
}

static void
test_lifecycle__an_autostart_vm_runs_after_a_restart(struct harness *h)
{
	struct harness_response *r;
	char *log;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "auto", "spin.bin", "\"autostart\":true");
	harness_define_vm(h, "manual", "spin.bin", "\"autostart\":false");
	harness_define_vm(h, "broken", "missing.bin", "\"autostart\":true");
	/* Only a daemon start autostarts. */
	assert_json_str(get_vm(h, "auto"), "status.state", "defined");
	harness_restart(h);

	r = harness_wait_vm_state(h, "auto", "running", WAIT_MS);
	assert_time_at(r, "status.started_at");
	assert_json_str(get_vm(h, "manual"), "status.state", "defined");
	/* A VM that cannot start does not keep the daemon from starting. */
	assert_json_str(get_vm(h, "broken"), "status.state", "defined");
	log = harness_read_log(h);
	if (log == NULL || strstr(log, "autostart failed") == NULL ||
	    strstr(log, "missing.bin") == NULL) {
		free(log);
		fail_msg("the log does not say why VM broken did not "
			 "autostart");
	}
	free(log);

	/* After a crash of the daemon too: recorded, then started again. */
	assert_true(WIFSIGNALED(harness_signal_and_wait(h, SIGKILL, 5000)));
	harness_start(h, NULL);
	r = harness_wait_vm_state(h, "auto", "running", WAIT_MS);
	assert_null_at(r, "status.exit_reason");
	assert_op_ok(vm_op(h, "auto", "stop", "?force=1"), "stopped");
}

/* A copy of r's string at dotted (h frees it), or NULL. */
static const char *
json_str_dup(struct harness *h, const struct harness_response *r,
	     const char *dotted)
{
	const char *v = json_str(r, dotted);
	char *copy;

	if (v == NULL)
		return NULL;
	copy = harness_alloc(h, strlen(v) + 1);
	memcpy(copy, v, strlen(v) + 1);
	return copy;
}

/*
 * A 2xx start means the run is in the database: the daemon killed right
 * after the answer (detached), or right after the monitor-mode stream
 * began, comes back knowing that run (its started_at) and records it
 * stopped.  The start writes "running" while the VM is being set up; this
 * checks that the answer still waits for the commit.
 */
static void
test_lifecycle__a_start_answered_2xx_is_in_the_database(struct harness *h)
{
	struct harness_response *r;
	struct harness_stream *s;
	const char *started;

	harness_put_guest(h, "spin");
	harness_put_guest(h, "hello");
	harness_define_vm(h, "spin", "spin.bin", "");
	harness_define_vm(h, "hello", "hello.bin", "");

	r = vm_op(h, "spin", "start", "");
	assert_op_ok(r, "running");
	started = json_str_dup(h, r, "status.started_at");
	assert_true(WIFSIGNALED(harness_signal_and_wait(h, SIGKILL, 5000)));
	harness_start(h, NULL);
	r = get_vm(h, "spin");
	assert_json_str(r, "status.state", "stopped");
	assert_json_str(r, "status.exit_reason",
			"the daemon stopped while the VM ran");
	assert_json_str(r, "status.started_at", started);

	/* Monitor mode: the header (and the guest's line) came, so the run
	 * was on disk; hello never ran before. */
	assert_null_at(get_vm(h, "hello"), "status.started_at");
	s = harness_stream_open(h, "POST", "/v1/vms/hello/start?mode=monitor",
				NULL, 0, WAIT_MS);
	if (!harness_stream_wait_for(s, "Hello", WAIT_MS))
		fail_msg("the monitor-mode start streamed nothing");
	assert_true(WIFSIGNALED(harness_signal_and_wait(h, SIGKILL, 5000)));
	harness_start(h, NULL);
	r = get_vm(h, "hello");
	assert_json_str(r, "status.state", "stopped");
	assert_time_at(r, "status.started_at");
	assert_time_at(r, "status.stopped_at");
}

/*
 * A VM the backend refuses to create (KVM: more memory than fits below
 * its TSS, which only the set-up finds out) is a 422 naming the backend,
 * and is recorded: back in its previous state, its last run's details
 * kept, the reason as exit_reason, across a restart too; nothing is left
 * pinned or running, and it can be fixed and started.
 */
static void
test_lifecycle__a_vm_the_backend_refuses_is_422_and_recorded(struct harness *h)
{
	struct harness_response *r;
	const char *started, *stopped, *detail;
	char backend[32];

	harness_put_guest(h, "hello");
	harness_define_vm(h, "hello", "hello.bin", "");
	start_quick_guest(h, "hello");
	r = harness_wait_vm_state(h, "hello", "stopped", WAIT_MS);
	started = json_str_dup(h, r, "status.started_at");
	stopped = json_str_dup(h, r, "status.stopped_at");

	assert_status(harness_req(h, "PUT", "/v1/vms/hello",
				  "{\"memory_mib\":8192,\"boot\":{\"kind\":"
				  "\"flat\",\"image\":\"hello.bin\"}}",
				  NULL),
		      200);
	r = vm_op(h, "hello", "start", "");
	assert_problem(r, 422, NULL);
	detail = json_str_dup(h, r, "detail");
	snprintf(backend, sizeof(backend), "%s backend", harness_driver());
	if (detail == NULL || strstr(detail, backend) == NULL)
		fail_msg("the 422 does not name the %s: %s", backend,
			 r->hr_body);

	r = get_vm(h, "hello");
	assert_json_str(r, "status.state", "stopped");
	assert_json_str(r, "status.exit_reason", detail);
	assert_json_str(r, "status.started_at", started);
	assert_json_str(r, "status.stopped_at", stopped);
	r = harness_get(h, "/v1/images/hello.bin");
	if (!json_is_false(json_object_get(r->hr_json, "in_use")))
		fail_msg("hello.bin pinned by a failed start: %s", r->hr_body);

	/* Durable, as any state. */
	harness_restart(h);
	r = get_vm(h, "hello");
	assert_json_str(r, "status.state", "stopped");
	assert_json_str(r, "status.exit_reason", detail);

	/* Fixed, it runs. */
	assert_status(harness_req(h, "PUT", "/v1/vms/hello",
				  "{" VM_MEMORY ",\"boot\":{\"kind\":"
				  "\"flat\",\"image\":\"hello.bin\"}}",
				  NULL),
		      200);
	start_quick_guest(h, "hello");
	r = harness_wait_vm_state(h, "hello", "stopped", WAIT_MS);
	assert_json_str(r, "status.exit_reason",
			"halted with interrupts disabled");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_lifecycle__hello_runs_to_a_halt_and_prints_its_greeting,
		0),
	    HARNESS_CASE(
		test_lifecycle__compute_prints_after_its_loop_and_halts, 0),
	    HARNESS_CASE(test_lifecycle__starts_finish_vms_made_ahead, 0),
	    HARNESS_CASE_ARGS(
		test_lifecycle__without_vms_made_ahead_starts_make_their_own, 0,
		"--spare-vms", "0"),
	    HARNESS_CASE(
		test_lifecycle__a_delete_racing_a_start_never_moves_its_run_to_a_new_vm,
		0),
	    HARNESS_CASE(test_lifecycle__exit3_stops_with_the_debug_exit_status,
			 0),
	    HARNESS_CASE(
		test_lifecycle__fault_crashes_with_a_triple_fault_and_starts_again,
		0),
	    HARNESS_CASE(
		test_lifecycle__pause_resume_and_reset_keep_a_spinning_guest_alive,
		0),
	    HARNESS_CASE(
		test_lifecycle__stop_of_a_spinning_guest_forces_after_the_timeout,
		0),
	    HARNESS_CASE(
		test_lifecycle__a_graceful_stop_ends_when_the_guest_powers_off_by_itself,
		0),
	    HARNESS_CASE(
		test_lifecycle__a_start_during_a_graceful_stop_is_409_naming_stopping,
		0),
	    HARNESS_CASE(
		test_lifecycle__a_delete_waits_for_the_requests_in_flight_on_its_vm,
		0),
	    HARNESS_CASE(
		test_lifecycle__repeated_starts_pauses_and_resumes_change_nothing,
		0),
	    HARNESS_CASE(test_lifecycle__operations_on_a_vm_that_is_not_running,
			 0),
	    HARNESS_CASE(test_lifecycle__operations_on_a_stopped_vm, 0),
	    HARNESS_CASE(
		test_lifecycle__if_match_is_about_the_definition_not_the_run,
		0),
	    HARNESS_CASE(test_lifecycle__if_match_holds_across_a_restart, 0),
	    HARNESS_CASE(
		test_lifecycle__start_with_a_missing_image_is_422_and_changes_nothing,
		0),
	    HARNESS_CASE(
		test_lifecycle__start_with_an_image_too_large_for_memory_is_422,
		0),
	    HARNESS_CASE(
		test_lifecycle__linux_boot_without_a_kernel_is_501_or_422, 0),
	    HARNESS_CASE(
		test_lifecycle__delete_while_running_is_409_and_after_stop_204,
		0),
	    HARNESS_CASE(test_lifecycle__bad_query_parameters_are_400, 0),
	    HARNESS_CASE(test_lifecycle__operations_on_a_missing_vm_are_404, 0),
	    HARNESS_CASE(
		test_lifecycle__image_of_a_running_vm_cannot_be_replaced_or_deleted,
		0),
	    HARNESS_CASE(test_lifecycle__twenty_vms_run_at_once, 0),
	    HARNESS_CASE(
		test_lifecycle__a_clean_shutdown_records_its_running_vms_as_stopped,
		0),
	    HARNESS_CASE(
		test_lifecycle__a_vm_running_when_the_daemon_died_is_stopped_after_restart,
		0),
	    HARNESS_CASE(test_lifecycle__an_autostart_vm_runs_after_a_restart,
			 0),
	    HARNESS_CASE(
		test_lifecycle__a_start_answered_2xx_is_in_the_database, 0),
	    /* Whatever the host's RAM: the spec must allow what KVM refuses. */
	    HARNESS_CASE_ARGS(
		test_lifecycle__a_vm_the_backend_refuses_is_422_and_recorded, 0,
		"--max-memory-mib", "8192"),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
