/*
 * The server as a whole: discovery endpoints, routing errors, body limits
 * and media types, keep-alive, signals, start-up messages.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define BODY_LIMIT 65536
/* POST /v1/vms and guestinfo PUTs (base/limits.h LIMIT_BODY_BIG_BYTES). */
#define BIG_BODY_LIMIT 397312

static void
test_server__root_describes_the_daemon(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");
	const json_t *groups, *g;
	gid_t mine[256];
	int n, i;
	size_t j;

	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/json");
	assert_json_str(r, "name", "vmmapid");
	assert_true(json_is_string(harness_json_at(r->hr_json, "version")));
	assert_true(json_string_length(harness_json_at(r->hr_json, "version")) >
		    0);
	assert_true(json_is_string(harness_json_at(r->hr_json, "driver.name")));
	assert_true(
	    json_is_string(harness_json_at(r->hr_json, "driver.reason")));
	assert_json_int(r, "limits.body_bytes", BODY_LIMIT);
	assert_json_int(r, "limits.page_max", 1000);
	assert_true(json_integer_value(
			harness_json_at(r->hr_json, "limits.vcpus")) >= 1);
	assert_true(json_integer_value(
			harness_json_at(r->hr_json, "limits.memory_mib")) >= 1);
	assert_json_int(r, "principal.uid", getuid());
	assert_json_int(r, "principal.gid", getgid());
	assert_json_str(r, "principal.jail", "");
	assert_json_str(r, "principal.via", "unix");

	/* The peer's supplementary groups, as the kernel reports them. */
	groups = harness_json_at(r->hr_json, "principal.groups");
	assert_true(json_is_array(groups));
	n = getgroups(256, mine);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		int found = 0;

		json_array_foreach (groups, j, g) {
			if (json_integer_value(g) == (json_int_t)mine[i])
				found = 1;
		}
		if (!found)
			print_error("group %d missing from principal.groups\n",
				    (int)mine[i]);
		assert_true(found);
	}
}

static void
test_server__driver_flag_sim_is_reported(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");

	assert_status(r, 200);
	assert_json_str(r, "driver.name", "sim");
	assert_true(json_string_length(
			harness_json_at(r->hr_json, "driver.reason")) > 0);
	/* What sim offers, and not what it lacks (linux-boot: kvm only),
	 * and the daemon's own: events. */
	assert_int_equal(
	    json_array_size(harness_json_at(r->hr_json, "driver.features")), 3);
	assert_true(harness_backend_has(h, "events"));
	assert_true(harness_backend_has(h, "guestinfo-backdoor"));
	assert_true(harness_backend_has(h, "memory-protect"));
}

static void
test_server__health_is_ok(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1/health");

	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/json");
	assert_json_str(r, "status", "ok");
}

static void
test_server__openapi_is_served_as_yaml(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1/openapi.yaml");

	const char *p = r->hr_body;
	char path[512], *want;
	const char *slash;
	FILE *f;
	long len;

	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/yaml");
	/* The document's first key, after any leading comment lines. */
	while (*p == '#' || *p == '\n') {
		p = strchr(p, '\n');
		assert_non_null(p);
		p++;
	}
	if (strncmp(p, "openapi: 3.1", 12) != 0)
		fail_msg("the document does not start with openapi: 3.1: %.60s",
			 p);

	/* Byte for byte the contract in the source tree. */
	slash = strrchr(__FILE__, '/');
	assert_non_null(slash);
	snprintf(path, sizeof(path), "%.*s/../../openapi/openapi.yaml",
		 (int)(slash - __FILE__), __FILE__);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	want = malloc((size_t)len + 1);
	assert_non_null(want);
	assert_int_equal(fread(want, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_int_equal(r->hr_body_len, (size_t)len);
	assert_memory_equal(r->hr_body, want, (size_t)len);
	free(want);
}

static void
test_server__head_answers_like_get_without_a_body(struct harness *h)
{
	struct harness_response *r = harness_req(h, "HEAD", "/v1", NULL, NULL);

	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/json");
	assert_int_equal(r->hr_body_len, 0);
}

static void
test_server__unknown_path_is_404_problem(struct harness *h)
{
	assert_problem(harness_get(h, "/v1/nope"), 404, NULL);
	assert_problem(harness_get(h, "/nope"), 404, NULL);
	assert_problem(harness_get(h, "/v1/vms/web1/nope/deeper"), 404, NULL);
	assert_problem(harness_req(h, "DELETE", "/v1/nope", NULL, NULL), 404,
		       NULL);
}

/* The methods in an Allow header, as a bit set; -1 for an unknown one. */
static int
allow_set(const char *allow)
{
	static const char *const names[] = {"GET",   "HEAD",   "POST",   "PUT",
					    "PATCH", "DELETE", "OPTIONS"};
	char buf[256], *tok, *save = NULL;
	int set = 0;
	size_t i;

	if (allow == NULL)
		return (-1);
	snprintf(buf, sizeof(buf), "%s", allow);
	for (tok = strtok_r(buf, ", ", &save); tok != NULL;
	     tok = strtok_r(NULL, ", ", &save)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(tok, names[i]) == 0)
				break;
		if (i == sizeof(names) / sizeof(names[0]))
			return (-1);
		set |= 1 << i;
	}
	return (set);
}

#define M_GET 0x1
#define M_HEAD 0x2
#define M_POST 0x4
#define M_PUT 0x8
#define M_PATCH 0x10
#define M_DELETE 0x20

static void
expect_405(struct harness *h, const char *method, const char *path, int allowed)
{
	struct harness_response *r = harness_req(h, method, path, NULL, NULL);
	const char *allow;

	assert_problem(r, 405, NULL);
	allow = harness_header(r, "Allow");
	if (allow_set(allow) != allowed)
		print_error("%s %s: Allow: %s\n", method, path,
			    allow != NULL ? allow : "(none)");
	assert_int_equal(allow_set(allow), allowed);
}

static void
test_server__wrong_method_is_405_with_allow(struct harness *h)
{
	expect_405(h, "DELETE", "/v1/vms", M_GET | M_HEAD | M_POST);
	expect_405(h, "PUT", "/v1/vms", M_GET | M_HEAD | M_POST);
	expect_405(h, "POST", "/v1/vms/web1",
		   M_GET | M_HEAD | M_PUT | M_PATCH | M_DELETE);
	expect_405(h, "POST", "/v1", M_GET | M_HEAD);
	expect_405(h, "DELETE", "/v1/health", M_GET | M_HEAD);
}

/* A valid spec padded with whitespace inside the object to len bytes. */
static char *
padded_spec(struct harness *h, const char *name, size_t len)
{
	char head[128];
	const char *tail =
	    "\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}}";
	size_t hl, tl;
	char *b;

	hl = (size_t)snprintf(head, sizeof(head), "{\"name\":\"%s\",", name);
	tl = strlen(tail);
	assert_true(len >= hl + tl);
	b = harness_alloc(h, len + 1);
	memcpy(b, head, hl);
	memset(b + hl, ' ', len - hl - tl);
	memcpy(b + len - tl, tail, tl);
	b[len] = '\0';
	return (b);
}

static void
test_server__body_at_the_limit_is_accepted(struct harness *h)
{
	char *body = padded_spec(h, "big", BODY_LIMIT);
	struct harness_response *r;

	assert_int_equal(strlen(body), BODY_LIMIT);
	r = harness_req(h, "PUT", "/v1/vms/big", body, NULL);
	assert_status(r, 201);
	assert_json_str(r, "name", "big");
}

/* A VM's creation may carry its first guestinfo keys: a larger body. */
static void
test_server__a_create_takes_a_guestinfo_sized_body(struct harness *h)
{
	char *body = padded_spec(h, "big", BIG_BODY_LIMIT);

	assert_status(harness_req(h, "POST", "/v1/vms", body, NULL), 201);
	body = padded_spec(h, "big2", BIG_BODY_LIMIT + 1);
	assert_problem(harness_req(h, "POST", "/v1/vms", body, NULL), 413,
		       NULL);
	assert_problem(harness_get(h, "/v1/vms/big2"), 404, NULL);
}

static void
test_server__body_past_the_limit_is_413(struct harness *h)
{
	char *body = padded_spec(h, "big", BODY_LIMIT + 1);
	struct harness_response *r;

	r = harness_req(h, "PUT", "/v1/vms/big", body, NULL);
	assert_problem(r, 413, NULL);
	/* Nothing was created, and the daemon still answers. */
	assert_problem(harness_get(h, "/v1/vms/big"), 404, NULL);
}

static void
test_server__body_past_the_limit_with_expect_continue_is_413(struct harness *h)
{
	const char *headers[] = {"Content-Type: application/json",
				 "Expect: 100-continue", NULL};
	struct harness_request rq = {0};
	struct harness_response *r;
	char *body = padded_spec(h, "big", 4 * BODY_LIMIT);

	rq.rq_method = "PUT";
	rq.rq_path = "/v1/vms/big";
	rq.rq_headers = headers;
	rq.rq_body = body;
	rq.rq_body_len = strlen(body);
	rq.rq_expect_continue = 1;
	r = harness_send(h, &rq);
	assert_problem(r, 413, NULL);
}

static void
test_server__chunked_body_past_the_limit_is_413(struct harness *h)
{
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct harness_request rq = {0};
	struct harness_response *r;
	/* Small enough to sit in socket buffers: the answer must come. */
	char *body = padded_spec(h, "big", BODY_LIMIT + 1000);

	rq.rq_method = "PUT";
	rq.rq_path = "/v1/vms/big";
	rq.rq_headers = headers;
	rq.rq_body = body;
	rq.rq_body_len = strlen(body);
	rq.rq_chunked = 1;
	r = harness_send(h, &rq);
	assert_problem(r, 413, NULL);
	assert_problem(harness_get(h, "/v1/vms/big"), 404, NULL);
}

static void
test_server__chunked_body_of_a_mebibyte_is_413(struct harness *h)
{
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct harness_request rq = {0};
	struct harness_response *r;
	/* Far past what socket buffers hold: the daemon must read or
	 * answer in a way the client still sees. */
	char *body = padded_spec(h, "big", 1024 * 1024);

	rq.rq_method = "POST";
	rq.rq_path = "/v1/vms";
	rq.rq_headers = headers;
	rq.rq_body = body;
	rq.rq_body_len = strlen(body);
	rq.rq_chunked = 1;
	r = harness_send(h, &rq);
	assert_problem(r, 413, NULL);
	assert_status(harness_get(h, "/v1/health"), 200);
}

static void
test_server__chunked_body_under_the_limit_is_accepted(struct harness *h)
{
	const char *headers[] = {"Content-Type: application/json", NULL};
	struct harness_request rq = {0};
	struct harness_response *r;
	char *body = padded_spec(h, "chunky", 20000);

	rq.rq_method = "POST";
	rq.rq_path = "/v1/vms";
	rq.rq_headers = headers;
	rq.rq_body = body;
	rq.rq_body_len = strlen(body);
	rq.rq_chunked = 1;
	r = harness_send(h, &rq);
	assert_status(r, 201);
}

#define HELLO_BOOT "\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}"
#define HELLO "{\"name\":\"web1\"," HELLO_BOOT "}"

static const char *const hello_spec = HELLO;

static void
test_server__text_plain_body_is_415(struct harness *h)
{
	struct harness_response *r;

	r = harness_req(h, "POST", "/v1/vms", hello_spec,
			"Content-Type: text/plain", NULL);
	assert_problem(r, 415, NULL);
	assert_problem(harness_get(h, "/v1/vms/web1"), 404, NULL);
}

static void
test_server__body_without_content_type_is_415(struct harness *h)
{
	struct harness_request rq = {0};

	rq.rq_method = "POST";
	rq.rq_path = "/v1/vms";
	rq.rq_body = hello_spec;
	rq.rq_body_len = strlen(hello_spec);
	assert_problem(harness_send(h, &rq), 415, NULL);
}

static void
test_server__json_with_charset_parameter_is_accepted(struct harness *h)
{
	struct harness_response *r;

	r = harness_req(h, "POST", "/v1/vms", hello_spec,
			"Content-Type: application/json; charset=utf-8", NULL);
	assert_status(r, 201);
}

static void
test_server__malformed_json_is_400_with_position(struct harness *h)
{
	struct harness_response *r;
	const char *detail;

	r = harness_req(h, "POST", "/v1/vms",
			"{\"name\": \"web1\", \"boot\": }", NULL);
	assert_problem(r, 400, NULL);
	detail = json_string_value(json_object_get(r->hr_json, "detail"));
	if (strpbrk(detail, "0123456789") == NULL ||
	    (strstr(detail, "position") == NULL &&
	     strstr(detail, "column") == NULL &&
	     strstr(detail, "offset") == NULL &&
	     strstr(detail, "line") == NULL)) {
		print_error("detail without a position: %s\n", detail);
		fail();
	}
}

static void
test_server__bad_json_documents_are_400(struct harness *h)
{
	char *deep = harness_alloc(h, 60001);

	assert_problem(harness_req(h, "POST", "/v1/vms", "[1, 2]", NULL), 400,
		       NULL);
	assert_problem(harness_req(h, "POST", "/v1/vms", "\"web1\"", NULL), 400,
		       NULL);
	assert_problem(harness_req(h, "POST", "/v1/vms", "null", NULL), 400,
		       NULL);
	assert_problem(harness_req(h, "POST", "/v1/vms", "", NULL), 400, NULL);
	/* Bytes that are not UTF-8. */
	assert_problem(harness_req(h, "POST", "/v1/vms",
				   "{\"name\":\"\xff\xfe\"," HELLO_BOOT "}",
				   NULL),
		       400, NULL);
	/* Nesting far deeper than any spec needs. */
	memset(deep, '[', 60000);
	assert_problem(harness_req(h, "POST", "/v1/vms", deep, NULL), 400,
		       NULL);
	/* Two documents in one body. */
	assert_problem(harness_req(h, "POST", "/v1/vms", HELLO "{}", NULL), 400,
		       NULL);
	/* None of it hurt the daemon or left a VM. */
	assert_problem(harness_get(h, "/v1/vms/web1"), 404, NULL);
}

static void
test_server__url_past_the_limit_is_414(struct harness *h)
{
	char path[3000];

	memcpy(path, "/v1/vms/", 8);
	memset(path + 8, 'a', sizeof(path) - 9);
	path[sizeof(path) - 1] = '\0';
	assert_problem(harness_get(h, path), 414, NULL);
}

/*
 * The header block lives in libmicrohttpd's per-connection memory
 * (base/limits.h LIMIT_CONNECTION_MEMORY, 12 KiB): 8 KiB of headers are
 * answered, 16 KiB are 431.
 */
static void
test_server__a_header_block_of_8_kib_passes_and_16_kib_is_431(struct harness *h)
{
	static char line[16 * 1024 + 16];
	const char *hdrs[] = {line, NULL};
	struct harness_request rq = {
	    .rq_method = "GET", .rq_path = "/v1/health", .rq_headers = hdrs};

	memcpy(line, "X-Big: ", 7);
	memset(line + 7, 'a', 8 * 1024);
	line[7 + 8 * 1024] = '\0';
	assert_status(harness_send(h, &rq), 200);
	memset(line + 7, 'a', 16 * 1024);
	line[7 + 16 * 1024] = '\0';
	assert_status(harness_send(h, &rq), 431);
	/* The daemon goes on. */
	assert_status(harness_get(h, "/v1/health"), 200);
}

static void
test_server__keep_alive_reuses_one_connection(struct harness *h)
{
	struct harness_response *r;
	const char *conn;
	int i;

	for (i = 0; i < 5; i++) {
		r = harness_get(h, "/v1/health");
		assert_status(r, 200);
		conn = harness_header(r, "Connection");
		if (conn != NULL && strcasecmp(conn, "close") == 0)
			fail_msg("request %d answered Connection: close", i);
		/* Only the first request opens a connection. */
		assert_int_equal(r->hr_num_connects, i == 0 ? 1 : 0);
	}
	/* A write in between does not cost the connection either. */
	r = harness_req(h, "POST", "/v1/vms", hello_spec, NULL);
	assert_status(r, 201);
	assert_int_equal(r->hr_num_connects, 0);
	r = harness_get(h, "/v1/vms/web1");
	assert_status(r, 200);
	assert_int_equal(r->hr_num_connects, 0);
}

static void
test_server__sigterm_after_keep_alive_requests_exits_0(struct harness *h)
{
	int i, status;

	for (i = 0; i < 5; i++)
		assert_status(harness_get(h, "/v1"), 200);
	assert_status(harness_req(h, "POST", "/v1/vms", hello_spec, NULL), 201);
	/* The keep-alive connection is still open while the signal lands. */
	status = harness_signal_and_wait(h, SIGTERM, 5000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A raw connection to the daemon's Unix socket; -1 when refused. */
static int
raw_connect(struct harness *h)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->h_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fail_msg("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
raw_send(int fd, const char *s)
{
	size_t len = strlen(s);

	if (send(fd, s, len, MSG_NOSIGNAL) != (ssize_t)len)
		fail_msg("send: %s", strerror(errno));
}

/*
 * Reads into buf (NUL-terminated) until it holds needle, the peer closes or
 * ms pass; returns the bytes read, or -1 when the peer reset.
 */
static ssize_t
raw_read_until(int fd, char *buf, size_t len, const char *needle, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t got = 0;
	ssize_t n;

	buf[0] = '\0';
	while (got + 1 < len && strstr(buf, needle) == NULL) {
		if (poll(&pfd, 1, ms) != 1)
			break;
		if ((n = recv(fd, buf + got, len - 1 - got, 0)) == -1)
			return errno == ECONNRESET ? -1 : (ssize_t)got;
		if (n == 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	return (ssize_t)got;
}

static void
test_server__a_stopping_daemon_closes_new_connections_and_finishes_open_requests(
    struct harness *h)
{
	static const char body[] = "{\"name\":\"late\"," HELLO_BOOT "}";
	static const char late_rq[] =
	    "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n";
	char head[512], buf[4096], *log;
	struct timespec pause = {0, 20 * 1000 * 1000};
	int held, late, status, i, closed = 0;
	pid_t pid = h->h_pid;
	ssize_t n;

	/* A create whose body is still coming when the signal lands. */
	held = raw_connect(h);
	assert_true(held >= 0);
	snprintf(head, sizeof(head),
		 "POST /v1/vms HTTP/1.1\r\nHost: localhost\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		 "Expect: 100-continue\r\n\r\n",
		 sizeof(body) - 1);
	raw_send(held, head);
	/* 100 Continue: the daemon has begun the request. */
	n = raw_read_until(held, buf, sizeof(buf), "100 Continue", 5000);
	if (n <= 0 || strstr(buf, "100 Continue") == NULL)
		fail_msg("no 100 Continue; got \"%s\"", buf);
	assert_int_equal(kill(pid, SIGTERM), 0);
	/*
	 * While it waits for that request, a new connection is closed
	 * without an answer.  Until the daemon has seen the signal one may
	 * still be answered, so a few tries.
	 */
	for (i = 0; i < 250 && !closed; i++) {
		if ((late = raw_connect(h)) == -1) {
			closed = 1; /* the socket went: also refused */
			break;
		}
		/* A send that fails found the connection closed already. */
		if (send(late, late_rq, sizeof(late_rq) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)(sizeof(late_rq) - 1))
			n = -1;
		else
			n = raw_read_until(late, buf, sizeof(buf), "\r\n\r\n",
					   5000);
		close(late);
		if (n <= 0)
			closed = 1;
		else
			nanosleep(&pause, NULL);
	}
	if (!closed)
		fail_msg("new connections were still answered 5 s after "
			 "SIGTERM");
	assert_int_equal(harness_wait_pid(pid, 0, &status), -1);
	/* The open request is answered in full, and its connection ends. */
	raw_send(held, body);
	n = raw_read_until(held, buf, sizeof(buf), "\r\n\r\n", 5000);
	close(held);
	if (n <= 0 || strncmp(buf, "HTTP/1.1 201", 12) != 0)
		fail_msg("the open request got \"%s\"", buf);
	if (strcasestr(buf, "\r\nConnection: close\r\n") == NULL)
		fail_msg("its answer did not close the connection: \"%s\"",
			 buf);
	status = harness_signal_and_wait(h, SIGTERM, 10000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* And what it answered is kept. */
	log = harness_read_log(h);
	assert_non_null(strstr(log, "finishing requests in flight"));
	free(log);
	harness_start(h, NULL);
	assert_status(harness_get(h, "/v1/vms/late"), 200);
}

static void
test_server__sigint_exits_0(struct harness *h)
{
	int status;

	assert_status(harness_get(h, "/v1/health"), 200);
	status = harness_signal_and_wait(h, SIGINT, 5000);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_server__logs_listening_lines_when_ready(struct harness *h)
{
	char want_unix[HARNESS_PATH_MAX + 32], want_tcp[64];
	char *log = NULL;
	int i;

	snprintf(want_unix, sizeof(want_unix), "listening on unix:%s",
		 h->h_sock);
	snprintf(want_tcp, sizeof(want_tcp), "listening on tcp:127.0.0.1:%d",
		 h->h_tcp_port);
	/* The lines may trail the first accept by a moment. */
	for (i = 0; i < 200; i++) {
		free(log);
		log = harness_read_log(h);
		if (log != NULL && strstr(log, want_unix) != NULL &&
		    strstr(log, want_tcp) != NULL)
			break;
		usleep(10000);
	}
	if (log == NULL || strstr(log, want_unix) == NULL)
		print_error("no \"%s\" in the log\n", want_unix);
	if (log == NULL || strstr(log, want_tcp) == NULL)
		print_error("no \"%s\" in the log\n", want_tcp);
	assert_non_null(log);
	assert_non_null(strstr(log, want_unix));
	assert_non_null(strstr(log, want_tcp));
	free(log);
}

static void
test_server__max_vcpus_flag_limits_specs(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");

	assert_status(r, 200);
	assert_json_int(r, "limits.vcpus", 1);
	r = harness_req(h, "POST", "/v1/vms",
			"{\"name\":\"two\",\"vcpus\":2,\"boot\":{\"kind\":"
			"\"flat\",\"image\":\"hello.bin\"}}",
			NULL);
	assert_problem(r, 400, "vcpus");
	r = harness_req(h, "POST", "/v1/vms",
			"{\"name\":\"one\",\"vcpus\":1,\"boot\":{\"kind\":"
			"\"flat\",\"image\":\"hello.bin\"}}",
			NULL);
	assert_status(r, 201);
}

static void
test_server__max_memory_flag_limits_specs(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");

	assert_status(r, 200);
	assert_json_int(r, "limits.memory_mib", 128);
	r = harness_req(h, "POST", "/v1/vms",
			"{\"name\":\"big\",\"memory_mib\":129,\"boot\":{"
			"\"kind\":\"flat\",\"image\":\"hello.bin\"}}",
			NULL);
	assert_problem(r, 400, "memory_mib");
	r = harness_req(h, "POST", "/v1/vms",
			"{\"name\":\"max\",\"memory_mib\":128,\"boot\":{"
			"\"kind\":\"flat\",\"image\":\"hello.bin\"}}",
			NULL);
	assert_status(r, 201);
}

/* Whether the daemon's log mentions needle, after a moment to flush. */
static int
log_mentions(struct harness *h, const char *needle, int wait)
{
	char *log = NULL;
	int i, found = 0;

	for (i = 0; i < (wait ? 100 : 1) && !found; i++) {
		if (i > 0)
			usleep(10000);
		free(log);
		log = harness_read_log(h);
		found = log != NULL && strstr(log, needle) != NULL;
	}
	free(log);
	return (found);
}

static void
test_server__access_log_on_logs_each_request(struct harness *h)
{
	assert_problem(harness_get(h, "/v1/vms/zz-marker-on"), 404, NULL);
	assert_true(log_mentions(h, "zz-marker-on", 1));
}

static void
test_server__access_log_off_logs_no_request(struct harness *h)
{
	assert_problem(harness_get(h, "/v1/vms/zz-marker-off"), 404, NULL);
	/* Stopping flushes whatever the daemon would have written. */
	harness_stop(h);
	assert_false(log_mentions(h, "zz-marker-off", 0));
}

static void
expect_start_up_error(struct harness *h, const char *flag, const char *value)
{
	char listen[HARNESS_PATH_MAX + 8];
	const char *args[12];
	pid_t pid;
	int status;

	snprintf(listen, sizeof(listen), "unix:%s", h->h_sock);
	args[0] = "-d";
	args[1] = "--state-dir";
	args[2] = h->h_dir;
	args[3] = "--db";
	args[4] = h->h_db;
	args[5] = "--listen";
	args[6] = listen;
	args[7] = flag;
	args[8] = value;
	args[9] = NULL;
	pid = harness_spawn(args, h->h_log);
	if (harness_wait_pid(pid, 10000, &status) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the daemon started with %s %s", flag, value);
	}
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	/* The message names the bad value. */
	assert_true(log_mentions(h, value, 0));
}

/*
 * --max-vcpus may go past the host's CPUs (this machine has fewer than
 * 64), as hw.vmm.maxcpu may: the vCPUs then share the CPUs.  Such a VM
 * runs; past what a VM may have (64) the daemon does not start.
 */
static void
test_server__max_vcpus_may_be_more_than_the_host_has(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	assert_status(r, 200);
	assert_json_int(r, "limits.vcpus", 64);
	if (cpus >= 64)
		harness_skip(h, "this host has 64 CPUs or more: no "
				"vCPU count past its CPUs to try");
	assert_true(log_mentions(h, "more than the host's", 0));
	r = harness_req(h, "POST", "/v1/vms",
			"{\"name\":\"wide\",\"vcpus\":65,\"boot\":{\"kind\":"
			"\"flat\",\"image\":\"hello.bin\"}}",
			NULL);
	assert_problem(r, 400, "vcpus");
	harness_put_guest(h, "hello");
	harness_define_vm(h, "many", "hello.bin", "\"vcpus\":64");
	r = harness_req(h, "POST", "/v1/vms/many/start", NULL, NULL);
	assert_status(r, 200);
	r = harness_wait_vm_state(h, "many", "stopped", 30000);
	assert_json_str(r, "status.exit_reason",
			"halted with interrupts disabled");
}

static void
test_server__bad_flags_fail_at_start_up(struct harness *h)
{
	expect_start_up_error(h, "--driver", "bogus");
	expect_start_up_error(h, "--listen", "ftp:nowhere");
	expect_start_up_error(h, "--access-log", "maybe");
	expect_start_up_error(h, "--max-vcpus", "lots");
	expect_start_up_error(h, "--max-vcpus", "65");
	expect_start_up_error(h, "--log-level", "chatty");
	/* An origin is scheme://host[:port] as browsers send it. */
	expect_start_up_error(h, "--cors-origin", "https://dash.example.org/");
	expect_start_up_error(h, "--cors-origin", "https://Dash.example.org");
	expect_start_up_error(h, "--cors-origin", "dash.example.org");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(test_server__root_describes_the_daemon, 0),
	    HARNESS_CASE_ARGS(test_server__driver_flag_sim_is_reported, 0,
			      "--driver", "sim"),
	    HARNESS_CASE(test_server__health_is_ok, 0),
	    HARNESS_CASE(test_server__openapi_is_served_as_yaml, 0),
	    HARNESS_CASE(test_server__head_answers_like_get_without_a_body, 0),
	    HARNESS_CASE(test_server__unknown_path_is_404_problem, 0),
	    HARNESS_CASE(test_server__wrong_method_is_405_with_allow, 0),
	    HARNESS_CASE(test_server__body_at_the_limit_is_accepted, 0),
	    HARNESS_CASE(test_server__body_past_the_limit_is_413, 0),
	    HARNESS_CASE(test_server__a_create_takes_a_guestinfo_sized_body, 0),
	    HARNESS_CASE(
		test_server__body_past_the_limit_with_expect_continue_is_413,
		0),
	    HARNESS_CASE(test_server__chunked_body_past_the_limit_is_413, 0),
	    HARNESS_CASE(test_server__chunked_body_of_a_mebibyte_is_413, 0),
	    HARNESS_CASE(test_server__chunked_body_under_the_limit_is_accepted,
			 0),
	    HARNESS_CASE(test_server__text_plain_body_is_415, 0),
	    HARNESS_CASE(test_server__body_without_content_type_is_415, 0),
	    HARNESS_CASE(test_server__json_with_charset_parameter_is_accepted,
			 0),
	    HARNESS_CASE(test_server__malformed_json_is_400_with_position, 0),
	    HARNESS_CASE(test_server__bad_json_documents_are_400, 0),
	    HARNESS_CASE(test_server__url_past_the_limit_is_414, 0),
	    HARNESS_CASE(
		test_server__a_header_block_of_8_kib_passes_and_16_kib_is_431,
		0),
	    HARNESS_CASE(test_server__keep_alive_reuses_one_connection, 0),
	    HARNESS_CASE(test_server__sigterm_after_keep_alive_requests_exits_0,
			 0),
	    HARNESS_CASE(test_server__sigint_exits_0, 0),
	    HARNESS_CASE(
		test_server__a_stopping_daemon_closes_new_connections_and_finishes_open_requests,
		0),
	    HARNESS_CASE(test_server__logs_listening_lines_when_ready,
			 HARNESS_TCP),
	    HARNESS_CASE_ARGS(test_server__max_vcpus_flag_limits_specs, 0,
			      "--max-vcpus", "1"),
	    HARNESS_CASE_ARGS(
		test_server__max_vcpus_may_be_more_than_the_host_has, 0,
		"--max-vcpus", "64"),
	    HARNESS_CASE_ARGS(test_server__max_memory_flag_limits_specs, 0,
			      "--max-memory-mib", "128"),
	    HARNESS_CASE_ARGS(test_server__access_log_on_logs_each_request, 0,
			      "--access-log", "on"),
	    HARNESS_CASE_ARGS(test_server__access_log_off_logs_no_request, 0,
			      "--access-log", "off"),
	    HARNESS_CASE(test_server__bad_flags_fail_at_start_up,
			 HARNESS_NOSTART),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
