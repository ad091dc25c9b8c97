/*
 * server/limits.c: the header deadline (--header-timeout) shuts down a
 * connection that sent no complete headers in time, but not one whose
 * bytes wait unread in its socket: then the daemon is the slow one (it
 * was, under valgrind, for a keep-alive request sent just before the
 * deadline, issue #14).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/limits.h"

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Whether the daemon's end of the pair was shut down: the client's end
 * then reads end-of-file at once. */
static int
was_shut(int client)
{
	char b;

	return recv(client, &b, 1, MSG_DONTWAIT) == 0;
}

static void
test_limits__unread_bytes_hold_off_the_header_deadline(void **state)
{
	struct limits_conf lc, saved;
	struct limits_conn idle, unread;
	int a[2], b[2];
	char buf[64];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	limits_get(&saved);
	lc = saved;
	lc.lc_header_timeout = 1;
	limits_set(&lc);
	assert_int_equal(limits_start(), 0);
	memset(&idle, 0, sizeof(idle));
	memset(&unread, 0, sizeof(unread));
	limits_watch(&idle, a[0], "idle");
	limits_watch(&unread, b[0], "unread");
	/* The client of "unread" sent part of a request; nobody read it. */
	assert_int_equal(write(b[1], "GET / HTTP/1.1\r\n", 16), 16);

	sleep_ms(2000);
	assert_true(was_shut(a[1]));
	assert_false(was_shut(b[1]));

	/* Once read, the headers are still incomplete: shut down then. */
	assert_int_equal(read(b[0], buf, sizeof(buf)), 16);
	sleep_ms(1000);
	assert_true(was_shut(b[1]));

	limits_unwatch(&idle);
	limits_unwatch(&unread);
	limits_stop();
	limits_set(&saved);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
}

/*
 * A connection that went idle after a sweep read the clock has a start
 * later than the sweep's "now": that is not overdue.  Before, now - since
 * wrapped to a huge wait and such a keep-alive connection was shut down
 * ~60 ms into its idle time (api/test_admin@kvm under TSan, CI of
 * 2fbee3c, "no HTTP response (curl result 52)").
 */
static void
test_limits__a_wait_that_began_after_the_clock_was_read_is_not_overdue(
    void **state)
{
	const uint64_t s = 1000000;

	(void)state;
	assert_false(limits_overdue(100 * s, 100 * s + 1, 10 * s));
	assert_false(limits_overdue(100 * s, UINT64_MAX, 10 * s));
	assert_false(limits_overdue(100 * s, 0, 10 * s));
	assert_false(limits_overdue(100 * s, 90 * s + 1, 10 * s));
	assert_true(limits_overdue(100 * s, 90 * s, 10 * s));
	assert_true(limits_overdue(100 * s, 1, 10 * s));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_limits__unread_bytes_hold_off_the_header_deadline),
	    cmocka_unit_test(
		test_limits__a_wait_that_began_after_the_clock_was_read_is_not_overdue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
