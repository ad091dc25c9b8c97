/*
 * The event hub: subscribers, their queues, replay from the journal and
 * keep-alives.  See core/events.h for the guarantees and the locks.
 */
#include "core/events.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/log.h"
#include "base/timefmt.h"

/* Journal rows a replaying subscriber reads at a time. */
#define EVENTS_REPLAY_PAGE 64

/*
 * Coalescing: after handing out a batch, the dispatcher waits this long
 * per subscriber (at most EVENTS_COALESCE_MAX_US) before the next, so
 * that a burst reaches each stream in a few large writes rather than one
 * wake per commit.  An event after a quiet spell goes out at once.
 */
#define EVENTS_COALESCE_US_PER_SUB 10
#define EVENTS_COALESCE_MAX_US 10000

/* One published event, shared by the queues that hold it. */
struct events_item {
	atomic_uint ei_refs;
	struct db_event ei_ev;       /* what filters look at (no ev_data) */
	struct events_item *ei_next; /* in ev_pending */
	int64_t ei_id;
	size_t ei_len;
	char ei_text[]; /* "id: N\nevent: TYPE\ndata: {...}\n\n" */
};

struct events_sub {
	struct events *sb_hub;
	struct events_filter sb_filter;
	pthread_mutex_t sb_lock; /* guards what follows, up to the reader's */
	struct events_item **sb_ring; /* sb_cap slots, grown up to eo_buffer */
	unsigned sb_head, sb_n, sb_cap;
	int64_t sb_gap;     /* first id not queued (the queue was full), 0 */
	int sb_keepalive;   /* a keep-alive comment is due */
	int64_t sb_last_ms; /* when something was last sent */
	void (*sb_wake)(void *);
	void *sb_wake_arg;
	/* The reader's alone (one read at a time): */
	int sb_hello;         /* the opening comment was sent */
	int64_t sb_cursor;    /* replay: the last id read from the journal */
	int64_t sb_upto;      /* replay up to this id; cursor == upto: done */
	int64_t sb_last_sent; /* the last id sent */
	int sb_ending;        /* the gap was sent: the end comes next */
	char *sb_out;         /* bytes to send, from sb_off: the opening */
	size_t sb_out_len, sb_off, sb_out_cap; /* comment, replay, gap... */
	struct events_item *sb_cur;            /* a live event being sent, */
	size_t sb_cur_off;                     /* from this byte */
	struct events_sub *sb_next, *sb_prev;
};

struct events {
	struct db *ev_db;
	struct events_opts ev_opts;
	pthread_mutex_t ev_lock;
	pthread_cond_t ev_cond;   /* the keep-alive thread's sleep */
	int64_t ev_last;          /* the newest id handed to subscribers */
	pthread_cond_t ev_caught; /* ev_last moved on */
	/*
	 * Events committed and not yet handed out, oldest first, under
	 * ev_qlock: the writer only queues them, so a commit never waits
	 * for the fan-out, and the dispatcher hands out all that queued
	 * meanwhile at once, waking each subscriber once per batch.
	 */
	pthread_mutex_t ev_qlock;
	pthread_cond_t ev_qcond; /* on CLOCK_MONOTONIC */
	struct events_item *ev_pending, **ev_pending_tail;
	int64_t ev_lost;      /* first id not queued (out of memory), 0 none */
	int64_t ev_published; /* the newest id committed (queued or lost) */
	int ev_qstopping;
	pthread_t ev_dispatcher;
	struct events_sub *ev_subs;
	uint64_t ev_nsubs;
	atomic_ullong ev_emitted;
	int ev_stopping;
	pthread_t ev_thread;
};

static void
events_item_unref(struct events_item *it)
{
	if (atomic_fetch_sub(&it->ei_refs, 1) == 1)
		free(it);
}

static struct events_item *
events_item_new(const struct db_event *e)
{
	struct events_item *it;
	size_t cap = e->ev_data_len + sizeof(e->ev_type) + 64;
	int n;

	if ((it = malloc(sizeof(*it) + cap)) == NULL)
		return NULL;
	n = snprintf(it->ei_text, cap,
		     "id: %" PRId64 "\nevent: %s\ndata: %s\n\n", e->ev_id,
		     e->ev_type, e->ev_data);
	if (n < 0 || (size_t)n >= cap) {
		free(it);
		return NULL;
	}
	atomic_init(&it->ei_refs, 1);
	it->ei_ev = *e;
	it->ei_ev.ev_data = NULL;
	it->ei_next = NULL;
	it->ei_id = e->ev_id;
	it->ei_len = (size_t)n;
	return it;
}

/* Whether list (NULL-terminated) is NULL or holds s (or, with prefix,
 * s's part before its first '.'). */
static int
events_list_has(char **list, const char *s, int prefix)
{
	size_t dot = strcspn(s, ".");

	if (list == NULL)
		return 1;
	for (; *list != NULL; list++) {
		if (strcmp(*list, s) == 0)
			return 1;
		if (prefix && strlen(*list) == dot &&
		    strncmp(*list, s, dot) == 0)
			return 1;
	}
	return 0;
}

static int
events_match(const struct events_sub *s, const struct db_event *e)
{
	const struct events_filter *f = &s->sb_filter;

	if (!events_list_has(f->ef_types, e->ev_type, 1))
		return 0;
	if (f->ef_vms != NULL &&
	    (e->ev_vm[0] == '\0' || !events_list_has(f->ef_vms, e->ev_vm, 0)))
		return 0;
	if (f->ef_jails != NULL &&
	    (e->ev_vm[0] == '\0' ||
	     !events_list_has(f->ef_jails, e->ev_jail, 0)))
		return 0;
	return f->ef_may == NULL || f->ef_may(f->ef_arg, e);
}

/* Slots a subscriber's ring starts with: an idle subscriber holds no
 * more (its bound is eo_buffer). */
#define EVENTS_RING_FIRST 8

/*
 * Doubles s's ring, up to max slots, keeping its events in order.  -1
 * when it cannot (at max, or out of memory): the ring is full.  sb_lock.
 */
static int
events_ring_grow(struct events_sub *s, unsigned max)
{
	unsigned cap = s->sb_cap * 2 < max ? s->sb_cap * 2 : max, i;
	struct events_item **ring;

	if (cap <= s->sb_cap || (ring = malloc(cap * sizeof(*ring))) == NULL)
		return -1;
	for (i = 0; i < s->sb_n; i++)
		ring[i] = s->sb_ring[(s->sb_head + i) % s->sb_cap];
	free(s->sb_ring);
	s->sb_ring = ring;
	s->sb_cap = cap;
	s->sb_head = 0;
	return 0;
}

/* Takes the wake of s, if any, to be called without sb_lock.  sb_lock. */
static void
events_take_wake(struct events_sub *s, void (**wake)(void *), void **arg)
{
	*wake = s->sb_wake;
	*arg = s->sb_wake_arg;
	s->sb_wake = NULL;
}

/* db's sink: on the writer's thread, in id order.  Only queues. */
static void
events_publish(void *arg, const struct db_event *e)
{
	struct events *ev = arg;
	struct events_item *it = events_item_new(e);

	atomic_fetch_add_explicit(&ev->ev_emitted, 1, memory_order_relaxed);
	pthread_mutex_lock(&ev->ev_qlock);
	if (e->ev_id > ev->ev_published)
		ev->ev_published = e->ev_id;
	if (it == NULL) {
		log_warnx("events: out of memory for event %" PRId64
			  "; subscribers get a gap",
			  e->ev_id);
		if (ev->ev_lost == 0)
			ev->ev_lost = e->ev_id;
	} else {
		*ev->ev_pending_tail = it;
		ev->ev_pending_tail = &it->ei_next;
	}
	pthread_cond_signal(&ev->ev_qcond);
	pthread_mutex_unlock(&ev->ev_qlock);
}

/* Queues batch's events that s takes.  sb_lock. */
static void
events_push(struct events *ev, struct events_sub *s, struct events_item *batch,
	    int64_t lost)
{
	struct events_item *it;

	for (it = batch; it != NULL && s->sb_gap == 0; it = it->ei_next) {
		if (lost != 0 && it->ei_id > lost) {
			s->sb_gap = lost;
			break;
		}
		if (!events_match(s, &it->ei_ev))
			continue;
		if (s->sb_n < s->sb_cap ||
		    events_ring_grow(s, ev->ev_opts.eo_buffer) == 0) {
			atomic_fetch_add_explicit(&it->ei_refs, 1,
						  memory_order_relaxed);
			s->sb_ring[(s->sb_head + s->sb_n) % s->sb_cap] = it;
			s->sb_n++;
		} else {
			s->sb_gap = it->ei_id;
		}
	}
	if (lost != 0 && s->sb_gap == 0)
		s->sb_gap = lost;
}

static int64_t
events_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Hands out what was published, in order, batch by batch. */
static void *
events_dispatch_main(void *arg)
{
	struct events *ev = arg;
	struct events_item *batch, *it, *next;
	struct events_sub *s;
	void (*wake)(void *);
	void *warg;
	int64_t lost, last, next_us = 0;
	uint64_t gap_us;
	struct timespec ts;

	for (;;) {
		pthread_mutex_lock(&ev->ev_qlock);
		while (ev->ev_pending == NULL && ev->ev_lost == 0 &&
		       !ev->ev_qstopping)
			pthread_cond_wait(&ev->ev_qcond, &ev->ev_qlock);
		if (ev->ev_pending == NULL && ev->ev_lost == 0) {
			pthread_mutex_unlock(&ev->ev_qlock);
			return NULL;
		}
		/* Not sooner than the coalescing interval after the last
		 * batch: what commits meanwhile joins this one. */
		while (!ev->ev_qstopping && events_mono_us() < next_us) {
			ts.tv_sec = (time_t)(next_us / 1000000);
			ts.tv_nsec = (long)(next_us % 1000000) * 1000;
			pthread_cond_timedwait(&ev->ev_qcond, &ev->ev_qlock,
					       &ts);
		}
		batch = ev->ev_pending;
		ev->ev_pending = NULL;
		ev->ev_pending_tail = &ev->ev_pending;
		lost = ev->ev_lost;
		ev->ev_lost = 0;
		pthread_mutex_unlock(&ev->ev_qlock);

		for (last = 0, it = batch; it != NULL; it = it->ei_next)
			last = it->ei_id;
		pthread_mutex_lock(&ev->ev_lock);
		for (s = ev->ev_subs; s != NULL; s = s->sb_next) {
			pthread_mutex_lock(&s->sb_lock);
			events_push(ev, s, batch, lost);
			events_take_wake(s, &wake, &warg);
			pthread_mutex_unlock(&s->sb_lock);
			/* Once per batch: a burst costs each stream one
			 * resume, not one per event. */
			if (wake != NULL)
				wake(warg);
		}
		if (last > ev->ev_last)
			ev->ev_last = last;
		if (lost > ev->ev_last)
			ev->ev_last = lost;
		pthread_cond_broadcast(&ev->ev_caught);
		gap_us = ev->ev_nsubs * EVENTS_COALESCE_US_PER_SUB;
		pthread_mutex_unlock(&ev->ev_lock);
		next_us = events_mono_us() + (gap_us < EVENTS_COALESCE_MAX_US
						  ? (int64_t)gap_us
						  : EVENTS_COALESCE_MAX_US);
		for (it = batch; it != NULL; it = next) {
			next = it->ei_next;
			events_item_unref(it);
		}
	}
}

/* Wakes idle subscribers with a keep-alive comment due. */
static void *
events_keepalive_main(void *arg)
{
	struct events *ev = arg;
	int64_t every = (int64_t)ev->ev_opts.eo_keepalive_s * 1000;
	struct timespec ts;
	struct events_sub *s;
	void (*wake)(void *);
	void *warg;

	pthread_mutex_lock(&ev->ev_lock);
	while (!ev->ev_stopping) {
		int64_t now = timefmt_now_ms(),
			step = every >= 4000 ? 1000 : every / 4 + 1;

		for (s = ev->ev_subs; s != NULL; s = s->sb_next) {
			pthread_mutex_lock(&s->sb_lock);
			wake = NULL;
			if (now - s->sb_last_ms >= every) {
				s->sb_keepalive = 1;
				s->sb_last_ms = now;
				events_take_wake(s, &wake, &warg);
			}
			pthread_mutex_unlock(&s->sb_lock);
			if (wake != NULL)
				wake(warg);
		}
		now += step;
		ts.tv_sec = (time_t)(now / 1000);
		ts.tv_nsec = (long)(now % 1000) * 1000000L;
		pthread_cond_timedwait(&ev->ev_cond, &ev->ev_lock, &ts);
	}
	pthread_mutex_unlock(&ev->ev_lock);
	return NULL;
}

/* Lets the dispatcher hand out what is queued, then joins it. */
static void
events_dispatch_stop(struct events *ev)
{
	pthread_mutex_lock(&ev->ev_qlock);
	ev->ev_qstopping = 1;
	pthread_cond_signal(&ev->ev_qcond);
	pthread_mutex_unlock(&ev->ev_qlock);
	pthread_join(ev->ev_dispatcher, NULL);
}

int
events_open(struct events **out, struct db *db, const struct events_opts *o)
{
	struct events *ev;
	int64_t oldest, newest;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	if ((ev = calloc(1, sizeof(*ev))) == NULL)
		return -1;
	ev->ev_db = db;
	ev->ev_opts = *o;
	if (ev->ev_opts.eo_buffer == 0)
		ev->ev_opts.eo_buffer = 1;
	if (ev->ev_opts.eo_keepalive_s == 0)
		ev->ev_opts.eo_keepalive_s = 15;
	pthread_mutex_init(&ev->ev_lock, NULL);
	pthread_cond_init(&ev->ev_cond, NULL);
	pthread_cond_init(&ev->ev_caught, NULL);
	pthread_mutex_init(&ev->ev_qlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->ev_qcond, &ca);
	pthread_condattr_destroy(&ca);
	ev->ev_pending_tail = &ev->ev_pending;
	atomic_init(&ev->ev_emitted, 0);
	if (db_event_config(db, events_publish, ev, o->eo_keep,
			    o->eo_max_age_s * 1000) != 0 ||
	    db_event_bounds(db, &oldest, &newest) != 0) {
		log_warn("events: the journal");
		goto fail;
	}
	ev->ev_last = ev->ev_published = newest;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&ev->ev_dispatcher, NULL, events_dispatch_main, ev);
	if (rc == 0 && (rc = pthread_create(&ev->ev_thread, NULL,
					    events_keepalive_main, ev)) != 0)
		events_dispatch_stop(ev);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		goto fail;
	}
	*out = ev;
	return 0;
fail:
	(void)db_event_config(db, NULL, NULL, o->eo_keep,
			      o->eo_max_age_s * 1000);
	pthread_cond_destroy(&ev->ev_qcond);
	pthread_mutex_destroy(&ev->ev_qlock);
	pthread_cond_destroy(&ev->ev_caught);
	pthread_cond_destroy(&ev->ev_cond);
	pthread_mutex_destroy(&ev->ev_lock);
	free(ev);
	return -1;
}

void
events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->ev_lock);
	ev->ev_stopping = 1;
	pthread_cond_signal(&ev->ev_cond);
	pthread_cond_broadcast(&ev->ev_caught);
	pthread_mutex_unlock(&ev->ev_lock);
	pthread_join(ev->ev_thread, NULL);
	events_dispatch_stop(ev); /* hands out what is left first */
	if (ev->ev_subs != NULL)
		log_warnx("events: subscribers left at close");
	pthread_cond_destroy(&ev->ev_qcond);
	pthread_mutex_destroy(&ev->ev_qlock);
	pthread_cond_destroy(&ev->ev_caught);
	pthread_cond_destroy(&ev->ev_cond);
	pthread_mutex_destroy(&ev->ev_lock);
	free(ev);
}

static void
events_strv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

static void
events_filter_free(struct events_filter *f)
{
	if (f->ef_free != NULL)
		f->ef_free(f->ef_arg);
	events_strv_free(f->ef_types);
	events_strv_free(f->ef_vms);
	events_strv_free(f->ef_jails);
	memset(f, 0, sizeof(*f));
}

/*
 * Waits until what was committed up to published has been handed out
 * (the dispatcher's batch is at most EVENTS_COALESCE_MAX_US away), so a
 * subscription's seam is after every change committed before it: a
 * client that saw a change answered, then subscribed, neither gets that
 * change's event live nor has its id refused as one from the future.
 * Not longer than a second (an event lost to memory may keep ev_last
 * short of it).  ev_lock.
 */
static void
events_catch_up(struct events *ev, int64_t published)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	while (ev->ev_last < published && !ev->ev_stopping)
		if (pthread_cond_timedwait(&ev->ev_caught, &ev->ev_lock, &ts) ==
		    ETIMEDOUT)
			break;
}

int
events_subscribe(struct events *ev, int64_t since, struct events_filter *f,
		 struct events_sub **out, int64_t *oldest, int64_t *newest)
{
	struct events_sub *s;
	int64_t first = 0, last = 0, published;

	if (since >= 0 && db_event_bounds(ev->ev_db, &first, &last) != 0) {
		events_filter_free(f);
		errno = EIO;
		return -1;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->sb_ring = calloc(EVENTS_RING_FIRST, sizeof(*s->sb_ring))) ==
		NULL) {
		free(s);
		events_filter_free(f);
		errno = ENOMEM;
		return -1;
	}
	s->sb_hub = ev;
	s->sb_cap = EVENTS_RING_FIRST < ev->ev_opts.eo_buffer
			? EVENTS_RING_FIRST
			: ev->ev_opts.eo_buffer;
	s->sb_filter = *f;
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&s->sb_lock, NULL);
	s->sb_last_ms = timefmt_now_ms();

	pthread_mutex_lock(&ev->ev_qlock);
	published = ev->ev_published;
	pthread_mutex_unlock(&ev->ev_qlock);
	pthread_mutex_lock(&ev->ev_lock);
	events_catch_up(ev, published);
	*newest = ev->ev_last;
	if (first == 0) /* none kept: the next one */
		first = (int64_t)db_lost_next(ev->ev_db, DB_LOST_EVENT,
					      (uint64_t)ev->ev_last);
	*oldest = first;
	if (since > ev->ev_last) {
		pthread_mutex_unlock(&ev->ev_lock);
		events_sub_free(s);
		errno = ERANGE;
		return -1;
	}
	if (since >= 0 && since < ev->ev_last &&
	    (int64_t)db_lost_next(ev->ev_db, DB_LOST_EVENT, (uint64_t)since) <
		first) {
		pthread_mutex_unlock(&ev->ev_lock);
		events_sub_free(s);
		errno = ESTALE;
		return -1;
	}
	/* The seam: what is published from now on is queued; what was
	 * published before is read from the journal, up to ev_last. */
	s->sb_cursor = since >= 0 ? since : ev->ev_last;
	s->sb_upto = ev->ev_last;
	s->sb_last_sent = s->sb_cursor;
	s->sb_next = ev->ev_subs;
	if (s->sb_next != NULL)
		s->sb_next->sb_prev = s;
	ev->ev_subs = s;
	ev->ev_nsubs++;
	pthread_mutex_unlock(&ev->ev_lock);
	*out = s;
	return 0;
}

/* Appends n bytes to what the reader sends next.  -1 ENOMEM. */
static int
events_out(struct events_sub *s, const char *p, size_t n)
{
	char *q;

	if (s->sb_out_len + n > s->sb_out_cap) {
		size_t cap = s->sb_out_cap ? s->sb_out_cap : 1024;

		while (cap < s->sb_out_len + n)
			cap *= 2;
		if ((q = realloc(s->sb_out, cap)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		s->sb_out = q;
		s->sb_out_cap = cap;
	}
	memcpy(s->sb_out + s->sb_out_len, p, n);
	s->sb_out_len += n;
	return 0;
}

/* The gap event: what was missed, then the end of the stream. */
static int
events_out_gap(struct events_sub *s, int64_t first_missed, const char *why)
{
	char buf[512];
	int n;

	n = snprintf(buf, sizeof(buf),
		     "event: gap\ndata: {\"first_missed_id\":%" PRId64
		     ",\"last_sent_id\":%" PRId64
		     ",\"detail\":\"%s; reconnect with Last-Event-ID: %" PRId64
		     " to read on from the journal\"}\n\n",
		     first_missed, s->sb_last_sent, why, s->sb_last_sent);
	s->sb_ending = 1;
	return events_out(s, buf, (size_t)n);
}

struct events_replay {
	struct events_sub *rp_sub;
	int rp_pruned; /* the journal no longer has the next id */
	int rp_rows;
};

static int
events_replay_each(void *arg, const struct db_event *e)
{
	struct events_replay *rp = arg;
	struct events_sub *s = rp->rp_sub;
	struct events_item *it;
	int rc = 0;

	/* Committed ids are contiguous (a rollback takes its id back), but
	 * for what a restore left out (db_lost_next): one missing was
	 * pruned after we looked. */
	if ((uint64_t)e->ev_id != db_lost_next(s->sb_hub->ev_db, DB_LOST_EVENT,
					       (uint64_t)s->sb_cursor)) {
		rp->rp_pruned = 1;
		return 1;
	}
	rp->rp_rows++;
	s->sb_cursor = e->ev_id;
	if (!events_match(s, e))
		return 0;
	if ((it = events_item_new(e)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = events_out(s, it->ei_text, it->ei_len);
	s->sb_last_sent = e->ev_id;
	free(it);
	return rc;
}

/* Fills sb_out with the next page of the journal; -1 on an error. */
static int
events_replay(struct events_sub *s)
{
	struct events_replay rp = {s, 0, 0};
	int64_t missed;

	if (db_event_list(s->sb_hub->ev_db, s->sb_cursor, s->sb_upto,
			  EVENTS_REPLAY_PAGE, events_replay_each, &rp) < 0) {
		log_warn("events: replay after %" PRId64, s->sb_cursor);
		return -1;
	}
	if (rp.rp_pruned || (rp.rp_rows == 0 && s->sb_cursor < s->sb_upto)) {
		missed = s->sb_cursor + 1;
		s->sb_cursor = s->sb_upto;
		return events_out_gap(s, missed,
				      "the journal dropped these events");
	}
	return 0;
}

/*
 * Appends the next piece of s's stream to sb_out: the opening comment, a
 * page of the journal, a queued event, the gap or a keep-alive.  1 when
 * it appended, 0 when there is nothing now, -1 on an error.
 */
static int
events_next(struct events_sub *s)
{
	static const char hello[] = ": vmmapid events\nretry: 2000\n\n";
	static const char alive[] = ": keep-alive\n\n";
	struct events_item *it = NULL;
	int64_t gap = 0;

	if (s->sb_ending)
		return 0;
	if (!s->sb_hello) {
		s->sb_hello = 1;
		return events_out(s, hello, sizeof(hello) - 1) == 0 ? 1 : -1;
	}
	if (s->sb_cursor < s->sb_upto)
		return events_replay(s) == 0 ? 1 : -1;
	pthread_mutex_lock(&s->sb_lock);
	if (s->sb_n > 0) {
		it = s->sb_ring[s->sb_head];
		s->sb_ring[s->sb_head] = NULL;
		s->sb_head = (s->sb_head + 1) % s->sb_cap;
		s->sb_n--;
	} else if (s->sb_gap != 0) {
		gap = s->sb_gap;
	} else if (s->sb_keepalive) {
		s->sb_keepalive = 0;
		pthread_mutex_unlock(&s->sb_lock);
		return events_out(s, alive, sizeof(alive) - 1) == 0 ? 1 : -1;
	} else {
		pthread_mutex_unlock(&s->sb_lock);
		return 0;
	}
	pthread_mutex_unlock(&s->sb_lock);
	if (it == NULL)
		return events_out_gap(s, gap,
				      "this subscriber fell behind what the "
				      "daemon buffers for it") == 0
			   ? 1
			   : -1;
	/* Sent from the item itself: no copy. */
	s->sb_cur = it;
	s->sb_cur_off = 0;
	s->sb_last_sent = it->ei_id;
	return 1;
}

/* Copies up to *room bytes of p[*off..len) to *buf; 1 when all of it
 * has gone. */
static int
events_take(char **buf, size_t *room, const char *p, size_t len, size_t *off)
{
	size_t k = len - *off < *room ? len - *off : *room;

	memcpy(*buf, p + *off, k);
	*buf += k;
	*room -= k;
	*off += k;
	return *off == len;
}

/*
 * As many events as fit in max go out in one read, so that a stream
 * woken for a burst sends it in a few writes, not one per event.
 */
ssize_t
events_sub_read(struct events_sub *s, char *buf, size_t max)
{
	char *p = buf;
	size_t room = max;
	int rc;

	while (room > 0) {
		if (s->sb_off < s->sb_out_len) {
			if (events_take(&p, &room, s->sb_out, s->sb_out_len,
					&s->sb_off))
				s->sb_off = s->sb_out_len = 0;
		} else if (s->sb_cur != NULL) {
			if (events_take(&p, &room, s->sb_cur->ei_text,
					s->sb_cur->ei_len, &s->sb_cur_off)) {
				events_item_unref(s->sb_cur);
				s->sb_cur = NULL;
			}
		} else if ((rc = events_next(s)) == 0) {
			break;
		} else if (rc < 0) {
			if (p > buf)
				break; /* what we have first; it recurs */
			return -1;
		}
	}
	if (p == buf) {
		if (s->sb_ending)
			return -1;
		/* Idle: an idle subscriber holds no output buffer. */
		free(s->sb_out);
		s->sb_out = NULL;
		s->sb_out_cap = 0;
		return 0;
	}
	pthread_mutex_lock(&s->sb_lock);
	s->sb_last_ms = timefmt_now_ms();
	pthread_mutex_unlock(&s->sb_lock);
	return p - buf;
}

int
events_sub_watch(struct events_sub *s, void (*wake)(void *), void *arg)
{
	int ready;

	if (s->sb_off < s->sb_out_len || s->sb_cur != NULL || !s->sb_hello ||
	    s->sb_ending || s->sb_cursor < s->sb_upto)
		return 1;
	pthread_mutex_lock(&s->sb_lock);
	ready = s->sb_n > 0 || s->sb_gap != 0 || s->sb_keepalive;
	if (!ready) {
		s->sb_wake = wake;
		s->sb_wake_arg = arg;
	}
	pthread_mutex_unlock(&s->sb_lock);
	return ready;
}

void
events_sub_free(struct events_sub *s)
{
	struct events *ev;

	if (s == NULL)
		return;
	ev = s->sb_hub;
	/* Out of the list under ev_lock: no publish or keep-alive can be
	 * waking it once we hold it. */
	pthread_mutex_lock(&ev->ev_lock);
	if (s->sb_prev != NULL || ev->ev_subs == s) {
		if (s->sb_prev != NULL)
			s->sb_prev->sb_next = s->sb_next;
		else
			ev->ev_subs = s->sb_next;
		if (s->sb_next != NULL)
			s->sb_next->sb_prev = s->sb_prev;
		ev->ev_nsubs--;
	}
	pthread_mutex_unlock(&ev->ev_lock);
	if (s->sb_cur != NULL)
		events_item_unref(s->sb_cur);
	while (s->sb_n > 0) {
		events_item_unref(s->sb_ring[s->sb_head]);
		s->sb_head = (s->sb_head + 1) % s->sb_cap;
		s->sb_n--;
	}
	events_filter_free(&s->sb_filter);
	pthread_mutex_destroy(&s->sb_lock);
	free(s->sb_ring);
	free(s->sb_out);
	free(s);
}

int
events_daemon_started(struct db *db, const char *version,
		      const char (*stopped)[VMKEY_SIZE], size_t n)
{
	json_t *doc;
	char *text;
	int rc;

	/* Every caller sees this event: a count, not the VMs' names, which
	 * would tell a jail the names of VMs outside it.  Each VM's own
	 * vm.stopped names it to whoever may see that VM. */
	(void)stopped;
	doc = json_pack("{s:s, s:{s:I}}", "version", version, "reconciled",
			"stopped", (json_int_t)n);
	text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL) {
		errno = ENOMEM;
		return -1;
	}
	rc = db_event_append(db, "daemon.started", DB_EVENT_ALL, NULL, text);
	free(text);
	return rc;
}

void
events_stats(struct events *ev, uint64_t *emitted, uint64_t *subscribers)
{
	*emitted = atomic_load(&ev->ev_emitted);
	pthread_mutex_lock(&ev->ev_lock);
	*subscribers = ev->ev_nsubs;
	pthread_mutex_unlock(&ev->ev_lock);
}
