/*
 * Requests that could be read more than one way are refused before any
 * route sees them (#14): a NUL byte in the decoded path or query, and
 * ambiguous HTTP/1.1 framing.  Raw requests go over the Unix socket
 * without curl, which would not send most of them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include "harness.h"

#define HELLO_BOOT "\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}"

static void
assert_malformed(struct harness_response *r)
{
	assert_problem(r, 400, NULL);
	assert_json_str(r, "type", "/v1/problems/malformed-request");
}

/* %00 */

static void
test_hardening__a_nul_in_the_path_is_400_not_a_shorter_name(struct harness *h)
{
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"a1\"," HELLO_BOOT "}", NULL),
		      201);
	assert_status(harness_get(h, "/v1/vms/a1"), 200);
	assert_malformed(harness_get(h, "/v1/vms/a1%00xyz"));
	assert_malformed(harness_get(h, "/v1/vms/a1%00"));
	assert_malformed(
	    harness_req(h, "DELETE", "/v1/vms/a1%00x", NULL, NULL));
	/* Still there: the DELETE did not reach a1. */
	assert_status(harness_get(h, "/v1/vms/a1"), 200);
}

static void
test_hardening__a_nul_in_an_upload_name_stores_nothing(struct harness *h)
{
	assert_malformed(harness_put_image(h, "a%00b", "\xf4", 1));
	assert_problem(harness_get(h, "/v1/images/a"), 404, NULL);
}

static void
test_hardening__a_nul_in_a_query_value_or_name_is_400(struct harness *h)
{
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"a1\"," HELLO_BOOT "}", NULL),
		      201);
	assert_malformed(harness_req(
	    h, "POST", "/v1/vms/a1/start?mode=monitor%00x", NULL, NULL));
	assert_malformed(harness_get(h, "/v1/vms?limit=1%00"));
	assert_malformed(harness_get(h, "/v1/vms?lim%00it=1"));
	/* Never started. */
	assert_json_str(harness_get(h, "/v1/vms/a1"), "status.state",
			"defined");
}

/* Hardening */

static void
test_hardening__a_cursor_that_is_not_a_name_is_400(struct harness *h)
{
	static const char *const bad[] = {
	    "/v1/vms?after=%ff%fe", "/v1/vms?after=!!!notacursor",
	    "/v1/vms?after=",       "/v1/vms?after=a/b",
	    "/v1/vms?after=%20x",
	};
	size_t i;

	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"a1\"," HELLO_BOOT "}", NULL),
		      201);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_problem(harness_get(h, bad[i]), 400, "after");
	/* A name is a cursor, whether or not a VM has it. */
	assert_status(harness_get(h, "/v1/vms?after=a0"), 200);
	assert_json_str(harness_get(h, "/v1/vms?after=a0"), "items.0.name",
			"a1");
}

/*
 * Starts a second daemon on state directory dir (its database and socket
 * in it) and expects it to refuse to start, saying why.
 */
static void
expect_state_dir_refused(struct harness *h, const char *dir, const char *reason)
{
	char db[HARNESS_PATH_MAX + 16], listen[HARNESS_PATH_MAX + 16];
	char logp[HARNESS_PATH_MAX + 16];
	const char *args[12];
	size_t len;
	char *log;
	pid_t pid;
	int status;

	snprintf(db, sizeof(db), "%s/x.db", dir);
	snprintf(listen, sizeof(listen), "unix:%s/x.sock", dir);
	snprintf(logp, sizeof(logp), "%s/second.log", h->h_dir);
	args[0] = "-d";
	args[1] = "--state-dir";
	args[2] = dir;
	args[3] = "--db";
	args[4] = db;
	args[5] = "--listen";
	args[6] = listen;
	args[7] = "--driver";
	args[8] = "sim";
	args[9] = NULL;
	pid = harness_spawn(args, logp);
	if (harness_wait_pid(pid, 10000, &status) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the daemon started on state directory %s", dir);
	}
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	log = harness_read_file(h, logp, &len);
	if (strstr(log, reason) == NULL)
		fail_msg("no \"%s\" in:\n%s", reason, log);
	/* Nothing was made in it. */
	assert_int_equal(access(db, F_OK), -1);
}

static void
test_hardening__a_state_directory_others_can_write_is_refused(struct harness *h)
{
	char dir[HARNESS_PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s/state", h->h_dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 01777), 0);
	expect_state_dir_refused(h, dir, "is mode 1777: others can write");
	assert_int_equal(chmod(dir, 0775), 0);
	expect_state_dir_refused(h, dir, "is mode 0775: others can write");
	if (geteuid() == 0) {
		assert_int_equal(chmod(dir, 0755), 0);
		assert_int_equal(chown(dir, 65534, 65534), 0);
		expect_state_dir_refused(h, dir, "belongs to uid 65534");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_hardening__a_nul_in_the_path_is_400_not_a_shorter_name, 0),
	    HARNESS_CASE(test_hardening__a_nul_in_an_upload_name_stores_nothing,
			 0),
	    HARNESS_CASE(test_hardening__a_nul_in_a_query_value_or_name_is_400,
			 0),
	    HARNESS_CASE(test_hardening__a_cursor_that_is_not_a_name_is_400, 0),
	    HARNESS_CASE(
		test_hardening__a_state_directory_others_can_write_is_refused,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
