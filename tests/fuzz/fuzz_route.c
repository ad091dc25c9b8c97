/*
 * libFuzzer harness of the request target: what server/http.c and
 * libmicrohttpd make of "PATH?QUERY", then api_handle() over the daemon's
 * real context (fuzz_ctx.c): route matching with its path parameters,
 * the query rules of the route table (unknown, repeated, more than
 * API_MAX_QUERY), and each handler's parsing of its query values.
 *
 * Input: one byte choosing the method and the caller, then the target.
 * The target is cut as libmicrohttpd 0.9.75 cuts it: the path up to the
 * first '?' and the arguments at '&' and the first '=', '+' read as a
 * blank in arguments, each part percent-decoded by its own decoder
 * (MHD_http_unescape).  The daemon's NUL rule is checked as its own
 * property: server/http.c refuses a target holding "%00" before routing,
 * and no target without it may decode to a string with a NUL inside.
 * Every answer has a status, and a JSON body that parses.  The context
 * holds one VM, web1 (uid 1000's), for the routes on one VM.
 * Only GET and HEAD reach handlers as a known caller (root or a vmm
 * member), so that the database changes nothing between inputs; other
 * methods come from an anonymous TCP caller (401, 404, 405).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api/api.h"
#include "base/limits.h"
#include "fuzz_ctx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_methods[] = {
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "BREW", "OPTIONS"};

/* Decodes s in place as libmicrohttpd does; aborts on a NUL inside. */
static void
fuzz_unescape(char *s, int plus)
{
	size_t n, i;

	if (plus)
		for (i = 0; s[i] != '\0'; i++)
			if (s[i] == '+')
				s[i] = ' ';
	n = MHD_http_unescape(s);
	if (n != strlen(s))
		abort(); /* a NUL the "%00" rule did not see */
}

static void
fuzz_query(struct api_request *rq, char *q)
{
	while (q != NULL && *q != '\0') {
		char *next = strchr(q, '&'), *eq;

		if (next != NULL)
			*next++ = '\0';
		if (*q == '\0') {
			q = next;
			continue;
		}
		if (rq->rq_nquery == API_MAX_QUERY) {
			rq->rq_query_overflow = 1;
			return;
		}
		eq = strchr(q, '=');
		if (eq != NULL) {
			*eq++ = '\0';
			fuzz_unescape(eq, 1);
		}
		fuzz_unescape(q, 1);
		rq->rq_query[rq->rq_nquery].kv_key = q;
		rq->rq_query[rq->rq_nquery].kv_value = eq;
		rq->rq_nquery++;
		q = next;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct api_context *ctx = fuzz_ctx();
	struct api_request rq;
	struct api_response rs;
	json_t *body = NULL;
	char *target, *q;
	const char *method;
	uint8_t sel;

	if (size < 1 || size - 1 > LIMIT_URL_LEN)
		return 0; /* server/: 414 before routing */
	sel = data[0];
	/* A request line holds no NUL, and the target no blank. */
	if (memchr(data + 1, '\0', size - 1) != NULL ||
	    memchr(data + 1, ' ', size - 1) != NULL)
		return 0;
	if ((target = malloc(size)) == NULL)
		abort();
	memcpy(target, data + 1, size - 1);
	target[size - 1] = '\0';
	if (strstr(target, "%00") != NULL) {
		free(target); /* server/: 400 malformed-request */
		return 0;
	}
	memset(&rq, 0, sizeof(rq));
	method = fuzz_methods[sel & 7];
	rq.rq_method_name = method;
	rq.rq_method = api_method_parse(method);
	rq.rq_body_fd = -1;
	if ((q = strchr(target, '?')) != NULL)
		*q++ = '\0';
	fuzz_unescape(target, 0);
	rq.rq_path = target;
	fuzz_query(&rq, q);
	if (rq.rq_method == API_GET || rq.rq_method == API_HEAD) {
		rq.rq_principal.pr_known = 1;
		/* Bit 3: root, or a member of the vmm group. */
		rq.rq_principal.pr_uid = (sel & 8) ? 0 : 1000;
		rq.rq_principal.pr_gid = rq.rq_principal.pr_uid;
		rq.rq_principal.pr_ngroups = 1;
		rq.rq_principal.pr_groups[0] = rq.rq_principal.pr_gid;
		strcpy(rq.rq_principal.pr_via, "unix");
	}
	/* Bit 4: resolved once up front, as server/ does, or by the router. */
	if (sel & 16)
		api_route_resolve(&rq);
	memset(&rs, 0, sizeof(rs));
	api_handle(ctx, &rq, &rs);
	if (rs.rs_status < 100 || rs.rs_status > 599)
		abort();
	/* What says it is JSON is JSON (problem+json included). */
	if (rs.rs_body != NULL && rs.rs_content_type != NULL &&
	    strstr(rs.rs_content_type, "json") != NULL) {
		body = json_loadb(rs.rs_body, rs.rs_body_len, JSON_DECODE_ANY,
				  NULL);
		if (!json_is_object(body) && !json_is_array(body))
			abort();
	}
	json_decref(body);
	api_response_clear(&rs);
	free(target);
	return 0;
}
