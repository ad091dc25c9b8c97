/*
 * The TCP listener: the admin token made at first start, bearer
 * authentication, and the one endpoint open without a token.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static struct harness_response *
tcp_req(struct harness *h, const char *method, const char *path,
	const char *token, const char *body)
{
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct harness_request rq = {0};

	rq.rq_method = method;
	rq.rq_path = path;
	rq.rq_tcp = 1;
	rq.rq_token = token;
	if (body != NULL) {
		rq.rq_headers = headers;
		rq.rq_body = body;
		rq.rq_body_len = strlen(body);
	}
	return (harness_send(h, &rq));
}

static char *
read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (f == NULL)
		return (NULL);
	buf = calloc(1, 4096);
	if (buf != NULL) {
		n = fread(buf, 1, 4095, f);
		buf[n] = '\0';
	}
	fclose(f);
	return (buf);
}

static int
count_occurrences(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return (n);
}

static void
assert_unauthorized(const struct harness_response *r)
{
	const char *challenge;

	assert_problem(r, 401, NULL);
	challenge = harness_header(r, "WWW-Authenticate");
	if (challenge == NULL || strncasecmp(challenge, "Bearer", 6) != 0)
		fail_msg("%s %s: WWW-Authenticate %s, expected Bearer ...",
			 r->hr_method, r->hr_path,
			 challenge != NULL ? challenge : "(none)");
}

static void
test_tcp__admin_token_file_holds_the_token_with_mode_0600(struct harness *h)
{
	struct stat st;
	char *content;
	size_t len;

	assert_int_equal(stat(h->h_token_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	content = read_file(h->h_token_path);
	assert_non_null(content);
	len = strlen(content);
	/* The token alone and one newline. */
	assert_true(len >= 17);
	assert_int_equal(content[len - 1], '\n');
	assert_int_equal(strcspn(content, " \t\r\n"), len - 1);
	assert_int_equal(strlen(h->h_token), len - 1);
	free(content);
}

static void
test_tcp__admin_token_is_printed_once_on_stderr(struct harness *h)
{
	char *log = NULL;
	int i;

	assert_true(h->h_token[0] != '\0');
	/* The file may be written a moment before the message. */
	for (i = 0; i < 200; i++) {
		free(log);
		log = harness_read_log(h);
		if (log != NULL && strstr(log, h->h_token) != NULL)
			break;
		usleep(10000);
	}
	assert_non_null(log);
	assert_int_equal(count_occurrences(log, h->h_token), 1);
	free(log);
}

static void
test_tcp__request_without_token_is_401_with_bearer_challenge(struct harness *h)
{
	assert_unauthorized(tcp_req(h, "GET", "/v1", NULL, NULL));
	assert_unauthorized(tcp_req(h, "GET", "/v1/vms", NULL, NULL));
	assert_unauthorized(tcp_req(h, "GET", "/v1/openapi.yaml", NULL, NULL));
	/* A refused write writes nothing. */
	assert_unauthorized(tcp_req(h, "POST", "/v1/vms", NULL,
				    "{\"name\":\"web1\",\"boot\":{\"kind\":"
				    "\"flat\",\"image\":\"a\"}}"));
	assert_problem(harness_get(h, "/v1/vms/web1"), 404, NULL);
}

static void
test_tcp__wrong_token_is_401(struct harness *h)
{
	char wrong[sizeof(h->h_token)];
	const char *basic[] = {"Authorization: Basic YWRtaW46YWRtaW4=", NULL};
	struct harness_request rq = {0};

	assert_true(h->h_token[0] != '\0');
	snprintf(wrong, sizeof(wrong), "%s", h->h_token);
	/* One character off. */
	wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'x' ? 'y' : 'x';
	assert_unauthorized(tcp_req(h, "GET", "/v1", wrong, NULL));
	assert_unauthorized(tcp_req(h, "GET", "/v1", "nonsense", NULL));
	assert_unauthorized(tcp_req(h, "GET", "/v1", "", NULL));

	rq.rq_method = "GET";
	rq.rq_path = "/v1";
	rq.rq_tcp = 1;
	rq.rq_headers = basic;
	assert_unauthorized(harness_send(h, &rq));
}

static void
test_tcp__admin_token_is_uid_0_via_token(struct harness *h)
{
	struct harness_response *r;

	r = tcp_req(h, "GET", "/v1", h->h_token, NULL);
	assert_status(r, 200);
	assert_json_str(r, "name", "vmmapid");
	assert_json_str(r, "principal.via", "token");
	assert_json_int(r, "principal.uid", 0);
}

static void
test_tcp__admin_token_can_create_and_read_vms(struct harness *h)
{
	struct harness_response *r;

	r = tcp_req(
	    h, "POST", "/v1/vms", h->h_token,
	    "{\"name\":\"web1\",\"boot\":{\"kind\":\"flat\",\"image\":\"a\"}}");
	assert_status(r, 201);
	assert_json_int(r, "owner.uid", 0);
	r = tcp_req(h, "GET", "/v1/vms/web1", h->h_token, NULL);
	assert_status(r, 200);
	/* The same VM through the Unix socket. */
	assert_status(harness_get(h, "/v1/vms/web1"), 200);
}

static void
test_tcp__health_needs_no_token(struct harness *h)
{
	struct harness_response *r =
	    tcp_req(h, "GET", "/v1/health", NULL, NULL);

	assert_status(r, 200);
	assert_json_str(r, "status", "ok");
}

static void
test_tcp__unix_socket_needs_no_token_beside_tcp(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");

	assert_status(r, 200);
	assert_json_str(r, "principal.via", "unix");
}

static void
test_tcp__restart_keeps_the_token(struct harness *h)
{
	char *before, *after, *log;
	char token[sizeof(h->h_token)];

	before = read_file(h->h_token_path);
	assert_non_null(before);
	snprintf(token, sizeof(token), "%s", h->h_token);
	harness_restart(h);
	after = read_file(h->h_token_path);
	assert_non_null(after);
	assert_string_equal(before, after);
	assert_string_equal(token, h->h_token);
	/* Not printed again: still once in the log of both starts. */
	log = harness_read_log(h);
	assert_non_null(log);
	assert_int_equal(count_occurrences(log, token), 1);
	assert_status(tcp_req(h, "GET", "/v1", token, NULL), 200);
	free(before);
	free(after);
	free(log);
}

static void
test_tcp__unix_only_start_makes_no_token(struct harness *h)
{
	struct stat st;

	assert_int_equal(stat(h->h_token_path, &st), -1);
	assert_string_equal(h->h_token, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_tcp__admin_token_file_holds_the_token_with_mode_0600,
		HARNESS_TCP),
	    HARNESS_CASE(test_tcp__admin_token_is_printed_once_on_stderr,
			 HARNESS_TCP),
	    HARNESS_CASE(
		test_tcp__request_without_token_is_401_with_bearer_challenge,
		HARNESS_TCP),
	    HARNESS_CASE(test_tcp__wrong_token_is_401, HARNESS_TCP),
	    HARNESS_CASE(test_tcp__admin_token_is_uid_0_via_token, HARNESS_TCP),
	    HARNESS_CASE(test_tcp__admin_token_can_create_and_read_vms,
			 HARNESS_TCP),
	    HARNESS_CASE(test_tcp__health_needs_no_token, HARNESS_TCP),
	    HARNESS_CASE(test_tcp__unix_socket_needs_no_token_beside_tcp,
			 HARNESS_TCP),
	    HARNESS_CASE(test_tcp__restart_keeps_the_token, HARNESS_TCP),
	    HARNESS_CASE(test_tcp__unix_only_start_makes_no_token, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
