/*
 * The audit log: who did what, when.  The router records every mutating
 * request (POST, PUT, PATCH, DELETE) its handler answered; GET /v1/audit
 * (host root) reads the log back, newest first, a page at a time.
 *
 * Decisions:
 *   - A record is queued for the database writer and the request does not
 *     wait for it (db_audit_append); GET /v1/audit waits for the records
 *     queued before it, so a client sees its own earlier requests.
 *   - "path" is the request's path and query as the daemon understood
 *     them, percent-encoded again outside [A-Za-z0-9-._~/] (query: also
 *     '/'), so every record is ASCII and the query's structure survives
 *     values holding '&' or '='; at most AUDIT_PATH_MAX bytes, the rest
 *     cut and marked with "...".  An access_token's value is never
 *     written ("access_token=REDACTED"), whatever the route: a bearer
 *     token in the database would be in every backup.
 *   - An unidentified caller is uid and gid -1.
 *   - Paging: ?limit= (1 to LIMIT_PAGE_MAX, default LIMIT_PAGE_DEFAULT)
 *     and ?before=<id>, the "next" of the previous page.
 *   - Records of requests that changed nothing (status 400 and up) are
 *     kept at most LIMIT_AUDIT_REFUSED_PER_MINUTE per caller in each
 *     minute from the caller's first (#14 finding 6: a non-member's
 *     refusals grew the log by ~290 MB in 20 s, and with the log bounded
 *     they would push everyone's records out).  A caller is a uid and a
 *     jail, whichever socket or token it came by; unidentified callers
 *     are one.  What is past the bound is counted, and one record says
 *     how many: method "DROPPED", status 429, path
 *     "count=N&first=TIME&last=TIME" (RFC 3339), the caller's uid, gid,
 *     jail and via.  Changes (2xx, 3xx) are always recorded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/handlers.h"
#include "base/limits.h"
#include "api/problem.h"
#include "api/response.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "db/db.h"

/* Bytes of a recorded path and query, "..." included. */
#define AUDIT_PATH_MAX 4096

/* A buffer the recorded target is built in; stops at its end. */
struct audit_buf {
	char ab_data[AUDIT_PATH_MAX + 1];
	size_t ab_len;
	int ab_cut;
};

static void
audit_putc(struct audit_buf *b, char c)
{
	if (b->ab_len + 1 > AUDIT_PATH_MAX - 3) {
		b->ab_cut = 1;
		return;
	}
	b->ab_data[b->ab_len++] = c;
}

/* Appends s, percent-encoding what is not unreserved (and '/' if slash). */
static void
audit_put_encoded(struct audit_buf *b, const char *s, int keep_slash)
{
	static const char digits[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0' && !b->ab_cut; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		    *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
			audit_putc(b, (char)*p);
			continue;
		}
		/* all three or none, so a cut never splits an escape */
		if (b->ab_len + 3 > AUDIT_PATH_MAX - 3) {
			b->ab_cut = 1;
			return;
		}
		audit_putc(b, '%');
		audit_putc(b, digits[*p >> 4]);
		audit_putc(b, digits[*p & 15]);
	}
}

/* The request's target as recorded: see the decisions above. */
static void
audit_target(const struct api_request *rq, struct audit_buf *b)
{
	int i;

	b->ab_len = 0;
	b->ab_cut = 0;
	audit_put_encoded(b, rq->rq_path != NULL ? rq->rq_path : "", 1);
	for (i = 0; i < rq->rq_nquery && !b->ab_cut; i++) {
		audit_putc(b, i == 0 ? '?' : '&');
		audit_put_encoded(b, rq->rq_query[i].kv_key, 0);
		if (rq->rq_query[i].kv_value != NULL) {
			audit_putc(b, '=');
			audit_put_encoded(
			    b,
			    strcmp(rq->rq_query[i].kv_key, "access_token") == 0
				? "REDACTED"
				: rq->rq_query[i].kv_value,
			    0);
		}
	}
	if (b->ab_cut) {
		memcpy(b->ab_data + b->ab_len, "...", 3);
		b->ab_len += 3;
	}
	b->ab_data[b->ab_len] = '\0';
}

/* The length of a caller's minute, in milliseconds. */
#define AUDIT_RATE_WINDOW_MS 60000
/* Summaries one call collects at most; the rest wait for the next. */
#define AUDIT_RATE_BATCH 8

/* One caller's minute.  Guarded by its audit_rate's lock. */
struct audit_rate_slot {
	int ars_used;
	int64_t ars_uid; /* -1: unidentified */
	int64_t ars_gid;
	char ars_jail[65];
	char ars_via[16];
	int64_t ars_start_ms;              /* when its minute began */
	unsigned ars_count;                /* records kept in it */
	uint64_t ars_dropped;              /* and not kept */
	int64_t ars_first_ms, ars_last_ms; /* of those not kept */
};

struct audit_rate {
	pthread_mutex_t ar_lock; /* guards ar_slot */
	unsigned ar_per_minute;
	struct audit_rate_slot ar_slot[LIMIT_AUDIT_RATE_CALLERS];
};

/* A summary to write, copied out of a slot under the lock. */
struct audit_summary {
	int64_t as_uid, as_gid;
	char as_jail[65];
	char as_via[16];
	uint64_t as_dropped;
	int64_t as_first_ms, as_last_ms;
};

struct audit_rate *
api_audit_rate_new(unsigned per_minute)
{
	struct audit_rate *ar = calloc(1, sizeof(*ar));

	if (ar == NULL)
		return NULL;
	pthread_mutex_init(&ar->ar_lock, NULL);
	ar->ar_per_minute = per_minute;
	return ar;
}

void
api_audit_rate_free(struct audit_rate *ar)
{
	if (ar == NULL)
		return;
	pthread_mutex_destroy(&ar->ar_lock);
	free(ar);
}

/* Moves s's count of records not kept into *out, and clears it. */
static void
audit_rate_take(struct audit_rate_slot *s, struct audit_summary *out)
{
	out->as_uid = s->ars_uid;
	out->as_gid = s->ars_gid;
	memcpy(out->as_jail, s->ars_jail, sizeof(out->as_jail));
	memcpy(out->as_via, s->ars_via, sizeof(out->as_via));
	out->as_dropped = s->ars_dropped;
	out->as_first_ms = s->ars_first_ms;
	out->as_last_ms = s->ars_last_ms;
	s->ars_dropped = 0;
}

/* Whether s's minute is over at now_ms (0: treat every minute as over). */
static int
audit_rate_over(const struct audit_rate_slot *s, int64_t now_ms)
{
	return now_ms == 0 || now_ms - s->ars_start_ms >= AUDIT_RATE_WINDOW_MS;
}

/* Writes the summaries in sum[0..n). */
static void
audit_rate_write(const struct api_context *ctx, const struct audit_summary *sum,
		 size_t n, int64_t now_ms)
{
	struct db_audit_row row;
	char first[40], last[40], path[160];
	size_t i;

	for (i = 0; i < n; i++) {
		timefmt_rfc3339(sum[i].as_first_ms, first, sizeof(first));
		timefmt_rfc3339(sum[i].as_last_ms, last, sizeof(last));
		snprintf(path, sizeof(path), "count=%llu&first=%s&last=%s",
			 (unsigned long long)sum[i].as_dropped, first, last);
		memset(&row, 0, sizeof(row));
		row.ar_time_ms = now_ms != 0 ? now_ms : timefmt_now_ms();
		row.ar_uid = sum[i].as_uid;
		row.ar_gid = sum[i].as_gid;
		memcpy(row.ar_jail, sum[i].as_jail, sizeof(row.ar_jail));
		memcpy(row.ar_via, sum[i].as_via, sizeof(row.ar_via));
		snprintf(row.ar_method, sizeof(row.ar_method), "DROPPED");
		row.ar_path = path;
		row.ar_status = 429;
		if (db_audit_append(ctx->ac_db, &row) != 0)
			log_warn("audit: the summary of %llu records of uid "
				 "%lld not kept (%s) was not recorded",
				 (unsigned long long)sum[i].as_dropped,
				 (long long)sum[i].as_uid, path);
	}
}

/*
 * Whether the record of a request that changed nothing, by row's caller
 * at now_ms, is kept; summaries due meanwhile (this caller's last minute,
 * a forgotten caller's, others' minutes that are over) go into sum, at
 * most AUDIT_RATE_BATCH.
 */
static int
audit_rate_admit(struct audit_rate *ar, const struct db_audit_row *row,
		 int64_t now_ms, struct audit_summary *sum, size_t *nsum)
{
	struct audit_rate_slot *s, *mine = NULL, *spare = NULL;
	size_t i;
	int keep;

	*nsum = 0;
	pthread_mutex_lock(&ar->ar_lock);
	for (i = 0; i < LIMIT_AUDIT_RATE_CALLERS; i++) {
		s = &ar->ar_slot[i];
		if (!s->ars_used) {
			if (spare == NULL || spare->ars_used)
				spare = s;
			continue;
		}
		if (s->ars_uid == row->ar_uid &&
		    strcmp(s->ars_jail, row->ar_jail) == 0) {
			mine = s;
			continue;
		}
		if (s->ars_dropped > 0 && audit_rate_over(s, now_ms) &&
		    *nsum < AUDIT_RATE_BATCH - 1)
			audit_rate_take(s, &sum[(*nsum)++]);
		if (spare == NULL ||
		    (spare->ars_used && s->ars_start_ms < spare->ars_start_ms))
			spare = s;
	}
	if (mine == NULL) {
		/* spare: a free place, else the caller followed longest */
		mine = spare;
		if (mine->ars_used && mine->ars_dropped > 0)
			audit_rate_take(mine, &sum[(*nsum)++]);
		memset(mine, 0, sizeof(*mine));
		mine->ars_used = 1;
		mine->ars_uid = row->ar_uid;
		mine->ars_start_ms = now_ms;
		memcpy(mine->ars_jail, row->ar_jail, sizeof(mine->ars_jail));
	} else if (audit_rate_over(mine, now_ms)) {
		if (mine->ars_dropped > 0)
			audit_rate_take(mine, &sum[(*nsum)++]);
		mine->ars_start_ms = now_ms;
		mine->ars_count = 0;
	}
	mine->ars_gid = row->ar_gid;
	memcpy(mine->ars_via, row->ar_via, sizeof(mine->ars_via));
	keep = mine->ars_count < ar->ar_per_minute;
	if (keep)
		mine->ars_count++;
	else {
		if (mine->ars_dropped == 0)
			mine->ars_first_ms = now_ms;
		mine->ars_dropped++;
		mine->ars_last_ms = now_ms;
	}
	pthread_mutex_unlock(&ar->ar_lock);
	return keep;
}

/*
 * Writes the summaries of the minutes over at now_ms; see handlers.h.
 */
void
api_audit_rate_flush(const struct api_context *ctx, int64_t now_ms)
{
	struct audit_rate *ar = ctx->ac_audit_rate;
	struct audit_summary sum[AUDIT_RATE_BATCH];
	size_t i = 0, n;

	if (ar == NULL || ctx->ac_db == NULL)
		return;
	do {
		n = 0;
		pthread_mutex_lock(&ar->ar_lock);
		for (; i < LIMIT_AUDIT_RATE_CALLERS && n < AUDIT_RATE_BATCH;
		     i++) {
			struct audit_rate_slot *s = &ar->ar_slot[i];

			if (s->ars_used && s->ars_dropped > 0 &&
			    audit_rate_over(s, now_ms))
				audit_rate_take(s, &sum[n++]);
		}
		pthread_mutex_unlock(&ar->ar_lock);
		audit_rate_write(ctx, sum, n, now_ms);
	} while (i < LIMIT_AUDIT_RATE_CALLERS);
}

/*
 * Queues the record of a finished request for the database; see
 * handlers.h.  Requests that change nothing (GET, HEAD) are not recorded,
 * nor anything when the daemon has no database (unit tests).  A record
 * that cannot be queued is logged, never answered: the request is over.
 */
void
api_audit_record(const struct api_context *ctx, const struct api_request *rq,
		 int status)
{
	api_audit_record_at(ctx, rq, status, timefmt_now_ms());
}

void
api_audit_record_at(const struct api_context *ctx, const struct api_request *rq,
		    int status, int64_t now_ms)
{
	const struct principal *pr = &rq->rq_principal;
	struct audit_summary sum[AUDIT_RATE_BATCH];
	struct db_audit_row row;
	struct audit_buf *b;
	size_t nsum;
	int keep;

	if (ctx->ac_db == NULL ||
	    !(rq->rq_method & (API_POST | API_PUT | API_PATCH | API_DELETE)))
		return;
	/* 4 KiB: not on the stack of a libmicrohttpd thread */
	if ((b = malloc(sizeof(*b))) == NULL) {
		log_warnx("audit: out of memory; %s %s (status %d) not "
			  "recorded",
			  rq->rq_method_name, rq->rq_path, status);
		return;
	}
	memset(&row, 0, sizeof(row));
	row.ar_time_ms = now_ms;
	row.ar_uid = pr->pr_known ? (int64_t)pr->pr_uid : -1;
	row.ar_gid = pr->pr_known ? (int64_t)pr->pr_gid : -1;
	if (pr->pr_known) {
		snprintf(row.ar_jail, sizeof(row.ar_jail), "%s", pr->pr_jail);
		snprintf(row.ar_via, sizeof(row.ar_via), "%s", pr->pr_via);
	}
	if (status >= 400 && ctx->ac_audit_rate != NULL) {
		keep = audit_rate_admit(ctx->ac_audit_rate, &row, now_ms, sum,
					&nsum);
		audit_rate_write(ctx, sum, nsum, now_ms);
		if (!keep) {
			free(b);
			return;
		}
	}
	audit_target(rq, b);
	snprintf(row.ar_method, sizeof(row.ar_method), "%s",
		 rq->rq_method_name != NULL ? rq->rq_method_name : "");
	row.ar_path = b->ab_data;
	row.ar_status = status;
	if (db_audit_append(ctx->ac_db, &row) != 0)
		log_warn("audit: %s %s (uid %lld, status %d) not recorded",
			 row.ar_method, row.ar_path, (long long)row.ar_uid,
			 status);
	free(b);
}

/* Collects a page of records: the items, and the id past which more are. */
struct audit_page {
	json_t *ap_items;
	size_t ap_limit;
	size_t ap_n;
	int64_t ap_last_id; /* of the last item kept */
	int ap_more;        /* a record beyond the page exists */
	int ap_nomem;
};

static int
audit_page_add(void *arg, const struct db_audit_row *row)
{
	struct audit_page *pg = arg;
	char when[40];
	json_t *item;

	if (pg->ap_n == pg->ap_limit) {
		pg->ap_more = 1;
		return 1;
	}
	timefmt_rfc3339(row->ar_time_ms, when, sizeof(when));
	item = json_pack("{s:I, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:i}", "id",
			 (json_int_t)row->ar_id, "time", when, "uid",
			 (json_int_t)row->ar_uid, "gid",
			 (json_int_t)row->ar_gid, "jail", row->ar_jail, "via",
			 row->ar_via, "method", row->ar_method, "path",
			 row->ar_path, "status", row->ar_status);
	if (item == NULL || json_array_append_new(pg->ap_items, item) != 0) {
		pg->ap_nomem = 1;
		return 1;
	}
	pg->ap_n++;
	pg->ap_last_id = row->ar_id;
	return 0;
}

/* Parses a query value as an integer from min to max; -1 when it is not. */
static int
audit_query_int(const char *v, long long min, long long max, long long *out)
{
	char *end;
	long long n;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

void
api_audit_list(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	struct audit_page pg = {.ap_limit = LIMIT_PAGE_DEFAULT};
	long long before = 0, n;
	json_t *doc;
	int q, k, rc;

	for (q = 0; q < rq->rq_nquery; q++) {
		const char *key = rq->rq_query[q].kv_key;
		const char *v = rq->rq_query[q].kv_value;

		for (k = 0; k < q; k++)
			if (strcmp(rq->rq_query[k].kv_key, key) == 0) {
				problem_raise(rs, PROBLEM_INVALID_QUERY, key,
					      "query parameter \"%s\" given "
					      "twice",
					      key);
				return;
			}
		if (strcmp(key, "limit") == 0) {
			if (audit_query_int(v, 1, LIMIT_PAGE_MAX, &n) != 0) {
				problem_raise(
				    rs, PROBLEM_INVALID_QUERY, "limit",
				    "limit must be an integer from 1 "
				    "to %d, not \"%s\"",
				    LIMIT_PAGE_MAX, v != NULL ? v : "");
				return;
			}
			pg.ap_limit = (size_t)n;
		} else if (strcmp(key, "before") == 0) {
			if (audit_query_int(v, 1, INT64_MAX, &before) != 0) {
				problem_raise(rs, PROBLEM_INVALID_QUERY,
					      "before",
					      "before must be a record id (a "
					      "positive integer), not \"%s\"",
					      v != NULL ? v : "");
				return;
			}
		}
		/* The router let through only these two. */
	}
	if (ctx->ac_db == NULL) {
		problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
			      "this daemon has no database");
		return;
	}
	/* Minutes that are over say what they did not keep. */
	api_audit_rate_flush(ctx, timefmt_now_ms());
	if ((pg.ap_items = json_array()) == NULL) {
		problem_errno(rs, ENOMEM, "out of memory reading the log");
		return;
	}
	/* One row past the page tells whether there is a next one. */
	rc = db_audit_list(ctx->ac_db, before, pg.ap_limit + 1, audit_page_add,
			   &pg);
	if (rc == -1 || pg.ap_nomem) {
		problem_errno(rs, rc == -1 ? errno : ENOMEM,
			      "reading the audit log failed");
		json_decref(pg.ap_items);
		return;
	}
	doc = json_pack("{s:o, s:o}", "items", pg.ap_items, "next",
			pg.ap_more ? json_integer((json_int_t)pg.ap_last_id)
				   : json_null());
	api_response_json(rs, 200, doc);
	json_decref(doc);
}
