/*
 * Worker threads for requests that may block (database commits, later the
 * driver), so that libmicrohttpd's threads never wait on them.  Threads
 * start on demand up to a maximum and then stay.
 *
 * Locking: one mutex guards the queue and the counters.
 */
#ifndef VMMAPID_SERVER_WORKERS_H
#define VMMAPID_SERVER_WORKERS_H

struct workers;

struct work {
	void (*wk_fn)(struct work *wk);
	struct work *wk_next; /* owned by the pool while queued */
};

/* A pool of at most max threads. -1 with errno. */
int workers_create(struct workers **out, unsigned max);

/* Queues wk; its function runs on a worker thread. -1 with errno when
 * the pool is stopping or a first thread cannot start. */
int workers_submit(struct workers *w, struct work *wk);

/* Runs what is queued, then joins every thread and frees the pool. */
void workers_destroy(struct workers *w);

#endif
