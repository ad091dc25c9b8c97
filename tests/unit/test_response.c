/*
 * api/response.c: JSON bodies and who owns them, extra headers, ETags and
 * If-Match / If-None-Match lists (RFC 9110 13.1); the out-of-memory
 * problem it builds itself.  The catalogue is tested in test_problem.c.
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
#include "api/response.h"

static json_t *
body_json(const struct api_response *rs)
{
	json_error_t jerr;
	json_t *doc;

	assert_non_null(rs->rs_body);
	assert_int_equal(strlen(rs->rs_body), rs->rs_body_len);
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

/* Checks the four members every problem has; returns the body. */
static json_t *
check_problem(const struct api_response *rs, int status, const char *slug)
{
	char type[128];
	json_t *doc;

	assert_int_equal(rs->rs_status, status);
	assert_non_null(rs->rs_content_type);
	assert_string_equal(rs->rs_content_type, "application/problem+json");
	doc = body_json(rs);
	snprintf(type, sizeof(type), "/v1/problems/%s", slug);
	assert_string_equal(member_string(doc, "type"), type);
	member_string(doc, "title");
	member_string(doc, "detail");
	assert_true(json_is_integer(json_object_get(doc, "status")));
	assert_int_equal(json_integer_value(json_object_get(doc, "status")),
			 status);
	return doc;
}

/* etag_format */

static void
test_response__etag_is_the_revision_in_quotes(void **state)
{
	char buf[32];

	etag_format(1, buf);
	assert_string_equal(buf, "\"1\"");
	etag_format(0, buf);
	assert_string_equal(buf, "\"0\"");
	etag_format(1234567890123ULL, buf);
	assert_string_equal(buf, "\"1234567890123\"");
}

static void
test_response__etag_of_the_largest_revision_fits(void **state)
{
	char buf[32];

	etag_format(UINT64_MAX, buf);
	assert_string_equal(buf, "\"18446744073709551615\"");
}

/* etag_match */

static void
test_response__etag_matches_its_own_revision(void **state)
{
	assert_true(etag_match("\"5\"", 1, 5, 0));
	assert_true(etag_match("\"5\"", 1, 5, 1));
	assert_false(etag_match("\"6\"", 1, 5, 0));
	assert_false(etag_match("\"6\"", 1, 5, 1));
}

/* etag_match_since: If-Match on a VM write, against its definition */

static void
test_response__etag_since_matches_every_revision_of_the_definition(void **state)
{
	assert_true(etag_match_since("\"11\"", 1, 11, 13));
	assert_true(etag_match_since("\"12\"", 1, 11, 13));
	assert_true(etag_match_since("\"13\"", 1, 11, 13));
	assert_true(etag_match_since("\"3\", \"12\"", 1, 11, 13));
	assert_true(etag_match_since("*", 1, 11, 13));
	/* Before the spec was written, after the newest, or weak: no. */
	assert_false(etag_match_since("\"10\"", 1, 11, 13));
	assert_false(etag_match_since("\"14\"", 1, 11, 13));
	assert_false(etag_match_since("W/\"12\"", 1, 11, 13));
	/* Nothing matches a missing VM. */
	assert_false(etag_match_since("\"12\"", 0, 11, 13));
	assert_false(etag_match_since("*", 0, 0, 0));
}

static void
test_response__etag_since_takes_only_revisions(void **state)
{
	assert_false(etag_match_since("\"\"", 1, 0, 13));
	assert_false(etag_match_since("\"012\"", 1, 11, 13));
	assert_false(etag_match_since("\"12a\"", 1, 11, 13));
	assert_false(etag_match_since("\"1 2\"", 1, 11, 13));
	assert_false(etag_match_since("12", 1, 11, 13));
	assert_false(etag_match_since("\"12", 1, 11, 13));
	/* 20 digits would overflow: never a match, never UB. */
	assert_false(
	    etag_match_since("\"18446744073709551617\"", 1, 1, UINT64_MAX));
	assert_true(
	    etag_match_since("\"9999999999999999999\"", 1, 1, UINT64_MAX));
	/* A malformed member does not hide a later good one... */
	assert_true(etag_match_since("\"x\", \"12\"", 1, 11, 13));
	/* ...but an unquoted one ends the list, as etag_match does. */
	assert_false(etag_match_since("x, \"12\"", 1, 11, 13));
}

static void
test_response__etag_is_not_matched_by_a_prefix_or_suffix(void **state)
{
	assert_false(etag_match("\"50\"", 1, 5, 1));
	assert_false(etag_match("\"15\"", 1, 5, 1));
	assert_false(etag_match("\"5\"", 1, 50, 1));
	assert_false(etag_match("5", 1, 5, 1));
	assert_false(etag_match("\"5", 1, 5, 1));
}

static void
test_response__etag_list_matches_any_member(void **state)
{
	assert_true(etag_match("\"1\", \"5\", \"9\"", 1, 5, 0));
	assert_true(etag_match("\"1\",\"5\"", 1, 5, 0));
	assert_true(etag_match("\"1\" ,\t\"5\"", 1, 5, 0));
	assert_true(etag_match("  \"5\"  ", 1, 5, 0));
	assert_false(etag_match("\"1\", \"9\"", 1, 5, 0));
}

static void
test_response__star_matches_any_existing_resource(void **state)
{
	assert_true(etag_match("*", 1, 5, 0));
	assert_true(etag_match("*", 1, 1, 1));
	assert_false(etag_match("*", 0, 0, 0));
	assert_false(etag_match("*", 0, 0, 1));
}

static void
test_response__nothing_matches_a_missing_resource(void **state)
{
	/* A missing resource has no current tag, whatever revision says. */
	assert_false(etag_match("\"5\"", 0, 5, 0));
	assert_false(etag_match("\"5\"", 0, 5, 1));
	assert_false(etag_match("\"0\"", 0, 0, 1));
}

static void
test_response__weak_tag_matches_only_in_weak_comparison(void **state)
{
	/* RFC 9110 8.8.3.2: If-None-Match weak, If-Match strong. */
	assert_true(etag_match("W/\"5\"", 1, 5, 1));
	assert_false(etag_match("W/\"5\"", 1, 5, 0));
	assert_true(etag_match("W/\"1\", \"5\"", 1, 5, 0));
	assert_true(etag_match("\"1\", W/\"5\"", 1, 5, 1));
}

static void
test_response__malformed_header_matches_nothing(void **state)
{
	assert_false(etag_match("", 1, 5, 1));
	assert_false(etag_match("   ", 1, 5, 1));
	assert_false(etag_match("\"", 1, 5, 1));
	assert_false(etag_match("w/\"5\"", 1, 5, 1));
	assert_false(etag_match("W/5", 1, 5, 1));
	assert_false(etag_match("garbage, \"5\"", 1, 5, 1));
}

/* api_response_* */

static void
test_response__json_body_is_compact_with_its_status(void **state)
{
	struct api_response rs;
	json_t *doc = json_pack("{s:i, s:[s, s]}", "a", 1, "b", "x", "y");

	memset(&rs, 0, sizeof(rs));
	api_response_json(&rs, 201, doc);
	assert_int_equal(rs.rs_status, 201);
	assert_string_equal(rs.rs_content_type, "application/json");
	assert_string_equal(rs.rs_body, "{\"a\":1,\"b\":[\"x\",\"y\"]}\n");
	assert_int_equal(rs.rs_body_len, strlen(rs.rs_body));
	/* doc was borrowed: still ours, unchanged. */
	assert_int_equal(doc->refcount, 1);
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_response__json_body_replaces_a_previous_body(void **state)
{
	struct api_response rs;
	json_t *a = json_pack("{s:i}", "a", 1), *b = json_pack("[i]", 2);

	memset(&rs, 0, sizeof(rs));
	api_response_json(&rs, 200, a);
	api_response_json(&rs, 202, b);
	assert_int_equal(rs.rs_status, 202);
	assert_string_equal(rs.rs_body, "[2]\n");
	json_decref(a);
	json_decref(b);
	api_response_clear(&rs);
}

static void
test_response__json_of_null_doc_is_a_500_problem(void **state)
{
	struct api_response rs;
	json_t *doc;

	memset(&rs, 0, sizeof(rs));
	api_response_json(&rs, 200, NULL);
	doc = check_problem(&rs, 500, "internal");
	json_decref(doc);
	api_response_clear(&rs);
}

static void
test_response__take_owns_the_body(void **state)
{
	struct api_response rs;
	char *body = strdup("{\"x\":true}");

	assert_non_null(body);
	memset(&rs, 0, sizeof(rs));
	api_response_take(&rs, 200, body, strlen(body));
	assert_int_equal(rs.rs_status, 200);
	/* Ends a line: a curl user's prompt starts on a line of its own. */
	assert_int_equal(rs.rs_body_len, 11);
	assert_string_equal(rs.rs_body, "{\"x\":true}\n");
	assert_string_equal(rs.rs_content_type, "application/json");
	/* A second take frees the first body (ASan sees a leak if not). */
	api_response_take(&rs, 201, strdup("[]\n"), 3);
	assert_string_equal(rs.rs_body, "[]\n");
	assert_int_equal(rs.rs_body_len, 3);
	assert_int_equal(rs.rs_status, 201);
	api_response_clear(&rs);
}

static void
test_response__header_value_is_copied(void **state)
{
	struct api_response rs;
	char value[16] = "\"7\"";

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(api_response_header(&rs, "ETag", value), 0);
	value[1] = '8';
	assert_int_equal(rs.rs_nheaders, 1);
	assert_string_equal(rs.rs_headers[0].h_name, "ETag");
	assert_string_equal(rs.rs_headers[0].h_value, "\"7\"");
	assert_ptr_not_equal(rs.rs_headers[0].h_value, value);
	api_response_clear(&rs);
}

static void
test_response__headers_keep_their_order_until_full(void **state)
{
	struct api_response rs;
	char v[16];
	int i;

	memset(&rs, 0, sizeof(rs));
	for (i = 0; i < API_MAX_HEADERS; i++) {
		snprintf(v, sizeof(v), "%d", i);
		assert_int_equal(api_response_header(&rs, "X-N", v), 0);
	}
	assert_int_equal(api_response_header(&rs, "X-Over", "x"), -1);
	assert_int_equal(rs.rs_nheaders, API_MAX_HEADERS);
	for (i = 0; i < API_MAX_HEADERS; i++) {
		snprintf(v, sizeof(v), "%d", i);
		assert_string_equal(rs.rs_headers[i].h_value, v);
	}
	api_response_clear(&rs);
}

static void
test_response__clear_frees_and_zeroes(void **state)
{
	struct api_response rs, zero;

	memset(&zero, 0, sizeof(zero));
	memset(&rs, 0, sizeof(rs));
	api_response_clear(&rs); /* zeroed: nothing to free */
	assert_memory_equal(&rs, &zero, sizeof(rs));

	api_response_take(&rs, 200, strdup("{}"), 2);
	api_response_header(&rs, "ETag", "\"1\"");
	api_response_header(&rs, "Location", "/v1/vms/a");
	api_response_clear(&rs);
	assert_memory_equal(&rs, &zero, sizeof(rs));
	api_response_clear(&rs); /* twice is fine */
}

/* A stream that counts how often it is freed. */
static void
stream_count_free(void *cls)
{
	(*(int *)cls)++;
}

static void
test_response__clear_frees_a_stream_once(void **state)
{
	struct api_response rs;
	struct api_stream *st = calloc(1, sizeof(*st));
	int freed = 0;

	assert_non_null(st);
	st->st_free = stream_count_free;
	st->st_cls = &freed;
	memset(&rs, 0, sizeof(rs));
	rs.rs_status = 200;
	rs.rs_stream = st; /* the response owns it now */
	api_response_clear(&rs);
	assert_int_equal(freed, 1);
	assert_null(rs.rs_stream);
	api_response_clear(&rs);
	assert_int_equal(freed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_response__etag_is_the_revision_in_quotes),
	    cmocka_unit_test(test_response__etag_of_the_largest_revision_fits),
	    cmocka_unit_test(test_response__etag_matches_its_own_revision),
	    cmocka_unit_test(
		test_response__etag_since_matches_every_revision_of_the_definition),
	    cmocka_unit_test(test_response__etag_since_takes_only_revisions),
	    cmocka_unit_test(
		test_response__etag_is_not_matched_by_a_prefix_or_suffix),
	    cmocka_unit_test(test_response__etag_list_matches_any_member),
	    cmocka_unit_test(test_response__star_matches_any_existing_resource),
	    cmocka_unit_test(test_response__nothing_matches_a_missing_resource),
	    cmocka_unit_test(
		test_response__weak_tag_matches_only_in_weak_comparison),
	    cmocka_unit_test(test_response__malformed_header_matches_nothing),
	    cmocka_unit_test(
		test_response__json_body_is_compact_with_its_status),
	    cmocka_unit_test(test_response__json_body_replaces_a_previous_body),
	    cmocka_unit_test(test_response__json_of_null_doc_is_a_500_problem),
	    cmocka_unit_test(test_response__take_owns_the_body),
	    cmocka_unit_test(test_response__header_value_is_copied),
	    cmocka_unit_test(
		test_response__headers_keep_their_order_until_full),
	    cmocka_unit_test(test_response__clear_frees_and_zeroes),
	    cmocka_unit_test(test_response__clear_frees_a_stream_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
