#include "core/console.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct console_watch {
	uint64_t cw_offset;
	void (*cw_wake)(void *);
	void *cw_arg;
	struct console_watch *cw_next;
};

struct console {
	pthread_mutex_t cn_lock;
	uint8_t *cn_out; /* ring of cn_out_size bytes */
	size_t cn_out_size;
	uint64_t cn_end; /* absolute offset past the newest byte */
	uint8_t *cn_in;  /* ring of cn_in_size bytes */
	size_t cn_in_size, cn_in_head, cn_in_len;
	int cn_closed;
	struct console_watch *cn_watches;
	unsigned cn_dispatching; /* threads calling due watches */
	pthread_cond_t cn_dispatched;
	unsigned cn_refs;
};

struct console *
console_new(size_t out_size, size_t in_size)
{
	struct console *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->cn_out = malloc(out_size);
	c->cn_in = malloc(in_size);
	if (c->cn_out == NULL || c->cn_in == NULL || out_size == 0 ||
	    in_size == 0) {
		console_free(c);
		errno = out_size && in_size ? ENOMEM : EINVAL;
		return NULL;
	}
	c->cn_out_size = out_size;
	c->cn_in_size = in_size;
	c->cn_refs = 1;
	pthread_mutex_init(&c->cn_lock, NULL);
	pthread_cond_init(&c->cn_dispatched, NULL);
	return c;
}

void
console_hold(struct console *c)
{
	pthread_mutex_lock(&c->cn_lock);
	c->cn_refs++;
	pthread_mutex_unlock(&c->cn_lock);
}

void
console_free(struct console *c)
{
	struct console_watch *w, *next;
	unsigned refs;

	if (c == NULL)
		return;
	if (c->cn_out_size != 0) {
		pthread_mutex_lock(&c->cn_lock);
		refs = --c->cn_refs;
		pthread_mutex_unlock(&c->cn_lock);
		if (refs > 0)
			return;
		pthread_cond_destroy(&c->cn_dispatched);
	}
	for (w = c->cn_watches; w != NULL; w = next) {
		next = w->cw_next;
		free(w);
	}
	if (c->cn_out_size != 0)
		pthread_mutex_destroy(&c->cn_lock);
	free(c->cn_out);
	free(c->cn_in);
	free(c);
}

/*
 * Takes the watches that are due off the list (locked); the caller calls
 * them unlocked, through console_wake, so a callback may use the console.
 */
static struct console_watch *
console_due(struct console *c)
{
	struct console_watch **pp = &c->cn_watches, *due = NULL, *w;

	if (c->cn_watches == NULL)
		return NULL;

	while ((w = *pp) != NULL) {
		if (c->cn_closed || c->cn_end > w->cw_offset) {
			*pp = w->cw_next;
			w->cw_next = due;
			due = w;
		} else {
			pp = &w->cw_next;
		}
	}
	if (due != NULL)
		c->cn_dispatching++;
	return due;
}

/* Calls the due watches; console_unwatch waits for this to finish. */
static void
console_wake(struct console *c, struct console_watch *due)
{
	struct console_watch *next;

	if (due == NULL)
		return;
	for (; due != NULL; due = next) {
		next = due->cw_next;
		due->cw_wake(due->cw_arg);
		free(due);
	}
	pthread_mutex_lock(&c->cn_lock);
	if (--c->cn_dispatching == 0)
		pthread_cond_broadcast(&c->cn_dispatched);
	pthread_mutex_unlock(&c->cn_lock);
}

void
console_put(struct console *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	struct console_watch *due;

	pthread_mutex_lock(&c->cn_lock);
	if (len > c->cn_out_size) {
		/* Only the newest out_size bytes can be kept. */
		c->cn_end += len - c->cn_out_size;
		p += len - c->cn_out_size;
		len = c->cn_out_size;
	}
	while (len > 0) {
		size_t at = (size_t)(c->cn_end % c->cn_out_size);
		size_t n = c->cn_out_size - at;

		if (n > len)
			n = len;
		memcpy(c->cn_out + at, p, n);
		c->cn_end += n;
		p += n;
		len -= n;
	}
	due = console_due(c);
	pthread_mutex_unlock(&c->cn_lock);
	console_wake(c, due);
}

size_t
console_read(struct console *c, uint64_t *offset, void *buf, size_t len,
	     uint64_t *lost)
{
	uint64_t start, oldest;
	uint8_t *p = buf;
	size_t done = 0;

	pthread_mutex_lock(&c->cn_lock);
	oldest = c->cn_end > c->cn_out_size ? c->cn_end - c->cn_out_size : 0;
	start = *offset;
	*lost = 0;
	if (start < oldest) {
		*lost = oldest - start;
		start = oldest;
	}
	if (start > c->cn_end)
		start = c->cn_end;
	while (done < len && start < c->cn_end) {
		size_t at = (size_t)(start % c->cn_out_size);
		size_t n = c->cn_out_size - at;

		if (n > len - done)
			n = len - done;
		if (n > c->cn_end - start)
			n = (size_t)(c->cn_end - start);
		memcpy(p + done, c->cn_out + at, n);
		done += n;
		start += n;
	}
	*offset = start;
	pthread_mutex_unlock(&c->cn_lock);
	return done;
}

uint64_t
console_end(struct console *c)
{
	uint64_t end;

	pthread_mutex_lock(&c->cn_lock);
	end = c->cn_end;
	pthread_mutex_unlock(&c->cn_lock);
	return end;
}

size_t
console_input(struct console *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t n = 0;

	pthread_mutex_lock(&c->cn_lock);
	if (len > c->cn_in_size - c->cn_in_len) {
		pthread_mutex_unlock(&c->cn_lock);
		return 0; /* all or nothing */
	}
	while (n < len) {
		c->cn_in[(c->cn_in_head + c->cn_in_len) % c->cn_in_size] = p[n];
		c->cn_in_len++;
		n++;
	}
	pthread_mutex_unlock(&c->cn_lock);
	return n;
}

int
console_take(struct console *c, uint8_t *byte)
{
	int got = 0;

	pthread_mutex_lock(&c->cn_lock);
	if (c->cn_in_len > 0) {
		*byte = c->cn_in[c->cn_in_head];
		c->cn_in_head = (c->cn_in_head + 1) % c->cn_in_size;
		c->cn_in_len--;
		got = 1;
	}
	pthread_mutex_unlock(&c->cn_lock);
	return got;
}

size_t
console_input_pending(struct console *c)
{
	size_t n;

	pthread_mutex_lock(&c->cn_lock);
	n = c->cn_in_len;
	pthread_mutex_unlock(&c->cn_lock);
	return n;
}

void
console_close(struct console *c)
{
	struct console_watch *due;

	pthread_mutex_lock(&c->cn_lock);
	c->cn_closed = 1;
	due = console_due(c);
	pthread_mutex_unlock(&c->cn_lock);
	console_wake(c, due);
}

void
console_open(struct console *c)
{
	pthread_mutex_lock(&c->cn_lock);
	c->cn_closed = 0;
	c->cn_in_len = 0; /* input meant for the last run is dropped */
	pthread_mutex_unlock(&c->cn_lock);
}

int
console_is_closed(struct console *c)
{
	int closed;

	pthread_mutex_lock(&c->cn_lock);
	closed = c->cn_closed;
	pthread_mutex_unlock(&c->cn_lock);
	return closed;
}

int
console_watch(struct console *c, uint64_t offset, void (*wake)(void *),
	      void *arg)
{
	struct console_watch *w;

	pthread_mutex_lock(&c->cn_lock);
	if (c->cn_closed || c->cn_end > offset) {
		pthread_mutex_unlock(&c->cn_lock);
		return 1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		pthread_mutex_unlock(&c->cn_lock);
		errno = ENOMEM;
		return -1;
	}
	w->cw_offset = offset;
	w->cw_wake = wake;
	w->cw_arg = arg;
	w->cw_next = c->cn_watches;
	c->cn_watches = w;
	pthread_mutex_unlock(&c->cn_lock);
	return 0;
}

void
console_unwatch(struct console *c, void *arg)
{
	struct console_watch **pp, *w;

	pthread_mutex_lock(&c->cn_lock);
	for (pp = &c->cn_watches; (w = *pp) != NULL;) {
		if (w->cw_arg == arg) {
			*pp = w->cw_next;
			free(w);
		} else {
			pp = &w->cw_next;
		}
	}
	/* A callback for arg may be under way: wait it out. */
	while (c->cn_dispatching > 0)
		pthread_cond_wait(&c->cn_dispatched, &c->cn_lock);
	pthread_mutex_unlock(&c->cn_lock);
}
