/*
 * What the daemon logs: -v adds debug lines (who connected, what the
 * policy refused, each state recorded); without it they stay out.
 */
#include "harness.h"

#include <string.h>

static const char *
daemon_log(struct harness *h)
{
	size_t len;

	return harness_read_file(h, h->h_log, &len);
}

static void
test_logging__verbose_logs_each_peer_and_refusal(struct harness *h)
{
	static const gid_t none[] = {0};
	struct harness_identity stranger = {65534, 65534, none, 0, NULL};
	const char *log;

	assert_status(harness_get(h, "/v1"), 200);
	harness_need_root(h);
	/* Not a member of the vmm group: the policy refuses, and says so. */
	assert_problem(harness_req_as(h, &stranger, "GET", "/v1/vms", NULL),
		       403, NULL);
	log = daemon_log(h);
	if (strstr(log, "peer pid") == NULL)
		fail_msg("no peer line with -v:\n%s", log);
	if (strstr(log, "policy: GET /v1/vms refused to uid 65534") == NULL)
		fail_msg("no refusal line with -v:\n%s", log);
}

static void
test_logging__without_verbose_there_are_no_debug_lines(struct harness *h)
{
	const char *log;

	assert_status(harness_get(h, "/v1"), 200);
	log = daemon_log(h);
	if (strstr(log, "peer pid") != NULL)
		fail_msg("a debug line without -v:\n%s", log);
}

static void
test_logging__a_newline_in_the_path_does_not_forge_a_line(struct harness *h)
{
	const char *log;

	/* %0a decodes to a newline, which the access log line carries. */
	harness_get(h, "/x%0a2026-01-01T00:00:00.000Z%20forged%20line");
	assert_status(harness_get(h, "/v1"), 200); /* the line is written */
	log = daemon_log(h);
	if (strstr(log, "\n2026-01-01T00:00:00.000Z forged line") != NULL)
		fail_msg("a forged line in the log:\n%s", log);
	if (strstr(log, "GET /x\\x0a2026-01-01T00:00:00.000Z forged line") ==
	    NULL)
		fail_msg("no escaped access line:\n%s", log);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE_ARGS(test_logging__verbose_logs_each_peer_and_refusal,
			      0, "-v"),
	    HARNESS_CASE(test_logging__without_verbose_there_are_no_debug_lines,
			 0),
	    HARNESS_CASE(
		test_logging__a_newline_in_the_path_does_not_forge_a_line, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
