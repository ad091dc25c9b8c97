/*
 * The HTTP front: one libmicrohttpd daemon per listening socket, all
 * answering through api_handle().  Its files (server/http_internal.h
 * lists them) are the only ones that include <microhttpd.h>.
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
	unsigned ho_conn_reserve; /* more per listener, host root's (peer.c) */
	unsigned ho_conn_timeout; /* idle seconds */
	unsigned ho_workers;      /* threads for blocking routes */
	int ho_verbose;           /* libmicrohttpd's own error log */
	struct http_jails *ho_jails; /* the jails' listeners, or NULL */
	int ho_allow_plain_tcp;      /* --allow-plain-tcp */
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

#endif
