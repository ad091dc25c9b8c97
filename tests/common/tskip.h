/*
 * Skips that are counted.  Every skip in the tests goes through here, so
 * that scripts/test can say how many cases did not run, where and why:
 * the reason is printed, and a line
 *
 *	PROGRAM <TAB> CASE <TAB> REASON
 *
 * is appended to the file named by the environment variable
 * VMMAPID_SKIP_LOG (when it is set).  PROGRAM is VMMAPID_TEST_NAME (set
 * by ctest, e.g. "api/test_vcpus@kvm"), else the program's name; CASE is
 * "*" when the whole program skips.
 *
 *	tskip("needs root; running as uid %ld", (long)geteuid());
 *
 * inside a cmocka case skips that case (cmocka's skip()); a program that
 * cannot run at all calls tskip_program() and exits TSKIP_EXIT, which
 * ctest's SKIP_RETURN_CODE reports as skipped.
 *
 * Header-only so that every test program can use it without linking
 * anything.  Include after <cmocka.h>.
 */
#ifndef VMMAPID_TESTS_COMMON_TSKIP_H
#define VMMAPID_TESTS_COMMON_TSKIP_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The exit status of a program that skips as a whole (automake's). */
#define TSKIP_EXIT 77

#ifdef __GLIBC__
extern char *program_invocation_short_name;
#define TSKIP_PROGNAME() program_invocation_short_name
#else
#define TSKIP_PROGNAME() getprogname()
#endif

/*
 * Prints "[  SKIPPED ] case: reason" and appends the log line; does not
 * skip.  Reasons are one line: tabs and newlines become spaces.
 */
static inline void
tskip_record(const char *case_name, const char *fmt, va_list ap)
{
	const char *log = getenv("VMMAPID_SKIP_LOG");
	const char *prog = getenv("VMMAPID_TEST_NAME");
	char reason[512], line[1024];
	int n, fd, saved = errno;
	char *p;

	vsnprintf(reason, sizeof(reason), fmt, ap);
	for (p = reason; *p != '\0'; p++)
		if (*p == '\t' || *p == '\n')
			*p = ' ';
	if (prog == NULL || *prog == '\0')
		prog = TSKIP_PROGNAME();
	fflush(stdout);
	fprintf(stderr, "[  SKIPPED ] %s: %s\n", case_name, reason);
	fflush(stderr);
	if (log == NULL || *log == '\0') {
		errno = saved;
		return;
	}
	n = snprintf(line, sizeof(line), "%s\t%s\t%s\n", prog, case_name,
		     reason);
	if (n >= (int)sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* O_APPEND and one write: programs ctest runs at once do not mix. */
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (write(fd, line, (size_t)n) != n)
			fprintf(stderr, "%s: short write\n", log);
		close(fd);
	}
	errno = saved;
}

/* Records why case_name skips and skips it (cmocka's skip()). */
static inline void tskip_case(const char *case_name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
tskip_case(const char *case_name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tskip_record(case_name, fmt, ap);
	va_end(ap);
	skip();
}

/* Skips the running case, named by the function that calls this. */
#define tskip(...) tskip_case(__func__, __VA_ARGS__)

/* Records why the whole program skips; the caller exits TSKIP_EXIT. */
static inline void tskip_program(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static inline void
tskip_program(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tskip_record("*", fmt, ap);
	va_end(ap);
}

#endif
