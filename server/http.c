#include "server/http.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "base/limits.h"
#include "api/problem.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "core/auth.h"
#include "server/hangup.h"
#include "server/workers.h"

/* Bytes of an oversized chunked body read and dropped before closing. */
#define HTTP_DISCARD_MAX (16 * 1024 * 1024)

struct http_listener {
	struct http_server *hl_srv;
	struct listen_sock *hl_sock;
	struct MHD_Daemon *hl_mhd;
	atomic_int hl_inflight; /* its requests begun and not completed */
	/* Jail listeners only: */
	char hl_jail[65];              /* its callers' jail ("": not one) */
	struct listen_sock hl_own;     /* the socket, which it owns */
	atomic_int hl_retired;         /* removed: new requests get 503 */
	struct http_listener *hl_next; /* in hj_active or hj_retired */
};

/*
 * The jails' listeners, started and stopped while the daemon runs; those
 * asked for before http_start have their sockets bound at once and are
 * started by http_start before the daemon's own listeners, so a jail's
 * socket answers as soon as the daemon's does.  A removed listener stops
 * accepting and loses its socket file at once, so the path can be bound again,
 * but its libmicrohttpd daemon is stopped only once no request of it is in
 * flight (libmicrohttpd must not be stopped under a suspended connection): it
 * is "retired" until then, and reaped by the next listen or unlisten, by a job
 * on a worker thread that its last request queues, or by http_stop.
 */
struct http_jails {
	pthread_mutex_t hj_lock;    /* guards everything below */
	struct http_server *hj_srv; /* NULL unless between start and stop */
	struct http_listener *hj_active;
	struct http_listener *hj_retired;
	struct work hj_reap; /* reaps the retired, on a worker */
	int hj_reap_queued;  /* hj_reap is queued */
	int hj_reap_off;     /* the workers are going: queue no more */
	int hj_started;      /* http_start ran: no listener waits for it */
};

struct http_server {
	const struct api_context *hs_ctx;
	struct auth *hs_auth;
	struct workers *hs_workers;
	struct http_listener *hs_listeners;
	int hs_n;
	int hs_per_connection;
	atomic_int hs_inflight; /* requests begun and not completed */
	atomic_ulong hs_begun;  /* requests ever begun */
	atomic_int hs_stopping; /* answer with Connection: close */
	struct hangup *hs_hangup;
	pthread_mutex_t hs_streams_lock; /* guards hs_streams */
	struct http_stream *hs_streams;  /* streaming responses under way */
	struct http_jails *hs_jails;     /* NULL: no jail listeners */
	/* How to start a listener's libmicrohttpd, for the jails' too. */
	unsigned hs_mhd_flags;
	unsigned hs_threads;
	unsigned hs_conn_limit;
	unsigned hs_conn_timeout;
};

/*
 * A streaming response.  While st_read has nothing, the connection is
 * suspended; the stream's watch (new data) or a hang-up of the client
 * resumes it, whichever comes first.
 */
struct http_stream {
	struct http_server *sm_srv;
	struct http_listener *sm_listener;
	struct MHD_Connection *sm_conn;
	struct api_stream *sm_api; /* owned */
	int sm_fd;
	pthread_mutex_t sm_lock; /* guards sm_suspended, sm_ended */
	int sm_suspended;
	int sm_ended; /* the client left or the daemon stops */
	struct http_stream *sm_next, *sm_prev;
};

static void http_jails_reap_later(struct http_jails *hj);
static void http_jails_attach(struct http_jails *hj, struct http_server *srv);

/* Who is at the other end of a Unix socket connection. */
struct http_peer {
	struct principal hp_principal;
};

/* One request, from the first access-handler call to completion. */
struct http_req {
	struct http_listener *hr_listener;
	struct MHD_Connection *hr_conn;
	uint64_t hr_start_us;
	struct api_request hr_api;
	char *hr_body;
	size_t hr_len, hr_cap;
	int hr_queued;       /* a response is queued */
	size_t hr_discarded; /* body bytes dropped past the limit */
	int hr_dispatched;   /* handed to api_handle (inline or on a worker) */
	int hr_upload;       /* the route takes a file upload */
	int hr_streaming;    /* the response is an api_stream */
	uint64_t hr_limit;   /* bytes the body may have */
	int hr_fd;           /* upload spool file, or -1 */
	int hr_spool_errno;  /* writing the spool file failed */
	char *hr_path;       /* its path (malloc'd: uploads are rare) */
	int hr_status;
	size_t hr_bytes;
	struct api_response hr_resp;
	struct work hr_work;
};

static const char *
http_header(void *cls, const char *name)
{
	struct http_req *hr = cls;

	/*
	 * libmicrohttpd keeps headers in the connection's pool until the
	 * request completes; a suspended connection does not touch them, so
	 * a worker may read them too.
	 */
	return MHD_lookup_connection_value(hr->hr_conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result
http_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
	       const char *value)
{
	struct http_req *hr = cls;
	struct api_request *rq = &hr->hr_api;

	if (rq->rq_nquery == API_MAX_QUERY) {
		rq->rq_query_overflow = 1;
		return MHD_NO;
	}
	rq->rq_query[rq->rq_nquery].kv_key = key;
	rq->rq_query[rq->rq_nquery].kv_value = value;
	rq->rq_nquery++;
	return MHD_YES;
}

/* Resumes a suspended stream once; called by whichever wakes it first. */
static void
http_stream_resume(struct http_stream *sm, int ended, int from_hangup)
{
	int was;

	pthread_mutex_lock(&sm->sm_lock);
	if (ended)
		sm->sm_ended = 1;
	was = sm->sm_suspended;
	sm->sm_suspended = 0;
	pthread_mutex_unlock(&sm->sm_lock);
	if (!was)
		return;
	if (!from_hangup)
		hangup_remove(sm->sm_srv->hs_hangup, sm);
	MHD_resume_connection(sm->sm_conn);
}

static void
http_stream_wake(void *arg)
{
	http_stream_resume(arg, 0, 0);
}

static void
http_stream_hangup(void *arg)
{
	http_stream_resume(arg, 1, 1);
}

static ssize_t
http_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *sm = cls;
	ssize_t n;
	int w;

	pthread_mutex_lock(&sm->sm_lock);
	if (sm->sm_ended) {
		pthread_mutex_unlock(&sm->sm_lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = sm->sm_api->st_read(sm->sm_api->st_cls, buf, max);
	if (n != 0) {
		pthread_mutex_unlock(&sm->sm_lock);
		return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
	}
	/*
	 * Nothing yet: park the connection (libmicrohttpd's pattern for a
	 * reader without data) until the watch or a hang-up resumes it.
	 */
	MHD_suspend_connection(sm->sm_conn);
	sm->sm_suspended = 1;
	w = sm->sm_api->st_watch(sm->sm_api->st_cls, http_stream_wake, sm);
	if (w == 0 && hangup_add(sm->sm_srv->hs_hangup, sm->sm_fd,
				 http_stream_hangup, sm) != 0)
		log_warn("streaming response: cannot watch for hang-up");
	if (w != 0) {
		sm->sm_suspended = 0;
		if (w < 0)
			sm->sm_ended = 1;
		MHD_resume_connection(sm->sm_conn);
	}
	pthread_mutex_unlock(&sm->sm_lock);
	return 0;
}

static void
http_stream_free(void *cls)
{
	struct http_stream *sm = cls;
	struct http_server *srv = sm->sm_srv;

	pthread_mutex_lock(&srv->hs_streams_lock);
	if (sm->sm_prev != NULL)
		sm->sm_prev->sm_next = sm->sm_next;
	else
		srv->hs_streams = sm->sm_next;
	if (sm->sm_next != NULL)
		sm->sm_next->sm_prev = sm->sm_prev;
	pthread_mutex_unlock(&srv->hs_streams_lock);
	hangup_remove(srv->hs_hangup, sm);
	/* Cancels the watch and waits out a wake under way. */
	sm->sm_api->st_free(sm->sm_api->st_cls);
	free(sm->sm_api);
	pthread_mutex_destroy(&sm->sm_lock);
	free(sm);
}

/* A response whose body comes from an api_stream (taken from rs). */
static struct MHD_Response *
http_stream_response(struct http_req *hr, struct api_response *rs)
{
	struct http_server *srv = hr->hr_listener->hl_srv;
	const union MHD_ConnectionInfo *ci;
	struct http_stream *sm = calloc(1, sizeof(*sm));
	struct MHD_Response *resp;

	if (sm == NULL)
		return NULL;
	ci = MHD_get_connection_info(hr->hr_conn,
				     MHD_CONNECTION_INFO_CONNECTION_FD);
	sm->sm_srv = srv;
	sm->sm_listener = hr->hr_listener;
	sm->sm_conn = hr->hr_conn;
	sm->sm_fd = ci != NULL ? ci->connect_fd : -1;
	pthread_mutex_init(&sm->sm_lock, NULL);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
						 http_stream_read, sm,
						 http_stream_free);
	if (resp == NULL) {
		pthread_mutex_destroy(&sm->sm_lock);
		free(sm);
		return NULL;
	}
	sm->sm_api = rs->rs_stream;
	rs->rs_stream = NULL;
	pthread_mutex_lock(&srv->hs_streams_lock);
	sm->sm_next = srv->hs_streams;
	if (sm->sm_next != NULL)
		sm->sm_next->sm_prev = sm;
	srv->hs_streams = sm;
	pthread_mutex_unlock(&srv->hs_streams_lock);
	return resp;
}

static enum MHD_Result
http_queue(struct http_req *hr)
{
	struct api_response *rs = &hr->hr_resp;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int i;

	if (rs->rs_status == 0)
		problem_raise(rs, PROBLEM_INTERNAL, NULL,
			      "the handler gave no response");
	hr->hr_streaming = rs->rs_stream != NULL;
	if (rs->rs_stream != NULL) {
		resp = http_stream_response(hr, rs);
	} else if (rs->rs_body != NULL) {
		resp = MHD_create_response_from_buffer(
		    rs->rs_body_len, rs->rs_body, MHD_RESPMEM_MUST_FREE);
		if (resp != NULL)
			rs->rs_body = NULL; /* libmicrohttpd frees it */
	} else {
		resp = MHD_create_response_from_buffer(0, NULL,
						       MHD_RESPMEM_PERSISTENT);
	}
	if (resp == NULL)
		return MHD_NO;
	/* An empty body still has a type; 204 and 304 have no body. */
	if (rs->rs_content_type != NULL && rs->rs_status != 204 &&
	    rs->rs_status != 304)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					rs->rs_content_type);
	for (i = 0; i < rs->rs_nheaders; i++)
		MHD_add_response_header(resp, rs->rs_headers[i].h_name,
					rs->rs_headers[i].h_value);
	if (atomic_load(&hr->hr_listener->hl_srv->hs_stopping) ||
	    atomic_load(&hr->hr_listener->hl_retired))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	hr->hr_status = rs->rs_status;
	hr->hr_bytes = rs->rs_body_len;
	ret = MHD_queue_response(hr->hr_conn, (unsigned)rs->rs_status, resp);
	MHD_destroy_response(resp);
	hr->hr_queued = 1;
	return ret;
}

/* Queues a problem of kind with detail. */
static enum MHD_Result
http_fail(struct http_req *hr, enum problem_kind kind, const char *detail)
{
	problem_raise(&hr->hr_resp, kind, NULL, "%s", detail);
	return http_queue(hr);
}

static void
http_work(struct work *wk)
{
	struct http_req *hr =
	    (struct http_req *)((char *)wk -
				offsetof(struct http_req, hr_work));
	struct http_server *srv = hr->hr_listener->hl_srv;

	api_handle(srv->hs_ctx, &hr->hr_api, &hr->hr_resp);
	/* After this, the connection's thread owns hr again. */
	MHD_resume_connection(hr->hr_conn);
}

/* Sets the request's principal: peer credentials or a bearer token. */
static void
http_principal(struct http_req *hr)
{
	struct http_server *srv = hr->hr_listener->hl_srv;
	struct principal *pr = &hr->hr_api.rq_principal;
	const union MHD_ConnectionInfo *ci;

	memset(pr, 0, sizeof(*pr));
	if (hr->hr_listener->hl_sock->ls_unix) {
		ci = MHD_get_connection_info(
		    hr->hr_conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (ci != NULL && ci->socket_context != NULL) {
			const struct http_peer *peer = ci->socket_context;

			*pr = peer->hp_principal;
		}
		return;
	}
	auth_check(srv->hs_auth,
		   MHD_lookup_connection_value(hr->hr_conn, MHD_HEADER_KIND,
					       MHD_HTTP_HEADER_AUTHORIZATION),
		   pr);
}

/* Method, path and route are hr_api's since http_begin. */
static enum MHD_Result
http_dispatch(struct http_req *hr)
{
	struct http_server *srv = hr->hr_listener->hl_srv;
	struct api_request *rq = &hr->hr_api;

	hr->hr_dispatched = 1;
	rq->rq_header = http_header;
	rq->rq_header_cls = hr;
	if (hr->hr_body != NULL) {
		hr->hr_body[hr->hr_len] = '\0';
		rq->rq_body = hr->hr_body;
		rq->rq_body_len = hr->hr_len;
	}
	if (hr->hr_fd >= 0 && lseek(hr->hr_fd, 0, SEEK_SET) == 0) {
		rq->rq_body_fd = hr->hr_fd;
		rq->rq_body_path = hr->hr_path;
		rq->rq_body_len = hr->hr_len;
	}
	MHD_get_connection_values(hr->hr_conn, MHD_GET_ARGUMENT_KIND,
				  http_query_arg, hr);
	http_principal(hr);

	if (!srv->hs_per_connection && !api_route_inline(srv->hs_ctx, rq)) {
		MHD_suspend_connection(hr->hr_conn);
		hr->hr_work.wk_fn = http_work;
		if (workers_submit(srv->hs_workers, &hr->hr_work) == 0)
			return MHD_YES;
		MHD_resume_connection(hr->hr_conn);
		return http_fail(hr, PROBLEM_UNAVAILABLE,
				 "no worker thread could take the request");
	}
	api_handle(srv->hs_ctx, rq, &hr->hr_resp);
	return http_queue(hr);
}

/* Answers 413 for a body past the request's limit. */
static enum MHD_Result
http_too_large(struct http_req *hr)
{
	char detail[128];

	snprintf(detail, sizeof(detail),
		 "request bodies are limited to %llu bytes here",
		 (unsigned long long)hr->hr_limit);
	return http_fail(hr, PROBLEM_BODY_TOO_LARGE, detail);
}

/* The first call: set up, and refuse what can be refused unread. */
static enum MHD_Result
http_begin(struct http_listener *l, struct MHD_Connection *conn,
	   const char *url, const char *method, void **con_cls)
{
	const struct api_context *ctx = l->hl_srv->hs_ctx;
	struct http_req *hr;
	enum api_method m = api_method_parse(method);
	const char *cl;

	if ((hr = calloc(1, sizeof(*hr))) == NULL)
		return MHD_NO;
	hr->hr_listener = l;
	hr->hr_conn = conn;
	hr->hr_start_us = timefmt_mono_us();
	hr->hr_fd = -1;
	hr->hr_api.rq_body_fd = -1;
	/* Known now, so that early answers are logged in full. */
	hr->hr_api.rq_method_name = method;
	hr->hr_api.rq_method = m;
	hr->hr_api.rq_path = url;
	api_route_resolve(&hr->hr_api);
	*con_cls = hr;
	atomic_fetch_add(&l->hl_srv->hs_inflight, 1);
	atomic_fetch_add(&l->hl_srv->hs_begun, 1);
	/* Counted before the check: see http_jails_reap_locked. */
	atomic_fetch_add(&l->hl_inflight, 1);
	if (atomic_load(&l->hl_retired))
		return http_fail(hr, PROBLEM_UNAVAILABLE,
				 "this jail's socket has been removed");
	if (strlen(url) > LIMIT_URL_LEN)
		return http_fail(hr, PROBLEM_URI_TOO_LONG,
				 "the request path is longer than 2048 bytes");
	hr->hr_upload = api_route_uploads(&hr->hr_api);
	hr->hr_limit = hr->hr_upload ? ctx->ac_upload_max : LIMIT_BODY_BYTES;
	/* Refuse an announced oversized body before it is sent. */
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > hr->hr_limit) {
		const char *expect = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

		/*
		 * A client waiting for "100 Continue" hears 413 before it
		 * sends the body.  One already sending it would see its
		 * connection reset under the answer (curl: "no response"),
		 * so a body within HTTP_DISCARD_MAX is read and dropped and
		 * the 413 comes after it.
		 */
		if ((expect != NULL &&
		     strcasecmp(expect, "100-continue") == 0) ||
		    strtoull(cl, NULL, 10) > HTTP_DISCARD_MAX)
			return http_too_large(hr);
		hr->hr_discarded = 1; /* drop what comes; 413 at the end */
	}
	if (hr->hr_upload && !api_route_public(&hr->hr_api)) {
		/* Nobody uploads megabytes only to hear 401 at the end. */
		http_principal(hr);
		if (!hr->hr_api.rq_principal.pr_known)
			return http_dispatch(hr);
	}
	return MHD_YES;
}

/* Spools an upload's chunk to its file; errors are answered at the end. */
static void
http_spool(struct http_req *hr, const char *data, size_t n)
{
	const struct api_context *ctx = hr->hr_listener->hl_srv->hs_ctx;

	if (hr->hr_spool_errno != 0)
		return;
	if (hr->hr_fd < 0) {
		if (asprintf(&hr->hr_path, "%s/.upload-XXXXXX",
			     ctx->ac_spool_dir) < 0) {
			hr->hr_path = NULL;
			hr->hr_spool_errno = ENOMEM;
			return;
		}
		hr->hr_fd = mkostemp(hr->hr_path, O_CLOEXEC);
		if (hr->hr_fd < 0) {
			hr->hr_spool_errno = errno;
			log_warn("upload spool %s", hr->hr_path);
			return;
		}
	}
	while (n > 0) {
		ssize_t w = write(hr->hr_fd, data, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			hr->hr_spool_errno = w < 0 ? errno : EIO;
			log_warn("upload spool %s", hr->hr_path);
			return;
		}
		data += w;
		n -= (size_t)w;
	}
}

/* A chunk of the body: kept, spooled, or dropped past the limit. */
static enum MHD_Result
http_body(struct http_req *hr, const char *data, size_t n)
{
	if (hr->hr_discarded > 0 || hr->hr_len + n > hr->hr_limit) {
		/*
		 * A body without Content-Length (chunked) that grows past the
		 * limit: libmicrohttpd 0.9.75 drops a response queued in the
		 * middle of such an upload, so read and drop the rest and
		 * answer 413 at its end; a body that goes on for ever is cut.
		 */
		hr->hr_discarded += n;
		return hr->hr_discarded > HTTP_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (hr->hr_upload) {
		http_spool(hr, data, n);
		hr->hr_len += n;
		return MHD_YES;
	}
	if (hr->hr_len + n + 1 > hr->hr_cap) {
		size_t cap = hr->hr_cap ? hr->hr_cap : 1024;
		char *b;

		while (cap < hr->hr_len + n + 1)
			cap *= 2;
		if ((b = realloc(hr->hr_body, cap)) == NULL)
			return MHD_NO;
		hr->hr_body = b;
		hr->hr_cap = cap;
	}
	memcpy(hr->hr_body + hr->hr_len, data, n);
	hr->hr_len += n;
	return MHD_YES;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url,
	    const char *method, const char *version, const char *upload_data,
	    size_t *upload_data_size, void **con_cls)
{
	struct http_req *hr = *con_cls;

	if (hr == NULL)
		return http_begin(cls, conn, url, method, con_cls);
	if (hr->hr_queued) {
		*upload_data_size = 0; /* drain what follows an early answer */
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		return http_body(hr, upload_data, n);
	}
	if (hr->hr_discarded > 0)
		return http_too_large(hr);
	if (hr->hr_spool_errno != 0) {
		problem_errno(&hr->hr_resp, hr->hr_spool_errno,
			      "storing the upload failed: %s",
			      strerror(hr->hr_spool_errno));
		return http_queue(hr);
	}
	if (!hr->hr_dispatched)
		return http_dispatch(hr);
	/* Resumed: the worker has filled the response. */
	return http_queue(hr);
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	       enum MHD_RequestTerminationCode toe)
{
	struct http_listener *l = cls;
	struct http_req *hr = *con_cls;
	const struct principal *pr;
	const char *how = "";

	if (hr == NULL)
		return;
	*con_cls = NULL;
	pr = &hr->hr_api.rq_principal;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		how = toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ||
			      toe == MHD_REQUEST_TERMINATED_READ_ERROR ||
			      toe == MHD_REQUEST_TERMINATED_WITH_ERROR
			  ? " (client went away)"
			  : " (not completed)";
	log_access(
	    "access: %s uid=%ld %s %s %d %zu %lluus%s",
	    l->hl_sock->ls_unix ? "unix" : "tcp",
	    pr->pr_known ? (long)pr->pr_uid : -1L,
	    hr->hr_api.rq_method_name != NULL ? hr->hr_api.rq_method_name : "-",
	    hr->hr_api.rq_path != NULL ? hr->hr_api.rq_path : "-",
	    hr->hr_status, hr->hr_bytes,
	    (unsigned long long)(timefmt_mono_us() - hr->hr_start_us), how);
	api_response_clear(&hr->hr_resp);
	free(hr->hr_body);
	if (hr->hr_fd >= 0) {
		close(hr->hr_fd);
		/* Gone already when the handler kept the upload. */
		if (unlink(hr->hr_path) != 0 && errno != ENOENT)
			log_warn("removing %s", hr->hr_path);
	}
	free(hr->hr_path);
	free(hr);
	if (atomic_fetch_sub(&l->hl_inflight, 1) == 1 &&
	    atomic_load(&l->hl_retired))
		http_jails_reap_later(l->hl_srv->hs_jails);
	atomic_fetch_sub(&l->hl_srv->hs_inflight, 1);
}

/* Reads a Unix peer's credentials once per connection. */
static void
http_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
		enum MHD_ConnectionNotificationCode toe)
{
	struct http_listener *l = cls;
	const union MHD_ConnectionInfo *ci;
	struct http_peer *peer;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t groups[PRINCIPAL_MAX_GROUPS];
	socklen_t glen = sizeof(groups);
	int fd;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		free(*socket_context);
		*socket_context = NULL;
		return;
	}
	if (!l->hl_sock->ls_unix)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	fd = ci->connect_fd;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
		log_warn("SO_PEERCRED");
		return;
	}
	if ((peer = calloc(1, sizeof(*peer))) == NULL)
		return;
	peer->hp_principal.pr_known = 1;
	peer->hp_principal.pr_uid = uc.uid;
	peer->hp_principal.pr_gid = uc.gid;
	peer->hp_principal.pr_pid = uc.pid;
	snprintf(peer->hp_principal.pr_via, sizeof(peer->hp_principal.pr_via),
		 "unix");
	/* A jail's socket puts its callers in the jail, whoever they are. */
	memcpy(peer->hp_principal.pr_jail, l->hl_jail,
	       sizeof(peer->hp_principal.pr_jail));
	/* The kernel's view of the peer's groups, not /etc/group's. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
		peer->hp_principal.pr_ngroups = (int)(glen / sizeof(gid_t));
	} else if (errno == ERANGE) {
		/* glen now says how many: read them all, keep the first. */
		gid_t *all = malloc(glen);

		if (all != NULL && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS,
					      all, &glen) == 0) {
			memcpy(groups, all, sizeof(groups));
			peer->hp_principal.pr_ngroups = PRINCIPAL_MAX_GROUPS;
			log_warnx("peer uid %ld has %zu groups; only the first "
				  "%d count",
				  (long)uc.uid, (size_t)glen / sizeof(gid_t),
				  PRINCIPAL_MAX_GROUPS);
		} else {
			peer->hp_principal.pr_ngroups = 0;
			log_warnx("peer uid %ld: its groups could not be read "
				  "(%s); none count",
				  (long)uc.uid, strerror(errno));
		}
		free(all);
	}
	memcpy(peer->hp_principal.pr_groups, groups,
	       (size_t)peer->hp_principal.pr_ngroups * sizeof(gid_t));
	log_debug("peer pid %ld uid %ld gid %ld, %d groups%s%s", (long)uc.pid,
		  (long)uc.uid, (long)uc.gid, peer->hp_principal.pr_ngroups,
		  l->hl_jail[0] != '\0' ? ", jail " : "", l->hl_jail);
	*socket_context = peer;
}

static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warnx("libmicrohttpd: %s", buf);
}

/*
 * Closes a connection accepted once its listener has stopped taking new
 * ones.  This, not MHD_quiesce_daemon, is how a listener stops: with a
 * thread pool in epoll mode, libmicrohttpd 0.9.75's quiesce and a pool
 * thread can both take the listening socket out of the thread's epoll set,
 * and the loser aborts the process ("Failed to remove listen FD from epoll
 * set").  Connections that were open already finish their requests.
 */
static enum MHD_Result
http_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct http_listener *l = cls;

	(void)addr;
	(void)addrlen;
	if (atomic_load(&l->hl_retired) ||
	    (l->hl_srv != NULL && atomic_load(&l->hl_srv->hs_stopping)))
		return MHD_NO;
	return MHD_YES;
}

/*
 * Starts libmicrohttpd on l's socket, as every listener is started.  It is
 * given a duplicate of the socket, which MHD_stop_daemon closes (and a
 * failed start too); the socket itself stays its owner's.
 */
static int
http_listener_start(struct http_server *srv, struct http_listener *l)
{
	int fd;

	if ((fd = fcntl(l->hl_sock->ls_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		log_warn("%s: duplicating the socket", l->hl_sock->ls_name);
		return -1;
	}
	l->hl_mhd = MHD_start_daemon(
	    srv->hs_mhd_flags, 0, http_accept, l, http_access, l,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_THREAD_POOL_SIZE,
	    srv->hs_threads > 1 ? srv->hs_threads : 0,
	    MHD_OPTION_CONNECTION_LIMIT, srv->hs_conn_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, srv->hs_conn_timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, l,
	    MHD_OPTION_NOTIFY_CONNECTION, http_connection, l,
	    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL, MHD_OPTION_END);
	if (l->hl_mhd == NULL) {
		log_warnx("%s: libmicrohttpd did not start",
			  l->hl_sock->ls_name);
		errno = EIO;
		return -1;
	}
	if (l->hl_jail[0] != '\0')
		log_info("listening on %s for jail %s", l->hl_sock->ls_name,
			 l->hl_jail);
	else
		log_info("listening on %s", l->hl_sock->ls_name);
	return 0;
}

int
http_start(struct http_server **out, const struct api_context *ctx,
	   struct auth *auth, struct listen_sock *socks, int nsocks,
	   const struct http_options *opt)
{
	struct http_server *srv;
	int i;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return -1;
	srv->hs_ctx = ctx;
	srv->hs_auth = auth;
	srv->hs_per_connection = opt->ho_per_connection;
	pthread_mutex_init(&srv->hs_streams_lock, NULL);
	if (hangup_start(&srv->hs_hangup) != 0) {
		log_warn("http: hang-up watcher");
		pthread_mutex_destroy(&srv->hs_streams_lock);
		free(srv);
		return -1;
	}
	if ((srv->hs_listeners =
		 calloc((size_t)nsocks, sizeof(*srv->hs_listeners))) == NULL ||
	    workers_create(&srv->hs_workers, opt->ho_workers) != 0) {
		log_warn("http: start");
		http_stop(srv, 0);
		return -1;
	}
	if (opt->ho_per_connection)
		srv->hs_mhd_flags = MHD_USE_THREAD_PER_CONNECTION |
				    MHD_USE_INTERNAL_POLLING_THREAD |
				    MHD_USE_POLL | MHD_USE_ITC;
	else
		/*
		 * epoll for a pool; a single thread with epoll stalls past a
		 * hundred or so connections in libmicrohttpd 0.9.75, poll()
		 * does not (docs/benchmarks.md, 1b).
		 */
		srv->hs_mhd_flags =
		    MHD_USE_INTERNAL_POLLING_THREAD |
		    (opt->ho_threads > 1 ? MHD_USE_AUTO : MHD_USE_POLL) |
		    MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	if (opt->ho_verbose)
		srv->hs_mhd_flags |= MHD_USE_ERROR_LOG;
	srv->hs_threads = opt->ho_per_connection ? 0 : opt->ho_threads;
	srv->hs_conn_limit = opt->ho_conn_limit;
	srv->hs_conn_timeout = opt->ho_conn_timeout;
	/* Before the first listener: its first request may be a jail's PUT. */
	if (opt->ho_jails != NULL) {
		srv->hs_jails = opt->ho_jails;
		http_jails_attach(srv->hs_jails, srv);
	}

	for (i = 0; i < nsocks; i++) {
		struct http_listener *l = &srv->hs_listeners[i];

		l->hl_srv = srv;
		l->hl_sock = &socks[i];
		if (http_listener_start(srv, l) != 0) {
			srv->hs_n = i;
			http_stop(srv, 0);
			return -1;
		}
	}
	srv->hs_n = nsocks;
	*out = srv;
	return 0;
}

/*
 * Ends every streaming response of listener l (NULL: of every listener),
 * because the daemon stops or l's socket goes: each sends its end.
 */
static void
http_end_streams(struct http_server *srv, struct http_listener *l)
{
	struct http_stream *sm;

	for (;;) {
		pthread_mutex_lock(&srv->hs_streams_lock);
		for (sm = srv->hs_streams; sm != NULL; sm = sm->sm_next) {
			if (l != NULL && sm->sm_listener != l)
				continue;
			pthread_mutex_lock(&sm->sm_lock);
			if (!sm->sm_ended)
				break; /* sm_lock stays held */
			pthread_mutex_unlock(&sm->sm_lock);
		}
		if (sm == NULL) {
			pthread_mutex_unlock(&srv->hs_streams_lock);
			return;
		}
		sm->sm_ended = 1;
		if (!sm->sm_suspended) {
			pthread_mutex_unlock(&sm->sm_lock);
			pthread_mutex_unlock(&srv->hs_streams_lock);
			continue;
		}
		sm->sm_suspended = 0;
		pthread_mutex_unlock(&sm->sm_lock);
		/* Still listed, so not freed until we let go of the list. */
		hangup_remove(srv->hs_hangup, sm);
		MHD_resume_connection(sm->sm_conn);
		pthread_mutex_unlock(&srv->hs_streams_lock);
	}
}

/*
 * Takes jail listener l out of service: no new connections, new requests
 * on kept-alive ones get 503, streaming responses end, and the socket
 * file goes now so that its path can be bound again.  The fd stays open
 * until libmicrohttpd is stopped (its threads may still poll it).
 * hj_lock held; l is moved from hj_active to hj_retired.
 */
static void
http_jails_retire_locked(struct http_jails *hj, struct http_listener *l)
{
	struct http_listener **pp;

	for (pp = &hj->hj_active; *pp != NULL; pp = &(*pp)->hl_next)
		if (*pp == l) {
			*pp = l->hl_next;
			break;
		}
	atomic_store(&l->hl_retired, 1); /* http_accept closes new ones */
	if (l->hl_own.ls_path != NULL) {
		if (unlink(l->hl_own.ls_path) != 0 && errno != ENOENT)
			log_warn("jail %s: removing %s", l->hl_jail,
				 l->hl_own.ls_path);
		free(l->hl_own.ls_path);
		l->hl_own.ls_path = NULL;
	}
	if (l->hl_srv != NULL)
		http_end_streams(l->hl_srv, l);
	log_info("stopped listening on %s for jail %s", l->hl_own.ls_name,
		 l->hl_jail);
	l->hl_next = hj->hj_retired;
	hj->hj_retired = l;
}

/*
 * Takes the retired listeners without requests in flight (all of them
 * with force) off hj_retired and returns them, for http_jails_reap to
 * stop once hj_lock is released: stopping libmicrohttpd completes its
 * requests, whose callbacks take hj_lock.  hj_lock held.
 *
 * A request begins by counting itself in hl_inflight and only then looks
 * at hl_retired, which was set before this looks at hl_inflight: so a
 * listener seen idle here can only get requests that answer 503 on the
 * spot, never one that suspends its connection.
 */
static struct http_listener *
http_jails_reap_locked(struct http_jails *hj, int force)
{
	struct http_listener **pp = &hj->hj_retired, *l, *gone = NULL;

	while ((l = *pp) != NULL) {
		if (!force && atomic_load(&l->hl_inflight) > 0) {
			pp = &l->hl_next;
			continue;
		}
		*pp = l->hl_next;
		l->hl_next = gone;
		gone = l;
	}
	return gone;
}

/* Stops and frees the listeners http_jails_reap_locked returned. */
static void
http_jails_reap(struct http_listener *gone)
{
	struct http_listener *l;

	while ((l = gone) != NULL) {
		gone = l->hl_next;
		if (l->hl_mhd != NULL)
			MHD_stop_daemon(l->hl_mhd);
		listen_close(&l->hl_own);
		free(l);
	}
}

static void
http_jails_reap_work(struct work *wk)
{
	struct http_jails *hj =
	    (struct http_jails *)((char *)wk -
				  offsetof(struct http_jails, hj_reap));
	struct http_listener *gone;

	pthread_mutex_lock(&hj->hj_lock);
	hj->hj_reap_queued = 0;
	gone = http_jails_reap_locked(hj, 0);
	pthread_mutex_unlock(&hj->hj_lock);
	http_jails_reap(gone);
}

/*
 * The last request of a retired listener completed: reap it from a
 * worker thread (libmicrohttpd cannot be stopped from its own thread).
 */
static void
http_jails_reap_later(struct http_jails *hj)
{
	if (hj == NULL)
		return;
	pthread_mutex_lock(&hj->hj_lock);
	if (!hj->hj_reap_queued && !hj->hj_reap_off && hj->hj_srv != NULL) {
		hj->hj_reap.wk_fn = http_jails_reap_work;
		if (workers_submit(hj->hj_srv->hs_workers, &hj->hj_reap) == 0)
			hj->hj_reap_queued = 1;
	}
	pthread_mutex_unlock(&hj->hj_lock);
}

/*
 * Puts hj to use for srv (http_start): from now on listeners start at
 * once, and those that waited for a server start now.  One that does not
 * start is logged and dropped; its jail keeps its stored socket, for a
 * PUT to retry.
 */
static void
http_jails_attach(struct http_jails *hj, struct http_server *srv)
{
	struct http_listener *l, *next, *gone;

	pthread_mutex_lock(&hj->hj_lock);
	hj->hj_srv = srv;
	hj->hj_started = 1;
	hj->hj_reap_off = 0;
	for (l = hj->hj_active; l != NULL; l = next) {
		next = l->hl_next;
		if (l->hl_mhd != NULL)
			continue;
		l->hl_srv = srv;
		if (http_listener_start(srv, l) != 0)
			http_jails_retire_locked(hj, l);
	}
	gone = http_jails_reap_locked(hj, 0);
	pthread_mutex_unlock(&hj->hj_lock);
	http_jails_reap(gone);
}

int
http_jails_new(struct http_jails **out)
{
	struct http_jails *hj;

	if ((hj = calloc(1, sizeof(*hj))) == NULL)
		return -1;
	pthread_mutex_init(&hj->hj_lock, NULL);
	*out = hj;
	return 0;
}

void
http_jails_free(struct http_jails *hj)
{
	if (hj == NULL)
		return;
	struct http_listener *gone;

	/* After http_stop, nothing is left; without a server (start-up
	 * failed), listeners may wait for one that never came. */
	pthread_mutex_lock(&hj->hj_lock);
	while (hj->hj_active != NULL) {
		assert(hj->hj_active->hl_mhd == NULL);
		http_jails_retire_locked(hj, hj->hj_active);
	}
	gone = http_jails_reap_locked(hj, 1);
	pthread_mutex_unlock(&hj->hj_lock);
	http_jails_reap(gone);
	pthread_mutex_destroy(&hj->hj_lock);
	free(hj);
}

static struct http_listener *
http_jails_find_locked(struct http_jails *hj, const char *jail)
{
	struct http_listener *l;

	for (l = hj->hj_active; l != NULL; l = l->hl_next)
		if (strcmp(l->hl_jail, jail) == 0)
			return l;
	return NULL;
}

/*
 * Listens on path for jail; see http.h.  The new socket is bound before
 * the old one goes, so a failure leaves the jail as it was.
 */
int
http_jails_listen(void *cls, const char *jail, const char *path)
{
	struct http_jails *hj = cls;
	struct http_listener *l = NULL, *old, *gone;
	char spec[sizeof(l->hl_own.ls_name)];
	int err;

	if (strlen(jail) >= sizeof(l->hl_jail) || jail[0] == '\0' ||
	    path[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&hj->hj_lock);
	if (hj->hj_srv == NULL && hj->hj_started) {
		err = ESHUTDOWN;
		goto fail;
	}
	old = http_jails_find_locked(hj, jail);
	if (old != NULL && old->hl_own.ls_path != NULL &&
	    strcmp(old->hl_own.ls_path, path) == 0) {
		gone = http_jails_reap_locked(hj, 0);
		pthread_mutex_unlock(&hj->hj_lock);
		http_jails_reap(gone);
		return 0;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		err = errno;
		goto fail;
	}
	l->hl_srv = hj->hj_srv;
	l->hl_sock = &l->hl_own;
	l->hl_own.ls_fd = -1;
	snprintf(l->hl_jail, sizeof(l->hl_jail), "%s", jail);
	snprintf(spec, sizeof(spec), "unix:%s", path);
	if (listen_open(spec, &l->hl_own) != 0) {
		err = errno;
		free(l);
		goto fail;
	}
	/* Before http_start, bound only: http_start starts it. */
	if (hj->hj_srv != NULL && http_listener_start(hj->hj_srv, l) != 0) {
		err = errno;
		listen_close(&l->hl_own);
		free(l);
		goto fail;
	}
	if (old != NULL)
		http_jails_retire_locked(hj, old);
	l->hl_next = hj->hj_active;
	hj->hj_active = l;
	gone = http_jails_reap_locked(hj, 0);
	pthread_mutex_unlock(&hj->hj_lock);
	http_jails_reap(gone);
	return 0;
fail:
	pthread_mutex_unlock(&hj->hj_lock);
	errno = err;
	return -1;
}

/*
 * Stops listening for jail; see http.h.
 */
void
http_jails_unlisten(void *cls, const char *jail)
{
	struct http_jails *hj = cls;
	struct http_listener *l, *gone;

	pthread_mutex_lock(&hj->hj_lock);
	if ((l = http_jails_find_locked(hj, jail)) != NULL)
		http_jails_retire_locked(hj, l);
	gone = http_jails_reap_locked(hj, 0);
	pthread_mutex_unlock(&hj->hj_lock);
	http_jails_reap(gone);
}

unsigned long
http_activity(struct http_server *srv, int *inflight)
{
	*inflight = atomic_load(&srv->hs_inflight);
	return atomic_load(&srv->hs_begun);
}

void
http_stop(struct http_server *srv, unsigned timeout_s)
{
	struct http_listener *gone;
	struct http_jails *hj;
	uint64_t deadline;
	int i;

	if (srv == NULL)
		return;
	hj = srv->hs_jails;
	/* New connections are closed (http_accept); open ones finish. */
	atomic_store(&srv->hs_stopping, 1);
	/* The jails' sockets are ours: they go now, and no new ones come. */
	if (hj != NULL) {
		pthread_mutex_lock(&hj->hj_lock);
		hj->hj_srv = NULL;
		while (hj->hj_active != NULL)
			http_jails_retire_locked(hj, hj->hj_active);
		pthread_mutex_unlock(&hj->hj_lock);
	}
	http_end_streams(srv, NULL);
	deadline = timefmt_mono_us() + (uint64_t)timeout_s * 1000000;
	while (atomic_load(&srv->hs_inflight) > 0 &&
	       timefmt_mono_us() < deadline) {
		struct timespec ts = {0, 10 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
	if (atomic_load(&srv->hs_inflight) > 0)
		log_warnx("%d requests still in flight after %us; closing "
			  "their connections",
			  atomic_load(&srv->hs_inflight), timeout_s);
	if (hj != NULL) {
		pthread_mutex_lock(&hj->hj_lock);
		hj->hj_reap_off = 1;
		pthread_mutex_unlock(&hj->hj_lock);
	}
	/* Requests on workers finish (their writes are short) first. */
	workers_destroy(srv->hs_workers);
	for (i = 0; i < srv->hs_n; i++)
		MHD_stop_daemon(srv->hs_listeners[i].hl_mhd);
	if (hj != NULL) {
		pthread_mutex_lock(&hj->hj_lock);
		gone = http_jails_reap_locked(hj, 1);
		pthread_mutex_unlock(&hj->hj_lock);
		http_jails_reap(gone);
	}
	hangup_stop(srv->hs_hangup);
	pthread_mutex_destroy(&srv->hs_streams_lock);
	free(srv->hs_listeners);
	free(srv);
}
