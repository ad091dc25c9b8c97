/*
 * The route table and the one place that checks a request before any
 * handler runs: existence (404), method (405 with Allow), authentication
 * (401), Content-Type (415) and JSON syntax (400).  Handlers get a parsed
 * body and their path parameters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api/api.h"
#include "api/handlers.h"
#include "base/limits.h"
#include "api/policy.h"
#include "api/problem.h"
#include "api/response.h"
#include "api/routes.h"
#include "api/vm_guard.h"
#include "base/names.h"
#include "core/jails.h"
#include "core/vmreg.h"
#include "db/db.h"
#include "base/log.h"

enum {
	R_BLOCKS = 1 << 1,     /* may block: run on a worker thread */
	R_BODY_JSON = 1 << 2,  /* application/json body required */
	R_BODY_MERGE = 1 << 3, /* application/merge-patch+json required */
	R_UPLOAD = 1 << 4,     /* body spooled to a file (rq_body_fd) */
	R_BODY_RAW = 1 << 5,   /* any body, as bytes (no JSON) */
	R_DBWRITE = 1 << 6,    /* blocks only on a database commit */
	R_VM = 1 << 7,         /* {name} is a VM: the policy checks it */
	R_BODY_BIG = 1 << 8,   /* a JSON body up to LIMIT_BODY_BIG_BYTES */
	R_QTOKEN = 1 << 9,     /* takes its token as ?access_token= too */
	R_VM_DELETE = 1 << 10, /* deletes the VM: holds its guard alone */
};

struct route {
	const char *rt_pattern;
	enum api_method rt_method;
	api_handler rt_handler;
	unsigned rt_flags;
	/* What the caller must be allowed (api/policy.h); left out, a route
	 * is host root's (POL_ADMIN). */
	enum policy_action rt_action;
	/* The query parameters it takes, comma-separated, "name*" for one
	 * that may repeat; NULL: none.  Any other, or a repeat, is a 400
	 * before the handler runs. */
	const char *rt_query;
};

static const struct route routes[] = {
    {"/v1", API_GET, api_host_root, 0, POL_ANY, NULL},
    {"/v1/health", API_GET, api_host_health, R_BLOCKS, POL_PUBLIC, NULL},
    {"/v1/openapi.yaml", API_GET, api_host_openapi, 0, POL_ANY, NULL},
    {"/v1/problems", API_GET, api_problems_list, 0, POL_PUBLIC, NULL},
    /* Public to the router: the handler lets in host root, the metrics
     * token or anyone (--metrics-anonymous).  R_BLOCKS: it reads each
     * running VM's counters under its lifecycle lock. */
    {"/metrics", API_GET, api_metrics_get, R_BLOCKS, POL_PUBLIC, NULL},
    /* Server-Sent Events: filtered per event by what the caller may
     * read, like a list.  R_QTOKEN: EventSource sends no headers. */
    {"/v1/events", API_GET, api_events_get, R_QTOKEN, POL_VM_LIST,
     "since,type*,vm*,jail*,access_token"},
    {"/v1/host/pvbus", API_GET, api_host_pvbus, 0, POL_ANY, NULL},
    /* The host's hypervisor's key store: host root's. */
    {"/v1/host/pvbus/{n}/keys/{key}", API_GET, api_host_pvbus_key, 0, POL_ADMIN,
     NULL},
    {"/v1/host/pvbus/{n}/keys/{key}", API_PUT, api_host_pvbus_key, R_BODY_JSON,
     POL_ADMIN, NULL},
    {"/v1/problems/{slug}", API_GET, api_problems_get, 0, POL_PUBLIC, NULL},
    {"/v1/vms", API_GET, api_vms_list, 0, POL_VM_LIST,
     "limit,after,label*,state,jail"},
    /* R_BODY_BIG: the spec may bring the VM's first guestinfo keys. */
    {"/v1/vms", API_POST, api_vms_create,
     R_BLOCKS | R_DBWRITE | R_BODY_JSON | R_BODY_BIG, POL_VM_CREATE, "jail"},
    {"/v1/vms/{name}", API_GET, api_vms_get, R_VM, POL_VM_READ, NULL},
    /* PUT of a VM that does not exist is checked as POL_VM_CREATE. */
    {"/v1/vms/{name}", API_PUT, api_vms_put,
     R_BLOCKS | R_DBWRITE | R_BODY_JSON | R_VM, POL_VM_WRITE, NULL},
    {"/v1/vms/{name}", API_PATCH, api_vms_patch,
     R_BLOCKS | R_DBWRITE | R_BODY_MERGE | R_VM, POL_VM_WRITE, NULL},
    /* Not R_DBWRITE: a delete may wait for the requests in flight on its
     * VM (api/vm_guard.h), so never on the event thread. */
    {"/v1/vms/{name}", API_DELETE, api_vms_delete,
     R_BLOCKS | R_VM | R_VM_DELETE, POL_VM_WRITE, NULL},
    /* R_DBWRITE: besides its one commit, a start waits only for the VM's
     * set-up, which runs meanwhile (core/vmrun.c). */
    {"/v1/vms/{name}/start", API_POST, api_vms_start,
     R_BLOCKS | R_DBWRITE | R_VM, POL_VM_START, "mode"},
    {"/v1/vms/{name}/stop", API_POST, api_vms_stop, R_BLOCKS | R_VM,
     POL_VM_WRITE, "force,timeout"},
    {"/v1/vms/{name}/reset", API_POST, api_vms_reset, R_BLOCKS | R_VM,
     POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/pause", API_POST, api_vms_pause, R_BLOCKS | R_VM,
     POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/resume", API_POST, api_vms_resume, R_BLOCKS | R_VM,
     POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/console", API_GET, api_console_get, R_VM, POL_VM_READ,
     "follow,offset"},
    {"/v1/vms/{name}/console", API_POST, api_console_post, R_BODY_RAW | R_VM,
     POL_VM_WRITE, NULL},
    {"/v1/images", API_GET, api_images_list, 0, POL_IMAGE_READ, NULL},
    {"/v1/images/{name}", API_GET, api_images_get, 0, POL_IMAGE_READ, NULL},
    {"/v1/images/{name}", API_PUT, api_images_put, R_BLOCKS | R_UPLOAD,
     POL_IMAGE_WRITE, NULL},
    {"/v1/images/{name}", API_DELETE, api_images_delete, R_BLOCKS,
     POL_IMAGE_WRITE, NULL},
    /* vCPUs: each call waits for the VM's lifecycle lock, may pause it. */
    {"/v1/vms/{name}/vcpus", API_GET, api_vcpus_list, R_BLOCKS | R_VM,
     POL_VM_READ, NULL},
    {"/v1/vms/{name}/vcpus/{id}", API_GET, api_vcpus_get, R_BLOCKS | R_VM,
     POL_VM_READ, NULL},
    {"/v1/vms/{name}/vcpus/{id}/registers", API_GET, api_vcpus_regs_get,
     R_BLOCKS | R_VM, POL_VM_WRITE, "groups"},
    {"/v1/vms/{name}/vcpus/{id}/registers", API_PUT, api_vcpus_regs_put,
     R_BLOCKS | R_BODY_JSON | R_VM, POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/vcpus/{id}/reset", API_POST, api_vcpus_reset,
     R_BLOCKS | R_VM, POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/vcpus/{id}/interrupt", API_POST, api_vcpus_interrupt,
     R_BLOCKS | R_BODY_JSON | R_VM, POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/params", API_GET, api_vcpus_params_get, R_BLOCKS | R_VM,
     POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/params", API_PUT, api_vcpus_params_put,
     R_BLOCKS | R_BODY_JSON | R_VM, POL_VM_WRITE, NULL},
    {"/v1/vms/{name}/memory/protect", API_POST, api_vcpus_protect,
     R_BLOCKS | R_BODY_JSON | R_VM, POL_VM_WRITE, NULL},
    /* Guestinfo keys: a key is its VM's.  A PUT carries a value of up to
     * 64 KiB, which JSON may spell in six times as many bytes. */
    {"/v1/vms/{name}/guestinfo", API_GET, api_guestinfo_list, R_VM, POL_VM_READ,
     NULL},
    {"/v1/vms/{name}/guestinfo/{key}", API_GET, api_guestinfo_get, R_VM,
     POL_VM_READ, NULL},
    {"/v1/vms/{name}/guestinfo/{key}", API_PUT, api_guestinfo_put,
     R_BLOCKS | R_DBWRITE | R_BODY_JSON | R_BODY_BIG | R_VM, POL_VM_WRITE,
     NULL},
    {"/v1/vms/{name}/guestinfo/{key}", API_DELETE, api_guestinfo_delete,
     R_BLOCKS | R_DBWRITE | R_VM, POL_VM_WRITE, NULL},
    /* PCI passthrough: host root's, or a jail root's with allow_vmm_ppt. */
    {"/v1/pptdevs", API_GET, api_pptdevs_list, 0, POL_PPT, NULL},
    {"/v1/pptdevs/loader.conf", API_GET, api_pptdevs_loader_conf, 0, POL_PPT,
     NULL},
    {"/v1/pptdevs/{bus}/{slot}/{func}", API_GET, api_pptdevs_get, 0, POL_PPT,
     NULL},
    {"/v1/pptdevs/{bus}/{slot}/{func}", API_PUT, api_pptdevs_put, R_BLOCKS,
     POL_PPT, NULL},
    {"/v1/pptdevs/{bus}/{slot}/{func}", API_DELETE, api_pptdevs_delete,
     R_BLOCKS, POL_PPT, NULL},
    /* Tokens, jails and the audit log: host root's (POL_ADMIN). */
    {"/v1/tokens", API_GET, api_tokens_list, 0, POL_ADMIN, NULL},
    {"/v1/tokens", API_POST, api_tokens_create, R_BLOCKS | R_BODY_JSON,
     POL_ADMIN, NULL},
    {"/v1/tokens/{id}", API_GET, api_tokens_get, 0, POL_ADMIN, NULL},
    {"/v1/tokens/{id}", API_DELETE, api_tokens_delete, R_BLOCKS, POL_ADMIN,
     NULL},
    {"/v1/jails", API_GET, api_jails_list, 0, POL_ADMIN, NULL},
    {"/v1/jails/{name}", API_GET, api_jails_get, 0, POL_ADMIN, NULL},
    {"/v1/jails/{name}", API_PUT, api_jails_put, R_BLOCKS | R_BODY_JSON,
     POL_ADMIN, NULL},
    {"/v1/jails/{name}", API_DELETE, api_jails_delete, R_BLOCKS, POL_ADMIN,
     NULL},
    /* A copy of the database (sqlite3_backup_*): host root's. */
    {"/v1/admin/backup", API_POST, api_admin_backup, R_BLOCKS, POL_ADMIN, NULL},
    /* Waits for the audit records queued before it. */
    {"/v1/audit", API_GET, api_audit_list, R_BLOCKS, POL_ADMIN, "limit,before"},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const struct route *route_of(const struct api_request *rq,
				    unsigned *allowed);

static const struct {
	enum api_method m;
	const char *name;
} methods[] = {
    {API_GET, "GET"}, {API_HEAD, "HEAD"},   {API_POST, "POST"},
    {API_PUT, "PUT"}, {API_PATCH, "PATCH"}, {API_DELETE, "DELETE"},
};

enum api_method
api_method_parse(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return methods[i].m;
	return 0;
}

size_t
api_routes_count(void)
{
	return NROUTES;
}

size_t
api_route_index(const struct api_request *rq)
{
	unsigned allowed;
	const struct route *rt = route_of(rq, &allowed);

	return rt != NULL ? (size_t)(rt - routes) : NROUTES;
}

struct api_route_info
api_routes_at(size_t i)
{
	struct api_route_info ri = {routes[i].rt_pattern, routes[i].rt_method};

	return ri;
}

/*
 * Matches path against pattern segment by segment; {param} takes one
 * non-empty segment.  Parameters are copied into buf (NUL-separated) and
 * pointed to from params.  Returns 1 on a match.
 */
static int
route_match(const char *pattern, const char *path, const char **params,
	    char *buf, size_t buflen)
{
	size_t used = 0;
	int np = 0;

	while (*pattern != '\0' && *path != '\0') {
		if (*pattern != '/' || *path != '/')
			return 0;
		pattern++;
		path++;
		const char *pe = strchrnul(pattern, '/');
		const char *se = strchrnul(path, '/');
		size_t plen = (size_t)(pe - pattern),
		       slen = (size_t)(se - path);

		if (plen > 1 && pattern[0] == '{') {
			if (slen == 0 || np == API_MAX_PARAMS ||
			    used + slen + 1 > buflen)
				return 0;
			if (params != NULL) {
				memcpy(buf + used, path, slen);
				buf[used + slen] = '\0';
				params[np] = buf + used;
			}
			np++;
			used += slen + 1;
		} else if (plen != slen || memcmp(pattern, path, slen) != 0) {
			return 0;
		}
		pattern = pe;
		path = se;
	}
	return *pattern == '\0' && *path == '\0';
}

/* Matches a method against a route: HEAD is answered where GET is. */
static int
route_method_ok(const struct route *rt, enum api_method m)
{
	return rt->rt_method == m ||
	       (m == API_HEAD && rt->rt_method == API_GET);
}

static const struct route *
route_find(enum api_method m, const char *path, unsigned *allowed)
{
	const struct route *found = NULL;
	size_t i;

	*allowed = 0;
	for (i = 0; i < NROUTES; i++) {
		const struct route *rt = &routes[i];

		if (!route_match(rt->rt_pattern, path, NULL, NULL,
				 LIMIT_URL_LEN))
			continue;
		*allowed |= rt->rt_method;
		if (found == NULL && route_method_ok(rt, m))
			found = rt;
	}
	return found;
}

void
api_route_resolve(struct api_request *rq)
{
	rq->rq_route = route_find(rq->rq_method, rq->rq_path, &rq->rq_allowed);
	rq->rq_routed = 1;
}

/* rq's route, resolved already or found now; *allowed as route_find's. */
static const struct route *
route_of(const struct api_request *rq, unsigned *allowed)
{
	if (rq->rq_routed) {
		*allowed = rq->rq_allowed;
		return rq->rq_route;
	}
	return route_find(rq->rq_method, rq->rq_path, allowed);
}

static unsigned
route_flags(const struct api_request *rq)
{
	unsigned allowed;
	const struct route *rt = route_of(rq, &allowed);

	return rt != NULL ? rt->rt_flags : 0;
}

int
api_route_inline(const struct api_context *ctx, const struct api_request *rq)
{
	unsigned flags = route_flags(rq);

	if (!(flags & R_BLOCKS))
		return 1;
	/*
	 * A write that would commit at once, on this thread, costs less run
	 * here than handed to a worker and back (two thread wake-ups, each
	 * longer than the handler's own work); one that would wait for a
	 * commit goes to a worker, so this thread serves other connections
	 * meanwhile and the waiting writes share the next commit.
	 */
	return (flags & R_DBWRITE) && ctx->ac_db != NULL &&
	       !db_writer_busy(ctx->ac_db);
}

int
api_route_uploads(const struct api_request *rq)
{
	return (route_flags(rq) & R_UPLOAD) != 0;
}

size_t
api_route_body_max(const struct api_request *rq)
{
	return (route_flags(rq) & R_BODY_BIG) ? LIMIT_BODY_BIG_BYTES
					      : LIMIT_BODY_BYTES;
}

int
api_route_query_token(const struct api_request *rq)
{
	return (route_flags(rq) & R_QTOKEN) != 0;
}

int
api_route_public(const struct api_request *rq)
{
	unsigned allowed;
	const struct route *rt = route_of(rq, &allowed);

	return rt != NULL && rt->rt_action == POL_PUBLIC;
}

int
api_routes_check(void)
{
	size_t i, j;

	for (i = 0; i < NROUTES; i++) {
		const char *p = routes[i].rt_pattern;

		if (p[0] != '/' || (strlen(p) > 1 && p[strlen(p) - 1] == '/') ||
		    strstr(p, "//") != NULL) {
			log_warnx("route %zu: malformed pattern \"%s\"", i, p);
			return -1;
		}
		if (routes[i].rt_handler == NULL) {
			log_warnx("route %s: no handler", p);
			return -1;
		}
		/* Whether a route acts on one VM is said once, by R_VM, and
		 * must agree with its pattern and its action. */
		if (((routes[i].rt_flags & R_VM) != 0) !=
		    (strncmp(p, "/v1/vms/{name}", 14) == 0 &&
		     (routes[i].rt_action == POL_VM_READ ||
		      routes[i].rt_action == POL_VM_WRITE ||
		      routes[i].rt_action == POL_VM_START))) {
			log_warnx("route %s: R_VM disagrees with its pattern "
				  "or action",
				  p);
			return -1;
		}
		for (j = i + 1; j < NROUTES; j++) {
			if (routes[i].rt_method != routes[j].rt_method)
				continue;
			/* Two patterns that match each other's text overlap. */
			if (strcmp(p, routes[j].rt_pattern) == 0 ||
			    route_match(p, routes[j].rt_pattern, NULL, NULL,
					LIMIT_URL_LEN) ||
			    route_match(routes[j].rt_pattern, p, NULL, NULL,
					LIMIT_URL_LEN)) {
				log_warnx("routes %s and %s overlap", p,
					  routes[j].rt_pattern);
				return -1;
			}
		}
	}
	return 0;
}

static void
allow_header(struct api_response *rs, unsigned allowed)
{
	char buf[128] = "";
	size_t i;

	if (allowed & API_GET)
		allowed |= API_HEAD;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (!(allowed & methods[i].m))
			continue;
		if (buf[0] != '\0')
			strcat(buf, ", ");
		strcat(buf, methods[i].name);
	}
	api_response_header(rs, "Allow", buf);
}

/* Whether Content-Type names want (ignoring parameters and case). */
static int
content_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL)
		return 0;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, want, n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/*
 * 1 + the offset of the bracket or brace that opens level max + 1 of the
 * JSON text (strings skipped), or 0 when it nests no deeper than max.
 */
static size_t
json_depth_past(const char *p, size_t len, int max)
{
	int depth = 0, in_string = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"') {
			in_string = 1;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				return i + 1;
		} else if ((p[i] == ']' || p[i] == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

static int
parse_body(const struct route *rt, const struct api_request *rq, json_t **body,
	   struct api_response *rs)
{
	const char *want = (rt->rt_flags & R_BODY_MERGE)
			       ? "application/merge-patch+json"
			       : "application/json";
	const char *ct = api_header(rq, "Content-Type");
	json_error_t jerr;
	size_t deep;

	if (rq->rq_body_len == 0) {
		problem_raise(rs, PROBLEM_BODY_REQUIRED, NULL,
			      "%s %s needs a %s body", rq->rq_method_name,
			      rq->rq_path, want);
		return -1;
	}
	if (!content_type_is(ct, want)) {
		problem_raise(rs, PROBLEM_UNSUPPORTED_MEDIA_TYPE, NULL,
			      "the body must be %s, not %s", want,
			      ct != NULL ? ct : "(no Content-Type)");
		return -1;
	}
	if ((deep = json_depth_past(rq->rq_body, rq->rq_body_len,
				    LIMIT_JSON_DEPTH)) > 0) {
		problem_raise(rs, PROBLEM_MALFORMED_JSON, NULL,
			      "malformed JSON: nested deeper than %d levels "
			      "(at byte %zu)",
			      LIMIT_JSON_DEPTH, deep - 1);
		return -1;
	}
	*body = json_loadb(rq->rq_body, rq->rq_body_len,
			   JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (*body == NULL) {
		problem_raise(
		    rs, PROBLEM_MALFORMED_JSON, NULL,
		    "malformed JSON at line %d, column %d (byte %d): %s",
		    jerr.line, jerr.column, jerr.position, jerr.text);
		return -1;
	}
	return 0;
}

/*
 * The token of rt_query naming key ("name" or "name*", the star marking a
 * parameter that may repeat), or NULL.  *len gets the token's length.
 */
static const char *
route_query_token(const struct route *rt, const char *key, size_t *len)
{
	const char *p = rt->rt_query;
	size_t n = strlen(key);

	while (n > 0 && p != NULL && *p != '\0') {
		size_t t = strcspn(p, ",");

		if ((t == n || (t == n + 1 && p[n] == '*')) &&
		    strncmp(p, key, n) == 0) {
			*len = t;
			return p;
		}
		p = p[t] == ',' ? p + t + 1 : NULL;
	}
	return NULL;
}

/*
 * 0 when every query parameter is one the route takes, and only those
 * marked so repeat; else a 400.  Handlers see only what they expect.
 * Every route on one VM (R_VM) takes ?jail= besides its own: the scope
 * of {name} (api_vm_scope).
 */
static int
route_query_ok(const struct route *rt, const struct api_request *rq,
	       struct api_response *rs)
{
	const char *tok;
	size_t len;
	int i, j;

	for (i = 0; i < rq->rq_nquery; i++) {
		const char *k = rq->rq_query[i].kv_key;

		if ((rt->rt_flags & R_VM) && strcmp(k, "jail") == 0) {
			tok = k;
			len = strlen(k);
		} else if ((tok = route_query_token(rt, k, &len)) == NULL) {
			if (rt->rt_query != NULL)
				problem_raise(rs, PROBLEM_INVALID_QUERY, k,
					      "unknown query parameter \"%s\" "
					      "(known: %s)",
					      k, rt->rt_query);
			else
				problem_raise(rs, PROBLEM_INVALID_QUERY, k,
					      "unknown query parameter \"%s\" "
					      "(%s takes none)",
					      k, rt->rt_pattern);
			return -1;
		}
		if (tok[len - 1] == '*')
			continue;
		for (j = 0; j < i; j++) {
			if (strcmp(rq->rq_query[j].kv_key, k) == 0) {
				problem_raise(
				    rs, PROBLEM_INVALID_QUERY, k,
				    "query parameter \"%s\" given twice", k);
				return -1;
			}
		}
	}
	return 0;
}

static int route_allowed(const struct api_context *ctx, const struct route *rt,
			 const struct api_call *call, int foreign,
			 struct api_response *rs);

int
api_vm_scope(const struct api_context *ctx, const struct api_request *rq,
	     char jail[LIMIT_NAME_LEN + 1], struct api_response *rs)
{
	const struct principal *pr = &rq->rq_principal;
	const char *want = NULL;
	struct jail_info ji;
	size_t left = 0;
	int i, given = 0;

	snprintf(jail, LIMIT_NAME_LEN + 1, "%s", pr->pr_jail);
	for (i = 0; i < rq->rq_nquery && !given; i++)
		if (strcmp(rq->rq_query[i].kv_key, "jail") == 0) {
			given = 1;
			want = rq->rq_query[i].kv_value; /* NULL: "?jail" */
		}
	if (!given)
		return 0;
	if (want == NULL)
		want = "";
	if (!name_valid(want)) {
		if (rs != NULL)
			problem_invalid_name_query(rs, "jail", want);
		return -1;
	}
	if (strcmp(want, pr->pr_jail) == 0)
		return 0;
	if (!policy_is_host_root(pr))
		/* Another scope's VMs do not exist for this caller; whether
		 * the jail does is not its business either. */
		return 1;
	/* A jail deleted while one of its VMs was being made leaves that
	 * VM: host root may still name it, to delete it. */
	if ((ctx->ac_jails == NULL ||
	     jails_get(ctx->ac_jails, want, &ji) != 0) &&
	    (ctx->ac_vmreg == NULL ||
	     vmreg_count_in_jail(ctx->ac_vmreg, want, &left) != 0 ||
	     left == 0)) {
		if (rs != NULL)
			problem_raise(rs, PROBLEM_NOT_FOUND, "jail",
				      "no jail named %s", want);
		return -1;
	}
	snprintf(jail, LIMIT_NAME_LEN + 1, "%s", want);
	return 0;
}

void
api_vm_location(const struct api_request *rq, const char *key, const char *sub,
		char *buf, size_t len)
{
	char jail[LIMIT_NAME_LEN + 1];

	vmkey_jail(key, jail);
	if (jail[0] == '\0' || strcmp(jail, rq->rq_principal.pr_jail) == 0)
		snprintf(buf, len, "/v1/vms/%s%s", vmkey_name(key), sub);
	else
		snprintf(buf, len, "/v1/vms/%s%s?jail=%s", vmkey_name(key), sub,
			 jail);
}

/*
 * For a route on one VM, call's ca_vm and ca_vm_jail from {name} and the
 * scope the request names.  0; 1 when that scope is not one the caller
 * may name (answered as a VM that does not exist, once the policy let
 * the caller ask at all: route_allowed's foreign); -1 with the problem
 * answered (rs NULL: only said).
 */
static int
route_vm_key(const struct api_context *ctx, const struct route *rt,
	     struct api_call *call, struct api_response *rs)
{
	const char *name = call->ca_params[0];
	int rc;

	call->ca_vm[0] = call->ca_vm_jail[0] = '\0';
	if (!(rt->rt_flags & R_VM) || name == NULL)
		return 0;
	if ((rc = api_vm_scope(ctx, call->ca_rq, call->ca_vm_jail, rs)) != 0)
		return rc;
	/* A name that is not one can be no VM's key: as it is, it finds
	 * none (a PUT of it is a 400 in its handler). */
	if (vmkey_make(call->ca_vm, call->ca_vm_jail, name) != 0)
		snprintf(call->ca_vm, sizeof(call->ca_vm), "%s", name);
	return 0;
}

int
api_route_permits(const struct api_context *ctx, const struct api_request *rq)
{
	struct api_call call;
	const struct route *rt;
	unsigned allowed;
	int foreign;

	if ((rt = route_of(rq, &allowed)) == NULL)
		return 1;
	memset(call.ca_params, 0, sizeof(call.ca_params));
	call.ca_body = NULL;
	call.ca_rq = rq;
	route_match(rt->rt_pattern, rq->rq_path, call.ca_params,
		    call.ca_param_buf, sizeof(call.ca_param_buf));
	if ((foreign = route_vm_key(ctx, rt, &call, NULL)) < 0)
		return 1; /* the handler's call answers it */
	return route_allowed(ctx, rt, &call, foreign, NULL) == 0;
}

/*
 * The access check of a matched route: its declared action, and for
 * routes on one VM ({name} of /v1/vms/{name}...), that VM's creator and
 * jail.  foreign: the VM is in a scope the caller may not name, where
 * nothing exists for it (route_vm_key).  0, or -1 with the 403/404
 * answered (rs NULL: only said).
 */
static int
route_allowed(const struct api_context *ctx, const struct route *rt,
	      const struct api_call *call, int foreign, struct api_response *rs)
{
	enum policy_action action = rt->rt_action;
	struct policy_vm vm = {0}, *target = NULL;
	char jail[65], why[256];
	struct vm_spec spec;

	if (ctx->ac_policy == NULL && !foreign)
		return 0; /* tests of the router alone */
	if ((rt->rt_flags & R_VM) && call->ca_params[0] != NULL && !foreign) {
		if (vmreg_get_owner(ctx->ac_vmreg, call->ca_vm,
				    &vm.pv_owner_uid, jail) == 0) {
			vm.pv_name = call->ca_params[0];
			vm.pv_jail = jail;
			if (action == POL_VM_START &&
			    vmreg_get_vm_spec(ctx->ac_vmreg, call->ca_vm,
					      &spec) == 0)
				vm.pv_has_pptdevs = spec.vs_npptdevs > 0;
			target = &vm;
		} else if (rt->rt_method == API_PUT) {
			action = POL_VM_CREATE; /* PUT of a new VM defines it */
		}
	}
	if (ctx->ac_policy == NULL ||
	    policy_check(ctx->ac_policy, &call->ca_rq->rq_principal, action,
			 target, why, sizeof(why)) == 0) {
		if (!foreign)
			return 0;
		/* Asked as any VM is; there is none for this caller (a PUT
		 * cannot define one where the caller may not name it). */
		snprintf(why, sizeof(why), "no VM named %s",
			 call->ca_params[0]);
		errno = ENOENT;
	}
	if (rs == NULL)
		return -1; /* a question only (api_route_permits) */
	log_debug("policy: %s %s refused to uid %ld%s%s: %s",
		  call->ca_rq->rq_method_name, call->ca_rq->rq_path,
		  (long)call->ca_rq->rq_principal.pr_uid,
		  call->ca_rq->rq_principal.pr_jail[0] != '\0' ? " in jail "
							       : "",
		  call->ca_rq->rq_principal.pr_jail, why);
	if (errno == ENOENT)
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "%s", why);
	else
		problem_raise(rs, PROBLEM_FORBIDDEN, NULL, "%s", why);
	return -1;
}

/* The caller, as the events of the handler's writes name it. */
static void
route_actor(const struct principal *pr)
{
	struct db_actor a;

	memset(&a, 0, sizeof(a));
	a.da_kind = DB_ACTOR_API;
	a.da_uid = pr->pr_uid;
	memcpy(a.da_jail, pr->pr_jail, sizeof(a.da_jail));
	memcpy(a.da_via, pr->pr_via, sizeof(a.da_via));
	memcpy(a.da_token, pr->pr_token, sizeof(a.da_token));
	db_actor_set(&a);
}

/*
 * Enters call's VM's guard (api/vm_guard.h), before the policy looks at
 * the VM: 0, or -1 with the 409 (or 503) answered.
 */
static int
route_guard(const struct api_context *ctx, const struct api_call *call,
	    int deleting, struct api_response *rs)
{
	const char *name = call->ca_params[0];

	if ((deleting ? vm_guard_enter_delete(ctx->ac_vm_guard, call->ca_vm,
					      VM_GUARD_DELETE_WAIT_MS)
		      : vm_guard_enter(ctx->ac_vm_guard, call->ca_vm)) == 0)
		return 0;
	if (errno == EBUSY)
		problem_raise(rs, PROBLEM_INVALID_STATE, NULL,
			      "VM %s is being deleted; ask again once that "
			      "DELETE has been answered",
			      name);
	else if (errno == ETIMEDOUT)
		problem_raise(rs, PROBLEM_INVALID_STATE, NULL,
			      "VM %s still has requests in progress after %d "
			      "s (a stop waiting for its guest, or another "
			      "DELETE); ask again once they have been "
			      "answered",
			      name, VM_GUARD_DELETE_WAIT_MS / 1000);
	else
		problem_errno(rs, errno, "guarding VM %s", name);
	return -1;
}

/* The rest of a matched request, once its VM (if any) is guarded. */
static void
route_call(const struct api_context *ctx, const struct route *rt,
	   struct api_call *call, int foreign, struct api_response *rs)
{
	const struct api_request *rq = call->ca_rq;
	json_t *body = NULL;

	if (route_allowed(ctx, rt, call, foreign, rs) != 0)
		return;
	if (rq->rq_query_overflow) {
		problem_raise(rs, PROBLEM_INVALID_QUERY, NULL,
			      "more than %d query arguments", API_MAX_QUERY);
		return;
	}
	if (route_query_ok(rt, rq, rs) != 0)
		return;
	if ((rt->rt_flags & (R_BODY_JSON | R_BODY_MERGE)) &&
	    parse_body(rt, rq, &body, rs) != 0)
		return;
	call->ca_body = body;
	route_actor(&rq->rq_principal);
	rt->rt_handler(ctx, call, rs);
	db_actor_set(NULL);
	json_decref(body);
}

static void
route_dispatch(const struct api_context *ctx, const struct api_request *rq,
	       struct api_response *rs)
{
	struct api_call call;
	const struct route *rt;
	unsigned allowed;
	int foreign, deleting;

	/* Not the parameter buffer: 2 KiB to zero on every request. */
	memset(call.ca_params, 0, sizeof(call.ca_params));
	call.ca_body = NULL;
	call.ca_rq = rq;
	if ((rt = route_of(rq, &allowed)) != NULL)
		route_match(rt->rt_pattern, rq->rq_path, call.ca_params,
			    call.ca_param_buf, sizeof(call.ca_param_buf));
	if (rt == NULL && allowed == 0) {
		if (!rq->rq_principal.pr_known)
			goto unauthorized;
		problem_raise(rs, PROBLEM_NOT_FOUND, NULL, "no resource at %s",
			      rq->rq_path);
		return;
	}
	if (!rq->rq_principal.pr_known &&
	    (rt == NULL || rt->rt_action != POL_PUBLIC))
		goto unauthorized;
	if (rt == NULL) {
		problem_raise(rs, PROBLEM_METHOD_NOT_ALLOWED, NULL,
			      "%s does not answer %s", rq->rq_path,
			      rq->rq_method_name);
		allow_header(rs, allowed);
		return;
	}
	if ((foreign = route_vm_key(ctx, rt, &call, rs)) < 0)
		return;
	if (!(rt->rt_flags & R_VM) || call.ca_params[0] == NULL || foreign ||
	    ctx->ac_vm_guard == NULL) {
		route_call(ctx, rt, &call, foreign, rs);
		return;
	}
	deleting = (rt->rt_flags & R_VM_DELETE) != 0;
	if (route_guard(ctx, &call, deleting, rs) != 0)
		return;
	route_call(ctx, rt, &call, 0, rs);
	vm_guard_leave(ctx->ac_vm_guard, call.ca_vm, deleting);
	return;

unauthorized:
	problem_raise(rs, PROBLEM_UNAUTHORIZED, NULL,
		      "a valid bearer token is required on TCP; send "
		      "\"Authorization: Bearer <token>\"");
	api_response_header(rs, "WWW-Authenticate", "Bearer realm=\"vmmapid\"");
}

void
api_handle(const struct api_context *ctx, const struct api_request *rq,
	   struct api_response *rs)
{
	route_dispatch(ctx, rq, rs);
	/*
	 * Every mutating request of a known caller, refused ones included
	 * (api/audit.c keeps the methods that mutate), without waiting for
	 * the disk.  Anonymous callers are not recorded: they would let
	 * anyone on TCP fill the log.
	 */
	if (rq->rq_principal.pr_known)
		api_audit_record(ctx, rq, rs->rs_status);
}

const char *
api_query(const struct api_request *rq, const char *key)
{
	int i;

	for (i = 0; i < rq->rq_nquery; i++)
		if (strcmp(rq->rq_query[i].kv_key, key) == 0)
			return rq->rq_query[i].kv_value;
	return NULL;
}

const char *
api_header(const struct api_request *rq, const char *name)
{
	if (rq->rq_header == NULL)
		return NULL;
	return rq->rq_header(rq->rq_header_cls, name);
}
