/*
 * Private to the HTTP front in server/: the server and its listeners, as
 * shared by
 *
 *   http.c        the daemons and the request lifecycle
 *   stream.c      streamed responses (hs_streams, hs_hangup)
 *   peer.c        a connection's caller (credentials, address) and
 *                 the limits on what it holds (server/limits.h)
 *   http_jails.c  the jails' listeners, added and removed at run time
 *
 * Nothing outside server/ includes it.
 */
#ifndef VMMAPID_SERVER_HTTP_INTERNAL_H
#define VMMAPID_SERVER_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <microhttpd.h>

#include "core/principal.h"
#include "server/http.h"
#include "server/limits.h"
#include "server/listen.h"

/* See hs_reserve. */
#define HTTP_REFUSING 64

struct hangup;
struct stream;
struct workers;

struct http_listener {
	struct http_server *hl_srv;
	struct listen_sock *hl_sock;
	struct MHD_Daemon *hl_mhd;
	atomic_int hl_inflight; /* its requests begun and not completed */
	atomic_int hl_conns;    /* its connections open now (peer.c) */
	/* Jail listeners only (http_jails.c): */
	char hl_jail[65];              /* its callers' jail ("": not one) */
	struct listen_sock hl_own;     /* the socket, which it owns */
	atomic_int hl_retired;         /* removed: new requests get 503 */
	struct http_listener *hl_next; /* in hj_active or hj_retired */
};

struct http_server {
	const struct api_context *hs_ctx;
	struct auth *hs_auth;
	struct workers *hs_workers;
	struct http_listener *hs_listeners;
	int hs_n;
	int hs_per_connection;
	atomic_int hs_inflight; /* requests begun and not completed */
	atomic_ulong hs_begun;  /* requests ever begun */
	atomic_int hs_stopping; /* answer with Connection: close */
	/* stream.c's, set up by stream_start: */
	struct hangup *hs_hangup;
	pthread_mutex_t hs_streams_lock; /* guards hs_streams */
	struct stream *hs_streams;       /* streaming responses under way */
	struct http_jails *hs_jails;     /* NULL: no jail listeners */
	/* How to start a listener's libmicrohttpd, for the jails' too. */
	unsigned hs_mhd_flags;
	unsigned hs_threads;
	unsigned hs_conn_limit; /* per listener, for every caller */
	unsigned hs_reserve;    /* per listener past it (peer.c) */
	/* libmicrohttpd's own limit is hs_conn_limit + hs_reserve +
	 * HTTP_REFUSING: room to accept, and so refuse with a 503, what
	 * comes past both, rather than leave it in the listen backlog. */
	unsigned hs_conn_timeout;
	int hs_allow_plain_tcp; /* tokens on plain TCP to any address */
};

/*
 * http.c: starts libmicrohttpd on l's socket, as every listener is
 * started.  -1 with errno (logged).
 */
int http_listener_start(struct http_server *srv, struct http_listener *l);

/*
 * stream.c: the streams' list and the hang-up watcher of srv.  -1 with
 * errno when the watcher does not start.  stream_stop after every
 * listener stopped.
 */
int stream_start(struct http_server *srv);
void stream_stop(struct http_server *srv);

/*
 * stream.c: a response whose body comes from rs's api_stream, which it
 * takes (rs_stream becomes NULL); NULL when out of memory (rs keeps it).
 * chunked: libmicrohttpd will chunk it (HTTP/1.1 kept alive), so the
 * stream is read into the connection's own buffer, not the response's.
 */
struct MHD_Response *stream_response(struct http_listener *l,
				     struct MHD_Connection *conn,
				     struct api_response *rs, int chunked);

/*
 * stream.c: ends every streaming response of listener l (NULL: of every
 * listener), because the daemon stops or l's socket goes: each sends its
 * end.
 */
void stream_end(struct http_server *srv, struct http_listener *l);

/*
 * peer.c: one connection, its socket context from the connection-notify
 * callback until libmicrohttpd closes it.
 */
struct peer_conn {
	struct http_listener *pc_listener;
	struct principal pc_pr; /* a Unix caller's */
	int pc_has_pr;
	struct limits_key pc_key; /* its caller, for the per-caller counts */
	int pc_root;              /* host root: under no per-caller limit */
	int pc_counted;           /* counted in its caller's connections */
	int pc_reserve; /* taken from the listener's reserve (TCP): one
			   GET /v1/health, then closed; one a caller */
	int pc_refused; /* refused at accept: its socket is shut down */
	struct limits_conn pc_watch; /* the header deadline's */
};

/*
 * peer.c: libmicrohttpd's connection-notify callback (cls: the
 * listener).  It makes the connection's struct peer_conn: on a Unix
 * socket the caller's credentials, read once; on TCP its address.  A
 * connection past a limit (the listener's, its caller's) is refused
 * there: its socket is shut down, after a 503 on a plain socket.
 */
void peer_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		 enum MHD_ConnectionNotificationCode toe);

/*
 * peer.c: copies the principal peer_notify read for conn into *pr; -1
 * (and *pr untouched) when there is none: a TCP connection, or
 * credentials that could not be read.
 */
int peer_principal(struct MHD_Connection *conn, struct principal *pr);

/* peer.c: conn's struct peer_conn, or NULL. */
struct peer_conn *peer_conn(struct MHD_Connection *conn);

/*
 * http_jails.c, for http_start: hj (NULL: none) serves srv from now on;
 * listeners bound before it start now.
 */
void http_jails_attach(struct http_jails *hj, struct http_server *srv);

/* http_jails.c: the last request of a retired listener completed. */
void http_jails_reap_later(struct http_jails *hj);

/* http_stop's steps for the jails' listeners, in this order. */
enum http_jails_step {
	HTTP_JAILS_DETACH,     /* every jail socket goes, no new one comes */
	HTTP_JAILS_NO_REAPING, /* the workers go: queue no reaping on them */
	HTTP_JAILS_REAP_ALL,   /* once the workers and the daemon's own
				  listeners stopped: stop and free every
				  retired listener, busy or not */
};

/* http_jails.c: takes step of http_stop (NULL hj: nothing to do). */
void http_jails_stopping(struct http_jails *hj, enum http_jails_step step);

#endif
