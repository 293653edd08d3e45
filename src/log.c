/*
 * log: stderr before detaching, syslog after, debug behind -d.
 *
 * The flags are written once at start-up, before any thread exists, and
 * only read afterwards, so no locking is needed.  Each line is formatted
 * into one buffer and written with one call so that lines from several
 * FUSE worker threads never interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

static bool debug_enabled;
static bool use_syslog;

void log_init(bool debug)
{
	debug_enabled = debug;
}

void log_use_syslog(void)
{
	openlog("catsyncfs", LOG_PID, LOG_DAEMON);
	use_syslog = true;
}

bool log_debug_enabled(void)
{
	return debug_enabled;
}

static void __attribute__((format(printf, 2, 0)))
log_line(int priority, const char *fmt, va_list ap)
{
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (use_syslog)
		syslog(priority, "%s", line);
	else
		fprintf(stderr, "catsyncfs: %s\n", line);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_ERR, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(LOG_INFO, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_enabled)
		return;
	va_start(ap, fmt);
	log_line(LOG_DEBUG, fmt, ap);
	va_end(ap);
}
