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
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <curl/curl.h>

#include "harness.h"

#ifndef VMMAPID_BIN
#error "VMMAPID_BIN must name the daemon binary"
#endif

#define HARNESS_READY_MS 10000
#define HARNESS_STOP_MS 10000
#define HARNESS_MAX_ARGS 64

/* A harness_alloc() block, freed at teardown. */
struct harness_block {
	struct harness_block *b_next;
	max_align_t b_data[];
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
pid_t
harness_spawn(const char *const *args, const char *log_path)
{
	const char *argv[HARNESS_MAX_ARGS + 2];
	int n = 0, fd;
	pid_t pid;

	argv[n++] = VMMAPID_BIN;
	for (; args != NULL && args[n - 1] != NULL; n++) {
		if (n > HARNESS_MAX_ARGS)
			HFAIL("harness_spawn: more than %d arguments",
			      HARNESS_MAX_ARGS);
		argv[n] = args[n - 1];
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
	execv(argv[0], (char *const *)argv);
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

	print_error("---- daemon log %s ----\n%s---- end of daemon log ----\n",
		    h->h_log, log != NULL ? log : "(unreadable)\n");
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
	for (p = h->h_case->hc_args; p != NULL && *p != NULL; p++)
		if (n < HARNESS_MAX_ARGS)
			args[n++] = *p;
	for (p = extra; p != NULL && *p != NULL; p++)
		if (n < HARNESS_MAX_ARGS)
			args[n++] = *p;
	args[n] = NULL;

	harness_log_marker(h, "start");
	h->h_pid = harness_spawn(args, h->h_log);

	deadline = harness_now_ms() + HARNESS_READY_MS;
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
		      HARNESS_READY_MS);
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

	status = harness_signal_and_wait(h, SIGTERM, HARNESS_STOP_MS);
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
	if (pid > 0) {
		kill(pid, SIGTERM);
		if (harness_wait_pid(pid, HARNESS_STOP_MS, &status) == -1) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			print_error("daemon did not exit within %d ms of "
				    "SIGTERM\n",
				    HARNESS_STOP_MS);
			rc = -1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			harness_describe_status(status, desc, sizeof(desc));
			print_error("daemon did not exit 0 on SIGTERM: %s\n",
				    desc);
			rc = -1;
		}
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

struct harness_buf {
	char *b_data;
	size_t b_len;
	size_t b_cap;
};

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
					       : (long)HARNESS_TIMEOUT_MS);
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
 * Problem-details check; a field ending in '*' matches as a prefix.  See
 * harness.h.
 */
void
harness_assert_problem(const struct harness_response *r, long status,
		       const char *field, const char *file, int line)
{
	char mt[128], what[256];
	const char *ct = harness_header(r, "Content-Type");
	const json_t *f;
	size_t flen;

	harness_assert_status(r, status, file, line);
	harness_media_type(ct != NULL ? ct : "", mt, sizeof(mt));
	if (strcmp(mt, "application/problem+json") != 0) {
		snprintf(what, sizeof(what),
			 "Content-Type %s, expected application/problem+json",
			 ct != NULL ? ct : "(none)");
		harness_fail_response(r, file, line, what);
	}
	if (!json_is_object(r->hr_json))
		harness_fail_response(r, file, line,
				      "body is not a JSON object");
	if (!harness_nonempty_str(json_object_get(r->hr_json, "type")) ||
	    !harness_nonempty_str(json_object_get(r->hr_json, "title")) ||
	    !harness_nonempty_str(json_object_get(r->hr_json, "detail")))
		harness_fail_response(r, file, line,
				      "type, title or detail missing or empty");
	if (json_integer_value(json_object_get(r->hr_json, "status")) != status)
		harness_fail_response(r, file, line,
				      "\"status\" member differs from HTTP");
	if (field == NULL)
		return;
	f = json_object_get(r->hr_json, "field");
	flen = strlen(field);
	if (!json_is_string(f) ||
	    (flen > 0 && field[flen - 1] == '*'
		 ? strncmp(json_string_value(f), field, flen - 1) != 0
		 : strcmp(json_string_value(f), field) != 0)) {
		snprintf(what, sizeof(what), "expected \"field\": \"%s\"",
			 field);
		harness_fail_response(r, file, line, what);
	}
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
