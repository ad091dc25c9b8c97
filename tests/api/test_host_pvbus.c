/*
 * GET /v1/host/pvbus and its key store: what CPUID says of this host's
 * own hypervisors, and a 501 naming what is missing where there is no
 * pvbus(4).
 */
#include "harness.h"

#include <string.h>

static void
test_pvbus__the_hosts_hypervisors_are_listed_in_leaf_order(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1/host/pvbus");
	const json_t *items, *it;
	size_t i;

	assert_status(r, 200);
	items = json_object_get(r->hr_json, "items");
	assert_true(json_is_array(items));
	json_array_foreach (items, i, it) {
		const char *leaf =
		    json_string_value(json_object_get(it, "leaf"));

		assert_int_equal(
		    json_integer_value(json_object_get(it, "index")), i);
		assert_non_null(json_string_value(json_object_get(it, "type")));
		assert_non_null(leaf);
		assert_int_equal(strncmp(leaf, "0x4000", 6), 0);
	}
}

static void
test_pvbus__its_key_store_is_501_here_and_404_past_the_list(struct harness *h)
{
	struct harness_response *r = harness_get(h, "/v1/host/pvbus");
	size_t n = json_array_size(json_object_get(r->hr_json, "items"));

	if (n > 0) {
		r = harness_get(h, "/v1/host/pvbus/0/keys/guestinfo.x");
		assert_problem(r, 501, NULL);
		assert_non_null(strstr(
		    json_string_value(json_object_get(r->hr_json, "detail")),
		    "PVBUSIOC_KVREAD"));
		assert_problem(harness_req(h, "PUT",
					   "/v1/host/pvbus/0/keys/guestinfo.x",
					   "{\"value\":\"v\"}", NULL),
			       501, NULL);
	}
	assert_problem(harness_get(h, "/v1/host/pvbus/9/keys/k"), 404, NULL);
	assert_problem(harness_get(h, "/v1/host/pvbus/x/keys/k"), 404, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    HARNESS_CASE(
		test_pvbus__the_hosts_hypervisors_are_listed_in_leaf_order, 0),
	    HARNESS_CASE(
		test_pvbus__its_key_store_is_501_here_and_404_past_the_list, 0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
