/*
 * GET and POST /v1/vms/{name}/console against real guests: the output
 * kept (whole, from an offset, across runs, past the 256 KiB kept), its
 * media types and Console-* headers, ?follow=1 streams that end when the
 * VM stops, input to an echo guest and its limits, followers that leave
 * or outlive the daemon, and the coalesced stream: every byte in order,
 * keystroke echoes without a noticeable delay, the rest sent at the end.
 *
 * Cases that run guests run on every driver the host has (harness.h).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#ifndef GUESTS_DIR
#error "GUESTS_DIR must name the directory of the test guests' NAME.bin"
#endif

/* Bound for a guest to reach a state it reaches by itself. */
#define WAIT_MS (10000 * harness_time_factor()) /* harness.h */
#define HELLO "Hello from vmmapid guest\n"
#define HELLO_LEN 25
#define TEXT_PLAIN "text/plain; charset=utf-8"
/* What the daemon keeps of a console (VMRUN_CONSOLE_OUT). */
#define KEPT (256 * 1024)
/* The input queue, as much as one request body. */
#define INPUT_MAX 65536
/* bigout's count: a little-endian u32 at this file offset. */
#define BIGOUT_COUNT_OFFSET 4

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* GUESTS_DIR/guest.bin, read into memory h frees. */
static char *
read_guest(struct harness *h, const char *guest, size_t *len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.bin", GUESTS_DIR, guest);
	return harness_read_file(h, path, len);
}

static struct harness_response *
vm_op(struct harness *h, const char *name, const char *op, const char *query)
{
	char path[256];

	snprintf(path, sizeof(path), "/v1/vms/%s/%s%s", name, op, query);
	return harness_req(h, "POST", path, NULL, NULL);
}

static void
start_vm(struct harness *h, const char *name)
{
	assert_status(vm_op(h, name, "start", ""), 200);
}

/* The echo guest (kvm only) running as VM "echo", its console followed. */
static struct harness_stream *
follow_echo(struct harness *h)
{
	harness_put_guest(h, "echo");
	harness_define_vm(h, "echo", "echo.bin", "");
	start_vm(h, "echo");
	return harness_stream_open(h, "GET", "/v1/vms/echo/console?follow=1",
				   NULL, 0, 30000);
}

/* GET /v1/vms/name/console + query, with an Accept line or NULL. */
static struct harness_response *
console_get(struct harness *h, const char *name, const char *query,
	    const char *accept)
{
	const char *headers[] = {accept, NULL};
	struct harness_request rq = {0};
	char path[256];

	snprintf(path, sizeof(path), "/v1/vms/%s/console%s", name, query);
	rq.rq_method = "GET";
	rq.rq_path = path;
	rq.rq_headers = headers;
	rq.rq_timeout_ms = 10000;
	return harness_send(h, &rq);
}

static struct harness_response *
console_post(struct harness *h, const char *name, const char *query,
	     const char *data, size_t len)
{
	const char *headers[] = {"Content-Type: application/octet-stream",
				 NULL};
	struct harness_request rq = {0};
	char path[256];

	snprintf(path, sizeof(path), "/v1/vms/%s/console%s", name, query);
	rq.rq_method = "POST";
	rq.rq_path = path;
	rq.rq_headers = headers;
	rq.rq_body = data;
	rq.rq_body_len = len;
	return harness_send(h, &rq);
}

/*
 * Exactly body and Content-Type type, with the Console-* headers.  The
 * type of an empty body is left to
 * test_console__an_empty_console_still_says_its_media_type.
 */
static void
assert_console(const struct harness_response *r, const char *body,
	       const char *type, const char *next, const char *lost)
{
	const char *ct = harness_header(r, "Content-Type");

	assert_status(r, 200);
	if (body[0] != '\0' && (ct == NULL || strcmp(ct, type) != 0))
		fail_msg("%s %s: Content-Type %s, expected %s", r->hr_method,
			 r->hr_path, ct != NULL ? ct : "(none)", type);
	assert_int_equal(r->hr_body_len, strlen(body));
	assert_string_equal(r->hr_body, body);
	assert_header(r, "Console-Next-Offset", next);
	assert_header(r, "Console-Lost-Bytes", lost);
}

/* Runs a hello VM to its end. */
static void
run_hello(struct harness *h, const char *name)
{
	start_vm(h, name);
	harness_wait_vm_state(h, name, "stopped", WAIT_MS);
}

/* Byte i of bigout's output (see bigout.S). */
static char
bigout_byte(size_t i)
{
	return i % 64 == 63 ? '\n' : (char)('a' + (i % 64) % 26);
}

/* Checks that len bytes at p are bigout's bytes from offset `from`. */
static void
assert_bigout(const char *p, size_t len, size_t from, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != bigout_byte(from + i))
			fail_msg("%s: byte %zu is 0x%02x, expected 0x%02x",
				 what, from + i, (unsigned char)p[i],
				 (unsigned char)bigout_byte(from + i));
}

/* Uploads bigout.bin patched to write count bytes. */
static void
put_bigout(struct harness *h, uint32_t count)
{
	size_t len;
	char *data = read_guest(h, "bigout", &len);

	assert_true(len > BIGOUT_COUNT_OFFSET + 4);
	/* The default the header promises: proof of the right offset. */
	assert_int_equal((unsigned char)data[4] | (unsigned char)data[5] << 8 |
			     (unsigned char)data[6] << 16 |
			     (unsigned)(unsigned char)data[7] << 24,
			 100000);
	data[4] = (char)(count & 0xff);
	data[5] = (char)(count >> 8 & 0xff);
	data[6] = (char)(count >> 16 & 0xff);
	data[7] = (char)(count >> 24 & 0xff);
	assert_status(harness_put_image(h, "bigout.bin", data, len), 201);
}

/* Needs no guest. */
static void
test_console__a_vm_that_never_ran_has_an_empty_console(struct harness *h)
{
	struct harness_response *r;

	harness_define_vm(h, "idle", "hello.bin", "");
	assert_console(console_get(h, "idle", "", NULL), "", TEXT_PLAIN, "0",
		       "0");
	/* Following a VM that does not run ends after what is kept. */
	r = console_get(h, "idle", "?follow=1", NULL);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, 0);
	assert_null(harness_header(r, "Console-Next-Offset"));
}

static void
test_console__output_of_hello_reads_whole_and_from_an_offset(struct harness *h)
{
	harness_put_guest(h, "hello");
	harness_define_vm(h, "hello", "hello.bin", "");
	run_hello(h, "hello");

	assert_console(console_get(h, "hello", "", NULL), HELLO, TEXT_PLAIN,
		       "25", "0");
	assert_console(console_get(h, "hello", "?offset=0", NULL), HELLO,
		       TEXT_PLAIN, "25", "0");
	assert_console(console_get(h, "hello", "?offset=6", NULL), HELLO + 6,
		       TEXT_PLAIN, "25", "0");
	assert_console(console_get(h, "hello", "?offset=24", NULL), "\n",
		       TEXT_PLAIN, "25", "0");
	assert_console(console_get(h, "hello", "?offset=25", NULL), "",
		       TEXT_PLAIN, "25", "0");
	/* Past the newest byte: nothing (where to resume is unspecified). */
	assert_int_equal(
	    console_get(h, "hello", "?offset=1000", NULL)->hr_body_len, 0);
	assert_console(console_get(h, "hello", "?follow=0&offset=6", NULL),
		       HELLO + 6, TEXT_PLAIN, "25", "0");

	/* The media type the client asks for; the bytes are the same. */
	assert_console(
	    console_get(h, "hello", "", "Accept: application/octet-stream"),
	    HELLO, "application/octet-stream", "25", "0");
	assert_console(console_get(h, "hello", "?offset=6",
				   "Accept: application/octet-stream"),
		       HELLO + 6, "application/octet-stream", "25", "0");
	assert_console(
	    console_get(h, "hello", "",
			"Accept: application/octet-stream, text/plain"),
	    HELLO, TEXT_PLAIN, "25", "0");
	assert_console(console_get(h, "hello", "", "Accept: */*"), HELLO,
		       TEXT_PLAIN, "25", "0");
}

static void
test_console__a_second_run_appends_to_the_output(struct harness *h)
{
	harness_put_guest(h, "hello");
	harness_define_vm(h, "hello", "hello.bin", "");
	run_hello(h, "hello");
	run_hello(h, "hello");
	assert_console(console_get(h, "hello", "", NULL), HELLO HELLO,
		       TEXT_PLAIN, "50", "0");
	assert_console(console_get(h, "hello", "?offset=25", NULL), HELLO,
		       TEXT_PLAIN, "50", "0");
}

/*
 * Needs no guest.  The contract gives a 200 console answer a media type
 * whatever its length: an empty console is an empty text/plain (or
 * octet-stream) document, not one of no type.
 */
static void
test_console__an_empty_console_still_says_its_media_type(struct harness *h)
{
	struct harness_response *r;

	harness_define_vm(h, "idle", "hello.bin", "");
	r = console_get(h, "idle", "", NULL);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, 0);
	if (harness_header(r, "Content-Type") == NULL ||
	    strcmp(harness_header(r, "Content-Type"), TEXT_PLAIN) != 0)
		fail_msg("GET %s: Content-Type %s, expected %s", r->hr_path,
			 harness_header(r, "Content-Type") != NULL
			     ? harness_header(r, "Content-Type")
			     : "(none)",
			 TEXT_PLAIN);
	r = console_get(h, "idle", "", "Accept: application/octet-stream");
	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/octet-stream");
}

/* Needs no guest. */
static void
test_console__bad_queries_are_400_and_unknown_vms_404(struct harness *h)
{
	static const struct {
		const char *q, *field;
	} bad[] = {
	    {"?offset=-1", "offset"},    {"?offset=abc", "offset"},
	    {"?offset=", "offset"},      {"?offset=1x", "offset"},
	    {"?follow=maybe", "follow"}, {"?follow=2", "follow"},
	    {"?tail=1", "tail"},
	};
	size_t i;

	harness_define_vm(h, "idle", "hello.bin", "");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_problem(console_get(h, "idle", bad[i].q, NULL), 400,
			       bad[i].field);
	assert_problem(console_post(h, "idle", "?echo=1", "x", 1), 400, "echo");
	assert_problem(console_get(h, "nope", "", NULL), 404, NULL);
	assert_problem(console_get(h, "nope", "?follow=1", NULL), 404, NULL);
	assert_problem(console_post(h, "nope", "", "x", 1), 404, NULL);
}

static void
test_console__follow_streams_an_echo_guest_until_it_stops(struct harness *h)
{
	struct harness_stream *s;
	struct harness_response *r;
	int code = -1;

	s = follow_echo(h);

	r = console_post(h, "echo", "", "abc", 3);
	assert_status(r, 200);
	assert_header(r, "Content-Type", "application/json");
	assert_json_int(r, "accepted", 3);
	if (!harness_stream_wait_for(s, "abc", WAIT_MS))
		fail_msg("\"abc\" did not arrive on the stream in %d ms (%zu "
			 "bytes came)",
			 WAIT_MS, harness_stream_len(s));
	/* The stream is live: "abc" came before the guest was told to
	 * quit.  Now it quits, and the stream ends by itself. */
	assert_status(console_post(h, "echo", "", "q", 1), 200);
	r = harness_stream_end(s, WAIT_MS, &code);
	assert_int_equal(code, 0);
	assert_status(r, 200);
	assert_string_equal(r->hr_body, "abcbye\n");
	if (strcmp(harness_header(r, "Content-Type"), TEXT_PLAIN) != 0)
		fail_msg("the stream's Content-Type is %s",
			 harness_header(r, "Content-Type"));
	assert_null(harness_header(r, "Console-Next-Offset"));

	r = harness_wait_vm_state(h, "echo", "stopped", WAIT_MS);
	assert_json_str(r, "status.exit_reason", "debug-exit port");
	assert_json_int(r, "status.exit_status", 0);
	assert_console(console_get(h, "echo", "", NULL), "abcbye\n", TEXT_PLAIN,
		       "7", "0");
}

static void
test_console__follow_of_a_stopped_vm_returns_the_output_and_ends(
    struct harness *h)
{
	struct harness_response *r;

	harness_put_guest(h, "hello");
	harness_define_vm(h, "hello", "hello.bin", "");
	run_hello(h, "hello");

	r = console_get(h, "hello", "?follow=1", NULL);
	assert_status(r, 200);
	assert_string_equal(r->hr_body, HELLO);
	assert_null(harness_header(r, "Console-Next-Offset"));
	assert_null(harness_header(r, "Console-Lost-Bytes"));
	r = console_get(h, "hello", "?follow=true&offset=6",
			"Accept: application/octet-stream");
	assert_status(r, 200);
	assert_string_equal(r->hr_body, HELLO + 6);
	assert_header(r, "Content-Type", "application/octet-stream");
	r = console_get(h, "hello", "?follow", NULL);
	assert_status(r, 200);
	assert_string_equal(r->hr_body, HELLO);
}

static void
test_console__input_is_refused_when_empty_or_when_not_running(struct harness *h)
{
	harness_put_guest(h, "echo");
	harness_define_vm(h, "echo", "echo.bin", "");
	assert_problem(console_post(h, "echo", "", "abc", 3), 409, NULL);
	start_vm(h, "echo");
	assert_problem(console_post(h, "echo", "", "", 0), 400, NULL);
	assert_status(console_post(h, "echo", "", "x", 1), 200);
	/* Paused: still queued. */
	assert_status(vm_op(h, "echo", "pause", ""), 200);
	assert_status(console_post(h, "echo", "", "y", 1), 200);
	assert_status(vm_op(h, "echo", "resume", ""), 200);
	assert_status(console_post(h, "echo", "", "q", 1), 200);
	harness_wait_vm_state(h, "echo", "stopped", WAIT_MS);
	assert_console(console_get(h, "echo", "", NULL), "xybye\n", TEXT_PLAIN,
		       "6", "0");
	assert_problem(console_post(h, "echo", "", "abc", 3), 409, NULL);
}

static void
test_console__input_queue_holds_65536_bytes_then_is_429(struct harness *h)
{
	char *data = harness_alloc(h, INPUT_MAX + 1);
	struct harness_response *r;

	memset(data, 'x', INPUT_MAX + 1);
	harness_put_guest(h, "echo");
	harness_define_vm(h, "echo", "echo.bin", "");
	start_vm(h, "echo");
	/* Paused, the guest reads nothing: the queue only fills. */
	assert_status(vm_op(h, "echo", "pause", ""), 200);
	r = console_post(h, "echo", "", data, INPUT_MAX);
	assert_status(r, 200);
	assert_json_int(r, "accepted", INPUT_MAX);
	assert_json_int(r, "pending", INPUT_MAX);
	assert_problem(console_post(h, "echo", "", "y", 1), 429, NULL);
	/* A body past the limit is refused as such. */
	assert_problem(console_post(h, "echo", "", data, INPUT_MAX + 1), 413,
		       NULL);
	assert_status(vm_op(h, "echo", "stop", "?force=1"), 200);
}

/*
 * Polls the daemon's log for up to ms until a line contains needle;
 * returns 1 with that line in line, else 0.
 */
static int
log_shows(struct harness *h, const char *needle, int ms, char *line, size_t len)
{
	long long deadline = now_ms() + ms;
	const char *at, *start, *end;
	char *log;

	for (;;) {
		log = harness_read_log(h);
		at = log != NULL ? strstr(log, needle) : NULL;
		if (at != NULL) {
			for (start = at; start > log && start[-1] != '\n';)
				start--;
			end = strchr(at, '\n');
			if (end == NULL)
				end = at + strlen(at);
			snprintf(line, len, "%.*s", (int)(end - start), start);
			free(log);
			return 1;
		}
		free(log);
		if (now_ms() >= deadline)
			return 0;
		sleep_ms(20);
	}
}

static void
test_console__a_follower_that_goes_away_leaves_the_daemon_working(
    struct harness *h)
{
	struct harness_stream *s;
	struct harness_response *r;
	char line[512];
	long long t0;
	int code = 0;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	start_vm(h, "spin");
	/* The write callback aborts once "spinning\n" came: the client
	 * closes its connection while the VM runs on. */
	s = harness_stream_open(h, "GET", "/v1/vms/spin/console?follow=1", NULL,
				9, 30000);
	r = harness_stream_end(s, WAIT_MS, &code);
	assert_int_not_equal(code, 0);
	assert_status(r, 200);
	assert_string_equal(r->hr_body, "spinning\n");
	t0 = now_ms();
	if (!log_shows(h, "GET /v1/vms/spin/console", 2000, line, sizeof(line)))
		fail_msg("no access line for the console request within 2 s "
			 "of the client going away");
	print_message("the daemon logged the follower's end after %lld ms: "
		      "%s\n",
		      now_ms() - t0, line);

	/* It serves on, the VM runs on, and stops promptly. */
	assert_json_str(harness_get(h, "/v1/vms/spin"), "status.state",
			"running");
	assert_console(console_get(h, "spin", "", NULL), "spinning\n",
		       TEXT_PLAIN, "9", "0");
	r = vm_op(h, "spin", "stop", "?force=1");
	assert_status(r, 200);
	assert_json_str(r, "status.state", "stopped");
}

static void
test_console__a_daemon_shutdown_ends_a_follower_of_a_running_vm(
    struct harness *h)
{
	struct harness_stream *s;
	struct harness_response *r;
	long long t0;
	int code = -1;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	start_vm(h, "spin");
	s = harness_stream_open(h, "GET", "/v1/vms/spin/console?follow=1", NULL,
				0, 30000);
	if (!harness_stream_wait_for(s, "spinning\n", WAIT_MS))
		fail_msg("the stream did not show \"spinning\\n\"");
	t0 = now_ms();
	harness_stop(h); /* SIGTERM: exit 0 within the harness's bound */
	print_message("the daemon took %lld ms to stop with a follower\n",
		      now_ms() - t0);
	r = harness_stream_end(s, 5000, &code);
	print_message("the follower's transfer ended: curl code %d, status "
		      "%ld\n",
		      code, r->hr_status);
	assert_status(r, 200);
	assert_string_equal(r->hr_body, "spinning\n");
}

static void
test_console__bigout_output_arrives_complete_and_in_order(struct harness *h)
{
	struct harness_stream *s;
	struct harness_response *r;
	int code = -1;

	put_bigout(h, 20000);
	harness_define_vm(h, "big", "bigout.bin", "");
	start_vm(h, "big");
	/* A follower from the start sees every byte, then the end. */
	s = harness_stream_open(h, "GET", "/v1/vms/big/console?follow=1", NULL,
				0, 30000);
	r = harness_stream_end(s, WAIT_MS, &code);
	assert_int_equal(code, 0);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, 20000);
	assert_bigout(r->hr_body, r->hr_body_len, 0, "followed");

	r = harness_wait_vm_state(h, "big", "stopped", WAIT_MS);
	assert_json_str(r, "status.exit_reason", "debug-exit port");
	assert_json_int(r, "status.exit_status", 0);
	r = console_get(h, "big", "", NULL);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, 20000);
	assert_bigout(r->hr_body, r->hr_body_len, 0, "read");
	assert_header(r, "Console-Next-Offset", "20000");
	r = console_get(h, "big", "?offset=12345", NULL);
	assert_int_equal(r->hr_body_len, 20000 - 12345);
	assert_bigout(r->hr_body, r->hr_body_len, 12345, "read from 12345");
}

/*
 * The follow stream is coalesced (a chunk per CONSOLE_STREAM_DELAY_US
 * while output trickles in), but an interactive client must not notice:
 * each keystroke's echo comes within a second (the delay is milliseconds;
 * the bound is generous on purpose), whether it follows a quiet spell or
 * comes right behind another one.
 */
static void
test_console__a_followed_echo_arrives_within_a_second_of_each_keystroke(
    struct harness *h)
{
	static const char *const keys[] = {"a", "b", "c", "d", "e", "f"};
	struct harness_stream *s;
	struct harness_response *r;
	char want[16] = "";
	long long t0, took;
	size_t i;
	int code = -1;

	s = follow_echo(h);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		strcat(want, keys[i]);
		t0 = now_ms();
		assert_status(console_post(h, "echo", "", keys[i], 1), 200);
		if (!harness_stream_wait_for(s, want, 1000))
			fail_msg("the echo of keystroke %zu (\"%s\") did not "
				 "arrive within 1 s (%zu bytes came)",
				 i + 1, keys[i], harness_stream_len(s));
		took = now_ms() - t0;
		print_message("keystroke %zu echoed after %lld ms\n", i + 1,
			      took);
		/* Every other one right behind its predecessor. */
		if (i % 2 == 1)
			sleep_ms(50);
	}
	t0 = now_ms();
	assert_status(console_post(h, "echo", "", "q", 1), 200);
	r = harness_stream_end(s, WAIT_MS, &code);
	print_message("the stream ended %lld ms after the quit keystroke\n",
		      now_ms() - t0);
	assert_int_equal(code, 0);
	assert_string_equal(r->hr_body, "abcdefbye\n");
}

/*
 * Output short of the low-water mark when the run ends is not held back:
 * the end of the run sends it and ends the stream (both ways of
 * following: monitor-mode start and GET ?follow=1).
 */
static void
test_console__a_stream_ends_with_every_byte_when_the_vm_stops(struct harness *h)
{
	struct harness_stream *s, *mon;
	struct harness_response *r;
	long long t0;
	int code = -1;

	put_bigout(h, 3000); /* below the 4 KiB mark: all of it may wait */
	harness_define_vm(h, "big", "bigout.bin", "");
	t0 = now_ms();
	mon = harness_stream_open(h, "POST", "/v1/vms/big/start?mode=monitor",
				  NULL, 0, 30000);
	r = harness_stream_end(mon, WAIT_MS, &code);
	print_message("monitor-mode run of bigout (3000 bytes) ended after "
		      "%lld ms\n",
		      now_ms() - t0);
	assert_int_equal(code, 0);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, 3000);
	assert_bigout(r->hr_body, r->hr_body_len, 0, "monitor mode");
	harness_wait_vm_state(h, "big", "stopped", WAIT_MS);

	/* A follower of the next run, from where that run starts. */
	start_vm(h, "big");
	s = harness_stream_open(h, "GET",
				"/v1/vms/big/console?follow=1&offset=3000",
				NULL, 0, 30000);
	r = harness_stream_end(s, WAIT_MS, &code);
	assert_int_equal(code, 0);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, 3000);
	assert_bigout(r->hr_body, r->hr_body_len, 0, "followed");
}

/* Monitor mode streams what the guest writes whole and in order too. */
static void
test_console__bigout_arrives_complete_and_in_order_in_monitor_mode(
    struct harness *h)
{
	struct harness_stream *s;
	struct harness_response *r;
	int code = -1;

	put_bigout(h, 50000);
	harness_define_vm(h, "big", "bigout.bin", "");
	s = harness_stream_open(h, "POST", "/v1/vms/big/start?mode=monitor",
				NULL, 0, 30000);
	r = harness_stream_end(s, 30000, &code);
	assert_int_equal(code, 0);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, 50000);
	assert_bigout(r->hr_body, r->hr_body_len, 0, "monitor mode");
}

static void
test_console__output_past_what_is_kept_counts_the_lost_bytes(struct harness *h)
{
	const uint32_t n = KEPT + 1000;
	struct harness_response *r;
	char next[32];

	put_bigout(h, n);
	harness_define_vm(h, "big", "bigout.bin", "");
	start_vm(h, "big");
	/* One port-I/O exit per byte: emulated, slow (harness.h). */
	r = harness_wait_vm_state(h, "big", "stopped",
				  30000 * harness_time_factor());
	assert_json_int(r, "status.exit_status", 0);
	snprintf(next, sizeof(next), "%u", n);

	/* By default from the oldest byte kept: nothing counted lost. */
	r = console_get(h, "big", "", NULL);
	assert_status(r, 200);
	assert_int_equal(r->hr_body_len, KEPT);
	assert_bigout(r->hr_body, r->hr_body_len, n - KEPT, "default");
	assert_header(r, "Console-Next-Offset", next);
	assert_header(r, "Console-Lost-Bytes", "0");
	/* From 0: the first 1000 are gone, and said so. */
	r = console_get(h, "big", "?offset=0", NULL);
	assert_int_equal(r->hr_body_len, KEPT);
	assert_bigout(r->hr_body, r->hr_body_len, n - KEPT, "offset 0");
	assert_header(r, "Console-Next-Offset", next);
	assert_header(r, "Console-Lost-Bytes", "1000");
	/* From the oldest kept byte exactly: all there. */
	r = console_get(h, "big", "?offset=1000", NULL);
	assert_int_equal(r->hr_body_len, KEPT);
	assert_header(r, "Console-Lost-Bytes", "0");
}

static void
test_console__a_follower_sees_a_reset_and_ends_when_the_vm_is_stopped(
    struct harness *h)
{
	struct harness_stream *s;
	struct harness_response *r;
	int code = -1;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	start_vm(h, "spin");
	s = harness_stream_open(h, "GET", "/v1/vms/spin/console?follow=1", NULL,
				0, 30000);
	if (!harness_stream_wait_for(s, "spinning\n", WAIT_MS))
		fail_msg("the stream did not show \"spinning\\n\"");
	/* A reset is no end of the run: the stream goes on. */
	assert_status(vm_op(h, "spin", "reset", ""), 200);
	if (!harness_stream_wait_for(s, "spinning\nspinning\n", WAIT_MS))
		fail_msg("the stream did not show the output after the reset");
	assert_status(vm_op(h, "spin", "stop", "?force=1"), 200);
	r = harness_stream_end(s, 5000, &code);
	assert_int_equal(code, 0);
	assert_status(r, 200);
	assert_string_equal(r->hr_body, "spinning\nspinning\n");
}

/*
 * A graceful stop of a guest that does not power off takes its whole
 * timeout (up to 3600 s).  Reading or typing into the console meanwhile
 * is unrelated to the stop and must not wait for it; with two HTTP
 * threads, two such waits would also stall every other request.
 */
static void
test_console__reads_and_input_are_not_held_up_by_a_graceful_stop(
    struct harness *h)
{
	struct harness_stream *stop;
	struct harness_response *r;
	long long t0, took;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "spin", "spin.bin", "");
	start_vm(h, "spin");
	stop = harness_stream_open(h, "POST", "/v1/vms/spin/stop?timeout=4",
				   NULL, 0, 30000);
	harness_wait_vm_state(h, "spin", "stopping", 2000);

	t0 = now_ms();
	r = console_get(h, "spin", "", NULL);
	took = now_ms() - t0;
	print_message("a console read during a 4 s graceful stop took %lld "
		      "ms\n",
		      took);
	assert_console(r, "spinning\n", TEXT_PLAIN, "9", "0");
	if (took > 1500)
		fail_msg("a console read waited %lld ms for a graceful stop "
			 "of the VM",
			 took);
	t0 = now_ms();
	r = console_post(h, "spin", "", "x", 1);
	took = now_ms() - t0;
	print_message("console input during the stop took %lld ms (%ld)\n",
		      took, r->hr_status);
	if (took > 1500)
		fail_msg("console input waited %lld ms for a graceful stop",
			 took);
	r = harness_stream_end(stop, 30000, NULL);
	assert_status(r, 200);
	assert_json_str(r, "status.state", "stopped");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(test_console__a_vm_that_never_ran_has_an_empty_console,
			 0),
	    HARNESS_CASE(
		test_console__output_of_hello_reads_whole_and_from_an_offset,
		0),
	    HARNESS_CASE(test_console__a_second_run_appends_to_the_output, 0),
	    HARNESS_CASE(
		test_console__an_empty_console_still_says_its_media_type, 0),
	    HARNESS_CASE(test_console__bad_queries_are_400_and_unknown_vms_404,
			 0),
	    HARNESS_CASE(
		test_console__follow_streams_an_echo_guest_until_it_stops, 0),
	    HARNESS_CASE(
		test_console__follow_of_a_stopped_vm_returns_the_output_and_ends,
		0),
	    HARNESS_CASE(
		test_console__input_is_refused_when_empty_or_when_not_running,
		0),
	    HARNESS_CASE(
		test_console__input_queue_holds_65536_bytes_then_is_429, 0),
	    HARNESS_CASE(
		test_console__a_follower_that_goes_away_leaves_the_daemon_working,
		0),
	    HARNESS_CASE(
		test_console__a_daemon_shutdown_ends_a_follower_of_a_running_vm,
		0),
	    HARNESS_CASE(
		test_console__a_follower_sees_a_reset_and_ends_when_the_vm_is_stopped,
		0),
	    HARNESS_CASE_ARGS(
		test_console__reads_and_input_are_not_held_up_by_a_graceful_stop,
		0, "--http-threads", "2"),
	    HARNESS_CASE(
		test_console__bigout_output_arrives_complete_and_in_order, 0),
	    HARNESS_CASE(
		test_console__output_past_what_is_kept_counts_the_lost_bytes,
		0),
	    HARNESS_CASE(
		test_console__a_followed_echo_arrives_within_a_second_of_each_keystroke,
		0),
	    HARNESS_CASE(
		test_console__a_stream_ends_with_every_byte_when_the_vm_stops,
		0),
	    HARNESS_CASE(
		test_console__bigout_arrives_complete_and_in_order_in_monitor_mode,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
