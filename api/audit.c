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
 *     cut and marked with "...".
 *   - An unidentified caller is uid and gid -1.
 *   - Paging: ?limit= (1 to LIMIT_PAGE_MAX, default LIMIT_PAGE_DEFAULT)
 *     and ?before=<id>, the "next" of the previous page.
 */
#include <errno.h>
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
			audit_put_encoded(b, rq->rq_query[i].kv_value, 0);
		}
	}
	if (b->ab_cut) {
		memcpy(b->ab_data + b->ab_len, "...", 3);
		b->ab_len += 3;
	}
	b->ab_data[b->ab_len] = '\0';
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
	const struct principal *pr = &rq->rq_principal;
	struct db_audit_row row;
	struct audit_buf *b;

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
	audit_target(rq, b);
	memset(&row, 0, sizeof(row));
	row.ar_time_ms = timefmt_now_ms();
	row.ar_uid = pr->pr_known ? (int64_t)pr->pr_uid : -1;
	row.ar_gid = pr->pr_known ? (int64_t)pr->pr_gid : -1;
	if (pr->pr_known) {
		snprintf(row.ar_jail, sizeof(row.ar_jail), "%s", pr->pr_jail);
		snprintf(row.ar_via, sizeof(row.ar_via), "%s", pr->pr_via);
	}
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
