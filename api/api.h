/*
 * The boundary between server/ (libmicrohttpd) and api/ (resources).
 *
 * server/ turns each HTTP request into a struct api_request, calls
 * api_handle() once the whole body is in, and sends the struct api_response
 * it gets back.  Nothing here names libmicrohttpd: api/ sees only these
 * types.
 */
#ifndef VMMAPID_API_API_H
#define VMMAPID_API_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/principal.h"

enum api_method {
	API_GET = 1 << 0,
	API_HEAD = 1 << 1,
	API_POST = 1 << 2,
	API_PUT = 1 << 3,
	API_PATCH = 1 << 4,
	API_DELETE = 1 << 5,
};

struct api_kv {
	const char *kv_key;
	const char *kv_value;
};

#define API_MAX_QUERY 32

struct route; /* an entry of api/router.c's table */

struct api_request {
	enum api_method rq_method;
	const char *rq_method_name;
	const char *rq_path; /* decoded path, no query */
	/* Query arguments in the order given; a key may repeat. */
	struct api_kv rq_query[API_MAX_QUERY];
	int rq_nquery;
	int rq_query_overflow; /* more than API_MAX_QUERY arguments */
	/* Request headers, looked up through server/. */
	const char *(*rq_header)(void *cls, const char *name);
	void *rq_header_cls;
	const char *rq_body; /* NUL-terminated copy of the body, or NULL */
	size_t rq_body_len;
	/*
	 * Upload routes (api_route_uploads): the body spooled to a file in
	 * ac_spool_dir, open for reading at offset 0; -1 / NULL otherwise.
	 * The handler may rename the file away; server/ closes the fd and
	 * removes whatever is left at rq_body_path.
	 */
	int rq_body_fd;
	const char *rq_body_path;
	struct principal rq_principal;
	/*
	 * The route of (rq_method, rq_path), found once by api_route_resolve
	 * (rq_routed): libmicrohttpd calls the access handler several times
	 * per request, and each look at the table scanned all of it.
	 * rq_route is NULL when no route answers the method; rq_allowed has
	 * the methods the path answers.  Unresolved, every look scans.
	 */
	const struct route *rq_route;
	unsigned rq_allowed;
	int rq_routed;
};

/*
 * A response body produced over time (a console followed with ?follow=1).
 * server/ calls st_read whenever it can send; when st_read has nothing
 * yet, it parks the connection and calls st_watch, whose wake(arg) brings
 * the connection back.  st_free is called once, when the response is over
 * (the end was sent, the client went away, or the daemon stops); it must
 * cancel a pending watch before returning.
 */
struct api_stream {
	/* > 0: bytes copied into buf; 0: nothing yet; -1: the end. */
	ssize_t (*st_read)(void *cls, char *buf, size_t max);
	/* Calls wake(arg) once when st_read may have more or the end;
	 * returns 1 instead when that is already so, -1 on error. */
	int (*st_watch)(void *cls, void (*wake)(void *), void *arg);
	void (*st_free)(void *cls);
	void *st_cls;
	/* Bytes server/ asks st_read for at a time when the body is not
	 * chunked (HTTP/1.0, or Connection: close; 0: its default, 16 KiB):
	 * such a stream holds a buffer of that size while it lasts.  A
	 * chunked body is read into the connection's own buffer. */
	size_t st_block;
};

#define API_MAX_HEADERS 6

/*
 * A response: a status, a body the response owns (malloc'd, freed by
 * server/ after sending), its type, and a few extra headers whose values
 * the response owns too.
 */
struct api_response {
	int rs_status;
	char *rs_body;
	size_t rs_body_len;
	const char *rs_content_type; /* static string */
	struct {
		const char *h_name; /* static string */
		char *h_value;      /* owned */
	} rs_headers[API_MAX_HEADERS];
	int rs_nheaders;
	struct api_stream *rs_stream; /* owned; with it, rs_body is unused */
};

struct vmreg;
struct db;
struct vmm_ops;
struct images;
struct vmrun;
struct policy;
struct jails;
struct auth;
struct pptdevs;
struct vm_guard;
struct events;

/* What handlers need from the daemon; set once at start-up. */
struct api_context {
	struct vmreg *ac_vmreg;
	struct db *ac_db;
	const char *ac_driver;        /* name of the backend in use */
	const char *ac_driver_reason; /* why it was chosen */
	const struct vmm_ops *ac_ops; /* the backend */
	unsigned ac_max_vcpus;        /* hw.vmm.maxcpu's counterpart */
	uint64_t ac_max_memory_mib;
	const char *ac_spool_dir; /* uploads are spooled here */
	const char *ac_state_dir; /* --state-dir: backups go here */
	uint64_t ac_upload_max;   /* bytes an upload may have */
	/* Free bytes creates and uploads leave (--disk-reserve-mib); 0: off */
	uint64_t ac_disk_reserve;
	struct images *ac_images;
	struct vmrun *ac_vmrun;
	struct policy *ac_policy;
	struct jails *ac_jails;
	struct auth *ac_auth;
	struct pptdevs *ac_pptdevs; /* PCI passthrough devices */
	struct events *ac_events;   /* GET /v1/events (core/events.h) */
	/* Routes on one VM hold its key's guard (api/vm_guard.h); NULL:
	 * none (tests of the router alone). */
	struct vm_guard *ac_vm_guard;
	/* Refused-request records per caller (api/audit.c); NULL: no bound. */
	struct audit_rate *ac_audit_rate;
	/* Starts / stops the listener on a jail's socket (server/). */
	int (*ac_jail_listen)(void *cls, const char *jail, const char *path);
	void (*ac_jail_unlisten)(void *cls, const char *jail);
	void *ac_listen_cls;
	const char *ac_openapi; /* the contract, served as is */
	size_t ac_openapi_len;
	uint64_t ac_started_at_ms;
};

/*
 * Answers one request.  Fills *rs (which the caller zeroed) and never
 * fails: errors become problem+json responses.  May block (on the
 * database's group commit, on the driver) when the matched route says
 * so; see api_route_inline().
 */
void api_handle(const struct api_context *ctx, const struct api_request *rq,
		struct api_response *rs);

/*
 * The per-caller bound on records of requests that changed nothing
 * (status 400 and up): at most per_minute such records per caller (uid
 * and jail) in each minute from its first; past them, they are counted
 * and one record (method "DROPPED", status 429, path
 * "count=N&first=TIME&last=TIME") says how many were not kept, written
 * when the caller's next minute begins, when its place is needed, when
 * the log is read (GET /v1/audit) or by api_audit_rate_flush.  NULL on
 * ENOMEM.  Its own lock: callable from any thread.
 */
struct audit_rate *api_audit_rate_new(unsigned per_minute);
/* Writes the summaries of minutes over at now_ms (0: all of them). */
void api_audit_rate_flush(const struct api_context *ctx, int64_t now_ms);
void api_audit_rate_free(struct audit_rate *ar);

/* Finds rq's route once: sets rq_route, rq_allowed and rq_routed. */
void api_route_resolve(struct api_request *rq);

/*
 * Whether a request for a route that may block should run on the calling
 * (HTTP) thread anyway: routes that never block, and database writes
 * while no commit is under way (they commit at once).  Otherwise server/
 * hands the request to a worker.
 */
int api_route_inline(const struct api_context *ctx,
		     const struct api_request *rq);

/*
 * Whether rq's route takes a file upload (its body is spooled to a file
 * rather than kept in memory), and whether it needs no principal.
 * Unknown routes: 0.
 */
int api_route_uploads(const struct api_request *rq);

/* The longest body rq's route takes in memory (not an upload). */
size_t api_route_body_max(const struct api_request *rq);
int api_route_public(const struct api_request *rq);

/*
 * Whether rq's route takes its bearer token as ?access_token= as well
 * (GET /v1/events: a browser's EventSource sends no headers).  server/
 * never logs a query, so the token stays out of the access log.
 */
int api_route_query_token(const struct api_request *rq);

/*
 * Whether rq's caller (rq_principal, known) may do what rq's route
 * declares, decided as api_handle would before its handler runs: 1, or 0
 * when api_handle would refuse it (and answers why then).  server/ asks
 * before reading an upload's body, so that nobody spools a file only to
 * hear 403 (issue #14, finding 6).  Unknown routes: 1 (api_handle
 * answers them).
 */
int api_route_permits(const struct api_context *ctx,
		      const struct api_request *rq);

/* Frees what a response owns; safe on a zeroed response. */
void api_response_clear(struct api_response *rs);

/* Adds a header whose value is copied; returns -1 when full. */
int api_response_header(struct api_response *rs, const char *name,
			const char *value);

/* Parses "GET", "PUT", ... ; 0 for methods the API does not know. */
enum api_method api_method_parse(const char *name);

#endif
