/*
 * api/problem.c: the catalogue of problem kinds, the one call that raises
 * one, the errno each kind stands for; and that openapi.yaml and
 * docs/problems.md list exactly the catalogue's kinds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api.h"
#include "api/problem.h"
#include "api/response.h"

#ifndef OPENAPI_PATH
#error "OPENAPI_PATH must name openapi/openapi.yaml"
#endif

static json_t *
body_json(const struct api_response *rs)
{
	json_error_t jerr;
	json_t *doc;

	assert_non_null(rs->rs_body);
	doc = json_loadb(rs->rs_body, rs->rs_body_len, 0, &jerr);
	if (doc == NULL)
		fail_msg("body is not JSON (%s): %s", jerr.text, rs->rs_body);
	return doc;
}

static const char *
member_string(const json_t *doc, const char *key)
{
	const char *s = json_string_value(json_object_get(doc, key));

	if (s == NULL)
		fail_msg("no string member %s", key);
	return s;
}

/* Checks what every problem of kind k carries; returns the body. */
static json_t *
check_problem(const struct api_response *rs, enum problem_kind k)
{
	const struct problem_def *pd = &problem_catalogue[k];
	char type[128];
	json_t *doc;

	assert_int_equal(rs->rs_status, pd->pd_status);
	assert_non_null(rs->rs_content_type);
	assert_string_equal(rs->rs_content_type, "application/problem+json");
	doc = body_json(rs);
	snprintf(type, sizeof(type), "/v1/problems/%s", pd->pd_slug);
	assert_string_equal(member_string(doc, "type"), type);
	assert_string_equal(member_string(doc, "title"), pd->pd_title);
	member_string(doc, "detail");
	assert_int_equal(json_integer_value(json_object_get(doc, "status")),
			 pd->pd_status);
	return doc;
}

static void
test_problem__catalogue_kinds_are_complete_and_distinct(void **state)
{
	int k, j;

	for (k = 0; k < PROBLEM_NKINDS; k++) {
		const struct problem_def *pd = &problem_catalogue[k];

		if (pd->pd_slug == NULL || pd->pd_title == NULL ||
		    pd->pd_about == NULL)
			fail_msg("kind %d has no slug, title or description",
				 k);
		if (pd->pd_status < 400 || pd->pd_status > 599)
			fail_msg("%s: status %d", pd->pd_slug, pd->pd_status);
		for (j = 0; j < k; j++)
			if (strcmp(problem_catalogue[j].pd_slug, pd->pd_slug) ==
			    0)
				fail_msg("slug %s twice", pd->pd_slug);
		assert_int_equal(problem_kind_by_slug(pd->pd_slug), k);
	}
	assert_int_equal(problem_kind_by_slug("no-such-kind"), -1);
}

static void
test_problem__raise_fills_type_title_status_detail(void **state)
{
	struct api_response rs;
	json_t *doc;

	memset(&rs, 0, sizeof(rs));
	problem_raise(&rs, PROBLEM_CONFLICT, NULL,
		      "a VM named %s already exists (%d)", "web1", 3);
	doc = check_problem(&rs, PROBLEM_CONFLICT);
	assert_int_equal(rs.rs_status, 409);
	assert_string_equal(member_string(doc, "detail"),
			    "a VM named web1 already exists (3)");
	assert_null(json_object_get(doc, "field"));
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_problem__validation_names_the_field(void **state)
{
	struct api_response rs;
	json_t *doc;

	memset(&rs, 0, sizeof(rs));
	problem_raise(&rs, PROBLEM_VALIDATION, "boot.entry",
		      "boot.entry: too large");
	doc = check_problem(&rs, PROBLEM_VALIDATION);
	assert_int_equal(rs.rs_status, 400);
	assert_string_equal(member_string(doc, "field"), "boot.entry");
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_problem__raise_replaces_body_and_headers(void **state)
{
	struct api_response rs;
	json_t *doc;

	memset(&rs, 0, sizeof(rs));
	api_response_take(&rs, 200, strdup("{\"ok\":1}"), 8);
	api_response_header(&rs, "ETag", "\"4\"");
	problem_raise(&rs, PROBLEM_NOT_FOUND, NULL, "gone");
	doc = check_problem(&rs, PROBLEM_NOT_FOUND);
	assert_int_equal(rs.rs_nheaders, 0);
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_problem__detail_with_quotes_stays_json(void **state)
{
	struct api_response rs;
	json_t *doc;

	memset(&rs, 0, sizeof(rs));
	problem_raise(&rs, PROBLEM_VALIDATION, "a\"b",
		      "value \"%s\" has \\ and \n", "x\"y");
	doc = check_problem(&rs, PROBLEM_VALIDATION);
	assert_string_equal(member_string(doc, "detail"),
			    "value \"x\"y\" has \\ and \n");
	assert_string_equal(member_string(doc, "field"), "a\"b");
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_problem__invalid_utf8_and_controls_become_question_marks(void **state)
{
	struct api_response rs;
	json_t *doc;

	memset(&rs, 0, sizeof(rs));
	problem_raise(&rs, PROBLEM_NOT_FOUND, "f\x01", "no VM named %s",
		      "a\xff\xfe\x02z");
	doc = check_problem(&rs, PROBLEM_NOT_FOUND);
	assert_string_equal(member_string(doc, "detail"), "no VM named a???z");
	assert_string_equal(member_string(doc, "field"), "f?");
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_problem__long_detail_is_cut_but_valid(void **state)
{
	struct api_response rs;
	char *long_text = malloc(4096);
	json_t *doc;

	assert_non_null(long_text);
	memset(long_text, 'x', 4095);
	long_text[4095] = '\0';
	memset(&rs, 0, sizeof(rs));
	problem_raise(&rs, PROBLEM_VALIDATION, NULL, "%s", long_text);
	doc = check_problem(&rs, PROBLEM_VALIDATION);
	assert_true(strlen(member_string(doc, "detail")) > 0);
	assert_true(strlen(member_string(doc, "detail")) < 4095);
	json_decref(doc);
	api_response_clear(&rs);
	free(long_text);
}

static void
test_problem__an_invalid_name_states_the_rule(void **state)
{
	struct api_response rs;
	json_t *doc;

	memset(&rs, 0, sizeof(rs));
	problem_invalid_name(&rs, "jail", "-x");
	doc = check_problem(&rs, PROBLEM_VALIDATION);
	assert_string_equal(member_string(doc, "field"), "jail");
	assert_string_equal(member_string(doc, "detail"),
			    "jail: \"-x\" is not a valid name: a letter or "
			    "digit, then up to 63 letters, digits, '.', '_' or "
			    "'-'");
	json_decref(doc);
	api_response_clear(&rs);
	/* The same rule for a query parameter is invalid-query. */
	memset(&rs, 0, sizeof(rs));
	problem_invalid_name_query(&rs, "jail", "-x");
	doc = check_problem(&rs, PROBLEM_INVALID_QUERY);
	assert_string_equal(member_string(doc, "field"), "jail");
	assert_non_null(strstr(member_string(doc, "detail"),
			       "is not a valid name: a letter or digit"));
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_problem__errno_raises_the_kind_it_means(void **state)
{
	static const struct {
		int err;
		enum problem_kind kind;
		int status;
	} cases[] = {
	    {ENOENT, PROBLEM_NOT_FOUND, 404},
	    {EEXIST, PROBLEM_CONFLICT, 409},
	    {EBUSY, PROBLEM_INVALID_STATE, 409},
	    {ESTALE, PROBLEM_PRECONDITION_FAILED, 412},
	    {EINVAL, PROBLEM_VALIDATION, 400},
	    {EPERM, PROBLEM_FORBIDDEN, 403},
	    {EACCES, PROBLEM_FORBIDDEN, 403},
	    {ENOTSUP, PROBLEM_NOT_SUPPORTED, 501},
	    {ENOSPC, PROBLEM_INSUFFICIENT_STORAGE, 507},
	    {EDQUOT, PROBLEM_INSUFFICIENT_STORAGE, 507},
	    {EAGAIN, PROBLEM_UNAVAILABLE, 503},
	    {EIO, PROBLEM_INTERNAL, 500},
	    {ENOMEM, PROBLEM_INTERNAL, 500},
	    {0, PROBLEM_INTERNAL, 500},
	};
	struct api_response rs;
	size_t i;

	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc;

		if (problem_kind_from_errno(cases[i].err) != cases[i].kind)
			fail_msg("errno %d (%s): kind %d, want %d",
				 cases[i].err, strerror(cases[i].err),
				 problem_kind_from_errno(cases[i].err),
				 cases[i].kind);
		problem_errno(&rs, cases[i].err, "doing %s", "it");
		doc = check_problem(&rs, cases[i].kind);
		assert_int_equal(rs.rs_status, cases[i].status);
		assert_string_equal(member_string(doc, "detail"), "doing it");
		json_decref(doc);
	}
	api_response_clear(&rs);
}

/* The file at path, whole and NUL-terminated (the caller frees it). */
static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (f == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

/*
 * Every "<prefix><slug><end>" in text names a kind of the catalogue
 * (reported by where), and every kind is named.
 */
static void
check_listed(const char *text, const char *where, const char *prefix,
	     const char *ends)
{
	int seen[PROBLEM_NKINDS] = {0};
	const char *p = text;
	size_t plen = strlen(prefix);
	int k;

	while ((p = strstr(p, prefix)) != NULL) {
		char slug[64];
		size_t n;

		p += plen;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-");
		/* "/v1/problems/{slug}" is the route, not a kind. */
		if (n == 0 || n >= sizeof(slug) || strchr(ends, p[n]) == NULL)
			continue;
		memcpy(slug, p, n);
		slug[n] = '\0';
		k = problem_kind_by_slug(slug);
		if (k < 0)
			fail_msg("%s names problem type %s, which the "
				 "catalogue (api/problem.c) does not have",
				 where, slug);
		seen[k] = 1;
	}
	for (k = 0; k < PROBLEM_NKINDS; k++)
		if (!seen[k])
			fail_msg("%s does not list problem type %s", where,
				 problem_catalogue[k].pd_slug);
}

static void
test_problem__openapi_lists_every_kind_and_no_other(void **state)
{
	char *yaml = read_text(OPENAPI_PATH);

	check_listed(yaml, "openapi.yaml", "/v1/problems/", " \n'\",#]");
	free(yaml);
}

static void
test_problem__docs_explain_every_kind_and_no_other(void **state)
{
	char path[4096], *md;
	const char *tail = "openapi/openapi.yaml";
	size_t n = strlen(OPENAPI_PATH) - strlen(tail);

	/* docs/problems.md beside openapi/ in the source tree. */
	snprintf(path, sizeof(path), "%.*sdocs/problems.md", (int)n,
		 OPENAPI_PATH);
	md = read_text(path);
	check_listed(md, "docs/problems.md", "\n## ", " \n");
	free(md);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_problem__catalogue_kinds_are_complete_and_distinct),
	    cmocka_unit_test(
		test_problem__raise_fills_type_title_status_detail),
	    cmocka_unit_test(test_problem__validation_names_the_field),
	    cmocka_unit_test(test_problem__raise_replaces_body_and_headers),
	    cmocka_unit_test(test_problem__detail_with_quotes_stays_json),
	    cmocka_unit_test(
		test_problem__invalid_utf8_and_controls_become_question_marks),
	    cmocka_unit_test(test_problem__long_detail_is_cut_but_valid),
	    cmocka_unit_test(test_problem__an_invalid_name_states_the_rule),
	    cmocka_unit_test(test_problem__errno_raises_the_kind_it_means),
	    cmocka_unit_test(
		test_problem__openapi_lists_every_kind_and_no_other),
	    cmocka_unit_test(
		test_problem__docs_explain_every_kind_and_no_other),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
