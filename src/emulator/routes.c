/*
 * routes.c - the catalog-sync endpoints and GET /accounts.
 *
 * Checks run in a fixed order, each answering at the first failure:
 * route shape (404 7000), ids in the path (400 7003), method (405),
 * credentials, account (404 7003, 403 10000), body allowed and its
 * Content-Type, query parameters, sync (404 1002), body JSON (6007),
 * fields (400 1001), policy (422 1012), name (409 1003). A failed request
 * changes nothing. The choices where Cloudflare's behaviour is unknown are
 * listed in README.md beside this file.
 *
 * Locking: routes_handle() holds emu->lock from the account lookup to the
 * end, so a request sees and leaves a consistent store.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "policy.h"
#include "routes.h"

#define SYNCS_DOC_URL                                                          \
	"https://developers.cloudflare.com/api/resources/"                     \
	"magic_cloud_networking/subresources/catalog_syncs/"

/* Error codes of our own choosing, documented in README.md. */
enum {
	CODE_BAD_FIELD = 1001,
	CODE_SYNC_NOT_FOUND = 1002,
	CODE_NAME_CONFLICT = 1003,
	CODE_BAD_QUERY = 1004,
	CODE_BODY_NOT_ALLOWED = 1005,
	CODE_POLICY = 1012,
	CODE_BAD_HEADERS = 6003,
	CODE_BAD_CONTENT_TYPE = 6105,
	CODE_BAD_AUTH_FORMAT = 6111,
	CODE_MALFORMED_JSON = 6007,
	CODE_NO_ROUTE = 7000,
	CODE_BAD_ID = 7003,
	CODE_NO_CREDENTIALS = 9106,
	CODE_BAD_TOKEN = 9109,
	CODE_AUTH = 10000,
	CODE_METHOD = 10405,
};

enum route_id {
	ROUTE_ACCOUNTS,
	ROUTE_SYNCS,
	ROUTE_PREBUILT,
	ROUTE_SYNC,
	ROUTE_REFRESH,
};

#define MAX_SEGMENTS 8

struct route {
	enum route_id id;
	char *copy; /* owned; segments point into it */
	const char *seg[MAX_SEGMENTS];
	size_t n_seg;
	const char *account;
	const char *sync;
};

static const char *const route_methods[] = {
	[ROUTE_ACCOUNTS] = "GET", [ROUTE_SYNCS] = "GET, POST",
	[ROUTE_PREBUILT] = "GET", [ROUTE_SYNC] = "GET, PUT, PATCH, DELETE",
	[ROUTE_REFRESH] = "POST",
};

static const char *const destination_types[] = { "NONE", "ZERO_TRUST_LIST",
						 NULL };
static const char *const update_modes[] = { "AUTO", "MANUAL", NULL };

const char *routes_api_path(const char *path)
{
	size_t n = strlen(API_PREFIX);

	if (strncmp(path, API_PREFIX, n) == 0 &&
	    (path[n] == '/' || path[n] == '\0'))
		return path + n;
	return path;
}

const char *routes_auth_kind(struct request *req)
{
	if (request_header(req, "Authorization"))
		return "bearer";
	if (request_header(req, "X-Auth-Key") ||
	    request_header(req, "X-Auth-Email"))
		return "legacy";
	return "none";
}

/* Split the path after API_PREFIX; -ENOENT when no route has its shape. */
static int route_parse(const char *path, struct route *r)
{
	size_t n = strlen(API_PREFIX);
	char *p, *slash;

	memset(r, 0, sizeof(*r));
	if (strncmp(path, API_PREFIX "/", n + 1) != 0)
		return -ENOENT;
	r->copy = strdup(path + n + 1);
	if (!r->copy)
		return -ENOMEM;
	for (p = r->copy; p; p = slash) {
		slash = strchr(p, '/');
		if (slash)
			*slash++ = '\0';
		if (!*p || r->n_seg == MAX_SEGMENTS)
			return -ENOENT;
		r->seg[r->n_seg++] = p;
	}
	if (r->n_seg == 1 && strcmp(r->seg[0], "accounts") == 0) {
		r->id = ROUTE_ACCOUNTS;
		return 0;
	}
	if (r->n_seg < 5 || r->n_seg > 7 || strcmp(r->seg[0], "accounts") ||
	    strcmp(r->seg[2], "magic") || strcmp(r->seg[3], "cloud") ||
	    strcmp(r->seg[4], "catalog-syncs"))
		return -ENOENT;
	r->account = r->seg[1];
	if (r->n_seg == 5) {
		r->id = ROUTE_SYNCS;
	} else if (r->n_seg == 6 &&
		   strcmp(r->seg[5], "prebuilt-policies") == 0) {
		r->id = ROUTE_PREBUILT;
	} else if (r->n_seg == 6) {
		r->id = ROUTE_SYNC;
		r->sync = r->seg[5];
	} else if (strcmp(r->seg[6], "refresh") == 0) {
		r->id = ROUTE_REFRESH;
		r->sync = r->seg[5];
	} else {
		return -ENOENT;
	}
	return 0;
}

static bool method_allowed(enum route_id id, const char *method)
{
	const char *list = route_methods[id];
	size_t len = strlen(method);

	for (const char *p = list; (p = strstr(p, method)) != NULL; p += len)
		if ((p == list || p[-1] == ' ') &&
		    (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

static int check_auth(struct emu *emu, struct request *req,
		      struct api_error *err)
{
	const char *authz = request_header(req, "Authorization");
	const char *email = request_header(req, "X-Auth-Email");
	const char *key = request_header(req, "X-Auth-Key");

	if (authz) {
		const char *token = authz + 7;

		if (strncasecmp(authz, "Bearer ", 7) != 0 || !*token ||
		    strpbrk(token, " \t")) {
			api_error_set(err, 400, CODE_BAD_HEADERS,
				      "Invalid request headers");
			err->chain_code = CODE_BAD_AUTH_FORMAT;
			err->chain_message =
				"Invalid format for Authorization header";
			return -EACCES;
		}
		if (strcmp(token, emu->cfg.token) != 0) {
			api_error_set(err, 403, CODE_BAD_TOKEN,
				      "Invalid access token");
			return -EACCES;
		}
		return 0;
	}
	if (!email || !key) {
		api_error_set(err, 400, CODE_NO_CREDENTIALS,
			      "Missing X-Auth-Key, X-Auth-Email or "
			      "Authorization headers");
		return -EACCES;
	}
	if (strcmp(email, emu->cfg.email) != 0 ||
	    strcmp(key, emu->cfg.api_key) != 0) {
		api_error_set(err, 403, CODE_AUTH, "Authentication error");
		return -EACCES;
	}
	return 0;
}

/* "application/json", any case, optionally followed by parameters. */
static bool is_json_type(const char *ct)
{
	const char *want = "application/json";
	size_t n = strlen(want);

	if (!ct)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static void set_pointer(struct api_error *err, const char *key)
{
	size_t o = 0;

	err->pointer[o++] = '/';
	for (const char *k = key; *k && o + 3 < sizeof(err->pointer); k++) {
		if (*k == '~' || *k == '/') {
			err->pointer[o++] = '~';
			err->pointer[o++] = *k == '~' ? '0' : '1';
		} else {
			err->pointer[o++] = *k;
		}
	}
	err->pointer[o] = '\0';
}

static void field_error(struct api_error *err, const char *key,
			const char *what)
{
	api_error_set(err, 400, CODE_BAD_FIELD, "invalid field '%s': %s", key,
		      what);
	set_pointer(err, key);
	err->documentation_url = SYNCS_DOC_URL;
}

static int check_query(struct request *req, const char *const *allowed,
		       struct api_error *err)
{
	const char *bad = request_unknown_arg(req, allowed);

	if (!bad)
		return 0;
	api_error_set(err, 400, CODE_BAD_QUERY, "unknown query parameter '%s'",
		      bad);
	err->parameter = bad;
	return -EINVAL;
}

static void query_error(struct api_error *err, const char *name,
			const char *what)
{
	api_error_set(err, 400, CODE_BAD_QUERY,
		      "invalid query parameter '%s': %s", name, what);
	err->parameter = name;
}

static bool in_enum(const char *value, const char *const *values)
{
	for (; *values; values++)
		if (strcmp(value, *values) == 0)
			return true;
	return false;
}

/* The body as a JSON object, or NULL with @err set. Caller frees. */
static cJSON *parse_object(struct request *req, struct api_error *err)
{
	const char *end = NULL;
	cJSON *doc = NULL;

	if (req->body_len > 0 && utf8_valid(req->body, req->body_len))
		doc = cJSON_ParseWithOpts(req->body, &end, 1);
	if (!doc) {
		api_error_set(err, 400, CODE_MALFORMED_JSON,
			      "Malformed JSON in request body");
		return NULL;
	}
	if (!cJSON_IsObject(doc)) {
		api_error_set(err, 400, CODE_BAD_FIELD,
			      "request body must be a JSON object");
		err->documentation_url = SYNCS_DOC_URL;
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

/*
 * Type, enum and key checks for create (@create) or update bodies, then
 * the policy compile check. Nothing is changed here.
 */
static int validate_sync_body(const cJSON *body, bool create,
			      struct api_error *err)
{
	static const char *const required[] = { "name", "destination_type",
						"update_mode" };
	const cJSON *item;
	const char *policy;
	char why[256];

	cJSON_ArrayForEach (item, body) {
		const char *key = item->string;
		const char *const *values = NULL;

		if (strcmp(key, "destination_type") == 0) {
			if (!create) {
				field_error(err, key,
					    "cannot be changed "
					    "after create");
				return -EINVAL;
			}
			values = destination_types;
		} else if (strcmp(key, "update_mode") == 0) {
			values = update_modes;
		} else if (strcmp(key, "name") != 0 &&
			   strcmp(key, "description") != 0 &&
			   strcmp(key, "policy") != 0) {
			field_error(err, key, "unknown field");
			return -EINVAL;
		}
		if (!cJSON_IsString(item)) {
			field_error(err, key, "must be a string");
			return -EINVAL;
		}
		if (strcmp(key, "name") == 0 && !*item->valuestring) {
			field_error(err, key, "must not be empty");
			return -EINVAL;
		}
		if (values && !in_enum(item->valuestring, values)) {
			field_error(
				err, key,
				values == update_modes
					? "must be one of AUTO, MANUAL"
					: "must be one of NONE, ZERO_TRUST_LIST");
			return -EINVAL;
		}
	}
	for (size_t i = 0; create && i < 3; i++) {
		if (!cJSON_GetObjectItemCaseSensitive(body, required[i])) {
			field_error(err, required[i], "missing required field");
			return -EINVAL;
		}
	}
	policy = json_string(body, "policy");
	if (policy && policy_check(policy, why, sizeof(why)) < 0) {
		api_error_set(err, 422, CODE_POLICY, "%s", why);
		set_pointer(err, "policy");
		err->documentation_url = SYNCS_DOC_URL;
		return -EINVAL;
	}
	return 0;
}

static int check_name(struct account *acct, const cJSON *body,
		      const cJSON *self, struct api_error *err,
		      struct answer *ans)
{
	const char *name = json_string(body, "name");

	if (!name || !account_find_name(acct, name, self))
		return 0;
	api_error_set(err, 409, CODE_NAME_CONFLICT,
		      "a catalog sync named '%s' already exists", name);
	set_pointer(err, "name");
	err->documentation_url = SYNCS_DOC_URL;
	/* Repeating the request cannot help; the SDKs honour this. */
	answer_header(ans, "x-should-retry", "false");
	return -EEXIST;
}

static void answer_sync(struct answer *ans, int status, const cJSON *sync)
{
	envelope_result(ans, status, cJSON_Duplicate(sync, 1), NULL);
}

static int do_create(struct account *acct, struct request *req,
		     struct answer *ans, struct api_error *err)
{
	char id[UUID_LEN], dest[UUID_LEN], now[TS_LEN], location[512];
	static const char *const keys[] = {
		"name",	       "description", "policy", "destination_type",
		"update_mode",
	};
	cJSON *body, *sync = NULL;
	int rc;

	body = parse_object(req, err);
	if (!body)
		return -EINVAL;
	rc = validate_sync_body(body, true, err);
	if (!rc)
		rc = check_name(acct, body, NULL, err, ans);
	if (rc)
		goto out;
	rc = -ENOMEM;
	uuid_random(id);
	uuid_random(dest);
	ts_now(now);
	sync = cJSON_CreateObject();
	if (!sync || sync_set_string(sync, "id", id))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		const char *v = json_string(body, keys[i]);

		if (sync_set_string(sync, keys[i], v ? v : ""))
			goto out;
	}
	if (sync_set_string(sync, "destination_id", dest) ||
	    sync_set_string(sync, "last_user_update_at", now) ||
	    sync_complete(sync) || !cJSON_AddItemToArray(acct->syncs, sync))
		goto out;
	snprintf(location, sizeof(location),
		 API_PREFIX "/accounts/%s/magic/cloud/catalog-syncs/%s",
		 acct->id, id);
	answer_header(ans, "Location", location);
	answer_sync(ans, 201, sync);
	sync = NULL;
	rc = 0;
out:
	cJSON_Delete(sync);
	cJSON_Delete(body);
	return rc;
}

static int do_update(struct account *acct, cJSON *sync, struct request *req,
		     struct answer *ans, struct api_error *err)
{
	char now[TS_LEN];
	const cJSON *item;
	cJSON *body;
	int rc;

	body = parse_object(req, err);
	if (!body)
		return -EINVAL;
	rc = validate_sync_body(body, false, err);
	if (!rc)
		rc = check_name(acct, body, sync, err, ans);
	if (rc)
		goto out;
	ts_now(now);
	cJSON_ArrayForEach (item, body) {
		rc = sync_set_string(sync, item->string, item->valuestring);
		if (rc)
			goto out;
	}
	rc = sync_set_string(sync, "last_user_update_at", now);
	if (!rc)
		rc = sync_complete(sync);
	if (!rc)
		answer_sync(ans, 200, sync);
out:
	cJSON_Delete(body);
	return rc;
}

static int do_delete(struct account *acct, cJSON *sync, struct request *req,
		     struct answer *ans, struct api_error *err)
{
	const char *dd = request_arg(req, "delete_destination");
	cJSON *result = cJSON_CreateObject();

	if (request_has_arg(req, "delete_destination") &&
	    (!dd || (strcmp(dd, "true") && strcmp(dd, "false")))) {
		cJSON_Delete(result);
		query_error(err, "delete_destination", "must be true or false");
		return -EINVAL;
	}
	if (!result ||
	    !cJSON_AddItemToObject(
		    result, "id",
		    cJSON_Duplicate(
			    cJSON_GetObjectItemCaseSensitive(sync, "id"), 1))) {
		cJSON_Delete(result);
		return -ENOMEM;
	}
	cJSON_Delete(cJSON_DetachItemViaPointer(acct->syncs, sync));
	envelope_result(ans, 200, result, NULL);
	return 0;
}

static int do_refresh(cJSON *sync, struct answer *ans)
{
	const char *id = json_string(sync, "id");
	const char *dt = json_string(sync, "destination_type");
	const char *policy = json_string(sync, "policy");
	char now[TS_LEN];
	char *summary;
	int rc;

	summary = policy_run(id ? id : "", dt ? dt : "", policy ? policy : "");
	if (!summary)
		return -ENOMEM;
	ts_now(now);
	rc = sync_set_string(sync, "last_attempted_update_at", now);
	if (!rc)
		rc = sync_set_string(sync, "last_successful_update_at", now);
	if (!rc)
		rc = sync_set_string(sync, "includes_discoveries_until", now);
	/* A successful run leaves the sync healthy: errors back to {}. */
	if (!rc) {
		cJSON_DeleteItemFromObjectCaseSensitive(sync, "errors");
		rc = sync_complete(sync);
	}
	if (!rc)
		envelope_result(ans, 200, cJSON_CreateString(summary), NULL);
	free(summary);
	return rc;
}

static int do_prebuilt(struct emu *emu, struct request *req, struct answer *ans,
		       struct api_error *err)
{
	static const char *const allowed[] = { "destination_type", NULL };
	const char *dt = request_arg(req, "destination_type");
	cJSON *result, *policy;

	if (check_query(req, allowed, err))
		return -EINVAL;
	if (request_has_arg(req, "destination_type") &&
	    (!dt || !in_enum(dt, destination_types))) {
		query_error(err, "destination_type",
			    "must be NONE or ZERO_TRUST_LIST");
		return -EINVAL;
	}
	result = cJSON_CreateArray();
	if (!result)
		return -ENOMEM;
	cJSON_ArrayForEach (policy, emu->store.prebuilt) {
		const cJSON *dests = cJSON_GetObjectItemCaseSensitive(
			policy, "applicable_destinations");
		const cJSON *d;
		bool match = !dt;

		cJSON_ArrayForEach (d, dests)
			if (dt && cJSON_IsString(d) &&
			    strcmp(d->valuestring, dt) == 0)
				match = true;
		if (match &&
		    !cJSON_AddItemToArray(result, cJSON_Duplicate(policy, 1))) {
			cJSON_Delete(result);
			return -ENOMEM;
		}
	}
	envelope_result(ans, 200, result, NULL);
	return 0;
}

static int do_accounts(struct emu *emu, struct request *req, struct answer *ans,
		       struct api_error *err)
{
	static const char *const allowed[] = { "page", "per_page", NULL };
	const char *page_s = request_arg(req, "page");
	const char *per_s = request_arg(req, "per_page");
	long page = 1, per_page = 20, total = (long)emu->store.n_accounts;
	cJSON *result, *info;

	if (check_query(req, allowed, err))
		return -EINVAL;
	if (request_has_arg(req, "page") &&
	    parse_long(page_s, 1, 1000000000, &page)) {
		query_error(err, "page", "must be an integer >= 1");
		return -EINVAL;
	}
	if (request_has_arg(req, "per_page") &&
	    parse_long(per_s, 5, 50, &per_page)) {
		query_error(err, "per_page", "must be an integer from 5 to 50");
		return -EINVAL;
	}
	result = cJSON_CreateArray();
	info = cJSON_CreateObject();
	if (!result || !info)
		goto fail;
	for (long i = (page - 1) * per_page; i < total && i < page * per_page;
	     i++) {
		cJSON *acct = account_to_json(&emu->store.accounts[i]);

		if (!acct || !cJSON_AddItemToArray(result, acct)) {
			cJSON_Delete(acct);
			goto fail;
		}
	}
	if (!cJSON_AddNumberToObject(info, "page", page) ||
	    !cJSON_AddNumberToObject(info, "per_page", per_page) ||
	    !cJSON_AddNumberToObject(info, "count",
				     cJSON_GetArraySize(result)) ||
	    !cJSON_AddNumberToObject(info, "total_count", total) ||
	    !cJSON_AddNumberToObject(info, "total_pages",
				     (total + per_page - 1) / per_page))
		goto fail;
	envelope_result(ans, 200, result, info);
	return 0;
fail:
	cJSON_Delete(result);
	cJSON_Delete(info);
	return -ENOMEM;
}

/* Checks and dispatch for a catalog-sync route; under emu->lock. */
static int handle_syncs(struct emu *emu, struct route *r, struct request *req,
			struct answer *ans, struct api_error *err)
{
	static const char *const no_args[] = { NULL };
	static const char *const delete_args[] = { "delete_destination", NULL };
	struct account *acct = store_find_account(&emu->store, r->account);
	cJSON *sync;

	if (!acct) {
		api_error_set(err, 404, CODE_BAD_ID,
			      "Could not route to %s, perhaps your object "
			      "identifier is invalid?",
			      req->path);
		return -ENOENT;
	}
	if (acct->forbidden) {
		api_error_set(err, 403, CODE_AUTH, "Authentication error");
		return -EACCES;
	}
	if (r->id == ROUTE_PREBUILT)
		return do_prebuilt(emu, req, ans, err);
	if (check_query(req,
			strcmp(req->method, "DELETE") == 0 ? delete_args
							   : no_args,
			err))
		return -EINVAL;
	if (r->id == ROUTE_SYNCS && strcmp(req->method, "GET") == 0) {
		/* A reference avoids copying a 10,000-sync listing. */
		envelope_result(ans, 200,
				cJSON_CreateArrayReference(acct->syncs->child),
				NULL);
		return 0;
	}
	if (r->id == ROUTE_SYNCS)
		return do_create(acct, req, ans, err);
	sync = account_find_sync(acct, r->sync);
	if (!sync) {
		api_error_set(err, 404, CODE_SYNC_NOT_FOUND,
			      "catalog sync '%s' not found", r->sync);
		err->documentation_url = SYNCS_DOC_URL;
		return -ENOENT;
	}
	if (r->id == ROUTE_REFRESH)
		return do_refresh(sync, ans);
	if (strcmp(req->method, "GET") == 0) {
		answer_sync(ans, 200, sync);
		return 0;
	}
	if (strcmp(req->method, "DELETE") == 0)
		return do_delete(acct, sync, req, ans, err);
	return do_update(acct, sync, req, ans, err);
}

/* Whether this method on this route takes a request body. */
static bool takes_body(enum route_id id, const char *method)
{
	if (id == ROUTE_SYNCS)
		return strcmp(method, "POST") == 0;
	if (id == ROUTE_SYNC)
		return strcmp(method, "PUT") == 0 ||
		       strcmp(method, "PATCH") == 0;
	return false;
}

static int check_body_allowed(struct route *r, struct request *req,
			      struct api_error *err)
{
	if (req->body_len == 0)
		return 0;
	if (!takes_body(r->id, req->method)) {
		api_error_set(err, 400, CODE_BODY_NOT_ALLOWED,
			      "%s %s takes no request body", req->method,
			      r->id == ROUTE_REFRESH ? "refresh"
						     : "on this route");
		return -EINVAL;
	}
	if (!is_json_type(request_header(req, "Content-Type"))) {
		api_error_set(err, 400, CODE_BAD_HEADERS,
			      "Invalid request headers");
		err->chain_code = CODE_BAD_CONTENT_TYPE;
		err->chain_message = "Invalid Content-Type header, valid "
				     "values are application/json";
		return -EINVAL;
	}
	return 0;
}

/* Route shape, path ids and method, before any credentials are looked at. */
static int check_route(struct route *r, struct request *req, struct answer *ans,
		       struct api_error *err)
{
	int rc = route_parse(req->path, r);

	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		api_error_set(err, 404, CODE_NO_ROUTE, "No route for that URI");
		return rc;
	}
	if ((r->account && !is_account_id(r->account)) ||
	    (r->sync && !is_uuid(r->sync))) {
		api_error_set(err, 400, CODE_BAD_ID,
			      "Could not route to %s, perhaps your object "
			      "identifier is invalid?",
			      req->path);
		return -EINVAL;
	}
	if (!method_allowed(r->id, req->method)) {
		api_error_set(err, 405, CODE_METHOD,
			      "Method %s not allowed for this route",
			      req->method);
		answer_header(ans, "Allow", route_methods[r->id]);
		return -EINVAL;
	}
	return 0;
}

void routes_handle(struct emu *emu, struct request *req, struct answer *ans)
{
	struct api_error err;
	struct route r;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = check_route(&r, req, ans, &err);
	if (!rc)
		rc = check_auth(emu, req, &err);
	if (rc)
		goto out;
	pthread_mutex_lock(&emu->lock);
	if (r.id == ROUTE_ACCOUNTS) {
		rc = check_body_allowed(&r, req, &err);
		if (!rc)
			rc = do_accounts(emu, req, ans, &err);
	} else {
		/* The account answers 404/403 before the body is judged. */
		struct account *acct = store_find_account(&emu->store,
							  r.account);

		rc = acct && !acct->forbidden
			     ? check_body_allowed(&r, req, &err)
			     : 0;
		if (!rc)
			rc = handle_syncs(emu, &r, req, ans, &err);
	}
	pthread_mutex_unlock(&emu->lock);
out:
	if (rc == -ENOMEM)
		api_error_set(&err, 500, 10002, "out of memory");
	if (rc)
		envelope_error(ans, &err);
	free(r.copy);
}
