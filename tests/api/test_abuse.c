/*
 * Abuse that must not starve others (#14, findings 7 and 8;
 * docs/security.md "Limits"): a member that opens connections and
 * streams past its limits, idle anonymous TCP connections, headers sent
 * too slowly, and large answers left unread.  Each case checks that the
 * excess is refused, that the daemon counts and logs it, and that root
 * (and a health check) is still served; never how fast.
 *
 * Members are forked children that take uid 4242 or 4244 (group 4200,
 * the daemon's --vmm-group) before connecting, as in test_access.c, and
 * so need root; without it those cases skip.  TCP callers are told apart
 * by their address: the daemon counts per client address, and a socket
 * bound to 127.0.0.2 (or .3, ...) before connecting to the listener on
 * 127.0.0.1 is another address for it, all of 127/8 being loopback on
 * Linux.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define VMM_GID 4200
#define MEMBER_UID 4242
#define MEMBER2_UID 4244
/* How long a case waits for an answer it expects at once. */
#define ANSWER_MS (5000 * harness_time_factor())

/* Bytes held with no reader left: at most the answers under way. */
#define LIMITS_SMALL (1024 * 1024)

#define HEALTH_RQ "GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
#define EVENTS_RQ "GET /v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n"

static const gid_t vmm_groups[] = {VMM_GID};

/* Lets this process have a few hundred sockets open. */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 2048 &&
	    rl.rlim_max > rl.rlim_cur) {
		rl.rlim_cur = rl.rlim_max < 2048 ? rl.rlim_max : 2048;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection to the Unix socket at path; -1 on failure. */
static int
unix_connect(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * A TCP connection from address from (e.g. "127.0.0.2") to 127.0.0.1:port;
 * rcvbuf > 0 makes its receive buffer that small, so that what it does
 * not read stays on the daemon's side.  Fails the case on error.
 */
static int
tcp_connect_from(const char *from, int port, int rcvbuf)
{
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct sockaddr_in dst = {.sin_family = AF_INET};
	int fd;

	inet_pton(AF_INET, from, &src.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((unsigned short)port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fail_msg("socket: %s", strerror(errno));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1)
		fail_msg("bind %s: %s", from, strerror(errno));
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1)
		fail_msg("connect from %s: %s", from, strerror(errno));
	return fd;
}

/*
 * Reads fd until an HTTP status line came, it closed, or ms passed: the
 * status, 0 when nothing came, -1 when it closed without one.  detail
 * (may be NULL) gets the start of what came.
 */
static int
read_status(int fd, int ms, char *detail, size_t len)
{
	char buf[2048];
	size_t got = 0;
	long long end = now_ms() + ms;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;
	int status = 0;

	while (got + 1 < sizeof(buf) && now_ms() < end) {
		if (poll(&pfd, 1, (int)(end - now_ms())) != 1)
			break;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, MSG_DONTWAIT);
		if (n <= 0) {
			if (got == 0)
				status = -1;
			break;
		}
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL &&
		    (strstr(buf, " 503 ") == NULL || strstr(buf, "}") != NULL))
			break;
	}
	buf[got] = '\0';
	if (got > 0 && sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		status = -1;
	if (detail != NULL)
		snprintf(detail, len, "%s", buf);
	return status;
}

/* 1 when the daemon closed fd within ms (what it sent first is read). */
static int
closed_within(int fd, int ms)
{
	char buf[4096];
	long long end = now_ms() + ms;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	for (;;) {
		long long left = end - now_ms();

		if (poll(&pfd, 1, left > 0 ? (int)left : 0) != 1)
			return 0;
		if (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0)
			return 1;
	}
	return 0;
}

/* What a holder child saw. */
struct holder {
	pid_t ho_pid;
	int ho_ok;            /* answers 200 */
	int ho_refused;       /* answers 503 */
	int ho_other;         /* anything else, or nothing */
	char ho_sample[1024]; /* the first 503 */
};

/*
 * Forks a child that takes uid (group VMM_GID), opens n connections to
 * the daemon's Unix socket, sends rq on each and reads each one's status
 * line; it reports what came and then holds its connections open until
 * holder_end.  Fills *ho.
 */
static void
holder_start(struct harness *h, uid_t uid, int n, const char *rq,
	     struct holder *ho)
{
	int pfd[2], i, *fds;
	struct holder rep;
	ssize_t got;

	memset(ho, 0, sizeof(*ho));
	if (pipe(pfd) != 0)
		fail_msg("pipe: %s", strerror(errno));
	fflush(NULL);
	if ((ho->ho_pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (ho->ho_pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* Gone with the test, whatever happens to the case; and
		 * not holding ctest's output open. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(pfd[0]);
		memset(&rep, 0, sizeof(rep));
		fds = calloc((size_t)n, sizeof(*fds));
		if (fds == NULL || setgroups(1, vmm_groups) != 0 ||
		    setgid(VMM_GID) != 0 || setuid(uid) != 0)
			_exit(3);
		for (i = 0; i < n; i++)
			fds[i] = unix_connect(h->h_sock);
		for (i = 0; i < n; i++)
			if (fds[i] >= 0)
				(void)send(fds[i], rq, strlen(rq),
					   MSG_NOSIGNAL);
		for (i = 0; i < n; i++) {
			char detail[1024];
			int st = fds[i] < 0
				     ? 0
				     : read_status(fds[i], ANSWER_MS, detail,
						   sizeof(detail));

			if (st == 200) {
				rep.ho_ok++;
			} else if (st == 503) {
				if (rep.ho_refused++ == 0)
					snprintf(rep.ho_sample,
						 sizeof(rep.ho_sample), "%s",
						 detail);
			} else {
				rep.ho_other++;
			}
		}
		if (write(pfd[1], &rep, sizeof(rep)) != sizeof(rep))
			_exit(4);
		for (;;)
			pause();
	}
	close(pfd[1]);
	got = read(pfd[0], &rep, sizeof(rep));
	close(pfd[0]);
	if (got != sizeof(rep)) {
		kill(ho->ho_pid, SIGKILL);
		waitpid(ho->ho_pid, NULL, 0);
		fail_msg("the child as uid %ld reported nothing (it could not "
			 "take the identity?)",
			 (long)uid);
	}
	rep.ho_pid = ho->ho_pid;
	*ho = rep;
}

static void
holder_end(struct holder *ho)
{
	if (ho->ho_pid > 0) {
		kill(ho->ho_pid, SIGKILL);
		waitpid(ho->ho_pid, NULL, 0);
		ho->ho_pid = 0;
	}
}

/* The value of metric line prefix (e.g. a name with its labels) in
 * GET /metrics, asked as root; -1 when it is not there. */
static long long
metric(struct harness *h, const char *prefix)
{
	struct harness_response *r = harness_get(h, "/metrics");
	const char *p;
	size_t len = strlen(prefix);

	assert_status(r, 200);
	for (p = r->hr_body; p != NULL && *p != '\0';
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, len) == 0 && p[len] == ' ')
			return atoll(p + len + 1);
	return -1;
}

#define REFUSED(reason) "vmmapid_http_refused_total{reason=\"" reason "\"}"

/* GET /v1/health on a connection of its own, as root: it is 200. */
static void
assert_root_served(struct harness *h)
{
	struct harness_request rq = {.rq_method = "GET",
				     .rq_path = "/v1/health"};
	struct harness_response rs = {0};
	void *curl = harness_curl_new();

	if (harness_fetch(h, curl, &rq, &rs) != 0 || rs.hr_status != 200)
		fail_msg("root's GET /v1/health on a new connection: %ld %s",
			 rs.hr_status, rs.hr_body != NULL ? rs.hr_body : "");
	harness_response_clear(&rs);
	harness_curl_free(curl);
}

/* The daemon's log contains needle. */
static void
assert_logged(struct harness *h, const char *needle)
{
	char *log = harness_read_log(h);
	int found = log != NULL && strstr(log, needle) != NULL;

	free(log);
	if (!found)
		fail_msg("the log does not say \"%s\"", needle);
}

static void
test_abuse__a_member_past_its_connections_is_refused_root_still_served(
    struct harness *h)
{
	struct holder m1, m2;

	harness_need_root(h);
	raise_nofile();
	chmod(h->h_dir, 0755);
	/* 25 from a member whose limit is 20: 5 refused, saying why. */
	holder_start(h, MEMBER_UID, 25, HEALTH_RQ, &m1);
	if (m1.ho_ok != 20 || m1.ho_refused != 5)
		fail_msg("member: %d answered, %d refused, %d other; want 20 "
			 "and 5; a refusal: %s",
			 m1.ho_ok, m1.ho_refused, m1.ho_other, m1.ho_sample);
	if (strstr(m1.ho_sample, "--connections-per-caller") == NULL ||
	    strstr(m1.ho_sample, "application/problem+json") == NULL)
		fail_msg("the refusal does not name its limit: %s",
			 m1.ho_sample);
	assert_root_served(h);
	assert_true(metric(h, REFUSED("caller_connections")) >= 5);
	assert_logged(h, "--connections-per-caller");

	/* Another member fills the listener (30): the rest is refused,
	 * and root still gets in through the reserve. */
	holder_start(h, MEMBER2_UID, 20, HEALTH_RQ, &m2);
	if (m2.ho_ok + m2.ho_refused != 20 || m2.ho_refused < 10 ||
	    strstr(m2.ho_sample, "taken") == NULL)
		fail_msg("second member: %d answered, %d refused, %d other; "
			 "want at least 10 refused as the listener is full; "
			 "a refusal: %s",
			 m2.ho_ok, m2.ho_refused, m2.ho_other, m2.ho_sample);
	assert_true(metric(h, REFUSED("listener")) >= 10);
	assert_root_served(h);
	assert_root_served(h);
	holder_end(&m1);
	holder_end(&m2);
}

static void
test_abuse__a_member_past_its_streams_is_refused_root_still_served(
    struct harness *h)
{
	struct holder m;
	struct harness_stream *s = NULL;
	int i;

	harness_need_root(h);
	chmod(h->h_dir, 0755);
	holder_start(h, MEMBER_UID, 5, EVENTS_RQ, &m);
	if (m.ho_ok != 3 || m.ho_refused != 2 ||
	    strstr(m.ho_sample, "--streams-per-caller") == NULL)
		fail_msg("member's event streams: %d open, %d refused, %d "
			 "other; want 3 and 2 naming --streams-per-caller; a "
			 "refusal: %s",
			 m.ho_ok, m.ho_refused, m.ho_other, m.ho_sample);
	assert_true(metric(h, REFUSED("caller_streams")) >= 2);
	assert_root_served(h);
	/* Root's own streams are not counted against anyone. */
	for (i = 0; i < 4; i++)
		s = harness_stream_open(h, "GET", "/v1/events", NULL, 0, 20000);
	sleep_ms(300);
	harness_stream_abort(s);
	assert_int_equal(harness_stream_end(s, ANSWER_MS, NULL)->hr_status,
			 200);
	assert_logged(h, "--streams-per-caller");
	holder_end(&m);
	/* The member's streams are given back when they go. */
	{
		long long end = now_ms() + ANSWER_MS;

		while (metric(h, "vmmapid_http_streams") > 3 && now_ms() < end)
			sleep_ms(50);
	}
	holder_start(h, MEMBER_UID, 3, EVENTS_RQ, &m);
	assert_int_equal(m.ho_ok, 3);
	holder_end(&m);
}

static void
test_abuse__slow_headers_are_closed_after_the_deadline(struct harness *h)
{
	int idle = unix_connect(h->h_sock), slow = unix_connect(h->h_sock);
	int closed = 0, i;
	char buf[256];

	assert_true(idle >= 0 && slow >= 0);
	/* One header line every 200 ms: never idle, never done. */
	(void)send(slow, "GET /v1/health HTTP/1.1\r\nHost: x\r\n", 34,
		   MSG_NOSIGNAL);
	for (i = 0; i < 25 && !closed; i++) {
		snprintf(buf, sizeof(buf), "X-Slow-%d: y\r\n", i);
		if (send(slow, buf, strlen(buf), MSG_NOSIGNAL) < 0)
			closed = 1;
		else
			closed = closed_within(slow, 200);
	}
	if (!closed)
		fail_msg("a connection trickling its headers for 5 s was not "
			 "closed (--header-timeout 1)");
	if (!closed_within(idle, ANSWER_MS))
		fail_msg("an idle connection that sent nothing was not closed "
			 "(--header-timeout 1)");
	close(idle);
	close(slow);
	assert_true(metric(h, REFUSED("header_timeout")) >= 2);
	assert_logged(h, "--header-timeout");
	/* A request sent whole is answered as ever. */
	assert_status(harness_get(h, "/v1/health"), 200);
}

/* Opens n idle TCP connections from address from; their fds go to fds. */
static void
open_idle(struct harness *h, const char *from, int n, int *fds)
{
	int i;

	for (i = 0; i < n; i++)
		fds[i] = tcp_connect_from(from, h->h_tcp_port, 0);
}

/*
 * How many of fds the daemon closed (a 503, then the end): waits up to ms
 * until want of them are, then a little longer to see that no more are.
 */
static int
count_closed(const int *fds, int n, int want, int ms)
{
	struct pollfd pfd[128];
	char buf[4096];
	long long end = now_ms() + ms, grace = 0;
	int i, c = 0;
	ssize_t got;

	assert_true(n <= 128);
	for (i = 0; i < n; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (now_ms() < end && (grace == 0 || now_ms() < grace)) {
		if (poll(pfd, (nfds_t)n, 50) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			got = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (got <= 0) {
				pfd[i].fd = -1; /* closed: poll skips it */
				c++;
			}
		}
		if (c >= want && grace == 0)
			grace = now_ms() + 300;
	}
	return c;
}

static void
test_abuse__idle_tcp_connections_leave_other_addresses_served(struct harness *h)
{
	static int a[60], b[20], c[20], d[20];
	long long listener;
	struct harness_request rq = {0};
	struct harness_response rs = {0};
	void *curl;
	int i, shut;

	raise_nofile();
	/* 60 from one address, whose limit is 20: 40 closed. */
	open_idle(h, "127.0.0.2", 60, a);
	shut = count_closed(a, 60, 40, ANSWER_MS);
	if (shut != 40)
		fail_msg("%d of 60 idle connections from 127.0.0.2 closed; "
			 "want 40 (--connections-per-caller 20)",
			 shut);
	rq.rq_method = "GET";
	rq.rq_path = "/v1";
	rq.rq_tcp = 1;
	rq.rq_token = h->h_token;
	assert_status(harness_send(h, &rq), 200);
	assert_true(metric(h, REFUSED("caller_connections")) >= 40);

	/* Three addresses fill the listener (50 and the one above). */
	open_idle(h, "127.0.0.3", 20, b);
	open_idle(h, "127.0.0.4", 20, c);
	open_idle(h, "127.0.0.5", 20, d);
	(void)count_closed(d, 20, 10, ANSWER_MS);
	assert_true(metric(h, REFUSED("listener")) >= 1);
	/* A new connection gets a reserve slot: a health check only. */
	listener = metric(h, REFUSED("listener"));
	curl = harness_curl_new();
	rq.rq_path = "/v1/health";
	rq.rq_token = NULL;
	if (harness_fetch(h, curl, &rq, &rs) != 0 || rs.hr_status != 200)
		fail_msg("GET /v1/health over TCP with the listener full: "
			 "%ld",
			 rs.hr_status);
	harness_response_clear(&rs);
	rq.rq_path = "/v1/vms";
	rq.rq_token = h->h_token;
	/* 503 either way: on the reserve connection (closed after the
	 * health check, so curl makes a new one), or at its accept while
	 * the daemon has not yet seen the first one go. */
	if (harness_fetch(h, curl, &rq, &rs) != 0 || rs.hr_status != 503 ||
	    strstr(rs.hr_body, "health") == NULL)
		fail_msg("GET /v1/vms on a reserve connection: %ld %s; want "
			 "503 naming the health check",
			 rs.hr_status, rs.hr_body != NULL ? rs.hr_body : "");
	harness_response_clear(&rs);
	harness_curl_free(curl);
	/* Counted as what refused it: the reserve connection, or the
	 * accept (a slow daemon, under valgrind, takes this path). */
	if (metric(h, REFUSED("reserve")) < 1 &&
	    metric(h, REFUSED("listener")) <= listener)
		fail_msg("the 503 on the reserve connection was not counted");
	assert_root_served(h);
	for (i = 0; i < 60; i++)
		close(a[i]);
	for (i = 0; i < 20; i++) {
		close(b[i]);
		close(c[i]);
		close(d[i]);
	}
}

/* VMs whose listing is about 7 MB: 400 with 64 labels of 255 bytes. */
static void
define_big_vms(struct harness *h)
{
	char *body = harness_alloc(h, 32 * 1024), *p;
	char value[256];
	int v, l;

	memset(value, 'v', 255);
	value[255] = '\0';
	harness_put_guest(h, "hello");
	for (v = 0; v < 400; v++) {
		p = body;
		p += sprintf(p,
			     "{\"name\":\"big%03d\",\"memory_mib\":%d,\"boot\":"
			     "{\"kind\":\"flat\",\"image\":\"hello.bin\"},"
			     "\"labels\":{",
			     v, HARNESS_VM_MEMORY_MIB);
		for (l = 0; l < 64; l++)
			p += sprintf(p, "%s\"label-%02d\":\"%s\"", l ? "," : "",
				     l, value);
		sprintf(p, "}}");
		assert_status(harness_req(h, "POST", "/v1/vms", body, NULL),
			      201);
	}
}

#define LIST_RQ_FMT                                                            \
	"GET /v1/vms?limit=1000 HTTP/1.1\r\nHost: localhost\r\n"               \
	"Authorization: Bearer %s\r\n\r\n"

static void
test_abuse__unread_large_answers_stay_within_the_budget(struct harness *h)
{
	static const char *const from[] = {
	    "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5",
	    "127.0.0.6", "127.0.0.7", "127.0.0.8", "127.0.0.9"};
	int fds[9], st[9], i, ok = 0, refused = 0;
	long long held, end;
	char rq[512], detail[9][1024];
	struct harness_response *r;

	define_big_vms(h);
	r = harness_get(h, "/v1/vms?limit=1000");
	assert_status(r, 200);
	print_message("a listing is %zu bytes\n", r->hr_body_len);
	assert_true(r->hr_body_len > 6000000 && r->hr_body_len < 8000000);
	snprintf(rq, sizeof(rq), LIST_RQ_FMT, h->h_token);
	/* One unread listing from each of eight addresses, then a second
	 * from the first: the budget (48 MiB) holds six, each caller's
	 * share (12 MiB) one.  Each client's receive buffer is small, and
	 * whatever the kernel takes of an answer, the daemon holds the
	 * whole of it until it is sent. */
	for (i = 0; i < 9; i++) {
		fds[i] = tcp_connect_from(from[i % 8], h->h_tcp_port, 4096);
		if (send(fds[i], rq, strlen(rq), MSG_NOSIGNAL) < 0)
			fail_msg("send: %s", strerror(errno));
		st[i] = read_status(fds[i], ANSWER_MS, detail[i],
				    sizeof(detail[i]));
		ok += st[i] == 200;
		refused += st[i] == 503;
	}
	held = metric(h, "vmmapid_http_response_bytes_held");
	print_message("%d answered, %d refused, %lld bytes held\n", ok, refused,
		      held);
	if (ok + refused != 9 || refused < 2)
		fail_msg("%d answered and %d refused of 9 unread listings; "
			 "want at least 2 refused",
			 ok, refused);
	for (i = 0; i < 9; i++)
		if (st[i] == 503 &&
		    strstr(detail[i], "--response-budget-mib") == NULL)
			fail_msg("a refusal does not name its limit: %s",
				 detail[i]);
	assert_true(held > 0 && held <= 48LL * 1024 * 1024);
	assert_true(metric(h, REFUSED("response_budget")) >= 1);
	assert_true(metric(h, REFUSED("caller_bytes")) >= 1);
	assert_logged(h, "--response-budget-mib");
	/* Root on the Unix socket is still served, large answers too. */
	assert_status(harness_get(h, "/v1/vms?limit=1000"), 200);
	assert_root_served(h);
	/* Gone clients give their bytes back. */
	for (i = 0; i < 9; i++)
		close(fds[i]);
	end = now_ms() + ANSWER_MS;
	while ((held = metric(h, "vmmapid_http_response_bytes_held")) >
		   LIMITS_SMALL &&
	       now_ms() < end)
		sleep_ms(50);
	if (held > LIMITS_SMALL)
		fail_msg("%lld bytes still held after every reader left", held);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE_ARGS(
		test_abuse__a_member_past_its_connections_is_refused_root_still_served,
		0, "--vmm-group", "4200", "--connections-per-caller", "20",
		"--connection-limit", "30", "--connection-reserve", "4",
		"--header-timeout", "120"),
	    HARNESS_CASE_ARGS(
		test_abuse__a_member_past_its_streams_is_refused_root_still_served,
		0, "--vmm-group", "4200", "--streams-per-caller", "3"),
	    HARNESS_CASE_ARGS(
		test_abuse__slow_headers_are_closed_after_the_deadline, 0,
		"--header-timeout", "1"),
	    HARNESS_CASE_ARGS(
		test_abuse__idle_tcp_connections_leave_other_addresses_served,
		HARNESS_TCP, "--connections-per-caller", "20",
		"--connection-limit", "50", "--connection-reserve", "4",
		"--header-timeout", "120"),
	    HARNESS_CASE_ARGS(
		test_abuse__unread_large_answers_stay_within_the_budget,
		HARNESS_TCP, "--response-budget-mib", "48", "--header-timeout",
		"120"),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
