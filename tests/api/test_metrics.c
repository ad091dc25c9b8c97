/*
 * GET /metrics: the counters move with requests, by route pattern (never
 * the path sent); who may read them; the output passes promtool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tskip.h"

#define METRICS_TOKEN "metrics-0123456789abcdef0123456789"

static struct harness_response *
tcp_get(struct harness *h, const char *path, const char *token)
{
	struct harness_request rq = {0};

	rq.rq_method = "GET";
	rq.rq_path = path;
	rq.rq_tcp = 1;
	rq.rq_token = token;
	return harness_send(h, &rq);
}

/* The value of the sample whose line starts with series + " ", or -1. */
static long long
sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return atoll(p + n + 1);
		p += n;
	}
	return -1;
}

static void
test_metrics__requests_are_counted_by_route_pattern(struct harness *h)
{
	struct harness_response *r;
	const char *ok = "vmmapid_http_requests_total{route=\"/v1/vms\","
			 "method=\"GET\",status=\"200\"}";
	const char *nf = "vmmapid_http_requests_total{route=\"/v1/vms/"
			 "{name}\",method=\"GET\",status=\"404\"}";
	long long before;

	r = harness_get(h, "/metrics");
	assert_status(r, 200);
	assert_non_null(strstr(harness_header(r, "Content-Type"),
			       "text/plain; version=0.0.4"));
	before = sample(r->hr_body, ok);
	if (before < 0)
		before = 0;
	assert_status(harness_get(h, "/v1/vms"), 200);
	assert_status(harness_get(h, "/v1/vms"), 200);
	assert_status(harness_get(h, "/v1/vms/no-such-vm"), 404);
	r = harness_get(h, "/metrics");
	assert_status(r, 200);
	assert_int_equal(sample(r->hr_body, ok), before + 2);
	assert_int_equal(sample(r->hr_body, nf), 1);
	/* The pattern, never the path a client sent. */
	assert_null(strstr(r->hr_body, "no-such-vm"));
	assert_true(sample(r->hr_body,
			   "vmmapid_http_request_duration_seconds_count{route="
			   "\"/v1/vms\",method=\"GET\"}") >= 2);
	assert_int_equal(sample(r->hr_body, "vmmapid_vms{state=\"defined\"}"),
			 0);
	harness_define_vm(h, "m1", "hello.bin", "");
	harness_define_vm(h, "m2", "hello.bin", "");
	r = harness_get(h, "/metrics");
	assert_int_equal(sample(r->hr_body, "vmmapid_vms{state=\"defined\"}"),
			 2);
	/* Two creates: two writes committed, in one commit each or fewer. */
	assert_true(sample(r->hr_body, "vmmapid_db_commit_writes_sum") >= 2);
	assert_true(sample(r->hr_body,
			   "vmmapid_db_commit_duration_seconds_count") >= 1);
	assert_true(sample(r->hr_body, "vmmapid_http_connections") >= 1);
}

static void
test_metrics__tcp_needs_the_admin_or_the_metrics_token(struct harness *h)
{
	const char *args[] = {"--metrics-token-file", NULL, NULL};
	char path[HARNESS_PATH_MAX + 16];
	FILE *f;

	snprintf(path, sizeof(path), "%s/metrics.token", h->h_dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", METRICS_TOKEN);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	args[1] = path;
	harness_start(h, args);
	assert_problem(tcp_get(h, "/metrics", NULL), 401, NULL);
	assert_problem(tcp_get(h, "/metrics", "vmm_not-a-token-at-all"), 401,
		       NULL);
	assert_status(tcp_get(h, "/metrics", h->h_token), 200);
	assert_status(tcp_get(h, "/metrics", METRICS_TOKEN), 200);
	/* The metrics token opens /metrics and nothing else. */
	assert_problem(tcp_get(h, "/v1/vms", METRICS_TOKEN), 401, NULL);
	assert_problem(tcp_get(h, "/v1", METRICS_TOKEN), 401, NULL);
}

/* Starts the daemon with args[0..1] added; 1 when it exits non-zero. */
static int
start_fails(struct harness *h, const char *const *extra)
{
	char listen[HARNESS_PATH_MAX + 8];
	const char *args[12];
	pid_t pid;
	int status;

	snprintf(listen, sizeof(listen), "unix:%s", h->h_sock);
	args[0] = "-d";
	args[1] = "--state-dir";
	args[2] = h->h_dir;
	args[3] = "--driver";
	args[4] = "sim";
	args[5] = "--listen";
	args[6] = listen;
	args[7] = extra[0];
	args[8] = extra[1];
	args[9] = NULL;
	pid = harness_spawn(args, h->h_log);
	if (harness_wait_pid(pid, 10000, &status) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return 0;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) != 0;
}

/* SIGHUP reads the token file again: the new token works, the old not. */
static void
test_metrics__sighup_replaces_the_metrics_token(struct harness *h)
{
	const char *args[] = {"--metrics-token-file", NULL, NULL};
	const char *next = "metrics-fedcba9876543210fedcba98";
	char path[HARNESS_PATH_MAX + 16];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/metrics.token", h->h_dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", METRICS_TOKEN);
	fclose(f);
	assert_int_equal(chmod(path, 0600), 0);
	args[1] = path;
	harness_start(h, args);
	assert_status(tcp_get(h, "/metrics", METRICS_TOKEN), 200);
	assert_problem(tcp_get(h, "/metrics", next), 401, NULL);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", next);
	fclose(f);
	assert_int_equal(kill(h->h_pid, SIGHUP), 0);
	for (i = 0; i < 500; i++) {
		struct harness_response *r = tcp_get(h, "/metrics", next);

		if (r->hr_status == 200)
			break;
		usleep(10000);
	}
	assert_status(tcp_get(h, "/metrics", next), 200);
	assert_problem(tcp_get(h, "/metrics", METRICS_TOKEN), 401, NULL);
}

static void
test_metrics__a_token_file_others_may_read_is_refused(struct harness *h)
{
	const char *args[] = {"--metrics-token-file", NULL, NULL};
	char path[HARNESS_PATH_MAX + 16], *log;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/metrics.token", h->h_dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "%s\n", METRICS_TOKEN);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	args[1] = path;
	assert_int_equal(start_fails(h, args), 1);
	log = harness_read_log(h);
	assert_non_null(log);
	n = strstr(log, "others may read it") != NULL;
	free(log);
	assert_true(n);
}

static void
test_metrics__anonymous_only_with_the_flag(struct harness *h)
{
	assert_status(tcp_get(h, "/metrics", NULL), 200);
	/* Only /metrics: the rest still needs a token. */
	assert_problem(tcp_get(h, "/v1/vms", NULL), 401, NULL);
}

/* promtool check metrics: exit 0 and nothing said, or the test fails. */
static void
test_metrics__output_passes_promtool(struct harness *h)
{
	struct harness_response *r;
	char path[HARNESS_PATH_MAX + 16], cmd[1024];
	FILE *f;
	int rc;

	if (system("command -v promtool >/dev/null 2>&1") != 0)
		tskip("promtool is not installed (Debian package prometheus; "
		      "scripts/deps test installs it)");
	harness_put_guest(h, "hello");
	harness_define_vm(h, "p1", "hello.bin", "");
	harness_define_vm(h, "p2", "hello.bin", "");
	assert_status(harness_req(h, "POST", "/v1/vms/p1/start", NULL, NULL),
		      200);
	assert_status(harness_get(h, "/v1/vms/nope"), 404);
	r = harness_get(h, "/metrics");
	assert_status(r, 200);
	snprintf(path, sizeof(path), "%s/metrics.txt", h->h_dir);
	assert_non_null(f = fopen(path, "w"));
	fwrite(r->hr_body, 1, r->hr_body_len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "promtool check metrics < %s > %s.out 2>&1; s=$?; "
		 "cat %s.out; [ $s -eq 0 ] && [ ! -s %s.out ]",
		 path, path, path, path);
	rc = system(cmd);
	assert_true(WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(test_metrics__requests_are_counted_by_route_pattern,
			 0),
	    HARNESS_CASE(test_metrics__tcp_needs_the_admin_or_the_metrics_token,
			 HARNESS_TCP | HARNESS_NOSTART),
	    HARNESS_CASE(test_metrics__a_token_file_others_may_read_is_refused,
			 HARNESS_NOSTART),
	    HARNESS_CASE(test_metrics__sighup_replaces_the_metrics_token,
			 HARNESS_TCP | HARNESS_NOSTART),
	    HARNESS_CASE_ARGS(test_metrics__anonymous_only_with_the_flag,
			      HARNESS_TCP, "--metrics-anonymous"),
	    HARNESS_CASE(test_metrics__output_passes_promtool, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
