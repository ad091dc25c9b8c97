/* base/vm_state.c: the one table of VM states, its names and "live". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "base/vm_state.h"

static void
test_vm_state__every_state_parses_back_from_its_name(void **state)
{
	int s;

	for (s = 0; s < VM_NSTATES; s++) {
		enum vm_state got = VM_NSTATES;
		const char *name = vm_state_name((enum vm_state)s);

		assert_true(strlen(name) < VM_STATE_NAME_MAX);
		assert_int_equal(vm_state_parse(name, &got), 0);
		assert_int_equal(got, s);
		/* And the list for messages names it. */
		assert_non_null(strstr(vm_state_names(), name));
	}
}

static void
test_vm_state__unknown_names_are_einval(void **state)
{
	static const char *const bad[] = {"", "Running", "running ", "halted",
					  "unknown"};
	enum vm_state got = VM_RUNNING;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(vm_state_parse(bad[i], &got), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(got, VM_RUNNING);
	}
	assert_int_equal(vm_state_parse(NULL, &got), -1);
	assert_string_equal(vm_state_name(VM_NSTATES), "unknown");
}

static void
test_vm_state__live_states_are_those_with_a_runner(void **state)
{
	assert_false(vm_state_is_live(VM_DEFINED));
	assert_true(vm_state_is_live(VM_STARTING));
	assert_true(vm_state_is_live(VM_RUNNING));
	assert_true(vm_state_is_live(VM_PAUSED));
	assert_true(vm_state_is_live(VM_STOPPING));
	assert_false(vm_state_is_live(VM_STOPPED));
	assert_false(vm_state_is_live(VM_CRASHED));
}

static void
test_vm_state__a_zeroed_state_is_defined(void **state)
{
	enum vm_state s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(s, VM_DEFINED);
	assert_string_equal(vm_state_name(s), "defined");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_vm_state__every_state_parses_back_from_its_name),
	    cmocka_unit_test(test_vm_state__unknown_names_are_einval),
	    cmocka_unit_test(
		test_vm_state__live_states_are_those_with_a_runner),
	    cmocka_unit_test(test_vm_state__a_zeroed_state_is_defined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
