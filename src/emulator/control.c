/*
 * control.c - /__emulator: lets tests inspect and change the emulator.
 *
 * It reads the state and the request log, scripts faults, edits syncs
 * behind the API's back (as a user of the dashboard would, with no
 * validation at all so tests can plant awkward or hostile data), resets the
 * store and tunes latency and rate limiting. Answers are plain JSON, not
 * the API envelope; errors are {"error": "..."}.
 *
 * Locking: every handler runs under emu->lock; a reset builds the new
 * store before taking it, so loading a big seed does not stall the API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "demo_data.h"

#define MAX_SEGMENTS 6

struct control_path {
	char *copy; /* owned, decoded segments */
	const char *seg[MAX_SEGMENTS];
	size_t n_seg;
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode in place, so ids with odd characters can be named. */
static void url_decode(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			*out++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static int path_split(const char *path, struct control_path *cp)
{
	char *p, *slash;

	memset(cp, 0, sizeof(*cp));
	cp->copy = strdup(path);
	if (!cp->copy)
		return -ENOMEM;
	for (p = cp->copy; p && *p; p = slash) {
		slash = strchr(p, '/');
		if (slash)
			*slash++ = '\0';
		if (cp->n_seg == MAX_SEGMENTS)
			return -ENOENT;
		url_decode(p);
		cp->seg[cp->n_seg++] = p;
	}
	return 0;
}

static bool is(const struct control_path *cp, size_t i, const char *s)
{
	return i < cp->n_seg && strcmp(cp->seg[i], s) == 0;
}

static void control_error(struct answer *ans, int status, const char *msg)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc && !cJSON_AddStringToObject(doc, "error", msg)) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	answer_json(ans, status, doc);
}

/* The request body as JSON, or NULL after answering 400. */
static cJSON *control_body(struct request *req, struct answer *ans)
{
	cJSON *doc = req->body ? cJSON_ParseWithLength(req->body, req->body_len)
			       : NULL;

	if (!doc)
		control_error(ans, 400, "body must be valid JSON");
	return doc;
}

int control_seed_store(struct store *st, const char *seed, long syncs,
		       long policy_min, long policy_max, char *err,
		       size_t errlen)
{
	int rc;

	if (strcmp(seed, "demo") == 0) {
		rc = demo_load(st);
	} else if (strcmp(seed, "empty") == 0) {
		rc = demo_load_prebuilt(st);
	} else {
		rc = store_load_file(st, seed, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (!rc)
		rc = demo_generate(st, syncs, policy_min, policy_max);
	if (rc < 0 && !err[0])
		snprintf(err, errlen, "cannot build seed: %s", strerror(-rc));
	return rc;
}

static cJSON *config_to_json(const struct emu *emu)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc &&
	    (!cJSON_AddNumberToObject(doc, "latency_ms", emu->cfg.latency_ms) ||
	     !cJSON_AddBoolToObject(doc, "rate_limit", emu->cfg.rate_limit) ||
	     !cJSON_AddNumberToObject(doc, "rate_limit_max", emu->rl.cap) ||
	     !cJSON_AddNumberToObject(doc, "rate_limit_window_s",
				      (double)(emu->rl.window_ms / 1000)))) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

static void do_config(struct emu *emu, const cJSON *body, struct answer *ans)
{
	const cJSON *latency = cJSON_GetObjectItemCaseSensitive(body,
								"latency_ms");
	const cJSON *limit = cJSON_GetObjectItemCaseSensitive(body,
							      "rate_limit");
	const cJSON *max = cJSON_GetObjectItemCaseSensitive(body,
							    "rate_limit_max");
	const cJSON *window = cJSON_GetObjectItemCaseSensitive(
		body, "rate_limit_window_s");

	if ((latency && (!cJSON_IsNumber(latency) || latency->valuedouble < 0 ||
			 latency->valuedouble > 3600000)) ||
	    (limit && !cJSON_IsBool(limit)) ||
	    (max && (!cJSON_IsNumber(max) || max->valuedouble < 1 ||
		     max->valuedouble > 10000000)) ||
	    (window && (!cJSON_IsNumber(window) || window->valuedouble < 1 ||
			window->valuedouble > 86400))) {
		control_error(ans, 400,
			      "want {\"latency_ms\": N >= 0, "
			      "\"rate_limit\": bool, \"rate_limit_max\": N, "
			      "\"rate_limit_window_s\": S}");
		return;
	}
	/* a new size or length starts an empty window */
	if ((max || window) &&
	    ratelimit_init(&emu->rl, max ? (long)max->valuedouble : emu->rl.cap,
			   window ? (long)window->valuedouble
				  : (long)(emu->rl.window_ms / 1000)) < 0) {
		control_error(ans, 500, "out of memory");
		return;
	}
	if (latency)
		emu->cfg.latency_ms = (long)latency->valuedouble;
	if (limit)
		emu->cfg.rate_limit = cJSON_IsTrue(limit);
	answer_json(ans, 200, config_to_json(emu));
}

/* Reset from a seed document or {"seed": NAME, "syncs": N}. */
static void do_reset(struct emu *emu, const cJSON *body, struct answer *ans)
{
	const cJSON *syncs = cJSON_GetObjectItemCaseSensitive(body, "syncs");
	const char *seed = json_string(body, "seed");
	long n = cJSON_IsNumber(syncs) ? (long)syncs->valuedouble : 0;
	struct store fresh;
	char err[256] = "";
	int rc;

	store_init(&fresh);
	if (!cJSON_IsObject(body) || (syncs && !cJSON_IsNumber(syncs)) ||
	    n < 0 || n > 1000000) {
		control_error(ans, 400,
			      "want a seed document or "
			      "{\"seed\": \"demo\"|\"empty\"|PATH, "
			      "\"syncs\": N}");
		return;
	}
	if (seed) {
		rc = control_seed_store(&fresh, seed, n, emu->cfg.policy_min,
					emu->cfg.policy_max, err, sizeof(err));
	} else {
		rc = store_load_json(&fresh, body, err, sizeof(err));
		if (!rc)
			rc = demo_generate(&fresh, n, emu->cfg.policy_min,
					   emu->cfg.policy_max);
	}
	if (rc < 0) {
		store_finish(&fresh);
		control_error(ans, rc == -ENOMEM ? 500 : 400,
			      err[0] ? err : strerror(-rc));
		return;
	}
	pthread_mutex_lock(&emu->lock);
	store_swap(&emu->store, &fresh);
	answer_json(ans, 200, store_to_json(&emu->store));
	pthread_mutex_unlock(&emu->lock);
	store_finish(&fresh);
}

static void do_add_account(struct emu *emu, const cJSON *body,
			   struct answer *ans)
{
	const char *id = json_string(body, "id");
	const char *name = json_string(body, "name");
	const cJSON *forbidden = cJSON_GetObjectItemCaseSensitive(body,
								  "forbidden");
	struct account *acct;
	char fallback[32];
	int rc;

	if (!id || (forbidden && !cJSON_IsBool(forbidden))) {
		control_error(ans, 400,
			      "want {\"id\": str, \"name\": str, "
			      "\"forbidden\": bool}");
		return;
	}
	snprintf(fallback, sizeof(fallback), "Account %zu",
		 emu->store.n_accounts + 1);
	rc = store_add_account(&emu->store, id, name ? name : fallback,
			       cJSON_IsTrue(forbidden));
	if (rc < 0) {
		control_error(ans, rc == -EEXIST ? 409 : 500,
			      rc == -EEXIST ? "account exists" : strerror(-rc));
		return;
	}
	acct = store_find_account(&emu->store, id);
	answer_json(ans, 201, account_to_json(acct));
}

static void do_insert_sync(struct account *acct, const cJSON *body,
			   struct answer *ans)
{
	cJSON *sync;

	if (!cJSON_IsObject(body)) {
		control_error(ans, 400, "want a sync object");
		return;
	}
	sync = cJSON_Duplicate(body, 1);
	if (!sync || !cJSON_AddItemToArray(acct->syncs, sync)) {
		cJSON_Delete(sync);
		control_error(ans, 500, "out of memory");
		return;
	}
	if (sync_complete(sync) < 0) {
		control_error(ans, 500, "out of memory");
		return;
	}
	answer_json(ans, 201, cJSON_Duplicate(sync, 1));
}

/* Overwrite fields as the dashboard would: no validation at all. */
static void do_patch_sync(cJSON *sync, const cJSON *body, struct answer *ans)
{
	char now[TS_LEN];
	const cJSON *item;

	if (!cJSON_IsObject(body)) {
		control_error(ans, 400, "want an object of sync fields");
		return;
	}
	ts_now(now);
	cJSON_ArrayForEach (item, body) {
		cJSON *copy = cJSON_Duplicate(item, 1);
		bool ok;

		if (!copy)
			goto nomem;
		if (cJSON_GetObjectItemCaseSensitive(sync, item->string))
			ok = cJSON_ReplaceItemInObjectCaseSensitive(
				sync, item->string, copy);
		else
			ok = cJSON_AddItemToObject(sync, item->string, copy);
		if (!ok) {
			cJSON_Delete(copy);
			goto nomem;
		}
	}
	if (!cJSON_GetObjectItemCaseSensitive(body, "last_user_update_at") &&
	    sync_set_string(sync, "last_user_update_at", now))
		goto nomem;
	if (sync_complete(sync))
		goto nomem;
	answer_json(ans, 200, cJSON_Duplicate(sync, 1));
	return;
nomem:
	control_error(ans, 500, "out of memory");
}

static void do_syncs(struct emu *emu, struct control_path *cp,
		     struct request *req, const cJSON *body, struct answer *ans)
{
	struct account *acct = store_find_account(&emu->store, cp->seg[1]);
	cJSON *sync = NULL;

	if (!acct) {
		control_error(ans, 404, "no such account");
		return;
	}
	if (cp->n_seg == 3) {
		if (strcmp(req->method, "POST") != 0)
			control_error(ans, 405, "use POST");
		else
			do_insert_sync(acct, body, ans);
		return;
	}
	cJSON_ArrayForEach (sync, acct->syncs) {
		const char *id = json_string(sync, "id");

		if (id && strcmp(id, cp->seg[3]) == 0)
			break;
	}
	if (!sync) {
		control_error(ans, 404, "no such sync");
	} else if (strcmp(req->method, "PATCH") == 0) {
		do_patch_sync(sync, body, ans);
	} else if (strcmp(req->method, "DELETE") == 0) {
		cJSON *result = cJSON_CreateObject();

		if (result &&
		    !cJSON_AddStringToObject(result, "id", cp->seg[3])) {
			cJSON_Delete(result);
			result = NULL;
		}
		cJSON_Delete(cJSON_DetachItemViaPointer(acct->syncs, sync));
		answer_json(ans, 200, result);
	} else {
		control_error(ans, 405, "use PATCH or DELETE");
	}
}

/* Which methods carry a JSON body on the control API. */
static bool wants_body(const char *method)
{
	return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
	       strcmp(method, "PATCH") == 0;
}

static void dispatch(struct emu *emu, struct control_path *cp,
		     struct request *req, cJSON *body, struct answer *ans)
{
	const char *m = req->method;
	bool get = strcmp(m, "GET") == 0, del = strcmp(m, "DELETE") == 0;

	if (cp->n_seg == 1 && is(cp, 0, "state") && get) {
		answer_json(ans, 200, store_to_json(&emu->store));
	} else if (cp->n_seg == 1 && is(cp, 0, "log") && get) {
		answer_json(ans, 200, reqlog_to_json(&emu->log));
	} else if (cp->n_seg == 1 && is(cp, 0, "log") && del) {
		reqlog_clear(&emu->log);
		answer_json(ans, 200, cJSON_CreateObject());
	} else if (cp->n_seg == 1 && is(cp, 0, "faults") && get) {
		answer_json(ans, 200, fault_list_to_json(&emu->faults));
	} else if (cp->n_seg == 1 && is(cp, 0, "faults") && del) {
		fault_list_clear(&emu->faults);
		answer_json(ans, 200, cJSON_CreateObject());
	} else if (cp->n_seg == 1 && is(cp, 0, "faults") &&
		   strcmp(m, "POST") == 0) {
		char err[256] = "";
		int rc = fault_list_add(&emu->faults, body, err, sizeof(err));

		if (rc < 0)
			control_error(ans, rc == -ENOMEM ? 500 : 400,
				      err[0] ? err : strerror(-rc));
		else
			answer_json(ans, 201, fault_list_to_json(&emu->faults));
	} else if (cp->n_seg == 1 && is(cp, 0, "config") && get) {
		answer_json(ans, 200, config_to_json(emu));
	} else if (cp->n_seg == 1 && is(cp, 0, "config") &&
		   strcmp(m, "PUT") == 0) {
		do_config(emu, body, ans);
	} else if (cp->n_seg == 1 && is(cp, 0, "accounts") &&
		   strcmp(m, "POST") == 0) {
		do_add_account(emu, body, ans);
	} else if ((cp->n_seg == 3 || cp->n_seg == 4) &&
		   is(cp, 0, "accounts") && is(cp, 2, "syncs")) {
		do_syncs(emu, cp, req, body, ans);
	} else {
		control_error(ans, 404, "no such control route or method");
	}
}

void control_handle(struct emu *emu, struct request *req, struct answer *ans)
{
	const char *rest = req->path + strlen(CONTROL_PREFIX);
	struct control_path cp;
	cJSON *body = NULL;

	if (*rest == '/')
		rest++;
	if (path_split(rest, &cp) < 0) {
		control_error(ans, 404, "no such control route");
		goto out;
	}
	if (wants_body(req->method)) {
		body = control_body(req, ans);
		if (!body)
			goto out;
	}
	if (cp.n_seg == 1 && is(&cp, 0, "reset") &&
	    strcmp(req->method, "POST") == 0) {
		do_reset(emu, body, ans);
		goto out;
	}
	pthread_mutex_lock(&emu->lock);
	dispatch(emu, &cp, req, body, ans);
	pthread_mutex_unlock(&emu->lock);
out:
	cJSON_Delete(body);
	free(cp.copy);
}
