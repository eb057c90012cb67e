/*
 * log.c: one line per event, to stderr in the foreground or to syslog.
 *
 * Callers write key=value text ("event=start version=0.1.0"); log_q()
 * quotes a value that holds spaces or quotes so that every line stays
 * machine-splittable.  Every program of Syncom calls log_init() first;
 * the functions are safe to call from worker threads.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static int log_foreground = 1;
/* Read by worker threads, changed by the loop on reload. */
static int log_verbose = 0;
static const char *log_ident = "syncom";

void
log_init(int foreground, int verbose, const char *ident)
{
	log_foreground = foreground;
	__atomic_store_n(&log_verbose, verbose, __ATOMIC_RELAXED);
	log_ident = ident;
	if (!foreground)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	__atomic_store_n(&log_verbose, verbose, __ATOMIC_RELAXED);
}

int
log_getverbose(void)
{
	return __atomic_load_n(&log_verbose, __ATOMIC_RELAXED);
}

static void log_vwrite(int, const char *, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

static void
log_vwrite(int pri, const char *suffix, const char *fmt, va_list ap)
{
	static const char *names[] = {
		[LOG_CRIT] = "fatal", [LOG_ERR] = "error",
		[LOG_WARNING] = "warn", [LOG_INFO] = "info",
		[LOG_DEBUG] = "debug",
	};
	char msg[4096];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (suffix != NULL && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - n, " error=%s", log_q(suffix));

	if (log_foreground) {
		struct timespec ts;
		struct tm tm;
		char stamp[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
		/* One fprintf, so lines from threads do not interleave. */
		fprintf(stderr, "%s.%03ldZ %s[%ld] %s %s\n", stamp,
		    ts.tv_nsec / 1000000, log_ident, (long)getpid(),
		    names[pri], msg);
	} else
		syslog(pri, "%s %s", names[pri], msg);
}

#define LOG_FUNCTION(name, pri, with_errno, min_verbose)		\
void									\
name(const char *fmt, ...)						\
{									\
	int saved = errno;						\
	va_list ap;							\
									\
	if (log_getverbose() < (min_verbose))				\
		return;							\
	va_start(ap, fmt);						\
	log_vwrite(pri, (with_errno) ? strerror(saved) : NULL, fmt, ap); \
	va_end(ap);							\
	errno = saved;							\
}

LOG_FUNCTION(log_warn, LOG_WARNING, 1, 0)
LOG_FUNCTION(log_warnx, LOG_WARNING, 0, 0)
LOG_FUNCTION(log_info, LOG_INFO, 0, 0)
LOG_FUNCTION(log_debug, LOG_DEBUG, 0, 1)

void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

/*
 * A value for a key=value line: returned as is when it is a plain token,
 * else in double quotes with \" \\ and control bytes escaped.  The result
 * lives in one of a few per-thread buffers, enough for the values of one
 * log line.
 */
const char *
log_q(const char *s)
{
	static __thread char bufs[4][512];
	static __thread unsigned int next;
	char *buf = bufs[next++ % 4];
	size_t i = 0, max = sizeof(bufs[0]) - 5;
	const unsigned char *p;
	int plain = 1;

	if (s == NULL)
		return "-";
	if (*s == '\0')
		return "\"\"";
	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == '"' || *p == '\\' || *p == '=' ||
		    *p == 0x7f)
			plain = 0;
	if (plain && strlen(s) < max)
		return s;

	buf[i++] = '"';
	for (p = (const unsigned char *)s; *p != '\0' && i < max; p++) {
		if (*p == '"' || *p == '\\') {
			buf[i++] = '\\';
			buf[i++] = *p;
		} else if (*p < ' ' || *p == 0x7f) {
			i += snprintf(buf + i, 5, "\\x%02x", *p);
		} else
			buf[i++] = *p;
	}
	if (*p != '\0') {
		buf[i++] = '.';
		buf[i++] = '.';
	}
	buf[i++] = '"';
	buf[i] = '\0';
	return buf;
}
