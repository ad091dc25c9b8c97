/*
 * vmm-driver/spare.c: objects made ahead of need.  The pool fills to its
 * target and refills after a take; a take on an empty pool is NULL and
 * counted as missed; a failing make is counted, retried and recovers;
 * closing discards exactly what is ready (no object lost or freed twice:
 * the sanitizer build checks the heap).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm-driver/spare.h"

/* Upper bound on any wait in these tests; a pass takes milliseconds. */
#define WAIT_MS 10000

static atomic_int made, discarded, failing;

static void *
fake_make(void)
{
	int *obj;

	if (atomic_load(&failing)) {
		errno = EMFILE;
		return NULL;
	}
	if ((obj = malloc(sizeof(*obj))) == NULL)
		return NULL;
	*obj = atomic_fetch_add(&made, 1) + 1;
	return obj;
}

static void
fake_discard(void *obj)
{
	atomic_fetch_add(&discarded, 1);
	free(obj);
}

static int
reset(void **state)
{
	(void)state;
	atomic_store(&made, 0);
	atomic_store(&discarded, 0);
	atomic_store(&failing, 0);
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Waits until the pool has ready objects ready; fails after WAIT_MS. */
static void
wait_ready(struct spare_pool *sp, unsigned ready)
{
	struct vmm_spares st;
	int ms;

	for (ms = 0; ms < WAIT_MS; ms += 5) {
		spare_pool_stats(sp, &st);
		if (st.vs_ready == ready)
			return;
		sleep_ms(5);
	}
	fail_msg("%u ready after %d ms, want %u", st.vs_ready, WAIT_MS, ready);
}

static void
test_spare__fills_to_its_target_and_refills_after_a_take(void **state)
{
	struct spare_pool *sp;
	struct vmm_spares st;
	int *a, *b;

	(void)state;
	assert_int_equal(spare_pool_open(&sp, 2, fake_make, fake_discard), 0);
	wait_ready(sp, 2);
	assert_int_equal(atomic_load(&made), 2);
	a = spare_pool_take(sp);
	b = spare_pool_take(sp);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a != b);
	wait_ready(sp, 2);
	assert_int_equal(atomic_load(&made), 4);
	spare_pool_stats(sp, &st);
	assert_int_equal(st.vs_target, 2);
	assert_int_equal(st.vs_taken, 2);
	assert_int_equal(st.vs_missed, 0);
	assert_int_equal(st.vs_failed, 0);
	/* Never more than the target: nothing more is made. */
	sleep_ms(50);
	assert_int_equal(atomic_load(&made), 4);
	free(a);
	free(b);
	spare_pool_close(sp);
	/* The two ready ones went with the pool; the taken ones are ours. */
	assert_int_equal(atomic_load(&discarded), 2);
}

static void
test_spare__a_failing_make_is_counted_retried_and_recovers(void **state)
{
	struct spare_pool *sp;
	struct vmm_spares st;
	int ms;

	(void)state;
	atomic_store(&failing, 1);
	assert_int_equal(spare_pool_open(&sp, 1, fake_make, fake_discard), 0);
	for (ms = 0; ms < WAIT_MS; ms += 5) {
		spare_pool_stats(sp, &st);
		if (st.vs_failed > 0)
			break;
		sleep_ms(5);
	}
	assert_true(st.vs_failed > 0);
	/* Empty: a take gets nothing and says so. */
	assert_null(spare_pool_take(sp));
	spare_pool_stats(sp, &st);
	assert_int_equal(st.vs_ready, 0);
	assert_int_equal(st.vs_missed, 1);
	assert_int_equal(st.vs_taken, 0);
	/* The retry (a second later) succeeds once makes do. */
	atomic_store(&failing, 0);
	wait_ready(sp, 1);
	spare_pool_close(sp);
	assert_int_equal(atomic_load(&discarded), 1);
}

static void
test_spare__close_while_filling_discards_everything_ready(void **state)
{
	struct spare_pool *sp;
	int i;

	(void)state;
	for (i = 0; i < 20; i++) {
		assert_int_equal(spare_pool_open(&sp, VMM_SPARES_MAX, fake_make,
						 fake_discard),
				 0);
		spare_pool_close(sp); /* at any point of its filling */
	}
	assert_int_equal(atomic_load(&discarded), atomic_load(&made));
	spare_pool_close(NULL);
}

static void
test_spare__targets_past_the_limit_are_einval(void **state)
{
	struct spare_pool *sp;

	(void)state;
	errno = 0;
	assert_int_equal(spare_pool_open(&sp, 0, fake_make, fake_discard), -1);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(
	    spare_pool_open(&sp, VMM_SPARES_MAX + 1, fake_make, fake_discard),
	    -1);
	assert_int_equal(errno, EINVAL);
	/* At the limit it opens. */
	assert_int_equal(
	    spare_pool_open(&sp, VMM_SPARES_MAX, fake_make, fake_discard), 0);
	wait_ready(sp, VMM_SPARES_MAX);
	spare_pool_close(sp);
	assert_int_equal(atomic_load(&discarded), VMM_SPARES_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(
		test_spare__fills_to_its_target_and_refills_after_a_take,
		reset),
	    cmocka_unit_test_setup(
		test_spare__a_failing_make_is_counted_retried_and_recovers,
		reset),
	    cmocka_unit_test_setup(
		test_spare__close_while_filling_discards_everything_ready,
		reset),
	    cmocka_unit_test_setup(
		test_spare__targets_past_the_limit_are_einval, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
