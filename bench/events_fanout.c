/*
 * events_fanout: what GET /v1/events costs, against one running daemon.
 *
 *   events_fanout -s SOCK -p DAEMON_PID [-n SUBSCRIBERS] [-c CREATES]
 *                 [-w WRITERS] [-0]
 *
 * 1. CREATES creates (POST /v1/vms, WRITERS keep-alive connections) with
 *    no subscriber: creates per second.
 * 2. SUBSCRIBERS connections to GET /v1/events, each read up to its
 *    opening comment; the daemon's VmRSS before and after, over
 *    SUBSCRIBERS: memory per idle subscriber.  HTTP/1.1 (the body
 *    chunked), as curl and browsers' EventSource ask; -0: HTTP/1.0 (the
 *    body as is, until the connection closes).
 * 3. CREATES more creates with every subscriber reading (one epoll
 *    thread): creates per second, and per create the time from its 201
 *    to the moment the last subscriber had its vm.defined event (p50,
 *    p99, max).
 *
 * Besides the daemon's CPU time (from /proc), the client's own: its
 * writers' and its reader's thread CPU time, since on a machine where
 * client and daemon share the CPUs what the reader spends is taken from
 * the creates as surely as what the daemon spends.
 *
 * Prints one "key value" line per figure.  Exits 1 on any failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char *sock_path;
static int ncreates = 1000, nwriters = 8, nsubs = 1000, http10;

static void
die(const char *what)
{
	fprintf(stderr, "events_fanout: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
connect_sock(void)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		die("connect");
	return fd;
}

static void
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) <= 0)
			die("write");
		p += w;
		n -= (size_t)w;
	}
}

/* The daemon's CPU time so far (utime + stime), in seconds. */
static double
cpu_s(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) == NULL ||
	    fgets(buf, sizeof(buf), f) == NULL)
		die(path);
	fclose(f);
	/* Fields 14 and 15, counted after the command's closing paren. */
	p = strrchr(buf, ')');
	for (i = 2; p != NULL && i < 14; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %lu %lu", &ut, &st) != 2)
		die("parse /proc/PID/stat");
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The calling thread's CPU time so far, in seconds. */
static double
thread_cpu_s(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		die("clock_gettime");
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kib(int pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		die(path);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* The creates of one phase. */
static const char *phase;
static double *t201; /* per create: when its 201 came */

struct writer {
	int w_index;
	double w_cpu_s; /* the thread's CPU time, when it ended */
};

/* Reads one response on fd (Content-Length framed); its status. */
static int
read_response(int fd, char *buf, size_t size)
{
	size_t len = 0, need = 0;
	char *body = NULL, *cl;
	ssize_t n;

	for (;;) {
		if ((n = read(fd, buf + len, size - 1 - len)) <= 0)
			die("read response");
		len += (size_t)n;
		buf[len] = '\0';
		if (body == NULL && (body = strstr(buf, "\r\n\r\n")) != NULL) {
			body += 4;
			cl = strcasestr(buf, "\r\nContent-Length:");
			need = (size_t)(body - buf) +
			       (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (body != NULL && len >= need)
			break;
	}
	return atoi(buf + 9);
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	char body[256], rq[512], buf[8192];
	int fd = connect_sock(), i, n, bl;

	for (i = w->w_index; i < ncreates; i += nwriters) {
		bl = snprintf(body, sizeof(body),
			      "{\"name\":\"%s-%d\",\"memory_mib\":4,\"boot\":{"
			      "\"kind\":\"flat\",\"image\":\"none.bin\"}}",
			      phase, i);
		n = snprintf(
		    rq, sizeof(rq),
		    "POST /v1/vms HTTP/1.1\r\nHost: x\r\nContent-Type: "
		    "application/json\r\nContent-Length: %d\r\n\r\n%s",
		    bl, body);
		write_all(fd, rq, (size_t)n);
		if (read_response(fd, buf, sizeof(buf)) != 201) {
			fprintf(stderr, "events_fanout: create %s-%d: %.200s\n",
				phase, i, buf);
			exit(1);
		}
		t201[i] = now_us();
	}
	close(fd);
	w->w_cpu_s = thread_cpu_s();
	return NULL;
}

/*
 * Runs the creates of phase p; returns the wall time in µs, and the
 * writers' CPU time in *cpu_s.
 */
static double
creates(const char *p, double *cpu_s)
{
	pthread_t t[64];
	struct writer w[64];
	double t0;
	int k;

	phase = p;
	t0 = now_us();
	for (k = 0; k < nwriters; k++) {
		w[k].w_index = k;
		if (pthread_create(&t[k], NULL, writer_main, &w[k]) != 0)
			die("pthread_create");
	}
	*cpu_s = 0;
	for (k = 0; k < nwriters; k++) {
		pthread_join(t[k], NULL);
		*cpu_s += w[k].w_cpu_s;
	}
	return now_us() - t0;
}

/* The subscribers and what they received. */
struct sub {
	int s_fd;
	char s_tail[2048]; /* an event not yet whole, from the last read */
	size_t s_tlen;
	/* The chunked body's decoder (RFC 9112, 7.1): */
	int s_state;   /* 0 a size line, 1 data, 2 the CRLF after it */
	size_t s_left; /* state 1: data bytes left in this chunk */
	size_t s_size; /* state 0: the size read so far */
	int s_ext;     /* state 0: past the digits (an extension) */
};

/*
 * Decodes n bytes of s's chunked body from in to out (which has room for
 * n); the data bytes.  Exits on a malformed body or its last chunk (an
 * event stream does not end here).
 */
static size_t
dechunk(struct sub *s, const char *in, size_t n, char *out)
{
	size_t o = 0, k;

	while (n > 0) {
		switch (s->s_state) {
		case 0:
			if (*in == '\n') {
				if (s->s_size == 0) {
					fprintf(stderr, "events_fanout: a "
							"stream ended\n");
					exit(1);
				}
				s->s_left = s->s_size;
				s->s_size = 0;
				s->s_ext = 0;
				s->s_state = 1;
			} else if (*in == ';' || *in == '\r') {
				s->s_ext = 1;
			} else if (!s->s_ext) {
				const char *hex = "0123456789abcdef";
				const char *d = strchr(hex, *in | 0x20);

				if (*in == '\0' || d == NULL ||
				    s->s_size > 0xffffff) {
					fprintf(stderr, "events_fanout: a bad "
							"chunk size\n");
					exit(1);
				}
				s->s_size = s->s_size * 16 + (size_t)(d - hex);
			}
			in++, n--;
			break;
		case 1:
			k = n < s->s_left ? n : s->s_left;
			memcpy(out + o, in, k);
			o += k, in += k, n -= k;
			if ((s->s_left -= k) == 0)
				s->s_state = 2;
			break;
		default:
			if (*in == '\n')
				s->s_state = 0;
			in++, n--;
			break;
		}
	}
	return o;
}

static struct sub *subs;
static int *got;            /* per create: subscribers that had its event */
static double *t_last;      /* per create: when the last of them had it */
static int complete;        /* creates every subscriber had */
static double reader_cpu_s; /* the reader thread's CPU time, when it ended */

/* Finds "vm":"PHASE-N" in p[0..n) and counts them. */
static void
scan(const char *p, size_t n, double t)
{
	static const char key[] = "\"vm\":\"p2-";
	const char *e = p + n, *q = p;

	while ((q = memmem(q, (size_t)(e - q), key, sizeof(key) - 1)) != NULL) {
		char *end;
		long i;

		q += sizeof(key) - 1;
		i = strtol(q, &end, 10);
		if (i >= 0 && i < ncreates && ++got[i] == nsubs) {
			t_last[i] = t;
			complete++;
		}
	}
}

static void *
reader_main(void *arg)
{
	int ep = *(int *)arg, n, k;
	struct epoll_event evs[64];
	static char buf[65536 + sizeof(((struct sub *)0)->s_tail)];
	static char raw[65536];

	while (complete < ncreates) {
		if ((n = epoll_wait(ep, evs, 64, 60000)) <= 0) {
			fprintf(stderr,
				"events_fanout: no event for 60 s "
				"(%d of %d creates complete)\n",
				complete, ncreates);
			exit(1);
		}
		for (k = 0; k < n; k++) {
			struct sub *s = evs[k].data.ptr;
			size_t total, whole;
			ssize_t r;
			char *last, *gap;

			memcpy(buf, s->s_tail, s->s_tlen);
			r = read(s->s_fd, raw, sizeof(raw));
			if (r <= 0) {
				fprintf(stderr, "events_fanout: a "
						"subscriber's stream ended\n");
				exit(1);
			}
			total = s->s_tlen;
			if (http10) {
				memcpy(buf + total, raw, (size_t)r);
				total += (size_t)r;
			} else {
				total +=
				    dechunk(s, raw, (size_t)r, buf + total);
			}
			buf[total] = '\0';
			if ((gap = strstr(buf, "event: gap\n")) != NULL) {
				fprintf(stderr,
					"events_fanout: a subscriber fell "
					"behind its buffer (--events-buffer) "
					"and got a gap:\n%s\n",
					gap);
				exit(1);
			}
			/* Only whole events (up to the last blank line);
			 * the rest waits for the next read. */
			for (whole = 0, last = buf + total;
			     (last = memrchr(buf, '\n',
					     (size_t)(last - buf))) != NULL;)
				if (last > buf && last[-1] == '\n') {
					whole = (size_t)(last - buf) + 1;
					break;
				}
			scan(buf, whole, now_us());
			if (total - whole > sizeof(s->s_tail)) {
				fprintf(stderr, "events_fanout: an event "
						"longer than expected\n");
				exit(1);
			}
			memmove(s->s_tail, buf + whole, total - whole);
			s->s_tlen = total - whole;
		}
	}
	reader_cpu_s = thread_cpu_s();
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int opt, pid = 0, i, ep;
	long rss0, rss1;
	double wall1, wall2, *lat, cpu0, cpu1, cpu2, cpu3, wcpu1, wcpu2;
	pthread_t reader;
	char buf[4096];

	while ((opt = getopt(argc, argv, "s:p:n:c:w:0")) != -1) {
		switch (opt) {
		case 's':
			sock_path = optarg;
			break;
		case 'p':
			pid = atoi(optarg);
			break;
		case 'n':
			nsubs = atoi(optarg);
			break;
		case 'c':
			ncreates = atoi(optarg);
			break;
		case 'w':
			nwriters = atoi(optarg);
			break;
		case '0':
			http10 = 1;
			break;
		default:
			fprintf(stderr,
				"usage: events_fanout -s SOCK -p PID "
				"[-n SUBS] [-c CREATES] [-w WRITERS] [-0]\n");
			return 2;
		}
	}
	if (sock_path == NULL || pid <= 0 || nwriters < 1 || nwriters > 64 ||
	    ncreates < 1 || nsubs < 1)
		return 2;
	t201 = calloc((size_t)ncreates, sizeof(*t201));
	got = calloc((size_t)ncreates, sizeof(*got));
	t_last = calloc((size_t)ncreates, sizeof(*t_last));
	lat = calloc((size_t)ncreates, sizeof(*lat));
	subs = calloc((size_t)nsubs, sizeof(*subs));
	if (!t201 || !got || !t_last || !lat || !subs)
		die("calloc");

	/* 1. Creates alone. */
	cpu0 = cpu_s(pid);
	wall1 = creates("p1", &wcpu1);
	cpu1 = cpu_s(pid);

	/* 2. Idle subscribers. */
	sleep(1);
	rss0 = rss_kib(pid);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1");
	for (i = 0; i < nsubs; i++) {
		const char *rq =
		    http10 ? "GET /v1/events HTTP/1.0\r\nHost: x\r\n\r\n"
			   : "GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
		size_t len = 0;
		ssize_t r;
		char *body;
		struct epoll_event ev = {.events = EPOLLIN};

		subs[i].s_fd = connect_sock();
		write_all(subs[i].s_fd, rq, strlen(rq));
		buf[0] = '\0';
		while (strstr(buf, ": vmmapid events") == NULL) {
			if ((r = read(subs[i].s_fd, buf + len,
				      sizeof(buf) - 1 - len)) <= 0)
				die("subscribe");
			len += (size_t)r;
			buf[len] = '\0';
		}
		/* The opening comment is all the body has yet: through the
		 * decoder, and dropped. */
		if ((body = strstr(buf, "\r\n\r\n")) == NULL)
			die("subscribe: no header end");
		body += 4;
		if (!http10) {
			char scratch[sizeof(buf)];

			dechunk(&subs[i], body, len - (size_t)(body - buf),
				scratch);
		}
		ev.data.ptr = &subs[i];
		if (epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].s_fd, &ev) == -1)
			die("epoll_ctl");
	}
	sleep(2);
	rss1 = rss_kib(pid);

	/* 3. Creates with every subscriber reading. */
	cpu2 = cpu_s(pid);
	if (pthread_create(&reader, NULL, reader_main, &ep) != 0)
		die("pthread_create");
	wall2 = creates("p2", &wcpu2);
	pthread_join(reader, NULL);
	cpu3 = cpu_s(pid);
	for (i = 0; i < ncreates; i++)
		lat[i] = t_last[i] - t201[i];
	qsort(lat, (size_t)ncreates, sizeof(*lat), cmp_double);

	printf("subscribers %d\ncreates %d\nwriters %d\n", nsubs, ncreates,
	       nwriters);
	printf("creates_per_s_without %.0f\n", ncreates / (wall1 / 1e6));
	printf("creates_per_s_with %.0f\n", ncreates / (wall2 / 1e6));
	printf("rss_kib_before %ld\nrss_kib_after %ld\n", rss0, rss1);
	printf("kib_per_idle_subscriber %.2f\n", (double)(rss1 - rss0) / nsubs);
	printf("daemon_cpu_ms_per_create_without %.3f\n",
	       (cpu1 - cpu0) * 1e3 / ncreates);
	printf("daemon_cpu_ms_per_create_with %.3f\n",
	       (cpu3 - cpu2) * 1e3 / ncreates);
	printf("daemon_cpu_us_per_delivery %.2f\n",
	       ((cpu3 - cpu2) - (cpu1 - cpu0)) * 1e6 /
		   ((double)ncreates * nsubs));
	printf("client_writers_cpu_ms_without %.1f\n", wcpu1 * 1e3);
	printf("client_writers_cpu_ms_with %.1f\n", wcpu2 * 1e3);
	printf("client_reader_cpu_ms %.1f\n", reader_cpu_s * 1e3);
	printf("client_reader_cpu_us_per_delivery %.2f\n",
	       reader_cpu_s * 1e6 / ((double)ncreates * nsubs));
	printf("delivery_ms_p50 %.2f\n", lat[ncreates / 2] / 1e3);
	printf("delivery_ms_p99 %.2f\n", lat[ncreates * 99 / 100] / 1e3);
	printf("delivery_ms_max %.2f\n", lat[ncreates - 1] / 1e3);
	printf("delivery_ms_min %.2f\n", lat[0] / 1e3);
	return 0;
}
