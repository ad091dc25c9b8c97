/*
 * uclient: the benchmark clients' HTTP/1.1 over a Unix socket; see
 * uclient.h.
 */
#include "uclient.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

double
uc_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

void
uc_die(const char *what)
{
	fprintf(stderr, "%s: %s\n", uc_prog, what);
	exit(1);
}

void
uc_connect(struct uc_conn *cn, const char *path, size_t size)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		uc_die("socket path too long");
	strcpy(sun.sun_path, path);
	cn->cn_len = cn->cn_pos = 0;
	cn->cn_size = size;
	if ((cn->cn_buf = malloc(size)) == NULL)
		uc_die("out of memory");
	if ((cn->cn_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(cn->cn_fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		perror(path);
		exit(1);
	}
}

void
uc_close(struct uc_conn *cn)
{
	close(cn->cn_fd);
	cn->cn_fd = -1;
	free(cn->cn_buf);
	cn->cn_buf = NULL;
}

void
uc_write(struct uc_conn *cn, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(cn->cn_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			uc_die("write to the daemon failed");
		p += n;
		len -= (size_t)n;
	}
}

void
uc_send(struct uc_conn *cn, const char *method, const char *path,
	const char *headers, const char *body, size_t blen)
{
	char head[1024];
	int n;

	n = snprintf(head, sizeof(head),
		     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n"
		     "%s\r\n",
		     method, path, headers);
	if (n < 0 || (size_t)n >= sizeof(head))
		uc_die("request too long");
	uc_write(cn, head, (size_t)n);
	if (body != NULL)
		uc_write(cn, body, blen);
}

size_t
uc_fill(struct uc_conn *cn)
{
	ssize_t n;

	if (cn->cn_pos > 0) {
		memmove(cn->cn_buf, cn->cn_buf + cn->cn_pos,
			cn->cn_len - cn->cn_pos);
		cn->cn_len -= cn->cn_pos;
		cn->cn_pos = 0;
	}
	if (cn->cn_len == cn->cn_size)
		uc_die("response too long");
	do
		n = read(cn->cn_fd, cn->cn_buf + cn->cn_len,
			 cn->cn_size - cn->cn_len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		uc_die("read from the daemon failed");
	cn->cn_recv_us = uc_now_us();
	cn->cn_len += (size_t)n;
	return (size_t)n;
}

int
uc_head(struct uc_conn *cn, struct uc_head *hd)
{
	char *start = cn->cn_buf + cn->cn_pos, *end, *line, *next;

	end = memmem(start, cn->cn_len - cn->cn_pos, "\r\n\r\n", 4);
	if (end == NULL)
		return 0;
	memset(hd, 0, sizeof(*hd));
	end[2] = '\0'; /* the last line keeps its CRLF */
	if (sscanf(start, "HTTP/1.%*d %d", &hd->hd_status) != 1)
		uc_die("not an HTTP response");
	for (line = strstr(start, "\r\n") + 2; *line != '\0'; line = next) {
		next = strstr(line, "\r\n");
		*next = '\0';
		next += 2;
		if (!strncasecmp(line, "Content-Length:", 15))
			hd->hd_clen = (size_t)strtoull(line + 15, NULL, 10);
		else if (!strncasecmp(line, "Transfer-Encoding:", 18) &&
			 strstr(line, "chunked") != NULL)
			hd->hd_chunked = 1;
		else if (!strncasecmp(line, "Console-Next-Offset:", 20))
			hd->hd_next_offset = strtoull(line + 20, NULL, 10);
	}
	cn->cn_pos = (size_t)(end + 4 - cn->cn_buf);
	return 1;
}

int
uc_read_head(struct uc_conn *cn, struct uc_head *hd)
{
	while (!uc_head(cn, hd))
		if (uc_fill(cn) == 0)
			uc_die("the daemon closed the connection mid-header");
	return hd->hd_status;
}
