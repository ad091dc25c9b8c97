/*
 * GET /v1/events: the event journal as Server-Sent Events
 * (core/events.h).  The caller sees the events of what it may read
 * (docs/access.md): a VM's events as GET /v1/vms lists that VM, image
 * events as GET /v1/images, passthrough reservations as GET /v1/pptdevs
 * (host root, a jail root with allow_vmm_ppt), token and jail events only
 * as host root, the daemon's start always.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/policy.h"
#include "api/problem.h"
#include "base/names.h"
#include "core/events.h"
#include "db/db.h"

/* Bytes of a stream's send buffer (api_stream.st_block). */
#define EVENTS_STREAM_BLOCK 2048

/* What a subscriber may see, decided per event. */
struct events_viewer {
	const struct policy *vw_policy;
	struct principal vw_pr;
	int vw_root;   /* host root: everything */
	int vw_images; /* may list images */
	int vw_ppt;    /* may read pptdevs */
};

static int
events_viewer_may(void *arg, const struct db_event *e)
{
	const struct events_viewer *vw = arg;
	struct policy_vm vm = {0};

	if (vw->vw_root)
		return 1;
	switch (e->ev_scope) {
	case DB_EVENT_VM:
		vm.pv_name = e->ev_vm;
		vm.pv_owner_uid = (uid_t)e->ev_owner_uid;
		vm.pv_jail = e->ev_jail;
		return e->ev_owner_uid >= 0 &&
		       policy_vm_visible(vw->vw_policy, &vw->vw_pr, &vm);
	case DB_EVENT_IMAGES:
		return vw->vw_images;
	case DB_EVENT_PPT:
		return vw->vw_ppt;
	case DB_EVENT_ALL:
		return 1;
	default:
		return 0;
	}
}

/* A type as a filter takes it: "vm" or "vm.started"; [a-z_.], <= 31. */
static int
events_type_valid(const char *t)
{
	size_t n = strlen(t);

	return n > 0 && n < 32 &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyz_.") == n && t[0] != '.' &&
	       t[n - 1] != '.';
}

/* An event id as a client sends it: decimal digits, 0 or more. */
static int
events_id_parse(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (s == NULL || *s < '0' || *s > '9' || strlen(s) > 18)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

/* Appends a copy of s to the NULL-terminated list *v.  -1 ENOMEM. */
static int
events_strv_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));

	if (nv == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	nv[++*n] = NULL;
	return 0;
}

static void
events_strv_free(char **v)
{
	char **p;

	for (p = v; p != NULL && *p != NULL; p++)
		free(*p);
	free(v);
}

/* The filter's query parameters; -1 with a 400 answered. */
static int
events_parse_query(const struct api_request *rq, struct events_filter *f,
		   int64_t *since, struct api_response *rs)
{
	size_t nt = 0, nv = 0, nj = 0;
	int i;

	for (i = 0; i < rq->rq_nquery; i++) {
		const char *k = rq->rq_query[i].kv_key;
		const char *v = rq->rq_query[i].kv_value;

		if (v == NULL)
			v = "";
		if (strcmp(k, "since") == 0) {
			if (events_id_parse(v, since) != 0) {
				problem_raise(rs, PROBLEM_INVALID_QUERY, k,
					      "since must be an event id (a "
					      "whole number, 0 or more), not "
					      "\"%s\"",
					      v);
				return -1;
			}
		} else if (strcmp(k, "type") == 0) {
			if (!events_type_valid(v)) {
				problem_raise(rs, PROBLEM_INVALID_QUERY, k,
					      "type \"%s\" is not an event "
					      "type (vm.started) or a group "
					      "of them (vm)",
					      v);
				return -1;
			}
			if (events_strv_add(&f->ef_types, &nt, v) != 0)
				goto nomem;
		} else if (strcmp(k, "vm") == 0) {
			if (!name_valid(v)) {
				problem_raise(rs, PROBLEM_INVALID_QUERY, k,
					      "vm \"%s\" is not a VM name", v);
				return -1;
			}
			if (events_strv_add(&f->ef_vms, &nv, v) != 0)
				goto nomem;
		} else if (strcmp(k, "jail") == 0) {
			/* Not checked against the jails there are: the
			 * journal keeps events of jails since deleted. */
			if (!name_valid(v)) {
				problem_invalid_name_query(rs, k, v);
				return -1;
			}
			if (events_strv_add(&f->ef_jails, &nj, v) != 0)
				goto nomem;
		}
		/* access_token: server/ read it already. */
	}
	return 0;
nomem:
	problem_errno(rs, ENOMEM, "out of memory reading the query");
	return -1;
}

static ssize_t
events_st_read(void *cls, char *buf, size_t max)
{
	return events_sub_read(cls, buf, max);
}

static int
events_st_watch(void *cls, void (*wake)(void *), void *arg)
{
	return events_sub_watch(cls, wake, arg);
}

static void
events_st_free(void *cls)
{
	events_sub_free(cls);
}

void
api_events_get(const struct api_context *ctx, const struct api_call *call,
	       struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	struct events_filter f = {0};
	struct events_viewer *vw;
	struct events_sub *sub;
	struct api_stream *st;
	int64_t since = -1, oldest, newest;
	const char *last = api_header(rq, "Last-Event-ID");
	char why[64];

	if (ctx->ac_events == NULL) {
		problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
			      "the event journal is not open");
		return;
	}
	if (events_parse_query(rq, &f, &since, rs) != 0)
		goto fail;
	/* EventSource sends Last-Event-ID with the URL it first had: the
	 * header is the newer word. */
	if (last != NULL && last[0] != '\0' &&
	    events_id_parse(last, &since) != 0) {
		problem_raise(rs, PROBLEM_INVALID_HEADER, "Last-Event-ID",
			      "Last-Event-ID must be an event id (a whole "
			      "number, 0 or more)");
		goto fail;
	}
	if ((vw = calloc(1, sizeof(*vw))) == NULL) {
		problem_errno(rs, ENOMEM, "out of memory");
		goto fail;
	}
	vw->vw_policy = ctx->ac_policy;
	vw->vw_pr = rq->rq_principal;
	vw->vw_root = ctx->ac_policy == NULL || policy_is_host_root(&vw->vw_pr);
	vw->vw_images = vw->vw_root ||
			policy_check(ctx->ac_policy, &vw->vw_pr, POL_IMAGE_READ,
				     NULL, why, sizeof(why)) == 0;
	vw->vw_ppt =
	    vw->vw_root || policy_check(ctx->ac_policy, &vw->vw_pr, POL_PPT,
					NULL, why, sizeof(why)) == 0;
	f.ef_may = events_viewer_may;
	f.ef_arg = vw;
	f.ef_free = free;
	if (since > 0 && db_lost(ctx->ac_db, DB_LOST_EVENT, (uint64_t)since)) {
		problem_raise(rs, PROBLEM_EVENTS_GONE, "since",
			      "event %" PRId64 " was handed out before this "
			      "database was restored from a backup that does "
			      "not have it; start over: read the state, then "
			      "stream without since or Last-Event-ID",
			      since);
		goto fail;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		problem_errno(rs, ENOMEM, "out of memory");
		goto fail;
	}
	if (events_subscribe(ctx->ac_events, since, &f, &sub, &oldest,
			     &newest) != 0) {
		free(st);
		if (errno == ESTALE)
			problem_raise(rs, PROBLEM_EVENTS_GONE, "since",
				      "event %" PRId64
				      " is no longer kept; the "
				      "oldest kept is %" PRId64,
				      since + 1, oldest);
		else if (errno == ERANGE)
			problem_raise(rs, PROBLEM_EVENTS_GONE, "since",
				      "event %" PRId64 " is newer than the "
				      "newest, %" PRId64 "; the oldest kept "
				      "is %" PRId64,
				      since, newest, oldest);
		else
			problem_errno(rs, errno, "subscribing to events");
		return;
	}
	st->st_read = events_st_read;
	st->st_watch = events_st_watch;
	st->st_free = events_st_free;
	st->st_cls = sub;
	/* An event is a few hundred bytes; a long one goes in several
	 * reads.  Idle subscribers are many: each holds this buffer. */
	st->st_block = EVENTS_STREAM_BLOCK;
	rs->rs_status = 200;
	rs->rs_content_type = "text/event-stream";
	rs->rs_stream = st;
	api_response_header(rs, "Cache-Control", "no-store");
	/* nginx would otherwise hold the stream back in its buffer. */
	api_response_header(rs, "X-Accel-Buffering", "no");
	return;
fail:
	if (f.ef_free != NULL)
		f.ef_free(f.ef_arg);
	events_strv_free(f.ef_types);
	events_strv_free(f.ef_vms);
	events_strv_free(f.ef_jails);
}
