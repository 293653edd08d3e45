/* http.h - what the route handlers see of a request and build as answer,
 * so that only server.c deals with libmicrohttpd. */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Larger request bodies get 413; nothing past this is kept. */
#define BODY_MAX (1024 * 1024)

struct MHD_Connection;

struct request {
	struct MHD_Connection *conn;
	const char *method; /* owned by libmicrohttpd */
	char *uri; /* raw request target, owned */
	char *path; /* raw path without the query, owned */
	const char *query; /* raw query inside @uri, "" when none */
	char *body; /* NUL-terminated, owned; NULL when empty */
	size_t body_len;
	bool too_large; /* more than BODY_MAX was sent */
	bool started;
};

/* Header value or NULL; valid for the request's lifetime. */
const char *request_header(struct request *req, const char *name);
/* Decoded query argument or NULL (also NULL for "?key" without value). */
const char *request_arg(struct request *req, const char *name);
/* Whether the query has @name at all. */
bool request_has_arg(struct request *req, const char *name);
/* First query argument not in the NULL-terminated @allowed, or NULL. */
const char *request_unknown_arg(struct request *req,
				const char *const *allowed);

enum answer_kind {
	ANSWER_FULL, /* send body as is */
	ANSWER_RESET, /* send part of a 200 and drop the connection */
	ANSWER_HUGE, /* stream huge_bytes of unterminated JSON */
};

#define ANSWER_MAX_HEADERS 16

struct answer_header {
	char *name; /* owned */
	char *value; /* owned */
};

struct answer {
	int status;
	char *body; /* owned */
	size_t body_len;
	enum answer_kind kind;
	uint64_t huge_bytes;
	size_t n_headers;
	struct answer_header headers[ANSWER_MAX_HEADERS];
};

void answer_init(struct answer *ans);
void answer_finish(struct answer *ans);
/* Add a header; headers past ANSWER_MAX_HEADERS are dropped. */
void answer_header(struct answer *ans, const char *name, const char *value);
/* Take @doc (may be NULL: out of memory) as a JSON body. */
void answer_json(struct answer *ans, int status, cJSON *doc);
/* Copy a raw body. */
void answer_raw(struct answer *ans, int status, const char *body, size_t len);

#endif
