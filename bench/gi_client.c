/*
 * gi_client: times a guest's guestinfo reads from the client's side, over
 * the daemon's Unix socket (root needs no token there), for
 * bench/gi_rpc.sh.
 *
 *   gi_client -s SOCKET put VM KEY FILE
 *   gi_client -s SOCKET rtt VM FILE
 *   gi_client -s SOCKET [-n ROUNDS] [-p MS] poll VM KEY
 *
 * put: PUT /v1/vms/VM/guestinfo/KEY with FILE's bytes as the value (text
 * that needs no JSON escaping: the script makes it with base64).
 *
 * rtt: POST /v1/vms/VM/start?mode=monitor of a gi_big_get* guest whose
 * key holds FILE's bytes, the console streamed until the run ends.
 * go_us: the start request to the guest's `go` line (printed before its
 * first round); done_us: to its `len=` line (after its last round);
 * loop_us: the difference, the rounds' own time.  The `len=... sum=...`
 * line is checked against FILE ("1 " and FILE's bytes): a mismatch ends
 * the program with status 1.  One line: "go_us=G done_us=D loop_us=L".
 *
 * poll: VM runs the gi_poll guest (started by the caller, detached); its
 * console is followed from its end.  ROUNDS (30) times: PUT KEY =
 * "rNNNNN-<time>", then the console until the guest's line
 * `reply=1 rNNNNN-<time>`, then MS (20) milliseconds of pause.  Both
 * connections are watched at once (poll(2)), each read timestamped, so
 * the line may arrive before the PUT's answer is read.  One line a
 * round: "round=I put_us=P lat_us=L send_us=S": P the PUT's request to
 * its 2xx, L the 2xx to the line (negative when the line came first),
 * S the PUT's request to the line.
 *
 * Any unexpected answer ends the program with status 1 and a message on
 * stderr.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uclient.h"

#define GIC_BUF (1 << 20)
#define GIC_WAIT_MS 60000

/* A chunked body, decoded as it comes, cut into console lines. */
struct gic_stream {
	int st_state; /* 0: size line, 1: data, 2: CRLF after data, 3: end */
	size_t st_left;
	char st_size[32];
	size_t st_slen;
	char st_line[512];
	size_t st_llen;
};

const char *const uc_prog = "gi_client";

/* A request with a JSON body (or none when body is NULL). */
static void
gic_send(struct uc_conn *cn, const char *method, const char *path,
	 const char *body, size_t blen)
{
	char head[128];

	snprintf(head, sizeof(head), "%sContent-Length: %zu\r\n",
		 body != NULL ? "Content-Type: application/json\r\n" : "",
		 body != NULL ? blen : 0);
	uc_send(cn, method, path, head, body, blen);
}

/* Skips a body of clen bytes (not chunked). */
static void
gic_skip_body(struct uc_conn *cn, size_t clen)
{
	while (cn->cn_len - cn->cn_pos < clen)
		if (uc_fill(cn) == 0)
			uc_die("the daemon closed the connection mid-body");
	cn->cn_pos += clen;
}

/*
 * Feeds the buffered bytes of a chunked body to st; calls line(cls, text,
 * time) for each complete console line (without its newline).  1 once the
 * body ended.
 */
static int
gic_stream_feed(struct uc_conn *cn, struct gic_stream *st,
		void (*line)(void *, const char *, double), void *cls)
{
	while (cn->cn_pos < cn->cn_len && st->st_state != 3) {
		char c = cn->cn_buf[cn->cn_pos];

		switch (st->st_state) {
		case 0:
			cn->cn_pos++;
			if (c == '\n') {
				st->st_size[st->st_slen] = '\0';
				st->st_left = strtoul(st->st_size, NULL, 16);
				st->st_slen = 0;
				st->st_state = st->st_left == 0 ? 3 : 1;
			} else if (c != '\r' &&
				   st->st_slen + 1 < sizeof(st->st_size)) {
				st->st_size[st->st_slen++] = c;
			}
			break;
		case 1:
			cn->cn_pos++;
			if (--st->st_left == 0)
				st->st_state = 2;
			if (c == '\n') {
				st->st_line[st->st_llen] = '\0';
				line(cls, st->st_line, cn->cn_recv_us);
				st->st_llen = 0;
			} else if (st->st_llen + 1 < sizeof(st->st_line)) {
				st->st_line[st->st_llen++] = c;
			}
			break;
		case 2:
			cn->cn_pos++;
			if (c == '\n')
				st->st_state = 0;
			break;
		}
	}
	return st->st_state == 3;
}

static char *
gic_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		perror(path);
		exit(1);
	}
	if ((p = malloc((size_t)n + 1)) == NULL ||
	    fread(p, 1, (size_t)n, f) != (size_t)n)
		uc_die("reading the value file failed");
	fclose(f);
	p[n] = '\0';
	*len = (size_t)n;
	return p;
}

/* PUT key of vm = value (len bytes of JSON-safe text); the status. */
static int
gic_put(struct uc_conn *cn, const char *vm, const char *key, const char *value,
	size_t len)
{
	char path[512], *body = malloc(len + 16);
	struct uc_head hd;
	int status;

	if (body == NULL)
		uc_die("out of memory");
	memcpy(body, "{\"value\":\"", 10);
	memcpy(body + 10, value, len);
	memcpy(body + 10 + len, "\"}", 2);
	snprintf(path, sizeof(path), "/v1/vms/%s/guestinfo/%s", vm, key);
	gic_send(cn, "PUT", path, body, len + 12);
	free(body);
	status = uc_read_head(cn, &hd);
	gic_skip_body(cn, hd.hd_clen);
	return status;
}

/* gi_big.inc's sum. */
static unsigned long
gic_sum(const char *p, size_t len, unsigned long start)
{
	unsigned a = start & 0xffff, s = start >> 16 & 0xffff;
	size_t i;

	for (i = 0; i < len; i++) {
		a = (a + (unsigned char)p[i]) & 0xffff;
		s = (s + a) & 0xffff;
	}
	return (unsigned long)s << 16 | a;
}

struct gic_rtt {
	double rt_go, rt_done;
	char rt_len_line[128];
};

static void
gic_rtt_line(void *cls, const char *text, double t)
{
	struct gic_rtt *r = cls;

	if (strcmp(text, "go") == 0 && r->rt_go == 0)
		r->rt_go = t;
	else if (strncmp(text, "len=", 4) == 0 && r->rt_done == 0) {
		r->rt_done = t;
		snprintf(r->rt_len_line, sizeof(r->rt_len_line), "%s", text);
	}
}

static void
gic_cmd_rtt(const char *sock, const char *vm, const char *file)
{
	struct uc_conn cn;
	struct gic_stream st;
	struct gic_rtt r;
	char path[256], want[128];
	struct uc_head hd;
	size_t len;
	char *value = gic_read_file(file, &len);
	double t0;

	snprintf(want, sizeof(want), "len=%08zX sum=%08lX", len + 2,
		 gic_sum(value, len, gic_sum("1 ", 2, 0)));
	memset(&r, 0, sizeof(r));
	memset(&st, 0, sizeof(st));
	uc_connect(&cn, sock, GIC_BUF);
	snprintf(path, sizeof(path), "/v1/vms/%s/start?mode=monitor", vm);
	t0 = uc_now_us();
	gic_send(&cn, "POST", path, NULL, 0);
	if (uc_read_head(&cn, &hd) != 200 || !hd.hd_chunked)
		uc_die("the monitor-mode start did not answer 200, chunked");
	while (!gic_stream_feed(&cn, &st, gic_rtt_line, &r))
		if (uc_fill(&cn) == 0)
			uc_die("the console stream ended early");
	if (r.rt_go == 0 || r.rt_done == 0)
		uc_die("the guest printed no go or no len= line");
	if (strcmp(r.rt_len_line, want) != 0) {
		fprintf(stderr,
			"gi_client: the guest printed \"%s\", not \"%s\"\n",
			r.rt_len_line, want);
		exit(1);
	}
	printf("go_us=%.1f done_us=%.1f loop_us=%.1f\n", r.rt_go - t0,
	       r.rt_done - t0, r.rt_done - r.rt_go);
	uc_close(&cn);
	free(value);
}

struct gic_poll {
	const char *pl_want; /* "reply=1 VALUE" */
	double pl_seen;      /* when it came; 0: not yet */
	int pl_started;      /* the guest printed its first reply */
};

static void
gic_poll_line(void *cls, const char *text, double t)
{
	struct gic_poll *p = cls;

	if (strncmp(text, "reply=", 6) == 0)
		p->pl_started = 1;
	if (p->pl_want != NULL && p->pl_seen == 0 &&
	    strcmp(text, p->pl_want) == 0)
		p->pl_seen = t;
}

/* Reads fol's bytes that are there (without blocking past poll). */
static void
gic_poll_fol(struct uc_conn *fol, struct gic_stream *st, struct gic_poll *p)
{
	if (uc_fill(fol) == 0)
		uc_die("the console stream ended");
	if (gic_stream_feed(fol, st, gic_poll_line, p))
		uc_die("the console stream ended (the guest stopped?)");
}

static void
gic_cmd_poll(const char *sock, const char *vm, const char *key,
	     unsigned long rounds, unsigned long pause_ms)
{
	struct uc_conn ctl, fol;
	struct gic_stream st;
	struct gic_poll p;
	char path[256], value[64], want[80], *body;
	struct pollfd pfd[2];
	unsigned long i;
	struct uc_head hd;
	int have_head;
	double t0, t2xx, deadline;

	memset(&st, 0, sizeof(st));
	memset(&p, 0, sizeof(p));
	uc_connect(&ctl, sock, GIC_BUF);
	uc_connect(&fol, sock, GIC_BUF);
	snprintf(path, sizeof(path), "/v1/vms/%s/console?follow=1", vm);
	gic_send(&fol, "GET", path, NULL, 0);
	if (uc_read_head(&fol, &hd) != 200 || !hd.hd_chunked)
		uc_die("GET console?follow=1 did not answer 200, chunked");
	/* The guest's first reply line: it polls. */
	deadline = uc_now_us() + GIC_WAIT_MS * 1e3;
	while (!gic_stream_feed(&fol, &st, gic_poll_line, &p) &&
	       !p.pl_started) {
		if (uc_now_us() > deadline)
			uc_die("the guest printed no reply= line");
		gic_poll_fol(&fol, &st, &p);
	}
	for (i = 1; i <= rounds; i++) {
		snprintf(value, sizeof(value), "r%05lu-%.0f", i, uc_now_us());
		snprintf(want, sizeof(want), "reply=1 %s", value);
		p.pl_want = want;
		p.pl_seen = 0;
		if ((body = malloc(strlen(value) + 16)) == NULL)
			uc_die("out of memory");
		sprintf(body, "{\"value\":\"%s\"}", value);
		snprintf(path, sizeof(path), "/v1/vms/%s/guestinfo/%s", vm,
			 key);
		t0 = uc_now_us();
		gic_send(&ctl, "PUT", path, body, strlen(body));
		free(body);
		t2xx = 0;
		have_head = 0;
		deadline = t0 + GIC_WAIT_MS * 1e3;
		while (t2xx == 0 || p.pl_seen == 0) {
			pfd[0].fd = ctl.cn_fd;
			pfd[0].events = t2xx == 0 ? POLLIN : 0;
			pfd[1].fd = fol.cn_fd;
			pfd[1].events = p.pl_seen == 0 ? POLLIN : 0;
			if (poll(pfd, 2, 1000) < 0 && errno != EINTR)
				uc_die("poll failed");
			if (uc_now_us() > deadline)
				uc_die("no 2xx or no reply line in time");
			if (pfd[1].revents & (POLLIN | POLLHUP))
				gic_poll_fol(&fol, &st, &p);
			if (pfd[0].revents & (POLLIN | POLLHUP)) {
				if (uc_fill(&ctl) == 0)
					uc_die("the daemon closed the "
					       "connection");
				if (!have_head && uc_head(&ctl, &hd))
					have_head = 1;
				if (have_head &&
				    ctl.cn_len - ctl.cn_pos >= hd.hd_clen) {
					if (hd.hd_status != 200 &&
					    hd.hd_status != 201)
						uc_die("the PUT did not "
						       "answer 2xx");
					ctl.cn_pos += hd.hd_clen;
					t2xx = ctl.cn_recv_us;
				}
			}
		}
		printf("round=%lu put_us=%.1f lat_us=%.1f send_us=%.1f\n", i,
		       t2xx - t0, p.pl_seen - t2xx, p.pl_seen - t0);
		fflush(stdout);
		usleep((useconds_t)(pause_ms * 1000));
	}
	uc_close(&ctl);
	uc_close(&fol);
}

static void
gic_usage(void)
{
	fprintf(stderr, "usage: gi_client -s SOCKET put VM KEY FILE\n"
			"       gi_client -s SOCKET rtt VM FILE\n"
			"       gi_client -s SOCKET [-n ROUNDS] [-p MS] poll "
			"VM KEY\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	unsigned long rounds = 30, pause_ms = 20;
	int ch, n;

	while ((ch = getopt(argc, argv, "s:n:p:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'n':
			rounds = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			pause_ms = strtoul(optarg, NULL, 10);
			break;
		default:
			gic_usage();
		}
	}
	n = argc - optind;
	if (sock == NULL || n < 1)
		gic_usage();
	if (!strcmp(argv[optind], "put") && n == 4) {
		struct uc_conn cn;
		size_t len;
		char *v = gic_read_file(argv[optind + 3], &len);
		int st;

		uc_connect(&cn, sock, GIC_BUF);
		st = gic_put(&cn, argv[optind + 1], argv[optind + 2], v, len);
		if (st != 200 && st != 201) {
			fprintf(stderr, "gi_client: PUT answered %d\n", st);
			return 1;
		}
		free(v);
		uc_close(&cn);
	} else if (!strcmp(argv[optind], "rtt") && n == 3) {
		gic_cmd_rtt(sock, argv[optind + 1], argv[optind + 2]);
	} else if (!strcmp(argv[optind], "poll") && n == 3) {
		gic_cmd_poll(sock, argv[optind + 1], argv[optind + 2], rounds,
			     pause_ms);
	} else {
		gic_usage();
	}
	return 0;
}
