/*
 * The HTTP front's daemons and the life of a request in them: one
 * libmicrohttpd daemon per listening socket, the access handler that
 * collects a request (body, upload spool, principal) and hands it to
 * api_handle() inline or on a worker thread, the response queued, the
 * access-log line at completion.  Streamed responses are stream.c's, the
 * peer credentials peer.c's, the jails' listeners http_jails.c's.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
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

#include "api/metrics.h"
#include "api/problem.h"
#include "base/limits.h"
#include "base/log.h"
#include "base/timefmt.h"
#include "core/auth.h"
#include "server/cors.h"
#include "server/http_internal.h"
#include "server/tls.h"
#include "server/workers.h"

/* Bytes of an oversized chunked body read and dropped before closing. */
#define HTTP_DISCARD_MAX (16 * 1024 * 1024)

/* One request, from the first access-handler call to completion. */
struct http_req {
	struct http_listener *hr_listener;
	struct MHD_Connection *hr_conn;
	uint64_t hr_start_us;
	struct api_request hr_api;
	char *hr_body;
	size_t hr_len, hr_cap;
	int hr_queued;       /* a response is queued */
	int hr_close;        /* close the connection after the response */
	size_t hr_discarded; /* body bytes dropped past the limit */
	int hr_dispatched;   /* handed to api_handle (inline or on a worker) */
	int hr_upload;       /* the route takes a file upload */
	int hr_streaming;    /* the response is an api_stream */
	int hr_preflight;    /* a CORS preflight, answered here */
	int hr_http11;       /* the request is HTTP/1.1 */
	uint64_t hr_limit;   /* bytes the body may have */
	int hr_fd;           /* upload spool file, or -1 */
	int hr_spool_errno;  /* writing the spool file failed */
	char *hr_path;       /* its path (malloc'd: uploads are rare) */
	int hr_status;
	size_t hr_bytes;
	struct peer_conn *hr_pc; /* its connection's (peer.c), or NULL */
	int hr_stream_counted;   /* in its caller's streams */
	uint64_t hr_held;        /* body bytes held (limits_hold) */
	struct api_response hr_resp;
	struct work hr_work;
};

/*
 * What http_uri leaves as a request's context when its target holds
 * "%00": libmicrohttpd decodes it in place, and the path or query value a
 * handler gets would end at the NUL (GET /v1/vms/a1%00xyz read a1).
 */
static char http_nul_target;

/*
 * Sees the request target before libmicrohttpd decodes it; its return
 * value is the request's first context (http_access).
 */
static void *
http_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	return strstr(uri, "%00") != NULL ? &http_nul_target : NULL;
}

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

/*
 * The CORS headers of a response (server/cors.h): for an allowed Origin,
 * that origin and what a browser may read, or what a preflight allows;
 * for another origin, none.  Vary: Origin on every response while any
 * origin is allowed, since the headers depend on it.
 */
static void
http_cors_headers(struct http_req *hr, struct MHD_Response *resp)
{
	const char *origin;
	char methods[64];

	if (!cors_enabled())
		return;
	MHD_add_response_header(resp, "Vary", "Origin");
	origin =
	    MHD_lookup_connection_value(hr->hr_conn, MHD_HEADER_KIND, "Origin");
	if (!cors_allowed(origin))
		return;
	MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
	if (hr->hr_preflight) {
		cors_methods(hr->hr_api.rq_allowed, methods, sizeof(methods));
		MHD_add_response_header(resp, "Access-Control-Allow-Methods",
					methods);
		MHD_add_response_header(resp, "Access-Control-Allow-Headers",
					CORS_ALLOW_HEADERS);
		MHD_add_response_header(resp, "Access-Control-Max-Age",
					CORS_MAX_AGE);
	} else {
		MHD_add_response_header(resp, "Access-Control-Expose-Headers",
					CORS_EXPOSE_HEADERS);
	}
}

/*
 * Whether hr is a CORS preflight this daemon answers: OPTIONS with
 * Access-Control-Request-Method, from an allowed origin, for a path that
 * exists.  It needs no token (a browser sends none with it, Fetch
 * standard section 4.8) and says only what the path's methods are.  A
 * preflight from another origin goes on as any OPTIONS: 401 or 405,
 * without CORS headers, and the browser refuses the call.
 */
static int
http_is_preflight(struct http_req *hr)
{
	const struct api_request *rq = &hr->hr_api;

	return rq->rq_method == 0 && rq->rq_method_name != NULL &&
	       strcmp(rq->rq_method_name, "OPTIONS") == 0 &&
	       rq->rq_allowed != 0 &&
	       MHD_lookup_connection_value(hr->hr_conn, MHD_HEADER_KIND,
					   "Access-Control-Request-Method") !=
		   NULL &&
	       cors_allowed(MHD_lookup_connection_value(
		   hr->hr_conn, MHD_HEADER_KIND, "Origin"));
}

/* The caller of hr for the per-caller counts, and whether it is exempt. */
static const struct limits_key *
http_caller(const struct http_req *hr, int *exempt)
{
	static const struct limits_key none = {.lk_kind = LIMITS_NONE};

	*exempt = hr->hr_pc != NULL && hr->hr_pc->pc_root;
	return hr->hr_pc != NULL ? &hr->hr_pc->pc_key : &none;
}

/*
 * A streamed response takes one of its caller's --streams-per-caller
 * (given back in http_completed); past them, the stream is dropped and
 * the answer is a 503 that says so.
 */
static void
http_stream_admit(struct http_req *hr)
{
	struct api_response *rs = &hr->hr_resp;
	const struct limits_key *k;
	struct limits_conf lc;
	char who[64];
	int exempt;

	k = http_caller(hr, &exempt);
	if (exempt || limits_caller_add(k, LIMITS_STREAMS, 1) == 0) {
		hr->hr_stream_counted = !exempt;
		return;
	}
	limits_get(&lc);
	limits_key_str(k, who, sizeof(who));
	limits_log(API_REFUSED_STREAMS,
		   "%s %s of %s: %u streams open (--streams-per-caller)",
		   hr->hr_api.rq_method_name, hr->hr_api.rq_path, who,
		   lc.lc_streams_per_caller);
	problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
		      "%s has %u streams open (followed consoles, event "
		      "streams, monitor-mode starts), as many as "
		      "--streams-per-caller allows; end one first",
		      who, lc.lc_streams_per_caller);
	api_response_header(rs, "Retry-After", "5");
}

/*
 * A body held for the client until it has read it whole counts against
 * the response budget (limits_hold); past the caller's share or the
 * whole budget, a 503 with Retry-After takes its place, and the log says
 * so.  Given back in http_completed.
 */
static void
http_hold(struct http_req *hr)
{
	struct api_response *rs = &hr->hr_resp;
	const struct limits_key *k;
	struct limits_conf lc;
	size_t n = rs->rs_body_len;
	char who[64];
	int exempt, rc;

	k = http_caller(hr, &exempt);
	if ((rc = limits_hold(k, exempt, n)) == 0) {
		hr->hr_held = n;
		return;
	}
	limits_get(&lc);
	limits_key_str(k, who, sizeof(who));
	limits_log(rc == -1 ? API_REFUSED_CALLER_BYTES : API_REFUSED_BUDGET,
		   "%s %s of %s: a %zu-byte body, %llu bytes held in all "
		   "(--response-budget-mib)",
		   hr->hr_api.rq_method_name, hr->hr_api.rq_path, who, n,
		   (unsigned long long)limits_held());
	if (rc == -1)
		problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
			      "the answer is %zu bytes: with the answers %s "
			      "has not read yet, more than its share of "
			      "--response-budget-mib allows (a quarter of "
			      "%llu MiB); read those first, or ask for less "
			      "(?limit=)",
			      n, who, (unsigned long long)(lc.lc_budget >> 20));
	else
		problem_raise(rs, PROBLEM_UNAVAILABLE, NULL,
			      "the answer is %zu bytes, and the daemon holds "
			      "as many bytes of answers its clients have not "
			      "read yet as --response-budget-mib (%llu MiB) "
			      "allows; try again later, or ask for less "
			      "(?limit=)",
			      n, (unsigned long long)(lc.lc_budget >> 20));
	api_response_header(rs, "Retry-After", "1");
	/* The problem itself is small: always admitted. */
	(void)limits_hold(k, exempt, rs->rs_body_len);
	hr->hr_held = rs->rs_body_len;
}

/* Sets *(int *)cls when a Connection line has the token "close". */
static enum MHD_Result
http_close_line(void *cls, enum MHD_ValueKind kind, const char *key,
		const char *value)
{
	const char *p = value;
	size_t n;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONNECTION) != 0)
		return MHD_YES;
	while (*(p += strspn(p, " \t,")) != '\0') {
		n = strcspn(p, " \t,");
		if (n == 5 && strncasecmp(p, "close", 5) == 0) {
			*(int *)cls = 1;
			return MHD_NO;
		}
		p += n;
	}
	return MHD_YES;
}

/*
 * Whether libmicrohttpd will chunk hr's body of unknown length (HTTP/1.1
 * kept alive) rather than send it as is until the connection closes.
 * Asked of streamed answers only: it reads the request's headers.
 */
static int
http_chunked(const struct http_req *hr)
{
	int close = 0;

	if (!hr->hr_http11)
		return 0;
	MHD_get_connection_values(hr->hr_conn, MHD_HEADER_KIND, http_close_line,
				  &close);
	return !close;
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
	if (rs->rs_stream != NULL)
		http_stream_admit(hr);
	else if (rs->rs_body != NULL)
		http_hold(hr);
	hr->hr_streaming = rs->rs_stream != NULL;
	if (rs->rs_stream != NULL) {
		resp = stream_response(hr->hr_listener, hr->hr_conn, rs,
				       http_chunked(hr));
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
	http_cors_headers(hr, resp);
	if (hr->hr_close ||
	    atomic_load(&hr->hr_listener->hl_srv->hs_stopping) ||
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

/*
 * Queues a problem of kind with detail and closes the connection after it:
 * for a request whose framing or target cannot be trusted, nothing after
 * it on the connection can be either.
 */
static enum MHD_Result
http_fail_close(struct http_req *hr, enum problem_kind kind, const char *detail)
{
	hr->hr_close = 1;
	return http_fail(hr, kind, detail);
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
	const char *authz, *qtok = NULL;
	char bearer[256];
	int i;

	memset(pr, 0, sizeof(*pr));
	if (hr->hr_listener->hl_sock->ls_unix) {
		(void)peer_principal(hr->hr_conn, pr);
		return;
	}
	authz = MHD_lookup_connection_value(hr->hr_conn, MHD_HEADER_KIND,
					    MHD_HTTP_HEADER_AUTHORIZATION);
	/*
	 * A browser's EventSource cannot send Authorization: the event
	 * stream alone takes the token from its query.  The access log
	 * writes the path without the query, and GETs are not audited.
	 */
	for (i = 0; authz == NULL && api_route_query_token(&hr->hr_api) &&
		    i < hr->hr_api.rq_nquery;
	     i++)
		if (strcmp(hr->hr_api.rq_query[i].kv_key, "access_token") == 0)
			qtok = hr->hr_api.rq_query[i].kv_value;
	if (qtok != NULL && strlen(qtok) < sizeof(bearer) - 8) {
		snprintf(bearer, sizeof(bearer), "Bearer %s", qtok);
		authz = bearer;
	}
	auth_check(srv->hs_auth, authz, pr);
	explicit_bzero(bearer, sizeof(bearer));
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
	if (http_is_preflight(hr)) {
		hr->hr_preflight = 1;
		hr->hr_resp.rs_status = 204;
		return http_queue(hr);
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

/* What http_framing_bad counts among a request's header lines. */
struct http_framing {
	int hf_length;     /* Content-Length lines */
	int hf_te;         /* Transfer-Encoding lines */
	int hf_host;       /* Host lines */
	int hf_name_space; /* a name with whitespace in it */
	const char *hf_te_value;
};

static enum MHD_Result
http_framing_line(void *cls, enum MHD_ValueKind kind, const char *key,
		  const char *value)
{
	struct http_framing *hf = cls;

	(void)kind;
	/* libmicrohttpd keeps "Name :" as "Name " (and does not read it as
	 * Name), one entry per line, duplicates included. */
	if (key[strcspn(key, " \t")] != '\0')
		hf->hf_name_space = 1;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
		hf->hf_length++;
	else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		hf->hf_te++;
		hf->hf_te_value = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
		hf->hf_host++;
	return MHD_YES;
}

/*
 * Whether value is "chunked" alone, as libmicrohttpd reads it (any case):
 * anything else, even with a blank after it, it would not read as chunked
 * but as a body of unknown length.
 */
static int
http_te_is_chunked(const char *value)
{
	return value != NULL && strcasecmp(value, "chunked") == 0;
}

/*
 * Why the request's framing cannot be trusted, after RFC 9112, or NULL.
 * Checked on the first call, before any body byte is read as a body: a
 * request whose length two parties could read two ways is how a second,
 * smuggled request hides in the first one's body.  libmicrohttpd 0.9.75
 * takes the first of two Content-Lengths, prefers chunked to a
 * Content-Length and keeps the connection, reads "Transfer-Encoding :"
 * as another header, accepts HTTP/1.1 without Host, and waits for the
 * end of a body in an unknown coding until the connection times out.
 * What it refuses itself (a Content-Length that is not a number, a
 * malformed chunk) it answers with its own 400 and closes.
 */
static const char *
http_framing_bad(struct MHD_Connection *conn, const char *version)
{
	struct http_framing hf = {0};

	MHD_get_connection_values(conn, MHD_HEADER_KIND, http_framing_line,
				  &hf);
	if (hf.hf_name_space)
		return "a header name has whitespace before its colon (RFC "
		       "9112 section 5.1)";
	if (hf.hf_length > 1)
		return "more than one Content-Length header (RFC 9112 section "
		       "6.3)";
	if (hf.hf_te > 0 && hf.hf_length > 0)
		return "both Transfer-Encoding and Content-Length (RFC 9112 "
		       "section 6.3)";
	if (hf.hf_te > 0 && strcmp(version, MHD_HTTP_VERSION_1_1) != 0)
		return "Transfer-Encoding in a request older than HTTP/1.1 "
		       "(RFC 9112 section 6.1)";
	if (hf.hf_te > 1 ||
	    (hf.hf_te == 1 && !http_te_is_chunked(hf.hf_te_value)))
		return "a transfer coding other than chunked alone; this "
		       "daemon reads no other (RFC 9112 sections 6.1, 6.3)";
	if (strcmp(version, MHD_HTTP_VERSION_1_1) == 0 && hf.hf_host != 1)
		return hf.hf_host == 0 ? "an HTTP/1.1 request without Host "
					 "(RFC 9112 section 3.2)"
				       : "more than one Host header (RFC 9112 "
					 "section 3.2)";
	return NULL;
}

/*
 * Whether hr carries credentials (an Authorization header) on plain TCP
 * to a local address other than loopback: they crossed the network in
 * clear text, and are refused (with the reason in detail) rather than
 * used, unless the operator passed --allow-plain-tcp.  The local
 * address, not the peer's: it says which network the request came in
 * from, and a listener on 0.0.0.0 has both kinds.
 */
static int
http_plain_refused(struct http_req *hr, char *detail, size_t len)
{
	const struct listen_sock *ls = hr->hr_listener->hl_sock;
	const union MHD_ConnectionInfo *ci;
	char addr[INET6_ADDRSTRLEN] = "(unknown)";

	if (ls->ls_unix || ls->ls_tls ||
	    hr->hr_listener->hl_srv->hs_allow_plain_tcp ||
	    MHD_lookup_connection_value(hr->hr_conn, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION) == NULL)
		return 0;
	ci = MHD_get_connection_info(hr->hr_conn,
				     MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL &&
	    tls_local_is_loopback(ci->connect_fd, addr, sizeof(addr)))
		return 0;
	snprintf(detail, len,
		 "this connection is plain HTTP to %s, which is not a "
		 "loopback address: the token crossed the network in clear "
		 "text and is refused; call the daemon's tls: listener "
		 "(https://) instead, or have its operator pass "
		 "--allow-plain-tcp, and treat the token as exposed (replace "
		 "it)",
		 addr);
	return 1;
}

/*
 * The path of a request target: itself in origin form ("/v1/vms"), the
 * part after the authority in absolute form ("http://host/v1/vms",
 * which RFC 9112, 3.2.2, says a server must accept; "/" when nothing
 * follows the authority).  The query is libmicrohttpd's already.
 */
static const char *
http_origin_form(const char *url)
{
	size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
			: strncasecmp(url, "https://", 8) == 0 ? 8
							       : 0;
	const char *path;

	if (scheme == 0)
		return url;
	path = url + scheme + strcspn(url + scheme, "/?#");
	return *path == '/' ? path : "/";
}

/* The first call: set up, and refuse what can be refused unread. */
static enum MHD_Result
http_begin(struct http_listener *l, struct MHD_Connection *conn,
	   const char *url, const char *method, const char *version,
	   int nul_target, void **con_cls)
{
	const struct api_context *ctx = l->hl_srv->hs_ctx;
	struct http_req *hr;
	enum api_method m = api_method_parse(method);
	const char *cl, *bad;
	char why[384];
	struct peer_conn *pc = peer_conn(conn);

	/* Refused at accept (peer.c): its socket is shut down already. */
	if (pc != NULL && pc->pc_refused)
		return MHD_NO;
	if ((hr = calloc(1, sizeof(*hr))) == NULL)
		return MHD_NO;
	hr->hr_listener = l;
	hr->hr_conn = conn;
	hr->hr_pc = pc;
	/* The headers came whole: the deadline stops till the response. */
	if (pc != NULL)
		limits_busy(&pc->pc_watch, 1);
	hr->hr_start_us = timefmt_mono_us();
	hr->hr_fd = -1;
	hr->hr_api.rq_body_fd = -1;
	/* Known now, so that early answers are logged in full. */
	hr->hr_api.rq_method_name = method;
	hr->hr_api.rq_method = m;
	hr->hr_api.rq_path = http_origin_form(url);
	api_route_resolve(&hr->hr_api);
	*con_cls = hr;
	atomic_fetch_add(&l->hl_srv->hs_inflight, 1);
	atomic_fetch_add(&l->hl_srv->hs_begun, 1);
	/* Counted before the check: see http_jails_unlock_reap. */
	atomic_fetch_add(&l->hl_inflight, 1);
	/* Before anything else: nothing about the request is sure. */
	if ((bad = http_framing_bad(conn, version)) != NULL)
		return http_fail_close(hr, PROBLEM_MALFORMED_REQUEST, bad);
	hr->hr_http11 = strcmp(version, MHD_HTTP_VERSION_1_1) == 0;
	if (atomic_load(&l->hl_retired))
		return http_fail(hr, PROBLEM_UNAVAILABLE,
				 "this jail's socket has been removed");
	if (pc != NULL && pc->pc_reserve) {
		/* One request on a reserve connection, then its slot is
		 * free again (peer.c). */
		hr->hr_close = 1;
		if ((m != API_GET && m != API_HEAD) ||
		    strcmp(url, "/v1/health") != 0) {
			char who[64];

			limits_key_str(&pc->pc_key, who, sizeof(who));
			limits_log(API_REFUSED_RESERVE,
				   "%s %s of %s on %s: only GET /v1/health "
				   "past --connection-limit",
				   method, url, who, l->hl_sock->ls_name);
			snprintf(why, sizeof(why),
				 "all %u connections of this listener are "
				 "taken (--connection-limit); a connection "
				 "past them may only ask GET /v1/health; try "
				 "again later",
				 l->hl_srv->hs_conn_limit);
			problem_raise(&hr->hr_resp, PROBLEM_UNAVAILABLE, NULL,
				      "%s", why);
			api_response_header(&hr->hr_resp, "Retry-After", "5");
			return http_queue(hr);
		}
	}
	if (strlen(url) > LIMIT_URL_LEN)
		return http_fail(hr, PROBLEM_URI_TOO_LONG,
				 "the request path is longer than 2048 bytes");
	if (nul_target) {
		/* Before any route: a path or a value cut at the NUL would
		 * name something else than was sent. */
		return http_fail_close(hr, PROBLEM_MALFORMED_REQUEST,
				       "the request target decodes to a NUL "
				       "byte (%00), which no path or query "
				       "value may hold");
	}
	if (http_plain_refused(hr, why, sizeof(why))) {
		/* Closed after: the client sends its token with every
		 * request, and each would be refused the same way. */
		problem_raise(&hr->hr_resp, PROBLEM_UNAUTHORIZED, NULL, "%s",
			      why);
		api_response_header(&hr->hr_resp, "WWW-Authenticate",
				    "Bearer realm=\"vmmapid\"");
		hr->hr_close = 1;
		return http_queue(hr);
	}
	hr->hr_upload = api_route_uploads(&hr->hr_api);
	hr->hr_limit = hr->hr_upload ? ctx->ac_upload_max
				     : api_route_body_max(&hr->hr_api);
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
		/* Nobody uploads megabytes only to hear 401 or 403 at the
		 * end, nor fills the disk with what will be refused. */
		http_principal(hr);
		if (!hr->hr_api.rq_principal.pr_known ||
		    !api_route_permits(ctx, &hr->hr_api))
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

	if (hr == NULL || (void *)hr == &http_nul_target)
		return http_begin(cls, conn, url, method, version, hr != NULL,
				  con_cls);
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

/*
 * What hr held of its caller's limits goes back, and its connection waits
 * for the next request's headers, under the header deadline again.
 */
static void
http_release(struct http_req *hr)
{
	const struct limits_key *k;
	int exempt;

	k = http_caller(hr, &exempt);
	if (hr->hr_stream_counted)
		limits_caller_del(k, LIMITS_STREAMS, 1);
	if (hr->hr_held > 0)
		limits_release(k, exempt, hr->hr_held);
	if (hr->hr_pc != NULL && !hr->hr_pc->pc_refused)
		limits_busy(&hr->hr_pc->pc_watch, 0);
}

static void
http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	       enum MHD_RequestTerminationCode toe)
{
	struct http_listener *l = cls;
	struct http_req *hr = *con_cls;
	const struct principal *pr;
	const char *how = "";
	uint64_t us;

	if (hr == NULL || (void *)hr == &http_nul_target)
		return;
	*con_cls = NULL;
	us = timefmt_mono_us() - hr->hr_start_us;
	pr = &hr->hr_api.rq_principal;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
		how = toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ||
			      toe == MHD_REQUEST_TERMINATED_READ_ERROR ||
			      toe == MHD_REQUEST_TERMINATED_WITH_ERROR
			  ? " (client went away)"
			  : " (not completed)";
	log_access("access: %s uid=%ld %s %s %d %zu %lluus%s",
		   l->hl_sock->ls_unix  ? "unix"
		   : l->hl_sock->ls_tls ? "tls"
					: "tcp",
		   pr->pr_known ? (long)pr->pr_uid : -1L,
		   hr->hr_api.rq_method_name != NULL ? hr->hr_api.rq_method_name
						     : "-",
		   hr->hr_api.rq_path != NULL ? hr->hr_api.rq_path : "-",
		   hr->hr_status, hr->hr_bytes, (unsigned long long)us, how);
	api_metrics_request(&hr->hr_api, hr->hr_status, us);
	http_release(hr);
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

/* libmicrohttpd's flags for l: the server's, and TLS on a tls: socket. */
static unsigned
http_flags(const struct http_server *srv, const struct http_listener *l)
{
	return srv->hs_mhd_flags | (l->hl_sock->ls_tls ? MHD_USE_TLS : 0);
}

/* The options only a tls: listener has (server/tls.c), or none. */
static const struct MHD_OptionItem *
http_tls_options(const struct http_listener *l)
{
	static const struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};

	return l->hl_sock->ls_tls ? tls_mhd_options() : none;
}

/*
 * Starts libmicrohttpd on l's socket, as every listener is started.  It is
 * given a duplicate of the socket, which MHD_stop_daemon closes (and a
 * failed start too); the socket itself stays its owner's.
 */
int
http_listener_start(struct http_server *srv, struct http_listener *l)
{
	int fd;

	if ((fd = fcntl(l->hl_sock->ls_fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		log_warn("%s: duplicating the socket", l->hl_sock->ls_name);
		return -1;
	}
	l->hl_mhd = MHD_start_daemon(
	    http_flags(srv, l), 0, http_accept, l, http_access, l,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_THREAD_POOL_SIZE,
	    srv->hs_threads > 1 ? srv->hs_threads : 0,
	    MHD_OPTION_CONNECTION_LIMIT,
	    srv->hs_conn_limit + srv->hs_reserve + HTTP_REFUSING,
	    MHD_OPTION_CONNECTION_TIMEOUT, srv->hs_conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LIMIT_CONNECTION_MEMORY,
	    MHD_OPTION_NOTIFY_COMPLETED, http_completed, l,
	    MHD_OPTION_NOTIFY_CONNECTION, peer_notify, l,
	    MHD_OPTION_URI_LOG_CALLBACK, http_uri, NULL, MHD_OPTION_ARRAY,
	    http_tls_options(l), MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
	    MHD_OPTION_END);
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
	if (stream_start(srv) != 0) {
		log_warn("http: hang-up watcher");
		free(srv);
		return -1;
	}
	if (limits_start() != 0) {
		log_warn("http: header deadline watcher");
		stream_stop(srv);
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
	srv->hs_reserve = opt->ho_conn_reserve;
	srv->hs_conn_timeout = opt->ho_conn_timeout;
	srv->hs_allow_plain_tcp = opt->ho_allow_plain_tcp;
	/* Before the first listener: its first request may be a jail's PUT. */
	srv->hs_jails = opt->ho_jails;
	http_jails_attach(srv->hs_jails, srv);

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

unsigned long
http_activity(struct http_server *srv, int *inflight)
{
	*inflight = atomic_load(&srv->hs_inflight);
	return atomic_load(&srv->hs_begun);
}

void
http_stop(struct http_server *srv, unsigned timeout_s)
{
	uint64_t deadline;
	int i;

	if (srv == NULL)
		return;
	/* New connections are closed (http_accept); open ones finish. */
	atomic_store(&srv->hs_stopping, 1);
	/* The jails' sockets are ours: they go now, and no new ones come. */
	http_jails_stopping(srv->hs_jails, HTTP_JAILS_DETACH);
	stream_end(srv, NULL);
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
	http_jails_stopping(srv->hs_jails, HTTP_JAILS_NO_REAPING);
	/* Requests on workers finish (their writes are short) first. */
	workers_destroy(srv->hs_workers);
	for (i = 0; i < srv->hs_n; i++)
		MHD_stop_daemon(srv->hs_listeners[i].hl_mhd);
	http_jails_stopping(srv->hs_jails, HTTP_JAILS_REAP_ALL);
	limits_stop();
	stream_stop(srv);
	free(srv->hs_listeners);
	free(srv);
}
