#include "server/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* Handlers use little stack; this keeps virtual memory small. */
#define WORKER_STACK (256 * 1024)

struct workers {
	pthread_mutex_t w_lock;
	pthread_cond_t w_cond;
	struct work *w_head, *w_tail; /* the queue */
	pthread_t *w_threads;
	unsigned w_max, w_nthreads, w_idle;
	unsigned w_nqueued;
	int w_stopping;
};

static void *
workers_main(void *arg)
{
	struct workers *w = arg;
	struct work *wk;

	pthread_mutex_lock(&w->w_lock);
	for (;;) {
		while (w->w_head == NULL && !w->w_stopping) {
			w->w_idle++;
			pthread_cond_wait(&w->w_cond, &w->w_lock);
			w->w_idle--;
		}
		if (w->w_head == NULL)
			break; /* stopping and nothing left */
		wk = w->w_head;
		w->w_head = wk->wk_next;
		w->w_nqueued--;
		if (w->w_head == NULL)
			w->w_tail = NULL;
		pthread_mutex_unlock(&w->w_lock);
		wk->wk_fn(wk);
		pthread_mutex_lock(&w->w_lock);
	}
	pthread_mutex_unlock(&w->w_lock);
	return NULL;
}

int
workers_create(struct workers **out, unsigned max)
{
	struct workers *w;

	if (max == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	if ((w->w_threads = calloc(max, sizeof(*w->w_threads))) == NULL) {
		free(w);
		return -1;
	}
	w->w_max = max;
	pthread_mutex_init(&w->w_lock, NULL);
	pthread_cond_init(&w->w_cond, NULL);
	*out = w;
	return 0;
}

int
workers_submit(struct workers *w, struct work *wk)
{
	pthread_attr_t attr;
	int rc = 0;

	wk->wk_next = NULL;
	pthread_mutex_lock(&w->w_lock);
	if (w->w_stopping) {
		pthread_mutex_unlock(&w->w_lock);
		errno = ESHUTDOWN;
		return -1;
	}
	/* Idle threads not yet woken count against work already queued. */
	if (w->w_nqueued >= w->w_idle && w->w_nthreads < w->w_max) {
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, WORKER_STACK);
		rc = pthread_create(&w->w_threads[w->w_nthreads], &attr,
				    workers_main, w);
		pthread_attr_destroy(&attr);
		if (rc == 0)
			w->w_nthreads++;
		else
			log_warnx("worker thread: %s", strerror(rc));
	}
	if (w->w_nthreads == 0) {
		pthread_mutex_unlock(&w->w_lock);
		errno = rc != 0 ? rc : EAGAIN;
		return -1;
	}
	if (w->w_tail != NULL)
		w->w_tail->wk_next = wk;
	else
		w->w_head = wk;
	w->w_tail = wk;
	w->w_nqueued++;
	pthread_cond_signal(&w->w_cond);
	pthread_mutex_unlock(&w->w_lock);
	return 0;
}

void
workers_destroy(struct workers *w)
{
	unsigned i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->w_lock);
	w->w_stopping = 1;
	pthread_cond_broadcast(&w->w_cond);
	pthread_mutex_unlock(&w->w_lock);
	for (i = 0; i < w->w_nthreads; i++)
		pthread_join(w->w_threads[i], NULL);
	pthread_cond_destroy(&w->w_cond);
	pthread_mutex_destroy(&w->w_lock);
	free(w->w_threads);
	free(w);
}
