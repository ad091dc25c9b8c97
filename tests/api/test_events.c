/*
 * GET /v1/events against the real daemon: every 2xx change of 8
 * concurrent writers is exactly one event and ids strictly increase;
 * replay from an id and the seam between replay and live (no gap, no
 * duplicate); filters; bad queries; a slow consumer gets "gap" and
 * resumes from the journal; 410 past retention; access filtering per
 * event (member tokens over TCP, ?access_token= kept out of the logs); a
 * restart mid-stream resumed with Last-Event-ID; keep-alives; metrics.
 *
 * Streams are read over raw sockets with HTTP/1.0 (no chunked framing),
 * every wait is bounded and a missing event fails the case.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "sysfs_tree.h"

#define WAIT_MS 20000

/* A stream read over a raw socket. */
struct sse {
	int s_fd;
	char *s_buf;
	size_t s_len, s_cap;
	int s_eof;
};

static int
sse_connect(struct harness *h, int tcp, const char *sock)
{
	int fd;

	if (tcp) {
		struct sockaddr_in sin = {.sin_family = AF_INET};

		sin.sin_port = htons((uint16_t)h->h_tcp_port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
			-1 ||
		    connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
			fail_msg("connect tcp %d: %s", h->h_tcp_port,
				 strerror(errno));
	} else {
		struct sockaddr_un sun = {.sun_family = AF_UNIX};

		if (sock == NULL)
			sock = h->h_sock;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) ==
			-1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			fail_msg("connect %s: %s", sock, strerror(errno));
	}
	return fd;
}

/*
 * Opens GET path with extra header lines ("" none), "\r\n"-ended, over
 * TCP, h's Unix socket, or (sock) another Unix socket such as a jail's.
 */
static struct sse *
sse_open_on(struct harness *h, int tcp, const char *sock, const char *path,
	    const char *headers)
{
	struct sse *s = harness_alloc(h, sizeof(*s));
	char rq[2048];
	int n;

	s->s_fd = sse_connect(h, tcp, sock);
	n = snprintf(rq, sizeof(rq), "GET %s HTTP/1.0\r\nHost: x\r\n%s\r\n",
		     path, headers);
	if (send(s->s_fd, rq, (size_t)n, MSG_NOSIGNAL) != n)
		fail_msg("send: %s", strerror(errno));
	return s;
}

static struct sse *
sse_open(struct harness *h, int tcp, const char *path, const char *headers)
{
	return sse_open_on(h, tcp, NULL, path, headers);
}

static void
sse_close(struct sse *s)
{
	if (s->s_fd >= 0)
		close(s->s_fd);
	s->s_fd = -1;
	free(s->s_buf);
	s->s_buf = NULL;
}

/* Reads what is there, waiting up to ms for it; 0 on timeout. */
static int
sse_pump(struct sse *s, int ms)
{
	struct pollfd pfd = {s->s_fd, POLLIN, 0};
	ssize_t n;

	if (s->s_eof || poll(&pfd, 1, ms) != 1)
		return 0;
	if (s->s_len + 65536 + 1 > s->s_cap) {
		s->s_cap = (s->s_len + 65536 + 1) * 2;
		if ((s->s_buf = realloc(s->s_buf, s->s_cap)) == NULL)
			fail_msg("out of memory");
	}
	n = recv(s->s_fd, s->s_buf + s->s_len, 65536, 0);
	if (n <= 0) {
		s->s_eof = 1;
		if (s->s_buf != NULL)
			s->s_buf[s->s_len] = '\0';
		return 1;
	}
	s->s_len += (size_t)n;
	s->s_buf[s->s_len] = '\0';
	return 1;
}

/* Reads until needle came (1), or the end or WAIT_MS passed (0). */
static int
sse_wait_for(struct sse *s, const char *needle)
{
	int waited = 0;

	while (s->s_buf == NULL || strstr(s->s_buf, needle) == NULL) {
		if (s->s_eof || waited >= WAIT_MS)
			return 0;
		if (!sse_pump(s, 100))
			waited += 100;
	}
	return 1;
}

/* Reads until the daemon closes the stream: 1, or 0 after WAIT_MS. */
static int
sse_wait_end(struct sse *s)
{
	int waited = 0;

	while (!s->s_eof) {
		if (waited >= WAIT_MS)
			return 0;
		if (!sse_pump(s, 100))
			waited += 100;
	}
	return 1;
}

static void
sse_must_see(struct sse *s, const char *needle)
{
	if (!sse_wait_for(s, needle))
		fail_msg("%s did not come on the stream within %d ms; it "
			 "has:\n%.4000s",
			 needle, WAIT_MS, s->s_buf ? s->s_buf : "(nothing)");
}

/* One event as parsed from the stream. */
struct ev {
	int64_t e_id; /* 0: none (gap) */
	char e_type[32];
	json_t *e_data;
};

/*
 * The events in what s received so far (after the head), in order, into
 * *out (h's); returns how many.  Fails on a block that is not an event
 * or a comment.
 */
static size_t
sse_parse(struct harness *h, struct sse *s, struct ev **out)
{
	const char *p = s->s_buf ? strstr(s->s_buf, "\r\n\r\n") : NULL;
	size_t n = 0, cap = 64;
	struct ev *evs = harness_alloc(h, cap * sizeof(*evs));

	if (p == NULL)
		fail_msg("no response head on the stream");
	p += 4;
	while (*p != '\0') {
		const char *end = strstr(p, "\n\n");
		struct ev e = {0};
		const char *line = p;

		if (end == NULL)
			break; /* a block still arriving */
		while (line < end) {
			const char *nl = strchr(line, '\n');

			if (strncmp(line, "id: ", 4) == 0)
				e.e_id = strtoll(line + 4, NULL, 10);
			else if (strncmp(line, "event: ", 7) == 0)
				snprintf(e.e_type, sizeof(e.e_type), "%.*s",
					 (int)(nl - line - 7), line + 7);
			else if (strncmp(line, "data: ", 6) == 0)
				e.e_data = json_loadb(
				    line + 6, (size_t)(nl - line - 6), 0, NULL);
			line = nl + 1;
		}
		p = end + 2;
		if (e.e_type[0] == '\0')
			continue; /* a comment, retry: */
		if (e.e_data == NULL)
			fail_msg("event %s %" PRId64 " without JSON data",
				 e.e_type, e.e_id);
		if (n == cap) {
			struct ev *more =
			    harness_alloc(h, 2 * cap * sizeof(*evs));

			memcpy(more, evs, cap * sizeof(*evs));
			evs = more;
			cap *= 2;
		}
		evs[n++] = e;
	}
	*out = evs;
	return n;
}

static void
ev_free(struct ev *evs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(evs[i].e_data);
}

static const char *
ev_vm(const struct ev *e)
{
	return json_string_value(json_object_get(e->e_data, "vm"));
}

/* Ids strictly increase, and each data.id is the event's id. */
static void
assert_ids_increase(const struct ev *evs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (evs[i].e_id == 0)
			continue;
		if (json_integer_value(json_object_get(evs[i].e_data, "id")) !=
		    evs[i].e_id)
			fail_msg("event %" PRId64 ": data.id differs",
				 evs[i].e_id);
		if (i > 0 && evs[i].e_id <= evs[i - 1].e_id)
			fail_msg("event %zu has id %" PRId64 " after %" PRId64,
				 i, evs[i].e_id, evs[i - 1].e_id);
	}
}

/* Ids are exactly first, first + 1, ... (a stream that sees all). */
static void
assert_ids_contiguous(const struct ev *evs, size_t n, int64_t first)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (evs[i].e_id != first + (int64_t)i)
			fail_msg("event %zu has id %" PRId64
				 ", expected %" PRId64
				 " (a gap or a duplicate)",
				 i, evs[i].e_id, first + (int64_t)i);
}

static void
define(struct harness *h, const char *name)
{
	harness_define_vm(h, name, "none.bin", "");
}

/* The concurrent writers of the first case. */
#define WRITERS 8
#define NAMES 96 /* each name is tried by two writers */

struct writer {
	struct harness *w_h;
	int w_index;
	int w_created[NAMES]; /* 1: this writer's create of name i was 201 */
	int w_deleted[NAMES]; /* 1: its delete of name i was 204 */
	int w_failed;
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	void *curl = curl_easy_init();
	struct harness_response r;
	char body[256], path[64];
	int i;

	if (curl == NULL) {
		w->w_failed = 1;
		return NULL;
	}
	for (i = 0; i < NAMES; i++) {
		/* Writers 2k and 2k+1 race for the same names. */
		if (i % (WRITERS / 2) != w->w_index / 2)
			continue;
		snprintf(body, sizeof(body),
			 "{\"name\":\"c%d\",\"memory_mib\":4,\"boot\":{"
			 "\"kind\":\"flat\",\"image\":\"none.bin\"}}",
			 i);
		const char *hdr[] = {"Content-Type: application/json", NULL};
		struct harness_request rq = {.rq_method = "POST",
					     .rq_path = "/v1/vms",
					     .rq_headers = hdr,
					     .rq_body = body,
					     .rq_body_len = strlen(body)};

		if (harness_fetch(w->w_h, curl, &rq, &r) != 0) {
			w->w_failed = 1;
			break;
		}
		w->w_created[i] = r.hr_status == 201;
		if (r.hr_status != 201 && r.hr_status != 409)
			w->w_failed = 1;
		harness_response_clear(&r);
		/* Every third name is deleted again, by both writers. */
		if (i % 3 == 0) {
			struct harness_request d = {.rq_method = "DELETE",
						    .rq_path = path};

			snprintf(path, sizeof(path), "/v1/vms/c%d", i);
			if (harness_fetch(w->w_h, curl, &d, &r) != 0) {
				w->w_failed = 1;
				break;
			}
			w->w_deleted[i] = r.hr_status == 204;
			if (r.hr_status != 204 && r.hr_status != 404)
				w->w_failed = 1;
			harness_response_clear(&r);
		}
	}
	curl_easy_cleanup(curl);
	return NULL;
}

/* How many events of type about vm are in evs. */
static int
count_of(const struct ev *evs, size_t n, const char *type, const char *vm)
{
	size_t i;
	int c = 0;

	for (i = 0; i < n; i++)
		if (strcmp(evs[i].e_type, type) == 0 && ev_vm(&evs[i]) &&
		    strcmp(ev_vm(&evs[i]), vm) == 0)
			c++;
	return c;
}

static void
test_events__every_change_of_8_concurrent_writers_is_one_event_in_order(
    struct harness *h)
{
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	struct sse *live, *replay;
	struct ev *evs, *revs;
	size_t n, rn, i;
	char name[16];
	int k, created, deleted;

	live = sse_open(h, 0, "/v1/events", "");
	sse_must_see(live, ": vmmapid events");
	memset(w, 0, sizeof(w));
	for (k = 0; k < WRITERS; k++) {
		w[k].w_h = h;
		w[k].w_index = k;
		if (pthread_create(&t[k], NULL, writer_main, &w[k]) != 0)
			fail_msg("pthread_create");
	}
	/* A replay from the start, opened while the writers write: its
	 * seam falls somewhere in the middle of them. */
	replay = sse_open(h, 0, "/v1/events?since=0", "");
	for (k = 0; k < WRITERS; k++)
		pthread_join(t[k], NULL);
	for (k = 0; k < WRITERS; k++)
		if (w[k].w_failed)
			fail_msg("writer %d got an unexpected answer", k);
	define(h, "zz-end");
	sse_must_see(live, "\"name\":\"zz-end\"");
	sse_must_see(replay, "\"name\":\"zz-end\"");

	n = sse_parse(h, live, &evs);
	assert_ids_increase(evs, n);
	assert_ids_contiguous(evs, n, evs[0].e_id);
	for (i = 0; i < NAMES; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		created = deleted = 0;
		for (k = 0; k < WRITERS; k++) {
			created += w[k].w_created[i];
			deleted += w[k].w_deleted[i];
		}
		/* Two writers race: one wins, unless the name was deleted
		 * in between and the other could define it again. */
		if (created < 1 || (i % 3 != 0 && created != 1))
			fail_msg("%s was created %d times", name, created);
		if (count_of(evs, n, "vm.defined", name) != created ||
		    count_of(evs, n, "vm.deleted", name) != deleted)
			fail_msg("%s: %d creates and %d deletes answered 2xx, "
				 "%d and %d events",
				 name, created, deleted,
				 count_of(evs, n, "vm.defined", name),
				 count_of(evs, n, "vm.deleted", name));
	}
	/* Nothing but those: the creates, the deletes, zz-end. */
	for (i = 0; i < n; i++)
		if (strcmp(evs[i].e_type, "vm.defined") != 0 &&
		    strcmp(evs[i].e_type, "vm.deleted") != 0)
			fail_msg("unexpected event %s", evs[i].e_type);

	/* The replay saw the same events, after daemon.started, once each. */
	rn = sse_parse(h, replay, &revs);
	assert_ids_contiguous(revs, rn, 1);
	if (strcmp(revs[0].e_type, "daemon.started") != 0)
		fail_msg("the first event is %s", revs[0].e_type);
	if (rn != n + 1)
		fail_msg("the replay has %zu events, the live stream %zu", rn,
			 n);
	for (i = 0; i < n; i++)
		if (!json_equal(evs[i].e_data, revs[i + 1].e_data))
			fail_msg("event %" PRId64 " differs between replay "
				 "and live",
				 evs[i].e_id);
	ev_free(evs, n);
	ev_free(revs, rn);
	sse_close(live);
	sse_close(replay);
}

/*
 * A stream begins after every change answered before it was opened:
 * the answered change's event is not sent live on it, and its id may be
 * given as ?since.  The dispatcher hands events out in batches, at most
 * one per 10 us x subscribers (core/events.c), so with a few hundred
 * streams open an event committed and answered could still be on its
 * way when the next stream subscribed: that stream got it live, and a
 * ?since naming it was refused as an id from the future (400), in one
 * run in a few under load.
 */
#define IDLE_STREAMS 300
#define ROUNDS 15

static void
test_events__a_change_answered_before_a_stream_opened_is_in_its_past(
    struct harness *h)
{
	struct sse *idle[IDLE_STREAMS], *s;
	struct ev *evs;
	char name[32], needle[64];
	size_t n;
	int i;

	for (i = 0; i < IDLE_STREAMS; i++)
		idle[i] = sse_open(h, 0, "/v1/events?vm=nobody", "");
	for (i = 0; i < IDLE_STREAMS; i++)
		sse_must_see(idle[i], "retry: ");
	for (i = 0; i < ROUNDS; i++) {
		/* two, so that the second's event waits for a batch */
		snprintf(name, sizeof(name), "p%da", i);
		define(h, name);
		snprintf(name, sizeof(name), "p%db", i);
		define(h, name);
		s = sse_open(h, 0, "/v1/events", "");
		sse_must_see(s, "retry: ");
		snprintf(name, sizeof(name), "q%d", i);
		define(h, name);
		snprintf(needle, sizeof(needle), "\"vm\":\"%s\"", name);
		sse_must_see(s, needle);
		n = sse_parse(h, s, &evs);
		if (n == 0 || strcmp(evs[0].e_type, "vm.defined") != 0 ||
		    strcmp(ev_vm(&evs[0]), name) != 0)
			fail_msg("round %d: the stream's first event is %s "
				 "of %s, not %s's definition",
				 i, n > 0 ? evs[0].e_type : "(none)",
				 n > 0 && ev_vm(&evs[0]) ? ev_vm(&evs[0]) : "-",
				 name);
		ev_free(evs, n);
		sse_close(s);
	}
	for (i = 0; i < IDLE_STREAMS; i++)
		sse_close(idle[i]);
}

/* Ids of the stream are since+1 ... and the VMs come in order. */
static void
test_events__since_replays_the_journal_then_goes_on_live(struct harness *h)
{
	struct sse *s;
	struct ev *evs;
	size_t n;

	define(h, "a1"); /* 2 (1: daemon.started) */
	define(h, "a2"); /* 3 */
	define(h, "a3"); /* 4 */
	s = sse_open(h, 0, "/v1/events?since=2", "");
	sse_must_see(s, "\"name\":\"a3\"");
	define(h, "a4"); /* 5: live */
	assert_status(
	    harness_req(h, "PATCH", "/v1/vms/a4", "{\"description\":\"x\"}",
			"Content-Type: application/merge-patch+json", NULL),
	    200); /* 6 */
	assert_status(harness_req(h, "DELETE", "/v1/vms/a1", NULL, NULL),
		      204); /* 7 */
	sse_must_see(s, "id: 7\n");
	n = sse_parse(h, s, &evs);
	assert_ids_contiguous(evs, n, 3);
	assert_int_equal(n, 5);
	assert_string_equal(evs[0].e_type, "vm.defined");
	assert_string_equal(ev_vm(&evs[0]), "a2");
	assert_string_equal(evs[2].e_type, "vm.defined");
	assert_string_equal(ev_vm(&evs[2]), "a4");
	assert_string_equal(evs[3].e_type, "vm.changed");
	assert_int_equal(
	    json_integer_value(json_object_get(evs[3].e_data, "generation")),
	    2);
	assert_string_equal(evs[4].e_type, "vm.deleted");
	assert_string_equal(
	    json_string_value(harness_json_at(evs[4].e_data, "actor.kind")),
	    "api");
	ev_free(evs, n);
	sse_close(s);

	/* Last-Event-ID wins over ?since (EventSource keeps the URL). */
	s = sse_open(h, 0, "/v1/events?since=0", "Last-Event-ID: 6\r\n");
	sse_must_see(s, "id: 7\n");
	n = sse_parse(h, s, &evs);
	assert_int_equal(n, 1);
	assert_int_equal(evs[0].e_id, 7);
	ev_free(evs, n);
	sse_close(s);
}

static void
test_events__type_and_vm_filter_what_comes(struct harness *h)
{
	struct sse *byvm, *bytype, *group;
	struct ev *evs;
	size_t n, i;

	byvm = sse_open(h, 0, "/v1/events?vm=f1&vm=f3", "");
	bytype = sse_open(h, 0, "/v1/events?type=vm.deleted", "");
	group = sse_open(h, 0, "/v1/events?type=guestinfo&vm=f2", "");
	sse_must_see(byvm, ": vmmapid");
	sse_must_see(bytype, ": vmmapid");
	sse_must_see(group, ": vmmapid");
	define(h, "f1");
	define(h, "f2");
	define(h, "f3");
	assert_status(harness_req(h, "PUT", "/v1/vms/f2/guestinfo/k",
				  "{\"value\":\"v\"}", NULL),
		      201);
	assert_status(
	    harness_req(h, "DELETE", "/v1/vms/f2/guestinfo/k", NULL, NULL),
	    204);
	assert_status(harness_req(h, "DELETE", "/v1/vms/f2", NULL, NULL), 204);
	assert_status(harness_req(h, "DELETE", "/v1/vms/f3", NULL, NULL), 204);
	sse_must_see(byvm, "\"type\":\"vm.deleted\"");
	sse_must_see(bytype, "\"vm\":\"f3\"");
	sse_must_see(group, "guestinfo.deleted");

	n = sse_parse(h, byvm, &evs);
	assert_int_equal(n, 3); /* f1 defined, f3 defined, f3 deleted */
	for (i = 0; i < n; i++)
		if (strcmp(ev_vm(&evs[i]), "f2") == 0)
			fail_msg("?vm=f1&vm=f3 let an event of f2 through");
	ev_free(evs, n);
	n = sse_parse(h, bytype, &evs);
	assert_int_equal(n, 2);
	assert_string_equal(ev_vm(&evs[0]), "f2");
	assert_string_equal(ev_vm(&evs[1]), "f3");
	ev_free(evs, n);
	n = sse_parse(h, group, &evs);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].e_type, "guestinfo.set");
	assert_string_equal(
	    json_string_value(harness_json_at(evs[0].e_data, "target.name")),
	    "k");
	assert_string_equal(evs[1].e_type, "guestinfo.deleted");
	ev_free(evs, n);
	sse_close(byvm);
	sse_close(bytype);
	sse_close(group);
}

static void
test_events__bad_query_values_are_400(struct harness *h)
{
	static const struct {
		const char *q, *field;
	} bad[] = {
	    {"since=-1", "since"},  {"since=abc", "since"},
	    {"since=", "since"},    {"since=1&since=2", "since"},
	    {"type=VM", "type"},    {"type=vm.", "type"},
	    {"vm=a%2Fb", "vm"},     {"vm=", "vm"},
	    {"jail=a%2Fb", "jail"}, {"jail=", "jail"},
	    {"follow=1", "follow"},
	};
	const char *hdr[] = {"Last-Event-ID: x1", NULL};
	struct harness_request rq = {
	    .rq_method = "GET", .rq_path = "/v1/events", .rq_headers = hdr};
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/v1/events?%s", bad[i].q);
		assert_problem(harness_get(h, path), 400, bad[i].field);
	}
	assert_problem(harness_send(h, &rq), 400, "Last-Event-ID");
}

/*
 * A subscriber that does not read: its buffer (--events-buffer 4) fills
 * once the socket's does, it gets "gap" with the first id it missed and
 * its stream ends; Last-Event-ID then reads on from the journal and
 * nothing is lost.
 */
static void
test_events__a_slow_consumer_gets_gap_and_resumes_from_the_journal(
    struct harness *h)
{
	struct sse *slow, *again;
	struct ev *evs;
	size_t n, i;
	int64_t last = 0, missed;
	char hdr[64];
	json_t *gap = NULL;
	struct writer w[WRITERS];
	pthread_t t[WRITERS];
	int k, round;

	slow = sse_open(h, 0, "/v1/events", "");
	sse_must_see(slow, ": vmmapid events");
	/* Stop reading: several hundred KiB of events, many more than the
	 * socket buffers hold, with creates and deletes of 8 writers. */
	for (round = 0; round < 6; round++) {
		memset(w, 0, sizeof(w));
		for (k = 0; k < WRITERS; k++) {
			w[k].w_h = h;
			w[k].w_index = k;
			pthread_create(&t[k], NULL, writer_main, &w[k]);
		}
		for (k = 0; k < WRITERS; k++)
			pthread_join(t[k], NULL);
	}
	define(h, "zz-end");
	if (!sse_wait_end(slow))
		fail_msg("the slow consumer's stream did not end");
	n = sse_parse(h, slow, &evs);
	for (i = 0; i < n; i++) {
		if (strcmp(evs[i].e_type, "gap") == 0) {
			gap = evs[i].e_data;
			if (i + 1 != n)
				fail_msg("events after the gap");
			break;
		}
		if (evs[i].e_id != 0)
			last = evs[i].e_id;
	}
	if (gap == NULL)
		fail_msg("the stream ended without a gap event (%zu events)",
			 n);
	missed = json_integer_value(json_object_get(gap, "first_missed_id"));
	assert_int_equal(missed, last + 1);
	assert_int_equal(
	    json_integer_value(json_object_get(gap, "last_sent_id")), last);
	assert_ids_contiguous(evs, n - 1, evs[0].e_id);
	ev_free(evs, n);
	sse_close(slow);

	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRId64 "\r\n", last);
	again = sse_open(h, 0, "/v1/events", hdr);
	sse_must_see(again, "\"name\":\"zz-end\"");
	n = sse_parse(h, again, &evs);
	assert_ids_contiguous(evs, n, missed);
	ev_free(evs, n);
	sse_close(again);
}

/* --events-keep 5: a restart prunes to the newest 5. */
static void
test_events__since_past_retention_is_410_naming_the_oldest(struct harness *h)
{
	struct harness_response *r;
	struct sse *s;
	struct ev *evs;
	size_t n;
	char name[16];
	int i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		define(h, name); /* 2 .. 11 */
	}
	harness_restart(h); /* keeps 7 .. 11, then 12: daemon.started */
	r = harness_get(h, "/v1/events?since=5");
	assert_problem(r, 410, "since");
	assert_json_str(r, "type", "/v1/problems/events-gone");
	if (strstr(json_string_value(json_object_get(r->hr_json, "detail")),
		   "the oldest kept is 7") == NULL)
		fail_msg("the 410 does not name the oldest id kept: %s",
			 r->hr_body);
	assert_problem(harness_get(h, "/v1/events?since=99"), 410, "since");

	s = sse_open(h, 0, "/v1/events?since=6", "");
	sse_must_see(s, "id: 12\n");
	n = sse_parse(h, s, &evs);
	assert_ids_contiguous(evs, n, 7);
	assert_string_equal(evs[5].e_type, "daemon.started");
	ev_free(evs, n);
	sse_close(s);
}

/* A token for uid with the vmm group 4200 (root's request). */
static void
make_token(struct harness *h, int uid, char *out, size_t len)
{
	char body[128];
	struct harness_response *r;

	snprintf(body, sizeof(body), "{\"uid\":%d,\"gids\":[%d,4200]}", uid,
		 uid);
	r = harness_req(h, "POST", "/v1/tokens", body, NULL);
	assert_status(r, 201);
	snprintf(out, len, "%s",
		 json_string_value(json_object_get(r->hr_json, "token")));
}

/* POST /v1/vms over TCP with token. */
static void
define_as(struct harness *h, const char *token, const char *name)
{
	char body[256];
	const char *hdr[] = {"Content-Type: application/json", NULL};
	struct harness_request rq = {.rq_method = "POST",
				     .rq_path = "/v1/vms",
				     .rq_headers = hdr,
				     .rq_tcp = 1,
				     .rq_token = token};

	snprintf(body, sizeof(body),
		 "{\"name\":\"%s\",\"memory_mib\":4,\"boot\":{\"kind\":"
		 "\"flat\",\"image\":\"none.bin\"}}",
		 name);
	rq.rq_body = body;
	rq.rq_body_len = strlen(body);
	assert_status(harness_send(h, &rq), 201);
}

/*
 * A vmm member sees its own VMs' events only (no token or jail events,
 * none of another member's or root's VMs); root sees all.  The member's
 * stream takes its token as ?access_token=, which no log keeps.
 */
static void
test_events__each_caller_sees_only_what_it_may_read(struct harness *h)
{
	char tok1[128], tok2[128], path[512], auth[512], *log;
	struct sse *m1, *root, *anon;
	struct ev *evs;
	size_t n, i;

	make_token(h, 4242, tok1, sizeof(tok1));
	make_token(h, 4244, tok2, sizeof(tok2));
	snprintf(path, sizeof(path), "/v1/events?since=0&access_token=%s",
		 tok1);
	m1 = sse_open(h, 1, path, "");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
		 h->h_token);
	root = sse_open(h, 1, "/v1/events?since=0", auth);
	define(h, "rootvm");
	define_as(h, tok2, "theirs");
	define_as(h, tok1, "mine");
	assert_status(harness_req(h, "DELETE", "/v1/vms/mine", NULL, NULL),
		      204);
	define_as(h, tok1, "mine-end");
	sse_must_see(m1, "\"name\":\"mine-end\"");
	sse_must_see(root, "\"name\":\"mine-end\"");
	if (strncmp(m1->s_buf, "HTTP/1.0 200", 12) != 0 &&
	    strncmp(m1->s_buf, "HTTP/1.1 200", 12) != 0)
		fail_msg("the member's stream: %.200s", m1->s_buf);

	n = sse_parse(h, m1, &evs);
	for (i = 0; i < n; i++) {
		const char *vm = ev_vm(&evs[i]);

		if (strncmp(evs[i].e_type, "token.", 6) == 0 ||
		    (vm != NULL && strncmp(vm, "mine", 4) != 0))
			fail_msg("member 4242 saw %s of %s", evs[i].e_type,
				 vm ? vm : "-");
	}
	/* daemon.started, mine defined and deleted (by root), mine-end */
	assert_int_equal(n, 4);
	assert_string_equal(evs[1].e_type, "vm.defined");
	assert_int_equal(
	    json_integer_value(harness_json_at(evs[1].e_data, "actor.uid")),
	    4242);
	assert_string_equal(
	    json_string_value(harness_json_at(evs[1].e_data, "actor.via")),
	    "token");
	assert_string_equal(evs[2].e_type, "vm.deleted");
	assert_int_equal(
	    json_integer_value(harness_json_at(evs[2].e_data, "actor.uid")), 0);
	ev_free(evs, n);

	n = sse_parse(h, root, &evs);
	assert_ids_contiguous(evs, n, 1);
	assert_int_equal(count_of(evs, n, "vm.defined", "theirs"), 1);
	assert_int_equal(count_of(evs, n, "vm.defined", "rootvm"), 1);
	for (i = 0; i < n && strcmp(evs[i].e_type, "token.created"); i++)
		;
	if (i == n)
		fail_msg("root did not see token.created");
	ev_free(evs, n);

	/* No token, or one that is not the route's: 401. */
	anon = sse_open(h, 1, "/v1/events", "");
	sse_wait_end(anon);
	if (strstr(anon->s_buf, " 401 ") == NULL)
		fail_msg("no token: %.200s", anon->s_buf);
	sse_close(anon);
	snprintf(path, sizeof(path), "/v1/vms?access_token=%s", tok1);
	anon = sse_open(h, 1, path, "");
	sse_wait_end(anon);
	if (strstr(anon->s_buf, " 401 ") == NULL)
		fail_msg("?access_token= on /v1/vms: %.200s", anon->s_buf);
	sse_close(anon);

	sse_close(m1);
	sse_close(root);
	harness_stop(h);
	log = harness_read_log(h);
	if (log == NULL)
		fail_msg("no daemon log");
	if (strstr(log, tok1) != NULL)
		fail_msg("the member's token is in the daemon's log");
	if (strstr(log, "/v1/events") == NULL)
		fail_msg("the access log has no /v1/events line");
	free(log);
	harness_start(h, NULL);
}

/*
 * A restart ends the stream; the client reconnects with the last id it
 * saw and gets what it missed: the restart's events, writes made
 * meanwhile, then live ones.
 */
static void
test_events__a_restart_mid_stream_resumes_with_last_event_id(struct harness *h)
{
	struct sse *s;
	struct ev *evs;
	size_t n;
	int64_t last;
	char hdr[64];

	s = sse_open(h, 0, "/v1/events", "");
	sse_must_see(s, ": vmmapid events");
	define(h, "b1");
	define(h, "b2");
	sse_must_see(s, "\"name\":\"b2\"");
	harness_restart(h);
	if (!sse_wait_end(s))
		fail_msg("the stream outlived the daemon");
	n = sse_parse(h, s, &evs);
	assert_int_equal(n, 2);
	last = evs[n - 1].e_id;
	ev_free(evs, n);
	sse_close(s);

	define(h, "b3"); /* while nobody listens */
	snprintf(hdr, sizeof(hdr), "Last-Event-ID: %" PRId64 "\r\n", last);
	s = sse_open(h, 0, "/v1/events", hdr);
	sse_must_see(s, "\"name\":\"b3\"");
	define(h, "b4");
	sse_must_see(s, "\"name\":\"b4\"");
	n = sse_parse(h, s, &evs);
	assert_ids_contiguous(evs, n, last + 1);
	assert_int_equal(n, 3);
	assert_string_equal(evs[0].e_type, "daemon.started");
	assert_string_equal(ev_vm(&evs[1]), "b3");
	assert_string_equal(ev_vm(&evs[2]), "b4");
	ev_free(evs, n);
	sse_close(s);
}

/* --events-keepalive 1: an idle stream gets comments. */
static void
test_events__idle_streams_get_keep_alive_comments(struct harness *h)
{
	struct sse *s = sse_open(h, 0, "/v1/events", "");
	struct harness_response *r;

	sse_must_see(s, "\r\nContent-Type: text/event-stream");
	sse_must_see(s, ": keep-alive\n\n");
	r = harness_get(h, "/metrics");
	assert_status(r, 200);
	if (strstr(r->hr_body, "\nvmmapid_events_subscribers 1\n") == NULL)
		fail_msg("/metrics does not count the subscriber:\n%s",
			 r->hr_body);
	if (strstr(r->hr_body, "\nvmmapid_events_emitted_total 1\n") == NULL)
		fail_msg("/metrics does not count daemon.started");
	define(h, "k1");
	r = harness_get(h, "/metrics");
	if (strstr(r->hr_body, "\nvmmapid_events_emitted_total 2\n") == NULL)
		fail_msg("/metrics does not count vm.defined");
	sse_close(s);
	assert_true(harness_backend_has(h, "events"));
}

/* The types of evs about vm, in order, comma-separated, into buf. */
static const char *
types_of(const struct ev *evs, size_t n, const char *vm, char *buf, size_t len)
{
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < n; i++)
		if (ev_vm(&evs[i]) != NULL && strcmp(ev_vm(&evs[i]), vm) == 0)
			used +=
			    (size_t)snprintf(buf + used, len - used, "%s%s",
					     used ? "," : "", evs[i].e_type);
	return buf;
}

/* The last event of type about vm, or fails. */
static const struct ev *
last_of(const struct ev *evs, size_t n, const char *type, const char *vm)
{
	size_t i;

	for (i = n; i-- > 0;)
		if (strcmp(evs[i].e_type, type) == 0 && ev_vm(&evs[i]) &&
		    strcmp(ev_vm(&evs[i]), vm) == 0)
			return &evs[i];
	fail_msg("no %s of %s", type, vm);
	return NULL;
}

/*
 * A run's life as events: started, paused, reset, resumed, stopping,
 * stopped (each with the VM's new revision and state); a guest that
 * crashes gives vm.crashed with the reason, recorded by the daemon; an
 * image upload gives image.uploaded.
 */
static void
test_events__a_run_is_told_start_to_crash(struct harness *h)
{
	struct sse *s;
	struct ev *evs;
	const struct ev *e;
	size_t n;
	char types[512];
	const char *reason;

	s = sse_open(h, 0, "/v1/events?type=vm&type=image", "");
	sse_must_see(s, ": vmmapid events");
	harness_put_guest(h, "spin");
	harness_put_guest(h, "fault");
	harness_define_vm(h, "spin", "spin.bin", "");
	harness_define_vm(h, "fault", "fault.bin", "");
	assert_status(harness_req(h, "POST", "/v1/vms/spin/start", NULL, NULL),
		      200);
	assert_status(harness_req(h, "POST", "/v1/vms/spin/pause", NULL, NULL),
		      200);
	assert_status(harness_req(h, "POST", "/v1/vms/spin/reset", NULL, NULL),
		      200);
	assert_status(harness_req(h, "POST", "/v1/vms/spin/resume", NULL, NULL),
		      200);
	assert_status(
	    harness_req(h, "POST", "/v1/vms/spin/stop?force=1", NULL, NULL),
	    200);
	assert_status(harness_req(h, "POST", "/v1/vms/fault/start", NULL, NULL),
		      200);
	sse_must_see(s, "event: vm.crashed\n");
	n = sse_parse(h, s, &evs);
	assert_ids_increase(evs, n);
	assert_string_equal(types_of(evs, n, "spin", types, sizeof(types)),
			    "vm.defined,vm.started,vm.paused,vm.reset,"
			    "vm.resumed,vm.stopping,vm.stopped");
	assert_string_equal(types_of(evs, n, "fault", types, sizeof(types)),
			    "vm.defined,vm.started,vm.crashed");
	e = last_of(evs, n, "vm.paused", "spin");
	assert_string_equal(
	    json_string_value(json_object_get(e->e_data, "state")), "paused");
	assert_true(json_integer_value(json_object_get(e->e_data, "revision")) >
		    0);
	e = last_of(evs, n, "vm.reset", "spin");
	assert_string_equal(
	    json_string_value(json_object_get(e->e_data, "state")), "paused");
	e = last_of(evs, n, "vm.crashed", "fault");
	reason =
	    json_string_value(harness_json_at(e->e_data, "detail.exit_reason"));
	if (reason == NULL || strstr(reason, " at ") == NULL)
		fail_msg("vm.crashed without its reason: %s",
			 json_dumps(e->e_data, 0));
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "actor.kind")),
	    "daemon");
	assert_string_equal(
	    json_string_value(harness_json_at(evs[0].e_data, "target.kind")),
	    "image");
	assert_string_equal(evs[0].e_type, "image.uploaded");
	ev_free(evs, n);
	sse_close(s);
}

/*
 * Keys given at creation are told as keys set later are: vm.defined,
 * then one guestinfo.set per key, each with the key's revision and
 * about the VM, so the VM's readers see them.
 */
static void
test_events__keys_given_at_creation_are_guestinfo_set_events(struct harness *h)
{
	struct sse *s;
	struct ev *evs;
	const struct ev *e;
	struct harness_response *r;
	size_t n;
	char types[256];
	json_int_t rev;

	s = sse_open(h, 0, "/v1/events?vm=gi1", "");
	sse_must_see(s, ": vmmapid events");
	assert_status(harness_req(h, "POST", "/v1/vms",
				  "{\"name\":\"gi1\",\"memory_mib\":4,"
				  "\"boot\":{\"kind\":\"flat\",\"image\":"
				  "\"none.bin\"},\"guestinfo\":{"
				  "\"metadata\":\"m\",\"userdata\":\"u\"}}",
				  NULL),
		      201);
	sse_must_see(s, "\"name\":\"userdata\"");
	n = sse_parse(h, s, &evs);
	assert_ids_increase(evs, n);
	assert_string_equal(types_of(evs, n, "gi1", types, sizeof(types)),
			    "vm.defined,guestinfo.set,guestinfo.set");
	e = last_of(evs, n, "guestinfo.set", "gi1");
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "target.kind")),
	    "guestinfo");
	rev = json_integer_value(json_object_get(e->e_data, "revision"));
	/* The event's revision is the key's ETag. */
	r = harness_get(h, "/v1/vms/gi1/guestinfo/userdata");
	assert_status(r, 200);
	{
		char etag[64];

		snprintf(etag, sizeof(etag), "\"%lld\"", (long long)rev);
		assert_string_equal(harness_header(r, "ETag"), etag);
	}
	ev_free(evs, n);
	sse_close(s);
}

/* Restarts h's daemon on a generated sysfs tree with one device, 6/5/0. */
static void
restart_with_a_device(struct harness *h)
{
	const char *root_dir, *args[3];

	harness_stop(h);
	root_dir = sysfs_tree_make(h);
	sysfs_tree_device(root_dir, "0000:06:05.0", 0x1234, 0x11e8, 0x00ff00,
			  NULL, -1);
	args[0] = "--sysfs-root";
	args[1] = root_dir;
	args[2] = NULL;
	harness_start(h, args);
}

/*
 * A jail's root sees reservations as it may read GET /v1/pptdevs: with
 * allow_vmm_ppt, and not without.
 */
static void
test_events__pptdev_events_reach_jail_roots_with_allow_vmm_ppt(
    struct harness *h)
{
	char body[1024], ppt_sock[400], vmm_sock[400];
	struct sse *ppt, *vmm;

	restart_with_a_device(h);
	snprintf(ppt_sock, sizeof(ppt_sock), "%s/jp.sock", h->h_dir);
	snprintf(vmm_sock, sizeof(vmm_sock), "%s/jv.sock", h->h_dir);
	snprintf(body, sizeof(body),
		 "{\"allow_vmm\":true,\"allow_vmm_ppt\":true,"
		 "\"socket\":\"%s\"}",
		 ppt_sock);
	assert_status(harness_req(h, "PUT", "/v1/jails/jp", body, NULL), 201);
	snprintf(body, sizeof(body),
		 "{\"allow_vmm\":true,\"allow_vmm_ppt\":false,"
		 "\"socket\":\"%s\"}",
		 vmm_sock);
	assert_status(harness_req(h, "PUT", "/v1/jails/jv", body, NULL), 201);

	ppt = sse_open_on(h, 0, ppt_sock, "/v1/events?type=pptdev&type=daemon",
			  "");
	vmm = sse_open_on(h, 0, vmm_sock, "/v1/events?type=pptdev&type=daemon",
			  "");
	sse_must_see(ppt, ": vmmapid events");
	sse_must_see(vmm, ": vmmapid events");
	assert_status(harness_req(h, "PUT", "/v1/pptdevs/6/5/0", NULL, NULL),
		      201);
	sse_must_see(ppt, "event: pptdev.reserved\n");
	/* Handed out in the same pass: the other would have it by now. */
	sse_pump(vmm, 500);
	if (vmm->s_buf != NULL && strstr(vmm->s_buf, "pptdev.") != NULL)
		fail_msg("a jail root without allow_vmm_ppt saw a pptdev "
			 "event live:\n%s",
			 vmm->s_buf);
	/* And replayed from the journal, after a restart. */
	harness_restart(h);
	sse_close(ppt);
	sse_close(vmm);
	vmm = sse_open_on(h, 0, vmm_sock, "/v1/events?since=0&type=pptdev", "");
	ppt = sse_open_on(h, 0, ppt_sock, "/v1/events?since=0&type=pptdev", "");
	sse_must_see(ppt, "event: pptdev.reserved\n");
	sse_must_see(vmm, ": vmmapid events");
	sse_pump(vmm, 500);
	if (vmm->s_buf != NULL && strstr(vmm->s_buf, "pptdev.") != NULL)
		fail_msg("a jail root without allow_vmm_ppt saw a pptdev "
			 "event:\n%s",
			 vmm->s_buf);
	sse_close(ppt);
	sse_close(vmm);
}

/*
 * What a jail j1's stream s must hold when the host and j1 each had a
 * web1 (#14, finding 13): j1's web1 defined once, its key set, never
 * deleted, then j1's marker; every event about a VM of j1, named as j1
 * names it.  Nothing of the host's web1.
 */
static void
ns_check_jail_stream(struct harness *h, struct sse *s)
{
	struct ev *evs;
	size_t n, i, defined = 0, keys = 0;

	sse_must_see(s, "\"vm\":\"marker\"");
	n = sse_parse(h, s, &evs);
	for (i = 0; i < n; i++) {
		const char *vm =
		    json_string_value(json_object_get(evs[i].e_data, "vm"));
		const char *jail =
		    json_string_value(json_object_get(evs[i].e_data, "jail"));

		if (vm == NULL || jail == NULL || strcmp(jail, "j1") != 0 ||
		    (strcmp(vm, "web1") != 0 && strcmp(vm, "marker") != 0) ||
		    strcmp(evs[i].e_type, "vm.deleted") == 0)
			fail_msg("jail j1's stream has event %s about vm %s "
				 "of jail %s:\n%s",
				 evs[i].e_type, vm ? vm : "(none)",
				 jail ? jail : "(none)", s->s_buf);
		defined += strcmp(evs[i].e_type, "vm.defined") == 0 &&
			   strcmp(vm, "web1") == 0;
		keys += strcmp(evs[i].e_type, "guestinfo.set") == 0;
	}
	ev_free(evs, n);
	if (defined != 1 || keys != 1)
		fail_msg("jail j1's stream has %zu vm.defined of web1 and %zu "
			 "guestinfo.set, not one each:\n%s",
			 defined, keys, s->s_buf);
}

/*
 * The host and jail j1 each have a web1: j1's stream, live, replayed and
 * replayed after a restart, has its own web1's events only; host root's
 * has both, each with its jail.
 */
static void
test_events__a_jails_stream_has_its_own_web1_only(struct harness *h)
{
	const char *path = "/v1/events?type=vm&type=guestinfo";
	char body[1024], sock[400];
	struct harness_identity j1 = {0, 0, NULL, 0, NULL};
	struct sse *js, *hs;
	struct ev *evs;
	size_t n, i, host = 0, jail = 0, deleted = 0;

	harness_need_root(h);
	snprintf(sock, sizeof(sock), "%s/j1.sock", h->h_dir);
	j1.hi_sock = sock;
	snprintf(body, sizeof(body), "{\"allow_vmm\":true,\"socket\":\"%s\"}",
		 sock);
	assert_status(harness_req(h, "PUT", "/v1/jails/j1", body, NULL), 201);
	js = sse_open_on(h, 0, sock, path, "");
	hs = sse_open(h, 0, path, "");
	sse_must_see(js, ": vmmapid events");
	sse_must_see(hs, ": vmmapid events");

	harness_define_vm(h, "web1", "hello.bin", "");
	assert_status(harness_req_as(h, &j1, "PUT", "/v1/vms/web1",
				     "{\"name\":\"web1\",\"memory_mib\":4,"
				     "\"boot\":{\"kind\":\"flat\",\"image\":"
				     "\"hello.bin\"}}"),
		      201);
	assert_status(harness_req(h, "PUT", "/v1/vms/web1/guestinfo/role",
				  "{\"value\":\"host\"}", NULL),
		      201);
	assert_status(harness_req_as(h, &j1, "PUT",
				     "/v1/vms/web1/guestinfo/role",
				     "{\"value\":\"j1\"}"),
		      201);
	assert_status(harness_req(h, "DELETE", "/v1/vms/web1", NULL, NULL),
		      204);
	assert_status(harness_req_as(h, &j1, "POST", "/v1/vms",
				     "{\"name\":\"marker\",\"memory_mib\":4,"
				     "\"boot\":{\"kind\":\"flat\",\"image\":"
				     "\"hello.bin\"}}"),
		      201);
	ns_check_jail_stream(h, js);
	/* Host root's: both web1s, told apart by their jail. */
	sse_must_see(hs, "\"vm\":\"marker\"");
	n = sse_parse(h, hs, &evs);
	for (i = 0; i < n; i++) {
		const char *vm =
		    json_string_value(json_object_get(evs[i].e_data, "vm"));
		const char *j =
		    json_string_value(json_object_get(evs[i].e_data, "jail"));
		const char *target = json_string_value(json_object_get(
		    json_object_get(evs[i].e_data, "target"), "name"));

		if (vm == NULL || j == NULL)
			fail_msg("event %s without vm or jail", evs[i].e_type);
		if (strcmp(evs[i].e_type, "vm.defined") == 0 &&
		    strcmp(vm, "web1") == 0) {
			host += j[0] == '\0';
			jail += strcmp(j, "j1") == 0;
			assert_string_equal(target, "web1");
		}
		if (strcmp(evs[i].e_type, "vm.deleted") == 0) {
			deleted++;
			assert_string_equal(vm, "web1");
			assert_string_equal(j, "");
		}
	}
	ev_free(evs, n);
	if (host != 1 || jail != 1 || deleted != 1)
		fail_msg("host root's stream: %zu host web1, %zu j1 web1, %zu "
			 "deleted:\n%s",
			 host, jail, deleted, hs->s_buf);
	sse_close(js);
	sse_close(hs);
	/* Host root narrows by jail: j1's web1 and marker, not the host's
	 * web1; a jail that never was matches nothing. */
	hs = sse_open(h, 0, "/v1/events?since=0&jail=j1&vm=web1&vm=marker", "");
	sse_must_see(hs, "\"vm\":\"marker\"");
	n = sse_parse(h, hs, &evs);
	for (i = 0; i < n; i++)
		assert_string_equal(
		    json_string_value(json_object_get(evs[i].e_data, "jail")),
		    "j1");
	assert_int_equal(n, 3); /* web1 defined, its key set, marker */
	ev_free(evs, n);
	sse_close(hs);
	hs = sse_open(h, 0, "/v1/events?since=0&jail=nosuch", "");
	sse_must_see(hs, ": vmmapid events");
	assert_false(sse_pump(hs, 300) && strstr(hs->s_buf, "id: ") != NULL);
	sse_close(hs);
	/* Replayed from the journal: the same. */
	js = sse_open_on(h, 0, sock,
			 "/v1/events?since=0&type=vm&type=guestinfo", "");
	ns_check_jail_stream(h, js);
	sse_close(js);
	harness_restart(h);
	js = sse_open_on(h, 0, sock,
			 "/v1/events?since=0&type=vm&type=guestinfo", "");
	ns_check_jail_stream(h, js);
	sse_close(js);
}

/*
 * A reservation and its release are events in the journal (pptdev.*,
 * target "bus/slot/func"), which host root sees and a vmm member does
 * not (as GET /v1/pptdevs is not its to read).
 */
static void
test_events__pptdev_reservations_are_events_root_sees(struct harness *h)
{
	char tok[128], path[512], auth[512];
	struct sse *member, *root;
	struct ev *evs;
	const struct ev *e;
	size_t n, i;

	restart_with_a_device(h);
	make_token(h, 4242, tok, sizeof(tok));
	snprintf(path, sizeof(path), "/v1/events?access_token=%s", tok);
	member = sse_open(h, 1, path, "");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n",
		 h->h_token);
	root = sse_open(h, 1, "/v1/events?type=pptdev&type=vm", auth);
	sse_must_see(member, ": vmmapid events");
	sse_must_see(root, ": vmmapid events");
	assert_status(harness_req(h, "PUT", "/v1/pptdevs/6/5/0", NULL, NULL),
		      201);
	/* A repeat changes nothing, so it is told nothing. */
	assert_status(harness_req(h, "PUT", "/v1/pptdevs/6/5/0", NULL, NULL),
		      200);
	assert_status(harness_req(h, "DELETE", "/v1/pptdevs/6/5/0", NULL, NULL),
		      204);
	/* A failed one is none: not reserved any more. */
	assert_int_equal(
	    harness_req(h, "DELETE", "/v1/pptdevs/6/5/0", NULL, NULL)
		->hr_status,
	    404);
	define_as(h, tok, "member-end");
	sse_must_see(root, "event: pptdev.released\n");
	sse_must_see(root, "\"name\":\"member-end\"");
	sse_must_see(member, "\"name\":\"member-end\"");

	n = sse_parse(h, root, &evs);
	assert_ids_increase(evs, n);
	assert_int_equal(n, 3);
	assert_string_equal(evs[0].e_type, "pptdev.reserved");
	e = &evs[0];
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "target.kind")),
	    "pptdev");
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "target.name")),
	    "6/5/0");
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "detail.address")),
	    "0000:06:05.0");
	assert_true(json_is_false(harness_json_at(e->e_data, "detail.bound")));
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "actor.kind")), "api");
	assert_string_equal(evs[1].e_type, "pptdev.released");
	assert_string_equal(
	    json_string_value(harness_json_at(evs[1].e_data, "target.name")),
	    "6/5/0");
	assert_string_equal(evs[2].e_type, "vm.defined");
	ev_free(evs, n);

	n = sse_parse(h, member, &evs);
	for (i = 0; i < n; i++)
		if (strncmp(evs[i].e_type, "pptdev.", 7) == 0)
			fail_msg("member 4242 saw %s", evs[i].e_type);
	ev_free(evs, n);
	sse_close(member);
	sse_close(root);
}

/*
 * At the daemon's start, an autostart that fails is vm.autostart_failed
 * (by the daemon, about that VM, its state unchanged, the status's
 * autostart saying why in detail); one that works is the vm.started of
 * every start, whose detail says start_cause "autostart".
 */
static void
test_events__an_autostart_is_told_failed_or_started(struct harness *h)
{
	struct sse *s;
	struct ev *evs;
	const struct ev *e;
	size_t n;
	const char *reason;

	harness_put_guest(h, "spin");
	harness_define_vm(h, "late", "late.bin", "\"autostart\":true");
	harness_define_vm(h, "auto", "spin.bin", "\"autostart\":true");
	harness_restart(h);
	s = sse_open(h, 0, "/v1/events?since=0&vm=late&vm=auto", "");
	sse_must_see(s, "event: vm.autostart_failed\n");
	sse_must_see(s, "event: vm.started\n");
	n = sse_parse(h, s, &evs);
	assert_ids_increase(evs, n);
	e = last_of(evs, n, "vm.autostart_failed", "late");
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "actor.kind")),
	    "daemon");
	assert_string_equal(
	    json_string_value(json_object_get(e->e_data, "state")), "defined");
	assert_string_equal(json_string_value(harness_json_at(
				e->e_data, "detail.autostart.result")),
			    "failed");
	reason = json_string_value(
	    harness_json_at(e->e_data, "detail.autostart.reason"));
	if (reason == NULL || strstr(reason, "late.bin") == NULL)
		fail_msg("vm.autostart_failed without its reason: %s",
			 json_dumps(e->e_data, 0));
	e = last_of(evs, n, "vm.started", "auto");
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "detail.start_cause")),
	    "autostart");
	assert_string_equal(
	    json_string_value(harness_json_at(e->e_data, "actor.kind")),
	    "daemon");
	assert_int_equal(count_of(evs, n, "vm.autostart_failed", "auto"), 0);
	ev_free(evs, n);
	sse_close(s);
	assert_status(
	    harness_req(h, "POST", "/v1/vms/auto/stop?force=1", NULL, NULL),
	    200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_events__every_change_of_8_concurrent_writers_is_one_event_in_order,
		0),
	    HARNESS_CASE(
		test_events__since_replays_the_journal_then_goes_on_live, 0),
	    HARNESS_CASE(
		test_events__a_change_answered_before_a_stream_opened_is_in_its_past,
		0),
	    HARNESS_CASE(test_events__type_and_vm_filter_what_comes, 0),
	    HARNESS_CASE(test_events__bad_query_values_are_400, 0),
	    HARNESS_CASE_ARGS(
		test_events__a_slow_consumer_gets_gap_and_resumes_from_the_journal,
		0, "--events-buffer", "4"),
	    HARNESS_CASE_ARGS(
		test_events__since_past_retention_is_410_naming_the_oldest, 0,
		"--events-keep", "5"),
	    HARNESS_CASE_ARGS(
		test_events__each_caller_sees_only_what_it_may_read,
		HARNESS_TCP, "--vmm-group", "4200"),
	    HARNESS_CASE(
		test_events__a_restart_mid_stream_resumes_with_last_event_id,
		0),
	    HARNESS_CASE(test_events__a_run_is_told_start_to_crash, 0),
	    HARNESS_CASE(
		test_events__keys_given_at_creation_are_guestinfo_set_events,
		0),
	    HARNESS_CASE(test_events__an_autostart_is_told_failed_or_started,
			 0),
	    HARNESS_CASE_ARGS(
		test_events__pptdev_reservations_are_events_root_sees,
		HARNESS_TCP, "--vmm-group", "4200"),
	    HARNESS_CASE(
		test_events__pptdev_events_reach_jail_roots_with_allow_vmm_ppt,
		0),
	    HARNESS_CASE(test_events__a_jails_stream_has_its_own_web1_only, 0),
	    HARNESS_CASE_ARGS(test_events__idle_streams_get_keep_alive_comments,
			      0, "--events-keepalive", "1"),
	};

	curl_global_init(CURL_GLOBAL_ALL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
