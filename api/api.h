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

#define PRINCIPAL_MAX_GROUPS 64

/* Who is asking: from SO_PEERCRED on a Unix socket, from a token on TCP. */
struct principal {
	int pr_known; /* 0: anonymous (TCP without a valid token) */
	uid_t pr_uid;
	gid_t pr_gid;
	int pr_ngroups;
	gid_t pr_groups[PRINCIPAL_MAX_GROUPS];
	pid_t pr_pid;     /* peer pid on a Unix socket, else 0 */
	char pr_jail[65]; /* "" outside any jail */
	char pr_via[16];  /* "unix", "token" */
};

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
	struct principal rq_principal;
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
};

struct vmreg;
struct db;

/* What handlers need from the daemon; set once at start-up. */
struct api_context {
	struct vmreg *ac_vmreg;
	struct db *ac_db;
	const char *ac_driver;        /* name of the backend in use */
	const char *ac_driver_reason; /* why it was chosen */
	unsigned ac_max_vcpus;        /* hw.vmm.maxcpu's counterpart */
	uint64_t ac_max_memory_mib;
	const char *ac_openapi; /* the contract, served as is */
	size_t ac_openapi_len;
	uint64_t ac_started_at_ms;
};

/*
 * Answers one request.  Fills *rs (which the caller zeroed) and never
 * fails: errors become problem+json responses.  May block (on the
 * database's group commit, later on the driver) when the matched route
 * says so; see api_route_blocks().
 */
void api_handle(const struct api_context *ctx, const struct api_request *rq,
		struct api_response *rs);

/*
 * Whether the route matching method and path may block; server/ runs those
 * on a worker thread with the connection suspended.  Unknown routes: 0.
 */
int api_route_blocks(enum api_method method, const char *path);

/* Frees what a response owns; safe on a zeroed response. */
void api_response_clear(struct api_response *rs);

/* Adds a header whose value is copied; returns -1 when full. */
int api_response_header(struct api_response *rs, const char *name,
			const char *value);

/* Parses "GET", "PUT", ... ; 0 for methods the API does not know. */
enum api_method api_method_parse(const char *name);

#endif
