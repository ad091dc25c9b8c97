#include "server/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#define LISTEN_BACKLOG 1024

/*
 * The directory of path, opened, and its last component in *base.  Every
 * later step names the socket relative to this descriptor, so the
 * directory is resolved once: what is renamed or replaced along the path
 * afterwards changes nothing for the daemon.
 */
static int
listen_unix_dir(const char *path, const char **base)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	int dfd;

	if (slash == NULL) {
		strcpy(dir, ".");
		*base = path;
	} else {
		size_t n = slash == path ? 1 : (size_t)(slash - path);

		memcpy(dir, path, n);
		dir[n] = '\0';
		*base = slash + 1;
	}
	if (**base == '\0' || strcmp(*base, ".") == 0 ||
	    strcmp(*base, "..") == 0) {
		errno = EINVAL;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd;
}

/*
 * Makes a directory of the daemon's own, mode 0700, in dfd and opens it;
 * its name goes into name.  Nobody else can add, remove or replace an
 * entry in it, wherever it is moved to (its owner could move it: dfd may
 * be a jail root's).  -1 with errno.
 */
static int
listen_unix_private_dir(int dfd, char *name, size_t len)
{
	static atomic_uint seq;
	struct timespec ts;
	struct stat st;
	int i, tfd;

	for (i = 0; i < 100; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(name, len, ".vmmapid-%ld-%u-%09ld", (long)getpid(),
			 atomic_fetch_add(&seq, 1), ts.tv_nsec);
		if (mkdirat(dfd, name, 0700) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (i == 100)
		return -1; /* EEXIST */
	tfd =
	    openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		goto fail;
	/* What is at the name now must be the directory just made: one the
	 * owner of dfd put there in between would not be ours.  (A set-gid
	 * parent passes its bit on; it gives nobody write access.) */
	if (fstat(tfd, &st) != 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 0777) != 0700) {
		close(tfd);
		errno = EPERM;
		return -1;
	}
	return tfd;
fail:
	unlinkat(dfd, name, AT_REMOVEDIR);
	return -1;
}

/*
 * Binds fd to name in the directory open as dirfd.  Linux has no bindat():
 * the path goes through /proc/self/fd, which names that very directory
 * whatever became of its path.
 */
static int
listen_bindat(int dirfd, int fd, const char *name)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
#if defined(__FreeBSD__)
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", name);
	return bindat(dirfd, fd, (struct sockaddr *)&sun, sizeof(sun));
#else
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path),
			     "/proc/self/fd/%d/%s", dirfd,
			     name) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return bind(fd, (struct sockaddr *)&sun, sizeof(sun));
#endif
}

/*
 * A jail's socket, still in the private directory tfd as "s", gets the
 * owner and group of the directory it goes into (dfd) and mode 0660:
 * whoever can connect acts as a caller of that jail, so only the jail's
 * root (who owns its directory) and the group the operator gave that
 * directory may; any other host user's connect() is refused by the
 * kernel (EACCES).  The directory's ids, not the caller's or the path's:
 * dfd was opened once, and the socket is changed only inside the private
 * directory, where nobody can swap it.  A daemon that may not give files
 * away (not root) keeps them its own, still 0660: tighter, never looser.
 * The directory's stat goes into *dst.
 */
static int
listen_unix_jail_owner(const char *path, int dfd, int tfd, struct stat *dst)
{
	if (fstat(dfd, dst) != 0) {
		log_warn("unix:%s: its directory", path);
		return -1;
	}
	if (fchownat(tfd, "s", dst->st_uid, dst->st_gid, AT_SYMLINK_NOFOLLOW) !=
	    0) {
		if (errno != EPERM) {
			log_warn("unix:%s: chown", path);
			return -1;
		}
		log_warnx("unix:%s: cannot give the socket to uid %ld, group "
			  "%ld (the daemon is not root); it stays the "
			  "daemon's, mode 0660",
			  path, (long)dst->st_uid, (long)dst->st_gid);
		dst->st_uid = geteuid();
		dst->st_gid = getegid();
	}
	if (fchmodat(tfd, "s", 0660, 0) != 0) {
		log_warn("unix:%s: chmod", path);
		return -1;
	}
	return 0;
}

/*
 * A Unix socket at path, mode 0666 (a jail's: 0660, see
 * listen_unix_jail_owner), made without ever changing a mode
 * by path.  The directory of path may belong to someone else (a jail's
 * socket lives in the jail, whose root owns it), who can replace any
 * entry in it at any moment: binding there and then chmod(path) would
 * follow a symlink swapped in between and make any file 0666.  So:
 *   1. the directory is opened once (listen_unix_dir);
 *   2. the socket is bound in a private 0700 directory made inside it,
 *      which only the daemon can write, and its mode set there
 *      (fchmodat relative to that directory's descriptor: the entry
 *      cannot have been replaced);
 *   3. it is renamed into place (renameat between the two descriptors):
 *      rename replaces what is at the name -- a stale socket, or a
 *      symlink planted after the check below -- and never follows it.
 * fchmod on the socket before bind is no substitute: Linux gives the new
 * file the socket inode's mode less the umask, which is per process, not
 * per thread, and this runs while other threads create files.
 */
static int
listen_unix(const char *path, int jail, struct listen_sock *ls)
{
	struct sockaddr_un sun;
	struct stat st, dst;
	const char *base;
	char tmp[64];
	int fd = -1, dfd = -1, tfd = -1, probe;

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
	if ((dfd = listen_unix_dir(path, &base)) < 0) {
		log_warn("unix:%s: its directory", path);
		return -1;
	}

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		/* A symlink too: it is never followed, nor replaced unasked. */
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("unix:%s: exists and is not a socket", path);
			errno = EEXIST;
			goto fail;
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
			goto fail;
		}
		if (probe >= 0)
			close(probe);
		log_info("unix:%s: replacing stale socket", path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		log_warn("unix:%s: socket", path);
		goto fail;
	}
	if ((tfd = listen_unix_private_dir(dfd, tmp, sizeof(tmp))) < 0) {
		log_warn("unix:%s: a private directory beside it", path);
		goto fail;
	}
	if (listen_bindat(tfd, fd, "s") != 0) {
		log_warn("unix:%s: bind", path);
		goto fail_tmp;
	}
	if (jail) {
		if (listen_unix_jail_owner(path, dfd, tfd, &dst) != 0)
			goto fail_tmp;
	} else if (fchmodat(tfd, "s", 0666, 0) != 0) {
		/*
		 * The daemon's own socket: anyone may connect; who may do
		 * what is decided per request from the caller's
		 * credentials (a refusal says why, which a socket
		 * permission could not).
		 */
		log_warn("unix:%s: chmod", path);
		goto fail_tmp;
	}
	if (listen(fd, LISTEN_BACKLOG) != 0) {
		log_warn("unix:%s: listen", path);
		goto fail_tmp;
	}
	if (renameat(tfd, "s", dfd, base) != 0) {
		log_warn("unix:%s: moving the socket into place", path);
		goto fail_tmp;
	}
	/* Fails only when someone moved it away: theirs to clean up. */
	if (unlinkat(dfd, tmp, AT_REMOVEDIR) != 0)
		log_warn("unix:%s: removing %s", path, tmp);
	close(tfd);
	if (jail)
		log_info("unix:%s: a jail's socket, owner uid %ld, group %ld, "
			 "mode 0660 (its directory's owner and group)",
			 path, (long)dst.st_uid, (long)dst.st_gid);
	ls->ls_fd = fd;
	ls->ls_dirfd = dfd;
	ls->ls_unix = 1;
	ls->ls_path = strdup(path);
	snprintf(ls->ls_name, sizeof(ls->ls_name), "unix:%s", path);
	return 0;

fail_tmp:
	unlinkat(tfd, "s", 0);
	unlinkat(dfd, tmp, AT_REMOVEDIR);
	close(tfd);
fail:
	if (fd >= 0)
		close(fd);
	close(dfd);
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
	ls->ls_dirfd = -1;
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, 0, ls);
	if (strncmp(spec, "tcp:", 4) == 0)
		return listen_tcp(spec + 4, ls);
	if (strncmp(spec, "tls:", 4) == 0) {
		if (listen_tcp(spec + 4, ls) != 0)
			return -1;
		/* The socket is TCP's; its name says what it speaks. */
		ls->ls_tls = 1;
		memcpy(ls->ls_name, "tls", 3);
		return 0;
	}
	log_warnx("%s: expected unix:PATH, tcp:HOST:PORT or tls:HOST:PORT",
		  spec);
	errno = EINVAL;
	return -1;
}

/*
 * A jail's socket at path; see listen.h.
 */
int
listen_open_jail(const char *path, struct listen_sock *ls)
{
	memset(ls, 0, sizeof(*ls));
	ls->ls_fd = -1;
	ls->ls_dirfd = -1;
	return listen_unix(path, 1, ls);
}

/*
 * Removes the socket file, relative to the directory it was made in and
 * only while it is a socket (the directory may be someone else's, who may
 * have put something else there).
 */
void
listen_unlink(struct listen_sock *ls)
{
	const char *base;
	struct stat st;

	if (ls->ls_path != NULL && ls->ls_dirfd >= 0) {
		base = strrchr(ls->ls_path, '/');
		base = base != NULL ? base + 1 : ls->ls_path;
		if (fstatat(ls->ls_dirfd, base, &st, AT_SYMLINK_NOFOLLOW) ==
			0 &&
		    S_ISSOCK(st.st_mode) &&
		    unlinkat(ls->ls_dirfd, base, 0) != 0 && errno != ENOENT)
			log_warn("removing %s", ls->ls_path);
	}
	if (ls->ls_dirfd >= 0)
		close(ls->ls_dirfd);
	ls->ls_dirfd = -1;
	free(ls->ls_path);
	ls->ls_path = NULL;
}

void
listen_close(struct listen_sock *ls)
{
	if (ls->ls_fd >= 0)
		close(ls->ls_fd);
	listen_unlink(ls);
	ls->ls_fd = -1;
}
