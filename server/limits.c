/*
 * What one caller may hold of the daemon: the callers' counts, the
 * response budget, the header deadline's watcher, and the refusals' log
 * (server/limits.h).
 */
#include "server/limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api/metrics.h"
#include "base/log.h"
#include "base/timefmt.h"

/* Buckets of the callers' table; a caller's entry lives while it holds
 * anything. */
#define LIMITS_BUCKETS 256

struct limits_caller {
	struct limits_key lcl_key;
	uint64_t lcl_n[LIMITS_NWHAT];
	struct limits_caller *lcl_next;
};

static atomic_uint limits_conns_per_caller = 64;
static atomic_uint limits_streams_per_caller = 16;
static atomic_uint limits_header_timeout = 10;
static atomic_ullong limits_budget = 256ULL << 20;
static atomic_ullong limits_total_held;

static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER; /* table */
static struct limits_caller *limits_table[LIMITS_BUCKETS];

void
limits_set(const struct limits_conf *lc)
{
	atomic_store(&limits_conns_per_caller, lc->lc_conns_per_caller);
	atomic_store(&limits_streams_per_caller, lc->lc_streams_per_caller);
	atomic_store(&limits_header_timeout, lc->lc_header_timeout);
	atomic_store(&limits_budget, lc->lc_budget);
}

void
limits_get(struct limits_conf *lc)
{
	lc->lc_conns_per_caller = atomic_load(&limits_conns_per_caller);
	lc->lc_streams_per_caller = atomic_load(&limits_streams_per_caller);
	lc->lc_header_timeout = atomic_load(&limits_header_timeout);
	lc->lc_budget = atomic_load(&limits_budget);
}

void
limits_key_uid(struct limits_key *k, uid_t uid)
{
	memset(k, 0, sizeof(*k));
	k->lk_kind = LIMITS_UID;
	k->lk_uid = uid;
}

void
limits_key_addr(struct limits_key *k, const struct sockaddr *sa)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
						   0, 0, 0, 0, 0xff, 0xff};

	memset(k, 0, sizeof(*k));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		k->lk_kind = LIMITS_ADDR;
		k->lk_family = AF_INET;
		memcpy(k->lk_addr, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;

		k->lk_kind = LIMITS_ADDR;
		/* ::ffff:a.b.c.d is a.b.c.d: one caller either way. */
		if (memcmp(&in6->sin6_addr, v4mapped, 12) == 0) {
			k->lk_family = AF_INET;
			memcpy(k->lk_addr, (const char *)&in6->sin6_addr + 12,
			       4);
		} else {
			k->lk_family = AF_INET6;
			memcpy(k->lk_addr, &in6->sin6_addr, 16);
		}
	}
}

void
limits_key_str(const struct limits_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (k->lk_kind == LIMITS_UID)
		snprintf(buf, len, "uid %ld", (long)k->lk_uid);
	else if (k->lk_kind == LIMITS_ADDR &&
		 inet_ntop(k->lk_family, k->lk_addr, a, sizeof(a)) != NULL)
		snprintf(buf, len, "address %s", a);
	else
		snprintf(buf, len, "an unknown caller");
}

static unsigned
limits_hash(const struct limits_key *k)
{
	unsigned h = 2166136261u;
	size_t i;

	if (k->lk_kind == LIMITS_UID)
		return ((unsigned)k->lk_uid * 2654435761u) % LIMITS_BUCKETS;
	for (i = 0; i < sizeof(k->lk_addr); i++)
		h = (h ^ k->lk_addr[i]) * 16777619u;
	return h % LIMITS_BUCKETS;
}

static int
limits_key_eq(const struct limits_key *a, const struct limits_key *b)
{
	if (a->lk_kind != b->lk_kind)
		return 0;
	if (a->lk_kind == LIMITS_UID)
		return a->lk_uid == b->lk_uid;
	return a->lk_family == b->lk_family &&
	       memcmp(a->lk_addr, b->lk_addr, sizeof(a->lk_addr)) == 0;
}

static uint64_t
limits_max(enum limits_what what)
{
	switch (what) {
	case LIMITS_CONNS:
		return atomic_load(&limits_conns_per_caller);
	case LIMITS_STREAMS:
		return atomic_load(&limits_streams_per_caller);
	case LIMITS_RESERVE:
		return 1;
	default:
		return atomic_load(&limits_budget) / LIMITS_CALLER_SHARE;
	}
}

int
limits_caller_add(const struct limits_key *k, enum limits_what what, uint64_t n)
{
	struct limits_caller **pp, *c;
	int rc = 0;

	if (k->lk_kind == LIMITS_NONE)
		return 0;
	pthread_mutex_lock(&limits_lock);
	pp = &limits_table[limits_hash(k)];
	for (c = *pp; c != NULL; c = c->lcl_next)
		if (limits_key_eq(&c->lcl_key, k))
			break;
	if (c == NULL && (c = calloc(1, sizeof(*c))) != NULL) {
		c->lcl_key = *k;
		c->lcl_next = *pp;
		*pp = c;
	}
	if (c == NULL) {
		/* Out of memory: refuse, as the caller would be anyway. */
		rc = -1;
	} else if (c->lcl_n[what] + n > limits_max(what)) {
		rc = -1;
	} else {
		c->lcl_n[what] += n;
	}
	pthread_mutex_unlock(&limits_lock);
	return rc;
}

void
limits_caller_del(const struct limits_key *k, enum limits_what what, uint64_t n)
{
	struct limits_caller **pp, *c;
	int i, empty = 1;

	if (k->lk_kind == LIMITS_NONE)
		return;
	pthread_mutex_lock(&limits_lock);
	for (pp = &limits_table[limits_hash(k)]; (c = *pp) != NULL;
	     pp = &c->lcl_next)
		if (limits_key_eq(&c->lcl_key, k))
			break;
	if (c != NULL) {
		c->lcl_n[what] = c->lcl_n[what] >= n ? c->lcl_n[what] - n : 0;
		for (i = 0; i < LIMITS_NWHAT; i++)
			empty = empty && c->lcl_n[i] == 0;
		if (empty) {
			*pp = c->lcl_next;
			free(c);
		}
	}
	pthread_mutex_unlock(&limits_lock);
}

int
limits_hold(const struct limits_key *k, int exempt, uint64_t n)
{
	uint64_t budget = atomic_load(&limits_budget), was;

	if (exempt || n <= LIMITS_SMALL_RESPONSE) {
		was = atomic_fetch_add(&limits_total_held, n);
		api_metrics_held((int64_t)n);
		(void)was;
		return 0;
	}
	if (limits_caller_add(k, LIMITS_HELD, n) != 0)
		return -1;
	was = atomic_fetch_add(&limits_total_held, n);
	if (was + n > budget) {
		atomic_fetch_sub(&limits_total_held, n);
		limits_caller_del(k, LIMITS_HELD, n);
		return -2;
	}
	api_metrics_held((int64_t)n);
	return 0;
}

void
limits_release(const struct limits_key *k, int exempt, uint64_t n)
{
	atomic_fetch_sub(&limits_total_held, n);
	api_metrics_held(-(int64_t)n);
	if (!exempt && n > LIMITS_SMALL_RESPONSE)
		limits_caller_del(k, LIMITS_HELD, n);
}

uint64_t
limits_held(void)
{
	return atomic_load(&limits_total_held);
}

void
limits_log(enum api_refusal why, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint64_t last_us[API_REFUSED_N];
	static unsigned quiet[API_REFUSED_N];
	uint64_t now = timefmt_mono_us();
	unsigned skipped;
	char line[512];
	va_list ap;

	api_metrics_refused(why);
	pthread_mutex_lock(&lock);
	if (last_us[why] != 0 && now - last_us[why] < 1000000) {
		quiet[why]++;
		pthread_mutex_unlock(&lock);
		return;
	}
	last_us[why] = now;
	skipped = quiet[why];
	quiet[why] = 0;
	pthread_mutex_unlock(&lock);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (skipped > 0)
		log_warnx("refused: %s (and %u more refusals of this kind "
			  "not logged in the second before)",
			  line, skipped);
	else
		log_warnx("refused: %s", line);
}

/* The header deadline's connections, and its thread. */
static pthread_mutex_t limits_watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t limits_watch_cond = PTHREAD_COND_INITIALIZER;
static struct limits_conn *limits_watched;
static pthread_t limits_thread;
static int limits_running, limits_quit;

void
limits_watch(struct limits_conn *c, int fd, const char *who)
{
	c->lcn_fd = fd;
	c->lcn_shut = 0;
	snprintf(c->lcn_who, sizeof(c->lcn_who), "%s", who);
	atomic_store(&c->lcn_waiting_us, timefmt_mono_us());
	pthread_mutex_lock(&limits_watch_lock);
	c->lcn_prev = NULL;
	c->lcn_next = limits_watched;
	if (c->lcn_next != NULL)
		c->lcn_next->lcn_prev = c;
	limits_watched = c;
	pthread_mutex_unlock(&limits_watch_lock);
}

void
limits_unwatch(struct limits_conn *c)
{
	pthread_mutex_lock(&limits_watch_lock);
	if (c->lcn_prev != NULL)
		c->lcn_prev->lcn_next = c->lcn_next;
	else if (limits_watched == c)
		limits_watched = c->lcn_next;
	if (c->lcn_next != NULL)
		c->lcn_next->lcn_prev = c->lcn_prev;
	c->lcn_next = c->lcn_prev = NULL;
	pthread_mutex_unlock(&limits_watch_lock);
}

void
limits_busy(struct limits_conn *c, int busy)
{
	atomic_store(&c->lcn_waiting_us, busy ? 0 : timefmt_mono_us());
}

int
limits_overdue(uint64_t now, uint64_t since, uint64_t max)
{
	/* since may be later than now: the connection went idle after the
	 * sweep read the clock.  Unsigned now - since would wrap then. */
	return since != 0 && since <= now && now - since >= max;
}

/*
 * Shuts down the sockets of the connections past the deadline.  Under
 * the list's lock: a connection leaves the list (limits_unwatch, from
 * libmicrohttpd's close notification) before its socket is closed, so a
 * descriptor shut down here is always still that connection's.
 *
 * A connection with bytes waiting in its socket is spared: the client
 * sent them and the daemon has not read them yet, so the delay is the
 * daemon's (busy, or under valgrind), not the client's.  It is shut down
 * at a later sweep if what it sent does not complete the headers.
 */
static void
limits_sweep(void)
{
	uint64_t now = timefmt_mono_us(), since;
	uint64_t max = (uint64_t)atomic_load(&limits_header_timeout) * 1000000;
	struct limits_conn *c;
	char peek;

	if (max == 0)
		return;
	pthread_mutex_lock(&limits_watch_lock);
	for (c = limits_watched; c != NULL; c = c->lcn_next) {
		since = atomic_load(&c->lcn_waiting_us);
		if (c->lcn_shut || !limits_overdue(now, since, max))
			continue;
		if (recv(c->lcn_fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) == 1)
			continue;
		c->lcn_shut = 1;
		(void)shutdown(c->lcn_fd, SHUT_RDWR);
		limits_log(API_REFUSED_HEADERS,
			   "a connection of %s sent no complete request "
			   "headers within --header-timeout %us; closed",
			   c->lcn_who, (unsigned)(max / 1000000));
	}
	pthread_mutex_unlock(&limits_watch_lock);
}

static void *
limits_main(void *arg)
{
	struct timespec ts;

	(void)arg;
	pthread_mutex_lock(&limits_watch_lock);
	while (!limits_quit) {
		clock_gettime(CLOCK_REALTIME, &ts);
		/* Four sweeps a second: a deadline overshoots by 250 ms. */
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&limits_watch_cond, &limits_watch_lock,
				       &ts);
		if (limits_quit)
			break;
		pthread_mutex_unlock(&limits_watch_lock);
		limits_sweep();
		pthread_mutex_lock(&limits_watch_lock);
	}
	pthread_mutex_unlock(&limits_watch_lock);
	return NULL;
}

int
limits_start(void)
{
	int rc;

	limits_quit = 0;
	if ((rc = pthread_create(&limits_thread, NULL, limits_main, NULL)) !=
	    0) {
		errno = rc;
		return -1;
	}
	limits_running = 1;
	return 0;
}

void
limits_stop(void)
{
	if (!limits_running)
		return;
	pthread_mutex_lock(&limits_watch_lock);
	limits_quit = 1;
	pthread_cond_signal(&limits_watch_cond);
	pthread_mutex_unlock(&limits_watch_lock);
	pthread_join(limits_thread, NULL);
	limits_running = 0;
}
