/*
 * Crash safety: the daemon is killed (SIGKILL) at random moments while
 * many clients write, over many rounds, and started again each time.
 * Every write answered 2xx must be there after the restart, a write that
 * got an error answer must not be, a write cut off by the kill may be or
 * not (but whole), and the database's integrity check must say "ok".
 * Three workloads: definitions and guestinfo keys, image uploads, and
 * starts and stops.
 *
 * The random moments come from a seed printed at the start of each case;
 * VMMAPID_CRASH_SEED=N repeats a run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db_integrity.h"
#include "harness.h"

#define CLIENTS 16
#define ROUNDS 8
#define VMS_PER_CLIENT 4
#define BOOT "\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\"}"
/* The kill comes this long after the clients start, at random. */
#define KILL_MIN_MS 40
#define KILL_SPAN_MS 260

static unsigned
crash_seed(void)
{
	const char *s = getenv("VMMAPID_CRASH_SEED");
	unsigned seed = s != NULL ? (unsigned)strtoul(s, NULL, 10)
				  : (unsigned)time(NULL) ^ (unsigned)getpid();

	print_message("seed %u (VMMAPID_CRASH_SEED=%u repeats this run)\n",
		      seed, seed);
	return seed;
}

/* The daemon's database: h's state directory's vmmapid.db. */
static const char *
db_path(struct harness *h)
{
	char *p = harness_alloc(h, HARNESS_PATH_MAX + 32);

	snprintf(p, HARNESS_PATH_MAX + 32, "%s/vmmapid.db", h->h_dir);
	return p;
}

/* 2xx answers in the current round, all clients together. */
static atomic_long round_acks;

/*
 * Kills the daemon at a random moment of the round, once the clients
 * have had at least `want` answers (so that a slow daemon -- valgrind,
 * TSan, the nested host -- is killed while it works, not while it
 * starts), bounded by the harness's time factor.
 */
static void
kill_at_random(struct harness *h, unsigned *seed, int round, long want)
{
	int ms = KILL_MIN_MS + (int)(rand_r(seed) % KILL_SPAN_MS), status;
	int waited = 0, limit = 10000 * harness_time_factor();

	while (atomic_load(&round_acks) < want && waited < limit) {
		usleep(5000);
		waited += 5;
	}
	usleep((useconds_t)ms * 1000);
	status = harness_signal_and_wait(h, SIGKILL, 5000);
	atomic_store(&round_acks, 0);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("round %d: the daemon was not killed by SIGKILL",
			 round);
}

/*
 * Workload 1: definitions and guestinfo keys.  Each client owns its VMs
 * and keeps what it was told: the state after its last 2xx, and at most
 * one write whose answer the kill took (pending).
 */
enum crash_op { OP_NONE, OP_CREATE, OP_PATCH, OP_DELETE, OP_KEY };

struct vm_model {
	int m_exists; /* 1: defined */
	int m_desc;   /* its description is "d<m_desc>" */
	int m_key;    /* guestinfo.k is "g<m_key>"; -1: no key */
	enum crash_op m_pending;
	int m_pending_val;
};

struct client {
	struct harness *c_h;
	void *c_curl;
	int c_id;
	unsigned c_seed;
	int c_next; /* the next value to write */
	struct vm_model c_vms[VMS_PER_CLIENT];
	long c_acked;      /* 2xx answers, all rounds */
	long c_unexpected; /* answers other than 2xx */
	char c_why[256];   /* the first of those */
};

static void
vm_name(char *buf, size_t len, int client, int k)
{
	snprintf(buf, len, "c%02d-%d", client, k);
}

/* One request; -1 when the daemon did not answer (the kill). */
static int
client_send(struct client *c, const char *method, const char *path,
	    const char *body, const char *ctype, long *status)
{
	const char *headers[] = {ctype, NULL};
	struct harness_request rq = {0};
	struct harness_response rs;

	rq.rq_method = method;
	rq.rq_path = path;
	rq.rq_headers = body != NULL ? headers : NULL;
	rq.rq_body = body;
	rq.rq_body_len = body != NULL ? strlen(body) : 0;
	if (harness_fetch(c->c_h, c->c_curl, &rq, &rs) == -1)
		return -1;
	*status = rs.hr_status;
	if ((rs.hr_status < 200 || rs.hr_status > 299) &&
	    c->c_unexpected++ == 0)
		snprintf(c->c_why, sizeof(c->c_why), "%s %s: %ld %.160s",
			 method, path, rs.hr_status,
			 rs.hr_body != NULL ? rs.hr_body : "");
	harness_response_clear(&rs);
	return 0;
}

static void
model_apply(struct vm_model *m, enum crash_op op, int val)
{
	switch (op) {
	case OP_CREATE:
		m->m_exists = 1;
		m->m_desc = val;
		m->m_key = -1;
		break;
	case OP_PATCH:
		m->m_desc = val;
		break;
	case OP_DELETE:
		m->m_exists = 0;
		m->m_key = -1;
		break;
	case OP_KEY:
		m->m_key = val;
		break;
	case OP_NONE:
		break;
	}
}

/* Writes until the daemon stops answering. */
static void *
client_main(void *arg)
{
	struct client *c = arg;
	char name[32], path[96], body[256];
	long status = 0;
	int k, val, rc;
	enum crash_op op;

	for (;;) {
		struct vm_model *m;

		k = (int)(rand_r(&c->c_seed) % VMS_PER_CLIENT);
		m = &c->c_vms[k];
		vm_name(name, sizeof(name), c->c_id, k);
		val = c->c_next++;
		if (!m->m_exists) {
			op = OP_CREATE;
			snprintf(path, sizeof(path), "/v1/vms/%s", name);
			snprintf(body, sizeof(body),
				 "{\"description\":\"d%d\"," BOOT "}", val);
			rc = client_send(c, "PUT", path, body,
					 "Content-Type: application/json",
					 &status);
		} else {
			switch (rand_r(&c->c_seed) % 5) {
			case 0:
				op = OP_DELETE;
				snprintf(path, sizeof(path), "/v1/vms/%s",
					 name);
				rc = client_send(c, "DELETE", path, NULL, NULL,
						 &status);
				break;
			case 1:
			case 2:
				op = OP_PATCH;
				snprintf(path, sizeof(path), "/v1/vms/%s",
					 name);
				snprintf(body, sizeof(body),
					 "{\"description\":\"d%d\"}", val);
				rc = client_send(c, "PATCH", path, body,
						 "Content-Type: "
						 "application/merge-patch+json",
						 &status);
				break;
			default:
				op = OP_KEY;
				snprintf(path, sizeof(path),
					 "/v1/vms/%s/guestinfo/k", name);
				snprintf(body, sizeof(body),
					 "{\"value\":\"g%d\"}", val);
				rc = client_send(
				    c, "PUT", path, body,
				    "Content-Type: application/json", &status);
				break;
			}
		}
		if (rc == -1) {
			/* Cut off by the kill: done or not, we cannot know. */
			m->m_pending = op;
			m->m_pending_val = val;
			return NULL;
		}
		if (status >= 200 && status <= 299) {
			model_apply(m, op, val);
			c->c_acked++;
			atomic_fetch_add(&round_acks, 1);
		}
		/* Else not done: the model stays (and the case fails). */
	}
}

/*
 * What the daemon has of VM k, checked against the model; the model then
 * follows what is there (a pending write may have landed or not).
 */
static void
check_vm(struct harness *h, struct client *c, int k, int round)
{
	struct vm_model *m = &c->c_vms[k], seen = *m, applied = *m;
	struct harness_response *r;
	const char *desc, *key;
	char name[32], path[96];

	vm_name(name, sizeof(name), c->c_id, k);
	snprintf(path, sizeof(path), "/v1/vms/%s", name);
	r = harness_get(h, path);
	if (r->hr_status != 200 && r->hr_status != 404)
		fail_msg("round %d: GET %s: %ld", round, path, r->hr_status);
	seen.m_exists = r->hr_status == 200;
	seen.m_desc = -1;
	seen.m_key = -1;
	if (seen.m_exists) {
		desc = json_string_value(
		    harness_json_at(r->hr_json, "description"));
		if (desc == NULL || sscanf(desc, "d%d", &seen.m_desc) != 1)
			fail_msg("round %d: %s: description %s", round, name,
				 desc != NULL ? desc : "(none)");
		snprintf(path, sizeof(path), "/v1/vms/%s/guestinfo/k", name);
		r = harness_get(h, path);
		if (r->hr_status == 200) {
			key = json_string_value(
			    harness_json_at(r->hr_json, "value"));
			if (key == NULL || sscanf(key, "g%d", &seen.m_key) != 1)
				fail_msg("round %d: %s's key: %s", round, name,
					 r->hr_body);
		} else if (r->hr_status != 404) {
			fail_msg("round %d: GET %s: %ld", round, path,
				 r->hr_status);
		}
	}
	model_apply(&applied, m->m_pending, m->m_pending_val);
#define SAME(a, b)                                                             \
	((a).m_exists == (b).m_exists &&                                       \
	 (!(a).m_exists ||                                                     \
	  ((a).m_desc == (b).m_desc && (a).m_key == (b).m_key)))
	if (!SAME(seen, *m) &&
	    !(m->m_pending != OP_NONE && SAME(seen, applied)))
		fail_msg("round %d: %s is %s (description d%d, key g%d); what "
			 "was acknowledged: %s (d%d, g%d)%s",
			 round, name, seen.m_exists ? "defined" : "missing",
			 seen.m_desc, seen.m_key,
			 m->m_exists ? "defined" : "missing", m->m_desc,
			 m->m_key,
			 m->m_pending != OP_NONE
			     ? ", or that and the write the kill cut off"
			     : "");
#undef SAME
	m->m_exists = seen.m_exists;
	m->m_desc = seen.m_desc;
	m->m_key = seen.m_key;
	m->m_pending = OP_NONE;
}

static void
test_crash__killed_under_writes_keeps_every_acknowledged_one(struct harness *h)
{
	static struct client clients[CLIENTS];
	pthread_t tids[CLIENTS];
	unsigned seed = crash_seed();
	long acked = 0;
	int round, i, k;

	harness_put_guest(h, "hello");
	memset(clients, 0, sizeof(clients));
	for (i = 0; i < CLIENTS; i++) {
		clients[i].c_h = h;
		clients[i].c_id = i;
		clients[i].c_seed = seed + (unsigned)i * 7919u;
	}
	for (round = 1; round <= ROUNDS; round++) {
		for (i = 0; i < CLIENTS; i++) {
			clients[i].c_curl = harness_curl_new();
			assert_int_equal(pthread_create(&tids[i], NULL,
							client_main,
							&clients[i]),
					 0);
		}
		kill_at_random(h, &seed, round, CLIENTS);
		for (i = 0; i < CLIENTS; i++) {
			pthread_join(tids[i], NULL);
			harness_curl_free(clients[i].c_curl);
		}
		harness_start(h, NULL);
		assert_integrity_ok(db_path(h));
		for (i = 0; i < CLIENTS; i++) {
			if (clients[i].c_unexpected > 0)
				fail_msg("client %d: %ld answers not 2xx, the "
					 "first: %s",
					 i, clients[i].c_unexpected,
					 clients[i].c_why);
			for (k = 0; k < VMS_PER_CLIENT; k++)
				check_vm(h, &clients[i], k, round);
		}
	}
	for (i = 0; i < CLIENTS; i++)
		acked += clients[i].c_acked;
	print_message("%d kills, %ld writes acknowledged, every one there\n",
		      ROUNDS, acked);
	/* Each round was killed after at least CLIENTS answers. */
	assert_true(acked >= ROUNDS * CLIENTS);
}

/*
 * Workload 2: uploads.  Each image's bytes follow from its name; after a
 * kill every acknowledged upload is there whole, and whatever image is
 * there at all is whole (a cut-off upload leaves nothing half-written).
 */
#define UPLOADERS 8
#define UPLOAD_MAX (256u << 10)

struct uploader {
	struct harness *u_h;
	void *u_curl;
	int u_id;
	unsigned u_seed;
	int u_next;
	unsigned char *u_buf;
	long u_acked;
	long u_unexpected;
	char u_why[256];
	/* Names acknowledged (201/200) and their sizes, all rounds. */
	int u_nacked;
	int u_acked_n[4096];
	size_t u_acked_len[4096];
};

static size_t
upload_len(int uploader, int n)
{
	return 1 +
	       (size_t)((unsigned)(uploader * 1000003 + n * 7919) % UPLOAD_MAX);
}

static void
upload_fill(unsigned char *buf, size_t len, int uploader, int n)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 31u + (unsigned)uploader * 7u +
					 (unsigned)n * 13u);
}

static void *
uploader_main(void *arg)
{
	struct uploader *u = arg;
	const char *headers[] = {"Content-Type: application/octet-stream",
				 NULL};
	struct harness_request rq = {0};
	struct harness_response rs;
	char path[64];
	size_t len;
	int n;

	for (;;) {
		n = u->u_next++;
		len = upload_len(u->u_id, n);
		upload_fill(u->u_buf, len, u->u_id, n);
		snprintf(path, sizeof(path), "/v1/images/u%02d-%d.bin", u->u_id,
			 n);
		rq.rq_method = "PUT";
		rq.rq_path = path;
		rq.rq_headers = headers;
		rq.rq_body = (const char *)u->u_buf;
		rq.rq_body_len = len;
		if (harness_fetch(u->u_h, u->u_curl, &rq, &rs) == -1)
			return NULL;
		if (rs.hr_status == 201 || rs.hr_status == 200) {
			if (u->u_nacked < 4096) {
				u->u_acked_n[u->u_nacked] = n;
				u->u_acked_len[u->u_nacked++] = len;
			}
			u->u_acked++;
			atomic_fetch_add(&round_acks, 1);
		} else if (u->u_unexpected++ == 0) {
			snprintf(u->u_why, sizeof(u->u_why),
				 "PUT %s: %ld %.160s", path, rs.hr_status,
				 rs.hr_body != NULL ? rs.hr_body : "");
		}
		harness_response_clear(&rs);
	}
}

/* The image file u<id>-<n>.bin is whole: its bytes, and its length. */
static int
image_whole(const struct harness *h, int id, int n, unsigned char *want,
	    char *why, size_t whylen)
{
	char path[HARNESS_PATH_MAX + 64];
	size_t len = upload_len(id, n), got = 0;
	unsigned char *buf;
	ssize_t k;
	int fd;

	snprintf(path, sizeof(path), "%s/images/u%02d-%d.bin", h->h_dir, id, n);
	if ((fd = open(path, O_RDONLY)) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return 0;
	}
	buf = malloc(len + 1);
	assert_non_null(buf);
	while ((k = read(fd, buf + got, len + 1 - got)) > 0)
		got += (size_t)k;
	close(fd);
	upload_fill(want, len, id, n);
	if (got != len || memcmp(buf, want, len) != 0) {
		snprintf(why, whylen, "%s: %zu bytes, %s; expected %zu", path,
			 got, got == len ? "other bytes" : "cut", len);
		free(buf);
		return 0;
	}
	free(buf);
	return 1;
}

static void
test_crash__killed_during_uploads_keeps_them_whole(struct harness *h)
{
	static struct uploader ups[UPLOADERS];
	pthread_t tids[UPLOADERS];
	unsigned seed = crash_seed();
	struct harness_response *r;
	unsigned char *want = malloc(UPLOAD_MAX + 1);
	const json_t *item;
	char why[512];
	long acked = 0;
	int round, i, j, id, n;
	size_t k;

	assert_non_null(want);
	memset(ups, 0, sizeof(ups));
	for (i = 0; i < UPLOADERS; i++) {
		ups[i].u_h = h;
		ups[i].u_id = i;
		ups[i].u_seed = seed + (unsigned)i;
		assert_non_null(ups[i].u_buf = malloc(UPLOAD_MAX));
	}
	for (round = 1; round <= ROUNDS / 2; round++) {
		for (i = 0; i < UPLOADERS; i++) {
			ups[i].u_curl = harness_curl_new();
			assert_int_equal(pthread_create(&tids[i], NULL,
							uploader_main, &ups[i]),
					 0);
		}
		kill_at_random(h, &seed, round, 2);
		for (i = 0; i < UPLOADERS; i++) {
			pthread_join(tids[i], NULL);
			harness_curl_free(ups[i].u_curl);
		}
		harness_start(h, NULL);
		assert_integrity_ok(db_path(h));
		for (i = 0; i < UPLOADERS; i++) {
			if (ups[i].u_unexpected > 0)
				fail_msg("uploader %d: %ld answers not 2xx, "
					 "the first: %s",
					 i, ups[i].u_unexpected, ups[i].u_why);
			for (j = 0; j < ups[i].u_nacked; j++) {
				char p[64];

				snprintf(p, sizeof(p),
					 "/v1/images/u%02d-%d.bin", i,
					 ups[i].u_acked_n[j]);
				r = harness_get(h, p);
				if (r->hr_status != 200)
					fail_msg("round %d: %s was "
						 "acknowledged and is %ld",
						 round, p, r->hr_status);
				assert_json_int(
				    r, "size",
				    (long long)ups[i].u_acked_len[j]);
				if (!image_whole(h, i, ups[i].u_acked_n[j],
						 want, why, sizeof(why)))
					fail_msg("round %d: acknowledged, "
						 "but %s",
						 round, why);
			}
		}
		/* Whatever is listed is whole, acknowledged or not. */
		r = harness_get(h, "/v1/images");
		assert_status(r, 200);
		json_array_foreach (harness_json_at(r->hr_json, "items"), k,
				    item) {
			const char *name =
			    json_string_value(json_object_get(item, "name"));

			if (name == NULL ||
			    sscanf(name, "u%d-%d.bin", &id, &n) != 2)
				continue;
			if (!image_whole(h, id, n, want, why, sizeof(why)))
				fail_msg("round %d: listed, but %s", round,
					 why);
		}
	}
	for (i = 0; i < UPLOADERS; i++) {
		acked += ups[i].u_acked;
		free(ups[i].u_buf);
	}
	free(want);
	print_message("%d kills, %ld uploads acknowledged, every one whole\n",
		      ROUNDS / 2, acked);
	assert_true(acked >= ROUNDS / 2 * 2);
}

/*
 * Workload 3: starts and stops.  Nothing runs across a restart: after a
 * kill every VM is defined, stopped or crashed, never running, paused,
 * starting or stopping, and one acknowledged running says why it is not.
 */
#define STARTERS 8

struct starter {
	struct harness *s_h;
	void *s_curl;
	int s_id;
	long s_ops;
	int s_running;  /* the last 2xx said running */
	int s_cut_stop; /* the kill cut off a stop: it may have landed */
	long s_unexpected;
	char s_why[256];
};

static void *
starter_main(void *arg)
{
	struct starter *s = arg;
	struct harness_request rq = {0};
	struct harness_response rs;
	char path[64];
	int start;

	for (;;) {
		start = !s->s_running;
		snprintf(path, sizeof(path), "/v1/vms/s%02d/%s%s", s->s_id,
			 start ? "start" : "stop", start ? "" : "?force=1");
		rq.rq_method = "POST";
		rq.rq_path = path;
		if (harness_fetch(s->s_h, s->s_curl, &rq, &rs) == -1) {
			s->s_cut_stop = !start;
			return NULL;
		}
		if (rs.hr_status == 200) {
			s->s_running = start;
			s->s_ops++;
			atomic_fetch_add(&round_acks, 1);
		} else if (s->s_unexpected++ == 0) {
			snprintf(s->s_why, sizeof(s->s_why),
				 "POST %s: %ld %.160s", path, rs.hr_status,
				 rs.hr_body != NULL ? rs.hr_body : "");
		}
		harness_response_clear(&rs);
	}
}

static void
test_crash__killed_during_starts_and_stops_nothing_runs_after(struct harness *h)
{
	static struct starter st[STARTERS];
	pthread_t tids[STARTERS];
	unsigned seed = crash_seed();
	struct harness_response *r;
	const char *state, *reason;
	char name[16], path[64];
	long ops = 0;
	int round, i;

	harness_put_guest(h, "spin");
	memset(st, 0, sizeof(st));
	for (i = 0; i < STARTERS; i++) {
		snprintf(name, sizeof(name), "s%02d", i);
		harness_define_vm(h, name, "spin.bin", "");
		st[i].s_h = h;
		st[i].s_id = i;
	}
	for (round = 1; round <= ROUNDS / 2; round++) {
		for (i = 0; i < STARTERS; i++) {
			st[i].s_curl = harness_curl_new();
			assert_int_equal(pthread_create(&tids[i], NULL,
							starter_main, &st[i]),
					 0);
		}
		kill_at_random(h, &seed, round, STARTERS);
		for (i = 0; i < STARTERS; i++) {
			pthread_join(tids[i], NULL);
			harness_curl_free(st[i].s_curl);
		}
		harness_start(h, NULL);
		assert_integrity_ok(db_path(h));
		for (i = 0; i < STARTERS; i++) {
			if (st[i].s_unexpected > 0)
				fail_msg("VM s%02d: %ld answers not 200, the "
					 "first: %s",
					 i, st[i].s_unexpected, st[i].s_why);
			snprintf(path, sizeof(path), "/v1/vms/s%02d", i);
			r = harness_get(h, path);
			assert_status(r, 200);
			state = json_string_value(
			    harness_json_at(r->hr_json, "status.state"));
			if (state == NULL || (strcmp(state, "stopped") != 0 &&
					      strcmp(state, "defined") != 0 &&
					      strcmp(state, "crashed") != 0))
				fail_msg("round %d: after the restart s%02d "
					 "is %s",
					 round, i, state ? state : "(none)");
			reason = json_string_value(
			    harness_json_at(r->hr_json, "status.exit_reason"));
			if (st[i].s_running && !st[i].s_cut_stop &&
			    (reason == NULL ||
			     strstr(reason, "daemon") == NULL))
				fail_msg("round %d: s%02d was running at the "
					 "kill and says %s",
					 round, i, reason ? reason : "(null)");
			st[i].s_running = 0;
			st[i].s_cut_stop = 0;
		}
	}
	for (i = 0; i < STARTERS; i++)
		ops += st[i].s_ops;
	print_message("%d kills, %ld starts and stops acknowledged\n",
		      ROUNDS / 2, ops);
	assert_true(ops >= ROUNDS / 2 * STARTERS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_crash__killed_under_writes_keeps_every_acknowledged_one,
		0),
	    HARNESS_CASE(test_crash__killed_during_uploads_keeps_them_whole, 0),
	    HARNESS_CASE(
		test_crash__killed_during_starts_and_stops_nothing_runs_after,
		0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
