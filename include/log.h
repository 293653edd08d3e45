/*
 * log: the daemon's one logging sink.
 *
 * Before the daemon detaches (and always under -f) lines go to stderr;
 * afterwards to syslog.  Debug lines are dropped unless -d was given.
 */
#ifndef CATSYNCFS_LOG_H
#define CATSYNCFS_LOG_H

#include <stdbool.h>

void log_init(bool debug);
/* Switch from stderr to syslog; called once, after fuse_daemonize(). */
void log_use_syslog(void);
bool log_debug_enabled(void);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
