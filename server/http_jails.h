/*
 * The listeners of the jails' sockets (server/http_jails.c), added and
 * removed while the daemon runs (PUT and DELETE /v1/jails/{name}).
 */
#ifndef VMMAPID_SERVER_HTTP_JAILS_H
#define VMMAPID_SERVER_HTTP_JAILS_H

struct http_jails;

/*
 * Made before http_start, which puts it to use (http_options.ho_jails),
 * so that api/'s hooks (ac_jail_listen, ac_jail_unlisten with
 * ac_listen_cls) can be set before any request comes.  Sockets asked for before
 * http_start are bound at once and served from http_start on, before the
 * daemon's own sockets are; from http_stop on, listening fails with ESHUTDOWN.
 * http_stop stops and removes every jail socket; http_jails_free frees what is
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
