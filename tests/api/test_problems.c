/*
 * Problem types through the daemon: every error's `type` leads, with a
 * GET on the same daemon, to the kind's explanation, without a token.
 */
#include "harness.h"

#include <string.h>

static struct harness_response *
tcp_get(struct harness *h, const char *path)
{
	struct harness_request rq;

	memset(&rq, 0, sizeof(rq));
	rq.rq_method = "GET";
	rq.rq_path = path;
	rq.rq_tcp = 1;
	return harness_send(h, &rq);
}

static void
test_problems__a_problems_type_leads_to_its_explanation(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1/vms/nope");
	const char *type;
	char path[128];

	assert_problem(r, 404, NULL);
	type = json_string_value(json_object_get(r->hr_json, "type"));
	assert_non_null(type);
	assert_string_equal(type, "/v1/problems/not-found");
	/* Anonymous, over TCP: the type is followed as a browser would. */
	snprintf(path, sizeof(path), "%s", type);
	r = tcp_get(h, path);
	assert_status(r, 200);
	assert_json_str(r, "type", "/v1/problems/not-found");
	assert_json_int(r, "status", 404);
	assert_json_str(r, "title", "Not found");
	assert_non_null(
	    json_string_value(json_object_get(r->hr_json, "description")));
}

static void
test_problems__the_list_has_every_kind_once(struct harness *h)
{
	struct harness_response *r = tcp_get(h, "/v1/problems");
	const json_t *items, *it;
	size_t i, j;

	assert_status(r, 200);
	items = json_object_get(r->hr_json, "items");
	assert_true(json_array_size(items) >= 20);
	json_array_foreach (items, i, it) {
		const char *slug =
		    json_string_value(json_object_get(it, "slug"));
		char type[96];

		assert_non_null(slug);
		snprintf(type, sizeof(type), "/v1/problems/%s", slug);
		assert_string_equal(
		    json_string_value(json_object_get(it, "type")), type);
		for (j = 0; j < i; j++)
			assert_string_not_equal(
			    json_string_value(json_object_get(
				json_array_get(items, j), "slug")),
			    slug);
	}
}

static void
test_problems__an_unknown_kind_is_a_404_problem(struct harness *h)
{
	struct harness_response *r = tcp_get(h, "/v1/problems/no-such-kind");

	assert_problem(r, 404, NULL);
	r = tcp_get(h, "/v1/problems/not-found?x=1");
	assert_problem(r, 400, "x");
}

static void
test_problems__other_routes_still_need_a_token(struct harness *h)
{
	assert_problem(tcp_get(h, "/v1/vms"), 401, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_problems__a_problems_type_leads_to_its_explanation,
		HARNESS_TCP),
	    HARNESS_CASE(test_problems__the_list_has_every_kind_once,
			 HARNESS_TCP),
	    HARNESS_CASE(test_problems__an_unknown_kind_is_a_404_problem,
			 HARNESS_TCP),
	    HARNESS_CASE(test_problems__other_routes_still_need_a_token,
			 HARNESS_TCP),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
