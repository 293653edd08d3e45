/*
 * api: requests, credentials, retries and error capture for the
 * catalog-sync endpoints (see api.h).
 *
 * One call = up to 1 + retries attempts.  Between attempts the delay is
 * the retry policy's (Retry-After, else exponential backoff with
 * jitter).  Ids are checked before they are put into a path, so nothing
 * from the network or the user can redirect a request.  The credentials
 * live only in the header lines built here; nothing logs them.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "api_json.h"
#include "budget.h"
#include "http.h"
#include "ids.h"
#include "lockorder.h"
#include "log.h"
#include "retry.h"

#define SYNCS_PATH "/accounts/%s/magic/cloud/catalog-syncs"
#define ACCOUNTS_PER_PAGE 50
#define ACCOUNTS_MAX_PAGES 1000

struct api {
	char *base_url;
	char *cafile;
	/*
	 * "Authorization: Bearer ..." or the two legacy lines.  A rotated
	 * token_file replaces them (reread_token): callers copy them under
	 * auth_lock.
	 */
	pthread_mutex_t auth_lock;
	char *auth_lines[2];
	char *token_file; /* NULL when the token came from elsewhere */
	struct token_file_stamp token_stamp;
	long timeout_ms;
	int retries;
	struct budget *budget; /* every attempt goes through it */
};

struct api *api_create(const struct api_config *cfg)
{
	struct api *api = calloc(1, sizeof(*api));
	int n = 0;

	if (!api)
		return NULL;
	api->base_url = strdup(cfg->base_url);
	/* "https://host/client/v4/" would make "//accounts" */
	while (api->base_url && *api->base_url &&
	       api->base_url[strlen(api->base_url) - 1] == '/')
		api->base_url[strlen(api->base_url) - 1] = '\0';
	api->cafile = cfg->cafile ? strdup(cfg->cafile) : NULL;
	api->timeout_ms = cfg->timeout_ms;
	api->retries = cfg->retries;
	api->budget = budget_create(
		cfg->rate_limit > 0 ? cfg->rate_limit : BUDGET_DEFAULT_LIMIT,
		cfg->rate_window_s > 0 ? cfg->rate_window_s
				       : BUDGET_DEFAULT_WINDOW_S);
	pthread_mutex_init(&api->auth_lock, NULL);
	if (cfg->token_file) {
		api->token_file = strdup(cfg->token_file);
		api->token_stamp = cfg->token_stamp;
	}
	if (cfg->token) {
		n = asprintf(&api->auth_lines[0], "Authorization: Bearer %s",
			     cfg->token);
	} else if (cfg->email && cfg->key) {
		n = asprintf(&api->auth_lines[0], "X-Auth-Email: %s",
			     cfg->email);
		if (n >= 0)
			n = asprintf(&api->auth_lines[1], "X-Auth-Key: %s",
				     cfg->key);
	}
	if (n < 0 || !api->base_url || (cfg->cafile && !api->cafile) ||
	    (cfg->token_file && !api->token_file) || !api->budget) {
		api_destroy(api);
		return NULL;
	}
	return api;
}

static void free_secret(char *s)
{
	if (!s)
		return;
	/* the token should not linger in freed heap (core dumps) */
	explicit_bzero(s, strlen(s));
	free(s);
}

void api_destroy(struct api *api)
{
	if (!api)
		return;
	free(api->base_url);
	free(api->cafile);
	free_secret(api->auth_lines[0]);
	free_secret(api->auth_lines[1]);
	free(api->token_file);
	pthread_mutex_destroy(&api->auth_lock);
	budget_destroy(api->budget);
	free(api);
}

/* Copies of the credential lines, for one call (free with auth_free). */
static void auth_copy(struct api *api, char *lines[2])
{
	int i;

	pthread_mutex_lock(&api->auth_lock);
	for (i = 0; i < 2; i++)
		lines[i] = api->auth_lines[i] ? strdup(api->auth_lines[i])
					      : NULL;
	pthread_mutex_unlock(&api->auth_lock);
}

static void auth_free(char *lines[2])
{
	free_secret(lines[0]);
	free_secret(lines[1]);
	lines[0] = lines[1] = NULL;
}

/*
 * After a 401 or 403: when the token came from a file that changed since
 * it was read (a rotated token, a renewed systemd credential), reads it
 * again.  True when the token now differs, so that the call is worth
 * sending once more.
 */
static bool reread_token(struct api *api)
{
	struct token_file_stamp stamp;
	char why[512], *token = NULL, *line = NULL;
	bool changed = false;

	if (!api->token_file)
		return false;
	pthread_mutex_lock(&api->auth_lock);
	if (!token_file_changed(api->token_file, &api->token_stamp))
		goto out_unlock;
	if (token_file_read(api->token_file, &token, &stamp, why,
			    sizeof(why))) {
		log_error("after an authentication failure: %s", why);
		goto out_unlock;
	}
	api->token_stamp = stamp;
	if (asprintf(&line, "Authorization: Bearer %s", token) < 0)
		goto out_unlock;
	changed = !api->auth_lines[0] || strcmp(line, api->auth_lines[0]);
	free_secret(api->auth_lines[0]);
	api->auth_lines[0] = line;
	if (changed)
		log_info("token file '%s' changed: read it again",
			 api->token_file);

out_unlock:
	pthread_mutex_unlock(&api->auth_lock);
	free_secret(token);
	return changed;
}

struct budget *api_budget(struct api *api)
{
	return api->budget;
}

static bool is_idempotent(const char *method)
{
	return strcmp(method, "POST") != 0;
}

static double jitter(void)
{
	struct timespec ts;
	unsigned int seed;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	seed = (unsigned int)(ts.tv_nsec ^ (uintptr_t)&ts);
	return (double)(rand_r(&seed) % 1000) / 1000.0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void error_start(struct api_error *err, const char *method,
			const char *path)
{
	api_error_clear(err);
	snprintf(err->method, sizeof(err->method), "%s", method);
	snprintf(err->path, sizeof(err->path), "%s", path);
	err->when = time(NULL);
}

static void log_attempt(const char *method, const char *path,
			const struct http_response *r,
			const struct api_error *err)
{
	char code[24] = "";

	if (!log_debug_enabled())
		return;
	if (r->status >= 300 && err->ncodes)
		snprintf(code, sizeof(code), " code=%d", err->codes[0]);
	if (r->status)
		log_debug("api: %s %s -> %ld%s cf-ray=%s %ldms", method, path,
			  r->status, code, r->cf_ray[0] ? r->cf_ray : "-",
			  r->elapsed_ms);
	else
		log_debug("api: %s %s -> failed (%s) %ldms", method, path,
			  r->error, r->elapsed_ms);
}

/* Records a non-2xx answer or a transport failure in err. */
static void error_from_response(struct api_error *err,
				const struct http_response *r)
{
	snprintf(err->cf_ray, sizeof(err->cf_ray), "%s", r->cf_ray);
	if (r->status) {
		err->failure = API_FAIL_STATUS;
		err->status = r->status;
		api_json_parse_errors(r->body, r->body_len, err);
		if (!err->message[0])
			snprintf(err->message, sizeof(err->message),
				 "HTTP %ld with no error message", r->status);
		return;
	}
	err->failure = r->transport == HTTP_TRANSPORT_TIMEOUT
			       ? API_FAIL_TIMEOUT
			       : API_FAIL_TRANSPORT;
	if (r->transport == HTTP_TRANSPORT_TOO_BIG)
		snprintf(err->message, sizeof(err->message),
			 "answer larger than %zu MiB refused",
			 HTTP_MAX_BODY >> 20);
	else
		snprintf(err->message, sizeof(err->message), "%s", r->error);
}

/*
 * Sends method+path (with body) until it succeeds or the retry policy
 * says stop.  On 2xx returns 0 with *resp holding the answer (caller
 * finishes it); otherwise a negative errno with err filled.
 * When retry_blind is false a non-idempotent request is never repeated
 * after it may have reached the server: *maybe_acted tells the caller.
 * Every attempt waits for the request budget (budget.h) in class cls;
 * pair: a save's check read, which takes its write's slot with it.
 */
static int api_call_as(struct api *api, enum budget_class cls, bool pair,
		       const char *method, const char *path, const char *body,
		       enum api_op op, struct http_response *resp,
		       struct api_error *err, bool *maybe_acted)
{
	const char *headers[5];
	char url[1024], *auth[2] = { NULL, NULL };
	bool reread = false;
	int h = 0, attempt, ret;

	/* no account or table lock across a network call (lockorder.h) */
	lockorder_assert_no_network_lock();
	error_start(err, method, path);
	if (snprintf(url, sizeof(url), "%s%s", api->base_url, path) >=
	    (int)sizeof(url)) {
		err->failure = API_FAIL_LOCAL;
		snprintf(err->message, sizeof(err->message), "url too long");
		return -EINVAL;
	}
	auth_copy(api, auth);
	if (auth[0])
		headers[h++] = auth[0];
	if (auth[1])
		headers[h++] = auth[1];
	headers[h++] = "Accept: application/json";
	if (body)
		headers[h++] = "Content-Type: application/json";
	headers[h] = NULL;

	if (maybe_acted)
		*maybe_acted = false;
	for (attempt = 0;; attempt++) {
		struct http_request req = {
			.method = method,
			.url = url,
			.headers = headers,
			.body = body,
			.timeout_ms = api->timeout_ms,
			.cafile = api->cafile,
		};
		struct retry_attempt ra = {
			.attempt = attempt,
			.max_retries = api->retries,
			.idempotent = is_idempotent(method),
			.resp = resp,
		};
		enum retry_verdict verdict;
		struct budget_slot slot;
		long delay = 0;
		int rc;

		budget_acquire(api->budget, cls, pair, &slot);
		if (slot.waited_ms)
			log_debug("api: %s %s waited %ld ms for budget", method,
				  path, slot.waited_ms);
		rc = http_perform(&req, resp);
		budget_release(
			api->budget, &slot,
			&(struct budget_answer){
				.method = method,
				.status = rc ? 0 : resp->status,
				.ratelimit = resp->ratelimit,
				.ratelimit_policy = resp->ratelimit_policy,
				.retry_after_ms = resp->retry_after_ms,
			});
		if (!rc && resp->status >= 200 && resp->status < 300) {
			log_attempt(method, path, resp, err);
			ret = 0;
			goto out_auth;
		}
		error_from_response(err, resp);
		log_attempt(method, path, resp, err);
		/*
		 * Refused credentials, from a token file rewritten since it
		 * was read: once, the same attempt again with the new token
		 * (a refused request did nothing, so a POST may go again).
		 */
		if ((resp->status == 401 || resp->status == 403) && !reread &&
		    auth[0] && !auth[1] && reread_token(api)) {
			reread = true;
			auth_free(auth);
			auth_copy(api, auth);
			headers[0] = auth[0];
			if (!auth[0])
				headers[0] = "Accept: application/json";
			http_response_finish(resp);
			attempt--;
			continue;
		}
		if (maybe_acted && !ra.idempotent && resp->status != 429 &&
		    (resp->status || resp->request_sent))
			*maybe_acted = true;
		verdict = retry_decide(&ra, jitter(), &delay);
		if (verdict == RETRY_TOO_LONG) {
			err->failure = API_FAIL_WAIT_TOO_LONG;
			snprintf(err->message + strlen(err->message),
				 sizeof(err->message) - strlen(err->message),
				 " (server asks to wait %ld s)",
				 resp->retry_after_ms / 1000);
		}
		if (verdict != RETRY_AGAIN) {
			http_response_finish(resp);
			ret = -api_error_errno(err, op);
			goto out_auth;
		}
		http_response_finish(resp);
		sleep_ms(delay);
	}

out_auth:
	auth_free(auth);
	return ret;
}

/*
 * Listings are reads, which the budget serves first (budget.h); every
 * other call belongs to a change.
 */
static int api_call(struct api *api, const char *method, const char *path,
		    const char *body, enum api_op op,
		    struct http_response *resp, struct api_error *err,
		    bool *maybe_acted)
{
	return api_call_as(api, op == API_OP_READ ? BUDGET_READ : BUDGET_WRITE,
			   false, method, path, body, op, resp, err,
			   maybe_acted);
}

static int malformed(struct api_error *err, const char *what)
{
	err->failure = API_FAIL_MALFORMED;
	snprintf(err->message, sizeof(err->message), "malformed answer: %s",
		 what);
	log_error("%s %s: malformed answer: %s", err->method, err->path, what);
	return -EIO;
}

static int check_account(const char *account, struct api_error *err)
{
	if (ids_is_account_id(account))
		return 0;
	api_error_clear(err);
	err->failure = API_FAIL_LOCAL;
	snprintf(err->message, sizeof(err->message),
		 "'%s' is not an account id (32 hex digits)", account);
	return -EINVAL;
}

static int check_sync_id(const char *id, struct api_error *err)
{
	if (ids_is_uuid(id))
		return 0;
	api_error_clear(err);
	err->failure = API_FAIL_LOCAL;
	snprintf(err->message, sizeof(err->message),
		 "'%s' is not a sync id (a UUID)", id);
	return -EINVAL;
}

int api_list_accounts(struct api *api, struct id_list *out,
		      struct api_error *err)
{
	struct http_response resp;
	char path[96];
	int page, ret;

	for (page = 1; page <= ACCOUNTS_MAX_PAGES; page++) {
		size_t n = 0;

		snprintf(path, sizeof(path), "/accounts?page=%d&per_page=%d",
			 page, ACCOUNTS_PER_PAGE);
		ret = api_call(api, "GET", path, NULL, API_OP_READ, &resp, err,
			       NULL);
		if (ret)
			return ret;
		ret = api_json_parse_account_page(resp.body, resp.body_len, out,
						  &n);
		http_response_finish(&resp);
		if (ret)
			return malformed(err, "account list");
		if (n == 0)
			return 0;
	}
	return malformed(err, "account list never ends");
}

int api_list_syncs_raw(struct api *api, const char *account,
		       struct api_listing *out, struct api_error *err)
{
	struct http_response resp;
	char path[128];
	int ret = check_account(account, err);

	memset(out, 0, sizeof(*out));
	if (ret)
		return ret;
	snprintf(path, sizeof(path), SYNCS_PATH, account);
	ret = api_call(api, "GET", path, NULL, API_OP_READ, &resp, err, NULL);
	if (ret)
		return ret;
	out->body = resp.body;
	out->len = resp.body_len;
	snprintf(out->path, sizeof(out->path), "%s", path);
	return 0;
}

int api_parse_sync_list(struct api_listing *listing, struct sync_list *out,
			struct api_error *err)
{
	int ret = api_json_parse_sync_list(listing->body, listing->len, out);

	free(listing->body);
	listing->body = NULL;
	if (!ret)
		return 0;
	api_error_clear(err);
	snprintf(err->method, sizeof(err->method), "GET");
	snprintf(err->path, sizeof(err->path), "%s", listing->path);
	return malformed(err, "sync list");
}

int api_list_syncs(struct api *api, const char *account, struct sync_list *out,
		   struct api_error *err)
{
	struct api_listing listing;
	int ret = api_list_syncs_raw(api, account, &listing, err);

	return ret ? ret : api_parse_sync_list(&listing, out, err);
}

int api_list_prebuilt(struct api *api, const char *account,
		      struct policy_list *out, struct api_error *err)
{
	struct http_response resp;
	char path[160];
	int ret = check_account(account, err);

	if (ret)
		return ret;
	snprintf(path, sizeof(path), SYNCS_PATH "/prebuilt-policies", account);
	ret = api_call(api, "GET", path, NULL, API_OP_READ, &resp, err, NULL);
	if (ret)
		return ret;
	ret = api_json_parse_policy_list(resp.body, resp.body_len, out);
	http_response_finish(&resp);
	return ret ? malformed(err, "prebuilt policy list") : 0;
}

static int sync_path(char *path, size_t len, const char *account,
		     const char *id, const char *suffix, struct api_error *err)
{
	int ret = check_account(account, err);

	if (!ret)
		ret = check_sync_id(id, err);
	if (!ret)
		snprintf(path, len, SYNCS_PATH "/%s%s", account, id, suffix);
	return ret;
}

/* Parses a single-sync answer and checks it is the sync asked for. */
static int take_sync(struct http_response *resp, const char *id,
		     struct sync **out, struct api_error *err)
{
	int ret = api_json_parse_sync(resp->body, resp->body_len, out);

	http_response_finish(resp);
	if (ret)
		return malformed(err, "sync");
	if (id && strcasecmp((*out)->id, id)) {
		sync_destroy(*out);
		*out = NULL;
		return malformed(err, "answer is about another sync");
	}
	return 0;
}

int api_get_sync(struct api *api, const char *account, const char *id,
		 struct sync **out, struct api_error *err)
{
	struct http_response resp;
	char path[192];
	int ret = sync_path(path, sizeof(path), account, id, "", err);

	/* a save's lost-update check: its write's slot comes with it */
	if (!ret)
		ret = api_call_as(api, BUDGET_WRITE, true, "GET", path, NULL,
				  API_OP_READ, &resp, err, NULL);
	return ret ? ret : take_sync(&resp, id, out, err);
}

/* After a create whose fate is unknown: did it land? */
static int find_created(struct api *api, const char *account, const char *name,
			struct sync **out)
{
	struct sync_list list;
	struct api_error lerr;
	size_t i;
	int ret = api_list_syncs(api, account, &list, &lerr);

	if (ret)
		return ret;
	ret = -ENOENT;
	for (i = 0; i < list.count; i++) {
		if (!strcmp(list.items[i]->name, name)) {
			*out = list.items[i];
			list.items[i] = NULL;
			ret = 0;
			break;
		}
	}
	for (i = 0; i < list.count; i++)
		sync_destroy(list.items[i]);
	free(list.items);
	return ret;
}

int api_create_sync(struct api *api, const char *account,
		    const struct sync_fields *fields, struct sync **out,
		    struct api_error *err)
{
	struct http_response resp;
	char path[128];
	char *body;
	bool maybe_acted;
	int ret = check_account(account, err);

	if (ret)
		return ret;
	snprintf(path, sizeof(path), SYNCS_PATH, account);
	body = api_json_fields_body(fields);
	if (!body)
		return -ENOMEM;
	ret = api_call(api, "POST", path, body, API_OP_CREATE, &resp, err,
		       &maybe_acted);
	free(body);
	if (!ret)
		return take_sync(&resp, NULL, out, err);
	/*
	 * The POST is never sent twice.  When its fate is unknown (a
	 * timeout, a cut connection, a 5xx), a fresh listing tells whether
	 * it landed; if it did not, the original error stands and the user
	 * decides whether to try again.
	 */
	if (maybe_acted &&
	    !(err->failure == API_FAIL_STATUS && err->status < 500) &&
	    !find_created(api, account, fields->name, out)) {
		log_info("create of '%s' landed despite: %s", fields->name,
			 err->message);
		api_error_clear(err);
		return 0;
	}
	return ret;
}

int api_update_sync(struct api *api, const char *account, const char *id,
		    const struct sync_fields *fields, bool whole,
		    enum api_op op, struct sync **out, struct api_error *err)
{
	struct http_response resp;
	char path[192];
	char *body;
	int ret = sync_path(path, sizeof(path), account, id, "", err);

	if (ret)
		return ret;
	body = api_json_fields_body(fields);
	if (!body)
		return -ENOMEM;
	ret = api_call(api, whole ? "PUT" : "PATCH", path, body, op, &resp, err,
		       NULL);
	free(body);
	return ret ? ret : take_sync(&resp, id, out, err);
}

int api_delete_sync(struct api *api, const char *account, const char *id,
		    bool delete_destination, struct api_error *err)
{
	struct http_response resp;
	char path[224];
	int ret = sync_path(
		path, sizeof(path), account, id,
		delete_destination ? "?delete_destination=true" : "", err);

	if (!ret)
		ret = api_call(api, "DELETE", path, NULL, API_OP_DELETE, &resp,
			       err, NULL);
	if (ret)
		return ret;
	ret = api_json_parse_deleted(resp.body, resp.body_len, id);
	http_response_finish(&resp);
	return ret ? malformed(err, "delete answer") : 0;
}

int api_refresh_sync(struct api *api, const char *account, const char *id,
		     char **result, struct api_error *err)
{
	struct http_response resp;
	char path[208];
	int ret = sync_path(path, sizeof(path), account, id, "/refresh", err);

	if (!ret)
		ret = api_call(api, "POST", path, NULL, API_OP_REFRESH, &resp,
			       err, NULL);
	if (ret)
		return ret;
	ret = api_json_parse_string_result(resp.body, resp.body_len, result);
	http_response_finish(&resp);
	return ret ? malformed(err, "refresh answer") : 0;
}
