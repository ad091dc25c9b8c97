#include "server/http.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/limits.h"
#include "api/problem.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "server/auth.h"
#include "server/hangup.h"
#include "server/workers.h"

/* Bytes of an oversized chunked body read and dropped before closing. */
#define HTTP_DISCARD_MAX (16 * 1024 * 1024)

struct http_listener {
	struct http_server *hl_srv;
	struct listen_sock *hl_sock;
	struct MHD_Daemon *hl_mhd;
};

struct http_server {
	const struct api_context *hs_ctx;
	struct auth *hs_auth;
	struct workers *hs_workers;
	struct http_listener *hs_listeners;
	int hs_n;
	int hs_per_connection;
	atomic_int hs_inflight; /* requests begun and not completed */
	atomic_int hs_stopping; /* answer with Connection: close */
	struct hangup *hs_hangup;
	pthread_mutex_t hs_streams_lock; /* guards hs_streams */
	struct http_stream *hs_streams;  /* streaming responses under way */
};

/*
 * A streaming response.  While st_read has nothing, the connection is
 * suspended; the stream's watch (new data) or a hang-up of the client
 * resumes it, whichever comes first.
 */
struct http_stream {
	struct http_server *sm_srv;
	struct MHD_Connection *sm_conn;
	struct api_stream *sm_api; /* owned */
	int sm_fd;
	pthread_mutex_t sm_lock; /* guards sm_suspended, sm_ended */
	int sm_suspended;
	int sm_ended; /* the client left or the daemon stops */
	struct http_stream *sm_next, *sm_prev;
};

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
	char hr_path[4096];  /* its path */
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
		problem_set(rs, 500, "internal", "Internal error", NULL,
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
	if (rs->rs_content_type != NULL &&
	    (rs->rs_body_len > 0 || hr->hr_streaming))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					rs->rs_content_type);
	for (i = 0; i < rs->rs_nheaders; i++)
		MHD_add_response_header(resp, rs->rs_headers[i].h_name,
					rs->rs_headers[i].h_value);
	if (atomic_load(&hr->hr_listener->hl_srv->hs_stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	hr->hr_status = rs->rs_status;
	hr->hr_bytes = rs->rs_body_len;
	ret = MHD_queue_response(hr->hr_conn, (unsigned)rs->rs_status, resp);
	MHD_destroy_response(resp);
	hr->hr_queued = 1;
	return ret;
}

/* Queues a problem response built from status, detail. */
static enum MHD_Result
http_fail(struct http_req *hr, int status, const char *slug, const char *title,
	  const char *detail)
{
	problem_set(&hr->hr_resp, status, slug, title, NULL, "%s", detail);
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

static enum MHD_Result
http_dispatch(struct http_req *hr, const char *url, const char *method)
{
	struct http_server *srv = hr->hr_listener->hl_srv;
	struct api_request *rq = &hr->hr_api;

	hr->hr_dispatched = 1;
	rq->rq_method = api_method_parse(method);
	rq->rq_method_name = method;
	rq->rq_path = url;
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

	if (!srv->hs_per_connection &&
	    api_route_blocks(rq->rq_method, rq->rq_path)) {
		MHD_suspend_connection(hr->hr_conn);
		hr->hr_work.wk_fn = http_work;
		if (workers_submit(srv->hs_workers, &hr->hr_work) == 0)
			return MHD_YES;
		MHD_resume_connection(hr->hr_conn);
		return http_fail(hr, 503, "unavailable", "Service unavailable",
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
	return http_fail(hr, 413, "body-too-large", "Body too large", detail);
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
	hr->hr_api.rq_path = url;
	*con_cls = hr;
	atomic_fetch_add(&l->hl_srv->hs_inflight, 1);
	if (strlen(url) > LIMIT_URL_LEN)
		return http_fail(hr, 414, "uri-too-long", "URI too long",
				 "the request path is longer than 2048 bytes");
	hr->hr_upload = api_route_uploads(m, url);
	hr->hr_limit = hr->hr_upload ? ctx->ac_upload_max : LIMIT_BODY_BYTES;
	/* Refuse an announced oversized body before it is sent. */
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && strtoull(cl, NULL, 10) > hr->hr_limit)
		return http_too_large(hr);
	if (hr->hr_upload && !api_route_public(m, url)) {
		/* Nobody uploads megabytes only to hear 401 at the end. */
		http_principal(hr);
		if (!hr->hr_api.rq_principal.pr_known)
			return http_dispatch(hr, url, method);
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
		snprintf(hr->hr_path, sizeof(hr->hr_path), "%s/.upload-XXXXXX",
			 ctx->ac_spool_dir);
		hr->hr_fd = mkostemp(hr->hr_path, O_CLOEXEC);
		if (hr->hr_fd < 0) {
			hr->hr_spool_errno = errno;
			log_warn("upload spool %s", hr->hr_path);
			hr->hr_path[0] = '\0';
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
		problem_from_errno(&hr->hr_resp, hr->hr_spool_errno,
				   "storing the upload failed: %s",
				   strerror(hr->hr_spool_errno));
		return http_queue(hr);
	}
	if (!hr->hr_dispatched)
		return http_dispatch(hr, url, method);
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
		how = toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT
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
	free(hr);
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
	/* The kernel's view of the peer's groups, not /etc/group's. */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
		peer->hp_principal.pr_ngroups = (int)(glen / sizeof(gid_t));
	} else if (errno == ERANGE) {
		log_warnx("peer uid %ld has more than %d groups; only the "
			  "first %d count",
			  (long)uc.uid, PRINCIPAL_MAX_GROUPS,
			  PRINCIPAL_MAX_GROUPS);
		glen = sizeof(groups);
		peer->hp_principal.pr_ngroups = 0;
	}
	memcpy(peer->hp_principal.pr_groups, groups,
	       (size_t)peer->hp_principal.pr_ngroups * sizeof(gid_t));
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

int
http_start(struct http_server **out, const struct api_context *ctx,
	   struct auth *auth, struct listen_sock *socks, int nsocks,
	   const struct http_options *opt)
{
	struct http_server *srv;
	unsigned flags;
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
		flags = MHD_USE_THREAD_PER_CONNECTION |
			MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			MHD_USE_ITC;
	else
		flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO |
			MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	if (opt->ho_verbose)
		flags |= MHD_USE_ERROR_LOG;

	for (i = 0; i < nsocks; i++) {
		struct http_listener *l = &srv->hs_listeners[i];
		unsigned threads = opt->ho_per_connection ? 0 : opt->ho_threads;

		l->hl_srv = srv;
		l->hl_sock = &socks[i];
		l->hl_mhd = MHD_start_daemon(
		    flags, 0, NULL, NULL, http_access, l,
		    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)socks[i].ls_fd,
		    MHD_OPTION_THREAD_POOL_SIZE, threads > 1 ? threads : 0,
		    MHD_OPTION_CONNECTION_LIMIT, opt->ho_conn_limit,
		    MHD_OPTION_CONNECTION_TIMEOUT, opt->ho_conn_timeout,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, l,
		    MHD_OPTION_NOTIFY_CONNECTION, http_connection, l,
		    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
		    MHD_OPTION_END);
		if (l->hl_mhd == NULL) {
			log_warnx("%s: libmicrohttpd did not start",
				  socks[i].ls_name);
			srv->hs_n = i;
			http_stop(srv, 0);
			return -1;
		}
		log_info("listening on %s", socks[i].ls_name);
	}
	srv->hs_n = nsocks;
	*out = srv;
	return 0;
}

/* Ends every streaming response (the daemon stops): each sends its end. */
static void
http_end_streams(struct http_server *srv)
{
	struct http_stream *sm;

	for (;;) {
		pthread_mutex_lock(&srv->hs_streams_lock);
		for (sm = srv->hs_streams; sm != NULL; sm = sm->sm_next) {
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

void
http_stop(struct http_server *srv, unsigned timeout_s)
{
	uint64_t deadline;
	int i;

	if (srv == NULL)
		return;
	atomic_store(&srv->hs_stopping, 1);
	/* Stop accepting; the listening sockets stay the caller's. */
	for (i = 0; i < srv->hs_n; i++)
		MHD_quiesce_daemon(srv->hs_listeners[i].hl_mhd);
	http_end_streams(srv);
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
	/* Requests on workers finish (their writes are short) first. */
	workers_destroy(srv->hs_workers);
	for (i = 0; i < srv->hs_n; i++)
		MHD_stop_daemon(srv->hs_listeners[i].hl_mhd);
	hangup_stop(srv->hs_hangup);
	pthread_mutex_destroy(&srv->hs_streams_lock);
	free(srv->hs_listeners);
	free(srv);
}
