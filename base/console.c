#include "base/console.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "base/log.h"
#include "base/timefmt.h"

struct console_watch {
	uint64_t cw_offset;
	size_t cw_low;      /* bytes past cw_offset that make it due */
	uint64_t cw_due_us; /* or one byte at this time; UINT64_MAX: never */
	int cw_armed;       /* the console is queued for cw_due_us */
	void (*cw_wake)(void *);
	void *cw_arg;
	struct console_watch *cw_next;
};

struct console {
	pthread_mutex_t cn_lock;
	uint8_t *cn_map; /* both rings: one anonymous mapping */
	size_t cn_map_len;
	int cn_mapped;   /* 0: cn_map is heap memory (mmap failed) */
	uint8_t *cn_out; /* ring of cn_out_size bytes */
	size_t cn_out_size;
	uint64_t cn_end; /* absolute offset past the newest byte */
	uint8_t *cn_in;  /* ring of cn_in_size bytes */
	size_t cn_in_size, cn_in_head, cn_in_len;
	int cn_closed;
	struct console_watch *cn_watches;
	unsigned cn_dispatching;  /* threads calling due watches */
	void (*cn_in_fn)(void *); /* console_input_listen */
	void *cn_in_arg;
	unsigned cn_in_calls; /* calls of cn_in_fn under way */
	/* cn_dispatching or cn_in_calls fell to 0: */
	pthread_cond_t cn_dispatched;
	unsigned cn_refs;
	/* Guarded by the timer's ct_lock, not cn_lock: */
	uint64_t cn_timer_at;          /* queued for then; 0: not queued */
	struct console *cn_timer_next; /* next in the timer's queue */
};

/*
 * The console timer: calls the batch watches whose deadline passed with
 * too few bytes to be due by themselves.  One thread for every console
 * (a timer per follower would be a thread per VM), sleeping on a
 * condition variable until the soonest deadline: no polling.  Its queue
 * holds consoles, soonest first, each with one reference, so a console
 * is not freed while queued; a console stays queued when the watch that
 * queued it went (fired by output, removed), and the timer then finds
 * nothing due and drops its reference.
 */
static struct {
	pthread_once_t ct_once;
	pthread_mutex_t ct_lock; /* guards the queue and cn_timer_* */
	pthread_cond_t ct_cond;  /* the queue's head changed */
	struct console *ct_head;
	int ct_ok;   /* the thread runs (set once, before any arming) */
	int ct_busy; /* the thread is calling one console's watches */
} console_timer = {.ct_once = PTHREAD_ONCE_INIT,
		   .ct_lock = PTHREAD_MUTEX_INITIALIZER};

static void console_expire(struct console *c, uint64_t now);

static void *
console_timer_main(void *arg)
{
	struct console *c;
	struct timespec ts;
	uint64_t now;

	(void)arg;
	pthread_mutex_lock(&console_timer.ct_lock);
	for (;;) {
		if ((c = console_timer.ct_head) == NULL) {
			pthread_cond_wait(&console_timer.ct_cond,
					  &console_timer.ct_lock);
			continue;
		}
		now = timefmt_mono_us();
		if (c->cn_timer_at > now) {
			ts.tv_sec = (time_t)(c->cn_timer_at / 1000000);
			ts.tv_nsec = (long)(c->cn_timer_at % 1000000) * 1000;
			pthread_cond_timedwait(&console_timer.ct_cond,
					       &console_timer.ct_lock, &ts);
			continue;
		}
		console_timer.ct_head = c->cn_timer_next;
		c->cn_timer_next = NULL;
		c->cn_timer_at = 0;
		console_timer.ct_busy = 1;
		pthread_mutex_unlock(&console_timer.ct_lock);
		console_expire(c, now);
		pthread_mutex_lock(&console_timer.ct_lock);
		console_timer.ct_busy = 0;
		/* console_timer_drain may wait for it */
		pthread_cond_broadcast(&console_timer.ct_cond);
	}
	return NULL;
}

static void
console_timer_init(void)
{
	pthread_condattr_t ca;
	pthread_attr_t attr;
	pthread_t t;
	sigset_t all, old;
	int rc;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&console_timer.ct_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	/*
	 * Started from whichever thread first needs it (a vCPU thread takes
	 * SIGUSR1 kicks): no signal is for this one.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t, &attr, console_timer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		errno = rc;
		log_warn("console: timer thread (console streams are not "
			 "coalesced)");
		return;
	}
#ifdef __linux__
	(void)pthread_setname_np(t, "console-timer");
#endif
	console_timer.ct_ok = 1;
}

/*
 * Queues c (cn_lock held) to have its watches looked at when the clock
 * reaches at, unless it is queued for no later already.  -1 when there is
 * no timer thread: the caller treats the deadline as reached.
 */
static int
console_timer_arm(struct console *c, uint64_t at)
{
	struct console **pp;

	pthread_once(&console_timer.ct_once, console_timer_init);
	if (!console_timer.ct_ok)
		return -1;
	pthread_mutex_lock(&console_timer.ct_lock);
	if (c->cn_timer_at != 0 && c->cn_timer_at <= at) {
		pthread_mutex_unlock(&console_timer.ct_lock);
		return 0;
	}
	if (c->cn_timer_at != 0) {
		/* Queued for later: move it (its reference moves along). */
		for (pp = &console_timer.ct_head; *pp != c;
		     pp = &(*pp)->cn_timer_next)
			;
		*pp = c->cn_timer_next;
	} else {
		c->cn_refs++; /* the queue's, dropped by console_expire */
	}
	c->cn_timer_at = at;
	for (pp = &console_timer.ct_head;
	     *pp != NULL && (*pp)->cn_timer_at <= at;
	     pp = &(*pp)->cn_timer_next)
		;
	c->cn_timer_next = *pp;
	*pp = c;
	if (console_timer.ct_head == c)
		pthread_cond_signal(&console_timer.ct_cond);
	pthread_mutex_unlock(&console_timer.ct_lock);
	return 0;
}

void
console_timer_drain(void)
{
	struct console *c, *next;

	if (!console_timer.ct_ok)
		return;
	pthread_mutex_lock(&console_timer.ct_lock);
	while (console_timer.ct_busy)
		pthread_cond_wait(&console_timer.ct_cond,
				  &console_timer.ct_lock);
	c = console_timer.ct_head;
	console_timer.ct_head = NULL;
	for (next = c; next != NULL; next = next->cn_timer_next)
		next->cn_timer_at = 0;
	pthread_mutex_unlock(&console_timer.ct_lock);
	for (; c != NULL; c = next) {
		next = c->cn_timer_next;
		c->cn_timer_next = NULL;
		console_expire(c, UINT64_MAX);
	}
}

/* Rounds n up to whole pages. */
static size_t
console_pages(size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096;

	return (n + page - 1) / page * page;
}

struct console *
console_new(size_t out_size, size_t in_size)
{
	struct console *c;
	size_t out_len;
	void *map;

	if (out_size == 0 || in_size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	/*
	 * Not malloc: how much of a ring a heap allocation would have
	 * resident depends on what the heap held there before.
	 */
	out_len = console_pages(out_size);
	c->cn_map_len = out_len + console_pages(in_size);
	map = mmap(NULL, c->cn_map_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map != MAP_FAILED) {
		c->cn_mapped = 1;
#if defined(PR_SET_VMA) && defined(PR_SET_VMA_ANON_NAME)
		/* "[anon:vmmapid console]" in smaps, where the kernel can. */
		(void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME,
			    (unsigned long)map, c->cn_map_len,
			    (unsigned long)"vmmapid console");
#endif
	} else {
		/*
		 * The kernel merges neighbouring consoles' mappings into one,
		 * but freeing every other console leaves one per console:
		 * past vm.max_map_count (65530) mmap fails where the heap
		 * (brk) still serves.  Rather a console than none.
		 */
		if ((map = malloc(c->cn_map_len)) == NULL) {
			free(c);
			errno = ENOMEM;
			return NULL;
		}
	}
	c->cn_map = map;
	c->cn_out = c->cn_map;
	c->cn_out_size = out_size;
	c->cn_in = c->cn_map + out_len;
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
	pthread_mutex_lock(&c->cn_lock);
	refs = --c->cn_refs;
	pthread_mutex_unlock(&c->cn_lock);
	if (refs > 0)
		return;
	/* Not queued on the timer either: the queue holds a reference. */
	for (w = c->cn_watches; w != NULL; w = next) {
		next = w->cw_next;
		free(w);
	}
	pthread_cond_destroy(&c->cn_dispatched);
	pthread_mutex_destroy(&c->cn_lock);
	if (c->cn_mapped)
		munmap(c->cn_map, c->cn_map_len);
	else
		free(c->cn_map);
	free(c);
}

/*
 * Takes the watches that are due off the list (locked); the caller calls
 * them unlocked, through console_wake, so a callback may use the console.
 * now: the clock as the timer read it, or 0 for output and closes, which
 * leave the deadlines of queued watches to the timer.
 */
static struct console_watch *
console_due(struct console *c, uint64_t now)
{
	struct console_watch **pp = &c->cn_watches, *due = NULL, *w;
	uint64_t have;
	int fire;

	if (c->cn_watches == NULL)
		return NULL;

	while ((w = *pp) != NULL) {
		have = c->cn_end > w->cw_offset ? c->cn_end - w->cw_offset : 0;
		fire = c->cn_closed || have >= w->cw_low;
		if (!fire && have > 0 && (!w->cw_armed || now != 0)) {
			/*
			 * Fewer than cw_low bytes: due at cw_due_us.  Output
			 * reads the clock only when the first byte arrives;
			 * the timer re-queues what is due later than now.
			 */
			if (now == 0)
				now = timefmt_mono_us();
			if (now >= w->cw_due_us ||
			    console_timer_arm(c, w->cw_due_us) != 0)
				fire = 1;
			else
				w->cw_armed = 1;
		}
		if (fire) {
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

/* The timer took c off its queue at now: calls what is due, drops the
 * queue's reference. */
static void
console_expire(struct console *c, uint64_t now)
{
	struct console_watch *due;

	pthread_mutex_lock(&c->cn_lock);
	due = console_due(c, now);
	pthread_mutex_unlock(&c->cn_lock);
	console_wake(c, due);
	console_free(c);
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
	due = console_due(c, 0);
	pthread_mutex_unlock(&c->cn_lock);
	console_wake(c, due);
}

/* Where reading from offset starts (locked): *lost bytes skipped. */
static uint64_t
console_start(struct console *c, uint64_t offset, uint64_t *lost)
{
	uint64_t oldest;

	oldest = c->cn_end > c->cn_out_size ? c->cn_end - c->cn_out_size : 0;
	*lost = 0;
	if (offset < oldest) {
		*lost = oldest - offset;
		offset = oldest;
	}
	if (offset > c->cn_end)
		offset = c->cn_end;
	return offset;
}

size_t
console_read(struct console *c, uint64_t *offset, void *buf, size_t len,
	     uint64_t *lost)
{
	uint64_t start;
	uint8_t *p = buf;
	size_t done = 0;

	pthread_mutex_lock(&c->cn_lock);
	start = console_start(c, *offset, lost);
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

int
console_wait_past(struct console *c, uint64_t offset, unsigned us)
{
	uint64_t until = timefmt_mono_us() + us;
	int got;

	for (;;) {
		pthread_mutex_lock(&c->cn_lock);
		got = c->cn_end > offset || c->cn_closed;
		pthread_mutex_unlock(&c->cn_lock);
		if (got)
			return 1;
		if (timefmt_mono_us() >= until)
			return 0;
		sched_yield();
	}
}

uint64_t
console_pending(struct console *c, uint64_t *offset, int *closed)
{
	uint64_t n, lost;

	pthread_mutex_lock(&c->cn_lock);
	*offset = console_start(c, *offset, &lost);
	n = c->cn_end - *offset;
	*closed = c->cn_closed;
	pthread_mutex_unlock(&c->cn_lock);
	return n;
}

size_t
console_input(struct console *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	void (*fn)(void *);
	void *arg;
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
	fn = c->cn_in_fn;
	arg = c->cn_in_arg;
	if (fn != NULL && n > 0)
		c->cn_in_calls++;
	pthread_mutex_unlock(&c->cn_lock);
	if (fn != NULL && n > 0) {
		fn(arg);
		pthread_mutex_lock(&c->cn_lock);
		if (--c->cn_in_calls == 0)
			pthread_cond_broadcast(&c->cn_dispatched);
		pthread_mutex_unlock(&c->cn_lock);
	}
	return n;
}

void
console_input_listen(struct console *c, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&c->cn_lock);
	c->cn_in_fn = fn;
	c->cn_in_arg = arg;
	/* Calls of the listener replaced may still be under way. */
	while (c->cn_in_calls > 0)
		pthread_cond_wait(&c->cn_dispatched, &c->cn_lock);
	pthread_mutex_unlock(&c->cn_lock);
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
	due = console_due(c, 0);
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
	return console_watch_batch(c, offset, 1, UINT64_MAX, wake, arg);
}

int
console_watch_batch(struct console *c, uint64_t offset, size_t low,
		    uint64_t due_us, void (*wake)(void *), void *arg)
{
	struct console_watch *w;
	uint64_t have;

	if (low == 0)
		low = 1;
	pthread_mutex_lock(&c->cn_lock);
	have = c->cn_end > offset ? c->cn_end - offset : 0;
	if (c->cn_closed || have >= low ||
	    (have > 0 && timefmt_mono_us() >= due_us)) {
		pthread_mutex_unlock(&c->cn_lock);
		return 1;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		pthread_mutex_unlock(&c->cn_lock);
		errno = ENOMEM;
		return -1;
	}
	w->cw_offset = offset;
	w->cw_low = low;
	w->cw_due_us = due_us;
	w->cw_wake = wake;
	w->cw_arg = arg;
	if (have > 0) {
		/* The bytes are there: the deadline runs now. */
		if (console_timer_arm(c, due_us) != 0) {
			pthread_mutex_unlock(&c->cn_lock);
			free(w);
			return 1;
		}
		w->cw_armed = 1;
	}
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
