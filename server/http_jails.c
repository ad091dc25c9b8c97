/*
 * The jails' listeners, started and stopped while the daemon runs; those
 * asked for before http_start have their sockets bound at once and are
 * started by http_start before the daemon's own listeners, so a jail's
 * socket answers as soon as the daemon's does.  A removed listener stops
 * accepting and loses its socket file at once, so the path can be bound again,
 * but its libmicrohttpd daemon is stopped only once no request of it is in
 * flight (libmicrohttpd must not be stopped under a suspended connection): it
 * is "retired" until then, and reaped by the next listen or unlisten, by a job
 * on a worker thread that its last request queues, or by http_stop.
 */
#include "server/http_jails.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "server/http_internal.h"
#include "server/workers.h"

struct http_jails {
	pthread_mutex_t hj_lock;    /* guards everything below */
	struct http_server *hj_srv; /* NULL unless between start and stop */
	struct http_listener *hj_active;
	struct http_listener *hj_retired;
	struct work hj_reap; /* reaps the retired, on a worker */
	int hj_reap_queued;  /* hj_reap is queued */
	int hj_reap_off;     /* the workers are going: queue no more */
	int hj_started;      /* http_start ran: no listener waits for it */
};

/*
 * Takes jail listener l out of service: no new connections, new requests
 * on kept-alive ones get 503, streaming responses end, and the socket
 * file goes now so that its path can be bound again.  The fd stays open
 * until libmicrohttpd is stopped (its threads may still poll it).
 * hj_lock held; l is moved from hj_active to hj_retired.
 */
static void
http_jails_retire_locked(struct http_jails *hj, struct http_listener *l)
{
	struct http_listener **pp;

	for (pp = &hj->hj_active; *pp != NULL; pp = &(*pp)->hl_next)
		if (*pp == l) {
			*pp = l->hl_next;
			break;
		}
	atomic_store(&l->hl_retired, 1); /* http_accept closes new ones */
	listen_unlink(&l->hl_own);
	if (l->hl_srv != NULL)
		stream_end(l->hl_srv, l);
	log_info("stopped listening on %s for jail %s", l->hl_own.ls_name,
		 l->hl_jail);
	l->hl_next = hj->hj_retired;
	hj->hj_retired = l;
}

/*
 * Takes the retired listeners without requests in flight (all of them
 * with force) off hj_retired, releases hj_lock, and then stops and frees
 * them: stopping libmicrohttpd completes its requests, whose callbacks
 * take hj_lock.
 *
 * A request begins by counting itself in hl_inflight and only then looks
 * at hl_retired, which was set before this looks at hl_inflight: so a
 * listener seen idle here can only get requests that answer 503 on the
 * spot, never one that suspends its connection.
 */
static void
http_jails_unlock_reap(struct http_jails *hj, int force)
{
	struct http_listener **pp = &hj->hj_retired, *l, *gone = NULL;

	while ((l = *pp) != NULL) {
		if (!force && atomic_load(&l->hl_inflight) > 0) {
			pp = &l->hl_next;
			continue;
		}
		*pp = l->hl_next;
		l->hl_next = gone;
		gone = l;
	}
	pthread_mutex_unlock(&hj->hj_lock);
	while ((l = gone) != NULL) {
		gone = l->hl_next;
		if (l->hl_mhd != NULL)
			MHD_stop_daemon(l->hl_mhd);
		listen_close(&l->hl_own);
		free(l);
	}
}

static void
http_jails_reap_work(struct work *wk)
{
	struct http_jails *hj =
	    (struct http_jails *)((char *)wk -
				  offsetof(struct http_jails, hj_reap));

	pthread_mutex_lock(&hj->hj_lock);
	hj->hj_reap_queued = 0;
	http_jails_unlock_reap(hj, 0);
}

/*
 * The last request of a retired listener completed: reap it from a
 * worker thread (libmicrohttpd cannot be stopped from its own thread).
 */
void
http_jails_reap_later(struct http_jails *hj)
{
	if (hj == NULL)
		return;
	pthread_mutex_lock(&hj->hj_lock);
	if (!hj->hj_reap_queued && !hj->hj_reap_off && hj->hj_srv != NULL) {
		hj->hj_reap.wk_fn = http_jails_reap_work;
		if (workers_submit(hj->hj_srv->hs_workers, &hj->hj_reap) == 0)
			hj->hj_reap_queued = 1;
	}
	pthread_mutex_unlock(&hj->hj_lock);
}

/*
 * Puts hj to use for srv (http_start): from now on listeners start at
 * once, and those that waited for a server start now.  One that does not
 * start is logged and dropped; its jail keeps its stored socket, for a
 * PUT to retry.
 */
void
http_jails_attach(struct http_jails *hj, struct http_server *srv)
{
	struct http_listener *l, *next;

	if (hj == NULL)
		return;
	pthread_mutex_lock(&hj->hj_lock);
	hj->hj_srv = srv;
	hj->hj_started = 1;
	hj->hj_reap_off = 0;
	for (l = hj->hj_active; l != NULL; l = next) {
		next = l->hl_next;
		if (l->hl_mhd != NULL)
			continue;
		l->hl_srv = srv;
		if (http_listener_start(srv, l) != 0)
			http_jails_retire_locked(hj, l);
	}
	http_jails_unlock_reap(hj, 0);
}

/* One of http_stop's steps; see http_internal.h. */
void
http_jails_stopping(struct http_jails *hj, enum http_jails_step step)
{
	if (hj == NULL)
		return;
	pthread_mutex_lock(&hj->hj_lock);
	switch (step) {
	case HTTP_JAILS_DETACH:
		hj->hj_srv = NULL;
		while (hj->hj_active != NULL)
			http_jails_retire_locked(hj, hj->hj_active);
		break;
	case HTTP_JAILS_NO_REAPING:
		hj->hj_reap_off = 1;
		break;
	case HTTP_JAILS_REAP_ALL:
		http_jails_unlock_reap(hj, 1);
		return;
	}
	pthread_mutex_unlock(&hj->hj_lock);
}

int
http_jails_new(struct http_jails **out)
{
	struct http_jails *hj;

	if ((hj = calloc(1, sizeof(*hj))) == NULL)
		return -1;
	pthread_mutex_init(&hj->hj_lock, NULL);
	*out = hj;
	return 0;
}

void
http_jails_free(struct http_jails *hj)
{
	if (hj == NULL)
		return;
	/* After http_stop, nothing is left; without a server (start-up
	 * failed), listeners may wait for one that never came. */
	pthread_mutex_lock(&hj->hj_lock);
	while (hj->hj_active != NULL) {
		assert(hj->hj_active->hl_mhd == NULL);
		http_jails_retire_locked(hj, hj->hj_active);
	}
	http_jails_unlock_reap(hj, 1);
	pthread_mutex_destroy(&hj->hj_lock);
	free(hj);
}

static struct http_listener *
http_jails_find_locked(struct http_jails *hj, const char *jail)
{
	struct http_listener *l;

	for (l = hj->hj_active; l != NULL; l = l->hl_next)
		if (strcmp(l->hl_jail, jail) == 0)
			return l;
	return NULL;
}

/*
 * Listens on path for jail; see http_jails.h.  The new socket is bound
 * before the old one goes, so a failure leaves the jail as it was.
 */
int
http_jails_listen(void *cls, const char *jail, const char *path)
{
	struct http_jails *hj = cls;
	struct http_listener *l = NULL, *old;
	int err;

	if (strlen(jail) >= sizeof(l->hl_jail) || jail[0] == '\0' ||
	    path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&hj->hj_lock);
	if (hj->hj_srv == NULL && hj->hj_started) {
		err = ESHUTDOWN;
		goto fail;
	}
	old = http_jails_find_locked(hj, jail);
	if (old != NULL && old->hl_own.ls_path != NULL &&
	    strcmp(old->hl_own.ls_path, path) == 0) {
		http_jails_unlock_reap(hj, 0);
		return 0;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		err = errno;
		goto fail;
	}
	l->hl_srv = hj->hj_srv;
	l->hl_sock = &l->hl_own;
	l->hl_own.ls_fd = -1;
	snprintf(l->hl_jail, sizeof(l->hl_jail), "%s", jail);
	if (listen_open_jail(path, &l->hl_own) != 0) {
		err = errno;
		free(l);
		goto fail;
	}
	/* Before http_start, bound only: http_start starts it. */
	if (hj->hj_srv != NULL && http_listener_start(hj->hj_srv, l) != 0) {
		err = errno;
		listen_close(&l->hl_own);
		free(l);
		goto fail;
	}
	if (old != NULL)
		http_jails_retire_locked(hj, old);
	l->hl_next = hj->hj_active;
	hj->hj_active = l;
	http_jails_unlock_reap(hj, 0);
	return 0;
fail:
	pthread_mutex_unlock(&hj->hj_lock);
	errno = err;
	return -1;
}

/*
 * Stops listening for jail; see http_jails.h.
 */
void
http_jails_unlisten(void *cls, const char *jail)
{
	struct http_jails *hj = cls;
	struct http_listener *l;

	pthread_mutex_lock(&hj->hj_lock);
	if ((l = http_jails_find_locked(hj, jail)) != NULL)
		http_jails_retire_locked(hj, l);
	http_jails_unlock_reap(hj, 0);
}
