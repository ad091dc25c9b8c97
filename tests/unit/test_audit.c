/*
 * The audit log below the HTTP layer: db/db_audit.c's detached appends
 * through the writer (db_writer_submit_async), reading them back newest
 * first in pages, and api_audit_record's choice of requests and the way
 * it writes down who and what.
 *
 * Detached appends are checked against the group commit with a "gate": a
 * write that holds the writer thread until the test lets it go, so that
 * what queues meanwhile is known to be waiting when the writer next looks.
 * The gate is a writer job, hence db_internal.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/handlers.h"
#include "base/timefmt.h"
#include "db/db.h"
#include "db/db_internal.h"

#include "tfixture.h"

struct fx {
	struct tfixture f_tf; /* first */
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	tfixture_free(fx);
	return 0;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* What a test reads back: copies of the rows, newest first. */
#define MAX_ROWS 64

struct rows {
	struct db_audit_row r_row[MAX_ROWS];
	char r_path[MAX_ROWS][4200];
	size_t r_n;
};

static int
rows_add(void *arg, const struct db_audit_row *row)
{
	struct rows *r = arg;

	if (r->r_n == MAX_ROWS)
		return 1;
	r->r_row[r->r_n] = *row;
	snprintf(r->r_path[r->r_n], sizeof(r->r_path[0]), "%s", row->ar_path);
	r->r_row[r->r_n].ar_path = r->r_path[r->r_n];
	r->r_n++;
	return 0;
}

/* Lists into a struct rows that the test frees. */
static struct rows *
list(struct fx *fx, int64_t before, size_t limit)
{
	struct rows *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	if (db_audit_list(fx->f_tf.tf_db, before, limit, rows_add, r) != 0)
		fail_msg("db_audit_list: %s", strerror(errno));
	return r;
}

static void
append(struct fx *fx, int64_t uid, const char *method, const char *path,
       int status)
{
	struct db_audit_row row;

	memset(&row, 0, sizeof(row));
	row.ar_time_ms = timefmt_now_ms();
	row.ar_uid = uid;
	row.ar_gid = uid;
	snprintf(row.ar_jail, sizeof(row.ar_jail), "%s", uid == 7 ? "j7" : "");
	snprintf(row.ar_via, sizeof(row.ar_via), "unix");
	snprintf(row.ar_method, sizeof(row.ar_method), "%s", method);
	row.ar_path = path;
	row.ar_status = status;
	assert_int_equal(db_audit_append(fx->f_tf.tf_db, &row), 0);
}

/* The gate (tests/common/tfixture.h): see the comment at the top. */

/* db_audit_append and db_audit_list */

static void
test_audit__appends_are_listed_newest_first_with_their_fields(void **state)
{
	struct fx *fx = *state;
	struct rows *r;

	append(fx, 0, "POST", "/v1/vms", 201);
	append(fx, 7, "DELETE", "/v1/vms/a", 404);
	append(fx, -1, "PUT", "/v1/jails/j1", 401);
	/* No wait in between: the list waits for the queued appends. */
	r = list(fx, 0, 10);
	assert_int_equal(r->r_n, 3);
	assert_string_equal(r->r_row[0].ar_method, "PUT");
	assert_int_equal(r->r_row[0].ar_uid, -1);
	assert_int_equal(r->r_row[0].ar_status, 401);
	assert_string_equal(r->r_row[1].ar_method, "DELETE");
	assert_string_equal(r->r_row[1].ar_path, "/v1/vms/a");
	assert_string_equal(r->r_row[1].ar_jail, "j7");
	assert_int_equal(r->r_row[1].ar_gid, 7);
	assert_string_equal(r->r_row[1].ar_via, "unix");
	assert_string_equal(r->r_row[2].ar_path, "/v1/vms");
	assert_int_equal(r->r_row[2].ar_status, 201);
	assert_true(r->r_row[0].ar_id > r->r_row[1].ar_id);
	assert_true(r->r_row[1].ar_id > r->r_row[2].ar_id);
	assert_true(r->r_row[2].ar_time_ms <= r->r_row[0].ar_time_ms);
	free(r);
}

static void
test_audit__pages_follow_the_before_cursor(void **state)
{
	struct fx *fx = *state;
	char path[32];
	struct rows *r;
	int64_t before;
	int i, seen = 0;

	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/v1/vms/vm%d", i);
		append(fx, 0, "POST", path, 201);
	}
	r = list(fx, 0, 4);
	assert_int_equal(r->r_n, 4);
	assert_string_equal(r->r_row[0].ar_path, "/v1/vms/vm9");
	assert_string_equal(r->r_row[3].ar_path, "/v1/vms/vm6");
	before = r->r_row[3].ar_id;
	free(r);
	r = list(fx, before, 4);
	assert_int_equal(r->r_n, 4);
	assert_string_equal(r->r_row[0].ar_path, "/v1/vms/vm5");
	before = r->r_row[3].ar_id;
	free(r);
	r = list(fx, before, 4);
	assert_int_equal(r->r_n, 2);
	assert_string_equal(r->r_row[1].ar_path, "/v1/vms/vm0");
	seen = (int)r->r_n;
	free(r);
	assert_int_equal(seen, 2);
}

static void
test_audit__records_survive_a_restart(void **state)
{
	struct fx *fx = *state;
	struct rows *r;
	int i;

	for (i = 0; i < 50; i++)
		append(fx, i, "POST", "/v1/vms", 201);
	/* Closing drains the queue: nothing queued is lost. */
	tfixture_reopen_db(&fx->f_tf);
	r = list(fx, 0, 64);
	assert_int_equal(r->r_n, 50);
	assert_int_equal(r->r_row[0].ar_uid, 49);
	assert_int_equal(r->r_row[49].ar_uid, 0);
	free(r);
}

static void
test_audit__appends_wait_for_no_commit_and_share_one(void **state)
{
	struct fx *fx = *state;
	uint64_t c0, w0, c1, w1;
	struct tgate g;
	struct rows *r;
	int i;

	tgate_close(&g, fx->f_tf.tf_db);
	db_write_stats(fx->f_tf.tf_db, &c0, &w0);
	/* The writer is held: each append returns anyway. */
	for (i = 0; i < 20; i++)
		append(fx, i, "PATCH", "/v1/vms/x", 200);
	assert_int_equal(db_writer_queued(fx->f_tf.tf_db), 20);
	tgate_open(&g);
	r = list(fx, 0, 64);
	assert_int_equal(r->r_n, 20);
	free(r);
	db_write_stats(fx->f_tf.tf_db, &c1, &w1);
	/* The gate's commit, then one for all twenty. */
	assert_int_equal(w1 - w0, 21);
	assert_int_equal(c1 - c0, 2);
}

static void
test_audit__a_record_that_fails_leaves_its_batch_whole(void **state)
{
	struct fx *fx = *state;
	struct tgate g;
	struct rows *r;

	tgate_close(&g, fx->f_tf.tf_db);
	append(fx, 1, "POST", "/v1/a", 201);
	/* uid -2 breaks the table's CHECK: this one is lost, and logged. */
	append(fx, -2, "POST", "/v1/b", 201);
	append(fx, 3, "POST", "/v1/c", 201);
	tgate_open(&g);
	r = list(fx, 0, 64);
	assert_int_equal(r->r_n, 2);
	assert_string_equal(r->r_row[0].ar_path, "/v1/c");
	assert_string_equal(r->r_row[1].ar_path, "/v1/a");
	free(r);
}

struct flood {
	struct fx *fl_fx;
	atomic_int fl_done;
};

static void *
flood_main(void *arg)
{
	struct flood *fl = arg;
	int i;

	for (i = 0; i < DB_ASYNC_MAX + 1; i++) {
		append(fl->fl_fx, 0, "POST", "/v1/x", 201);
		atomic_fetch_add(&fl->fl_done, 1);
	}
	return NULL;
}

static void
test_audit__a_writer_far_behind_holds_appends_back(void **state)
{
	struct fx *fx = *state;
	struct flood fl = {fx, 0};
	pthread_t th;
	struct tgate g;
	int i;

	tgate_close(&g, fx->f_tf.tf_db);
	assert_int_equal(pthread_create(&th, NULL, flood_main, &fl), 0);
	for (i = 0; i < 10000 && atomic_load(&fl.fl_done) < DB_ASYNC_MAX; i++)
		sleep_ms(1);
	assert_int_equal(atomic_load(&fl.fl_done), DB_ASYNC_MAX);
	/* The one past the limit waits for room. */
	sleep_ms(200);
	assert_int_equal(atomic_load(&fl.fl_done), DB_ASYNC_MAX);
	tgate_open(&g);
	pthread_join(th, NULL);
	assert_int_equal(atomic_load(&fl.fl_done), DB_ASYNC_MAX + 1);
	assert_int_equal(db_writer_flush_async(fx->f_tf.tf_db), 0);
}

static void
test_audit__bad_rows_are_einval(void **state)
{
	struct fx *fx = *state;
	struct db_audit_row row;
	struct rows *r;

	memset(&row, 0, sizeof(row));
	snprintf(row.ar_method, sizeof(row.ar_method), "POST");
	errno = 0;
	assert_int_equal(db_audit_append(fx->f_tf.tf_db, &row),
			 -1); /* no path */
	assert_int_equal(errno, EINVAL);
	row.ar_path = "/v1";
	memset(row.ar_via, 'x', sizeof(row.ar_via));
	errno = 0;
	assert_int_equal(db_audit_append(fx->f_tf.tf_db, &row), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(db_audit_list(fx->f_tf.tf_db, -1, 10, rows_add, NULL),
			 -1);
	assert_int_equal(errno, EINVAL);
	r = list(fx, 0, 10);
	assert_int_equal(r->r_n, 0);
	free(r);
}

/* api_audit_record */

static struct api_request
request(enum api_method m, const char *name, const char *path)
{
	struct api_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = m;
	rq.rq_method_name = name;
	rq.rq_path = path;
	rq.rq_principal.pr_known = 1;
	rq.rq_principal.pr_uid = 1000;
	rq.rq_principal.pr_gid = 100;
	snprintf(rq.rq_principal.pr_jail, sizeof(rq.rq_principal.pr_jail),
		 "j1");
	snprintf(rq.rq_principal.pr_via, sizeof(rq.rq_principal.pr_via),
		 "token");
	return rq;
}

static void
test_audit__only_mutating_requests_are_recorded(void **state)
{
	struct fx *fx = *state;
	struct api_context ctx;
	struct api_request rq;
	struct rows *r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.ac_db = fx->f_tf.tf_db;
	rq = request(API_GET, "GET", "/v1/vms");
	api_audit_record(&ctx, &rq, 200);
	rq = request(API_HEAD, "HEAD", "/v1/vms");
	api_audit_record(&ctx, &rq, 200);
	rq = request(API_POST, "POST", "/v1/vms");
	api_audit_record(&ctx, &rq, 201);
	rq = request(API_PUT, "PUT", "/v1/vms/a");
	api_audit_record(&ctx, &rq, 200);
	rq = request(API_PATCH, "PATCH", "/v1/vms/a");
	api_audit_record(&ctx, &rq, 412);
	rq = request(API_DELETE, "DELETE", "/v1/vms/a");
	api_audit_record(&ctx, &rq, 204);
	r = list(fx, 0, 10);
	assert_int_equal(r->r_n, 4);
	assert_string_equal(r->r_row[0].ar_method, "DELETE");
	assert_int_equal(r->r_row[0].ar_status, 204);
	assert_string_equal(r->r_row[1].ar_method, "PATCH");
	assert_int_equal(r->r_row[1].ar_status, 412);
	assert_string_equal(r->r_row[3].ar_method, "POST");
	assert_int_equal(r->r_row[3].ar_uid, 1000);
	assert_int_equal(r->r_row[3].ar_gid, 100);
	assert_string_equal(r->r_row[3].ar_jail, "j1");
	assert_string_equal(r->r_row[3].ar_via, "token");
	free(r);
	/* Without a database (tests of the router alone): nothing, safely. */
	ctx.ac_db = NULL;
	api_audit_record(&ctx, &rq, 204);
}

static void
test_audit__an_unknown_caller_is_uid_and_gid_minus_1(void **state)
{
	struct fx *fx = *state;
	struct api_context ctx;
	struct api_request rq = request(API_POST, "POST", "/v1/vms");
	struct rows *r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.ac_db = fx->f_tf.tf_db;
	memset(&rq.rq_principal, 0, sizeof(rq.rq_principal));
	api_audit_record(&ctx, &rq, 401);
	r = list(fx, 0, 10);
	assert_int_equal(r->r_n, 1);
	assert_int_equal(r->r_row[0].ar_uid, -1);
	assert_int_equal(r->r_row[0].ar_gid, -1);
	assert_string_equal(r->r_row[0].ar_jail, "");
	assert_string_equal(r->r_row[0].ar_via, "");
	free(r);
}

static void
test_audit__path_and_query_are_written_down_encoded(void **state)
{
	struct fx *fx = *state;
	struct api_context ctx;
	struct api_request rq =
	    request(API_POST, "POST", "/v1/vms/we b\xc3\xa9/start");
	struct rows *r;

	memset(&ctx, 0, sizeof(ctx));
	ctx.ac_db = fx->f_tf.tf_db;
	rq.rq_query[0].kv_key = "mode";
	rq.rq_query[0].kv_value = "monitor";
	rq.rq_query[1].kv_key = "x";
	rq.rq_query[1].kv_value = "a&b=c/d";
	rq.rq_query[2].kv_key = "force";
	rq.rq_query[2].kv_value = NULL;
	/* A token in the query, on any route, is never written down. */
	rq.rq_query[3].kv_key = "access_token";
	rq.rq_query[3].kv_value = "vmm_0123456789abcdef";
	rq.rq_nquery = 4;
	api_audit_record(&ctx, &rq, 200);
	r = list(fx, 0, 10);
	assert_int_equal(r->r_n, 1);
	assert_string_equal(r->r_row[0].ar_path,
			    "/v1/vms/we%20b%C3%A9/start?mode=monitor&x=a%26b%"
			    "3Dc%2Fd&force&access_token=REDACTED");
	free(r);
}

static void
test_audit__a_long_target_is_cut_at_4096_bytes(void **state)
{
	struct fx *fx = *state;
	struct api_context ctx;
	struct api_request rq;
	static char path[3000], value[3000];
	struct rows *r;
	size_t len;

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	memset(value, ' ', sizeof(value) - 1); /* 3 bytes each, encoded */
	rq = request(API_PUT, "PUT", path);
	rq.rq_query[0].kv_key = "v";
	rq.rq_query[0].kv_value = value;
	rq.rq_nquery = 1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.ac_db = fx->f_tf.tf_db;
	api_audit_record(&ctx, &rq, 400);
	r = list(fx, 0, 10);
	assert_int_equal(r->r_n, 1);
	len = strlen(r->r_row[0].ar_path);
	assert_true(len <= 4096);
	assert_true(len >= 4096 - 5);
	assert_string_equal(r->r_row[0].ar_path + len - 3, "...");
	/* Cut between escapes, never inside one. */
	assert_int_equal(r->r_row[0].ar_path[len - 6], '%');
	assert_int_equal(strncmp(r->r_row[0].ar_path, path, sizeof(path) - 1),
			 0);
	free(r);
}

static int
rows_count(void *arg, const struct db_audit_row *row)
{
	int64_t *c = arg;

	c[0]++;
	c[1] = row->ar_id; /* newest first: the last is the oldest */
	return 0;
}

/* Issue #14, finding 6: a non-member's refused requests grew the log by
 * ~290 MB in 20 s.  The newest LIMIT_AUDIT_RECORDS are kept (512 here),
 * older ones go as new ones come. */
static void
test_audit__the_log_keeps_its_newest_records_up_to_the_limit(void **state)
{
	struct fx *fx = *state;
	int64_t c[2];
	int i;

	db_audit_keep_set(512);
	/* At the limit: nothing goes. */
	for (i = 0; i < 512; i++)
		append(fx, 4243, "DELETE", "/v1/vms/x", 403);
	c[0] = c[1] = 0;
	assert_int_equal(
	    db_audit_list(fx->f_tf.tf_db, 0, 100000, rows_count, c), 0);
	assert_int_equal(c[0], 512);
	assert_int_equal(c[1], 1);
	/* Past it: the oldest go, 256 at a time, and 512 stay. */
	for (i = 0; i < 1024; i++)
		append(fx, 4243, "DELETE", "/v1/vms/x", 403);
	c[0] = c[1] = 0;
	assert_int_equal(
	    db_audit_list(fx->f_tf.tf_db, 0, 100000, rows_count, c), 0);
	db_audit_keep_set(0);
	assert_int_equal(c[0], 512);
	assert_int_equal(c[1], 1536 - 512 + 1);
}

/* Rows of r by uid uid and method method (NULL: any). */
static size_t
rows_of(const struct rows *r, int64_t uid, const char *method)
{
	size_t i, n = 0;

	for (i = 0; i < r->r_n; i++)
		if (r->r_row[i].ar_uid == uid &&
		    (method == NULL ||
		     strcmp(r->r_row[i].ar_method, method) == 0))
			n++;
	return n;
}

/*
 * Issue #14, finding 6: with the log bounded, one caller's flood of
 * refused requests would push everyone's records out.  Records of
 * requests that changed nothing are kept at most N a minute per caller
 * (5 here); past them one record says how many were not kept, once the
 * caller's minute is over.  Changes, and other callers, are not touched.
 */
static void
test_audit__refused_records_are_bounded_per_caller_and_summarized(void **state)
{
	struct fx *fx = *state;
	struct api_context ctx;
	struct api_request a = request(API_DELETE, "DELETE", "/v1/vms/x");
	struct api_request b = request(API_POST, "POST", "/v1/vms");
	struct rows *r;
	int64_t t0 = 1700000000000;
	size_t i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.ac_db = fx->f_tf.tf_db;
	assert_non_null(ctx.ac_audit_rate = api_audit_rate_new(5));
	a.rq_principal.pr_uid = 4243;
	b.rq_principal.pr_uid = 4242;
	for (i = 0; i < 20; i++)
		api_audit_record_at(&ctx, &a, 403, t0 + (int64_t)i);
	/* Another caller has its own five; changes are always kept. */
	for (i = 0; i < 3; i++)
		api_audit_record_at(&ctx, &b, 404, t0 + 100);
	api_audit_record_at(&ctx, &b, 201, t0 + 101);
	api_audit_record_at(&ctx, &a, 204, t0 + 102);
	r = list(fx, 0, MAX_ROWS);
	assert_int_equal(rows_of(r, 4243, "DELETE"), 6);
	assert_int_equal(rows_of(r, 4242, "POST"), 4);
	assert_int_equal(rows_of(r, 4243, "DROPPED"), 0);
	free(r);

	/* Within the minute: still nothing more, no summary yet. */
	api_audit_record_at(&ctx, &a, 403, t0 + 59999);
	api_audit_rate_flush(&ctx, t0 + 59999);
	r = list(fx, 0, MAX_ROWS);
	assert_int_equal(rows_of(r, 4243, NULL), 6);
	free(r);

	/* The next minute: the summary, then the new record. */
	api_audit_record_at(&ctx, &a, 403, t0 + 60000);
	r = list(fx, 0, MAX_ROWS);
	assert_int_equal(rows_of(r, 4243, NULL), 8);
	assert_string_equal(r->r_row[0].ar_method, "DELETE");
	assert_int_equal(r->r_row[0].ar_status, 403);
	assert_string_equal(r->r_row[1].ar_method, "DROPPED");
	assert_int_equal(r->r_row[1].ar_status, 429);
	assert_int_equal(r->r_row[1].ar_uid, 4243);
	assert_string_equal(r->r_row[1].ar_jail, "j1");
	assert_string_equal(r->r_row[1].ar_path,
			    "count=16&first=2023-11-14T22:13:20.005Z&"
			    "last=2023-11-14T22:14:19.999Z");
	free(r);

	/* A caller who goes quiet: its summary comes with the flush that
	 * finds its minute (from t0 + 100) over (GET /v1/audit, the
	 * daemon's exit). */
	for (i = 0; i < 7; i++)
		api_audit_record_at(&ctx, &b, 409, t0 + 200);
	api_audit_rate_flush(&ctx, t0 + 60099);
	r = list(fx, 0, MAX_ROWS);
	assert_int_equal(rows_of(r, 4242, "DROPPED"), 0);
	free(r);
	api_audit_rate_flush(&ctx, t0 + 60100);
	r = list(fx, 0, MAX_ROWS);
	assert_int_equal(rows_of(r, 4242, "DROPPED"), 1);
	assert_string_equal(r->r_row[0].ar_path,
			    "count=5&first=2023-11-14T22:13:20.200Z&"
			    "last=2023-11-14T22:13:20.200Z");
	free(r);
	api_audit_rate_free(ctx.ac_audit_rate);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_audit__appends_are_listed_newest_first_with_their_fields),
	    T(test_audit__pages_follow_the_before_cursor),
	    T(test_audit__records_survive_a_restart),
	    T(test_audit__appends_wait_for_no_commit_and_share_one),
	    T(test_audit__a_record_that_fails_leaves_its_batch_whole),
	    T(test_audit__a_writer_far_behind_holds_appends_back),
	    T(test_audit__bad_rows_are_einval),
	    T(test_audit__only_mutating_requests_are_recorded),
	    T(test_audit__an_unknown_caller_is_uid_and_gid_minus_1),
	    T(test_audit__path_and_query_are_written_down_encoded),
	    T(test_audit__a_long_target_is_cut_at_4096_bytes),
	    T(test_audit__the_log_keeps_its_newest_records_up_to_the_limit),
	    T(test_audit__refused_records_are_bounded_per_caller_and_summarized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
