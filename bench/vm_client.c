/*
 * vm_client: times vmmapid's run operations from the client's side, over
 * the daemon's Unix socket (root needs no token there), for
 * bench/vm_start.sh and bench/vm_exits.sh.
 *
 *   vm_client -s SOCKET [-n RUNS] health
 *   vm_client -s SOCKET [-n RUNS] [-m MODE] start VM
 *
 * health: RUNS GET /v1/health on one keep-alive connection; one line per
 * request, "run=I us=T" (send to the last byte of the answer): the HTTP
 * round trip of the daemon.
 *
 * start: RUNS runs of VM, a guest that ends by itself (hello, bigout).
 * Before each run the client waits (GET /v1/vms/VM every millisecond, at
 * most 30 s) until the VM is defined, stopped or crashed; nothing of that
 * is timed.  t0 is just before the start request is written.  MODE:
 *
 *   monitor   (default) POST /v1/vms/VM/start?mode=monitor, whose answer is
 *             this run's console, streamed until the run ends.  first_us:
 *             t0 to the first console byte; end_us: t0 to the end of the
 *             stream (the run is over); resp_us: t0 to the response's
 *             header.
 *   follow    POST /v1/vms/VM/start (detached); once it answered (resp_us),
 *             GET /v1/vms/VM/console?follow=1&offset=N on a second,
 *             already open connection, N being the console's end before
 *             the start.  first_us and end_us as above.
 *   poll      POST /v1/vms/VM/start (detached), then GET /v1/vms/VM every
 *             millisecond until the state is stopped or crashed: end_us
 *             is t0 to that answer (nobody reads the console meanwhile).
 *
 * One line per run: "run=I resp_us=R first_us=F end_us=E bytes=B" (bytes:
 * console bytes received, 0 for poll).  Any unexpected answer ends the
 * program with status 1 and a message on stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uclient.h"

#define VMC_BUF 65536
#define VMC_WAIT_MS 30000

enum vmc_mode { VMC_MONITOR, VMC_FOLLOW, VMC_POLL };

/* A response: the status, the headers we need, the body's first byte. */
struct vmc_resp {
	int rp_status;
	double rp_head_us;  /* the header was complete */
	double rp_first_us; /* the first body byte arrived (0: none) */
	size_t rp_body_len;
	uint64_t rp_next_offset; /* Console-Next-Offset */
	char *rp_body;           /* NUL-terminated, when kept */
};

struct vmc_conf {
	const char *vc_socket;
	unsigned long vc_runs;
	enum vmc_mode vc_mode;
	const char *vc_cmd;
	const char *vc_vm;
};

const char *const uc_prog = "vm_client";

/* Writes a request without a body. */
static void
vmc_send(struct uc_conn *cn, const char *method, const char *path)
{
	uc_send(cn, method, path, "", NULL, 0);
}

/* A line ending in CRLF, NUL-terminated in place (without the CRLF). */
static char *
vmc_line(struct uc_conn *cn)
{
	char *start, *end;

	for (;;) {
		start = cn->cn_buf + cn->cn_pos;
		end = memmem(start, cn->cn_len - cn->cn_pos, "\r\n", 2);
		if (end != NULL) {
			*end = '\0';
			cn->cn_pos = (size_t)(end + 2 - cn->cn_buf);
			return start;
		}
		if (uc_fill(cn) == 0)
			uc_die("the daemon closed the connection mid-header");
	}
}

/* Takes up to want body bytes that are in (or come into) the buffer. */
static size_t
vmc_take(struct uc_conn *cn, size_t want, struct vmc_resp *rp, int keep)
{
	size_t n;

	if (cn->cn_pos == cn->cn_len && uc_fill(cn) == 0)
		uc_die("the daemon closed the connection mid-body");
	n = cn->cn_len - cn->cn_pos;
	if (n > want)
		n = want;
	if (n > 0 && rp->rp_first_us == 0)
		rp->rp_first_us = cn->cn_recv_us;
	if (keep) {
		char *b = realloc(rp->rp_body, rp->rp_body_len + n + 1);

		if (b == NULL)
			uc_die("out of memory");
		memcpy(b + rp->rp_body_len, cn->cn_buf + cn->cn_pos, n);
		b[rp->rp_body_len + n] = '\0';
		rp->rp_body = b;
	}
	rp->rp_body_len += n;
	cn->cn_pos += n;
	return n;
}

/*
 * Reads one response: the header, then the body (Content-Length or
 * chunked).  keep: the body is kept in rp_body.  The times are those of
 * the reads that brought the bytes.
 */
static void
vmc_read(struct uc_conn *cn, struct vmc_resp *rp, int keep)
{
	struct uc_head hd;
	unsigned long long left;
	char *line, *end;

	memset(rp, 0, sizeof(*rp));
	rp->rp_status = uc_read_head(cn, &hd);
	rp->rp_next_offset = hd.hd_next_offset;
	rp->rp_head_us = cn->cn_recv_us;
	if (!hd.hd_chunked) {
		for (left = hd.hd_clen; left > 0;)
			left -= vmc_take(cn, left, rp, keep);
		return;
	}
	for (;;) {
		line = vmc_line(cn);
		left = strtoull(line, &end, 16);
		if (end == line)
			uc_die("bad chunk size");
		if (left == 0)
			break;
		while (left > 0)
			left -= vmc_take(cn, left, rp, keep);
		if (*vmc_line(cn) != '\0')
			uc_die("chunk not followed by CRLF");
	}
	/* Trailers, then the empty line. */
	while (*vmc_line(cn) != '\0')
		;
}

static void
vmc_free(struct vmc_resp *rp)
{
	free(rp->rp_body);
	rp->rp_body = NULL;
}

/* The VM's status.state, from GET /v1/vms/VM. */
static void
vmc_state(struct uc_conn *cn, const char *vm, char *state, size_t len)
{
	struct vmc_resp rp;
	char path[256];
	const char *p, *q;

	snprintf(path, sizeof(path), "/v1/vms/%s", vm);
	vmc_send(cn, "GET", path);
	vmc_read(cn, &rp, 1);
	if (rp.rp_status != 200 || rp.rp_body == NULL ||
	    (p = strstr(rp.rp_body, "\"state\":\"")) == NULL ||
	    (q = strchr(p + 9, '"')) == NULL || (size_t)(q - p - 9) >= len) {
		fprintf(stderr, "vm_client: GET %s: status %d\n", path,
			rp.rp_status);
		exit(1);
	}
	memcpy(state, p + 9, (size_t)(q - p - 9));
	state[q - p - 9] = '\0';
	vmc_free(&rp);
}

/* Until the VM's state is one of the comma-separated list. */
static void
vmc_wait_state(struct uc_conn *cn, const char *vm, const char *states)
{
	char state[32], want[64];
	int i;

	for (i = 0; i < VMC_WAIT_MS; i++) {
		vmc_state(cn, vm, state, sizeof(state));
		snprintf(want, sizeof(want), ",%s,", state);
		if (strstr(states, want) != NULL)
			return;
		usleep(1000);
	}
	fprintf(stderr, "vm_client: VM %s still %s after %d s\n", vm, state,
		VMC_WAIT_MS / 1000);
	exit(1);
}

static void
vmc_health(const struct vmc_conf *c)
{
	struct uc_conn cn;
	struct vmc_resp rp;
	unsigned long i;
	double t0;

	uc_connect(&cn, c->vc_socket, VMC_BUF);
	for (i = 0; i < c->vc_runs; i++) {
		t0 = uc_now_us();
		vmc_send(&cn, "GET", "/v1/health");
		vmc_read(&cn, &rp, 0);
		if (rp.rp_status != 200)
			uc_die("GET /v1/health did not answer 200");
		printf("run=%lu us=%.1f\n", i + 1, cn.cn_recv_us - t0);
	}
	uc_close(&cn);
}

/* One run of c->vc_vm; ctl is connected, fol too in follow mode. */
static void
vmc_start_once(const struct vmc_conf *c, unsigned long run, struct uc_conn *ctl,
	       struct uc_conn *fol)
{
	struct vmc_resp rp, st;
	char path[256], state[32];
	uint64_t offset = 0;
	double t0, resp = 0, first = 0, end;
	size_t bytes = 0;
	struct uc_conn mon;

	vmc_wait_state(ctl, c->vc_vm, ",defined,stopped,crashed,");
	if (c->vc_mode == VMC_FOLLOW) {
		snprintf(path, sizeof(path), "/v1/vms/%s/console", c->vc_vm);
		vmc_send(ctl, "GET", path);
		vmc_read(ctl, &rp, 0);
		if (rp.rp_status != 200)
			uc_die("GET console did not answer 200");
		offset = rp.rp_next_offset;
	}
	if (c->vc_mode == VMC_MONITOR) {
		/* A connection of its own: the stream ends the response. */
		uc_connect(&mon, c->vc_socket, VMC_BUF);
		snprintf(path, sizeof(path), "/v1/vms/%s/start?mode=monitor",
			 c->vc_vm);
		t0 = uc_now_us();
		vmc_send(&mon, "POST", path);
		vmc_read(&mon, &rp, 0);
		end = mon.cn_recv_us;
		uc_close(&mon);
		if (rp.rp_status != 200) {
			fprintf(stderr, "vm_client: POST %s: %d\n", path,
				rp.rp_status);
			exit(1);
		}
		resp = rp.rp_head_us - t0;
		first = rp.rp_first_us > 0 ? rp.rp_first_us - t0 : 0;
		bytes = rp.rp_body_len;
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/vms/%s/start", c->vc_vm);
	t0 = uc_now_us();
	vmc_send(ctl, "POST", path);
	vmc_read(ctl, &rp, 0);
	resp = ctl->cn_recv_us - t0;
	if (rp.rp_status != 200) {
		fprintf(stderr, "vm_client: POST %s: %d\n", path, rp.rp_status);
		exit(1);
	}
	if (c->vc_mode == VMC_FOLLOW) {
		snprintf(path, sizeof(path),
			 "/v1/vms/%s/console?follow=1&offset=%llu", c->vc_vm,
			 (unsigned long long)offset);
		vmc_send(fol, "GET", path);
		vmc_read(fol, &st, 0);
		if (st.rp_status != 200)
			uc_die("GET console?follow=1 did not answer 200");
		end = fol->cn_recv_us - t0;
		first = st.rp_first_us > 0 ? st.rp_first_us - t0 : 0;
		bytes = st.rp_body_len;
		printf("run=%lu resp_us=%.1f first_us=%.1f end_us=%.1f "
		       "bytes=%zu\n",
		       run, resp, first, end, bytes);
		return;
	}
	/* poll */
	for (;;) {
		vmc_state(ctl, c->vc_vm, state, sizeof(state));
		if (!strcmp(state, "stopped") || !strcmp(state, "crashed"))
			break;
		if (uc_now_us() - t0 > VMC_WAIT_MS * 1000.0)
			uc_die("the run did not end in time");
		usleep(1000);
	}
	end = ctl->cn_recv_us;
out:
	printf("run=%lu resp_us=%.1f first_us=%.1f end_us=%.1f bytes=%zu\n",
	       run, resp, first, end - t0, bytes);
}

static void
vmc_start(const struct vmc_conf *c)
{
	struct uc_conn ctl, fol;
	unsigned long i;

	uc_connect(&ctl, c->vc_socket, VMC_BUF);
	if (c->vc_mode == VMC_FOLLOW)
		uc_connect(&fol, c->vc_socket, VMC_BUF);
	for (i = 0; i < c->vc_runs; i++) {
		vmc_start_once(c, i + 1, &ctl, &fol);
		fflush(stdout);
	}
	uc_close(&ctl);
	if (c->vc_mode == VMC_FOLLOW)
		uc_close(&fol);
}

static void
vmc_usage(void)
{
	fprintf(stderr,
		"usage: vm_client -s SOCKET [-n RUNS] health\n"
		"       vm_client -s SOCKET [-n RUNS] [-m monitor|follow|poll] "
		"start VM\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct vmc_conf c;
	char *end;
	int ch;

	memset(&c, 0, sizeof(c));
	c.vc_runs = 1;
	while ((ch = getopt(argc, argv, "s:n:m:")) != -1) {
		switch (ch) {
		case 's':
			c.vc_socket = optarg;
			break;
		case 'n':
			errno = 0;
			c.vc_runs = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || c.vc_runs == 0)
				vmc_usage();
			break;
		case 'm':
			if (!strcmp(optarg, "monitor"))
				c.vc_mode = VMC_MONITOR;
			else if (!strcmp(optarg, "follow"))
				c.vc_mode = VMC_FOLLOW;
			else if (!strcmp(optarg, "poll"))
				c.vc_mode = VMC_POLL;
			else
				vmc_usage();
			break;
		default:
			vmc_usage();
		}
	}
	if (c.vc_socket == NULL || optind >= argc)
		vmc_usage();
	c.vc_cmd = argv[optind];
	if (!strcmp(c.vc_cmd, "health") && argc - optind == 1)
		vmc_health(&c);
	else if (!strcmp(c.vc_cmd, "start") && argc - optind == 2) {
		c.vc_vm = argv[optind + 1];
		vmc_start(&c);
	} else
		vmc_usage();
	return 0;
}
