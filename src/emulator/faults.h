/* faults.h - injected failures, matched against API requests in order. */
#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum fault_action {
	FAULT_STATUS, /* an error envelope with the status */
	FAULT_HANG, /* wait, then answer normally or status */
	FAULT_RESET, /* start a 200 and drop the connection */
	FAULT_MALFORMED, /* a 200 with truncated JSON */
	FAULT_HUGE, /* a 200 of N bytes of unterminated JSON */
	FAULT_BODY, /* a given raw body with a given status */
};

/* What a matched fault asks for; the strings are owned copies. */
struct fault_hit {
	enum fault_action action;
	int status; /* 0 if none was given */
	char *retry_after; /* header values, or NULL */
	char *retry_after_ms;
	char *should_retry;
	double seconds; /* hang */
	uint64_t bytes;
	char *body;
	cJSON *headers; /* extra {"Name": "value"}, or NULL */
};

struct fault {
	char *method; /* "GET", ... or "*" */
	char *pattern;
	regex_t re;
	long count; /* remaining uses; -1 is forever */
	struct fault_hit hit;
	struct fault *next;
};

struct fault_list {
	struct fault *head;
	struct fault *tail;
};

void fault_list_init(struct fault_list *list);
void fault_list_clear(struct fault_list *list);

/* Add a fault from its control-API description; message in @err. */
int fault_list_add(struct fault_list *list, const cJSON *spec, char *err,
		   size_t errlen) __attribute__((warn_unused_result));

/* The faults as JSON; caller frees. */
cJSON *fault_list_to_json(const struct fault_list *list);

/*
 * Find the first fault matching @method and @path, consume one use and
 * copy what it asks for into @hit (release with fault_hit_finish()).
 * Returns 1 on a match, 0 when none matches, -ENOMEM.
 */
int fault_list_take(struct fault_list *list, const char *method,
		    const char *path, struct fault_hit *hit)
	__attribute__((warn_unused_result));

void fault_hit_finish(struct fault_hit *hit);

#endif
