/*
 * core/console.c: the output ring by absolute offsets (wrap, lost bytes,
 * a write larger than the ring), the all-or-nothing input queue, plain
 * watches, and the batch watches a followed console is coalesced with:
 * due at the low-water mark (from the writing thread), at the deadline
 * (from the console timer), at the close, never twice and never after
 * console_unwatch.  Also that the rings cost no memory until written and
 * none once freed (Linux: RssAnon from /proc/self/status).
 *
 * Named test_console_ring, not test_console: tests/api/ has that one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/console.h"
#include "base/timefmt.h"

#include "tskip.h"

/* Upper bound on any wait here; a pass takes milliseconds. */
#define WAIT_MS 10000

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* What a watch callback saw. */
struct wake_count {
	pthread_mutex_t wc_lock;
	pthread_cond_t wc_cond;
	int wc_calls;
	pthread_t wc_thread; /* the thread of the last call */
	uint64_t wc_at_us;   /* when, timefmt_mono_us */
};

static void
wake_init(struct wake_count *wc)
{
	memset(wc, 0, sizeof(*wc));
	pthread_mutex_init(&wc->wc_lock, NULL);
	pthread_cond_init(&wc->wc_cond, NULL);
}

static void
wake_destroy(struct wake_count *wc)
{
	pthread_mutex_destroy(&wc->wc_lock);
	pthread_cond_destroy(&wc->wc_cond);
}

static void
wake_cb(void *arg)
{
	struct wake_count *wc = arg;

	pthread_mutex_lock(&wc->wc_lock);
	wc->wc_calls++;
	wc->wc_thread = pthread_self();
	wc->wc_at_us = timefmt_mono_us();
	pthread_cond_broadcast(&wc->wc_cond);
	pthread_mutex_unlock(&wc->wc_lock);
}

static int
wake_calls(struct wake_count *wc)
{
	int n;

	pthread_mutex_lock(&wc->wc_lock);
	n = wc->wc_calls;
	pthread_mutex_unlock(&wc->wc_lock);
	return n;
}

/* Waits up to ms for a call; returns the calls so far. */
static int
wake_wait(struct wake_count *wc, int ms)
{
	uint64_t end = timefmt_mono_us() + (uint64_t)ms * 1000;
	int n;

	pthread_mutex_lock(&wc->wc_lock);
	while (wc->wc_calls == 0 && timefmt_mono_us() < end) {
		pthread_mutex_unlock(&wc->wc_lock);
		sleep_ms(1);
		pthread_mutex_lock(&wc->wc_lock);
	}
	n = wc->wc_calls;
	pthread_mutex_unlock(&wc->wc_lock);
	return n;
}

static void
test_console__offsets_wrap_and_count_the_lost_bytes(void **state)
{
	struct console *c = console_new(8, 4);
	uint64_t off = 0, lost = 99, at;
	char buf[32];
	int closed = -1;

	(void)state;
	assert_non_null(c);
	assert_int_equal(console_end(c), 0);
	at = 0;
	assert_int_equal(console_pending(c, &at, &closed), 0);
	assert_int_equal(closed, 0);
	console_put(c, "abcdef", 6);
	assert_int_equal(console_read(c, &off, buf, sizeof(buf), &lost), 6);
	assert_memory_equal(buf, "abcdef", 6);
	assert_int_equal(off, 6);
	assert_int_equal(lost, 0);
	/* Past the ring's end: the oldest two go. */
	console_put(c, "ghij", 4);
	assert_int_equal(console_end(c), 10);
	at = 6;
	assert_int_equal(console_pending(c, &at, &closed), 4);
	assert_int_equal(at, 6);
	/* From a byte no longer kept: from the oldest kept, as a read. */
	at = 0;
	assert_int_equal(console_pending(c, &at, &closed), 8);
	assert_int_equal(at, 2);
	off = 0;
	assert_int_equal(console_read(c, &off, buf, sizeof(buf), &lost), 8);
	assert_memory_equal(buf, "cdefghij", 8);
	assert_int_equal(lost, 2);
	assert_int_equal(off, 10);
	/* A short read across the wrap point, then the rest. */
	off = 5;
	assert_int_equal(console_read(c, &off, buf, 4, &lost), 4);
	assert_memory_equal(buf, "fghi", 4);
	assert_int_equal(console_read(c, &off, buf, 4, &lost), 1);
	assert_memory_equal(buf, "j", 1);
	/* Past the newest byte: nothing. */
	off = 100;
	assert_int_equal(console_read(c, &off, buf, 4, &lost), 0);
	at = 100;
	assert_int_equal(console_pending(c, &at, &closed), 0);
	assert_int_equal(at, 10);
	/* One write larger than the ring keeps its newest bytes. */
	console_put(c, "0123456789ABCDEFGHIJ", 20);
	assert_int_equal(console_end(c), 30);
	off = 0;
	assert_int_equal(console_read(c, &off, buf, sizeof(buf), &lost), 8);
	assert_memory_equal(buf, "CDEFGHIJ", 8);
	assert_int_equal(lost, 22);
	console_free(c);
}

static void
test_console__sizes_of_0_are_einval(void **state)
{
	(void)state;
	errno = 0;
	assert_null(console_new(0, 4));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(console_new(4, 0));
	assert_int_equal(errno, EINVAL);
}

static void
test_console__input_is_all_or_nothing_and_a_new_run_drops_it(void **state)
{
	struct console *c = console_new(8, 4);
	uint8_t b;

	(void)state;
	assert_int_equal(console_input(c, "abc", 3), 3);
	assert_int_equal(console_input(c, "de", 2), 0);
	assert_int_equal(console_input_pending(c), 3);
	assert_int_equal(console_take(c, &b), 1);
	assert_int_equal(b, 'a');
	/* Wraps: 2 left, 2 more fit. */
	assert_int_equal(console_input(c, "de", 2), 2);
	assert_int_equal(console_take(c, &b), 1);
	assert_int_equal(b, 'b');
	assert_int_equal(console_take(c, &b), 1);
	assert_int_equal(b, 'c');
	assert_int_equal(console_take(c, &b), 1);
	assert_int_equal(b, 'd');
	console_close(c);
	assert_true(console_is_closed(c));
	console_open(c);
	assert_false(console_is_closed(c));
	assert_int_equal(console_input_pending(c), 0);
	assert_int_equal(console_take(c, &b), 0);
	console_free(c);
}

static void
test_console__a_watch_is_called_once_by_the_next_output(void **state)
{
	struct console *c = console_new(64, 4);
	struct wake_count wc;

	(void)state;
	wake_init(&wc);
	assert_int_equal(console_watch(c, 0, wake_cb, &wc), 0);
	console_put(c, "x", 1);
	/* From the writing thread, before console_put returned. */
	assert_int_equal(wake_calls(&wc), 1);
	assert_true(pthread_equal(wc.wc_thread, pthread_self()));
	console_put(c, "y", 1);
	assert_int_equal(wake_calls(&wc), 1);
	/* Already so: not registered. */
	assert_int_equal(console_watch(c, 1, wake_cb, &wc), 1);
	assert_int_equal(console_watch(c, 2, wake_cb, &wc), 0);
	console_close(c);
	assert_int_equal(wake_calls(&wc), 2);
	assert_int_equal(console_watch(c, 2, wake_cb, &wc), 1);
	console_unwatch(c, &wc);
	console_free(c);
	wake_destroy(&wc);
}

static void
test_console__a_batch_watch_waits_for_the_low_water_mark(void **state)
{
	struct console *c = console_new(1024, 4);
	uint64_t far = timefmt_mono_us() + 3600ULL * 1000000;
	struct wake_count wc;
	char buf[100];

	(void)state;
	wake_init(&wc);
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(console_watch_batch(c, 0, 100, far, wake_cb, &wc), 0);
	console_put(c, buf, 60);
	console_put(c, buf, 39);
	assert_int_equal(wake_calls(&wc), 0);
	console_put(c, buf, 1);
	assert_int_equal(wake_calls(&wc), 1);
	assert_true(pthread_equal(wc.wc_thread, pthread_self()));
	/* 100 there already: not registered. */
	assert_int_equal(console_watch_batch(c, 0, 100, far, wake_cb, &wc), 1);
	assert_int_equal(console_watch_batch(c, 50, 100, far, wake_cb, &wc), 0);
	console_unwatch(c, &wc);
	console_put(c, buf, 100);
	assert_int_equal(wake_calls(&wc), 1);
	console_free(c);
	wake_destroy(&wc);
}

static void
test_console__a_batch_watch_with_a_byte_is_called_at_its_deadline(void **state)
{
	struct console *c = console_new(1024, 4);
	struct wake_count wc;
	uint64_t due;
	int calls;

	(void)state;
	wake_init(&wc);
	due = timefmt_mono_us() + 30 * 1000;
	assert_int_equal(console_watch_batch(c, 0, 100, due, wake_cb, &wc), 0);
	console_put(c, "k", 1);
	assert_int_equal(wake_calls(&wc), 0);
	calls = wake_wait(&wc, WAIT_MS);
	assert_int_equal(calls, 1);
	/* From the timer, not before the deadline. */
	assert_false(pthread_equal(wc.wc_thread, pthread_self()));
	assert_true(wc.wc_at_us >= due);
	print_message("called %llu us after the deadline\n",
		      (unsigned long long)(wc.wc_at_us - due));
	sleep_ms(50);
	assert_int_equal(wake_calls(&wc), 1);
	console_free(c);
	wake_destroy(&wc);
}

static void
test_console__a_batch_watch_runs_its_deadline_for_bytes_already_there(
    void **state)
{
	struct console *c = console_new(1024, 4);
	struct wake_count wc;
	uint64_t due;

	(void)state;
	wake_init(&wc);
	console_put(c, "abc", 3);
	/* Deadline gone: due at once, not registered. */
	assert_int_equal(
	    console_watch_batch(c, 1, 100, timefmt_mono_us(), wake_cb, &wc), 1);
	/* Nothing past offset 3: the deadline does not count yet. */
	assert_int_equal(console_watch_batch(c, 3, 100, 1, wake_cb, &wc), 0);
	sleep_ms(20);
	assert_int_equal(wake_calls(&wc), 0);
	/* The first byte finds the deadline gone: called from console_put. */
	console_put(c, "d", 1);
	assert_int_equal(wake_calls(&wc), 1);
	assert_true(pthread_equal(wc.wc_thread, pthread_self()));
	/* Bytes there, deadline ahead: the timer calls it. */
	due = timefmt_mono_us() + 20 * 1000;
	assert_int_equal(console_watch_batch(c, 2, 100, due, wake_cb, &wc), 0);
	assert_int_equal(wake_calls(&wc), 1);
	pthread_mutex_lock(&wc.wc_lock);
	wc.wc_calls = 0;
	pthread_mutex_unlock(&wc.wc_lock);
	assert_int_equal(wake_wait(&wc, WAIT_MS), 1);
	assert_true(wc.wc_at_us >= due);
	console_free(c);
	wake_destroy(&wc);
}

static void
test_console__a_close_calls_a_batch_watch_at_once(void **state)
{
	struct console *c = console_new(1024, 4);
	uint64_t far = timefmt_mono_us() + 3600ULL * 1000000, at = 0;
	struct wake_count wc;
	int closed = 0;

	(void)state;
	wake_init(&wc);
	console_put(c, "ab", 2);
	assert_int_equal(console_watch_batch(c, 0, 100, far, wake_cb, &wc), 0);
	console_close(c);
	assert_int_equal(wake_calls(&wc), 1);
	assert_int_equal(console_pending(c, &at, &closed), 2);
	assert_int_equal(at, 0);
	assert_int_equal(closed, 1);
	/* Closed: due whatever the count. */
	assert_int_equal(console_watch_batch(c, 2, 100, far, wake_cb, &wc), 1);
	console_free(c);
	wake_destroy(&wc);
}

/*
 * A watch removed while its console waits in the timer's queue is not
 * called, and the console may be freed meanwhile: the queue's reference
 * keeps it until the timer lets go (ASan and LSan check the rest).
 */
static void
test_console__an_unwatched_batch_watch_is_not_called_by_the_timer(void **state)
{
	struct console *c = console_new(1024, 4);
	struct wake_count wc, other;
	uint64_t due;

	(void)state;
	wake_init(&wc);
	wake_init(&other);
	due = timefmt_mono_us() + 20 * 1000;
	assert_int_equal(console_watch_batch(c, 0, 100, due, wake_cb, &wc), 0);
	assert_int_equal(
	    console_watch_batch(c, 0, 100, due + 10 * 1000, wake_cb, &other),
	    0);
	console_put(c, "k", 1);
	console_unwatch(c, &wc);
	console_free(c); /* the watches' owner goes; the timer holds on */
	assert_int_equal(wake_wait(&other, WAIT_MS), 1);
	assert_true(other.wc_at_us >= due + 10 * 1000);
	sleep_ms(50);
	assert_int_equal(wake_calls(&wc), 0);
	assert_int_equal(wake_calls(&other), 1);
	wake_destroy(&wc);
	wake_destroy(&other);
}

/*
 * Shutdown: console_timer_drain calls a watch whose deadline is far off at
 * once and lets go of the console (LeakSanitizer, in the sanitizer build,
 * finds it otherwise: the timer would hold it past exit).
 */
static void
test_console__drain_calls_queued_deadlines_now_and_lets_go(void **state)
{
	struct console *c = console_new(1024, 4);
	struct wake_count wc;

	(void)state;
	wake_init(&wc);
	assert_int_equal(console_watch_batch(c, 0, 100,
					     timefmt_mono_us() + 60000000ull,
					     wake_cb, &wc),
			 0);
	console_put(c, "k", 1);
	console_free(c); /* only the timer's reference is left */
	assert_int_equal(wake_calls(&wc), 0);
	console_timer_drain();
	assert_int_equal(wake_calls(&wc), 1);
	console_timer_drain(); /* nothing queued: nothing happens */
	assert_int_equal(wake_calls(&wc), 1);
	wake_destroy(&wc);
}

/* Several consoles, deadlines out of order: each called at its own. */
static void
test_console__the_timer_serves_many_consoles_in_deadline_order(void **state)
{
	enum { N = 8 };
	struct console *c[N];
	struct wake_count wc[N];
	uint64_t t0 = timefmt_mono_us(), due[N];
	int i;

	(void)state;
	for (i = 0; i < N; i++) {
		c[i] = console_new(64, 4);
		wake_init(&wc[i]);
		due[i] = t0 + (uint64_t)((i * 5) % N + 1) * 5000;
		assert_int_equal(
		    console_watch_batch(c[i], 0, 10, due[i], wake_cb, &wc[i]),
		    0);
		console_put(c[i], "x", 1);
	}
	for (i = 0; i < N; i++) {
		assert_int_equal(wake_wait(&wc[i], WAIT_MS), 1);
		assert_true(wc[i].wc_at_us >= due[i]);
	}
	for (i = 0; i < N; i++) {
		console_free(c[i]);
		wake_destroy(&wc[i]);
	}
}

/* RssAnon of this process, kB (Linux). */
static long
rss_anon_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "RssAnon: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Resident memory is counted for the whole process, so the bounds leave
 * room for what else moves (cmocka, ASan): a quarter of a ring.
 */
static void
test_console__the_rings_cost_memory_only_once_written(void **state)
{
#if defined(__SANITIZE_ADDRESS__)
	/* ASan keeps the shadow of an unmapped ring (an eighth of its
	 * 320 KiB) resident: the process never gets that back. */
	const long slack = 64 + 320 / 8;
#else
	const long slack = 64;
#endif
	struct console *c;
	char *full;
	long r0, r1;

	(void)state;
#if defined(__SANITIZE_THREAD__)
	/* Its shadow memory grows with every byte the test touches. */
	tskip("ThreadSanitizer makes resident memory move with every "
	      "access");
#endif
	if ((r0 = rss_anon_kb()) < 0)
		tskip("no anonymous RSS in /proc/self/status");
	full = malloc(256 * 1024);
	assert_non_null(full);
	memset(full, 'x', 256 * 1024);
	r0 = rss_anon_kb();
	/* A console that got a line holds a page, not its 320 KiB. */
	c = console_new(256 * 1024, 64 * 1024);
	console_put(c, "hello\n", 6);
	assert_int_equal(console_input(c, "i", 1), 1);
	r1 = rss_anon_kb();
	print_message("a new console with a line of output: %+ld kB\n",
		      r1 - r0);
	assert_true(r1 - r0 < slack);
	/* Full: the whole output ring. */
	console_put(c, full, 256 * 1024);
	r1 = rss_anon_kb();
	print_message("with its output ring full: %+ld kB\n", r1 - r0);
	assert_true(r1 - r0 >= 256 - slack);
	/* Given back at once; the next console starts empty again. */
	console_free(c);
	r1 = rss_anon_kb();
	print_message("freed: %+ld kB\n", r1 - r0);
	assert_true(r1 - r0 < slack);
	c = console_new(256 * 1024, 64 * 1024);
	console_put(c, "hello\n", 6);
	r1 = rss_anon_kb();
	print_message("the next console with a line: %+ld kB\n", r1 - r0);
	assert_true(r1 - r0 < slack);
	console_free(c);
	free(full);
}

static void *
late_put(void *arg)
{
	struct timespec ts = {0, 2 * 1000 * 1000};

	nanosleep(&ts, NULL);
	console_put(arg, "late", 4);
	return NULL;
}

/*
 * console_wait_past: at once when output past the offset is there or the
 * run has ended, when output comes during the wait, and 0 when nothing
 * came in time.
 */
static void
test_console__wait_past_returns_on_output_end_or_time(void **state)
{
	struct console *c = console_new(64, 4);
	pthread_t t;

	(void)state;
	assert_non_null(c);
	console_open(c);
	assert_int_equal(console_wait_past(c, 0, 1000), 0);
	console_put(c, "ab", 2);
	assert_int_equal(console_wait_past(c, 0, 0), 1);
	assert_int_equal(console_wait_past(c, 1, 0), 1);
	assert_int_equal(console_wait_past(c, 2, 1000), 0);
	assert_int_equal(pthread_create(&t, NULL, late_put, c), 0);
	assert_int_equal(console_wait_past(c, 2, 10 * 1000 * 1000), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(console_end(c), 6);
	console_close(c);
	assert_int_equal(console_wait_past(c, 6, 10 * 1000 * 1000), 1);
	console_free(c);
}

/* What the input listener saw: calls and what was pending then. */
struct inlisten {
	struct console *il_c;
	unsigned il_calls;
	size_t il_pending;
};

static void
inlisten_fn(void *arg)
{
	struct inlisten *il = arg;

	il->il_calls++;
	/* Called without the console's lock: it may look at the queue. */
	il->il_pending = console_input_pending(il->il_c);
}

static void
test_console__input_listener_hears_queued_input_until_removed(void **state)
{
	struct console *c = console_new(4096, 4);
	struct inlisten il = {c, 0, 0};

	(void)state;
	assert_non_null(c);
	console_input_listen(c, inlisten_fn, &il);
	assert_int_equal(console_input(c, "ab", 2), 2);
	assert_int_equal(il.il_calls, 1);
	assert_int_equal(il.il_pending, 2);
	/* Refused input (it does not fit) queues nothing: no call. */
	assert_int_equal(console_input(c, "cde", 3), 0);
	assert_int_equal(il.il_calls, 1);
	console_input_listen(c, NULL, NULL);
	assert_int_equal(console_input(c, "c", 1), 1);
	assert_int_equal(il.il_calls, 1);
	console_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_console__wait_past_returns_on_output_end_or_time),
	    cmocka_unit_test(
		test_console__offsets_wrap_and_count_the_lost_bytes),
	    cmocka_unit_test(test_console__sizes_of_0_are_einval),
	    cmocka_unit_test(
		test_console__input_listener_hears_queued_input_until_removed),
	    cmocka_unit_test(
		test_console__input_is_all_or_nothing_and_a_new_run_drops_it),
	    cmocka_unit_test(
		test_console__a_watch_is_called_once_by_the_next_output),
	    cmocka_unit_test(
		test_console__a_batch_watch_waits_for_the_low_water_mark),
	    cmocka_unit_test(
		test_console__a_batch_watch_with_a_byte_is_called_at_its_deadline),
	    cmocka_unit_test(
		test_console__a_batch_watch_runs_its_deadline_for_bytes_already_there),
	    cmocka_unit_test(test_console__a_close_calls_a_batch_watch_at_once),
	    cmocka_unit_test(
		test_console__drain_calls_queued_deadlines_now_and_lets_go),
	    cmocka_unit_test(
		test_console__an_unwatched_batch_watch_is_not_called_by_the_timer),
	    cmocka_unit_test(
		test_console__the_timer_serves_many_consoles_in_deadline_order),
	    cmocka_unit_test(
		test_console__the_rings_cost_memory_only_once_written),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
