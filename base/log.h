/*
 * Logging: one line per message, written with a single write(2) so lines
 * from different threads never interleave, with whatever the message holds
 * escaped (log_escape) so that no text a caller sent can forge a line.  In the
 * foreground (-d) lines go to stderr with a timestamp; a daemonized process
 * logs to syslog.
 */
#ifndef VMMAPID_BASE_LOG_H
#define VMMAPID_BASE_LOG_H

#include <stddef.h>

/* Sets where lines go; before it, lines go to stderr. */
void log_init(int foreground, int verbose);

/* Whether lines go to a terminal (stderr) rather than syslog. */
int log_is_foreground(void);

/* Message with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Message as is. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with -v. */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One access-log line (kept apart so it can be switched off). */
void log_access(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Enables or disables log_access lines. */
void log_access_enable(int on);

/* Debug lines on or off, at any time (SIGHUP); log_access_enable too. */
void log_set_verbose(int verbose);

/*
 * Copies the n bytes of src into dst (cap bytes, NUL included) as one line
 * of printable UTF-8: control characters, DEL, C1 controls and bytes that
 * are not UTF-8 become \xNN, a backslash \\.  Every log line goes through
 * it.  Returns the length written (a sequence that does not fit is left
 * out with all after it).
 */
size_t log_escape(char *dst, size_t cap, const char *src, size_t n);

/* Start-up only: logs and exits 1. */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
