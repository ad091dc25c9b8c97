/*
 * uclient: the HTTP/1.1-over-Unix-socket client the benchmark clients
 * (vm_client.c, gi_client.c) share: the clock they time with, a
 * connection with its receive buffer, writing a request, reading into the
 * buffer and parsing a response's header.  What each client does with a
 * body (vm_client reads it whole, gi_client feeds a chunked console
 * stream as it comes) stays in the client.
 *
 * Nothing here returns an error: any failure ends the program with
 * status 1 and "PROG: what failed" on stderr (uc_die), PROG being the
 * uc_prog that each program defines.
 */
#ifndef UCLIENT_H
#define UCLIENT_H

#include <stddef.h>

/* The program's name in messages; each program that links uclient.c
 * defines it. */
extern const char *const uc_prog;

/* One keep-alive HTTP/1.1 connection: bytes read and not yet used are
 * cn_buf[cn_pos..cn_len). */
struct uc_conn {
	int cn_fd;
	size_t cn_len, cn_pos;
	size_t cn_size;    /* of cn_buf */
	double cn_recv_us; /* when the last read returned */
	char *cn_buf;
};

/* A response's header: what the clients read of it. */
struct uc_head {
	int hd_status;
	int hd_chunked;                    /* Transfer-Encoding: chunked */
	size_t hd_clen;                    /* Content-Length (0 when absent) */
	unsigned long long hd_next_offset; /* Console-Next-Offset (0: absent) */
};

/* CLOCK_MONOTONIC in microseconds. */
double uc_now_us(void);

/* Prints "uc_prog: what" on stderr and exits with status 1. */
void uc_die(const char *what);

/* Connects cn to the Unix socket at path, with a receive buffer of size
 * bytes (allocated here, freed by uc_close). */
void uc_connect(struct uc_conn *cn, const char *path, size_t size);

/* Closes cn's socket and frees its buffer. */
void uc_close(struct uc_conn *cn);

/* Writes len bytes, all of them. */
void uc_write(struct uc_conn *cn, const char *p, size_t len);

/*
 * Writes "METHOD PATH HTTP/1.1" with Host and Accept, then headers (more
 * header lines, each ending in CRLF; "" for none) and the empty line in
 * one write; then blen bytes of body in a second one (none when body is
 * NULL).
 */
void uc_send(struct uc_conn *cn, const char *method, const char *path,
	     const char *headers, const char *body, size_t blen);

/* Reads what the daemon sent (blocking) into the buffer, compacted
 * first, and sets cn_recv_us; the bytes read, 0 at EOF. */
size_t uc_fill(struct uc_conn *cn);

/*
 * A response's header if it is all in the buffer: 1, hd filled and the
 * buffer then starting at the body; 0 when more is needed.
 */
int uc_head(struct uc_conn *cn, struct uc_head *hd);

/* Reads (uc_fill) until a header is in, parses it (uc_head); its status.
 * The header came with the read of cn_recv_us. */
int uc_read_head(struct uc_conn *cn, struct uc_head *hd);

#endif
