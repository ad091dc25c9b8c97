/* base/names.c: the name rule's general form and the search by name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/limits.h"
#include "base/names.h"

static const char *
at_of(const void *base, size_t i)
{
	return ((const char *const *)base)[i];
}

static void
test_names__search_finds_each_name_and_where_others_go(void **state)
{
	static const char *const sorted[] = {"a", "b1", "c", "web1", "web2"};
	size_t at, i;

	for (i = 0; i < 5; i++) {
		assert_int_equal(name_search(sorted, 5, at_of, sorted[i], &at),
				 1);
		assert_int_equal(at, i);
	}
	assert_int_equal(name_search(sorted, 5, at_of, "0", &at), 0);
	assert_int_equal(at, 0);
	assert_int_equal(name_search(sorted, 5, at_of, "b", &at), 0);
	assert_int_equal(at, 1);
	assert_int_equal(name_search(sorted, 5, at_of, "web", &at), 0);
	assert_int_equal(at, 3);
	assert_int_equal(name_search(sorted, 5, at_of, "z", &at), 0);
	assert_int_equal(at, 5);
	assert_int_equal(name_search(sorted, 0, at_of, "a", &at), 0);
	assert_int_equal(at, 0);
}

static void
test_names__check_takes_the_extra_bytes_and_the_length_given(void **state)
{
	assert_true(name_check("a/b", 8, "/"));
	assert_false(name_check("a/b", 8, "._-"));
	assert_false(name_check("/a", 8, "/"));
	assert_true(name_check("abcdefgh", 8, ""));
	assert_false(name_check("abcdefghi", 8, ""));
	assert_false(name_check(NULL, 8, ""));
	assert_false(name_check("", 8, ""));
}

static void
test_names__valid_is_the_rule_of_every_name(void **state)
{
	char name[LIMIT_NAME_LEN + 2];

	assert_true(name_valid("web-1.example_b"));
	assert_false(name_valid(".a"));
	assert_false(name_valid("a b"));
	memset(name, 'x', LIMIT_NAME_LEN);
	name[LIMIT_NAME_LEN] = '\0';
	assert_true(name_valid(name));
	name[LIMIT_NAME_LEN] = 'x';
	name[LIMIT_NAME_LEN + 1] = '\0';
	assert_false(name_valid(name));
}

/* A VM's key: its name on the host, JAIL/NAME in a jail, and back. */
static void
test_names__a_vm_key_is_its_name_or_jail_slash_name(void **state)
{
	char key[VMKEY_SIZE], jail[LIMIT_NAME_LEN + 1], longest[65];

	(void)state;
	assert_int_equal(vmkey_make(key, "", "web1"), 0);
	assert_string_equal(key, "web1");
	assert_int_equal(vmkey_make(key, NULL, "web1"), 0);
	assert_string_equal(key, "web1");
	vmkey_jail(key, jail);
	assert_string_equal(jail, "");
	assert_string_equal(vmkey_name(key), "web1");
	assert_int_equal(vmkey_make(key, "j1", "web1"), 0);
	assert_string_equal(key, "j1/web1");
	vmkey_jail(key, jail);
	assert_string_equal(jail, "j1");
	assert_string_equal(vmkey_name(key), "web1");
	/* Both parts at the limit fit. */
	memset(longest, 'x', LIMIT_NAME_LEN);
	longest[LIMIT_NAME_LEN] = '\0';
	assert_int_equal(vmkey_make(key, longest, longest), 0);
	assert_int_equal(strlen(key), 2 * LIMIT_NAME_LEN + 1);
	vmkey_jail(key, jail);
	assert_string_equal(jail, longest);
	assert_string_equal(vmkey_name(key), longest);
	/* Neither part may be other than a name. */
	assert_int_equal(vmkey_make(key, "j1", "a/b"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vmkey_make(key, "j/1", "a"), -1);
	assert_int_equal(vmkey_make(key, "j1", ""), -1);
	assert_int_equal(vmkey_make(key, "-j", "a"), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_names__search_finds_each_name_and_where_others_go),
	    cmocka_unit_test(
		test_names__check_takes_the_extra_bytes_and_the_length_given),
	    cmocka_unit_test(test_names__valid_is_the_rule_of_every_name),
	    cmocka_unit_test(
		test_names__a_vm_key_is_its_name_or_jail_slash_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
