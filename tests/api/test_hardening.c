/*
 * Requests that could be read more than one way are refused before any
 * route sees them (#14): a NUL byte in the decoded path or query, and
 * ambiguous HTTP/1.1 framing.  Raw requests go over the Unix socket
 * without curl, which would not send most of them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
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

/* A raw connection to the daemon's Unix socket. */
static int
raw_connect(struct harness *h)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", h->h_sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fail_msg("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fail_msg("connect %s: %s", h->h_sock, strerror(errno));
	return fd;
}

/*
 * Sends rq on a new connection and reads until the daemon closes it or
 * ms pass; buf gets what came (NUL-terminated).  1 when the daemon
 * closed the connection, 0 when it was still open after ms.
 */
static int
raw_exchange(struct harness *h, const char *rq, char *buf, size_t len, int ms)
{
	struct pollfd pfd;
	size_t got = 0;
	ssize_t n;
	int fd = raw_connect(h), closed = 0;

	if (send(fd, rq, strlen(rq), MSG_NOSIGNAL) != (ssize_t)strlen(rq))
		fail_msg("send: %s", strerror(errno));
	pfd.fd = fd;
	pfd.events = POLLIN;
	buf[0] = '\0';
	while (got + 1 < len && poll(&pfd, 1, ms) == 1) {
		n = recv(fd, buf + got, len - 1 - got, 0);
		if (n <= 0) {
			closed = 1;
			break;
		}
		got += (size_t)n;
		buf[got] = '\0';
	}
	close(fd);
	return closed;
}

/* The status lines in s: the answers that came. */
static int
count_answers(const char *s)
{
	int n = strncmp(s, "HTTP/1.", 7) == 0;

	while ((s = strstr(s, "\r\nHTTP/1.")) != NULL) {
		n++;
		s += 2;
	}
	return n;
}

/*
 * rq is answered at once with one 400 malformed-request that names why,
 * and the connection closed after it: a request that follows in the same
 * bytes (smuggled) is never answered.
 */
static void
expect_framing_refused(struct harness *h, const char *rq, const char *why)
{
	char buf[8192];
	int closed = raw_exchange(h, rq, buf, sizeof(buf), 5000);

	if (strncmp(buf, "HTTP/1.1 400 ", 13) != 0 ||
	    strstr(buf, "/v1/problems/malformed-request") == NULL ||
	    strstr(buf, why) == NULL)
		fail_msg("not a 400 malformed-request saying \"%s\" for:\n%s\n"
			 "answer:\n%s",
			 why, rq, buf);
	if (strcasestr(buf, "\r\nConnection: close\r\n") == NULL || !closed)
		fail_msg("the connection stays open after:\n%s\nanswer:\n%s",
			 rq, buf);
	if (count_answers(buf) != 1)
		fail_msg("more than one answer (a smuggled request went "
			 "through) for:\n%s\nanswer:\n%s",
			 rq, buf);
}

#define SMUGGLED "GET /v1/vms HTTP/1.1\r\nHost: localhost\r\n\r\n"
#define POST_VMS                                                               \
	"POST /v1/vms HTTP/1.1\r\nHost: localhost\r\n"                         \
	"Content-Type: application/json\r\n"
#define VM_BODY "{\"name\":\"smuggler\"," HELLO_BOOT "}"

static void
test_hardening__two_content_lengths_are_400_and_close(struct harness *h)
{
	char rq[1024];

	/* libmicrohttpd took the first: the rest of the body was read as
	 * the next request. */
	snprintf(rq, sizeof(rq),
		 POST_VMS "Content-Length: %zu\r\nContent-Length: 5\r\n\r\n"
			  "%s" SMUGGLED,
		 strlen(VM_BODY), VM_BODY);
	expect_framing_refused(h, rq, "more than one Content-Length");
	snprintf(rq, sizeof(rq),
		 POST_VMS
		 "Content-Length: %zu\r\ncontent-length: %zu\r\n\r\n%s",
		 strlen(VM_BODY), strlen(VM_BODY), VM_BODY);
	expect_framing_refused(h, rq, "more than one Content-Length");
	assert_problem(harness_get(h, "/v1/vms/smuggler"), 404, NULL);
}

static void
test_hardening__content_length_with_transfer_encoding_is_400_and_close(
    struct harness *h)
{
	char rq[1024];

	snprintf(rq, sizeof(rq),
		 POST_VMS "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"
			  "\r\n%zx\r\n%s\r\n0\r\n\r\n" SMUGGLED,
		 strlen(VM_BODY), VM_BODY);
	expect_framing_refused(h, rq,
			       "both Transfer-Encoding and Content-Length");
	assert_problem(harness_get(h, "/v1/vms/smuggler"), 404, NULL);
}

static void
test_hardening__whitespace_before_a_header_colon_is_400_and_close(
    struct harness *h)
{
	char rq[1024];

	snprintf(rq, sizeof(rq),
		 POST_VMS "Transfer-Encoding : chunked\r\n\r\n%zx\r\n%s\r\n"
			  "0\r\n\r\n",
		 strlen(VM_BODY), VM_BODY);
	expect_framing_refused(h, rq, "whitespace before its colon");
	expect_framing_refused(h,
			       "GET /v1 HTTP/1.1\r\nHost: localhost\r\n"
			       "X-Thing\t: 1\r\n\r\n",
			       "whitespace before its colon");
}

static void
test_hardening__http11_without_one_host_is_400_and_close(struct harness *h)
{
	char buf[4096];

	expect_framing_refused(h, "GET /v1 HTTP/1.1\r\n\r\n", "without Host");
	expect_framing_refused(h,
			       "GET /v1 HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
			       "more than one Host");
	/* HTTP/1.0 needs none. */
	raw_exchange(h, "GET /v1 HTTP/1.0\r\n\r\n", buf, sizeof(buf), 5000);
	if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0)
		fail_msg("HTTP/1.0 without Host: %s", buf);
}

static void
test_hardening__a_transfer_coding_other_than_chunked_is_400_at_once(
    struct harness *h)
{
	char rq[1024];

	/* It waited for the connection's timeout (60 s), reading the body
	 * as a body of unknown length. */
	snprintf(rq, sizeof(rq), POST_VMS "Transfer-Encoding: gzip\r\n\r\n%s",
		 VM_BODY);
	expect_framing_refused(h, rq, "other than chunked");
	snprintf(rq, sizeof(rq),
		 POST_VMS "Transfer-Encoding: gzip, chunked\r\n\r\n%zx\r\n%s"
			  "\r\n0\r\n\r\n",
		 strlen(VM_BODY), VM_BODY);
	expect_framing_refused(h, rq, "other than chunked");
	/* Not read as chunked by libmicrohttpd either: it waited. */
	snprintf(rq, sizeof(rq),
		 POST_VMS "Transfer-Encoding: chunked \r\n\r\n%zx\r\n%s"
			  "\r\n0\r\n\r\n",
		 strlen(VM_BODY), VM_BODY);
	expect_framing_refused(h, rq, "other than chunked");
	snprintf(rq, sizeof(rq),
		 "POST /v1/vms HTTP/1.0\r\nContent-Type: application/json\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
		 strlen(VM_BODY), VM_BODY);
	expect_framing_refused(h, rq, "older than HTTP/1.1");
	assert_problem(harness_get(h, "/v1/vms/smuggler"), 404, NULL);
}

static void
test_hardening__plain_chunked_and_content_length_bodies_still_work(
    struct harness *h)
{
	char rq[1024], buf[8192];

	snprintf(rq, sizeof(rq),
		 POST_VMS "Transfer-Encoding: Chunked\r\n\r\n%zx\r\n%s\r\n"
			  "0\r\n\r\n",
		 strlen(VM_BODY), VM_BODY);
	raw_exchange(h, rq, buf, sizeof(buf), 1000);
	if (strncmp(buf, "HTTP/1.1 201 ", 13) != 0)
		fail_msg("a chunked create: %s", buf);
	assert_status(harness_req(h, "DELETE", "/v1/vms/smuggler", NULL, NULL),
		      204);
	snprintf(rq, sizeof(rq), POST_VMS "Content-Length: %zu\r\n\r\n%s",
		 strlen(VM_BODY), VM_BODY);
	raw_exchange(h, rq, buf, sizeof(buf), 1000);
	if (strncmp(buf, "HTTP/1.1 201 ", 13) != 0)
		fail_msg("a create with Content-Length: %s", buf);
}

/* GET target over a raw socket answers status with needle in it. */
static void
expect_get(struct harness *h, const char *target, const char *status,
	   const char *needle)
{
	char rq[512], buf[8192];

	snprintf(rq, sizeof(rq),
		 "GET %s HTTP/1.1\r\nHost: localhost\r\n"
		 "Connection: close\r\n\r\n",
		 target);
	raw_exchange(h, rq, buf, sizeof(buf), 2000);
	if (strncmp(buf, "HTTP/1.1 ", 9) != 0 ||
	    strncmp(buf + 9, status, strlen(status)) != 0 ||
	    strstr(buf, needle) == NULL)
		fail_msg("GET %s: not %s with %s: %s", target, status, needle,
			 buf);
}

/*
 * A request target in absolute form (RFC 9112, 3.2.2: a server must
 * accept it) is the same request as its path: the scheme and authority
 * are dropped, the query kept.
 */
static void
test_hardening__an_absolute_form_target_is_its_path(struct harness *h)
{
	harness_define_vm(h, "abs1", "hello.bin", "");
	expect_get(h, "http://localhost/v1/vms/abs1", "200 ",
		   "\"name\":\"abs1\"");
	expect_get(h, "HTTPS://localhost:8080/v1/vms?limit=1", "200 ",
		   "\"next\"");
	/* Nothing after the authority: "/", which is no resource. */
	expect_get(h, "http://localhost", "404 ", "no resource at /\"");
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
	/* Host root lists every scope: its cursors are VM keys, a name
	 * or JAIL/NAME (docs/api.md), and nothing else. */
	static const char *const bad[] = {
	    "/v1/vms?after=%ff%fe", "/v1/vms?after=!!!notacursor",
	    "/v1/vms?after=",       "/v1/vms?after=a/b/c",
	    "/v1/vms?after=/b",     "/v1/vms?after=a/",
	    "/v1/vms?after=%20x",
	};
	size_t i;

	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"a1\"," HELLO_BOOT "}", NULL),
		      201);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_problem(harness_get(h, bad[i]), 400, "after");
	/* A name is a cursor, whether or not a VM has it; so is a jail's
	 * VM's key. */
	assert_status(harness_get(h, "/v1/vms?after=a/b"), 200);
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

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode;
}

/* Nothing but sock is left in dir: no private directory of the daemon. */
static void
assert_only_entry(const char *dir, const char *name)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, name) != 0)
			fail_msg("%s left in %s", de->d_name, dir);
	closedir(d);
}

static void
test_hardening__a_jail_socket_is_made_without_following_what_is_at_its_path(
    struct harness *h)
{
	char victim[HARNESS_PATH_MAX + 16], jdir[HARNESS_PATH_MAX + 16];
	char sock[HARNESS_PATH_MAX + 32], sock2[HARNESS_PATH_MAX + 32];
	char body[HARNESS_PATH_MAX + 128];
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", h->h_dir);
	snprintf(jdir, sizeof(jdir), "%s/jail", h->h_dir);
	snprintf(sock, sizeof(sock), "%s/j1.sock", jdir);
	snprintf(sock2, sizeof(sock2), "%s/j1b.sock", jdir);
	assert_true((fd = open(victim, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	assert_int_equal(chmod(victim, 0600), 0);
	/* The jail's own directory: anyone may write it. */
	assert_int_equal(mkdir(jdir, 0700), 0);
	assert_int_equal(chmod(jdir, 0777), 0);
	assert_int_equal(symlink(victim, sock), 0);

	snprintf(body, sizeof(body), "{\"allow_vmm\":true,\"socket\":\"%s\"}",
		 sock);
	assert_problem(harness_req(h, "PUT", "/v1/jails/j1", body, NULL), 409,
		       "socket");
	assert_int_equal(mode_of(victim) & 07777, 0600);
	assert_true(S_ISLNK(mode_of(sock)));

	/* Gone: the socket is made, 0660, and nothing else is left. */
	assert_int_equal(unlink(sock), 0);
	assert_status(harness_req(h, "PUT", "/v1/jails/j1", body, NULL), 201);
	assert_true(S_ISSOCK(mode_of(sock)));
	assert_int_equal(mode_of(sock) & 07777, 0660);
	assert_only_entry(jdir, "j1.sock");
	/* Moved: the old one goes, the new one is made the same way. */
	snprintf(body, sizeof(body), "{\"allow_vmm\":true,\"socket\":\"%s\"}",
		 sock2);
	assert_status(harness_req(h, "PUT", "/v1/jails/j1", body, NULL), 200);
	assert_int_equal(mode_of(sock2) & 07777, 0660);
	assert_only_entry(jdir, "j1b.sock");
	assert_int_equal(mode_of(victim) & 07777, 0600);
}

/*
 * Connects to the Unix socket path as uid with primary group gid and the
 * supplementary groups given, in a child; 0 if connect() succeeded, else
 * its errno.
 */
static int
connect_as(const char *path, uid_t uid, gid_t gid, const gid_t *groups,
	   int ngroups)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	pid_t pid;
	int st, fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((pid = fork()) == 0) {
		if (setgroups((size_t)ngroups, groups) != 0 ||
		    setgid(gid) != 0 || setuid(uid) != 0)
			_exit(254);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			_exit(253);
		_exit(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0
			  ? 0
			  : errno);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_true(WEXITSTATUS(st) < 250);
	return WEXITSTATUS(st);
}

/*
 * #14 finding 14: a jail's socket was 0666, so any host user who could
 * reach it acted as that jail.  Now it is its directory's owner's and
 * group's, 0660: a host user outside both cannot connect, even through a
 * directory everyone may traverse; a member of the group can.
 */
static void
test_hardening__a_host_user_outside_a_jail_socket_s_group_cannot_connect(
    struct harness *h)
{
	static const gid_t in_group[] = {4243, 4290};
	static const gid_t outside[] = {4243, 4200};
	char jdir[HARNESS_PATH_MAX + 16], sock[HARNESS_PATH_MAX + 32];
	char body[HARNESS_PATH_MAX + 128];
	struct harness_identity jailer = {4243, 4243, in_group, 2, NULL};
	struct stat st;

	harness_need_root(h);
	snprintf(jdir, sizeof(jdir), "%s/jail", h->h_dir);
	snprintf(sock, sizeof(sock), "%s/j1.sock", jdir);
	/* Every host user may reach the jail's directory: only the socket's
	 * own mode keeps them out. */
	assert_int_equal(chmod(h->h_dir, 0755), 0);
	/* The jail's directory: its root 4290's, group 4290, open to all. */
	assert_int_equal(mkdir(jdir, 0755), 0);
	assert_int_equal(chown(jdir, 4290, 4290), 0);
	assert_int_equal(chmod(jdir, 0755), 0);
	snprintf(body, sizeof(body), "{\"allow_vmm\":true,\"socket\":\"%s\"}",
		 sock);
	assert_status(harness_req(h, "PUT", "/v1/jails/j1", body, NULL), 201);
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_uid, 4290);
	assert_int_equal(st.st_gid, 4290);

	/* A host user, a vmm member even, outside the group: refused. */
	assert_int_equal(connect_as(sock, 4243, 4243, outside, 2), EACCES);
	assert_int_equal(connect_as(sock, 4244, 4200, outside + 1, 1), EACCES);
	/* The jail's root and its group connect, and are in the jail. */
	assert_int_equal(connect_as(sock, 4290, 4290, NULL, 0), 0);
	assert_int_equal(connect_as(sock, 4243, 4243, in_group, 2), 0);
	jailer.hi_sock = sock;
	assert_json_str(harness_req_as(h, &jailer, "GET", "/v1", NULL),
			"principal.jail", "j1");
	/* Host root still can (it can do anything). */
	assert_int_equal(connect_as(sock, 0, 0, NULL, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_hardening__a_nul_in_the_path_is_400_not_a_shorter_name, 0),
	    HARNESS_CASE(test_hardening__an_absolute_form_target_is_its_path,
			 0),
	    HARNESS_CASE(test_hardening__a_nul_in_an_upload_name_stores_nothing,
			 0),
	    HARNESS_CASE(test_hardening__a_nul_in_a_query_value_or_name_is_400,
			 0),
	    HARNESS_CASE(test_hardening__a_cursor_that_is_not_a_name_is_400, 0),
	    HARNESS_CASE(
		test_hardening__a_jail_socket_is_made_without_following_what_is_at_its_path,
		0),
	    HARNESS_CASE(
		test_hardening__a_host_user_outside_a_jail_socket_s_group_cannot_connect,
		0),
	    HARNESS_CASE(test_hardening__two_content_lengths_are_400_and_close,
			 0),
	    HARNESS_CASE(
		test_hardening__content_length_with_transfer_encoding_is_400_and_close,
		0),
	    HARNESS_CASE(
		test_hardening__whitespace_before_a_header_colon_is_400_and_close,
		0),
	    HARNESS_CASE(
		test_hardening__http11_without_one_host_is_400_and_close, 0),
	    HARNESS_CASE(
		test_hardening__a_transfer_coding_other_than_chunked_is_400_at_once,
		0),
	    HARNESS_CASE(
		test_hardening__plain_chunked_and_content_length_bodies_still_work,
		0),
	    HARNESS_CASE(
		test_hardening__a_state_directory_others_can_write_is_refused,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
