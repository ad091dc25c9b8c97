/*
 * api/vm_guard.c: requests on a VM's key enter side by side; a delete of
 * the key waits for them and for another delete (and no new request
 * enters meanwhile), gives up after its bound, and keys do not disturb
 * each other.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "api/vm_guard.h"

static void
test_vm_guard__requests_enter_together_and_a_delete_alone(void **state)
{
	struct vm_guard *g = vm_guard_new();

	(void)state;
	assert_non_null(g);
	assert_int_equal(vm_guard_enter(g, "web1"), 0);
	assert_int_equal(vm_guard_enter(g, "web1"), 0);
	vm_guard_leave(g, "web1", 0);
	vm_guard_leave(g, "web1", 0);
	assert_int_equal(vm_guard_enter_delete(g, "web1", 0), 0);
	/* Nothing enters a key being deleted; another delete waits, here
	 * not at all. */
	assert_int_equal(vm_guard_enter(g, "web1"), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(vm_guard_enter_delete(g, "web1", 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	/* Other keys (a jail's VM of the same name among them) do. */
	assert_int_equal(vm_guard_enter(g, "j1/web1"), 0);
	assert_int_equal(vm_guard_enter_delete(g, "web2", 0), 0);
	vm_guard_leave(g, "web2", 1);
	vm_guard_leave(g, "j1/web1", 0);
	vm_guard_leave(g, "web1", 1);
	assert_int_equal(vm_guard_enter(g, "web1"), 0);
	vm_guard_leave(g, "web1", 0);
	vm_guard_free(g);
}

static void
test_vm_guard__a_delete_gives_up_after_its_bound(void **state)
{
	struct vm_guard *g = vm_guard_new();

	(void)state;
	assert_non_null(g);
	assert_int_equal(vm_guard_enter(g, "web1"), 0);
	assert_int_equal(vm_guard_enter_delete(g, "web1", 50), -1);
	assert_int_equal(errno, ETIMEDOUT);
	/* Given up, it holds nothing: requests enter again. */
	assert_int_equal(vm_guard_enter(g, "web1"), 0);
	vm_guard_leave(g, "web1", 0);
	vm_guard_leave(g, "web1", 0);
	assert_int_equal(vm_guard_enter_delete(g, "web1", 0), 0);
	vm_guard_leave(g, "web1", 1);
	/* Left with a request in flight: freed all the same. */
	assert_int_equal(vm_guard_enter(g, "web3"), 0);
	vm_guard_free(g);
}

struct request {
	struct vm_guard *r_g;
	int r_deleting; /* what it entered: a delete (1) or not */
	int r_left;     /* set just before it leaves */
};

static void *
request_main(void *arg)
{
	struct request *r = arg;
	struct timespec t = {0, 200 * 1000 * 1000};

	nanosleep(&t, NULL);
	__atomic_store_n(&r->r_left, 1, __ATOMIC_SEQ_CST);
	vm_guard_leave(r->r_g, "web1", r->r_deleting);
	return NULL;
}

static void
test_vm_guard__a_delete_waits_for_the_requests_in_flight(void **state)
{
	struct request r = {vm_guard_new(), 0, 0};
	pthread_t t;

	(void)state;
	assert_non_null(r.r_g);
	assert_int_equal(vm_guard_enter(r.r_g, "web1"), 0);
	assert_int_equal(pthread_create(&t, NULL, request_main, &r), 0);
	/* Entered only once the request in flight has left. */
	assert_int_equal(vm_guard_enter_delete(r.r_g, "web1", 60000), 0);
	assert_int_equal(__atomic_load_n(&r.r_left, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	vm_guard_leave(r.r_g, "web1", 1);
	vm_guard_free(r.r_g);
}

static void
test_vm_guard__a_second_delete_waits_for_the_first(void **state)
{
	struct request r = {vm_guard_new(), 1, 0};
	pthread_t t;

	(void)state;
	assert_non_null(r.r_g);
	assert_int_equal(vm_guard_enter_delete(r.r_g, "web1", 0), 0);
	assert_int_equal(pthread_create(&t, NULL, request_main, &r), 0);
	assert_int_equal(vm_guard_enter_delete(r.r_g, "web1", 60000), 0);
	assert_int_equal(__atomic_load_n(&r.r_left, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(vm_guard_enter(r.r_g, "web1"), -1);
	assert_int_equal(errno, EBUSY);
	vm_guard_leave(r.r_g, "web1", 1);
	assert_int_equal(vm_guard_enter(r.r_g, "web1"), 0);
	vm_guard_leave(r.r_g, "web1", 0);
	vm_guard_free(r.r_g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_vm_guard__requests_enter_together_and_a_delete_alone),
	    cmocka_unit_test(test_vm_guard__a_delete_gives_up_after_its_bound),
	    cmocka_unit_test(
		test_vm_guard__a_delete_waits_for_the_requests_in_flight),
	    cmocka_unit_test(
		test_vm_guard__a_second_delete_waits_for_the_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
