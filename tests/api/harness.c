/*
 * The API test harness: one real daemon per test case, driven over real
 * sockets with libcurl.  See harness.h.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <curl/curl.h>

#include "harness.h"
#include "tskip.h"

#ifndef VMMAPID_BIN
#error "VMMAPID_BIN must name the daemon binary"
#endif
#ifndef GUESTS_DIR
#error "GUESTS_DIR must name the directory of the test guests' NAME.bin"
#endif

#define HARNESS_READY_MS 10000
#define HARNESS_STOP_MS 10000
#define HARNESS_MAX_ARGS 64

/* A harness_alloc() block, freed at teardown. */
struct harness_block {
	struct harness_block *b_next;
	max_align_t b_data[];
};

/* A response body as it arrives. */
struct harness_buf {
	char *b_data;
	size_t b_len;
	size_t b_cap;
};

/* A GET read while it arrives; see harness.h. */
struct harness_stream {
	struct harness *s_h;
	pthread_t s_thread;
	int s_joinable;
	pthread_mutex_t s_lock; /* guards s_body, s_abort, s_done, s_code */
	pthread_cond_t s_cond;  /* s_body grew or s_done was set */
	struct harness_buf s_body;
	size_t s_max;
	long s_timeout_ms;
	int s_abort;
	int s_done;
	int s_code;
	/* The head, written by the thread until s_done. */
	struct harness_response *s_resp;
	struct curl_slist *s_hdrs;
	char s_url[512];
	struct harness_stream *s_next;
};

static pthread_once_t harness_curl_once = PTHREAD_ONCE_INIT;

static void
harness_curl_global(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
harness_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int64_t
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fails the case at file:line after printing a formatted reason. */
static void harness_failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void
harness_failf(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint_error(fmt, ap);
	va_end(ap);
	print_error("\n");
	_fail(file, line);
	abort(); /* _fail() does not return; this tells the compiler */
}

#define HFAIL(...) harness_failf(__FILE__, __LINE__, __VA_ARGS__)

static void harness_stream_free(struct harness_stream *s);
static void harness_child_free(struct harness_child *c);

static int
harness_free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd, port = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return (port);
}

/*
 * 1 when the daemon answers GET /v1/health with 200 on the Unix socket:
 * the socket accepts before start-up is done (it is opened first), so
 * accepting alone is not ready.
 */
static int
harness_unix_healthy(const char *path)
{
	static const char rq[] = "GET /v1/health HTTP/1.0\r\n\r\n";
	struct timeval tv = {1, 0};
	struct sockaddr_un sun;
	char buf[64];
	ssize_t n;
	size_t got = 0;
	int fd, ok = 0;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
	    write(fd, rq, sizeof(rq) - 1) == (ssize_t)(sizeof(rq) - 1)) {
		while (got < 12 &&
		       (n = read(fd, buf + got, sizeof(buf) - got)) > 0)
			got += (size_t)n;
		ok = got >= 12 && memcmp(buf + 9, "200", 3) == 0;
	}
	close(fd);
	return (ok);
}

static int
harness_tcp_accepts(int port)
{
	struct sockaddr_in sin;
	int fd, ok;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return (ok);
}

/*
 * Forks and execs the daemon; see harness.h.
 */
/*
 * Under VMMAPID_TEST_VALGRIND=1 the daemon runs in valgrind's memcheck:
 * any error, or a definite leak at exit, makes its exit status 98, which
 * fails the case that stops it (the report is in the daemon's log).
 */
static const char *const harness_valgrind[] = {
    "valgrind",
    "--quiet",
    "--tool=memcheck",
    "--leak-check=full",
    "--show-leak-kinds=definite",
    "--errors-for-leak-kinds=definite",
    "--error-exitcode=98",
    "--num-callers=30",
};
#define HARNESS_NVALGRIND (sizeof(harness_valgrind) / sizeof(*harness_valgrind))

static int
harness_under_valgrind(void)
{
	const char *v = getenv("VMMAPID_TEST_VALGRIND");

	return v != NULL && strcmp(v, "1") == 0;
}

pid_t
harness_spawn(const char *const *args, const char *log_path)
{
	const char *argv[HARNESS_NVALGRIND + HARNESS_MAX_ARGS + 2];
	const char *path = VMMAPID_BIN;
	size_t i;
	int n = 0, fd;
	pid_t pid;

	if (harness_under_valgrind()) {
		for (i = 0; i < HARNESS_NVALGRIND; i++)
			argv[n++] = harness_valgrind[i];
		path = "/usr/bin/valgrind";
	}
	argv[n++] = VMMAPID_BIN;
	for (i = 0; args != NULL && args[i] != NULL; i++) {
		if (i >= HARNESS_MAX_ARGS)
			HFAIL("harness_spawn: more than %d arguments",
			      HARNESS_MAX_ARGS);
		argv[n++] = args[i];
	}
	argv[n] = NULL;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == -1)
		HFAIL("fork: %s", strerror(errno));
	if (pid > 0)
		return (pid);
#ifdef __linux__
	/* A crashed test run must not leave daemons behind. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	/* The child: only async-signal-safe calls until exec. */
	fd = open("/dev/null", O_RDONLY);
	if (fd != -1 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd == -1)
		_exit(126);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	/* Keep curl's connections to an earlier daemon out of this one. */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	execv(path, (char *const *)argv);
	_exit(127);
}

/*
 * Waits for pid with a bound; see harness.h.
 */
int
harness_wait_pid(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = harness_now_ms() + timeout_ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return (0);
		if (r == -1 && errno != EINTR)
			return (-1);
		if (harness_now_ms() >= deadline)
			return (-1);
		harness_sleep_ms(5);
	}
}

/*
 * Reads the daemon's log; see harness.h.
 */
char *
harness_read_log(const struct harness *h)
{
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	f = fopen(h->h_log, "r");
	if (f == NULL)
		return (NULL);
	for (;;) {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (nb == NULL)
				break;
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	if (buf != NULL)
		buf[len] = '\0';
	return (buf);
}

/*
 * Prints the daemon's log; see harness.h.
 */
void
harness_print_log(const struct harness *h)
{
	char *log = harness_read_log(h);

	/* Not print_error: cmocka cuts its messages at 1,024 bytes, and the
	 * end of the log (a sanitizer's report) is what matters. */
	fflush(stdout);
	fprintf(stderr,
		"---- daemon log %s ----\n%s---- end of daemon log ----\n",
		h->h_log, log != NULL ? log : "(unreadable)\n");
	fflush(stderr);
	free(log);
}

static void
harness_log_marker(const struct harness *h, const char *what)
{
	FILE *f = fopen(h->h_log, "a");

	if (f == NULL)
		return;
	fprintf(f, "==== harness: %s ====\n", what);
	fclose(f);
}

/*
 * Reads admin.token into h_token: 0 when it holds a line ending in a
 * newline, else -1 with h_token "".
 */
static int
harness_read_token(struct harness *h)
{
	char buf[sizeof(h->h_token) + 1];
	FILE *f;
	size_t len = 0;

	h->h_token[0] = '\0';
	f = fopen(h->h_token_path, "r");
	if (f == NULL)
		return (-1);
	if (fgets(buf, sizeof(buf), f) != NULL)
		len = strlen(buf);
	fclose(f);
	if (len < 2 || buf[len - 1] != '\n')
		return (-1);
	/* buf is one byte longer than h_token for the newline. */
	memcpy(h->h_token, buf, len - 1);
	h->h_token[len - 1] = '\0';
	return (0);
}

/*
 * Uploads a test guest; see harness.h.
 */
void
harness_put_guest(struct harness *h, const char *guest)
{
	char path[512], image[80];
	struct harness_response *r;
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/%s.bin", GUESTS_DIR, guest);
	snprintf(image, sizeof(image), "%s.bin", guest);
	data = harness_read_file(h, path, &len);
	r = harness_put_image(h, image, data, len);
	if (r->hr_status != 200)
		harness_assert_status(r, 201, __FILE__, __LINE__);
}

/*
 * Defines a VM; see harness.h.
 */
void
harness_define_vm(struct harness *h, const char *name, const char *image,
		  const char *extra)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"name\":\"%s\",\"memory_mib\":%d,\"boot\":{\"kind\":"
		 "\"flat\",\"image\":\"%s\"}%s%s}",
		 name, HARNESS_VM_MEMORY_MIB, image,
		 extra[0] != '\0' ? "," : "", extra);
	harness_assert_status(harness_req(h, "POST", "/v1/vms", body, NULL),
			      201, __FILE__, __LINE__);
}

/*
 * The driver under test; see harness.h.
 */
const char *
harness_driver(void)
{
	const char *d = getenv("VMMAPID_TEST_DRIVER");

	return (d != NULL && *d != '\0' ? d : "sim");
}

int
harness_driver_is(const char *name)
{
	return (strcmp(harness_driver(), name) == 0);
}

/*
 * A program run for the kvm driver where /dev/kvm does not open skips as
 * a whole, before cmocka prints a line: each of its cases would only
 * find the daemon refusing --driver kvm.
 */
__attribute__((constructor)) static void
harness_check_driver(void)
{
	int fd;

	if (!harness_driver_is("kvm"))
		return;
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return;
	}
	tskip_program("/dev/kvm does not open: %s (errno %d)", strerror(errno),
		      errno);
	exit(TSKIP_EXIT);
}

/* 1 when the NULL-ended args (may be NULL) hold the option name. */
static int
harness_args_name(const char *const *args, const char *name)
{
	for (; args != NULL && *args != NULL; args++)
		if (strcmp(*args, name) == 0)
			return (1);
	return (0);
}

/*
 * Starts the daemon and waits until it is ready; see harness.h.
 */
void
harness_start(struct harness *h, const char *const *extra)
{
	const char *args[HARNESS_MAX_ARGS + 1];
	char unix_arg[HARNESS_PATH_MAX + 8], tcp_arg[64];
	const char *const *p;
	int n = 0, status, ready = 0;
	int64_t deadline;

	if (h->h_pid > 0)
		HFAIL("harness_start: daemon %d is already running",
		      (int)h->h_pid);
	snprintf(unix_arg, sizeof(unix_arg), "unix:%s", h->h_sock);
	args[n++] = "-d";
	args[n++] = "--state-dir";
	args[n++] = h->h_dir;
	args[n++] = "--db";
	args[n++] = h->h_db;
	args[n++] = "--listen";
	args[n++] = unix_arg;
	if (h->h_case->hc_flags & HARNESS_TCP) {
		if (h->h_tcp_port == 0)
			h->h_tcp_port = harness_free_port();
		if (h->h_tcp_port <= 0)
			HFAIL("no free TCP port on 127.0.0.1");
		snprintf(tcp_arg, sizeof(tcp_arg), "tcp:127.0.0.1:%d",
			 h->h_tcp_port);
		args[n++] = "--listen";
		args[n++] = tcp_arg;
	}
	if (!harness_args_name(h->h_case->hc_args, "--driver") &&
	    !harness_args_name(extra, "--driver")) {
		args[n++] = "--driver";
		args[n++] = harness_driver();
	}
	for (p = h->h_case->hc_args; p != NULL && *p != NULL; p++)
		if (n < HARNESS_MAX_ARGS)
			args[n++] = *p;
	for (p = extra; p != NULL && *p != NULL; p++)
		if (n < HARNESS_MAX_ARGS)
			args[n++] = *p;
	args[n] = NULL;

	harness_log_marker(h, "start");
	h->h_pid = harness_spawn(args, h->h_log);

	deadline = harness_now_ms() + HARNESS_READY_MS * harness_time_factor();
	while (harness_now_ms() < deadline) {
		if (waitpid(h->h_pid, &status, WNOHANG) == h->h_pid) {
			h->h_pid = -1;
			harness_print_log(h);
			HFAIL("daemon exited during start-up (status 0x%x)",
			      (unsigned)status);
		}
		/* With TCP, ready includes a complete admin.token. */
		if (harness_unix_healthy(h->h_sock) &&
		    (!(h->h_case->hc_flags & HARNESS_TCP) ||
		     (harness_tcp_accepts(h->h_tcp_port) &&
		      harness_read_token(h) == 0))) {
			ready = 1;
			break;
		}
		harness_sleep_ms(5);
	}
	if (!ready) {
		kill(h->h_pid, SIGKILL);
		waitpid(h->h_pid, &status, 0);
		h->h_pid = -1;
		harness_print_log(h);
		HFAIL("daemon not ready on %s%s within %d ms", h->h_sock,
		      (h->h_case->hc_flags & HARNESS_TCP)
			  ? " (TCP listener and admin.token)"
			  : "",
		      HARNESS_READY_MS * harness_time_factor());
	}
	harness_read_token(h);
}

/*
 * Signals the daemon and waits for it; see harness.h.
 */
int
harness_signal_and_wait(struct harness *h, int sig, int timeout_ms)
{
	int status = 0;

	if (h->h_pid <= 0)
		HFAIL("no daemon to signal");
	/* Connections to a stopped daemon are dead; start afresh after. */
	harness_curl_free(h->h_curl);
	h->h_curl = NULL;
	if (kill(h->h_pid, sig) == -1)
		HFAIL("kill %d: %s", (int)h->h_pid, strerror(errno));
	if (harness_wait_pid(h->h_pid, timeout_ms, &status) == -1) {
		kill(h->h_pid, SIGKILL);
		waitpid(h->h_pid, &status, 0);
		h->h_pid = -1;
		h->h_curl = harness_curl_new();
		harness_print_log(h);
		HFAIL("daemon did not exit within %d ms of signal %d",
		      timeout_ms, sig);
	}
	h->h_pid = -1;
	h->h_exit_status = status;
	h->h_curl = harness_curl_new();
	harness_log_marker(h, "stopped");
	return (status);
}

static void
harness_describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, len, "status 0x%x", (unsigned)status);
}

/*
 * SIGTERM and a clean exit; see harness.h.
 */
void
harness_stop(struct harness *h)
{
	char desc[64];
	int status;

	status = harness_signal_and_wait(
	    h, SIGTERM, HARNESS_STOP_MS * harness_time_factor());
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		harness_describe_status(status, desc, sizeof(desc));
		harness_print_log(h);
		HFAIL("daemon did not exit 0 on SIGTERM: %s", desc);
	}
}

/*
 * Stops and starts again on the same directory; see harness.h.
 */
void
harness_restart(struct harness *h)
{
	harness_stop(h);
	harness_start(h, NULL);
}

static int
harness_rm_entry(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return (0);
}

/*
 * cmocka setup: the directory and a curl handle; the daemon starts in
 * harness_run() so that a failed start is a failed case and teardown
 * still cleans up.
 */
int
harness_setup(void **state)
{
	struct harness *h;

	pthread_once(&harness_curl_once, harness_curl_global);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return (-1);
	h->h_case = *state;
	h->h_pid = -1;
	snprintf(h->h_dir, sizeof(h->h_dir), "/tmp/vmmapid-api-XXXXXX");
	if (mkdtemp(h->h_dir) == NULL) {
		print_error("mkdtemp %s: %s\n", h->h_dir, strerror(errno));
		free(h);
		return (-1);
	}
	snprintf(h->h_sock, sizeof(h->h_sock), "%s/vmmapid.sock", h->h_dir);
	snprintf(h->h_db, sizeof(h->h_db), "%s/vmmapid.db", h->h_dir);
	snprintf(h->h_log, sizeof(h->h_log), "%s/daemon.log", h->h_dir);
	snprintf(h->h_token_path, sizeof(h->h_token_path), "%s/admin.token",
		 h->h_dir);
	h->h_curl = curl_easy_init();
	if (h->h_curl == NULL) {
		rmdir(h->h_dir);
		free(h);
		return (-1);
	}
	*state = h;
	return (0);
}

/*
 * cmocka teardown: stops the daemon (a non-zero exit fails the case),
 * prints the log when the case failed, removes the directory.  Set
 * VMMAPID_KEEP_TMP=1 to keep the directory.
 */
int
harness_teardown(void **state)
{
	struct harness *h = *state;
	struct harness_response *r, *next;
	char desc[64];
	int status = 0, rc = 0;
	pid_t pid = h->h_pid;

	harness_curl_free(h->h_curl);
	h->h_curl = NULL;
	/* Children first: an open request of theirs would delay the stop. */
	while (h->h_children != NULL)
		harness_child_free(h->h_children);
	if (pid > 0) {
		kill(pid, SIGTERM);
		if (harness_wait_pid(pid,
				     HARNESS_STOP_MS * harness_time_factor(),
				     &status) == -1) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			print_error("daemon did not exit within %d ms of "
				    "SIGTERM\n",
				    HARNESS_STOP_MS * harness_time_factor());
			rc = -1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			harness_describe_status(status, desc, sizeof(desc));
			print_error("daemon did not exit 0 on SIGTERM: %s\n",
				    desc);
			rc = -1;
		}
	}
	/* The daemon is gone: transfers still under way end at once. */
	while (h->h_streams != NULL) {
		struct harness_stream *s = h->h_streams;

		h->h_streams = s->s_next;
		harness_stream_free(s);
	}
	if (!h->h_passed || rc != 0)
		harness_print_log(h);
	for (r = h->h_responses; r != NULL; r = next) {
		next = r->hr_next;
		harness_response_clear(r);
		free(r);
	}
	while (h->h_blocks != NULL) {
		struct harness_block *b = h->h_blocks;

		h->h_blocks = b->b_next;
		free(b);
	}
	if (getenv("VMMAPID_KEEP_TMP") == NULL)
		nftw(h->h_dir, harness_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		print_error("kept %s\n", h->h_dir);
	free(h);
	return (rc);
}

/*
 * The test function of every HARNESS_CASE(): starts the daemon unless
 * the case says not to, runs the case, and notes that it got to the end.
 */
void
harness_run(void **state)
{
	struct harness *h = *state;

	if (!(h->h_case->hc_flags & HARNESS_NOSTART))
		harness_start(h, NULL);
	h->h_case->hc_fn(h);
	h->h_passed = 1;
}

/*
 * A fresh curl handle; see harness.h.
 */
void *
harness_curl_new(void)
{
	CURL *c;

	pthread_once(&harness_curl_once, harness_curl_global);
	c = curl_easy_init();
	if (c == NULL)
		HFAIL("curl_easy_init failed");
	return (c);
}

void
harness_curl_free(void *curl)
{
	if (curl != NULL)
		curl_easy_cleanup(curl);
}

static size_t
harness_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct harness_buf *b = arg;
	size_t len = size * n;

	if (b->b_len + len + 1 > b->b_cap) {
		size_t cap = (b->b_len + len + 1) * 2;
		char *nb = realloc(b->b_data, cap);

		if (nb == NULL)
			return (0);
		b->b_data = nb;
		b->b_cap = cap;
	}
	memcpy(b->b_data + b->b_len, p, len);
	b->b_len += len;
	b->b_data[b->b_len] = '\0';
	return (len);
}

static void
harness_clear_headers(struct harness_response *rs)
{
	int i;

	for (i = 0; i < rs->hr_nheaders; i++)
		free(rs->hr_headers[i]);
	rs->hr_nheaders = 0;
}

static size_t
harness_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct harness_response *rs = arg;
	size_t len = size * n;
	char *line;

	/* A status line starts a new response (after 100 Continue). */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		harness_clear_headers(rs);
		return (len);
	}
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n'))
		len--;
	if (len == 0 || memchr(p, ':', len) == NULL ||
	    rs->hr_nheaders >= HARNESS_MAX_HEADERS)
		return (size * n);
	line = strndup(p, len);
	if (line == NULL)
		return (0);
	rs->hr_headers[rs->hr_nheaders++] = line;
	return (size * n);
}

struct harness_upload {
	const char *u_data;
	size_t u_len;
	size_t u_off;
};

static size_t
harness_on_read(char *p, size_t size, size_t n, void *arg)
{
	struct harness_upload *u = arg;
	size_t len = size * n;

	/* Small pieces, so the daemon sees many chunks. */
	if (len > 4096)
		len = 4096;
	if (len > u->u_len - u->u_off)
		len = u->u_len - u->u_off;
	memcpy(p, u->u_data + u->u_off, len);
	u->u_off += len;
	return (len);
}

static int
harness_has_header(const char *const *headers, const char *name)
{
	size_t len = strlen(name);

	for (; headers != NULL && *headers != NULL; headers++)
		if (strncasecmp(*headers, name, len) == 0 &&
		    (*headers)[len] == ':')
			return (1);
	return (0);
}

/* The media type of a Content-Type value, lower-cased, without params. */
static void
harness_media_type(const char *v, char *out, size_t len)
{
	size_t i = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0' && *v != ';' && *v != ' ' && i + 1 < len; v++)
		out[i++] = (char)tolower((unsigned char)*v);
	out[i] = '\0';
}

static int
harness_is_json_type(const char *ct)
{
	char mt[128];
	size_t len;

	if (ct == NULL)
		return (0);
	harness_media_type(ct, mt, sizeof(mt));
	len = strlen(mt);
	return (strcmp(mt, "application/json") == 0 ||
		(len > 5 && strcmp(mt + len - 5, "+json") == 0));
}

/*
 * One request on the caller's curl handle; see harness.h.
 */
int
harness_fetch(const struct harness *h, void *curl,
	      const struct harness_request *rq, struct harness_response *rs)
{
	CURL *c = curl;
	struct curl_slist *hdrs = NULL, *nh;
	struct harness_buf body = {NULL, 0, 0};
	struct harness_upload up;
	char url[2600 + HARNESS_PATH_MAX], errbuf[CURL_ERROR_SIZE];
	char auth[300];
	const char *const *p;
	CURLcode cc;
	json_error_t jerr;
	const char *ct;
	int want_body;

	memset(rs, 0, sizeof(*rs));
	snprintf(rs->hr_method, sizeof(rs->hr_method), "%s", rq->rq_method);
	snprintf(rs->hr_path, sizeof(rs->hr_path), "%s", rq->rq_path);
	want_body = rq->rq_body != NULL || strcmp(rq->rq_method, "POST") == 0 ||
		    strcmp(rq->rq_method, "PUT") == 0 ||
		    strcmp(rq->rq_method, "PATCH") == 0;

	for (p = rq->rq_headers; p != NULL && *p != NULL; p++) {
		nh = curl_slist_append(hdrs, *p);
		if (nh == NULL)
			goto fail;
		hdrs = nh;
	}
	/* curl's defaults would hide what a test means to send. */
	if (want_body && !harness_has_header(rq->rq_headers, "Content-Type"))
		hdrs = curl_slist_append(hdrs, "Content-Type:");
	if (!rq->rq_expect_continue &&
	    !harness_has_header(rq->rq_headers, "Expect"))
		hdrs = curl_slist_append(hdrs, "Expect:");
	if (rq->rq_tcp && rq->rq_token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 rq->rq_token);
		hdrs = curl_slist_append(hdrs, auth);
	}
	if (hdrs == NULL)
		goto fail;

	curl_easy_reset(c);
	if (rq->rq_tcp) {
		snprintf(url, sizeof(url), "http://127.0.0.1:%d%s",
			 h->h_tcp_port, rq->rq_path);
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", rq->rq_path);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->h_sock);
	}
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 rq->rq_timeout_ms > 0 ? rq->rq_timeout_ms
					       : (long)HARNESS_TIMEOUT_MS *
						     harness_time_factor());
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, harness_on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, harness_on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);

	if (strcmp(rq->rq_method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(rq->rq_method, "GET") == 0 && rq->rq_body == NULL) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->rq_method);
		if (rq->rq_chunked) {
			up.u_data = rq->rq_body != NULL ? rq->rq_body : "";
			up.u_len = rq->rq_body != NULL ? rq->rq_body_len : 0;
			up.u_off = 0;
			curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(c, CURLOPT_READFUNCTION,
					 harness_on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &up);
		} else if (want_body) {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS,
					 rq->rq_body != NULL ? rq->rq_body
							     : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)(rq->rq_body != NULL
							  ? rq->rq_body_len
							  : 0));
		}
	}

	cc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	hdrs = NULL;
	if (cc != CURLE_OK) {
		fprintf(stderr, "harness: %s %s: %s (%s)\n", rq->rq_method,
			rq->rq_path, curl_easy_strerror(cc), errbuf);
		goto fail;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->hr_status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &rs->hr_num_connects);
	if (body.b_data == NULL) {
		body.b_data = strdup("");
		if (body.b_data == NULL)
			goto fail;
	}
	rs->hr_body = body.b_data;
	rs->hr_body_len = body.b_len;
	ct = harness_header(rs, "Content-Type");
	if (harness_is_json_type(ct) && rs->hr_body_len > 0)
		rs->hr_json =
		    json_loadb(rs->hr_body, rs->hr_body_len, 0, &jerr);
	return (0);
fail:
	curl_slist_free_all(hdrs);
	free(body.b_data);
	harness_clear_headers(rs);
	return (-1);
}

/*
 * Frees what a response holds; see harness.h.
 */
void
harness_response_clear(struct harness_response *rs)
{
	harness_clear_headers(rs);
	free(rs->hr_body);
	rs->hr_body = NULL;
	json_decref(rs->hr_json);
	rs->hr_json = NULL;
}

/*
 * A request on h's handle, owned by h; see harness.h.
 */
struct harness_response *
harness_send(struct harness *h, const struct harness_request *rq)
{
	struct harness_response *rs;

	if (h->h_curl == NULL)
		h->h_curl = harness_curl_new();
	rs = calloc(1, sizeof(*rs));
	if (rs == NULL)
		HFAIL("out of memory");
	if (harness_fetch(h, h->h_curl, rq, rs) == -1) {
		free(rs);
		/* A dead daemon explains most transport failures. */
		harness_print_log(h);
		HFAIL("%s %s: no HTTP response (see above)", rq->rq_method,
		      rq->rq_path);
	}
	rs->hr_next = h->h_responses;
	h->h_responses = rs;
	return (rs);
}

/*
 * A JSON request over the Unix socket; see harness.h.
 */
struct harness_response *
harness_req(struct harness *h, const char *method, const char *path,
	    const char *body, ...)
{
	const char *headers[34];
	struct harness_request rq;
	const char *line;
	va_list ap;
	int n = 0;

	va_start(ap, body);
	while ((line = va_arg(ap, const char *)) != NULL)
		if (n < 32)
			headers[n++] = line;
	va_end(ap);
	headers[n] = NULL;
	if (body != NULL && !harness_has_header(headers, "Content-Type"))
		headers[n++] = "Content-Type: application/json";
	headers[n] = NULL;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = method;
	rq.rq_path = path;
	rq.rq_headers = headers;
	rq.rq_body = body;
	rq.rq_body_len = body != NULL ? strlen(body) : 0;
	return (harness_send(h, &rq));
}

/*
 * GET over the Unix socket; see harness.h.
 */
struct harness_response *
harness_get(struct harness *h, const char *path)
{
	return (harness_req(h, "GET", path, NULL, NULL));
}

/*
 * Memory freed at teardown; see harness.h.
 */
void *
harness_alloc(struct harness *h, size_t len)
{
	struct harness_block *b = calloc(1, sizeof(*b) + len);

	if (b == NULL)
		HFAIL("out of memory (%zu bytes)", len);
	b->b_next = h->h_blocks;
	h->h_blocks = b;
	return (b->b_data);
}

/*
 * A header's value; see harness.h.
 */
const char *
harness_header(const struct harness_response *r, const char *name)
{
	size_t len = strlen(name);
	const char *v;
	int i;

	for (i = 0; i < r->hr_nheaders; i++) {
		if (strncasecmp(r->hr_headers[i], name, len) != 0 ||
		    r->hr_headers[i][len] != ':')
			continue;
		v = r->hr_headers[i] + len + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		return (v);
	}
	return (NULL);
}

/*
 * The value at a dotted path; see harness.h.
 */
json_t *
harness_json_at(const json_t *v, const char *dotted)
{
	char key[256];
	const char *dot;
	size_t len;
	char *end;
	unsigned long idx;

	while (v != NULL && *dotted != '\0') {
		dot = strchr(dotted, '.');
		len = dot != NULL ? (size_t)(dot - dotted) : strlen(dotted);
		if (len >= sizeof(key))
			return (NULL);
		memcpy(key, dotted, len);
		key[len] = '\0';
		if (json_is_object(v)) {
			v = json_object_get(v, key);
		} else if (json_is_array(v)) {
			idx = strtoul(key, &end, 10);
			v = *end == '\0' && len > 0 ? json_array_get(v, idx)
						    : NULL;
		} else {
			return (NULL);
		}
		dotted += len;
		if (*dotted == '.')
			dotted++;
	}
	return ((json_t *)v);
}

/*
 * The number in an ETag; see harness.h.
 */
uint64_t
harness_etag_number(const struct harness_response *r, const char *file,
		    int line)
{
	const char *v = harness_header(r, "ETag");
	size_t len;

	if (v == NULL)
		harness_failf(file, line, "%s %s: no ETag header", r->hr_method,
			      r->hr_path);
	len = strlen(v);
	if (len < 3 || len > 22 || v[0] != '"' || v[len - 1] != '"' ||
	    strspn(v + 1, "0123456789") != len - 2)
		harness_failf(file, line,
			      "%s %s: ETag %s is not a quoted number",
			      r->hr_method, r->hr_path, v);
	return (strtoull(v + 1, NULL, 10));
}

static int
harness_digits(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return (0);
	return (1);
}

/*
 * RFC 3339 date-time check; see harness.h.
 */
int
harness_is_rfc3339(const char *s)
{
	int mon, day, hour, min, sec;

	if (s == NULL || strlen(s) < 20)
		return (0);
	if (!harness_digits(s, 4) || s[4] != '-' || !harness_digits(s + 5, 2) ||
	    s[7] != '-' || !harness_digits(s + 8, 2) ||
	    (s[10] != 'T' && s[10] != 't') || !harness_digits(s + 11, 2) ||
	    s[13] != ':' || !harness_digits(s + 14, 2) || s[16] != ':' ||
	    !harness_digits(s + 17, 2))
		return (0);
	mon = atoi(s + 5);
	day = atoi(s + 8);
	hour = atoi(s + 11);
	min = atoi(s + 14);
	sec = atoi(s + 17);
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 60)
		return (0);
	s += 19;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return (0);
		while (isdigit((unsigned char)*s))
			s++;
	}
	if ((*s == 'Z' || *s == 'z') && s[1] == '\0')
		return (1);
	return ((*s == '+' || *s == '-') && harness_digits(s + 1, 2) &&
		s[3] == ':' && harness_digits(s + 4, 2) && s[6] == '\0');
}

static void harness_fail_response(const struct harness_response *r,
				  const char *file, int line, const char *what)
    __attribute__((noreturn));

static void
harness_fail_response(const struct harness_response *r, const char *file,
		      int line, const char *what)
{
	harness_failf(file, line, "%s %s -> %ld: %s\nbody: %.2000s",
		      r->hr_method, r->hr_path, r->hr_status, what,
		      r->hr_body != NULL ? r->hr_body : "");
}

/*
 * Status check; see harness.h.
 */
void
harness_assert_status(const struct harness_response *r, long status,
		      const char *file, int line)
{
	char what[64];

	if (r->hr_status == status)
		return;
	snprintf(what, sizeof(what), "expected status %ld", status);
	harness_fail_response(r, file, line, what);
}

static int
harness_nonempty_str(const json_t *v)
{
	return (json_is_string(v) && json_string_length(v) > 0);
}

/*
 * What keeps r from being a problem-details answer; a field ending in '*'
 * matches as a prefix.  See harness.h.
 */
const char *
harness_problem_mismatch(const struct harness_response *r, long status,
			 const char *field, char *buf, size_t len)
{
	char mt[128];
	const char *ct = harness_header(r, "Content-Type");
	const json_t *f;
	size_t flen;

	if (r->hr_status != status) {
		snprintf(buf, len, "status %ld, expected %ld", r->hr_status,
			 status);
		return (buf);
	}
	harness_media_type(ct != NULL ? ct : "", mt, sizeof(mt));
	if (strcmp(mt, "application/problem+json") != 0) {
		snprintf(buf, len,
			 "Content-Type %s, expected application/problem+json",
			 ct != NULL ? ct : "(none)");
		return (buf);
	}
	if (!json_is_object(r->hr_json))
		return ("body is not a JSON object");
	if (!harness_nonempty_str(json_object_get(r->hr_json, "type")) ||
	    !harness_nonempty_str(json_object_get(r->hr_json, "title")) ||
	    !harness_nonempty_str(json_object_get(r->hr_json, "detail")))
		return ("type, title or detail missing or empty");
	if (json_integer_value(json_object_get(r->hr_json, "status")) != status)
		return ("\"status\" member differs from HTTP");
	if (field == NULL)
		return (NULL);
	f = json_object_get(r->hr_json, "field");
	flen = strlen(field);
	if (!json_is_string(f) ||
	    (flen > 0 && field[flen - 1] == '*'
		 ? strncmp(json_string_value(f), field, flen - 1) != 0
		 : strcmp(json_string_value(f), field) != 0)) {
		snprintf(buf, len, "expected \"field\": \"%s\"", field);
		return (buf);
	}
	return (NULL);
}

/*
 * Problem-details check; see harness.h.
 */
void
harness_assert_problem(const struct harness_response *r, long status,
		       const char *field, const char *file, int line)
{
	char buf[256];
	const char *what;

	harness_assert_status(r, status, file, line);
	what = harness_problem_mismatch(r, status, field, buf, sizeof(buf));
	if (what != NULL)
		harness_fail_response(r, file, line, what);
}

/*
 * Header check; see harness.h.
 */
void
harness_assert_header(const struct harness_response *r, const char *name,
		      const char *value, const char *file, int line)
{
	const char *v = harness_header(r, name);
	char a[128], b[128], what[512];

	if (v == NULL) {
		snprintf(what, sizeof(what), "no %s header", name);
		harness_fail_response(r, file, line, what);
	}
	if (strcasecmp(name, "Content-Type") == 0) {
		harness_media_type(v, a, sizeof(a));
		harness_media_type(value, b, sizeof(b));
		if (strcmp(a, b) == 0)
			return;
	} else if (strcmp(v, value) == 0) {
		return;
	}
	snprintf(what, sizeof(what), "%s: %s, expected %s", name, v, value);
	harness_fail_response(r, file, line, what);
}

/*
 * JSON string member check; see harness.h.
 */
void
harness_assert_json_str(const struct harness_response *r, const char *dotted,
			const char *value, const char *file, int line)
{
	const json_t *v = harness_json_at(r->hr_json, dotted);
	char what[512];

	if (json_is_string(v) && strcmp(json_string_value(v), value) == 0)
		return;
	snprintf(what, sizeof(what), "expected %s = \"%s\"", dotted, value);
	harness_fail_response(r, file, line, what);
}

/*
 * JSON integer member check; see harness.h.
 */
void
harness_assert_json_int(const struct harness_response *r, const char *dotted,
			long long value, const char *file, int line)
{
	const json_t *v = harness_json_at(r->hr_json, dotted);
	char what[512];

	if (json_is_integer(v) && json_integer_value(v) == value)
		return;
	snprintf(what, sizeof(what), "expected %s = %lld (an integer)", dotted,
		 value);
	harness_fail_response(r, file, line, what);
}

/*
 * A file read whole; see harness.h.
 */
char *
harness_read_file(struct harness *h, const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	size_t got = 0, n;
	FILE *f;

	f = fopen(path, "rb");
	if (f == NULL)
		HFAIL("open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
		fclose(f);
		HFAIL("stat %s: %s", path, strerror(errno));
	}
	buf = harness_alloc(h, (size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	       (n = fread(buf + got, 1, (size_t)st.st_size - got, f)) > 0)
		got += n;
	fclose(f);
	if (got != (size_t)st.st_size)
		HFAIL("read %s: %zu of %lld bytes", path, got,
		      (long long)st.st_size);
	buf[got] = '\0';
	*len = got;
	return (buf);
}

/*
 * An image upload; see harness.h.
 */
struct harness_response *
harness_put_image(struct harness *h, const char *name, const void *data,
		  size_t len)
{
	const char *headers[] = {"Content-Type: application/octet-stream",
				 NULL};
	struct harness_request rq;
	char path[256];

	snprintf(path, sizeof(path), "/v1/images/%s", name);
	memset(&rq, 0, sizeof(rq));
	rq.rq_method = "PUT";
	rq.rq_path = path;
	rq.rq_headers = headers;
	rq.rq_body = data;
	rq.rq_body_len = len;
	rq.rq_timeout_ms = 20000;
	return (harness_send(h, &rq));
}

/*
 * Skips a case the daemon's driver cannot run; see harness.h.
 */
void
harness_need_driver(struct harness *h, const char *name, const char *why)
{
	struct harness_response *r = harness_get(h, "/v1");
	const char *have;

	harness_assert_status(r, 200, __FILE__, __LINE__);
	have = json_string_value(harness_json_at(r->hr_json, "driver.name"));
	if (have != NULL && strcmp(have, name) == 0)
		return;
	harness_skip(h, "on %s only (%s); the daemon uses %s", name, why,
		     have != NULL ? have : "(none)");
}

/* Moves a response filled by harness_fetch() into h's keeping. */
static struct harness_response *
harness_keep(struct harness *h, struct harness_response *local)
{
	struct harness_response *rs = malloc(sizeof(*rs));

	if (rs == NULL) {
		harness_response_clear(local);
		HFAIL("out of memory");
	}
	*rs = *local;
	rs->hr_next = h->h_responses;
	h->h_responses = rs;
	return (rs);
}

/*
 * Polls a VM's state; see harness.h.
 */
struct harness_response *
harness_wait_vm_state(struct harness *h, const char *vm, const char *state,
		      int timeout_ms)
{
	int64_t deadline = harness_now_ms() + timeout_ms;
	struct harness_response rs;
	struct harness_request rq;
	const char *have;
	char path[128], what[256];

	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	memset(&rq, 0, sizeof(rq));
	rq.rq_method = "GET";
	rq.rq_path = path;
	if (h->h_curl == NULL)
		h->h_curl = harness_curl_new();
	for (;;) {
		if (harness_fetch(h, h->h_curl, &rq, &rs) != 0) {
			harness_print_log(h);
			HFAIL("GET %s: no HTTP response (see above)", path);
		}
		have = json_string_value(
		    harness_json_at(rs.hr_json, "status.state"));
		if (rs.hr_status == 200 && have != NULL &&
		    strcmp(have, state) == 0)
			return (harness_keep(h, &rs));
		if (harness_now_ms() >= deadline)
			break;
		harness_response_clear(&rs);
		harness_sleep_ms(10);
	}
	snprintf(what, sizeof(what), "VM %s not %s within %d ms", vm, state,
		 timeout_ms);
	harness_fail_response(harness_keep(h, &rs), __FILE__, __LINE__, what);
}

static size_t
harness_stream_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct harness_stream *s = arg;
	size_t ret = 0;

	pthread_mutex_lock(&s->s_lock);
	if (!s->s_abort) {
		ret = harness_on_body(p, size, n, &s->s_body);
		/* Any count other than size * n makes curl abort. */
		if (s->s_max > 0 && s->s_body.b_len >= s->s_max)
			ret = 0;
		pthread_cond_broadcast(&s->s_cond);
	}
	pthread_mutex_unlock(&s->s_lock);
	return (ret);
}

static int
harness_stream_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
			   curl_off_t ultotal, curl_off_t ulnow)
{
	struct harness_stream *s = arg;
	int abort_now;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	pthread_mutex_lock(&s->s_lock);
	abort_now = s->s_abort;
	pthread_mutex_unlock(&s->s_lock);
	return (abort_now);
}

static void *
harness_stream_main(void *arg)
{
	struct harness_stream *s = arg;
	CURLcode cc = CURLE_FAILED_INIT;
	long status = 0;
	CURL *c;

	c = curl_easy_init();
	if (c != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, s->s_url);
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->s_h->h_sock);
		curl_easy_setopt(c, CURLOPT_PROXY, "");
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->s_timeout_ms);
		if (strcmp(s->s_resp->hr_method, "GET") == 0) {
			curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		} else {
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
					 s->s_resp->hr_method);
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)0);
		}
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, s->s_hdrs);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION,
				 harness_stream_on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, harness_on_header);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, s->s_resp);
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
				 harness_stream_on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(c);
	}
	pthread_mutex_lock(&s->s_lock);
	s->s_resp->hr_status = status;
	s->s_code = (int)cc;
	s->s_done = 1;
	pthread_cond_broadcast(&s->s_cond);
	pthread_mutex_unlock(&s->s_lock);
	return (NULL);
}

/* Aborts the transfer, waits for its thread and frees the stream. */
static void
harness_stream_free(struct harness_stream *s)
{
	harness_stream_abort(s);
	if (s->s_joinable)
		pthread_join(s->s_thread, NULL);
	curl_slist_free_all(s->s_hdrs);
	free(s->s_body.b_data);
	if (s->s_resp != NULL) {
		harness_response_clear(s->s_resp);
		free(s->s_resp);
	}
	pthread_cond_destroy(&s->s_cond);
	pthread_mutex_destroy(&s->s_lock);
	free(s);
}

/*
 * Starts a streamed GET; see harness.h.
 */
struct harness_stream *
harness_stream_open(struct harness *h, const char *method, const char *path,
		    const char *const *headers, size_t max_bytes,
		    long timeout_ms)
{
	struct harness_stream *s = calloc(1, sizeof(*s));
	const char *const *p;
	struct curl_slist *nh;
	int rc;

	pthread_once(&harness_curl_once, harness_curl_global);
	if (s == NULL || (s->s_resp = calloc(1, sizeof(*s->s_resp))) == NULL) {
		free(s);
		HFAIL("out of memory");
	}
	s->s_h = h;
	s->s_max = max_bytes;
	s->s_timeout_ms = timeout_ms;
	pthread_mutex_init(&s->s_lock, NULL);
	pthread_cond_init(&s->s_cond, NULL);
	snprintf(s->s_url, sizeof(s->s_url), "http://localhost%s", path);
	snprintf(s->s_resp->hr_method, sizeof(s->s_resp->hr_method), "%s",
		 method);
	snprintf(s->s_resp->hr_path, sizeof(s->s_resp->hr_path), "%s", path);
	/* Linked first, so that teardown frees it whatever fails next. */
	s->s_next = h->h_streams;
	h->h_streams = s;
	for (p = headers; p != NULL && *p != NULL; p++) {
		nh = curl_slist_append(s->s_hdrs, *p);
		if (nh == NULL)
			HFAIL("out of memory");
		s->s_hdrs = nh;
	}
	/* curl's form type would be a body type for an empty body. */
	if (strcmp(method, "GET") != 0 &&
	    !harness_has_header(headers, "Content-Type")) {
		nh = curl_slist_append(s->s_hdrs, "Content-Type:");
		if (nh == NULL)
			HFAIL("out of memory");
		s->s_hdrs = nh;
	}
	rc = pthread_create(&s->s_thread, NULL, harness_stream_main, s);
	if (rc != 0)
		HFAIL("pthread_create: %s", strerror(rc));
	s->s_joinable = 1;
	return (s);
}

/* An absolute CLOCK_REALTIME time ms from now, for pthread_cond_timedwait. */
static void
harness_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Waits for bytes on a stream; see harness.h.
 */
int
harness_stream_wait_for(struct harness_stream *s, const char *needle, int ms)
{
	struct timespec deadline;
	int found = 0, rc = 0;

	harness_deadline(&deadline, ms);
	pthread_mutex_lock(&s->s_lock);
	for (;;) {
		found = s->s_body.b_data != NULL &&
			memmem(s->s_body.b_data, s->s_body.b_len, needle,
			       strlen(needle)) != NULL;
		if (found || s->s_done || rc == ETIMEDOUT)
			break;
		rc = pthread_cond_timedwait(&s->s_cond, &s->s_lock, &deadline);
	}
	pthread_mutex_unlock(&s->s_lock);
	return (found);
}

/*
 * The bytes received; see harness.h.
 */
size_t
harness_stream_len(struct harness_stream *s)
{
	size_t len;

	pthread_mutex_lock(&s->s_lock);
	len = s->s_body.b_len;
	pthread_mutex_unlock(&s->s_lock);
	return (len);
}

/*
 * Asks the transfer to abort; see harness.h.
 */
void
harness_stream_abort(struct harness_stream *s)
{
	pthread_mutex_lock(&s->s_lock);
	s->s_abort = 1;
	pthread_mutex_unlock(&s->s_lock);
}

/*
 * Waits for a stream's end; see harness.h.
 */
struct harness_response *
harness_stream_end(struct harness_stream *s, int ms, int *curl_code)
{
	struct harness *h = s->s_h;
	struct harness_response *rs;
	struct timespec deadline;
	int done, rc = 0;

	if (s->s_resp == NULL)
		HFAIL("%s: harness_stream_end called twice", s->s_url);
	harness_deadline(&deadline, ms);
	pthread_mutex_lock(&s->s_lock);
	while (!s->s_done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->s_cond, &s->s_lock, &deadline);
	done = s->s_done;
	pthread_mutex_unlock(&s->s_lock);
	if (!done) {
		harness_stream_abort(s);
		HFAIL("%s %s: the stream did not end within %d ms (%zu body "
		      "bytes so far)",
		      s->s_resp->hr_method, s->s_resp->hr_path, ms,
		      harness_stream_len(s));
	}
	pthread_join(s->s_thread, NULL);
	s->s_joinable = 0;
	rs = s->s_resp;
	s->s_resp = NULL;
	rs->hr_body = s->s_body.b_data != NULL ? s->s_body.b_data : strdup("");
	rs->hr_body_len = s->s_body.b_len;
	s->s_body.b_data = NULL;
	s->s_body.b_len = 0;
	if (rs->hr_body == NULL) {
		harness_response_clear(rs);
		free(rs);
		HFAIL("out of memory");
	}
	if (harness_is_json_type(harness_header(rs, "Content-Type")) &&
	    rs->hr_body_len > 0)
		rs->hr_json = json_loadb(rs->hr_body, rs->hr_body_len, 0, NULL);
	if (curl_code != NULL)
		*curl_code = s->s_code;
	rs->hr_next = h->h_responses;
	h->h_responses = rs;
	return (rs);
}

/*
 * Requests as another identity, from forked children.
 *
 * The child reports over a pipe in records of a type byte, a 32-bit
 * length and that many bytes: 'H' a header line (the status line too),
 * 'B' body bytes, 'E' the end of the transfer (curl's result as an int),
 * 'X' a reason the request could not be made.  After 'E' it waits for
 * the parent to close its control pipe, so the transfer can end (the
 * connection close) while the process lives on.
 */
#define HARNESS_REC_HEAD 5

struct harness_child {
	struct harness *c_h;
	pid_t c_pid;              /* -1 once reaped */
	int c_fd;                 /* records from the child, or -1 */
	int c_ctl;                /* closed to let it exit, or -1 */
	struct harness_buf c_raw; /* records not parsed yet */
	struct harness_buf c_body;
	struct harness_response *c_resp; /* head so far */
	int c_done;                      /* 'E', 'X' or end of the pipe */
	int c_code;                      /* curl's result; -1 none */
	char c_error[256];               /* from 'X' */
	struct harness_child *c_next;
};

/* What the child's curl callbacks need. */
struct harness_child_io {
	int ci_fd;
	size_t ci_max;
	size_t ci_got;
};

static int
harness_write_all(int fd, const void *p, size_t len)
{
	const char *b = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return (-1);
		b += n;
		len -= (size_t)n;
	}
	return (0);
}

static int
harness_child_put(int fd, char type, const void *data, size_t len)
{
	unsigned char head[HARNESS_REC_HEAD];
	uint32_t n = (uint32_t)len;

	head[0] = (unsigned char)type;
	memcpy(head + 1, &n, sizeof(n));
	if (harness_write_all(fd, head, sizeof(head)) != 0)
		return (-1);
	return (len > 0 ? harness_write_all(fd, data, len) : 0);
}

static size_t
harness_child_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct harness_child_io *io = arg;

	if (harness_child_put(io->ci_fd, 'H', p, size * n) != 0)
		return (0);
	return (size * n);
}

static size_t
harness_child_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct harness_child_io *io = arg;
	size_t len = size * n;

	if (harness_child_put(io->ci_fd, 'B', p, len) != 0)
		return (0);
	io->ci_got += len;
	/* Any count other than len makes curl abort the transfer. */
	if (io->ci_max > 0 && io->ci_got >= io->ci_max)
		return (0);
	return (len);
}

/* The child: takes the identity, makes the request, reports. */
static void __attribute__((noreturn))
harness_child_main(const struct harness *h, const struct harness_identity *id,
		   const struct harness_request *rq, size_t max_bytes, int fd,
		   int ctl)
{
	struct harness_child_io io = {fd, max_bytes, 0};
	struct curl_slist *hdrs = NULL;
	const char *const *p;
	char url[2600], msg[256], c;
	int code, want_body;
	CURL *curl;

#ifdef __linux__
	prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
	/* Keep the parent's connections (and their hang-ups) out of here. */
	for (code = 3; code < 1024; code++)
		if (code != fd && code != ctl)
			close(code);
	if (setgroups((size_t)id->hi_ngroups, id->hi_groups) != 0 ||
	    setgid(id->hi_gid) != 0 || setuid(id->hi_uid) != 0 ||
	    getuid() != id->hi_uid || geteuid() != id->hi_uid ||
	    getgid() != id->hi_gid) {
		snprintf(msg, sizeof(msg), "taking uid %ld gid %ld: %s",
			 (long)id->hi_uid, (long)id->hi_gid, strerror(errno));
		harness_child_put(fd, 'X', msg, strlen(msg));
		_exit(1);
	}
	want_body = rq->rq_body != NULL || strcmp(rq->rq_method, "POST") == 0 ||
		    strcmp(rq->rq_method, "PUT") == 0 ||
		    strcmp(rq->rq_method, "PATCH") == 0;
	for (p = rq->rq_headers; p != NULL && *p != NULL; p++)
		hdrs = curl_slist_append(hdrs, *p);
	if (want_body && !harness_has_header(rq->rq_headers, "Content-Type"))
		hdrs = curl_slist_append(hdrs, "Content-Type:");
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl = curl_easy_init();
	if (curl == NULL || hdrs == NULL) {
		snprintf(msg, sizeof(msg), "curl set-up failed");
		harness_child_put(fd, 'X', msg, strlen(msg));
		_exit(1);
	}
	snprintf(url, sizeof(url), "http://localhost%s", rq->rq_path);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH,
			 id->hi_sock != NULL ? id->hi_sock : h->h_sock);
	curl_easy_setopt(curl, CURLOPT_PROXY, "");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
			 rq->rq_timeout_ms > 0 ? rq->rq_timeout_ms
					       : (long)HARNESS_TIMEOUT_MS *
						     harness_time_factor());
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, harness_child_on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &io);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, harness_child_on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &io);
	if (strcmp(rq->rq_method, "GET") == 0 && rq->rq_body == NULL) {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, rq->rq_method);
		if (want_body) {
			curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
					 rq->rq_body != NULL ? rq->rq_body
							     : "");
			curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
					 (curl_off_t)(rq->rq_body != NULL
							  ? rq->rq_body_len
							  : 0));
		}
	}
	code = (int)curl_easy_perform(curl);
	/* Closes the connection now, whatever curl would have kept. */
	curl_easy_cleanup(curl);
	curl_slist_free_all(hdrs);
	harness_child_put(fd, 'E', &code, sizeof(code));
	close(fd);
	while (read(ctl, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

/* Takes the complete records out of c_raw. */
static void
harness_child_parse(struct harness_child *c)
{
	struct harness_buf *raw = &c->c_raw;
	size_t off = 0, len;
	uint32_t n;
	char *line;
	int code;

	while (raw->b_len - off >= HARNESS_REC_HEAD) {
		memcpy(&n, raw->b_data + off + 1, sizeof(n));
		if (raw->b_len - off - HARNESS_REC_HEAD < n)
			break;
		line = raw->b_data + off + HARNESS_REC_HEAD;
		switch (raw->b_data[off]) {
		case 'H':
			/* A status line starts a new head (after a 1xx). */
			if (n > 9 && strncmp(line, "HTTP/", 5) == 0) {
				char status[4] = {0};
				const char *sp = memchr(line, ' ', n);

				if (sp != NULL && line + n - sp > 3)
					memcpy(status, sp + 1, 3);
				c->c_resp->hr_status = strtol(status, NULL, 10);
			}
			harness_on_header(line, 1, n, c->c_resp);
			break;
		case 'B':
			harness_on_body(line, 1, n, &c->c_body);
			break;
		case 'E':
			if (n == sizeof(code)) {
				memcpy(&code, line, sizeof(code));
				c->c_code = code;
			}
			c->c_done = 1;
			break;
		case 'X':
			len = n < sizeof(c->c_error) - 1
				  ? n
				  : sizeof(c->c_error) - 1;
			memcpy(c->c_error, line, len);
			c->c_error[len] = '\0';
			c->c_done = 1;
			break;
		}
		off += HARNESS_REC_HEAD + n;
	}
	memmove(raw->b_data, raw->b_data + off, raw->b_len - off);
	raw->b_len -= off;
}

/*
 * Reads what the child sent within ms and parses it; at the end of the
 * pipe the transfer is over whatever was said.
 */
static void
harness_child_pump(struct harness_child *c, int ms)
{
	struct pollfd pfd;
	char buf[65536];
	ssize_t n;

	if (c->c_fd < 0)
		return;
	pfd.fd = c->c_fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) <= 0)
		return;
	n = read(c->c_fd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0) {
		close(c->c_fd);
		c->c_fd = -1;
		c->c_done = 1;
		return;
	}
	if (harness_on_body(buf, 1, (size_t)n, &c->c_raw) != (size_t)n)
		HFAIL("out of memory");
	harness_child_parse(c);
}

static void
harness_child_unlink(struct harness_child *c)
{
	struct harness_child **pp;

	for (pp = &c->c_h->h_children; *pp != NULL; pp = &(*pp)->c_next)
		if (*pp == c) {
			*pp = c->c_next;
			break;
		}
}

/* Kills, reaps and frees c; teardown's and harness_child_end()'s. */
static void
harness_child_free(struct harness_child *c)
{
	harness_child_unlink(c);
	if (c->c_pid > 0) {
		kill(c->c_pid, SIGKILL);
		waitpid(c->c_pid, NULL, 0);
	}
	if (c->c_fd >= 0)
		close(c->c_fd);
	if (c->c_ctl >= 0)
		close(c->c_ctl);
	free(c->c_raw.b_data);
	free(c->c_body.b_data);
	if (c->c_resp != NULL) {
		harness_response_clear(c->c_resp);
		free(c->c_resp);
	}
	free(c);
}

/*
 * A counted skip; see harness.h.
 */
void
harness_skip(struct harness *h, const char *fmt, ...)
{
	va_list ap;

	h->h_passed = 1; /* a skip is no failure: no log dump */
	va_start(ap, fmt);
	tskip_record(h->h_case->hc_name, fmt, ap);
	va_end(ap);
	skip();
}

/*
 * Skips a case that needs root; see harness.h.
 */
void
harness_need_root(struct harness *h)
{
	if (geteuid() == 0)
		return;
	harness_skip(h,
		     "connects as other uids and groups (setuid, setgroups) "
		     "and needs root; running as uid %ld",
		     (long)geteuid());
}

/*
 * Starts a request as another identity; see harness.h.
 */
struct harness_child *
harness_as_open(struct harness *h, const struct harness_identity *id,
		const struct harness_request *rq, size_t max_bytes)
{
	struct harness_child *c;
	int out[2], ctl[2];

	if (rq->rq_tcp)
		HFAIL("harness_as: identities exist on Unix sockets only");
	pthread_once(&harness_curl_once, harness_curl_global);
	/* The child's uid must reach the socket inside the directory. */
	if (chmod(h->h_dir, 0755) != 0)
		HFAIL("chmod %s: %s", h->h_dir, strerror(errno));
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->c_resp = calloc(1, sizeof(*c->c_resp))) == NULL) {
		free(c);
		HFAIL("out of memory");
	}
	c->c_h = h;
	c->c_pid = -1;
	c->c_fd = c->c_ctl = -1;
	c->c_code = -1;
	snprintf(c->c_resp->hr_method, sizeof(c->c_resp->hr_method), "%s",
		 rq->rq_method);
	snprintf(c->c_resp->hr_path, sizeof(c->c_resp->hr_path), "%s",
		 rq->rq_path);
	/* Linked first, so that teardown frees it whatever fails next. */
	c->c_next = h->h_children;
	h->h_children = c;
	if (pipe2(out, O_CLOEXEC) != 0)
		HFAIL("pipe: %s", strerror(errno));
	if (pipe2(ctl, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		HFAIL("pipe: %s", strerror(errno));
	}
	fflush(stdout);
	fflush(stderr);
	c->c_pid = fork();
	if (c->c_pid == 0) {
		close(out[0]);
		close(ctl[1]);
		harness_child_main(h, id, rq, max_bytes, out[1], ctl[0]);
	}
	close(out[1]);
	close(ctl[0]);
	c->c_fd = out[0];
	c->c_ctl = ctl[1];
	if (c->c_pid < 0)
		HFAIL("fork: %s", strerror(errno));
	return (c);
}

/*
 * Waits for bytes from a child; see harness.h.
 */
int
harness_child_wait_for(struct harness_child *c, const char *needle, int ms)
{
	int64_t deadline = harness_now_ms() + ms, left;

	for (;;) {
		if (c->c_body.b_data != NULL &&
		    memmem(c->c_body.b_data, c->c_body.b_len, needle,
			   strlen(needle)) != NULL)
			return (1);
		left = deadline - harness_now_ms();
		if (c->c_done || left <= 0)
			return (0);
		harness_child_pump(c, (int)left);
	}
}

/*
 * Waits for a child's transfer to end; see harness.h.
 */
int
harness_child_wait_done(struct harness_child *c, int ms)
{
	int64_t deadline = harness_now_ms() + ms, left;

	while (!c->c_done) {
		left = deadline - harness_now_ms();
		if (left <= 0)
			return (0);
		harness_child_pump(c, (int)left);
	}
	return (1);
}

/*
 * The status so far; see harness.h.
 */
long
harness_child_status(struct harness_child *c)
{
	harness_child_pump(c, 0);
	return (c->c_resp->hr_status);
}

/*
 * Kills a child; see harness.h.
 */
void
harness_child_kill(struct harness_child *c)
{
	if (c->c_pid <= 0)
		return;
	kill(c->c_pid, SIGKILL);
	waitpid(c->c_pid, NULL, 0);
	c->c_pid = -1;
}

/*
 * Ends a child's request; see harness.h.
 */
struct harness_response *
harness_child_end(struct harness_child *c, int ms, int *curl_code)
{
	struct harness *h = c->c_h;
	struct harness_response *rs;

	if (!harness_child_wait_done(c, ms)) {
		char what[300];

		snprintf(what, sizeof(what), "%s %s", c->c_resp->hr_method,
			 c->c_resp->hr_path);
		harness_child_free(c);
		HFAIL("%s as another uid: the transfer did not end within %d "
		      "ms",
		      what, ms);
	}
	/* Drain what was sent before the end was seen. */
	while (c->c_fd >= 0)
		harness_child_pump(c, 100);
	if (c->c_error[0] != '\0') {
		char err[sizeof(c->c_error)];

		memcpy(err, c->c_error, sizeof(err));
		harness_child_free(c);
		HFAIL("the child could not make the request: %s", err);
	}
	if (c->c_ctl >= 0) {
		close(c->c_ctl);
		c->c_ctl = -1;
	}
	if (c->c_pid > 0) {
		waitpid(c->c_pid, NULL, 0);
		c->c_pid = -1;
	}
	rs = c->c_resp;
	c->c_resp = NULL;
	rs->hr_body = c->c_body.b_data != NULL ? c->c_body.b_data : strdup("");
	rs->hr_body_len = c->c_body.b_len;
	c->c_body.b_data = NULL;
	if (curl_code != NULL)
		*curl_code = c->c_code;
	harness_child_free(c);
	if (rs->hr_body == NULL) {
		harness_response_clear(rs);
		free(rs);
		HFAIL("out of memory");
	}
	if (harness_is_json_type(harness_header(rs, "Content-Type")) &&
	    rs->hr_body_len > 0)
		rs->hr_json = json_loadb(rs->hr_body, rs->hr_body_len, 0, NULL);
	rs->hr_next = h->h_responses;
	h->h_responses = rs;
	return (rs);
}

/*
 * A whole request as another identity; see harness.h.
 */
struct harness_response *
harness_as(struct harness *h, const struct harness_identity *id,
	   const struct harness_request *rq)
{
	struct harness_child *c = harness_as_open(h, id, rq, 0);
	struct harness_response *rs;
	long ms = rq->rq_timeout_ms > 0
		      ? rq->rq_timeout_ms
		      : (long)HARNESS_TIMEOUT_MS * harness_time_factor();
	int code = -1;

	/* The child's own timeout ends the transfer first. */
	rs = harness_child_end(c, (int)ms + 2000, &code);
	if (code != 0 || rs->hr_status == 0) {
		harness_print_log(h);
		HFAIL("%s %s as uid %ld: no HTTP response (curl result %d)",
		      rq->rq_method, rq->rq_path, (long)id->hi_uid, code);
	}
	return (rs);
}

/*
 * A JSON request as another identity; see harness.h.
 */
struct harness_response *
harness_req_as(struct harness *h, const struct harness_identity *id,
	       const char *method, const char *path, const char *body)
{
	static const char *const json[] = {"Content-Type: application/json",
					   NULL};
	struct harness_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = method;
	rq.rq_path = path;
	rq.rq_headers = body != NULL ? json : NULL;
	rq.rq_body = body;
	rq.rq_body_len = body != NULL ? strlen(body) : 0;
	return (harness_as(h, id, &rq));
}

int
harness_time_factor(void)
{
	const char *in = getenv("VMMAPID_IN_KVMHOST");

	return (in != NULL && strcmp(in, "1") == 0 ? 10 : 1) *
	       (harness_under_valgrind() ? 10 : 1);
}

int
harness_backend_has(struct harness *h, const char *feature)
{
	struct harness_response *r = harness_get(h, "/v1");
	json_t *features, *f;
	size_t i;

	harness_assert_status(r, 200, __FILE__, __LINE__);
	features = harness_json_at(r->hr_json, "driver.features");
	assert_true(json_is_array(features));
	json_array_foreach (features, i, f)
		if (json_is_string(f) &&
		    strcmp(json_string_value(f), feature) == 0)
			return 1;
	return 0;
}
