#include "server/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/log.h"

#define LISTEN_BACKLOG 1024

static int
listen_unix(const char *path, struct listen_sock *ls)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd = -1, probe;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] == '\0') {
		log_warnx("unix: the socket path is empty");
		errno = EINVAL;
		return -1;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("unix:%s: path longer than %zu bytes", path,
			  sizeof(sun.sun_path) - 1);
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("unix:%s: exists and is not a socket", path);
			errno = EEXIST;
			return -1;
		}
		/* A socket file: in use if something answers on it. */
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 &&
		    connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			log_warnx("unix:%s: another process is listening on "
				  "this socket (is vmmapid already running?)",
				  path);
			errno = EADDRINUSE;
			return -1;
		}
		if (probe >= 0)
			close(probe);
		log_info("unix:%s: removing stale socket", path);
		if (unlink(path) != 0 && errno != ENOENT) {
			log_warn("unix:%s: unlink", path);
			return -1;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_warn("unix:%s: socket", path);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		log_warn("unix:%s: bind", path);
		goto fail;
	}
	/*
	 * Anyone may connect: who may do what is decided per request from
	 * the caller's credentials (a refusal says why, which a socket
	 * permission could not).
	 */
	if (chmod(path, 0666) != 0) {
		log_warn("unix:%s: chmod", path);
		goto fail_unlink;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		log_warn("unix:%s: listen", path);
		goto fail_unlink;
	}
	ls->ls_fd = fd;
	ls->ls_unix = 1;
	ls->ls_path = strdup(path);
	snprintf(ls->ls_name, sizeof(ls->ls_name), "unix:%s", path);
	return 0;

fail_unlink:
	unlink(path);
fail:
	close(fd);
	return -1;
}

static int
listen_tcp(const char *hostport, struct listen_sock *ls)
{
	char host[256], port[16], shown[INET6_ADDRSTRLEN], *end;
	const char *spec = hostport;
	unsigned long pnum;
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	const char *colon = strrchr(hostport, ':');
	size_t hlen;
	int fd = -1, one = 1, rc;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= 16) {
		log_warnx("tcp:%s: expected tcp:HOST:PORT", hostport);
		errno = EINVAL;
		return -1;
	}
	hlen = (size_t)(colon - hostport);
	if (hlen >= 2 && hostport[0] == '[' && hostport[hlen - 1] == ']') {
		hostport++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host)) {
		log_warnx("tcp:%s: bad host", spec);
		errno = EINVAL;
		return -1;
	}
	memcpy(host, hostport, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	/* getaddrinfo takes any number and keeps its low 16 bits. */
	errno = 0;
	pnum = strtoul(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end != '\0' || errno != 0 ||
	    pnum > 65535) {
		log_warnx("tcp:%s: the port must be a number from 0 to 65535",
			  spec);
		errno = EINVAL;
		return -1;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("tcp:%s:%s: %s", host, port, gai_strerror(rc));
		errno = EINVAL;
		return -1;
	}
	fd = socket(res->ai_family,
		    res->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_warn("tcp:%s:%s: socket", host, port);
		goto fail;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		log_warn("tcp:%s:%s: bind", host, port);
		goto fail;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		log_warn("tcp:%s:%s: listen", host, port);
		goto fail;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
		goto fail;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, shown, sizeof(shown));
		snprintf(ls->ls_name, sizeof(ls->ls_name), "tcp:[%s]:%u", shown,
			 ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, shown, sizeof(shown));
		snprintf(ls->ls_name, sizeof(ls->ls_name), "tcp:%s:%u", shown,
			 ntohs(s4->sin_port));
	}
	freeaddrinfo(res);
	ls->ls_fd = fd;
	ls->ls_unix = 0;
	ls->ls_path = NULL;
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

int
listen_open(const char *spec, struct listen_sock *ls)
{
	memset(ls, 0, sizeof(*ls));
	ls->ls_fd = -1;
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, ls);
	if (strncmp(spec, "tcp:", 4) == 0)
		return listen_tcp(spec + 4, ls);
	log_warnx("%s: expected unix:PATH or tcp:HOST:PORT", spec);
	errno = EINVAL;
	return -1;
}

void
listen_close(struct listen_sock *ls)
{
	if (ls->ls_fd >= 0)
		close(ls->ls_fd);
	if (ls->ls_path != NULL)
		unlink(ls->ls_path);
	free(ls->ls_path);
	ls->ls_fd = -1;
	ls->ls_path = NULL;
}
