/*
 * core/spec.c: a normalized spec document decoded into the typed spec
 * the start path uses; what a hand-edited database could hold is EINVAL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/spec.h"

static json_t *
doc(const char *text)
{
	json_error_t jerr;
	json_t *d = json_loads(text, 0, &jerr);

	if (d == NULL)
		fail_msg("bad test JSON: %s", jerr.text);
	return d;
}

static void
test_spec__a_flat_spec_decodes_every_field_a_start_needs(void **state)
{
	json_t *d = doc("{\"name\":\"web1\",\"vcpus\":2,\"memory_mib\":64,"
			"\"boot\":{\"kind\":\"flat\",\"image\":\"hello.bin\","
			"\"load_address\":4096,\"entry\":4100},"
			"\"labels\":{},\"pptdevs\":[\"1/0/0\"],"
			"\"autostart\":true,\"description\":\"\"}");
	struct vm_spec s;

	assert_int_equal(spec_decode(d, &s), 0);
	assert_int_equal(s.vs_vcpus, 2);
	assert_int_equal(s.vs_memory_mib, 64);
	assert_int_equal(s.vs_boot, VM_BOOT_FLAT);
	assert_string_equal(s.vs_image, "hello.bin");
	assert_int_equal(s.vs_load_address, 4096);
	assert_int_equal(s.vs_entry, 4100);
	assert_int_equal(s.vs_npptdevs, 1);
	assert_true(s.vs_autostart);
	json_decref(d);
}

static void
test_spec__a_linux_spec_names_kernel_and_initrd(void **state)
{
	json_t *d = doc("{\"vcpus\":1,\"memory_mib\":256,"
			"\"boot\":{\"kind\":\"linux\",\"kernel\":\"vmlinuz\","
			"\"initrd\":\"initrd.img\",\"cmdline\":\"quiet\"},"
			"\"pptdevs\":[],\"autostart\":false}");
	struct vm_spec s;

	assert_int_equal(spec_decode(d, &s), 0);
	assert_int_equal(s.vs_boot, VM_BOOT_LINUX);
	assert_string_equal(s.vs_image, "vmlinuz");
	assert_string_equal(s.vs_initrd, "initrd.img");
	assert_string_equal(s.vs_cmdline, "quiet");
	/* Stored before the options existed: their defaults. */
	assert_int_equal(s.vs_decompress, VM_DECOMPRESS_HOST);
	assert_int_equal(s.vs_on_reboot, VM_ON_REBOOT_RESTART);
	assert_int_equal(s.vs_npptdevs, 0);
	assert_false(s.vs_autostart);
	json_decref(d);
}

static void
test_spec__decompress_and_on_reboot_decode(void **state)
{
	json_t *d = doc("{\"vcpus\":2,\"memory_mib\":256,"
			"\"boot\":{\"kind\":\"linux\",\"kernel\":\"vmlinuz\","
			"\"cmdline\":\"\",\"decompress\":\"guest\"},"
			"\"pptdevs\":[],\"autostart\":false,"
			"\"on_reboot\":\"stop\"}");
	struct vm_spec s;

	assert_int_equal(spec_decode(d, &s), 0);
	assert_string_equal(s.vs_initrd, "");
	assert_string_equal(s.vs_cmdline, "");
	assert_int_equal(s.vs_decompress, VM_DECOMPRESS_GUEST);
	assert_int_equal(s.vs_on_reboot, VM_ON_REBOOT_STOP);
	json_decref(d);
}

static void
test_spec__a_cmdline_longer_than_the_limit_is_einval(void **state)
{
	char text[LIMIT_CMDLINE_LEN + 256], cmdline[LIMIT_CMDLINE_LEN + 2];
	struct vm_spec s;
	json_t *d;

	memset(cmdline, 'c', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":"
		 "\"linux\",\"kernel\":\"k\",\"cmdline\":\"%s\"}}",
		 cmdline);
	d = doc(text);
	errno = 0;
	assert_int_equal(spec_decode(d, &s), -1);
	assert_int_equal(errno, EINVAL);
	json_decref(d);
	cmdline[sizeof(cmdline) - 2] = '\0';
	snprintf(text, sizeof(text),
		 "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":"
		 "\"linux\",\"kernel\":\"k\",\"cmdline\":\"%s\"}}",
		 cmdline);
	d = doc(text);
	assert_int_equal(spec_decode(d, &s), 0);
	assert_int_equal(strlen(s.vs_cmdline), LIMIT_CMDLINE_LEN);
	json_decref(d);
}

static void
test_spec__what_a_start_cannot_use_is_einval(void **state)
{
	static const char *const bad[] = {
	    "{}",
	    "{\"vcpus\":0,\"memory_mib\":64,\"boot\":{\"kind\":\"flat\","
	    "\"image\":\"a\",\"load_address\":0,\"entry\":0}}",
	    "{\"vcpus\":1,\"memory_mib\":-1,\"boot\":{\"kind\":\"flat\","
	    "\"image\":\"a\",\"load_address\":0,\"entry\":0}}",
	    "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":\"floppy\"}}",
	    "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":\"flat\","
	    "\"load_address\":0,\"entry\":0}}",
	    "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":\"flat\","
	    "\"image\":\"a\",\"load_address\":0,\"entry\":65536}}",
	    "{\"vcpus\":\"2\",\"memory_mib\":64,\"boot\":{\"kind\":\"flat\","
	    "\"image\":\"a\",\"load_address\":0,\"entry\":0}}",
	    "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":\"linux\"}}",
	};
	struct vm_spec s;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *d = doc(bad[i]);

		errno = 0;
		if (spec_decode(d, &s) != -1 || errno != EINVAL)
			fail_msg("decoded: %s", bad[i]);
		json_decref(d);
	}
}

static void
test_spec__an_image_name_longer_than_a_name_is_einval(void **state)
{
	char text[512], name[LIMIT_NAME_LEN + 2];
	struct vm_spec s;
	json_t *d;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(text, sizeof(text),
		 "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":\"flat\","
		 "\"image\":\"%s\",\"load_address\":0,\"entry\":0}}",
		 name);
	d = doc(text);
	assert_int_equal(spec_decode(d, &s), -1);
	json_decref(d);
	/* One shorter fits exactly. */
	name[sizeof(name) - 2] = '\0';
	snprintf(text, sizeof(text),
		 "{\"vcpus\":1,\"memory_mib\":64,\"boot\":{\"kind\":\"flat\","
		 "\"image\":\"%s\",\"load_address\":0,\"entry\":0}}",
		 name);
	d = doc(text);
	assert_int_equal(spec_decode(d, &s), 0);
	assert_string_equal(s.vs_image, name);
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
		test_spec__a_flat_spec_decodes_every_field_a_start_needs),
	    cmocka_unit_test(test_spec__a_linux_spec_names_kernel_and_initrd),
	    cmocka_unit_test(test_spec__decompress_and_on_reboot_decode),
	    cmocka_unit_test(
		test_spec__a_cmdline_longer_than_the_limit_is_einval),
	    cmocka_unit_test(test_spec__what_a_start_cannot_use_is_einval),
	    cmocka_unit_test(
		test_spec__an_image_name_longer_than_a_name_is_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
