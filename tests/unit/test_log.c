/*
 * base/log.c: every line is one line of printable UTF-8, whatever the
 * message holds (request paths and headers are logged as they came).
 * Lines go to stderr here, redirected to a file per case.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

struct fx {
	char f_path[64];
	int f_saved; /* the real stderr */
};

static int
setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	int fd;

	if (fx == NULL)
		return -1;
	snprintf(fx->f_path, sizeof(fx->f_path), "/tmp/test_log.XXXXXX");
	if ((fd = mkstemp(fx->f_path)) < 0)
		return -1;
	fflush(stderr);
	fx->f_saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_init(1, 1);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	dup2(fx->f_saved, STDERR_FILENO);
	close(fx->f_saved);
	unlink(fx->f_path);
	free(fx);
	return 0;
}

/* What was logged so far (malloc'd). */
static char *
logged(struct fx *fx)
{
	static char buf[8192];
	int fd = open(fx->f_path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return buf;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static void
test_log__a_newline_in_a_message_does_not_start_a_line(void **state)
{
	struct fx *fx = *state;
	const char *out;

	log_info("access: GET %s 404", "/x\n2026-01-01T00:00:00.000Z forged");
	out = logged(fx);
	assert_int_equal(count_lines(out), 1);
	if (strstr(out, "/x\\x0a2026-01-01T00:00:00.000Z forged 404\n") == NULL)
		fail_msg("not escaped: %s", out);
}

static void
test_log__control_characters_and_backslashes_are_escaped(void **state)
{
	struct fx *fx = *state;
	const char *out;

	log_warnx("a\rb\tc\x1b[31md\x7f e\\x0a");
	out = logged(fx);
	if (strstr(out, "a\\x0db\\x09c\\x1b[31md\\x7f e\\\\x0a\n") == NULL)
		fail_msg("not escaped: %s", out);
}

static void
test_log__bytes_that_are_not_utf8_are_escaped_and_utf8_is_kept(void **state)
{
	struct fx *fx = *state;
	const char *out;

	/* é and € kept; a lone continuation byte, ff fe, an overlong "/"
	 * (c0 af), a C1 control (c2 85: NEL) and a cut sequence escaped. */
	log_info(
	    "\xc3\xa9 \xe2\x82\xac \x80 \xff\xfe \xc0\xaf \xc2\x85 \xe2\x82");
	out = logged(fx);
	if (strstr(out, "\xc3\xa9 \xe2\x82\xac \\x80 \\xff\\xfe \\xc0\\xaf "
			"\\xc2\\x85 \\xe2\\x82\n") == NULL)
		fail_msg("not escaped: %s", out);
}

static void
test_log__the_errno_suffix_and_debug_lines_are_escaped_too(void **state)
{
	struct fx *fx = *state;
	const char *out;

	errno = ENOENT;
	log_warn("open %s", "a\nb");
	log_debug("debug %s", "c\nd");
	out = logged(fx);
	assert_int_equal(count_lines(out), 2);
	assert_non_null(
	    strstr(out, "open a\\x0ab: No such file or directory\n"));
	assert_non_null(strstr(out, "debug c\\x0ad\n"));
}

static void
test_log__a_long_message_is_cut_not_split(void **state)
{
	struct fx *fx = *state;
	char big[4096];
	const char *out;

	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_info("%s", big);
	out = logged(fx);
	assert_int_equal(count_lines(out), 1);
	assert_true(strlen(out) <= 2048);
	assert_int_equal(out[strlen(out) - 1], '\n');
}

static void
test_log__escape_stops_before_a_sequence_that_does_not_fit(void **state)
{
	char dst[6];

	(void)state;
	assert_int_equal(log_escape(dst, sizeof(dst), "ab\ncd", 5), 2);
	assert_string_equal(dst, "ab");
	assert_int_equal(log_escape(dst, sizeof(dst), "a\xc3\xa9", 3), 3);
	assert_string_equal(dst, "a\xc3\xa9");
	assert_int_equal(log_escape(dst, 1, "abc", 3), 0);
	assert_string_equal(dst, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_log__a_newline_in_a_message_does_not_start_a_line, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_log__control_characters_and_backslashes_are_escaped, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_log__bytes_that_are_not_utf8_are_escaped_and_utf8_is_kept,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_log__the_errno_suffix_and_debug_lines_are_escaped_too,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_log__a_long_message_is_cut_not_split, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_log__escape_stops_before_a_sequence_that_does_not_fit,
		setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
