/*
 * server/config.c: defaults, then the --config file, then the command line,
 * which wins and whose --listen options replace the file's.  Every option,
 * its limits (at the limit and one past it), and the errors that make the
 * daemon exit 2.
 *
 * Files live in a mkdtemp directory per test.  Refused settings print a
 * message on stderr; that output is expected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/config.h"
#include "vmm-driver/vmm.h"

struct fx {
	char f_dir[64];
	char f_file[128]; /* the settings file, once written */
	char f_arg[160];  /* "--config=FILE" */
	struct config f_cf;
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->f_dir, sizeof(fx->f_dir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(fx->f_dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->f_file, sizeof(fx->f_file), "%s/vmmapid.conf", fx->f_dir);
	snprintf(fx->f_arg, sizeof(fx->f_arg), "--config=%s", fx->f_file);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	/* Safe whether or not a parse succeeded, or ran at all. */
	config_free(&fx->f_cf);
	unlink(fx->f_file);
	rmdir(fx->f_dir);
	free(fx);
	return 0;
}

static void
write_file(struct fx *fx, const char *text)
{
	FILE *f = fopen(fx->f_file, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/*
 * Parses "vmmapid ARGS..." (a NULL-terminated list) into fx->f_cf,
 * freeing what a previous parse left.  argv is a writable array, as
 * getopt_long permutes it.
 */
#define PARSE_MAX_ARGS 64

static int
parse(struct fx *fx, ...)
{
	char *argv[PARSE_MAX_ARGS + 1];
	int argc = 0;
	va_list ap;

	argv[argc++] = "vmmapid";
	va_start(ap, fx);
	while ((argv[argc] = va_arg(ap, char *)) != NULL) {
		argc++;
		assert_true(argc < PARSE_MAX_ARGS);
	}
	va_end(ap);
	config_free(&fx->f_cf);
	return config_parse(&fx->f_cf, argc, argv);
}

#define PARSE(fx, ...) parse((fx), __VA_ARGS__, (char *)NULL)

static int
parse_none(struct fx *fx)
{
	char *argv[] = {"vmmapid", NULL};

	config_free(&fx->f_cf);
	return config_parse(&fx->f_cf, 1, argv);
}

/* Defaults */

static void
test_config__no_arguments_gives_the_defaults(void **state)
{
	struct fx *fx = *state;
	struct config *cf = &fx->f_cf;

	assert_int_equal(parse_none(fx), 0);
	assert_int_equal(cf->cf_foreground, 0);
	assert_int_equal(cf->cf_verbose, 0);
	assert_string_equal(cf->cf_state_dir, "vmmapid-state");
	assert_string_equal(cf->cf_db, "vmmapid-state/vmmapid.db");
	assert_int_equal(cf->cf_nlisten, 1);
	assert_string_equal(cf->cf_listen[0],
			    "unix:vmmapid-state/vmmapid.sock");
	assert_string_equal(cf->cf_driver, "auto");
	assert_int_equal(cf->cf_max_vcpus, 0);
	assert_int_equal(cf->cf_max_memory_mib, 0);
	assert_int_equal(cf->cf_http_threads, 0);
	assert_int_equal(cf->cf_per_connection, 0);
	assert_int_equal(cf->cf_access_log, 1);
	assert_int_equal(cf->cf_conn_limit, 1024);
	assert_int_equal(cf->cf_conn_timeout, 60);
	assert_int_equal(cf->cf_shutdown_timeout, 10);
	assert_int_equal(cf->cf_workers, 64);
	assert_int_equal(cf->cf_spare_vms, 2);
	assert_null(cf->cf_pidfile);
}

static void
test_config__state_dir_moves_the_default_db_and_socket(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--state-dir", "/var/db/vmm"), 0);
	assert_string_equal(fx->f_cf.cf_state_dir, "/var/db/vmm");
	assert_string_equal(fx->f_cf.cf_db, "/var/db/vmm/vmmapid.db");
	assert_int_equal(fx->f_cf.cf_nlisten, 1);
	assert_string_equal(fx->f_cf.cf_listen[0],
			    "unix:/var/db/vmm/vmmapid.sock");
}

static void
test_config__explicit_db_is_kept_as_given(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--db", "/tmp/x.db", "--state-dir", "/s"),
			 0);
	assert_string_equal(fx->f_cf.cf_db, "/tmp/x.db");
	assert_string_equal(fx->f_cf.cf_state_dir, "/s");
}

/* Options */

static void
test_config__short_flags_set_foreground_and_verbose(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "-d"), 0);
	assert_int_equal(fx->f_cf.cf_foreground, 1);
	assert_int_equal(fx->f_cf.cf_verbose, 0);
	assert_int_equal(PARSE(fx, "-dv"), 0);
	assert_int_equal(fx->f_cf.cf_foreground, 1);
	assert_int_equal(fx->f_cf.cf_verbose, 1);
	assert_int_equal(PARSE(fx, "-v", "-d"), 0);
	assert_int_equal(fx->f_cf.cf_foreground, 1);
	assert_int_equal(fx->f_cf.cf_verbose, 1);
}

static void
test_config__every_long_option_is_applied(void **state)
{
	struct fx *fx = *state;
	struct config *cf = &fx->f_cf;

	assert_int_equal(
	    PARSE(fx, "--listen", "tcp:127.0.0.1:8080", "--db", "/d/v.db",
		  "--state-dir", "/d", "--driver", "sim", "--max-vcpus", "8",
		  "--max-memory-mib", "2048", "--http-threads", "3",
		  "--http-model", "per-connection", "--access-log", "off",
		  "--connection-limit", "10", "--connection-timeout", "5",
		  "--shutdown-timeout", "7", "--workers", "9", "--pidfile",
		  "/run/vmmapid.pid"),
	    0);
	assert_int_equal(cf->cf_nlisten, 1);
	assert_string_equal(cf->cf_listen[0], "tcp:127.0.0.1:8080");
	assert_string_equal(cf->cf_db, "/d/v.db");
	assert_string_equal(cf->cf_state_dir, "/d");
	assert_string_equal(cf->cf_driver, "sim");
	assert_int_equal(cf->cf_max_vcpus, 8);
	assert_int_equal(cf->cf_max_memory_mib, 2048);
	assert_int_equal(cf->cf_http_threads, 3);
	assert_int_equal(cf->cf_per_connection, 1);
	assert_int_equal(cf->cf_access_log, 0);
	assert_int_equal(cf->cf_conn_limit, 10);
	assert_int_equal(cf->cf_conn_timeout, 5);
	assert_int_equal(cf->cf_shutdown_timeout, 7);
	assert_int_equal(cf->cf_workers, 9);
	assert_string_equal(cf->cf_pidfile, "/run/vmmapid.pid");
}

static void
test_config__equals_form_of_long_options_works(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--workers=3", "--driver=kvm"), 0);
	assert_int_equal(fx->f_cf.cf_workers, 3);
	assert_string_equal(fx->f_cf.cf_driver, "kvm");
}

static void
test_config__later_option_wins(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--driver", "kvm", "--driver", "sim",
			       "--workers", "2", "--workers", "5"),
			 0);
	assert_string_equal(fx->f_cf.cf_driver, "sim");
	assert_int_equal(fx->f_cf.cf_workers, 5);
}

static void
test_config__listen_repeats_in_order(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--listen", "unix:/tmp/a.sock", "--listen",
			       "tcp:127.0.0.1:0", "--listen", "tcp:[::1]:80"),
			 0);
	assert_int_equal(fx->f_cf.cf_nlisten, 3);
	assert_string_equal(fx->f_cf.cf_listen[0], "unix:/tmp/a.sock");
	assert_string_equal(fx->f_cf.cf_listen[1], "tcp:127.0.0.1:0");
	assert_string_equal(fx->f_cf.cf_listen[2], "tcp:[::1]:80");
}

static void
test_config__listen_count_is_limited(void **state)
{
	struct fx *fx = *state;
	char *argv[2 * CONFIG_MAX_LISTEN + 4];
	char specs[CONFIG_MAX_LISTEN + 1][32];
	int i, argc = 1;

	argv[0] = "vmmapid";
	for (i = 0; i < CONFIG_MAX_LISTEN; i++) {
		snprintf(specs[i], sizeof(specs[i]), "unix:/tmp/%d.sock", i);
		argv[argc++] = "--listen";
		argv[argc++] = specs[i];
	}
	argv[argc] = NULL;
	/* At the limit. */
	assert_int_equal(config_parse(&fx->f_cf, argc, argv), 0);
	assert_int_equal(fx->f_cf.cf_nlisten, CONFIG_MAX_LISTEN);
	config_free(&fx->f_cf);

	/* One past it. */
	argv[0] = "vmmapid";
	argc = 1;
	for (i = 0; i <= CONFIG_MAX_LISTEN; i++) {
		snprintf(specs[i], sizeof(specs[i]), "unix:/tmp/%d.sock", i);
		argv[argc++] = "--listen";
		argv[argc++] = specs[i];
	}
	argv[argc] = NULL;
	assert_int_equal(config_parse(&fx->f_cf, argc, argv), -1);
}

static void
test_config__listen_needs_unix_or_tcp(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--listen", "/tmp/a.sock"), -1);
	assert_int_equal(PARSE(fx, "--listen", "udp:1.2.3.4:5"), -1);
	assert_int_equal(PARSE(fx, "--listen", ""), -1);
	assert_int_equal(PARSE(fx, "--listen", "UNIX:/a"), -1);
}

static void
test_config__driver_must_be_auto_kvm_or_sim(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--driver", "auto"), 0);
	assert_int_equal(PARSE(fx, "--driver", "kvm"), 0);
	assert_int_equal(PARSE(fx, "--driver", "sim"), 0);
	assert_int_equal(PARSE(fx, "--driver", "bhyve"), -1);
	assert_int_equal(PARSE(fx, "--driver", "SIM"), -1);
	assert_int_equal(PARSE(fx, "--driver", ""), -1);
}

static void
test_config__numbers_must_be_plain_decimal(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--max-vcpus", "abc"), -1);
	assert_int_equal(PARSE(fx, "--max-vcpus", "-1"), -1);
	assert_int_equal(PARSE(fx, "--max-vcpus", ""), -1);
	assert_int_equal(PARSE(fx, "--max-vcpus", "12x"), -1);
	assert_int_equal(PARSE(fx, "--max-vcpus", "0x10"), -1);
	assert_int_equal(PARSE(fx, "--workers", "99999999999999999999999"), -1);
	assert_int_equal(PARSE(fx, "--connection-timeout", "1.5"), -1);
}

static void
test_config__max_vcpus_limit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--max-vcpus", "4096"), 0);
	assert_int_equal(fx->f_cf.cf_max_vcpus, 4096);
	assert_int_equal(PARSE(fx, "--max-vcpus", "4097"), -1);
	/* 0 means the host's CPU count. */
	assert_int_equal(PARSE(fx, "--max-vcpus", "0"), 0);
	assert_int_equal(fx->f_cf.cf_max_vcpus, 0);
}

static void
test_config__http_threads_limit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--http-threads", "256"), 0);
	assert_int_equal(fx->f_cf.cf_http_threads, 256);
	assert_int_equal(PARSE(fx, "--http-threads", "257"), -1);
}

static void
test_config__workers_limit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--workers", "1"), 0);
	assert_int_equal(fx->f_cf.cf_workers, 1);
	assert_int_equal(PARSE(fx, "--workers", "1024"), 0);
	assert_int_equal(fx->f_cf.cf_workers, 1024);
	assert_int_equal(PARSE(fx, "--workers", "1025"), -1);
	assert_int_equal(PARSE(fx, "--workers", "0"), -1);
}

static void
test_config__spare_vms_limit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--spare-vms", "8"), 0);
	assert_int_equal(fx->f_cf.cf_spare_vms, VMM_SPARES_MAX);
	assert_int_equal(PARSE(fx, "--spare-vms", "0"), 0);
	assert_int_equal(fx->f_cf.cf_spare_vms, 0);
	assert_int_equal(PARSE(fx, "--spare-vms", "9"), -1);
	assert_int_equal(PARSE(fx, "--spare-vms", "-1"), -1);
}

static void
test_config__connection_limit_limit(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--connection-limit", "65536"), 0);
	assert_int_equal(fx->f_cf.cf_conn_limit, 65536);
	assert_int_equal(PARSE(fx, "--connection-limit", "65537"), -1);
	assert_int_equal(PARSE(fx, "--connection-limit", "0"), -1);
}

static void
test_config__timeout_limits(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--connection-timeout", "86400"), 0);
	assert_int_equal(fx->f_cf.cf_conn_timeout, 86400);
	assert_int_equal(PARSE(fx, "--connection-timeout", "86401"), -1);
	assert_int_equal(PARSE(fx, "--shutdown-timeout", "3600"), 0);
	assert_int_equal(fx->f_cf.cf_shutdown_timeout, 3600);
	assert_int_equal(PARSE(fx, "--shutdown-timeout", "3601"), -1);
	assert_int_equal(PARSE(fx, "--shutdown-timeout", "0"), 0);
	assert_int_equal(fx->f_cf.cf_shutdown_timeout, 0);
}

static void
test_config__max_memory_limit(void **state)
{
	struct fx *fx = *state;
	char at[32], past[32];

	/* MiB that still fit in bytes of an unsigned long. */
	snprintf(at, sizeof(at), "%lu", (unsigned long)(-1) >> 20);
	snprintf(past, sizeof(past), "%lu", ((unsigned long)(-1) >> 20) + 1);
	assert_int_equal(PARSE(fx, "--max-memory-mib", at), 0);
	assert_int_equal(fx->f_cf.cf_max_memory_mib,
			 (uint64_t)((unsigned long)(-1) >> 20));
	assert_int_equal(PARSE(fx, "--max-memory-mib", past), -1);
}

static void
test_config__http_model_is_pool_or_per_connection(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--http-model", "per-connection"), 0);
	assert_int_equal(fx->f_cf.cf_per_connection, 1);
	assert_int_equal(PARSE(fx, "--http-model", "pool"), 0);
	assert_int_equal(fx->f_cf.cf_per_connection, 0);
	assert_int_equal(PARSE(fx, "--http-model", "threads"), -1);
}

static void
test_config__access_log_is_on_or_off(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--access-log", "off"), 0);
	assert_int_equal(fx->f_cf.cf_access_log, 0);
	assert_int_equal(PARSE(fx, "--access-log", "on"), 0);
	assert_int_equal(fx->f_cf.cf_access_log, 1);
	assert_int_equal(PARSE(fx, "--access-log", "yes"), -1);
}

static void
test_config__help_and_version_answer_1(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--help"), 1);
	assert_int_equal(PARSE(fx, "-h"), 1);
	assert_int_equal(PARSE(fx, "--version"), 1);
}

static void
test_config__unknown_option_is_an_error(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "--bogus"), -1);
	assert_int_equal(PARSE(fx, "-x"), -1);
	assert_int_equal(PARSE(fx, "--workers"), -1); /* missing value */
}

static void
test_config__positional_argument_is_an_error(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(PARSE(fx, "start"), -1);
	assert_int_equal(PARSE(fx, "-d", "start"), -1);
}

static void
test_config__parsing_again_starts_from_scratch(void **state)
{
	struct fx *fx = *state;

	/*
	 * BUG (reported to the lead; this test fails until config.c is
	 * fixed): config_parse resets getopt with optind = 1, which does not
	 * forget glibc's position inside a group of short flags.  "-hv"
	 * answers at "h" and leaves "v" pending; the next config_parse then
	 * reads that stale "v" (from the previous argv) and fails with
	 * 'unknown option "?"'.  optind = 0 reinitializes getopt fully.
	 */
	assert_int_equal(PARSE(fx, "-hv"), 1);
	assert_int_equal(parse_none(fx), 0);
	assert_int_equal(fx->f_cf.cf_verbose, 0);
	assert_int_equal(fx->f_cf.cf_foreground, 0);
}

/* The file */

static void
test_config__file_settings_are_applied(void **state)
{
	struct fx *fx = *state;
	struct config *cf = &fx->f_cf;

	write_file(fx, "# vmmapid settings\n"
		       "\n"
		       "listen unix:/tmp/f.sock\n"
		       "  listen   tcp:127.0.0.1:9000   # the API\n"
		       "workers = 8\n"
		       "driver=sim\n"
		       "access-log\toff\n"
		       "max-vcpus 2\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), 0);
	assert_int_equal(cf->cf_nlisten, 2);
	assert_string_equal(cf->cf_listen[0], "unix:/tmp/f.sock");
	assert_string_equal(cf->cf_listen[1], "tcp:127.0.0.1:9000");
	assert_int_equal(cf->cf_workers, 8);
	assert_string_equal(cf->cf_driver, "sim");
	assert_int_equal(cf->cf_access_log, 0);
	assert_int_equal(cf->cf_max_vcpus, 2);
}

static void
test_config__config_equals_form_reads_the_file(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "workers 8\n");
	assert_int_equal(PARSE(fx, fx->f_arg), 0);
	assert_int_equal(fx->f_cf.cf_workers, 8);
}

static void
test_config__command_line_overrides_the_file(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "workers 8\ndriver sim\ndb /from/file.db\n");
	/* The order on the command line does not matter. */
	assert_int_equal(PARSE(fx, "--workers", "4", "--config", fx->f_file),
			 0);
	assert_int_equal(fx->f_cf.cf_workers, 4);
	assert_string_equal(fx->f_cf.cf_driver, "sim");
	assert_string_equal(fx->f_cf.cf_db, "/from/file.db");
}

static void
test_config__command_line_listen_replaces_the_files(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "listen unix:/tmp/a.sock\nlisten unix:/tmp/b.sock\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file, "--listen",
			       "tcp:127.0.0.1:1", "--listen",
			       "tcp:127.0.0.1:2"),
			 0);
	assert_int_equal(fx->f_cf.cf_nlisten, 2);
	assert_string_equal(fx->f_cf.cf_listen[0], "tcp:127.0.0.1:1");
	assert_string_equal(fx->f_cf.cf_listen[1], "tcp:127.0.0.1:2");
}

static void
test_config__file_listen_stays_without_command_line_listen(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "listen unix:/tmp/a.sock\nstate-dir /x\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file, "-d"), 0);
	assert_int_equal(fx->f_cf.cf_nlisten, 1);
	assert_string_equal(fx->f_cf.cf_listen[0], "unix:/tmp/a.sock");
	/* The file's state-dir moves the default database too. */
	assert_string_equal(fx->f_cf.cf_db, "/x/vmmapid.db");
}

static void
test_config__file_with_unknown_setting_is_an_error(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "workers 8\nfrobnicate yes\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
}

static void
test_config__file_setting_without_value_is_an_error(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "workers\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
	write_file(fx, "workers =   # nothing\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
}

static void
test_config__file_cannot_name_another_file_or_flags(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "config /etc/other.conf\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
	write_file(fx, "help yes\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
}

static void
test_config__file_with_bad_value_is_an_error(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "workers 0\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
	write_file(fx, "driver qemu\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
	write_file(fx, "listen /tmp/a.sock\n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), -1);
}

static void
test_config__missing_file_is_an_error(void **state)
{
	struct fx *fx = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/nonexistent.conf", fx->f_dir);
	assert_int_equal(PARSE(fx, "--config", path), -1);
}

static void
test_config__empty_file_gives_the_defaults(void **state)
{
	struct fx *fx = *state;

	write_file(fx, "# nothing here\n\n   \n");
	assert_int_equal(PARSE(fx, "--config", fx->f_file), 0);
	assert_int_equal(fx->f_cf.cf_workers, 64);
	assert_int_equal(fx->f_cf.cf_nlisten, 1);
	assert_string_equal(fx->f_cf.cf_listen[0],
			    "unix:vmmapid-state/vmmapid.sock");
}

/* config_free */

static void
test_config__free_zeroes_and_may_repeat(void **state)
{
	struct fx *fx = *state;
	struct config zero;

	memset(&zero, 0, sizeof(zero));
	assert_int_equal(
	    PARSE(fx, "--pidfile", "/p", "--listen", "unix:/tmp/a.sock"), 0);
	config_free(&fx->f_cf);
	assert_memory_equal(&fx->f_cf, &zero, sizeof(zero));
	config_free(&fx->f_cf);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_config__no_arguments_gives_the_defaults),
	    T(test_config__state_dir_moves_the_default_db_and_socket),
	    T(test_config__explicit_db_is_kept_as_given),
	    T(test_config__short_flags_set_foreground_and_verbose),
	    T(test_config__every_long_option_is_applied),
	    T(test_config__equals_form_of_long_options_works),
	    T(test_config__later_option_wins),
	    T(test_config__listen_repeats_in_order),
	    T(test_config__listen_count_is_limited),
	    T(test_config__listen_needs_unix_or_tcp),
	    T(test_config__driver_must_be_auto_kvm_or_sim),
	    T(test_config__numbers_must_be_plain_decimal),
	    T(test_config__max_vcpus_limit),
	    T(test_config__http_threads_limit),
	    T(test_config__workers_limit),
	    T(test_config__spare_vms_limit),
	    T(test_config__connection_limit_limit),
	    T(test_config__timeout_limits),
	    T(test_config__max_memory_limit),
	    T(test_config__http_model_is_pool_or_per_connection),
	    T(test_config__access_log_is_on_or_off),
	    T(test_config__help_and_version_answer_1),
	    T(test_config__unknown_option_is_an_error),
	    T(test_config__positional_argument_is_an_error),
	    T(test_config__parsing_again_starts_from_scratch),
	    T(test_config__file_settings_are_applied),
	    T(test_config__config_equals_form_reads_the_file),
	    T(test_config__command_line_overrides_the_file),
	    T(test_config__command_line_listen_replaces_the_files),
	    T(test_config__file_listen_stays_without_command_line_listen),
	    T(test_config__file_with_unknown_setting_is_an_error),
	    T(test_config__file_setting_without_value_is_an_error),
	    T(test_config__file_cannot_name_another_file_or_flags),
	    T(test_config__file_with_bad_value_is_an_error),
	    T(test_config__missing_file_is_an_error),
	    T(test_config__empty_file_gives_the_defaults),
	    T(test_config__free_zeroes_and_may_repeat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
