/*
 * POST /v1/admin/backup: a consistent copy made while writes go on, and
 * the restore procedure of docs/operations.md (stop, replace, start):
 * the restored daemon has exactly the VMs whose creation the copy's
 * revision covers, and never hands out again the revisions and event ids
 * of what was written after the copy.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "harness.h"

#define WRITERS 4
#define MAX_CREATES 4000

struct created {
	char cr_name[32];
	uint64_t cr_revision;
};

struct writers {
	struct harness *w_h;
	atomic_int w_stop;
	pthread_mutex_t w_lock;
	struct created w_done[MAX_CREATES];
	int w_n;
	int w_failed;
};

struct writer_arg {
	struct writers *wa_w;
	int wa_id;
};

static void *
writer_main(void *arg)
{
	struct writer_arg *wa = arg;
	struct writers *w = wa->wa_w;
	const char *headers[] = {"Content-Type: application/json", NULL};
	void *curl = harness_curl_new();
	char body[160];
	int i;

	for (i = 0; !atomic_load(&w->w_stop) && i < MAX_CREATES / WRITERS;
	     i++) {
		struct harness_request rq = {0};
		struct harness_response rs = {0};
		const json_t *rev;

		snprintf(body, sizeof(body),
			 "{\"name\":\"w%d-%04d\",\"boot\":{\"kind\":\"flat\","
			 "\"image\":\"hello.bin\"}}",
			 wa->wa_id, i);
		rq.rq_method = "POST";
		rq.rq_path = "/v1/vms";
		rq.rq_headers = headers;
		rq.rq_body = body;
		rq.rq_body_len = strlen(body);
		if (harness_fetch(w->w_h, curl, &rq, &rs) != 0 ||
		    rs.hr_status != 201 ||
		    (rev = json_object_get(rs.hr_json, "revision")) == NULL) {
			pthread_mutex_lock(&w->w_lock);
			w->w_failed++;
			pthread_mutex_unlock(&w->w_lock);
			harness_response_clear(&rs);
			break;
		}
		pthread_mutex_lock(&w->w_lock);
		snprintf(w->w_done[w->w_n].cr_name, 32, "w%d-%04d", wa->wa_id,
			 i);
		w->w_done[w->w_n].cr_revision =
		    (uint64_t)json_integer_value(rev);
		w->w_n++;
		pthread_mutex_unlock(&w->w_lock);
		harness_response_clear(&rs);
	}
	harness_curl_free(curl);
	return NULL;
}

/*
 * The restore of docs/operations.md: stop, the copy in the database's
 * place (its old WAL and shared memory gone), start.
 */
static void
restore(struct harness *h, const char *copy)
{
	char side[HARNESS_PATH_MAX + 8];

	harness_stop(h);
	assert_int_equal(rename(copy, h->h_db), 0);
	snprintf(side, sizeof(side), "%s-wal", h->h_db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", h->h_db);
	unlink(side);
	harness_start(h, NULL);
}

/* Whether the list holds a VM named name. */
static int
listed(const json_t *items, const char *name)
{
	const json_t *item;
	size_t i;

	json_array_foreach (items, i, item)
		if (strcmp(json_string_value(json_object_get(item, "name")),
			   name) == 0)
			return 1;
	return 0;
}

static void
test_backup__copy_under_writes_restores_what_its_revision_says(
    struct harness *h)
{
	static struct writers w;
	struct writer_arg wa[WRITERS];
	pthread_t th[WRITERS];
	struct harness_response *r;
	char copy[HARNESS_PATH_MAX + 64];
	const json_t *items;
	uint64_t revision;
	struct stat st;
	int i, before = 0, after = 0;

	memset(&w, 0, sizeof(w));
	w.w_h = h;
	pthread_mutex_init(&w.w_lock, NULL);
	for (i = 0; i < WRITERS; i++) {
		wa[i].wa_w = &w;
		wa[i].wa_id = i;
		assert_int_equal(
		    pthread_create(&th[i], NULL, writer_main, &wa[i]), 0);
	}
	/* Let the writers get going, then copy while they write. */
	while (1) {
		pthread_mutex_lock(&w.w_lock);
		i = w.w_n;
		pthread_mutex_unlock(&w.w_lock);
		if (i >= 40 || w.w_failed)
			break;
		usleep(1000);
	}
	r = harness_req(h, "POST", "/v1/admin/backup", NULL, NULL);
	/* More writes after the copy: they must not be in it. */
	usleep(50000);
	atomic_store(&w.w_stop, 1);
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(w.w_failed, 0);
	assert_status(r, 201);
	revision = (uint64_t)json_integer_value(
	    json_object_get(r->hr_json, "revision"));
	assert_true(revision > 0);
	assert_non_null(
	    strstr(json_string_value(json_object_get(r->hr_json, "name")),
		   "vmmapid-backup-"));
	snprintf(copy, sizeof(copy), "%s/%s", h->h_dir,
		 json_string_value(json_object_get(r->hr_json, "name")));
	assert_int_equal(stat(copy, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(
	    (uint64_t)st.st_size,
	    (uint64_t)json_integer_value(json_object_get(r->hr_json, "size")));

	restore(h, copy);
	r = harness_get(h, "/v1/vms?limit=1000");
	assert_status(r, 200);
	items = json_object_get(r->hr_json, "items");
	for (i = 0; i < w.w_n; i++) {
		int in = listed(items, w.w_done[i].cr_name);

		if (w.w_done[i].cr_revision <= revision) {
			if (!in)
				fail_msg(
				    "%s (revision %llu) is missing from "
				    "the copy of revision %llu",
				    w.w_done[i].cr_name,
				    (unsigned long long)w.w_done[i].cr_revision,
				    (unsigned long long)revision);
			before++;
		} else {
			if (in)
				fail_msg(
				    "%s (revision %llu) is in the copy "
				    "of revision %llu",
				    w.w_done[i].cr_name,
				    (unsigned long long)w.w_done[i].cr_revision,
				    (unsigned long long)revision);
			after++;
		}
	}
	assert_int_equal((int)json_array_size(items), before);
	print_message("backup: %d creates before the copy's revision %llu, "
		      "%d after\n",
		      before, (unsigned long long)revision, after);
	/* The copy was made under writes: some came after it. */
	assert_true(before > 0 && after > 0);
}

/* The newest event id in the database file at path (read-only). */
static long long
events_newest(const char *path)
{
	sqlite3 *sql = NULL;
	sqlite3_stmt *st = NULL;
	long long id = -1;

	if (sqlite3_open_v2(path, &sql, SQLITE_OPEN_READONLY, NULL) ==
		SQLITE_OK &&
	    sqlite3_prepare_v2(sql, "SELECT coalesce(max(id), 0) FROM events",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(sql);
	if (id < 0)
		fail_msg("no events in %s", path);
	return id;
}

/* The revision in r's ETag. */
static unsigned long long
etag_of(const struct harness_response *r)
{
	const char *e = harness_header(r, "ETag");

	if (e == NULL || *e != '"')
		fail_msg("%s %s: no ETag", r->hr_method, r->hr_path);
	return strtoull(e + 1, NULL, 10);
}

/*
 * What was written after the copy is lost by a restore, and so are its
 * numbers: a Last-Event-ID from it is 410 saying why (before this, it
 * resumed on the restored journal's next events, which are other
 * events), an If-Match tag from it matches nothing (before, it matched
 * once the restored VM's revisions had come that far), while the
 * copy's own last event and a tag read before the copy still work.
 */
static void
test_backup__a_restore_never_hands_out_the_lost_timeline_s_numbers(
    struct harness *h)
{
	struct harness_response *r;
	struct harness_stream *s;
	char copy[HARNESS_PATH_MAX + 64];
	char hdr[96], path[96], *log;
	unsigned long long before, lost;
	long long copied, newest;

	harness_put_guest(h, "hello");
	harness_define_vm(h, "keep", "hello.bin", "");
	before = etag_of(harness_get(h, "/v1/vms/keep"));
	r = harness_req(h, "POST", "/v1/admin/backup", NULL, NULL);
	assert_status(r, 201);
	snprintf(copy, sizeof(copy), "%s/%s", h->h_dir,
		 json_string_value(json_object_get(r->hr_json, "name")));
	copied = events_newest(copy);
	r = harness_req(h, "PATCH", "/v1/vms/keep",
			"{\"description\": \"after the copy\"}",
			"Content-Type: application/merge-patch+json", NULL);
	assert_status(r, 200);
	lost = etag_of(r);
	newest = events_newest(h->h_db);
	assert_true(newest > copied);

	restore(h, copy);
	log = harness_read_log(h);
	assert_non_null(log);
	assert_non_null(strstr(log, "a restore"));
	free(log);

	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld", newest);
	r = harness_req(h, "GET", "/v1/events", NULL, hdr, NULL);
	assert_problem(r, 410, NULL);
	assert_non_null(strstr(r->hr_body, "restored from a backup"));
	/* The copy's own last event: the stream goes on from it. */
	snprintf(path, sizeof(path), "/v1/events?since=%lld", copied);
	s = harness_stream_open(h, "GET", path, NULL, 0, 10000);
	assert_status(harness_req(h, "POST", "/v1/vms/keep/start", NULL, NULL),
		      200);
	assert_true(harness_stream_wait_for(s, "vm.started", 5000));
	harness_stream_abort(s);
	harness_wait_vm_state(h, "keep", "stopped", 10000);
	assert_true(etag_of(harness_get(h, "/v1/vms/keep")) > lost);

	snprintf(hdr, sizeof(hdr), "If-Match: \"%llu\"", lost);
	assert_problem(harness_req(h, "PATCH", "/v1/vms/keep",
				   "{\"description\": \"x\"}",
				   "Content-Type: application/merge-patch+json",
				   hdr, NULL),
		       412, NULL);
	snprintf(hdr, sizeof(hdr), "If-Match: \"%llu\"", before);
	assert_status(harness_req(h, "PATCH", "/v1/vms/keep",
				  "{\"description\": \"y\"}",
				  "Content-Type: application/merge-patch+json",
				  hdr, NULL),
		      200);
	/* A restart of the restored file is no second restore, and still
	 * knows what was lost. */
	harness_restart(h);
	log = harness_read_log(h);
	assert_non_null(log);
	assert_non_null(strstr(log, "a restore"));
	assert_null(strstr(strstr(log, "a restore") + 1, "a restore"));
	free(log);
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %lld", newest);
	assert_problem(harness_req(h, "GET", "/v1/events", NULL, hdr, NULL),
		       410, NULL);
}

static void
test_backup__is_host_roots(struct harness *h)
{
	struct harness_request rq = {0};

	rq.rq_method = "POST";
	rq.rq_path = "/v1/admin/backup";
	rq.rq_tcp = 1;
	assert_problem(harness_send(h, &rq), 401, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_backup__a_restore_never_hands_out_the_lost_timeline_s_numbers,
		0),
	    HARNESS_CASE(
		test_backup__copy_under_writes_restores_what_its_revision_says,
		0),
	    HARNESS_CASE(test_backup__is_host_roots, HARNESS_TCP),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
