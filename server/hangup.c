#include "server/hangup.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

#ifdef __linux__
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

struct hangup_entry {
	uint64_t he_id;
	int he_fd;
	void (*he_cb)(void *);
	void *he_arg;
	struct hangup_entry *he_next;
};

struct hangup {
	int hu_epfd;
	int hu_stopfd; /* eventfd: wakes the thread to stop */
	pthread_t hu_thread;
	pthread_mutex_t hu_lock; /* guards the list and hu_running */
	pthread_cond_t hu_idle;  /* a callback finished */
	struct hangup_entry *hu_list;
	uint64_t hu_next_id;
	void *hu_running; /* arg of the callback being called, or NULL */
};

static void *
hangup_main(void *arg)
{
	struct hangup *h = arg;
	struct epoll_event evs[32];

	for (;;) {
		int n = epoll_wait(h->hu_epfd, evs, 32, -1), i;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("hangup: epoll_wait");
			return NULL;
		}
		for (i = 0; i < n; i++) {
			struct hangup_entry **pp, *e;
			uint64_t id = evs[i].data.u64;

			if (id == 0)
				return NULL; /* the stop eventfd */
			pthread_mutex_lock(&h->hu_lock);
			for (pp = &h->hu_list; (e = *pp) != NULL;
			     pp = &e->he_next)
				if (e->he_id == id)
					break;
			if (e == NULL) {
				pthread_mutex_unlock(&h->hu_lock);
				continue; /* removed meanwhile */
			}
			*pp = e->he_next;
			epoll_ctl(h->hu_epfd, EPOLL_CTL_DEL, e->he_fd, NULL);
			h->hu_running = e->he_arg;
			pthread_mutex_unlock(&h->hu_lock);
			e->he_cb(e->he_arg);
			pthread_mutex_lock(&h->hu_lock);
			h->hu_running = NULL;
			pthread_cond_broadcast(&h->hu_idle);
			pthread_mutex_unlock(&h->hu_lock);
			free(e);
		}
	}
}

int
hangup_start(struct hangup **out)
{
	struct hangup *h = calloc(1, sizeof(*h));
	struct epoll_event ev;
	sigset_t all, old;
	int rc;

	if (h == NULL)
		return -1;
	h->hu_epfd = epoll_create1(EPOLL_CLOEXEC);
	h->hu_stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->hu_epfd < 0 || h->hu_stopfd < 0)
		goto fail;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u64 = 0;
	if (epoll_ctl(h->hu_epfd, EPOLL_CTL_ADD, h->hu_stopfd, &ev) != 0)
		goto fail;
	h->hu_next_id = 1;
	pthread_mutex_init(&h->hu_lock, NULL);
	pthread_cond_init(&h->hu_idle, NULL);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&h->hu_thread, NULL, hangup_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		pthread_mutex_destroy(&h->hu_lock);
		pthread_cond_destroy(&h->hu_idle);
		goto fail;
	}
	*out = h;
	return 0;
fail:
	if (h->hu_epfd >= 0)
		close(h->hu_epfd);
	if (h->hu_stopfd >= 0)
		close(h->hu_stopfd);
	free(h);
	return -1;
}

void
hangup_stop(struct hangup *h)
{
	uint64_t one = 1;
	struct hangup_entry *e, *next;

	if (h == NULL)
		return;
	if (write(h->hu_stopfd, &one, sizeof(one)) != sizeof(one))
		log_warn("hangup: stop");
	pthread_join(h->hu_thread, NULL);
	for (e = h->hu_list; e != NULL; e = next) {
		next = e->he_next;
		free(e);
	}
	close(h->hu_epfd);
	close(h->hu_stopfd);
	pthread_mutex_destroy(&h->hu_lock);
	pthread_cond_destroy(&h->hu_idle);
	free(h);
}

int
hangup_add(struct hangup *h, int fd, void (*cb)(void *), void *arg)
{
	struct hangup_entry *e = calloc(1, sizeof(*e));
	struct epoll_event ev;

	if (e == NULL)
		return -1;
	e->he_fd = fd;
	e->he_cb = cb;
	e->he_arg = arg;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
	pthread_mutex_lock(&h->hu_lock);
	e->he_id = h->hu_next_id++;
	ev.data.u64 = e->he_id;
	if (epoll_ctl(h->hu_epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int err = errno;

		pthread_mutex_unlock(&h->hu_lock);
		free(e);
		errno = err;
		return -1;
	}
	e->he_next = h->hu_list;
	h->hu_list = e;
	pthread_mutex_unlock(&h->hu_lock);
	return 0;
}

void
hangup_remove(struct hangup *h, void *arg)
{
	struct hangup_entry **pp, *e;

	pthread_mutex_lock(&h->hu_lock);
	for (pp = &h->hu_list; (e = *pp) != NULL; pp = &e->he_next) {
		if (e->he_arg == arg) {
			*pp = e->he_next;
			epoll_ctl(h->hu_epfd, EPOLL_CTL_DEL, e->he_fd, NULL);
			free(e);
			break;
		}
	}
	/* A callback for arg in progress finishes before we return. */
	while (h->hu_running == arg)
		pthread_cond_wait(&h->hu_idle, &h->hu_lock);
	pthread_mutex_unlock(&h->hu_lock);
}

#else /* !__linux__ */

struct hangup {
	int hu_unused;
};

int
hangup_start(struct hangup **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? 0 : -1;
}

void
hangup_stop(struct hangup *h)
{
	free(h);
}

int
hangup_add(struct hangup *h, int fd, void (*cb)(void *), void *arg)
{
	return 0; /* noticed at the next write instead */
}

void
hangup_remove(struct hangup *h, void *arg)
{
}

#endif
