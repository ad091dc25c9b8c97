/*
 * /v1/images: uploads with their size and SHA-256, replace, list, get,
 * delete; names and empty bodies refused; the upload limit at and past
 * --upload-max-mib; uploads that fail (413, a client that goes away) leave
 * no file in STATE_DIR/images; PUT over TCP without a token is refused
 * before the body is sent; and an image a running VM uses cannot be
 * replaced or deleted.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/*
 * PAYLOAD_LEN bytes of (i * 31 + 7) mod 256, zeros included, and their
 * SHA-256 (computed with Python's hashlib).
 */
#define PAYLOAD_LEN 5000
#define PAYLOAD_SHA256                                                         \
	"1e92fd98f113aba0a78e0830ca06e2775912370feab112dfc57bf3258b810595"
/* 3000 bytes of (i * 13 + 1) mod 256. */
#define PAYLOAD2_LEN 3000
#define PAYLOAD2_SHA256                                                        \
	"5a97a5127fa9e3b0ebf24515a4571120729641f221cd323d96af375de89e5e2d"
#define ABC_SHA256                                                             \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* One MiB of zeros. */
#define MIB_ZEROS_SHA256                                                       \
	"30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58"

#define MIB (1024 * 1024)

static char *
payload(struct harness *h, size_t len, unsigned mul, unsigned add)
{
	unsigned char *p = harness_alloc(h, len);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((i * mul + add) & 0xff);
	return (char *)p;
}

static struct harness_response *
put_image(struct harness *h, const char *name, const char *data, size_t len,
	  int chunked)
{
	const char *headers[] = {"Content-Type: application/octet-stream",
				 NULL};
	struct harness_request rq = {0};
	char path[256];

	snprintf(path, sizeof(path), "/v1/images/%s", name);
	rq.rq_method = "PUT";
	rq.rq_path = path;
	rq.rq_headers = headers;
	rq.rq_body = data;
	rq.rq_body_len = len;
	rq.rq_chunked = chunked;
	rq.rq_timeout_ms = 20000;
	return harness_send(h, &rq);
}

/*
 * The names in STATE_DIR/images, sorted, joined by commas ("" if none),
 * into buf.  Fails the case when the directory is missing.
 */
static void
images_dir(struct harness *h, char *buf, size_t len)
{
	char path[HARNESS_PATH_MAX], names[32][256];
	struct dirent *de;
	DIR *d;
	int n = 0, i, j;

	snprintf(path, sizeof(path), "%s/images", h->h_dir);
	if ((d = opendir(path)) == NULL)
		fail_msg("opendir %s: %s", path, strerror(errno));
	while ((de = readdir(d)) != NULL && n < 32) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
	}
	closedir(d);
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char t[256];

			memcpy(t, names[j], sizeof(t));
			memcpy(names[j], names[j - 1], sizeof(t));
			memcpy(names[j - 1], t, sizeof(t));
		}
	}
	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i > 0)
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, names[i], len - strlen(buf) - 1);
	}
}

/*
 * Waits until the daemon has finished starting.  The harness calls it
 * ready once its socket accepts, which is before start-up has opened the
 * image store (requests wait in the listen backlog meanwhile); a case
 * that looks at the directory first asks something and waits.
 */
static void
wait_started(struct harness *h)
{
	assert_status(harness_get(h, "/v1/health"), 200);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * Polls STATE_DIR/images for up to ms until it lists exactly want;
 * returns 1 when it did.  Leaves the last listing in buf.
 */
static int
images_dir_becomes(struct harness *h, const char *want, int ms, char *buf,
		   size_t len)
{
	int waited;

	for (waited = 0;; waited += 20) {
		images_dir(h, buf, len);
		if (strcmp(buf, want) == 0)
			return 1;
		if (waited >= ms)
			return 0;
		sleep_ms(20);
	}
}

static void
assert_image(const struct harness_response *r, const char *name, long long size,
	     const char *sha256)
{
	json_t *created;

	assert_json_str(r, "name", name);
	assert_json_int(r, "size", size);
	assert_json_str(r, "sha256", sha256);
	created = json_object_get(r->hr_json, "created_at");
	if (!json_is_string(created) ||
	    !harness_is_rfc3339(json_string_value(created)))
		fail_msg("%s %s: created_at is not an RFC 3339 time: %s",
			 r->hr_method, r->hr_path, r->hr_body);
	if (!json_is_false(json_object_get(r->hr_json, "in_use")))
		fail_msg("%s %s: in_use is not false: %s", r->hr_method,
			 r->hr_path, r->hr_body);
}

static void
test_images__upload_is_201_with_location_size_and_sha256(struct harness *h)
{
	char *data = payload(h, PAYLOAD_LEN, 31, 7);
	struct harness_response *r;
	char dir[1024];

	r = put_image(h, "guest.bin", data, PAYLOAD_LEN, 0);
	assert_status(r, 201);
	assert_header(r, "Content-Type", "application/json");
	assert_header(r, "Location", "/v1/images/guest.bin");
	assert_image(r, "guest.bin", PAYLOAD_LEN, PAYLOAD_SHA256);

	r = harness_get(h, "/v1/images/guest.bin");
	assert_status(r, 200);
	assert_image(r, "guest.bin", PAYLOAD_LEN, PAYLOAD_SHA256);
	/* The file is the image, stored under its name; no spool is left. */
	images_dir(h, dir, sizeof(dir));
	assert_string_equal(dir, "guest.bin");
}

static void
test_images__upload_with_any_content_type_or_chunked_works(struct harness *h)
{
	const char *headers[] = {"Content-Type: text/plain", NULL};
	struct harness_request rq = {0};
	struct harness_response *r;

	rq.rq_method = "PUT";
	rq.rq_path = "/v1/images/abc";
	rq.rq_headers = headers;
	rq.rq_body = "abc";
	rq.rq_body_len = 3;
	r = harness_send(h, &rq);
	assert_status(r, 201);
	assert_image(r, "abc", 3, ABC_SHA256);

	r = put_image(h, "chunked", payload(h, PAYLOAD_LEN, 31, 7), PAYLOAD_LEN,
		      1);
	assert_status(r, 201);
	assert_image(r, "chunked", PAYLOAD_LEN, PAYLOAD_SHA256);
}

static void
test_images__replace_is_200_with_the_new_hash(struct harness *h)
{
	struct harness_response *r;

	r = put_image(h, "k", payload(h, PAYLOAD_LEN, 31, 7), PAYLOAD_LEN, 0);
	assert_status(r, 201);
	r = put_image(h, "k", payload(h, PAYLOAD2_LEN, 13, 1), PAYLOAD2_LEN, 0);
	assert_status(r, 200);
	assert_image(r, "k", PAYLOAD2_LEN, PAYLOAD2_SHA256);
	if (harness_header(r, "Location") != NULL)
		fail_msg("a replace answered Location: %s",
			 harness_header(r, "Location"));
	r = harness_get(h, "/v1/images/k");
	assert_image(r, "k", PAYLOAD2_LEN, PAYLOAD2_SHA256);
}

static void
test_images__list_is_in_name_order(struct harness *h)
{
	static const char *const names[] = {"zeta", "Alpha", "mid.bin", "0"};
	static const char *const sorted[] = {"0", "Alpha", "mid.bin", "zeta"};
	struct harness_response *r;
	json_t *items;
	size_t i;

	r = harness_get(h, "/v1/images");
	assert_status(r, 200);
	items = json_object_get(r->hr_json, "items");
	assert_true(json_is_array(items));
	assert_int_equal(json_array_size(items), 0);

	for (i = 0; i < 4; i++)
		assert_status(put_image(h, names[i], "abc", 3, 0), 201);
	r = harness_get(h, "/v1/images");
	assert_status(r, 200);
	items = json_object_get(r->hr_json, "items");
	assert_int_equal(json_array_size(items), 4);
	for (i = 0; i < 4; i++) {
		json_t *it = json_array_get(items, i);

		assert_string_equal(
		    json_string_value(json_object_get(it, "name")), sorted[i]);
		assert_string_equal(
		    json_string_value(json_object_get(it, "sha256")),
		    ABC_SHA256);
		assert_int_equal(
		    json_integer_value(json_object_get(it, "size")), 3);
	}
}

static void
test_images__get_of_unknown_image_is_404(struct harness *h)
{
	assert_problem(harness_get(h, "/v1/images/nope"), 404, NULL);
	assert_problem(harness_req(h, "DELETE", "/v1/images/nope", NULL, NULL),
		       404, NULL);
}

static void
test_images__delete_is_204_then_404(struct harness *h)
{
	struct harness_response *r;
	char dir[1024];

	assert_status(put_image(h, "gone", "abc", 3, 0), 201);
	assert_status(put_image(h, "stays", "abc", 3, 0), 201);
	r = harness_req(h, "DELETE", "/v1/images/gone", NULL, NULL);
	assert_status(r, 204);
	assert_int_equal(r->hr_body_len, 0);
	assert_problem(harness_get(h, "/v1/images/gone"), 404, NULL);
	assert_problem(harness_req(h, "DELETE", "/v1/images/gone", NULL, NULL),
		       404, NULL);
	images_dir(h, dir, sizeof(dir));
	assert_string_equal(dir, "stays");
}

static void
test_images__put_with_invalid_name_is_400(struct harness *h)
{
	static const char *const bad[] = {
	    ".hidden",
	    "-dash",
	    "_under",
	    "a%20b",
	    ".upload-x",
	    "a1234567890123456789012345678901234567890123456789012345678901234",
	};
	char dir[1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_problem(put_image(h, bad[i], "abc", 3, 0), 400, "name");
	/* 64 characters is the most a name has. */
	assert_status(put_image(h, bad[5] + 1, "abc", 3, 0), 201);
	images_dir(h, dir, sizeof(dir));
	assert_string_equal(dir, bad[5] + 1);
}

static void
test_images__put_with_empty_body_is_400(struct harness *h)
{
	char dir[1024];

	assert_problem(put_image(h, "empty", "", 0, 0), 400, NULL);
	assert_problem(put_image(h, "empty", "", 0, 1), 400, NULL);
	assert_problem(harness_get(h, "/v1/images/empty"), 404, NULL);
	images_dir(h, dir, sizeof(dir));
	assert_string_equal(dir, "");
}

static void
test_images__upload_at_the_limit_is_201_and_past_it_413(struct harness *h)
{
	char *data = harness_alloc(h, MIB + 1);
	struct harness_response *r;
	char dir[1024];

	r = put_image(h, "mib", data, MIB, 0);
	assert_status(r, 201);
	assert_image(r, "mib", MIB, MIB_ZEROS_SHA256);
	/* Announced by Content-Length: refused before it is read. */
	assert_problem(put_image(h, "past", data, MIB + 1, 0), 413, NULL);
	/* Chunked: spooled up to the limit, then refused. */
	assert_problem(put_image(h, "past", data, MIB + 1, 1), 413, NULL);
	/* Replacing with too much keeps what was there. */
	assert_problem(put_image(h, "mib", data, MIB + 1, 1), 413, NULL);
	assert_problem(harness_get(h, "/v1/images/past"), 404, NULL);
	assert_image(harness_get(h, "/v1/images/mib"), "mib", MIB,
		     MIB_ZEROS_SHA256);
	/* A failed upload leaves nothing behind. */
	if (!images_dir_becomes(h, "mib", 2000, dir, sizeof(dir)))
		fail_msg("the images directory holds \"%s\", not \"mib\"", dir);
}

/* A connected stream socket to the daemon: its Unix socket or TCP port. */
static int
connect_to(struct harness *h, int tcp)
{
	struct sockaddr_un sun;
	struct sockaddr_in sin;
	int fd;

	if (tcp) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)h->h_tcp_port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 ||
		    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
			fail_msg("connect 127.0.0.1:%d: %s", h->h_tcp_port,
				 strerror(errno));
		return fd;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->h_sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
		fail_msg("connect %s: %s", h->h_sock, strerror(errno));
	return fd;
}

static void
send_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("send: %s", strerror(errno));
		data += n;
		len -= (size_t)n;
	}
}

/*
 * Reads from fd until the end of the response's headers, for up to ms;
 * returns the bytes read (NUL-terminated in buf), 0 on timeout.
 */
static size_t
read_head(int fd, char *buf, size_t len, int ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	size_t got = 0;
	ssize_t n;

	buf[0] = '\0';
	while (got + 1 < len && strstr(buf, "\r\n\r\n") == NULL) {
		if (poll(&pfd, 1, ms) <= 0)
			return 0;
		n = recv(fd, buf + got, len - got - 1, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
	}
	return got;
}

static void
test_images__upload_cut_short_by_the_client_leaves_no_file(struct harness *h)
{
	static const char head[] = "PUT /v1/images/cut HTTP/1.1\r\n"
				   "Host: localhost\r\n"
				   "Content-Type: application/octet-stream\r\n"
				   "Content-Length: 100000\r\n\r\n";
	char *part = payload(h, 1000, 31, 7);
	char dir[1024];
	int fd, waited;

	wait_started(h);
	fd = connect_to(h, 0);
	send_all(fd, head, sizeof(head) - 1);
	send_all(fd, part, 1000);
	/* Wait until the daemon spools, so the case tests its clean-up. */
	for (waited = 0; waited < 2000; waited += 10) {
		images_dir(h, dir, sizeof(dir));
		if (strncmp(dir, ".upload-", 8) == 0)
			break;
		sleep_ms(10);
	}
	if (strncmp(dir, ".upload-", 8) != 0)
		fail_msg("no spool file appeared in 2 s (directory: \"%s\")",
			 dir);
	close(fd);
	if (!images_dir_becomes(h, "", 2000, dir, sizeof(dir)))
		fail_msg("2 s after the client went away, the images "
			 "directory still holds \"%s\"",
			 dir);
	assert_problem(harness_get(h, "/v1/images/cut"), 404, NULL);
	/* The daemon goes on serving uploads. */
	assert_status(put_image(h, "after", "abc", 3, 0), 201);
}

static void
test_images__tcp_put_without_token_is_401_before_the_body(struct harness *h)
{
	static const char head[] = "PUT /v1/images/big HTTP/1.1\r\n"
				   "Host: localhost\r\n"
				   "Content-Type: application/octet-stream\r\n"
				   "Content-Length: 500000\r\n\r\n";
	struct harness_request rq = {0};
	struct harness_response *r;
	char buf[4096], dir[1024];
	int fd;

	wait_started(h);
	fd = connect_to(h, 1);
	send_all(fd, head, sizeof(head) - 1);
	/* Not a byte of the body sent: the answer must come anyway. */
	if (read_head(fd, buf, sizeof(buf), 3000) == 0)
		fail_msg("no answer to a token-less PUT within 3 s");
	close(fd);
	if (strncmp(buf, "HTTP/1.1 401 ", 13) != 0)
		fail_msg("expected 401, got: %.200s", buf);
	images_dir(h, dir, sizeof(dir));
	assert_string_equal(dir, "");

	/* With the token it works over TCP. */
	rq.rq_method = "PUT";
	rq.rq_path = "/v1/images/tcp.bin";
	rq.rq_body = "abc";
	rq.rq_body_len = 3;
	rq.rq_tcp = 1;
	rq.rq_token = h->h_token;
	r = harness_send(h, &rq);
	assert_status(r, 201);
	assert_image(r, "tcp.bin", 3, ABC_SHA256);
}

/*
 * Sends head as uid (gid uid, supplementary group extra) from a child
 * and waits up to 3 s for the answer's head without sending a byte of
 * the body; buf gets what came ("" when nothing did).
 */
static void
head_as(struct harness *h, uid_t uid, gid_t extra, const char *head, char *buf,
	size_t len)
{
	gid_t groups[2] = {uid, extra};
	struct harness_request probe = {0};
	int p[2], status;
	ssize_t n;
	pid_t pid;

	/* Makes h's directory traversable for uid (harness.h). */
	struct harness_identity id = {uid, uid, groups, 2, NULL};
	probe.rq_method = "GET";
	probe.rq_path = "/v1/health";
	assert_status(harness_as(h, &id, &probe), 200);
	if (pipe(p) != 0)
		fail_msg("pipe: %s", strerror(errno));
	if ((pid = fork()) == 0) {
		int fd;

		close(p[0]);
		if (setgroups(2, groups) != 0 || setgid(uid) != 0 ||
		    setuid(uid) != 0)
			_exit(2);
		fd = connect_to(h, 0);
		send_all(fd, head, strlen(head));
		n = (ssize_t)read_head(fd, buf, len, 3000);
		(void)write(p[1], buf, (size_t)n);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(p[0]);
	waitpid(pid, &status, 0);
}

/* Issue #14, finding 6: a caller the policy refuses hears 403 before a
 * byte of the body is read, so nothing is spooled (a non-member spooled
 * 335 MB, and on a full disk heard 507, before). */
static void
test_images__put_by_a_caller_who_may_not_is_403_before_the_body(
    struct harness *h)
{
	static const char head[] = "PUT /v1/images/big HTTP/1.1\r\n"
				   "Host: localhost\r\n"
				   "Content-Type: application/octet-stream\r\n"
				   "Content-Length: 500000000\r\n\r\n";
	char buf[4096], dir[1024];

	harness_need_root(h);
	wait_started(h);
	/* A non-member, and a vmm member (images are host root's). */
	head_as(h, 4243, 100, head, buf, sizeof(buf));
	if (strncmp(buf, "HTTP/1.1 403 ", 13) != 0)
		fail_msg(
		    "a non-member's PUT, no body sent: expected 403 within "
		    "3 s, got: \"%.200s\"",
		    buf);
	head_as(h, 4242, 4200, head, buf, sizeof(buf));
	if (strncmp(buf, "HTTP/1.1 403 ", 13) != 0)
		fail_msg(
		    "a member's PUT, no body sent: expected 403 within 3 s, "
		    "got: \"%.200s\"",
		    buf);
	images_dir(h, dir, sizeof(dir));
	assert_string_equal(dir, "");
	assert_problem(harness_get(h, "/v1/images/big"), 404, NULL);
	/* Root's uploads go on. */
	assert_status(put_image(h, "after", "abc", 3, 0), 201);
}

static void
test_images__images_survive_restart_and_leftovers_do_not(struct harness *h)
{
	char path[HARNESS_PATH_MAX + 32], dir[1024];
	FILE *f;

	assert_status(put_image(h, "kept", "abc", 3, 0), 201);
	harness_stop(h);
	/* What a crash leaves: a spool file and a file with no row. */
	snprintf(path, sizeof(path), "%s/images/.upload-Xy12Zw", h->h_dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("half", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/images/orphan", h->h_dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("never committed", f);
	fclose(f);
	harness_start(h, NULL);
	wait_started(h);
	images_dir(h, dir, sizeof(dir));
	assert_string_equal(dir, "kept");
	assert_image(harness_get(h, "/v1/images/kept"), "kept", 3, ABC_SHA256);
	assert_problem(harness_get(h, "/v1/images/orphan"), 404, NULL);
}

/* x86 real mode "jmp $": a guest that spins until stopped. */
#define SPIN_GUEST "\xeb\xfe"

static void
test_images__image_of_a_running_vm_cannot_be_replaced_or_deleted(
    struct harness *h)
{
	struct harness_response *r;
	json_t *detail;
	int i;

	assert_status(put_image(h, "spin.bin", SPIN_GUEST, 2, 0), 201);
	r = harness_req(h, "POST", "/v1/vms",
			"{\"name\":\"spinner\",\"vcpus\":1,\"memory_mib\":16,"
			"\"boot\":{\"kind\":\"flat\",\"image\":\"spin.bin\","
			"\"load_address\":4096,\"entry\":4096}}",
			NULL);
	assert_status(r, 201);
	r = harness_req(h, "POST", "/v1/vms/spinner/start", NULL, NULL);
	if (r->hr_status != 200 && r->hr_status != 202)
		assert_status(r, 200);

	r = harness_get(h, "/v1/images/spin.bin");
	assert_status(r, 200);
	if (!json_is_true(json_object_get(r->hr_json, "in_use")))
		fail_msg("in_use is not true while VM spinner runs: %s",
			 r->hr_body);
	r = put_image(h, "spin.bin", "abc", 3, 0);
	assert_problem(r, 409, NULL);
	detail = json_object_get(r->hr_json, "detail");
	if (!json_is_string(detail) ||
	    strstr(json_string_value(detail), "spin.bin") == NULL)
		fail_msg("the 409's detail does not name the image: %s",
			 r->hr_body);
	assert_problem(
	    harness_req(h, "DELETE", "/v1/images/spin.bin", NULL, NULL), 409,
	    NULL);
	/* Untouched by the refused replace. */
	r = harness_get(h, "/v1/images/spin.bin");
	assert_json_int(r, "size", 2);

	r = harness_req(h, "POST", "/v1/vms/spinner/stop?force=1", NULL, NULL);
	if (r->hr_status != 200 && r->hr_status != 202)
		assert_status(r, 200);
	/* The pin goes with the run (a stop may finish asynchronously). */
	for (i = 0; i < 100; i++) {
		r = harness_req(h, "DELETE", "/v1/images/spin.bin", NULL, NULL);
		if (r->hr_status != 409)
			break;
		sleep_ms(20);
	}
	assert_status(r, 204);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_images__upload_is_201_with_location_size_and_sha256, 0),
	    HARNESS_CASE(
		test_images__upload_with_any_content_type_or_chunked_works, 0),
	    HARNESS_CASE(test_images__replace_is_200_with_the_new_hash, 0),
	    HARNESS_CASE(test_images__list_is_in_name_order, 0),
	    HARNESS_CASE(test_images__get_of_unknown_image_is_404, 0),
	    HARNESS_CASE(test_images__delete_is_204_then_404, 0),
	    HARNESS_CASE(test_images__put_with_invalid_name_is_400, 0),
	    HARNESS_CASE(test_images__put_with_empty_body_is_400, 0),
	    HARNESS_CASE_ARGS(
		test_images__upload_at_the_limit_is_201_and_past_it_413, 0,
		"--upload-max-mib", "1"),
	    HARNESS_CASE(
		test_images__upload_cut_short_by_the_client_leaves_no_file, 0),
	    HARNESS_CASE(
		test_images__tcp_put_without_token_is_401_before_the_body,
		HARNESS_TCP),
	    HARNESS_CASE_ARGS(
		test_images__put_by_a_caller_who_may_not_is_403_before_the_body,
		0, "--vmm-group", "4200"),
	    HARNESS_CASE(
		test_images__images_survive_restart_and_leftovers_do_not, 0),
	    HARNESS_CASE(
		test_images__image_of_a_running_vm_cannot_be_replaced_or_deleted,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
