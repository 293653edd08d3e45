/*
 * api_json: Cloudflare's JSON <-> the project's structs.
 *
 * The only module that includes cJSON.  Every parser takes a whole answer
 * body (the {"success","errors","messages","result"} envelope), checks
 * every type it relies on, and hands back owned structs with the cJSON
 * tree already freed.  Anything unexpected is -EIO, never a crash: these
 * functions are fuzzed (tests/fuzz).
 */
#ifndef CATSYNCFS_API_JSON_H
#define CATSYNCFS_API_JSON_H

#include <stddef.h>

#include "api_error.h"
#include "sync.h"

/* Copies the envelope's error codes and messages into err (best effort). */
void api_json_parse_errors(const char *body, size_t len, struct api_error *err);

/* result: one sync.  *out is the caller's (sync_destroy). 0 or -EIO. */
int api_json_parse_sync(const char *body, size_t len, struct sync **out)
	__attribute__((warn_unused_result));
/* result: an array of syncs, ids unique.  0 or -EIO; out is the caller's. */
int api_json_parse_sync_list(const char *body, size_t len,
			     struct sync_list *out)
	__attribute__((warn_unused_result));
/* result: an array of prebuilt policies.  0 or -EIO. */
int api_json_parse_policy_list(const char *body, size_t len,
			       struct policy_list *out)
	__attribute__((warn_unused_result));
/* result: a page of accounts; appends their ids to out. 0 or -EIO. */
int api_json_parse_account_page(const char *body, size_t len,
				struct id_list *out, size_t *page_count)
	__attribute__((warn_unused_result));
/* result: a string (refresh).  *out is the caller's (free). 0 or -EIO. */
int api_json_parse_string_result(const char *body, size_t len, char **out)
	__attribute__((warn_unused_result));
/* result: {"id": ...} (delete).  0 or -EIO. */
int api_json_parse_deleted(const char *body, size_t len, const char *id)
	__attribute__((warn_unused_result));

/* A create/PUT/PATCH body holding the non-NULL members.  Caller frees. */
char *api_json_fields_body(const struct sync_fields *f);

/* status.json: the sync object, pretty-printed, ending in \n. Caller frees. */
char *api_json_render_status(const struct sync *s);

/* config.json: {name, description, policy, update_mode} + \n. Caller frees. */
char *api_json_render_config(const struct sync *s);

/* The four writable values of config.json, each owned. */
struct sync_config {
	char *name;
	char *description;
	char *policy;
	char *update_mode;
};

void sync_config_finish(struct sync_config *c);

/*
 * Parses what a user wrote to config.json: an object with exactly the four
 * keys, each a string, update_mode valid.  0, or -EINVAL with the reason
 * in why.
 */
int api_json_parse_config(const char *text, size_t len, struct sync_config *out,
			  char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* cJSON's version string, for --version. */
const char *api_json_library_version(void);

#endif
