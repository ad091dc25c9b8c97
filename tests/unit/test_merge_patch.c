/*
 * json_merge_patch(): the examples of RFC 7396 Appendix A (one table)
 * and section 3, and the promise that neither argument changes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/vm_spec.h"

/* text with ' standing for ", so that documents read as in the RFC. */
static json_t *
doc(const char *text)
{
	json_error_t jerr;
	char *s = strdup(text), *p;
	json_t *d;

	assert_non_null(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	d = json_loads(s, JSON_DECODE_ANY, &jerr);
	if (d == NULL)
		fail_msg("bad test document %s: %s", s, jerr.text);
	free(s);
	return d;
}

/* got equals want, else fails naming what (a case or a table row). */
static void
assert_json_equal_as(const char *what, const char *which, const json_t *got,
		     const json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
		char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);

		fail_msg("%s: %s is %s, want %s", what, which, g, w);
	}
}
#define assert_json_equal(got, want)                                           \
	assert_json_equal_as(__func__, #got, got, want)

/*
 * Applies patch to target and checks the result against expected, and
 * that neither argument changed; a failure names what.
 */
static void
check_as(const char *what, const char *target, const char *patch,
	 const char *expected)
{
	json_t *t = doc(target), *p = doc(patch), *want = doc(expected);
	json_t *t0 = json_deep_copy(t), *p0 = json_deep_copy(p);
	json_t *got = json_merge_patch(t, p);

	if (got == NULL)
		fail_msg("%s: json_merge_patch returned NULL", what);
	assert_json_equal_as(what, "the result", got, want);
	assert_json_equal_as(what, "the target after", t, t0);
	assert_json_equal_as(what, "the patch after", p, p0);
	json_decref(got);
	json_decref(want);
	json_decref(t);
	json_decref(t0);
	json_decref(p);
	json_decref(p0);
}
#define check(target, patch, expected)                                         \
	check_as(__func__, target, patch, expected)

/* RFC 7396 Appendix A, row by row, with ' standing for ". */
static const struct {
	const char *mp_what;
	const char *mp_target, *mp_patch, *mp_result;
} appendix_a[] = {
    {"A.1 a member is replaced", "{'a':'b'}", "{'a':'c'}", "{'a':'c'}"},
    {"A.2 a member is added", "{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"},
    {"A.3 null removes the only member", "{'a':'b'}", "{'a':null}", "{}"},
    {"A.4 null removes one member", "{'a':'b','b':'c'}", "{'a':null}",
     "{'b':'c'}"},
    {"A.5 an array is replaced by a string", "{'a':['b']}", "{'a':'c'}",
     "{'a':'c'}"},
    {"A.6 a string is replaced by an array", "{'a':'c'}", "{'a':['b']}",
     "{'a':['b']}"},
    {"A.7 objects merge recursively", "{'a':{'b':'c'}}",
     "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"},
    {"A.8 arrays are replaced, not merged", "{'a':[{'b':'c'}]}", "{'a':[1]}",
     "{'a':[1]}"},
    {"A.9 an array replaces an array", "['a','b']", "['c','d']", "['c','d']"},
    {"A.10 an array replaces an object", "{'a':'b'}", "['c']", "['c']"},
    {"A.11 a null patch replaces everything", "{'a':'foo'}", "null", "null"},
    {"A.12 a string patch replaces everything", "{'a':'foo'}", "'bar'",
     "'bar'"},
    {"A.13 a null in the target is kept", "{'e':null}", "{'a':1}",
     "{'e':null,'a':1}"},
    {"A.14 an object patch replaces an array target", "[1,2]",
     "{'a':'b','c':null}", "{'a':'b'}"},
    {"A.15 nested nulls are dropped from new members", "{}",
     "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"},
};

static void
test_merge_patch__every_rfc_7396_appendix_a_example_gives_its_result(
    void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(appendix_a) / sizeof(appendix_a[0]); i++)
		check_as(appendix_a[i].mp_what, appendix_a[i].mp_target,
			 appendix_a[i].mp_patch, appendix_a[i].mp_result);
}

/* RFC 7396 section 3. */
static void
test_merge_patch__section_3_example_gives_the_rfc_result(void **state)
{
	check("{'title':'Goodbye!','author':{'givenName':'John',"
	      "'familyName':'Doe'},'tags':['example','sample'],"
	      "'content':'This will be unchanged'}",
	      "{'title':'Hello!','phoneNumber':'+01-123-456-7890',"
	      "'author':{'familyName':null},'tags':['example']}",
	      "{'title':'Hello!','author':{'givenName':'John'},"
	      "'tags':['example'],'content':'This will be unchanged',"
	      "'phoneNumber':'+01-123-456-7890'}");
}

/* Beyond the RFC's examples. */

static void
test_merge_patch__object_patch_on_a_scalar_member_starts_from_empty(
    void **state)
{
	check("{'a':1,'b':2}", "{'a':{'x':null,'y':{'z':null}}}",
	      "{'a':{'y':{}},'b':2}");
}

static void
test_merge_patch__null_for_an_absent_member_changes_nothing(void **state)
{
	check("{'a':1}", "{'b':null}", "{'a':1}");
}

static void
test_merge_patch__empty_patch_gives_an_equal_copy(void **state)
{
	check("{'a':{'b':[1,{'c':null}]}}", "{}", "{'a':{'b':[1,{'c':null}]}}");
}

static void
test_merge_patch__nulls_inside_a_replacing_array_are_kept(void **state)
{
	check("{'a':1}", "{'a':[null,{'b':null}]}", "{'a':[null,{'b':null}]}");
}

static void
test_merge_patch__absent_target_is_an_empty_document(void **state)
{
	json_t *p = doc("{'a':{'b':null,'c':1},'d':null}");
	json_t *got = json_merge_patch(NULL, p), *want = doc("{'a':{'c':1}}");

	assert_non_null(got);
	assert_json_equal(got, want);
	json_decref(got);
	json_decref(want);
	json_decref(p);
}

static void
test_merge_patch__result_shares_nothing_with_its_arguments(void **state)
{
	json_t *t = doc("{'keep':{'x':[1]},'over':1}");
	json_t *p = doc("{'over':{'y':[2]},'new':[3]}");
	json_t *t0 = json_deep_copy(t), *p0 = json_deep_copy(p);
	json_t *got = json_merge_patch(t, p);

	assert_non_null(got);
	assert_true(got != t && got != p);
	/* Change every container of the result in place. */
	json_array_append_new(
	    json_object_get(json_object_get(got, "keep"), "x"),
	    json_integer(9));
	json_array_append_new(
	    json_object_get(json_object_get(got, "over"), "y"),
	    json_integer(9));
	json_array_append_new(json_object_get(got, "new"), json_integer(9));
	assert_json_equal(t, t0);
	assert_json_equal(p, p0);
	json_decref(got);
	json_decref(t);
	json_decref(t0);
	json_decref(p);
	json_decref(p0);
}

static void
test_merge_patch__scalar_patch_result_is_a_new_value(void **state)
{
	json_t *t = doc("{'a':1}"), *p = doc("['c']");
	json_t *got = json_merge_patch(t, p);

	assert_non_null(got);
	assert_true(got != p);
	json_array_append_new(got, json_integer(1));
	assert_int_equal(json_array_size(p), 1);
	json_decref(got);
	json_decref(t);
	json_decref(p);
}

static void
test_merge_patch__existing_members_keep_their_position(void **state)
{
	json_t *t = doc("{'a':1,'b':2,'c':3}"), *p = doc("{'b':{'x':1},'d':4}");
	json_t *got = json_merge_patch(t, p);
	char *s = json_dumps(got, JSON_COMPACT);

	assert_string_equal(s, "{\"a\":1,\"b\":{\"x\":1},\"c\":3,\"d\":4}");
	free(s);
	json_decref(got);
	json_decref(t);
	json_decref(p);
}

#if JANSSON_VERSION_HEX >= 0x020e00
static void
test_merge_patch__keys_with_an_embedded_nul_are_distinct(void **state)
{
	json_t *t = json_object(), *p = json_object(), *got;

	json_object_set_new(t, "a", json_integer(1));
	json_object_setn_new(t, "a\0b", 3, json_integer(2));
	json_object_setn_new(p, "a\0b", 3, json_null());
	json_object_setn_new(p, "a\0c", 3, json_integer(3));
	got = json_merge_patch(t, p);
	assert_non_null(got);
	assert_int_equal(json_object_size(got), 2);
	assert_int_equal(json_integer_value(json_object_getn(got, "a", 1)), 1);
	assert_int_equal(json_integer_value(json_object_getn(got, "a\0c", 3)),
			 3);
	assert_null(json_object_getn(got, "a\0b", 3));
	json_decref(got);
	/* Copying the target must not fold "a\0b" onto "a". */
	json_object_clear(p);
	got = json_merge_patch(t, p);
	assert_non_null(got);
	assert_int_equal(json_object_size(got), 2);
	assert_int_equal(json_integer_value(json_object_getn(got, "a", 1)), 1);
	assert_int_equal(json_integer_value(json_object_getn(got, "a\0b", 3)),
			 2);
	json_decref(got);
	json_decref(t);
	json_decref(p);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] =
	{ cmocka_unit_test(
	      test_merge_patch__every_rfc_7396_appendix_a_example_gives_its_result),
	  cmocka_unit_test(
	      test_merge_patch__section_3_example_gives_the_rfc_result),
	  cmocka_unit_test(
	      test_merge_patch__object_patch_on_a_scalar_member_starts_from_empty),
	  cmocka_unit_test(
	      test_merge_patch__null_for_an_absent_member_changes_nothing),
	  cmocka_unit_test(test_merge_patch__empty_patch_gives_an_equal_copy),
	  cmocka_unit_test(
	      test_merge_patch__nulls_inside_a_replacing_array_are_kept),
	  cmocka_unit_test(
	      test_merge_patch__absent_target_is_an_empty_document),
	  cmocka_unit_test(
	      test_merge_patch__result_shares_nothing_with_its_arguments),
	  cmocka_unit_test(
	      test_merge_patch__scalar_patch_result_is_a_new_value),
	  cmocka_unit_test(
	      test_merge_patch__existing_members_keep_their_position),
#if JANSSON_VERSION_HEX >= 0x020e00
	  cmocka_unit_test(
	      test_merge_patch__keys_with_an_embedded_nul_are_distinct),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
