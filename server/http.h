/*
 * The HTTP front: one libmicrohttpd daemon per listening socket, all
 * answering through api_handle().  The only file that includes
 * <microhttpd.h>.
 *
 * Request path: libmicrohttpd calls the access handler several times per
 * request; the first call sets up the request context and returns without
 * a response (a response queued on the first call makes libmicrohttpd
 * 0.9.75 close the connection), body chunks are collected up to
 * LIMIT_BODY_BYTES (413 past it), and the last call dispatches.  Routes
 * that may block run on a worker thread while the connection is suspended;
 * the others run inline.
 */
#ifndef VMMAPID_SERVER_HTTP_H
#define VMMAPID_SERVER_HTTP_H

#include "api/api.h"
#include "server/listen.h"

struct auth;
struct http_server;
struct http_jails;

struct http_options {
	unsigned ho_threads;      /* libmicrohttpd threads per listener */
	int ho_per_connection;    /* thread per connection instead of a pool */
	unsigned ho_conn_limit;   /* connections per listener */
	unsigned ho_conn_timeout; /* idle seconds */
	unsigned ho_workers;      /* threads for blocking routes */
	int ho_verbose;           /* libmicrohttpd's own error log */
	struct http_jails *ho_jails; /* the jails' listeners, or NULL */
};

/*
 * Starts serving on the given sockets (which stay owned by the caller).
 * ctx and auth must outlive the server.  -1 with a logged reason.
 */
int http_start(struct http_server **out, const struct api_context *ctx,
	       struct auth *auth, struct listen_sock *socks, int nsocks,
	       const struct http_options *opt);

/*
 * How many requests ever began, and (*inflight) how many are under way
 * (streams included): what main's idle check compares.
 */
unsigned long http_activity(struct http_server *srv, int *inflight);

/*
 * Stops accepting connections, lets requests in flight finish for up to
 * timeout_s seconds, then closes every connection and frees the server.
 */
void http_stop(struct http_server *srv, unsigned timeout_s);

/*
 * The listeners of the jails' sockets, added and removed while the daemon
 * runs (PUT and DELETE /v1/jails/{name}).  Made before http_start, which
 * puts it to use (http_options.ho_jails), so that api/'s hooks
 * (ac_jail_listen, ac_jail_unlisten with ac_listen_cls) can be set before
 * any request comes.  Sockets asked for before http_start are bound at
 * once and served from http_start on, before the daemon's own sockets
 * are; from http_stop on, listening fails with ESHUTDOWN.  http_stop
 * stops and removes every jail socket; http_jails_free frees what is
 * left after it (or, when http_start never ran, the bound sockets).
 *
 * Locking: one mutex guards the listeners; listen and unlisten calls are
 * serialized by it.
 */
int http_jails_new(struct http_jails **out);
void http_jails_free(struct http_jails *hj);

/*
 * Listens on the Unix socket path (absolute) for jail: its callers'
 * principals get pr_jail = jail on top of their peer credentials.  When
 * the jail already has a listener on another path, that one is stopped
 * once the new one listens (failing, the old one stays); on the same
 * path, nothing changes.  cls is the struct http_jails.  -1 with errno
 * from listen_open (EADDRINUSE: something answers on path; EEXIST: path
 * is not a socket; ENOENT, EACCES, ENAMETOOLONG ...), ESHUTDOWN.
 */
int http_jails_listen(void *cls, const char *jail, const char *path);

/*
 * Stops listening for jail, if it listens: at once no new connections,
 * the socket file removed, new requests on open connections answered
 * 503, streaming responses ended; the rest of it goes once its requests
 * in flight are done.  cls is the struct http_jails.
 */
void http_jails_unlisten(void *cls, const char *jail);

#endif
