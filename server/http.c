#include "server/http.h"

#include <errno.h>
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
	if (rs->rs_body != NULL) {
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
	if (rs->rs_content_type != NULL && rs->rs_body_len > 0)
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

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *conn, const char *url,
	    const char *method, const char *version, const char *upload_data,
	    size_t *upload_data_size, void **con_cls)
{
	struct http_listener *l = cls;
	struct http_req *hr = *con_cls;
	const char *cl;

	if (hr == NULL) {
		if ((hr = calloc(1, sizeof(*hr))) == NULL)
			return MHD_NO;
		hr->hr_listener = l;
		hr->hr_conn = conn;
		hr->hr_start_us = timefmt_mono_us();
		*con_cls = hr;
		atomic_fetch_add(&l->hl_srv->hs_inflight, 1);
		if (strlen(url) > LIMIT_URL_LEN)
			return http_fail(hr, 414, "uri-too-long",
					 "URI too long",
					 "the request path is longer than "
					 "2048 bytes");
		/* Refuse an announced oversized body before it is sent. */
		cl = MHD_lookup_connection_value(
		    conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL && strtoull(cl, NULL, 10) > LIMIT_BODY_BYTES)
			return http_fail(hr, 413, "body-too-large",
					 "Body too large",
					 "request bodies are limited to 65536 "
					 "bytes");
		return MHD_YES;
	}
	if (hr->hr_queued) {
		*upload_data_size = 0; /* drain what follows an early answer */
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (hr->hr_discarded > 0 || hr->hr_len + n > LIMIT_BODY_BYTES) {
			/*
			 * A body without Content-Length (chunked) that grows
			 * past the limit: libmicrohttpd 0.9.75 drops a
			 * response queued in the middle of such an upload, so
			 * read and drop the rest and answer 413 at its end; a
			 * body that goes on for ever is cut off.
			 */
			hr->hr_discarded += n;
			return hr->hr_discarded > HTTP_DISCARD_MAX ? MHD_NO
								   : MHD_YES;
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
		memcpy(hr->hr_body + hr->hr_len, upload_data, n);
		hr->hr_len += n;
		return MHD_YES;
	}
	if (hr->hr_discarded > 0)
		return http_fail(hr, 413, "body-too-large", "Body too large",
				 "request bodies are limited to 65536 bytes");
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
	free(srv->hs_listeners);
	free(srv);
}
