/*
 * Browsers (--cors-origin): preflights answered for allowed origins
 * without a token, CORS headers on their responses, nothing for other
 * origins; and SIGHUP, which reloads the origins (and the other settings
 * that can change) from the --config file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define ALLOWED "https://dash.example.org"
#define OTHER "https://evil.example.net"

static struct harness_response *
tcp_req(struct harness *h, const char *method, const char *path,
	const char *token, const char *const *headers)
{
	struct harness_request rq = {0};

	rq.rq_method = method;
	rq.rq_path = path;
	rq.rq_tcp = 1;
	rq.rq_token = token;
	rq.rq_headers = headers;
	return harness_send(h, &rq);
}

static struct harness_response *
preflight(struct harness *h, const char *origin, const char *path)
{
	char o[128];
	const char *headers[] = {o, "Access-Control-Request-Method: PATCH",
				 "Access-Control-Request-Headers: "
				 "authorization, content-type",
				 NULL};

	snprintf(o, sizeof(o), "Origin: %s", origin);
	return tcp_req(h, "OPTIONS", path, NULL, headers);
}

/* No response header whose name starts with Access-Control-. */
static void
assert_no_cors(const struct harness_response *r)
{
	int i;

	for (i = 0; i < r->hr_nheaders; i++)
		if (strncasecmp(r->hr_headers[i], "Access-Control-", 15) == 0)
			fail_msg("unexpected %s", r->hr_headers[i]);
}

static void
test_cors__preflight_of_an_allowed_origin_is_204_without_a_token(
    struct harness *h)
{
	struct harness_response *r = preflight(h, ALLOWED, "/v1/vms/web1");

	assert_status(r, 204);
	assert_header(r, "Access-Control-Allow-Origin", ALLOWED);
	assert_header(r, "Access-Control-Allow-Methods",
		      "GET, HEAD, PUT, PATCH, DELETE");
	assert_non_null(
	    strstr(harness_header(r, "Access-Control-Allow-Headers"),
		   "Authorization"));
	assert_non_null(strstr(
	    harness_header(r, "Access-Control-Allow-Headers"), "If-Match"));
	/* A fetch()-based event stream client resumes with it. */
	assert_non_null(
	    strstr(harness_header(r, "Access-Control-Allow-Headers"),
		   "Last-Event-ID"));
	assert_header(r, "Access-Control-Max-Age", "600");
	assert_header(r, "Vary", "Origin");
	/* The collection answers other methods. */
	r = preflight(h, ALLOWED, "/v1/vms");
	assert_status(r, 204);
	assert_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST");
}

static void
test_cors__preflight_of_another_origin_gets_no_cors_headers(struct harness *h)
{
	struct harness_response *r = preflight(h, OTHER, "/v1/vms/web1");

	assert_problem(r, 401, NULL);
	assert_no_cors(r);
	/* The scheme is part of the origin. */
	r = preflight(h, "http://dash.example.org", "/v1/vms");
	assert_no_cors(r);
	/* A path that does not exist has no methods to allow: its answer
	 * is the ordinary one (to an allowed origin, readable by it). */
	r = preflight(h, ALLOWED, "/v1/nothing-here");
	assert_problem(r, 401, NULL);
	assert_null(harness_header(r, "Access-Control-Allow-Methods"));
}

static void
test_cors__responses_to_an_allowed_origin_carry_cors_headers(struct harness *h)
{
	const char *allowed[] = {"Origin: " ALLOWED, NULL};
	const char *other[] = {"Origin: " OTHER, NULL};
	struct harness_response *r;

	r = tcp_req(h, "GET", "/v1/vms", h->h_token, allowed);
	assert_status(r, 200);
	assert_header(r, "Access-Control-Allow-Origin", ALLOWED);
	assert_header(r, "Vary", "Origin");
	assert_non_null(
	    strstr(harness_header(r, "Access-Control-Expose-Headers"), "ETag"));
	assert_non_null(strstr(
	    harness_header(r, "Access-Control-Expose-Headers"), "Location"));
	/* Errors too: a browser reads the problem's detail. */
	r = tcp_req(h, "GET", "/v1/vms", NULL, allowed);
	assert_problem(r, 401, NULL);
	assert_header(r, "Access-Control-Allow-Origin", ALLOWED);
	r = tcp_req(h, "GET", "/v1/vms", h->h_token, other);
	assert_status(r, 200);
	assert_no_cors(r);
	r = tcp_req(h, "GET", "/v1/vms", h->h_token, NULL);
	assert_no_cors(r);
}

static void
test_cors__without_the_flag_nothing_is_cors(struct harness *h)
{
	const char *allowed[] = {"Origin: " ALLOWED, NULL};
	struct harness_response *r = preflight(h, ALLOWED, "/v1/vms");

	assert_problem(r, 401, NULL);
	assert_no_cors(r);
	assert_null(harness_header(r, "Vary"));
	r = tcp_req(h, "GET", "/v1/vms", h->h_token, allowed);
	assert_status(r, 200);
	assert_no_cors(r);
}

/* Waits up to 5 s for the daemon's log to hold needle (count-th time). */
static int
log_has(struct harness *h, const char *needle, int count)
{
	int i, n;

	for (i = 0; i < 500; i++) {
		char *log = harness_read_log(h), *p = log;

		for (n = 0; p != NULL && (p = strstr(p, needle)) != NULL; n++)
			p++;
		free(log);
		if (n >= count)
			return 1;
		usleep(10000);
	}
	return 0;
}

static void
write_config(struct harness *h, const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	(void)h;
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_cors__sighup_reloads_origins_and_logs_what_it_cannot(struct harness *h)
{
	char path[HARNESS_PATH_MAX + 16];
	const char *args[] = {"--config", path, NULL};

	snprintf(path, sizeof(path), "%s/vmmapid.conf", h->h_dir);
	write_config(h, path,
		     "# origins of the dashboards\n"
		     "cors-origin " ALLOWED "\n"
		     "workers 8\n");
	harness_start(h, args);
	assert_status(preflight(h, ALLOWED, "/v1/vms"), 204);
	assert_no_cors(preflight(h, OTHER, "/v1/vms"));

	write_config(h, path,
		     "cors-origin " OTHER "\n"
		     "log-level debug\n"
		     "workers 9\n");
	assert_int_equal(kill(h->h_pid, SIGHUP), 0);
	assert_true(log_has(h, "SIGHUP: reloaded", 1));
	assert_true(log_has(h,
			    "SIGHUP: --workers changed; it takes effect "
			    "at the next start",
			    1));
	assert_true(log_has(h, "log level debug", 1));
	assert_status(preflight(h, OTHER, "/v1/vms"), 204);
	assert_no_cors(preflight(h, ALLOWED, "/v1/vms"));
	/* Debug lines are on now: the policy's refusals are logged. */

	/* Settings that do not parse leave the running ones alone. */
	write_config(h, path, "cors-origin not-an-origin\n");
	assert_int_equal(kill(h->h_pid, SIGHUP), 0);
	assert_true(log_has(h, "keeping the current ones", 1));
	assert_status(preflight(h, OTHER, "/v1/vms"), 204);
	/* And the daemon still answers, then stops cleanly. */
	assert_status(harness_get(h, "/v1"), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE_ARGS(
		test_cors__preflight_of_an_allowed_origin_is_204_without_a_token,
		HARNESS_TCP, "--cors-origin", ALLOWED),
	    HARNESS_CASE_ARGS(
		test_cors__preflight_of_another_origin_gets_no_cors_headers,
		HARNESS_TCP, "--cors-origin", ALLOWED),
	    HARNESS_CASE_ARGS(
		test_cors__responses_to_an_allowed_origin_carry_cors_headers,
		HARNESS_TCP, "--cors-origin", ALLOWED, "--cors-origin",
		"https://other-dash.example.org"),
	    HARNESS_CASE(test_cors__without_the_flag_nothing_is_cors,
			 HARNESS_TCP),
	    HARNESS_CASE(
		test_cors__sighup_reloads_origins_and_logs_what_it_cannot,
		HARNESS_TCP | HARNESS_NOSTART),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
