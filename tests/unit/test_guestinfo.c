/* core/guestinfo.c: the rules of guestinfo keys and values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/limits.h"
#include "core/guestinfo.h"

static int
ok(const char *v, size_t len)
{
	char why[128];

	return guestinfo_value_valid(v, len, why, sizeof(why));
}

static void
test_guestinfo__keys_follow_the_name_rule_up_to_128_bytes(void **state)
{
	char key[LIMIT_GUESTINFO_KEY_LEN + 2];

	assert_true(guestinfo_key_valid("metadata.encoding"));
	assert_false(guestinfo_key_valid(".x"));
	assert_false(guestinfo_key_valid("a b"));
	assert_false(guestinfo_key_valid(""));
	memset(key, 'k', LIMIT_GUESTINFO_KEY_LEN);
	key[LIMIT_GUESTINFO_KEY_LEN] = '\0';
	assert_true(guestinfo_key_valid(key));
	key[LIMIT_GUESTINFO_KEY_LEN] = 'k';
	key[LIMIT_GUESTINFO_KEY_LEN + 1] = '\0';
	assert_false(guestinfo_key_valid(key));
}

static void
test_guestinfo__values_are_utf8_text_up_to_64_kib(void **state)
{
	char *big = malloc(LIMIT_GUESTINFO_VALUE + 1);

	assert_non_null(big);
	memset(big, 'x', LIMIT_GUESTINFO_VALUE + 1);
	assert_true(ok(big, LIMIT_GUESTINFO_VALUE));
	assert_false(ok(big, LIMIT_GUESTINFO_VALUE + 1));
	free(big);
	assert_true(ok("", 0));
	assert_true(ok("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_false(ok("a\0b", 3));
	assert_false(ok("\xff", 1));             /* no such lead byte */
	assert_false(ok("\xc3", 1));             /* cut short */
	assert_false(ok("\xc0\xaf", 2));         /* overlong '/' */
	assert_false(ok("\xed\xa0\x80", 3));     /* a surrogate */
	assert_false(ok("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
	assert_false(ok("\xe2\x28\xa1", 3));     /* not a continuation */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_guestinfo__keys_follow_the_name_rule_up_to_128_bytes),
	    cmocka_unit_test(test_guestinfo__values_are_utf8_text_up_to_64_kib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
