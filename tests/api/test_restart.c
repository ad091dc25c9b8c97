/*
 * What survives a restart: VM definitions with their revisions and ETags,
 * the revision counter, and the socket rules at start-up (a live socket is
 * an error, a stale one is replaced).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define BOOT "\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}"

static const char *const names[] = {"alpha", "beta", "gamma"};
#define NNAMES (sizeof(names) / sizeof(names[0]))

/* Creates the VMs, puts beta to generation 2; the highest revision. */
static uint64_t
define_vms(struct harness *h)
{
	struct harness_response *r;
	char body[256];
	uint64_t max = 0;
	size_t i;

	for (i = 0; i < NNAMES; i++) {
		snprintf(body, sizeof(body),
			 "{\"name\":\"%s\",\"labels\":{\"n\":\"%zu\"}," BOOT
			 "}",
			 names[i], i);
		r = harness_req(h, "POST", "/v1/vms", body, NULL);
		assert_status(r, 201);
		if (etag_number(r) > max)
			max = etag_number(r);
	}
	r = harness_req(h, "PUT", "/v1/vms/beta",
			"{\"vcpus\":2,\"description\":\"second\"," BOOT "}",
			NULL);
	assert_status(r, 200);
	assert_json_int(r, "generation", 2);
	assert_true(etag_number(r) > max);
	return (etag_number(r));
}

struct snapshot {
	char s_etag[NNAMES][64];
	json_t *s_doc[NNAMES];
};

static void
take(struct harness *h, struct snapshot *s)
{
	struct harness_response *r;
	char path[64];
	size_t i;

	for (i = 0; i < NNAMES; i++) {
		snprintf(path, sizeof(path), "/v1/vms/%s", names[i]);
		r = harness_get(h, path);
		assert_status(r, 200);
		snprintf(s->s_etag[i], sizeof(s->s_etag[i]), "%s",
			 harness_header(r, "ETag"));
		s->s_doc[i] = json_incref(r->hr_json);
	}
}

static void
drop(struct snapshot *s)
{
	size_t i;

	for (i = 0; i < NNAMES; i++)
		json_decref(s->s_doc[i]);
}

static void
test_restart__vms_survive_with_the_same_revision_and_etag(struct harness *h)
{
	struct snapshot before, after;
	struct harness_response *r;
	size_t i;

	define_vms(h);
	take(h, &before);
	harness_restart(h);
	take(h, &after);
	for (i = 0; i < NNAMES; i++) {
		print_message("vm %s\n", names[i]);
		assert_string_equal(before.s_etag[i], after.s_etag[i]);
		/* A strong ETag that did not change promises the same
		 * representation, byte for byte; the JSON must be equal. */
		assert_true(json_equal(before.s_doc[i], after.s_doc[i]));
	}
	r = harness_get(h, "/v1/vms/beta");
	assert_json_int(r, "generation", 2);
	assert_json_int(r, "vcpus", 2);
	assert_json_str(r, "description", "second");
	r = harness_get(h, "/v1/vms?limit=1000");
	assert_status(r, 200);
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 NNAMES);
	/* Conditional requests keep working across the restart. */
	{
		char hdr[96];

		snprintf(hdr, sizeof(hdr), "If-None-Match: %s",
			 before.s_etag[1]);
		r = harness_req(h, "GET", "/v1/vms/beta", NULL, hdr, NULL);
		assert_status(r, 304);
	}
	drop(&before);
	drop(&after);
}

static void
test_restart__a_new_write_gets_a_higher_revision(struct harness *h)
{
	struct harness_response *r;
	uint64_t max = define_vms(h);

	harness_restart(h);
	r = harness_req(h, "PATCH", "/v1/vms/alpha", "{\"vcpus\":2}",
			"Content-Type: application/merge-patch+json", NULL);
	assert_status(r, 200);
	assert_true(etag_number(r) > max);
	max = etag_number(r);
	r = harness_req(h, "POST", "/v1/vms", "{\"name\":\"delta\"," BOOT "}",
			NULL);
	assert_status(r, 201);
	assert_true(etag_number(r) > max);
}

static void
test_restart__the_revision_of_a_deleted_vm_is_not_reused(struct harness *h)
{
	struct harness_response *r;
	uint64_t max = define_vms(h);

	/* beta holds the highest revision; delete it, restart, write. */
	assert_status(harness_req(h, "DELETE", "/v1/vms/beta", NULL, NULL),
		      204);
	harness_restart(h);
	r = harness_req(h, "POST", "/v1/vms", "{\"name\":\"beta\"," BOOT "}",
			NULL);
	assert_status(r, 201);
	assert_true(etag_number(r) > max);
	assert_json_int(r, "generation", 1);
}

static void
test_restart__a_second_daemon_on_a_live_socket_fails(struct harness *h)
{
	char dir[HARNESS_PATH_MAX], db[HARNESS_PATH_MAX + 16];
	char log_path[HARNESS_PATH_MAX + 16], listen[HARNESS_PATH_MAX + 8];
	const char *args[10];
	struct stat st;
	char *log;
	pid_t pid;
	int status;
	FILE *f;

	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"alpha\"," BOOT "}", NULL),
		      201);
	/* Its own state and database: only the socket is shared. */
	snprintf(dir, sizeof(dir), "%s/second", h->h_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/vmmapid.db", dir);
	snprintf(log_path, sizeof(log_path), "%s/second.log", h->h_dir);
	snprintf(listen, sizeof(listen), "unix:%s", h->h_sock);
	args[0] = "-d";
	args[1] = "--state-dir";
	args[2] = dir;
	args[3] = "--db";
	args[4] = db;
	args[5] = "--listen";
	args[6] = listen;
	args[7] = NULL;
	pid = harness_spawn(args, log_path);
	if (harness_wait_pid(pid, 10000, &status) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the second daemon kept running on a live socket");
	}
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);

	/* Its message names the socket. */
	f = fopen(log_path, "r");
	assert_non_null(f);
	log = calloc(1, 65536);
	assert_non_null(log);
	log[fread(log, 1, 65535, f)] = '\0';
	fclose(f);
	if (strstr(log, h->h_sock) == NULL)
		print_error("second daemon's log does not name %s:\n%s\n",
			    h->h_sock, log);
	assert_non_null(strstr(log, h->h_sock));
	free(log);

	/* The first daemon still owns the socket and answers on it. */
	assert_int_equal(lstat(h->h_sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_status(harness_get(h, "/v1/vms/alpha"), 200);
	assert_status(harness_get(h, "/v1/health"), 200);
}

static void
test_restart__a_stale_socket_after_sigkill_is_replaced(struct harness *h)
{
	struct snapshot before, after;
	struct stat st;
	size_t i;
	int status;

	define_vms(h);
	take(h, &before);
	status = harness_signal_and_wait(h, SIGKILL, 5000);
	assert_true(WIFSIGNALED(status));
	/* Nothing could remove the socket file. */
	assert_int_equal(lstat(h->h_sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));

	harness_start(h, NULL);
	assert_status(harness_get(h, "/v1/health"), 200);
	/* Every acknowledged write was on disk before the kill. */
	take(h, &after);
	for (i = 0; i < NNAMES; i++) {
		assert_string_equal(before.s_etag[i], after.s_etag[i]);
		assert_true(json_equal(before.s_doc[i], after.s_doc[i]));
	}
	drop(&before);
	drop(&after);
}

static void
test_restart__two_clean_restarts_in_a_row_keep_everything(struct harness *h)
{
	struct snapshot before, after;
	size_t i;

	define_vms(h);
	take(h, &before);
	harness_restart(h);
	harness_restart(h);
	take(h, &after);
	for (i = 0; i < NNAMES; i++)
		assert_string_equal(before.s_etag[i], after.s_etag[i]);
	drop(&before);
	drop(&after);
}

#define WRITERS 8
#define WRITES_MAX 400

struct writer {
	struct harness *w_h;
	void *w_curl;
	int w_id;
	int w_done[WRITES_MAX]; /* 1: answered 201 */
	int w_tried;            /* requests sent, answered or not */
	atomic_int w_answered;  /* 201s so far */
	int w_other;            /* answers other than 201 and 503 */
};

/* Creates w-<id>-<n> until the daemon stops answering. */
static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct harness_request rq = {0};
	struct harness_response rs;
	char body[160];
	int n;

	rq.rq_method = "POST";
	rq.rq_path = "/v1/vms";
	rq.rq_headers = headers;
	rq.rq_body = body;
	for (n = 0; n < WRITES_MAX; n++) {
		rq.rq_body_len = (size_t)snprintf(
		    body, sizeof(body), "{\"name\":\"w-%d-%d\"," BOOT "}",
		    w->w_id, n);
		w->w_tried = n + 1;
		if (harness_fetch(w->w_h, w->w_curl, &rq, &rs) == -1)
			break;
		/* 503 is a fair answer while the daemon shuts down. */
		if (rs.hr_status == 201) {
			w->w_done[n] = 1;
			atomic_fetch_add(&w->w_answered, 1);
		} else if (rs.hr_status != 503)
			w->w_other++;
		harness_response_clear(&rs);
	}
	return (NULL);
}

static void
test_restart__sigterm_under_load_keeps_every_acknowledged_write(
    struct harness *h)
{
	static struct writer writers[WRITERS];
	pthread_t tids[WRITERS];
	struct harness_response *r;
	const json_t *item, *next;
	char path[128];
	int i, n, acked = 0, found = 0, status, id;
	size_t k;

	memset(writers, 0, sizeof(writers));
	for (i = 0; i < WRITERS; i++) {
		writers[i].w_h = h;
		writers[i].w_id = i;
		writers[i].w_curl = harness_curl_new();
		assert_int_equal(
		    pthread_create(&tids[i], NULL, writer_main, &writers[i]),
		    0);
	}
	/*
	 * SIGTERM once the load has had answers (a slow daemon -- ASan on a
	 * busy machine -- got fewer than 8 within a fixed 150 ms), then a
	 * little more of it.
	 */
	for (i = 0; i < 2000 * harness_time_factor(); i++) {
		int answered = 0, j;

		for (j = 0; j < WRITERS; j++)
			answered += atomic_load(&writers[j].w_answered);
		if (answered >= WRITERS)
			break;
		usleep(5000);
	}
	usleep(50000);
	status = harness_signal_and_wait(h, SIGTERM, 5000);
	for (i = 0; i < WRITERS; i++) {
		pthread_join(tids[i], NULL);
		harness_curl_free(writers[i].w_curl);
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	harness_start(h, NULL);
	snprintf(path, sizeof(path), "/v1/vms?limit=1000");
	do {
		r = harness_get(h, path);
		assert_status(r, 200);
		json_array_foreach (harness_json_at(r->hr_json, "items"), k,
				    item) {
			const char *name =
			    json_string_value(json_object_get(item, "name"));

			assert_int_equal(sscanf(name, "w-%d-%d", &id, &n), 2);
			assert_true(id >= 0 && id < WRITERS && n >= 0 &&
				    n < writers[id].w_tried);
			/* Unacknowledged writes may or may not be there. */
			if (writers[id].w_done[n] == 1) {
				writers[id].w_done[n] = 2;
				found++;
			}
		}
		next = harness_json_at(r->hr_json, "next");
		if (json_is_string(next))
			snprintf(path, sizeof(path),
				 "/v1/vms?limit=1000&after=%s",
				 json_string_value(next));
	} while (json_is_string(next));
	for (i = 0; i < WRITERS; i++) {
		assert_int_equal(writers[i].w_other, 0);
		for (n = 0; n < WRITES_MAX; n++) {
			if (writers[i].w_done[n] == 0)
				continue;
			acked++;
			if (writers[i].w_done[n] == 1)
				print_error("w-%d-%d was acknowledged and is "
					    "gone\n",
					    i, n);
		}
	}
	print_message("%d writes acknowledged before the daemon stopped\n",
		      acked);
	/* The load ran long enough to mean something. */
	assert_true(acked >= WRITERS);
	assert_int_equal(found, acked);
}

/* The string at dotted path p of r's JSON, or "" (for messages). */
static const char *
str_at(const struct harness_response *r, const char *p)
{
	const char *v = json_string_value(harness_json_at(r->hr_json, p));

	return v != NULL ? v : "";
}

/*
 * An autostart that fails at the daemon's start (its image is not in
 * the store) leaves the VM as it was, with status.autostart saying
 * "failed", why and when, until a start works: then it is null, and
 * the run says it was not an autostart (start_cause null).  A restart
 * whose autostart works says start_cause "autostart".
 */
static void
test_restart__a_failed_autostart_is_in_the_status_until_a_start_works(
    struct harness *h)
{
	struct harness_response *r;
	char was[64];

	harness_define_vm(h, "late", "late.bin", "\"autostart\":true");
	r = harness_get(h, "/v1/vms/late");
	assert_true(
	    json_is_null(harness_json_at(r->hr_json, "status.autostart")));
	assert_true(
	    json_is_null(harness_json_at(r->hr_json, "status.start_cause")));
	harness_restart(h);

	r = harness_get(h, "/v1/vms/late");
	assert_status(r, 200);
	assert_json_str(r, "status.state", "defined");
	assert_json_str(r, "status.autostart.result", "failed");
	if (strstr(str_at(r, "status.autostart.reason"), "late.bin") == NULL)
		fail_msg("status.autostart.reason does not name the image: "
			 "%s",
			 str_at(r, "status.autostart.reason"));
	assert_int_equal(strlen(str_at(r, "status.autostart.at")), 24);
	assert_int_equal(
	    json_integer_value(harness_json_at(r->hr_json, "generation")), 1);
	snprintf(was, sizeof(was), "%s", str_at(r, "status.autostart.at"));

	/* It stays, through reads and another restart that fails again
	 * (then it is that attempt's). */
	harness_restart(h);
	r = harness_get(h, "/v1/vms/late");
	assert_json_str(r, "status.autostart.result", "failed");
	if (strcmp(str_at(r, "status.autostart.at"), was) < 0)
		fail_msg("status.autostart.at went back: %s after %s",
			 str_at(r, "status.autostart.at"), was);

	/* The image arrives; a start by request clears it. */
	harness_put_guest(h, "spin");
	assert_status(harness_req(h, "PUT", "/v1/vms/late",
				  "{\"memory_mib\":4,\"autostart\":true,"
				  "\"boot\":{\"kind\":\"flat\",\"image\":"
				  "\"spin.bin\"}}",
				  NULL),
		      200);
	r = harness_get(h, "/v1/vms/late");
	assert_json_str(r, "status.autostart.result", "failed");
	assert_status(harness_req(h, "POST", "/v1/vms/late/start", NULL, NULL),
		      200);
	r = harness_get(h, "/v1/vms/late");
	assert_json_str(r, "status.state", "running");
	assert_true(
	    json_is_null(harness_json_at(r->hr_json, "status.autostart")));
	assert_true(
	    json_is_null(harness_json_at(r->hr_json, "status.start_cause")));

	/* Next time the daemon starts it, and says so. */
	harness_restart(h);
	r = harness_wait_vm_state(h, "late", "running",
				  20000 * harness_time_factor());
	assert_json_str(r, "status.start_cause", "autostart");
	assert_true(
	    json_is_null(harness_json_at(r->hr_json, "status.autostart")));
	assert_status(
	    harness_req(h, "POST", "/v1/vms/late/stop?force=1", NULL, NULL),
	    200);
}

/*
 * An autostart the policy refuses (its owner, root of jail j1, lost
 * allow_vmm) is "refused", with the policy's reason; the VM stays.
 */
static void
test_restart__a_refused_autostart_is_in_the_status(struct harness *h)
{
	struct harness_response *r;
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct harness_request rq = {.rq_method = "POST",
				     .rq_path = "/v1/vms",
				     .rq_headers = hdr,
				     .rq_tcp = 1};
	char token[128];
	const char *body = "{\"name\":\"jvm\",\"memory_mib\":4,\"autostart\":"
			   "true,\"boot\":{\"kind\":\"flat\",\"image\":"
			   "\"none.bin\"}}";

	assert_status(
	    harness_req(h, "PUT", "/v1/jails/j1", "{\"allow_vmm\":true}", NULL),
	    201);
	r = harness_req(h, "POST", "/v1/tokens", "{\"uid\":0,\"jail\":\"j1\"}",
			NULL);
	assert_status(r, 201);
	snprintf(token, sizeof(token), "%s",
		 json_string_value(json_object_get(r->hr_json, "token")));
	rq.rq_token = token;
	rq.rq_body = body;
	rq.rq_body_len = strlen(body);
	assert_status(harness_send(h, &rq), 201);
	assert_status(harness_req(h, "PUT", "/v1/jails/j1",
				  "{\"allow_vmm\":false}", NULL),
		      200);
	harness_restart(h);

	r = harness_get(h, "/v1/vms/jvm?jail=j1");
	assert_status(r, 200);
	assert_json_str(r, "status.state", "defined");
	assert_json_str(r, "status.autostart.result", "refused");
	if (strstr(str_at(r, "status.autostart.reason"), "allow_vmm") == NULL)
		fail_msg("status.autostart.reason: %s",
			 str_at(r, "status.autostart.reason"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_restart__vms_survive_with_the_same_revision_and_etag, 0),
	    HARNESS_CASE(test_restart__a_new_write_gets_a_higher_revision, 0),
	    HARNESS_CASE(
		test_restart__the_revision_of_a_deleted_vm_is_not_reused, 0),
	    HARNESS_CASE(test_restart__a_second_daemon_on_a_live_socket_fails,
			 0),
	    HARNESS_CASE(test_restart__a_stale_socket_after_sigkill_is_replaced,
			 0),
	    HARNESS_CASE(
		test_restart__two_clean_restarts_in_a_row_keep_everything, 0),
	    HARNESS_CASE(
		test_restart__sigterm_under_load_keeps_every_acknowledged_write,
		0),
	    HARNESS_CASE(
		test_restart__a_failed_autostart_is_in_the_status_until_a_start_works,
		0),
	    HARNESS_CASE(test_restart__a_refused_autostart_is_in_the_status,
			 HARNESS_TCP),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
