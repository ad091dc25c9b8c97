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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_limits__unread_bytes_hold_off_the_header_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
