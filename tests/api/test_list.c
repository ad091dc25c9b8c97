/*
 * GET /v1/vms: cursor pagination, label and state filters, and the
 * query's limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define NVMS 25

/* vm-NN's labels: env a for NN % 3 == 0, b for 1, none for 2; tier=web
 * for even NN. */
static const char *
env_of(int i)
{
	return (i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : NULL);
}

static void
seed(struct harness *h)
{
	char body[256], labels[96];
	int i;

	for (i = 0; i < NVMS; i++) {
		labels[0] = '\0';
		if (env_of(i) != NULL && i % 2 == 0)
			snprintf(
			    labels, sizeof(labels),
			    ",\"labels\":{\"env\":\"%s\",\"tier\":\"web\"}",
			    env_of(i));
		else if (env_of(i) != NULL)
			snprintf(labels, sizeof(labels),
				 ",\"labels\":{\"env\":\"%s\"}", env_of(i));
		else if (i % 2 == 0)
			snprintf(labels, sizeof(labels),
				 ",\"labels\":{\"tier\":\"web\"}");
		snprintf(body, sizeof(body),
			 "{\"name\":\"vm-%02d\",\"boot\":{\"kind\":\"flat\","
			 "\"image\":\"hello.bin\"}%s}",
			 i, labels);
		assert_status(harness_req(h, "POST", "/v1/vms", body, NULL),
			      201);
	}
}

/*
 * Follows next from query (e.g. "limit=4&label=env=a") to the end and
 * marks each name seen in seen[] (failing on a repeat or a name out of
 * order); returns the number of pages.
 */
static int
walk(struct harness *h, const char *query, int seen[NVMS], int page_limit)
{
	char path[512], after[80] = "", last[80] = "";
	struct harness_response *r;
	const json_t *items, *item, *next;
	const char *name;
	size_t i;
	int pages = 0, n;

	memset(seen, 0, NVMS * sizeof(int));
	for (;;) {
		if (after[0] != '\0')
			snprintf(path, sizeof(path), "/v1/vms?%s&after=%s",
				 query, after);
		else
			snprintf(path, sizeof(path), "/v1/vms?%s", query);
		r = harness_get(h, path);
		assert_status(r, 200);
		assert_header(r, "Content-Type", "application/json");
		pages++;
		assert_true(pages <= NVMS + 1);
		items = harness_json_at(r->hr_json, "items");
		assert_true(json_is_array(items));
		assert_true((int)json_array_size(items) <= page_limit);
		json_array_foreach (items, i, item) {
			name = json_string_value(json_object_get(item, "name"));
			assert_non_null(name);
			assert_true(strcmp(name, last) > 0);
			snprintf(last, sizeof(last), "%s", name);
			assert_int_equal(sscanf(name, "vm-%d", &n), 1);
			assert_true(n >= 0 && n < NVMS);
			assert_int_equal(seen[n], 0);
			seen[n] = 1;
		}
		next = json_object_get(r->hr_json, "next");
		assert_true(json_is_null(next) || json_is_string(next));
		if (json_is_null(next))
			break;
		/* The cursor is the last name of the page. */
		assert_string_equal(json_string_value(next), last);
		snprintf(after, sizeof(after), "%s", json_string_value(next));
	}
	return (pages);
}

static void
test_list__empty_list_has_no_next(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1/vms");

	assert_status(r, 200);
	assert_true(json_is_array(harness_json_at(r->hr_json, "items")));
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 0);
	assert_true(json_is_null(harness_json_at(r->hr_json, "next")));
}

static void
test_list__first_page_of_10_ends_with_next_vm_09(struct harness *h)
{
	struct harness_response *r, *g;
	const json_t *items;
	char name[16];
	int i;

	seed(h);
	r = harness_get(h, "/v1/vms?limit=10");
	assert_status(r, 200);
	items = harness_json_at(r->hr_json, "items");
	assert_int_equal(json_array_size(items), 10);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "vm-%02d", i);
		assert_string_equal(json_string_value(json_object_get(
					json_array_get(items, i), "name")),
				    name);
	}
	assert_json_str(r, "next", "vm-09");

	/* Items are the full representation, as GET gives it. */
	g = harness_get(h, "/v1/vms/vm-03");
	assert_status(g, 200);
	assert_true(json_equal(json_array_get(items, 3), g->hr_json));
}

static void
test_list__following_next_sees_every_vm_once(struct harness *h)
{
	int seen[NVMS], i;

	seed(h);
	assert_int_equal(walk(h, "limit=10", seen, 10), 3);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], 1);
	/* A last page that is exactly full has no next: 25 = 5 * 5. */
	assert_int_equal(walk(h, "limit=5", seen, 5), 5);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(walk(h, "limit=1", seen, 1), NVMS);
}

static void
test_list__after_a_name_that_does_not_exist_starts_past_it(struct harness *h)
{
	struct harness_response *r;

	seed(h);
	r = harness_get(h, "/v1/vms?after=vm-095&limit=1000");
	assert_status(r, 200);
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 15);
	assert_json_str(r, "items.0.name", "vm-10");
	r = harness_get(h, "/v1/vms?after=vm-24");
	assert_status(r, 200);
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 0);
	assert_true(json_is_null(harness_json_at(r->hr_json, "next")));
}

static void
test_list__label_filter_selects_matching_vms(struct harness *h)
{
	int seen[NVMS], i;

	seed(h);
	walk(h, "limit=1000&label=env=a", seen, 1000);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], i % 3 == 0);
	/* Paging through a filtered list. */
	walk(h, "limit=4&label=env=b", seen, 4);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], i % 3 == 1);
	/* An encoded '=' in the value's place means the same. */
	walk(h, "label=env%3Da", seen, 100);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], i % 3 == 0);
	walk(h, "label=env=c", seen, 100);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], 0);
}

static void
test_list__two_label_filters_must_both_match(struct harness *h)
{
	int seen[NVMS], i;

	seed(h);
	walk(h, "limit=2&label=env=a&label=tier=web", seen, 2);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], i % 6 == 0);
	walk(h, "label=env=a&label=env=b", seen, 100);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], 0);
}

static void
test_list__state_filter(struct harness *h)
{
	struct harness_response *r;
	int seen[NVMS], i;

	seed(h);
	walk(h, "state=defined&limit=1000", seen, 1000);
	for (i = 0; i < NVMS; i++)
		assert_int_equal(seen[i], 1);
	r = harness_get(h, "/v1/vms?state=running");
	assert_status(r, 200);
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 0);
}

static void
test_list__limit_1000_is_accepted(struct harness *h)
{
	struct harness_response *r;

	seed(h);
	r = harness_get(h, "/v1/vms?limit=1000");
	assert_status(r, 200);
	assert_int_equal(json_array_size(harness_json_at(r->hr_json, "items")),
			 NVMS);
	assert_true(json_is_null(harness_json_at(r->hr_json, "next")));
}

static void
test_list__bad_queries_are_400(struct harness *h)
{
	static const char *const bad[] = {
	    "/v1/vms?state=bogus",    "/v1/vms?limit=0",   "/v1/vms?limit=1001",
	    "/v1/vms?limit=-1",       "/v1/vms?limit=abc", "/v1/vms?limit=10x",
	    "/v1/vms?label=noequals", "/v1/vms?label==a",
	};
	size_t i;

	seed(h);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("query: %s\n", bad[i]);
		assert_problem(harness_get(h, bad[i]), 400, NULL);
	}
}

static void
test_list__too_many_label_filters_are_400(struct harness *h)
{
	char path[1024];
	size_t len;
	int i;

	len = (size_t)snprintf(path, sizeof(path), "/v1/vms?limit=10");
	for (i = 0; i < 16; i++)
		len += (size_t)snprintf(path + len, sizeof(path) - len,
					"&label=k%d=v", i);
	/* 16 filters: at the limit. */
	assert_status(harness_get(h, path), 200);
	snprintf(path + len, sizeof(path) - len, "&label=k16=v");
	assert_problem(harness_get(h, path), 400, NULL);
}

/* The list's ETag, copied, as an If-None-Match header line. */
static void
list_inm(const struct harness_response *r, char *buf, size_t len)
{
	const char *etag = harness_header(r, "ETag");

	assert_non_null(etag);
	assert_true(etag[0] == '"' && etag[strlen(etag) - 1] == '"');
	snprintf(buf, len, "If-None-Match: %s", etag);
}

static void
test_list__unchanged_list_is_304_to_its_etag(struct harness *h)
{
	struct harness_response *r;
	char inm[160];

	seed(h);
	r = harness_get(h, "/v1/vms?limit=5");
	assert_status(r, 200);
	list_inm(r, inm, sizeof(inm));
	r = harness_req(h, "GET", "/v1/vms?limit=5", NULL, inm, NULL);
	assert_status(r, 304);
	assert_int_equal(r->hr_body_len, 0);
	assert_non_null(harness_header(r, "ETag"));
	assert_string_equal(harness_header(r, "ETag"), inm + 15);
	/* Weak comparison (RFC 9110 section 13.1.2): W/ matches too. */
	{
		char weak[170];

		snprintf(weak, sizeof(weak), "If-None-Match: W/%s", inm + 15);
		assert_status(
		    harness_req(h, "GET", "/v1/vms?limit=5", NULL, weak, NULL),
		    304);
	}
	/* Another page or filter is another representation: 200. */
	assert_status(harness_req(h, "GET", "/v1/vms?limit=6", NULL, inm, NULL),
		      200);
	assert_status(harness_req(h, "GET", "/v1/vms?limit=5&label=env=a", NULL,
				  inm, NULL),
		      200);
}

/* A list tag changes with each kind of change, and the new one gets 304. */
static void
test_list__create_patch_delete_give_a_new_etag(struct harness *h)
{
	static const char *const steps[][3] = {
	    {"POST", "/v1/vms",
	     "{\"name\":\"zz-new\",\"boot\":{\"kind\":\"flat\","
	     "\"image\":\"hello.bin\"}}"},
	    {"PATCH", "/v1/vms/vm-03", "{\"labels\":{\"env\":\"c\"}}"},
	    /* vm-01 is on the first page but not the newest revision: a
	     * delete takes none, and the tag must move all the same. */
	    {"DELETE", "/v1/vms/vm-01", NULL},
	};
	struct harness_response *r;
	char inm[160], before[160];
	size_t i;

	seed(h);
	r = harness_get(h, "/v1/vms");
	assert_status(r, 200);
	list_inm(r, inm, sizeof(inm));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (strcmp(steps[i][0], "PATCH") == 0)
			r = harness_req(
			    h, "PATCH", steps[i][1], steps[i][2],
			    "Content-Type: application/merge-patch+json", NULL);
		else
			r = harness_req(h, steps[i][0], steps[i][1],
					steps[i][2], NULL);
		assert_true(r->hr_status >= 200 && r->hr_status < 300);
		snprintf(before, sizeof(before), "%s", inm);
		r = harness_req(h, "GET", "/v1/vms", NULL, before, NULL);
		assert_status(r, 200);
		list_inm(r, inm, sizeof(inm));
		assert_string_not_equal(inm, before);
		assert_status(harness_req(h, "GET", "/v1/vms", NULL, inm, NULL),
			      304);
	}
}

/* A daemon restarted on the same database gives other tags: the count of
 * changes in them starts again with the process. */
static void
test_list__etag_of_an_earlier_run_does_not_match(struct harness *h)
{
	struct harness_response *r;
	char inm[160];

	seed(h);
	r = harness_get(h, "/v1/vms");
	list_inm(r, inm, sizeof(inm));
	harness_restart(h);
	assert_status(harness_req(h, "GET", "/v1/vms", NULL, inm, NULL), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(test_list__empty_list_has_no_next, 0),
	    HARNESS_CASE(test_list__first_page_of_10_ends_with_next_vm_09, 0),
	    HARNESS_CASE(test_list__following_next_sees_every_vm_once, 0),
	    HARNESS_CASE(
		test_list__after_a_name_that_does_not_exist_starts_past_it, 0),
	    HARNESS_CASE(test_list__label_filter_selects_matching_vms, 0),
	    HARNESS_CASE(test_list__two_label_filters_must_both_match, 0),
	    HARNESS_CASE(test_list__state_filter, 0),
	    HARNESS_CASE(test_list__limit_1000_is_accepted, 0),
	    HARNESS_CASE(test_list__bad_queries_are_400, 0),
	    HARNESS_CASE(test_list__too_many_label_filters_are_400, 0),
	    HARNESS_CASE(test_list__unchanged_list_is_304_to_its_etag, 0),
	    HARNESS_CASE(test_list__create_patch_delete_give_a_new_etag, 0),
	    HARNESS_CASE(test_list__etag_of_an_earlier_run_does_not_match, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
