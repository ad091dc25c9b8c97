#include "base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int log_foreground = 1;
/* Atomic: SIGHUP changes them while other threads log (log_set_verbose). */
static atomic_int log_verbose;
static atomic_int log_access_on = 1;

void
log_init(int foreground, int verbose)
{
	log_foreground = foreground;
	atomic_store_explicit(&log_verbose, verbose, memory_order_relaxed);
	if (!foreground)
		openlog("vmmapid", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

int
log_is_foreground(void)
{
	return log_foreground;
}

void
log_access_enable(int on)
{
	atomic_store_explicit(&log_access_on, on, memory_order_relaxed);
}

void
log_set_verbose(int verbose)
{
	atomic_store_explicit(&log_verbose, verbose, memory_order_relaxed);
}

/*
 * Length of the UTF-8 sequence at s (at most n bytes), or 0 when it is
 * not well-formed (overlong, a surrogate, past U+10FFFF, cut short).
 */
static size_t
log_utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls are well-formed, and terminals act on them. */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return len;
}

/*
 * Copies the n bytes of src to dst (room for cap bytes, NUL included) so
 * that the result is one line of printable UTF-8: control characters, DEL,
 * C1 controls and bytes that are not UTF-8 become \xNN, and a backslash
 * becomes \\, so that no caller-supplied text (a request path, a header)
 * can start a line of its own or pass for an escape.  Stops before a
 * sequence that does not fit.  Returns the length written.
 */
size_t
log_escape(char *dst, size_t cap, const char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, len;

	if (cap == 0)
		return 0;
	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') {
			if (o + 1 >= cap)
				break;
			dst[o++] = (char)s[i++];
		} else if (s[i] == '\\') {
			if (o + 2 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = '\\';
			i++;
		} else if (s[i] >= 0x80 && (len = log_utf8_len(s + i, n - i))) {
			if (o + len >= cap)
				break;
			memcpy(dst + o, s + i, len);
			o += len;
			i += len;
		} else {
			if (o + 4 >= cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[s[i] >> 4];
			dst[o++] = hex[s[i] & 0xf];
			i++;
		}
	}
	dst[o] = '\0';
	return o;
}

static void
log_vline(int prio, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048], msg[2048];
	size_t n = 0, mlen;
	int r;

	if (log_foreground) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		r = snprintf(line + n, sizeof(line) - n, ".%03ldZ ",
			     ts.tv_nsec / 1000000);
		if (r > 0)
			n += (size_t)r;
	}
	/*
	 * The message is escaped here, the one place every line passes:
	 * callers log request paths, names and headers as they came.
	 */
	r = vsnprintf(msg, sizeof(msg), fmt, ap);
	mlen = r < 0                     ? 0
	       : (size_t)r < sizeof(msg) ? (size_t)r
					 : sizeof(msg) - 1;
	if (suffix != NULL && mlen + 2 < sizeof(msg)) {
		r = snprintf(msg + mlen, sizeof(msg) - mlen, ": %s", suffix);
		if (r > 0)
			mlen += (size_t)r < sizeof(msg) - mlen
				    ? (size_t)r
				    : sizeof(msg) - mlen - 1;
	}
	/* Room for the newline. */
	n += log_escape(line + n, sizeof(line) - n - 1, msg, mlen);
	if (!log_foreground) {
		line[n] = '\0';
		syslog(prio, "%s", line);
		return;
	}
	line[n++] = '\n';
	/* One write: lines from different threads never interleave. */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!atomic_load_explicit(&log_verbose, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	log_vline(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
log_access(const char *fmt, ...)
{
	va_list ap;

	if (!atomic_load_explicit(&log_access_on, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	log_vline(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vline(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
