/*
 * api: the Cloudflare catalog-sync API client.
 *
 * Speaks in the project's structs (sync.h) and api_error; it builds URLs,
 * adds credentials, retries by the policy of retry.h and logs each
 * attempt under -d.  Every function is safe to call from many threads.
 * On failure a function returns a negative errno from api_error_errno()
 * and fills *err, which the caller may show to the user.
 */
#ifndef CATSYNCFS_API_H
#define CATSYNCFS_API_H

#include <stdbool.h>

#include "api_error.h"
#include "sync.h"
#include "token_file.h"

struct api_config {
	const char *base_url; /* without trailing slash */
	const char *token; /* bearer token, or NULL */
	const char *email; /* legacy key pair, used when token is NULL */
	const char *key;
	const char *cafile; /* CA bundle, or NULL for the system's */
	long timeout_ms; /* one attempt */
	int retries;
	long rate_limit; /* requests per rate_window_s; 0: the default */
	long rate_window_s;
	/* where token came from, read again after a 401/403 if it changed */
	const char *token_file;
	struct token_file_stamp token_stamp;
};

struct api;

/* Copies what it needs from cfg.  NULL when out of memory. */
struct api *api_create(const struct api_config *cfg);
void api_destroy(struct api *api);

/* GET /accounts, page after page until an empty one. */
int api_list_accounts(struct api *api, struct id_list *out,
		      struct api_error *err)
	__attribute__((warn_unused_result));

int api_list_syncs(struct api *api, const char *account, struct sync_list *out,
		   struct api_error *err) __attribute__((warn_unused_result));

/*
 * The same call in two steps, so that the mount's first call proves the
 * credentials before mounting and its 28 MB (at 10,000 syncs) are parsed
 * after: the answer as received (2xx), then its syncs.  The parse takes
 * and frees the body, whatever it returns.
 */
struct api_listing {
	char *body;
	size_t len;
	char path[128];
};

int api_list_syncs_raw(struct api *api, const char *account,
		       struct api_listing *out, struct api_error *err)
	__attribute__((warn_unused_result));
int api_parse_sync_list(struct api_listing *listing, struct sync_list *out,
			struct api_error *err)
	__attribute__((warn_unused_result));

int api_list_prebuilt(struct api *api, const char *account,
		      struct policy_list *out, struct api_error *err)
	__attribute__((warn_unused_result));

int api_get_sync(struct api *api, const char *account, const char *id,
		 struct sync **out, struct api_error *err)
	__attribute__((warn_unused_result));

/*
 * POST a new sync.  When the attempt may have reached the server but no
 * answer came back, the account is listed and a sync of that name is
 * taken as the one created, rather than sending the POST again blind.
 */
int api_create_sync(struct api *api, const char *account,
		    const struct sync_fields *fields, struct sync **out,
		    struct api_error *err) __attribute__((warn_unused_result));

/* PATCH (or PUT when whole is true) the non-NULL fields. */
int api_update_sync(struct api *api, const char *account, const char *id,
		    const struct sync_fields *fields, bool whole,
		    enum api_op op, struct sync **out, struct api_error *err)
	__attribute__((warn_unused_result));

int api_delete_sync(struct api *api, const char *account, const char *id,
		    bool delete_destination, struct api_error *err)
	__attribute__((warn_unused_result));

/* POST .../refresh; *result (owned by the caller) is the API's string. */
int api_refresh_sync(struct api *api, const char *account, const char *id,
		     char **result, struct api_error *err)
	__attribute__((warn_unused_result));

/* The request budget every attempt goes through (owned by the api). */
struct budget *api_budget(struct api *api);

#endif
