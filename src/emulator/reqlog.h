/* reqlog.h - the log of every API request served, for tests to count. */
#ifndef EMU_REQLOG_H
#define EMU_REQLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

struct reqlog {
	cJSON *entries; /* array of entry objects, owned */
	long count; /* entries in memory */
	long next_seq;
	FILE *file; /* --log PATH, or NULL */
};

/* @path may be NULL: no file. */
int reqlog_init(struct reqlog *log, const char *path)
	__attribute__((warn_unused_result));
void reqlog_finish(struct reqlog *log);

struct reqlog_entry {
	const char *method;
	const char *path; /* without /client/v4 */
	const char *query; /* "" when none */
	const char *body; /* NULL: no body */
	size_t body_len;
	const char *content_type; /* NULL: no header */
	int status; /* 0: connection reset */
	const char *auth; /* "bearer", "legacy" or "none" */
	int64_t at_ms; /* when the rate limit counted it (monotonic ms) */
};

/* Append an entry; a failure only loses the entry (and says so). */
void reqlog_add(struct reqlog *log, const struct reqlog_entry *e);
void reqlog_clear(struct reqlog *log);
/* A copy of the log as a JSON array; caller frees. */
cJSON *reqlog_to_json(const struct reqlog *log);

#endif
