/* Listening sockets: Unix (with stale-socket recovery) and TCP. */
#ifndef VMMAPID_SERVER_LISTEN_H
#define VMMAPID_SERVER_LISTEN_H

struct listen_sock {
	int ls_fd;
	int ls_unix;       /* 1: AF_UNIX, peer credentials identify callers */
	char ls_name[300]; /* "unix:PATH" or "tcp:HOST:PORT" (actual port) */
	char *ls_path;     /* Unix socket path, unlinked at close */
};

/*
 * Opens a listening socket for "unix:PATH" or "tcp:HOST:PORT".  A Unix
 * socket file that nothing answers on is replaced; one that answers is an
 * error (another daemon owns it).  -1 with a logged reason.
 */
int listen_open(const char *spec, struct listen_sock *ls);

/* Closes the socket and removes a Unix socket's file. */
void listen_close(struct listen_sock *ls);

#endif
