/*
 * Noticing that a client went away while its connection is parked.
 * libmicrohttpd does not watch a suspended connection's socket, so a
 * streaming response waiting for data (a followed console, later a
 * monitor-mode start) would not learn of the hang-up until it had
 * something to send.  One thread waits for hang-ups of the sockets
 * registered here and calls back, so the connection can be resumed and
 * closed at once.  Linux (epoll's EPOLLRDHUP); elsewhere a no-op.
 *
 * Locking: one mutex guards the registrations; callbacks run without it.
 */
#ifndef VMMAPID_SERVER_HANGUP_H
#define VMMAPID_SERVER_HANGUP_H

struct hangup;

int hangup_start(struct hangup **out);
void hangup_stop(struct hangup *h);

/*
 * Calls cb(arg) once from the watcher thread when the peer of fd hangs up,
 * unless hangup_remove(h, arg) came first.  -1 with errno.
 */
int hangup_add(struct hangup *h, int fd, void (*cb)(void *), void *arg);

/* Cancels arg's registration; after it returns, cb(arg) is not running
 * and will not run. */
void hangup_remove(struct hangup *h, void *arg);

#endif
