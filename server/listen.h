/* Listening sockets: Unix (with stale-socket recovery), TCP and TLS. */
#ifndef VMMAPID_SERVER_LISTEN_H
#define VMMAPID_SERVER_LISTEN_H

struct listen_sock {
	int ls_fd;
	int ls_unix;       /* 1: AF_UNIX, peer credentials identify callers */
	int ls_tls;        /* 1: TCP that speaks TLS (server/tls.h) */
	char ls_name[300]; /* "unix:PATH", "tcp:HOST:PORT" or "tls:HOST:PORT"
			      (actual port) */
	char *ls_path;     /* Unix socket path, unlinked at close */
	int ls_dirfd;      /* the directory it was made in, or -1 */
};

/*
 * Opens a listening socket for "unix:PATH", "tcp:HOST:PORT" or
 * "tls:HOST:PORT" (a TCP socket whose listener speaks TLS).  A Unix
 * socket file that nothing answers on is replaced; one that answers is an
 * error (another daemon owns it), and so is anything else at PATH, a
 * symlink included (never followed).  A Unix socket is mode 0666, set
 * without ever changing a mode by path (listen.c says how).  -1 with a
 * logged reason.
 */
int listen_open(const char *spec, struct listen_sock *ls);

/*
 * Opens a jail's Unix socket at path (absolute), made as listen_open()
 * makes a Unix socket but with the owner and group of its directory and
 * mode 0660: only that owner (the jail's root), members of that group and
 * host root can connect.  -1 with a logged reason.
 */
int listen_open_jail(const char *path, struct listen_sock *ls);

/*
 * Removes a Unix socket's file (relative to its directory, and only while
 * it is a socket) and forgets its path; the socket stays open.
 */
void listen_unlink(struct listen_sock *ls);

/* Closes the socket and removes a Unix socket's file. */
void listen_close(struct listen_sock *ls);

#endif
