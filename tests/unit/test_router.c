/*
 * api/router.c: the one place that checks a request before a handler runs.
 * Existence (404), method (405 with Allow), authentication (401 with
 * WWW-Authenticate), Content-Type (415), JSON syntax (400), and the route
 * table's own promises (api_routes_check,
 * api_method_parse), and which requests run on the HTTP thread
 * (api_route_inline).
 *
 * Requests go through api_handle() over a real database and registry in a
 * mkdtemp directory, the way server/ calls it; request headers come from a
 * small table looked up through rq_header.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>

#include "api/api.h"
#include "api/routes.h"
#include "core/vmreg.h"
#include "db/db.h"

#include "tfixture.h"

#define OPENAPI_TEXT "openapi: 3.1.0\ninfo:\n  title: test\n"

/* A minimal valid VM spec (every other field has a default). */
#define SPEC_WEB1                                                              \
	"{\"name\":\"web1\",\"boot\":{\"kind\":\"flat\",\"image\":"            \
	"\"hello.bin\"}}"

struct fx {
	struct tfixture f_tf; /* first */
	struct vmreg *f_reg;
	struct api_context f_ctx;
};

static int
setup(void **state)
{
	struct fx *fx = tfixture_new(sizeof(*fx));

	if (fx == NULL)
		return -1;
	if (vmreg_open(&fx->f_reg, fx->f_tf.tf_db) != 0) {
		tfixture_free(fx);
		return -1;
	}
	fx->f_ctx.ac_vmreg = fx->f_reg;
	fx->f_ctx.ac_db = fx->f_tf.tf_db;
	fx->f_ctx.ac_driver = "sim";
	fx->f_ctx.ac_driver_reason = "test";
	fx->f_ctx.ac_max_vcpus = 4;
	fx->f_ctx.ac_max_memory_mib = 1024;
	fx->f_ctx.ac_openapi = OPENAPI_TEXT;
	fx->f_ctx.ac_openapi_len = strlen(OPENAPI_TEXT);
	fx->f_ctx.ac_started_at_ms = 1700000000000ULL;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	vmreg_close(fx->f_reg);
	tfixture_free(fx);
	return 0;
}

/* A request as server/ would build it, with its own header table. */
#define REQ_MAX_HEADERS 8

struct req {
	struct api_request r_rq;
	const char *r_hname[REQ_MAX_HEADERS];
	const char *r_hvalue[REQ_MAX_HEADERS];
	int r_nh;
};

/* Header names are case-insensitive, as libmicrohttpd looks them up. */
static const char *
req_lookup(void *cls, const char *name)
{
	const struct req *r = cls;
	int i;

	for (i = 0; i < r->r_nh; i++)
		if (strcasecmp(r->r_hname[i], name) == 0)
			return r->r_hvalue[i];
	return NULL;
}

/* known: a principal from a Unix socket (uid 1000); else anonymous TCP. */
static void
req_init(struct req *r, const char *method, const char *path, int known)
{
	memset(r, 0, sizeof(*r));
	r->r_rq.rq_method = api_method_parse(method);
	r->r_rq.rq_method_name = method;
	r->r_rq.rq_path = path;
	r->r_rq.rq_header = req_lookup;
	r->r_rq.rq_header_cls = r;
	r->r_rq.rq_body_fd = -1; /* no spooled upload */
	if (known) {
		r->r_rq.rq_principal.pr_known = 1;
		r->r_rq.rq_principal.pr_uid = 1000;
		r->r_rq.rq_principal.pr_gid = 1000;
		r->r_rq.rq_principal.pr_ngroups = 1;
		r->r_rq.rq_principal.pr_groups[0] = 1000;
		r->r_rq.rq_principal.pr_pid = 4242;
		snprintf(r->r_rq.rq_principal.pr_via,
			 sizeof(r->r_rq.rq_principal.pr_via), "unix");
	}
}

static void
req_header(struct req *r, const char *name, const char *value)
{
	assert_true(r->r_nh < REQ_MAX_HEADERS);
	r->r_hname[r->r_nh] = name;
	r->r_hvalue[r->r_nh] = value;
	r->r_nh++;
}

/* body NULL: no body; server/ hands a NUL-terminated copy otherwise. */
static void
req_body(struct req *r, const char *content_type, const char *body)
{
	if (content_type != NULL)
		req_header(r, "Content-Type", content_type);
	r->r_rq.rq_body = body;
	r->r_rq.rq_body_len = body != NULL ? strlen(body) : 0;
}

static void
handle(struct fx *fx, struct req *r, struct api_response *rs)
{
	memset(rs, 0, sizeof(*rs));
	api_handle(&fx->f_ctx, &r->r_rq, rs);
}

/* One-shot request without body. */
static void
call(struct fx *fx, const char *method, const char *path, int known,
     struct api_response *rs)
{
	struct req r;

	req_init(&r, method, path, known);
	handle(fx, &r, rs);
}

/* One-shot request with a body of the given type (NULL: no header). */
static void
call_body(struct fx *fx, const char *method, const char *path,
	  const char *content_type, const char *body, struct api_response *rs)
{
	struct req r;

	req_init(&r, method, path, 1);
	req_body(&r, content_type, body);
	handle(fx, &r, rs);
}

/* The value of response header name, or NULL; fails on duplicates. */
static const char *
resp_header(const struct api_response *rs, const char *name)
{
	const char *found = NULL;
	int i;

	for (i = 0; i < rs->rs_nheaders; i++) {
		if (strcasecmp(rs->rs_headers[i].h_name, name) != 0)
			continue;
		if (found != NULL)
			fail_msg("header %s answered twice", name);
		found = rs->rs_headers[i].h_value;
	}
	return found;
}

static json_t *
resp_json(const struct api_response *rs)
{
	json_error_t jerr;
	json_t *doc;

	assert_non_null(rs->rs_body);
	doc = json_loadb(rs->rs_body, rs->rs_body_len, 0, &jerr);
	if (doc == NULL)
		fail_msg("body is not JSON (%s): %.*s", jerr.text,
			 (int)rs->rs_body_len, rs->rs_body);
	return doc;
}

/*
 * Checks an RFC 9457 problem of the given status and returns its body
 * (a new reference) for further checks.
 */
static json_t *
assert_problem(const struct api_response *rs, int status)
{
	json_t *doc;
	const char *type;

	if (rs->rs_status != status)
		fail_msg("status %d, want %d; body %.*s", rs->rs_status, status,
			 (int)rs->rs_body_len,
			 rs->rs_body != NULL ? rs->rs_body : "");
	assert_non_null(rs->rs_content_type);
	assert_string_equal(rs->rs_content_type, "application/problem+json");
	doc = resp_json(rs);
	assert_true(json_is_object(doc));
	type = json_string_value(json_object_get(doc, "type"));
	assert_non_null(type);
	assert_true(type[0] != '\0');
	assert_true(json_is_string(json_object_get(doc, "title")));
	assert_true(json_is_string(json_object_get(doc, "detail")));
	assert_true(json_is_integer(json_object_get(doc, "status")));
	assert_int_equal(json_integer_value(json_object_get(doc, "status")),
			 status);
	return doc;
}

static void
check_problem(const struct api_response *rs, int status)
{
	json_decref(assert_problem(rs, status));
}

static const char *
detail_of(const json_t *problem)
{
	return json_string_value(json_object_get(problem, "detail"));
}

static void
assert_contains(const char *haystack, const char *needle)
{
	assert_non_null(haystack);
	if (strstr(haystack, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* Defines VM web1 through POST /v1/vms. */
static void
create_web1(struct fx *fx)
{
	struct api_response rs;

	call_body(fx, "POST", "/v1/vms", "application/json", SPEC_WEB1, &rs);
	if (rs.rs_status != 201)
		fail_msg("creating web1: %d %.*s", rs.rs_status,
			 (int)rs.rs_body_len, rs.rs_body ? rs.rs_body : "");
	api_response_clear(&rs);
}

static void
check_unauthorized(const struct api_response *rs)
{
	const char *www = resp_header(rs, "WWW-Authenticate");

	check_problem(rs, 401);
	assert_non_null(www);
	assert_int_equal(strncasecmp(www, "Bearer", 6), 0);
}

/* 404 */

static void
test_router__unknown_path_is_404_for_a_known_principal(void **state)
{
	static const char *const paths[] = {
	    "/",        "/v2",     "/v1/nope",  "/v1/vms/web1/nope",
	    "/v1/vmsx", "/V1/vms", "/metricsx",
	};
	struct api_response rs;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call(*state, "GET", paths[i], 1, &rs);
		check_problem(&rs, 404);
		api_response_clear(&rs);
	}
}

static void
test_router__trailing_slash_is_404(void **state)
{
	static const char *const paths[] = {
	    "/v1/",          "/v1/vms/", "/v1/health/",
	    "/v1/vms/web1/", "//v1/vms", "/v1//vms",
	};
	struct api_response rs;
	size_t i;

	create_web1(*state);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call(*state, "GET", paths[i], 1, &rs);
		if (rs.rs_status != 404)
			fail_msg("GET %s: %d, want 404", paths[i],
				 rs.rs_status);
		check_problem(&rs, 404);
		api_response_clear(&rs);
	}
}

static void
test_router__empty_path_segment_does_not_match_a_parameter(void **state)
{
	struct api_response rs;

	call(*state, "DELETE", "/v1/vms/", 1, &rs);
	check_problem(&rs, 404);
	api_response_clear(&rs);
}

/* 401 */

static void
test_router__anonymous_tcp_caller_gets_401(void **state)
{
	struct api_response rs;

	call(*state, "GET", "/v1/vms", 0, &rs);
	check_unauthorized(&rs);
	api_response_clear(&rs);
}

/* Every (pattern, method) of the table but GET /v1/health, plus HEAD. */
/* The routes anyone may call: health, and where problem types lead. */
static int
router_public_pattern(const char *pattern)
{
	return strcmp(pattern, "/v1/health") == 0 ||
	       strncmp(pattern, "/v1/problems", 12) == 0;
}

static void
test_router__anonymous_caller_gets_401_on_every_route_but_the_public_ones(
    void **state)
{
	struct fx *fx = *state;
	size_t i, n = api_routes_count(), tried = 0;

	create_web1(fx);
	for (i = 0; i < n; i++) {
		struct api_route_info ri = api_routes_at(i);
		char path[256], *brace;
		struct api_response rs;
		struct req r;
		int m;

		if (router_public_pattern(ri.ri_pattern))
			continue;
		/* Fill each {param} with a plausible value. */
		snprintf(path, sizeof(path), "%s", ri.ri_pattern);
		while ((brace = strchr(path, '{')) != NULL) {
			char *close = strchr(brace, '}');
			char rest[256];

			assert_non_null(close);
			snprintf(rest, sizeof(rest), "%s", close + 1);
			snprintf(brace, sizeof(path) - (size_t)(brace - path),
				 "web1%s", rest);
		}
		for (m = 0; m < 2; m++) {
			const char *method = NULL;

			if (m == 1 && ri.ri_method != API_GET)
				break;
			switch (m == 1 ? API_HEAD : ri.ri_method) {
			case API_GET:
				method = "GET";
				break;
			case API_HEAD:
				method = "HEAD";
				break;
			case API_POST:
				method = "POST";
				break;
			case API_PUT:
				method = "PUT";
				break;
			case API_PATCH:
				method = "PATCH";
				break;
			case API_DELETE:
				method = "DELETE";
				break;
			}
			assert_non_null(method);
			req_init(&r, method, path, 0);
			/* A body that would pass every other check. */
			req_body(&r,
				 ri.ri_method == API_PATCH
				     ? "application/merge-patch+json"
				     : "application/json",
				 ri.ri_method == API_PATCH ? "{}" : SPEC_WEB1);
			handle(fx, &r, &rs);
			if (rs.rs_status != 401)
				fail_msg("anonymous %s %s: %d, want 401",
					 method, path, rs.rs_status);
			check_unauthorized(&rs);
			api_response_clear(&rs);
			tried++;
		}
	}
	assert_true(tried >= n - 1);
	/* Nothing the anonymous caller sent changed the VM. */
	assert_int_equal(vmreg_count(fx->f_reg), 1);
}

static void
test_router__anonymous_caller_gets_401_for_unknown_paths_too(void **state)
{
	struct api_response rs;

	/* Without a token, not even which paths exist is revealed. */
	call(*state, "GET", "/v1/nope", 0, &rs);
	check_unauthorized(&rs);
	api_response_clear(&rs);
}

static void
test_router__anonymous_caller_gets_401_not_405(void **state)
{
	struct api_response rs;

	call(*state, "DELETE", "/v1/vms", 0, &rs);
	check_unauthorized(&rs);
	assert_null(resp_header(&rs, "Allow"));
	api_response_clear(&rs);
}

static void
test_router__anonymous_health_check_answers(void **state)
{
	struct api_response rs;
	json_t *doc;

	call(*state, "GET", "/v1/health", 0, &rs);
	assert_int_equal(rs.rs_status, 200);
	assert_string_equal(rs.rs_content_type, "application/json");
	doc = resp_json(&rs);
	assert_string_equal(json_string_value(json_object_get(doc, "status")),
			    "ok");
	json_decref(doc);
	assert_null(resp_header(&rs, "WWW-Authenticate"));
	api_response_clear(&rs);
}

/* The health check asks the driver each time: kvm is ok only where
 * /dev/kvm opens, and says why not. */
static void
test_router__health_asks_the_driver(void **state)
{
	struct fx *fx = *state;
	struct api_response rs;
	int kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	json_t *doc;

	if (kvm_fd >= 0)
		close(kvm_fd);
	fx->f_ctx.ac_driver = "kvm";
	call(fx, "GET", "/v1/health", 0, &rs);
	doc = resp_json(&rs);
	assert_string_equal(json_string_value(json_object_get(doc, "database")),
			    "ok");
	if (kvm_fd >= 0) {
		assert_int_equal(rs.rs_status, 200);
		assert_string_equal(
		    json_string_value(json_object_get(doc, "driver")), "ok");
	} else {
		assert_int_equal(rs.rs_status, 503);
		assert_string_equal(
		    json_string_value(json_object_get(doc, "driver")),
		    "unavailable");
		assert_non_null(
		    strstr(json_string_value(json_object_get(doc, "detail")),
			   "/dev/kvm"));
	}
	json_decref(doc);
	api_response_clear(&rs);
	/* A backend this build does not know is no driver at all. */
	fx->f_ctx.ac_driver = "bhyve";
	call(fx, "GET", "/v1/health", 0, &rs);
	assert_int_equal(rs.rs_status, 503);
	api_response_clear(&rs);
}

static void
test_router__anonymous_head_of_health_answers(void **state)
{
	struct api_response rs;

	call(*state, "HEAD", "/v1/health", 0, &rs);
	assert_int_equal(rs.rs_status, 200);
	assert_string_equal(rs.rs_content_type, "application/json");
	api_response_clear(&rs);
}

static void
test_router__anonymous_post_to_health_is_401(void **state)
{
	struct api_response rs;

	/* Only GET (and HEAD) of /v1/health are public. */
	call(*state, "POST", "/v1/health", 0, &rs);
	check_unauthorized(&rs);
	api_response_clear(&rs);
}

/* 405 */

static void
test_router__wrong_method_on_vms_is_405_with_allow(void **state)
{
	static const char *const methods[] = {"PUT", "PATCH", "DELETE"};
	struct api_response rs;
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		call(*state, methods[i], "/v1/vms", 1, &rs);
		check_problem(&rs, 405);
		assert_non_null(resp_header(&rs, "Allow"));
		assert_string_equal(resp_header(&rs, "Allow"),
				    "GET, HEAD, POST");
		api_response_clear(&rs);
	}
}

static void
test_router__wrong_method_on_one_vm_is_405_with_allow(void **state)
{
	struct api_response rs;

	create_web1(*state);
	call(*state, "POST", "/v1/vms/web1", 1, &rs);
	check_problem(&rs, 405);
	assert_non_null(resp_header(&rs, "Allow"));
	assert_string_equal(resp_header(&rs, "Allow"),
			    "GET, HEAD, PUT, PATCH, DELETE");
	api_response_clear(&rs);
}

static void
test_router__wrong_method_on_health_is_405_with_allow(void **state)
{
	struct api_response rs;

	call(*state, "DELETE", "/v1/health", 1, &rs);
	check_problem(&rs, 405);
	assert_non_null(resp_header(&rs, "Allow"));
	assert_string_equal(resp_header(&rs, "Allow"), "GET, HEAD");
	api_response_clear(&rs);
}

static void
test_router__unknown_method_on_a_route_is_405(void **state)
{
	struct api_response rs;

	/* api_method_parse gives 0 for OPTIONS: no route answers it. */
	call(*state, "OPTIONS", "/v1/vms", 1, &rs);
	check_problem(&rs, 405);
	assert_non_null(resp_header(&rs, "Allow"));
	assert_string_equal(resp_header(&rs, "Allow"), "GET, HEAD, POST");
	api_response_clear(&rs);
}

static void
test_router__405_comes_before_content_type_checks(void **state)
{
	struct api_response rs;

	call_body(*state, "POST", "/v1/vms/web1", "text/plain", "x", &rs);
	check_problem(&rs, 405);
	api_response_clear(&rs);
}

/* HEAD */

static void
test_router__head_is_answered_like_get(void **state)
{
	static const char *const paths[] = {"/v1", "/v1/vms", "/v1/vms/web1",
					    "/v1/openapi.yaml"};
	struct api_response get, head;
	size_t i;

	create_web1(*state);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call(*state, "GET", paths[i], 1, &get);
		call(*state, "HEAD", paths[i], 1, &head);
		if (head.rs_status != get.rs_status)
			fail_msg("%s: HEAD %d, GET %d", paths[i],
				 head.rs_status, get.rs_status);
		assert_int_equal(get.rs_status, 200);
		assert_string_equal(head.rs_content_type, get.rs_content_type);
		if (resp_header(&get, "ETag") != NULL) {
			assert_non_null(resp_header(&head, "ETag"));
			assert_string_equal(resp_header(&head, "ETag"),
					    resp_header(&get, "ETag"));
		}
		api_response_clear(&get);
		api_response_clear(&head);
	}
}

static void
test_router__head_of_a_missing_vm_is_404_like_get(void **state)
{
	struct api_response rs;

	call(*state, "HEAD", "/v1/vms/nosuch", 1, &rs);
	check_problem(&rs, 404);
	api_response_clear(&rs);
}

static void
test_router__handler_gets_the_path_parameter(void **state)
{
	struct api_response rs;
	json_t *doc;

	create_web1(*state);
	call(*state, "GET", "/v1/vms/web1", 1, &rs);
	assert_int_equal(rs.rs_status, 200);
	doc = resp_json(&rs);
	assert_string_equal(json_string_value(json_object_get(doc, "name")),
			    "web1");
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_router__openapi_is_served_as_is(void **state)
{
	struct api_response rs;

	call(*state, "GET", "/v1/openapi.yaml", 1, &rs);
	assert_int_equal(rs.rs_status, 200);
	assert_string_equal(rs.rs_content_type, "application/yaml");
	assert_int_equal(rs.rs_body_len, strlen(OPENAPI_TEXT));
	assert_memory_equal(rs.rs_body, OPENAPI_TEXT, strlen(OPENAPI_TEXT));
	api_response_clear(&rs);
}

static void
test_router__root_says_who_is_asking(void **state)
{
	struct api_response rs;
	json_t *doc, *pr;

	call(*state, "GET", "/v1", 1, &rs);
	assert_int_equal(rs.rs_status, 200);
	doc = resp_json(&rs);
	pr = json_object_get(doc, "principal");
	assert_int_equal(json_integer_value(json_object_get(pr, "uid")), 1000);
	assert_string_equal(json_string_value(json_object_get(pr, "via")),
			    "unix");
	json_decref(doc);
	api_response_clear(&rs);
}

/* 415 */

static void
test_router__post_without_content_type_is_415(void **state)
{
	struct fx *fx = *state;
	struct api_response rs;

	call_body(fx, "POST", "/v1/vms", NULL, SPEC_WEB1, &rs);
	check_problem(&rs, 415);
	api_response_clear(&rs);
	assert_int_equal(vmreg_count(fx->f_reg), 0);
}

static void
test_router__post_with_wrong_content_type_is_415(void **state)
{
	static const char *const types[] = {
	    "text/plain",
	    "application/x-www-form-urlencoded",
	    "application/jsonx",
	    "application/merge-patch+json",
	    "application/problem+json",
	    "",
	};
	struct fx *fx = *state;
	struct api_response rs;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		call_body(fx, "POST", "/v1/vms", types[i], SPEC_WEB1, &rs);
		if (rs.rs_status != 415)
			fail_msg("Content-Type \"%s\": %d, want 415", types[i],
				 rs.rs_status);
		check_problem(&rs, 415);
		api_response_clear(&rs);
	}
	assert_int_equal(vmreg_count(fx->f_reg), 0);
}

static void
test_router__post_with_json_and_charset_is_accepted(void **state)
{
	struct api_response rs;

	call_body(*state, "POST", "/v1/vms", "application/json; charset=utf-8",
		  SPEC_WEB1, &rs);
	assert_int_equal(rs.rs_status, 201);
	assert_non_null(resp_header(&rs, "ETag"));
	api_response_clear(&rs);
}

static void
test_router__media_type_is_compared_without_case(void **state)
{
	struct api_response rs;

	/* RFC 9110 8.3.1: type and subtype are case-insensitive. */
	call_body(*state, "POST", "/v1/vms", "Application/JSON", SPEC_WEB1,
		  &rs);
	assert_int_equal(rs.rs_status, 201);
	api_response_clear(&rs);
}

static void
test_router__put_with_wrong_content_type_is_415(void **state)
{
	struct api_response rs;

	call_body(*state, "PUT", "/v1/vms/web1", "text/json", SPEC_WEB1, &rs);
	check_problem(&rs, 415);
	api_response_clear(&rs);
}

static void
test_router__patch_with_application_json_is_415(void **state)
{
	struct api_response rs;
	json_t *doc;

	create_web1(*state);
	call_body(*state, "PATCH", "/v1/vms/web1", "application/json",
		  "{\"vcpus\":2}", &rs);
	doc = assert_problem(&rs, 415);
	/* The detail names the type to send instead. */
	assert_contains(detail_of(doc), "application/merge-patch+json");
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_router__patch_with_merge_patch_type_is_accepted(void **state)
{
	struct api_response rs;
	json_t *doc;

	create_web1(*state);
	call_body(*state, "PATCH", "/v1/vms/web1",
		  "application/merge-patch+json", "{\"vcpus\":2}", &rs);
	assert_int_equal(rs.rs_status, 200);
	doc = resp_json(&rs);
	assert_int_equal(json_integer_value(json_object_get(doc, "vcpus")), 2);
	json_decref(doc);
	api_response_clear(&rs);
}

/* 400 */

static void
test_router__malformed_json_is_400_with_line_and_column(void **state)
{
	struct api_response rs;
	json_t *doc;
	const char *detail;
	int line = 0, column = 0;

	/* The error is the "}" on line 2, where a value should be. */
	call_body(*state, "POST", "/v1/vms", "application/json",
		  "{\n  \"name\": }", &rs);
	doc = assert_problem(&rs, 400);
	detail = detail_of(doc);
	assert_contains(detail, "line ");
	assert_contains(detail, "column ");
	if (sscanf(strstr(detail, "line "), "line %d", &line) != 1 ||
	    sscanf(strstr(detail, "column "), "column %d", &column) != 1)
		fail_msg("no numbers in \"%s\"", detail);
	assert_int_equal(line, 2);
	assert_int_equal(column, 11);
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_router__trailing_garbage_after_json_is_400(void **state)
{
	struct fx *fx = *state;
	struct api_response rs;

	call_body(fx, "POST", "/v1/vms", "application/json", SPEC_WEB1 " x",
		  &rs);
	check_problem(&rs, 400);
	api_response_clear(&rs);
	assert_int_equal(vmreg_count(fx->f_reg), 0);
}

static void
test_router__duplicate_keys_in_json_are_400(void **state)
{
	struct fx *fx = *state;
	struct api_response rs;

	call_body(fx, "POST", "/v1/vms", "application/json",
		  "{\"name\":\"web1\",\"name\":\"web2\",\"boot\":{\"kind\":"
		  "\"flat\",\"image\":\"hello.bin\"}}",
		  &rs);
	check_problem(&rs, 400);
	api_response_clear(&rs);
	assert_int_equal(vmreg_count(fx->f_reg), 0);
}

static void
test_router__duplicate_keys_in_a_nested_object_are_400(void **state)
{
	struct api_response rs;

	create_web1(*state);
	call_body(*state, "PATCH", "/v1/vms/web1",
		  "application/merge-patch+json",
		  "{\"labels\":{\"a\":\"1\",\"a\":\"2\"}}", &rs);
	check_problem(&rs, 400);
	api_response_clear(&rs);
}

static void
test_router__empty_body_is_400(void **state)
{
	struct api_response rs;

	call_body(*state, "POST", "/v1/vms", "application/json", "", &rs);
	check_problem(&rs, 400);
	api_response_clear(&rs);

	call_body(*state, "POST", "/v1/vms", "application/json", NULL, &rs);
	check_problem(&rs, 400);
	api_response_clear(&rs);

	call_body(*state, "PUT", "/v1/vms/web1", "application/json", NULL, &rs);
	check_problem(&rs, 400);
	api_response_clear(&rs);
}

static void
test_router__too_many_query_arguments_are_400(void **state)
{
	struct api_response rs;
	struct req r;

	req_init(&r, "GET", "/v1/vms", 1);
	r.r_rq.rq_query_overflow = 1;
	handle(*state, &r, &rs);
	check_problem(&rs, 400);
	api_response_clear(&rs);
}

/* The table */

static void
test_router__route_table_passes_its_check(void **state)
{
	assert_int_equal(api_routes_check(), 0);
}

static void
test_router__route_table_lists_single_methods_and_no_head(void **state)
{
	size_t i, n = api_routes_count();

	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		struct api_route_info ri = api_routes_at(i);
		unsigned m = (unsigned)ri.ri_method;

		assert_non_null(ri.ri_pattern);
		assert_int_equal(ri.ri_pattern[0], '/');
		assert_true(m != 0 && (m & (m - 1)) == 0);
		assert_int_not_equal(m, API_HEAD);
	}
}

/*
 * A look at the route of (m, path) through fn: the same answer whether
 * the request's route was resolved first (as server/ does) or not.
 */
static int
route_look(int (*fn)(const struct api_request *), enum api_method m,
	   const char *path)
{
	struct api_request rq;
	int unresolved;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = m;
	rq.rq_path = path;
	unresolved = fn(&rq);
	api_route_resolve(&rq);
	assert_int_equal(fn(&rq), unresolved);
	return unresolved;
}

#define ROUTE_PUBLIC(m, p) route_look(api_route_public, (m), (p))
#define ROUTE_UPLOADS(m, p) route_look(api_route_uploads, (m), (p))

/*
 * api_route_inline() for m path with fx's context, unresolved and
 * resolved (both must agree); a wrong answer names the request.
 */
static void
assert_inline(const struct api_context *ctx, unsigned m, const char *path,
	      int want)
{
	struct api_request rq;
	int got;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = m;
	rq.rq_path = path;
	got = api_route_inline(ctx, &rq);
	api_route_resolve(&rq);
	if (got != want || api_route_inline(ctx, &rq) != want)
		fail_msg("api_route_inline(method %u, %s) is %d, want %d", m,
			 path, got, want);
}

/* Reads and answers without a database write: always on the HTTP thread. */
static const struct {
	unsigned ir_method;
	const char *ir_path;
} never_blocking[] = {
    {API_GET, "/v1"},
    {API_GET, "/v1/vms"},
    {API_HEAD, "/v1/vms"},
    {API_GET, "/v1/vms/web1"},
    {API_GET, "/v1/vms/web1/console"},
    {API_POST, "/v1/vms/web1/console"},
    {API_GET, "/v1/images/hello.bin"},
    {API_GET, "/v1/tokens"},
    /* Unknown paths and methods: the 404 or 405 is answered at once. */
    {API_GET, "/v1/nope"},
    {API_POST, "/v1/vms/web1"},
    {API_DELETE, "/v1/vms"},
    {API_POST, "/v1/vms/"},
    {0, "/v1/vms"},
};

/* Routes whose only wait is their database commit. */
static const struct {
	unsigned ir_method;
	const char *ir_path;
} db_writes[] = {
    {API_POST, "/v1/vms"},
    {API_PUT, "/v1/vms/web1"},
    {API_PATCH, "/v1/vms/web1"},
    {API_POST, "/v1/vms/web1/start"},
};

/* Routes that wait on something besides a commit: always a worker's. */
static const struct {
	unsigned ir_method;
	const char *ir_path;
} other_waits[] = {
    {API_GET, "/v1/health"},
    /* It may wait for the requests in flight on its VM (vm_guard.h). */
    {API_DELETE, "/v1/vms/web1"},
    {API_POST, "/v1/vms/web1/stop"},
    {API_POST, "/v1/vms/web1/reset"},
    {API_POST, "/v1/vms/web1/pause"},
    {API_POST, "/v1/vms/web1/resume"},
    {API_PUT, "/v1/images/hello.bin"},
    {API_DELETE, "/v1/images/hello.bin"},
    {API_GET, "/v1/vms/web1/vcpus"},
    {API_GET, "/v1/vms/web1/vcpus/0/registers"},
    {API_PUT, "/v1/vms/web1/vcpus/0/registers"},
    {API_POST, "/v1/vms/web1/vcpus/0/interrupt"},
    {API_GET, "/v1/vms/web1/params"},
    {API_POST, "/v1/vms/web1/memory/protect"},
    {API_POST, "/v1/tokens"},
    {API_DELETE, "/v1/tokens/1"},
    {API_PUT, "/v1/jails/j1"},
    {API_DELETE, "/v1/jails/j1"},
    {API_GET, "/v1/audit"},
};

#define NITEMS(a) (sizeof(a) / sizeof((a)[0]))

static void
test_router__reads_and_unknown_routes_run_inline(void **state)
{
	struct fx *fx = *state;
	size_t i;

	for (i = 0; i < NITEMS(never_blocking); i++)
		assert_inline(&fx->f_ctx, never_blocking[i].ir_method,
			      never_blocking[i].ir_path, 1);
}

static void
test_router__database_writes_run_inline_while_no_commit_is_under_way(
    void **state)
{
	struct fx *fx = *state;
	size_t i;

	assert_int_equal(db_writer_busy(fx->f_tf.tf_db), 0);
	for (i = 0; i < NITEMS(db_writes); i++)
		assert_inline(&fx->f_ctx, db_writes[i].ir_method,
			      db_writes[i].ir_path, 1);
}

/* api_route_inline() of m path, resolved, without asserting. */
static int
route_inline(const struct api_context *ctx, unsigned m, const char *path)
{
	struct api_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = m;
	rq.rq_path = path;
	api_route_resolve(&rq);
	return api_route_inline(ctx, &rq);
}

static void
test_router__database_writes_go_to_a_worker_while_a_commit_is_under_way(
    void **state)
{
	struct fx *fx = *state;
	int writes[NITEMS(db_writes)], reads[NITEMS(never_blocking)];
	struct tgate g;
	size_t i;

	/* Asked while the writer is held, checked after it is let go: a
	 * failure must not leave teardown waiting for the writer. */
	tgate_close(&g, fx->f_tf.tf_db);
	for (i = 0; i < NITEMS(db_writes); i++)
		writes[i] = route_inline(&fx->f_ctx, db_writes[i].ir_method,
					 db_writes[i].ir_path);
	for (i = 0; i < NITEMS(never_blocking); i++)
		reads[i] = route_inline(&fx->f_ctx, never_blocking[i].ir_method,
					never_blocking[i].ir_path);
	tgate_open(&g);
	for (i = 0; i < NITEMS(db_writes); i++)
		if (writes[i] != 0)
			fail_msg("method %u %s runs inline during a commit",
				 db_writes[i].ir_method, db_writes[i].ir_path);
	/* Reads do not wait for the writer. */
	for (i = 0; i < NITEMS(never_blocking); i++)
		if (reads[i] != 1)
			fail_msg("method %u %s goes to a worker during a "
				 "commit",
				 never_blocking[i].ir_method,
				 never_blocking[i].ir_path);
	/* The commit is over: inline again. */
	assert_inline(&fx->f_ctx, API_POST, "/v1/vms", 1);
}

static void
test_router__routes_that_wait_on_more_than_a_commit_go_to_a_worker(void **state)
{
	struct fx *fx = *state;
	size_t i;

	assert_int_equal(db_writer_busy(fx->f_tf.tf_db), 0);
	for (i = 0; i < NITEMS(other_waits); i++)
		assert_inline(&fx->f_ctx, other_waits[i].ir_method,
			      other_waits[i].ir_path, 0);
}

static void
test_router__database_writes_without_a_database_go_to_a_worker(void **state)
{
	struct fx *fx = *state;
	struct api_context ctx = fx->f_ctx;

	ctx.ac_db = NULL;
	assert_inline(&ctx, API_POST, "/v1/vms", 0);
	assert_inline(&ctx, API_DELETE, "/v1/vms/web1", 0);
	assert_inline(&ctx, API_GET, "/v1/vms", 1);
}

static void
test_router__only_health_and_problem_types_are_public(void **state)
{
	size_t i, n = api_routes_count();

	assert_true(ROUTE_PUBLIC(API_GET, "/v1/health"));
	assert_true(ROUTE_PUBLIC(API_HEAD, "/v1/health"));
	assert_false(ROUTE_PUBLIC(API_POST, "/v1/health"));
	assert_false(ROUTE_PUBLIC(API_GET, "/v1/health/"));
	assert_false(ROUTE_PUBLIC(API_GET, "/v1/nope"));
	assert_true(ROUTE_PUBLIC(API_GET, "/v1/problems"));
	assert_true(ROUTE_PUBLIC(API_GET, "/v1/problems/not-found"));
	assert_false(ROUTE_PUBLIC(API_DELETE, "/v1/problems/not-found"));
	/* /metrics passes the router without a principal: its handler lets
	 * in the metrics token and --metrics-anonymous, and answers 401
	 * itself otherwise (the test above, and tests/api/test_metrics.c). */
	assert_true(ROUTE_PUBLIC(API_GET, "/metrics"));
	/* Every other route needs a principal. */
	for (i = 0; i < n; i++) {
		struct api_route_info ri = api_routes_at(i);

		if (router_public_pattern(ri.ri_pattern) ||
		    strcmp(ri.ri_pattern, "/metrics") == 0)
			continue;
		if (ROUTE_PUBLIC(ri.ri_method, ri.ri_pattern))
			fail_msg("%s is public", ri.ri_pattern);
	}
}

static void
test_router__only_image_uploads_are_spooled(void **state)
{
	assert_true(ROUTE_UPLOADS(API_PUT, "/v1/images/hello.bin"));
	assert_false(ROUTE_UPLOADS(API_GET, "/v1/images/hello.bin"));
	assert_false(ROUTE_UPLOADS(API_PUT, "/v1/vms/web1"));
	assert_false(ROUTE_UPLOADS(API_POST, "/v1/vms"));
	assert_false(ROUTE_UPLOADS(API_PUT, "/v1/images"));
	assert_false(ROUTE_UPLOADS(API_PUT, "/v1/images/"));
}

static void
test_router__method_names_parse_exactly(void **state)
{
	assert_int_equal(api_method_parse("GET"), API_GET);
	assert_int_equal(api_method_parse("HEAD"), API_HEAD);
	assert_int_equal(api_method_parse("POST"), API_POST);
	assert_int_equal(api_method_parse("PUT"), API_PUT);
	assert_int_equal(api_method_parse("PATCH"), API_PATCH);
	assert_int_equal(api_method_parse("DELETE"), API_DELETE);

	/* Method names are case-sensitive (RFC 9110 9.1). */
	assert_int_equal(api_method_parse("get"), 0);
	assert_int_equal(api_method_parse("OPTIONS"), 0);
	assert_int_equal(api_method_parse("TRACE"), 0);
	assert_int_equal(api_method_parse("GETX"), 0);
	assert_int_equal(api_method_parse(""), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_router__unknown_path_is_404_for_a_known_principal),
	    T(test_router__trailing_slash_is_404),
	    T(test_router__empty_path_segment_does_not_match_a_parameter),
	    T(test_router__anonymous_tcp_caller_gets_401),
	    T(test_router__anonymous_caller_gets_401_on_every_route_but_the_public_ones),
	    T(test_router__anonymous_caller_gets_401_for_unknown_paths_too),
	    T(test_router__anonymous_caller_gets_401_not_405),
	    T(test_router__anonymous_health_check_answers),
	    T(test_router__health_asks_the_driver),
	    T(test_router__anonymous_head_of_health_answers),
	    T(test_router__anonymous_post_to_health_is_401),
	    T(test_router__wrong_method_on_vms_is_405_with_allow),
	    T(test_router__wrong_method_on_one_vm_is_405_with_allow),
	    T(test_router__wrong_method_on_health_is_405_with_allow),
	    T(test_router__unknown_method_on_a_route_is_405),
	    T(test_router__405_comes_before_content_type_checks),
	    T(test_router__head_is_answered_like_get),
	    T(test_router__head_of_a_missing_vm_is_404_like_get),
	    T(test_router__handler_gets_the_path_parameter),
	    T(test_router__openapi_is_served_as_is),
	    T(test_router__root_says_who_is_asking),
	    T(test_router__post_without_content_type_is_415),
	    T(test_router__post_with_wrong_content_type_is_415),
	    T(test_router__post_with_json_and_charset_is_accepted),
	    T(test_router__media_type_is_compared_without_case),
	    T(test_router__put_with_wrong_content_type_is_415),
	    T(test_router__patch_with_application_json_is_415),
	    T(test_router__patch_with_merge_patch_type_is_accepted),
	    T(test_router__malformed_json_is_400_with_line_and_column),
	    T(test_router__trailing_garbage_after_json_is_400),
	    T(test_router__duplicate_keys_in_json_are_400),
	    T(test_router__duplicate_keys_in_a_nested_object_are_400),
	    T(test_router__empty_body_is_400),
	    T(test_router__too_many_query_arguments_are_400),
	    T(test_router__route_table_passes_its_check),
	    T(test_router__route_table_lists_single_methods_and_no_head),
	    T(test_router__reads_and_unknown_routes_run_inline),
	    T(test_router__database_writes_run_inline_while_no_commit_is_under_way),
	    T(test_router__database_writes_go_to_a_worker_while_a_commit_is_under_way),
	    T(test_router__routes_that_wait_on_more_than_a_commit_go_to_a_worker),
	    T(test_router__database_writes_without_a_database_go_to_a_worker),
	    T(test_router__only_health_and_problem_types_are_public),
	    T(test_router__only_image_uploads_are_spooled),
	    T(test_router__method_names_parse_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
