/*
 * store.c - accounts, their catalog syncs and the prebuilt policies.
 *
 * Syncs are kept as cJSON objects rather than C structs on purpose: the
 * control API may give a sync any field any value (a number for a name, an
 * id with a slash) so that the daemon can be fed hostile answers, and the
 * API must then send back exactly that. sync_complete() restores the
 * canonical key order after every change so output stays stable.
 *
 * Locking: none here; every caller holds the emulator's state mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Seed files are small; this bounds a mistaken path to a huge file. */
#define SEED_FILE_MAX (256 * 1024 * 1024)

static const char *const sync_keys[] = {
	"id",
	"name",
	"description",
	"policy",
	"destination_type",
	"destination_id",
	"update_mode",
	"errors",
	"last_user_update_at",
	"last_attempted_update_at",
	"last_successful_update_at",
	"includes_discoveries_until",
};

void store_init(struct store *st)
{
	memset(st, 0, sizeof(*st));
}

static void account_finish(struct account *acct)
{
	free(acct->id);
	free(acct->name);
	cJSON_Delete(acct->syncs);
}

void store_finish(struct store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_accounts; i++)
		account_finish(&st->accounts[i]);
	free(st->accounts);
	cJSON_Delete(st->prebuilt);
	store_init(st);
}

void store_swap(struct store *a, struct store *b)
{
	struct store tmp = *a;

	*a = *b;
	*b = tmp;
}

const char *json_string(const cJSON *obj, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

int store_add_account(struct store *st, const char *id, const char *name,
		      bool forbidden)
{
	struct account *acct;

	if (store_find_account(st, id))
		return -EEXIST;
	if (st->n_accounts == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 4;
		struct account *na = realloc(st->accounts, cap * sizeof(*na));

		if (!na)
			return -ENOMEM;
		st->accounts = na;
		st->cap = cap;
	}
	acct = &st->accounts[st->n_accounts];
	memset(acct, 0, sizeof(*acct));
	acct->id = strdup(id);
	acct->name = strdup(name);
	acct->syncs = cJSON_CreateArray();
	acct->forbidden = forbidden;
	ts_now(acct->created_on);
	if (!acct->id || !acct->name || !acct->syncs) {
		account_finish(acct);
		return -ENOMEM;
	}
	st->n_accounts++;
	return 0;
}

struct account *store_find_account(struct store *st, const char *id)
{
	for (size_t i = 0; i < st->n_accounts; i++)
		if (strcmp(st->accounts[i].id, id) == 0)
			return &st->accounts[i];
	return NULL;
}

cJSON *account_find_sync(struct account *acct, const char *id)
{
	cJSON *sync;

	cJSON_ArrayForEach (sync, acct->syncs) {
		const char *sid = json_string(sync, "id");

		if (sid && strcasecmp(sid, id) == 0)
			return sync;
	}
	return NULL;
}

cJSON *account_find_name(struct account *acct, const char *name,
			 const cJSON *except)
{
	cJSON *sync;

	cJSON_ArrayForEach (sync, acct->syncs) {
		const char *sname = json_string(sync, "name");

		if (sync != except && sname && strcmp(sname, name) == 0)
			return sync;
	}
	return NULL;
}

int sync_set_string(cJSON *sync, const char *key, const char *value)
{
	cJSON *item = cJSON_CreateString(value);

	if (!item)
		return -ENOMEM;
	if (cJSON_HasObjectItem(sync, key)) {
		if (!cJSON_ReplaceItemInObjectCaseSensitive(sync, key, item))
			goto fail;
	} else if (!cJSON_AddItemToObject(sync, key, item)) {
		goto fail;
	}
	return 0;
fail:
	cJSON_Delete(item);
	return -ENOMEM;
}

static int add_default(cJSON *sync, const char *key, const char *value)
{
	if (cJSON_GetObjectItemCaseSensitive(sync, key))
		return 0;
	return sync_set_string(sync, key, value);
}

int sync_complete(cJSON *sync)
{
	char id[UUID_LEN], dest[UUID_LEN], now[TS_LEN], name[32];
	const struct {
		const char *key;
		const char *value;
	} defaults[] = {
		{ "name", name },
		{ "description", "" },
		{ "policy", "" },
		{ "destination_type", "NONE" },
		{ "destination_id", dest },
		{ "update_mode", "MANUAL" },
		{ "last_user_update_at", now },
	};
	const char *sid;

	uuid_random(id);
	uuid_random(dest);
	ts_now(now);
	if (add_default(sync, "id", id))
		return -ENOMEM;
	sid = json_string(sync, "id");
	snprintf(name, sizeof(name), "sync-%.8s", sid ? sid : id);
	for (size_t i = 0; i < ARRAY_SIZE(defaults); i++)
		if (add_default(sync, defaults[i].key, defaults[i].value))
			return -ENOMEM;
	if (!cJSON_GetObjectItemCaseSensitive(sync, "errors") &&
	    !cJSON_AddObjectToObject(sync, "errors"))
		return -ENOMEM;

	/* Move the known keys to the front, in order; extras stay behind. */
	for (size_t i = ARRAY_SIZE(sync_keys); i-- > 0;) {
		cJSON *item = cJSON_DetachItemFromObjectCaseSensitive(
			sync, sync_keys[i]);

		if (item && !cJSON_InsertItemInArray(sync, 0, item)) {
			cJSON_Delete(item);
			return -ENOMEM;
		}
	}
	return 0;
}

static cJSON *sync_to_json(const cJSON *sync)
{
	return cJSON_Duplicate(sync, 1);
}

cJSON *account_to_json(const struct account *acct)
{
	cJSON *obj = cJSON_CreateObject();

	if (!obj)
		return NULL;
	if (!cJSON_AddStringToObject(obj, "id", acct->id) ||
	    !cJSON_AddStringToObject(obj, "name", acct->name) ||
	    !cJSON_AddStringToObject(obj, "type", "standard") ||
	    !cJSON_AddObjectToObject(obj, "settings") ||
	    !cJSON_AddStringToObject(obj, "created_on", acct->created_on)) {
		cJSON_Delete(obj);
		return NULL;
	}
	return obj;
}

cJSON *store_to_json(const struct store *st)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *accounts = cJSON_AddArrayToObject(doc, "accounts");

	if (!doc || !accounts)
		goto fail;
	for (size_t i = 0; i < st->n_accounts; i++) {
		const struct account *acct = &st->accounts[i];
		cJSON *obj = cJSON_CreateObject();
		cJSON *syncs;

		if (!obj || !cJSON_AddItemToArray(accounts, obj)) {
			cJSON_Delete(obj);
			goto fail;
		}
		syncs = sync_to_json(acct->syncs);
		if (!cJSON_AddStringToObject(obj, "id", acct->id) ||
		    !cJSON_AddStringToObject(obj, "name", acct->name) ||
		    !cJSON_AddBoolToObject(obj, "forbidden", acct->forbidden) ||
		    !syncs || !cJSON_AddItemToObject(obj, "syncs", syncs)) {
			cJSON_Delete(syncs);
			goto fail;
		}
	}
	if (!cJSON_AddItemToObject(doc, "prebuilt_policies",
				   cJSON_Duplicate(st->prebuilt, 1)))
		goto fail;
	return doc;
fail:
	cJSON_Delete(doc);
	return NULL;
}

static int load_account(struct store *st, const cJSON *obj, size_t index,
			char *err, size_t errlen)
{
	const cJSON *forbidden = cJSON_GetObjectItemCaseSensitive(obj,
								  "forbidden");
	const cJSON *syncs = cJSON_GetObjectItemCaseSensitive(obj, "syncs");
	const char *id = json_string(obj, "id");
	const char *name = json_string(obj, "name");
	char fallback[32];
	struct account *acct;
	const cJSON *raw;
	int rc;

	if (!cJSON_IsObject(obj) || !id) {
		snprintf(err, errlen, "accounts[%zu]: needs a string \"id\"",
			 index);
		return -EINVAL;
	}
	if (syncs && !cJSON_IsArray(syncs)) {
		snprintf(err, errlen, "accounts[%zu].syncs: not an array",
			 index);
		return -EINVAL;
	}
	snprintf(fallback, sizeof(fallback), "Account %zu", index + 1);
	rc = store_add_account(st, id, name ? name : fallback,
			       cJSON_IsTrue(forbidden));
	if (rc < 0) {
		snprintf(err, errlen, "accounts[%zu]: %s", index,
			 rc == -EEXIST ? "duplicate id" : strerror(-rc));
		return rc;
	}
	acct = &st->accounts[st->n_accounts - 1];
	cJSON_ArrayForEach (raw, syncs) {
		cJSON *sync;

		if (!cJSON_IsObject(raw)) {
			snprintf(err, errlen,
				 "accounts[%zu].syncs: not objects", index);
			return -EINVAL;
		}
		sync = cJSON_Duplicate(raw, 1);
		if (!sync || !cJSON_AddItemToArray(acct->syncs, sync)) {
			cJSON_Delete(sync);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		if (sync_complete(sync) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

int store_load_json(struct store *st, const cJSON *doc, char *err,
		    size_t errlen)
{
	const cJSON *accounts = cJSON_GetObjectItemCaseSensitive(doc,
								 "accounts");
	const cJSON *prebuilt = cJSON_GetObjectItemCaseSensitive(
		doc, "prebuilt_policies");
	const cJSON *obj;
	size_t i = 0;
	int rc;

	if (!cJSON_IsObject(doc) || (accounts && !cJSON_IsArray(accounts)) ||
	    (prebuilt && !cJSON_IsArray(prebuilt))) {
		snprintf(err, errlen,
			 "seed: want {\"accounts\":[...], "
			 "\"prebuilt_policies\":[...]}");
		return -EINVAL;
	}
	cJSON_ArrayForEach (obj, accounts) {
		rc = load_account(st, obj, i++, err, errlen);
		if (rc < 0)
			return rc;
	}
	cJSON_Delete(st->prebuilt);
	st->prebuilt = prebuilt ? cJSON_Duplicate(prebuilt, 1)
				: cJSON_CreateArray();
	if (!st->prebuilt) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int store_load_file(struct store *st, const char *path, char *err,
		    size_t errlen)
{
	struct strbuf sb;
	char chunk[65536];
	cJSON *doc = NULL;
	FILE *fp;
	size_t n;
	int rc = 0;

	strbuf_init(&sb);
	fp = fopen(path, "rb");
	if (!fp) {
		rc = -errno;
		snprintf(err, errlen, "cannot open seed '%s': %s", path,
			 strerror(errno));
		return rc;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (sb.len + n > SEED_FILE_MAX) {
			snprintf(err, errlen, "seed '%s' is too large", path);
			rc = -EFBIG;
			goto out_close;
		}
		rc = strbuf_add(&sb, chunk, n);
		if (rc < 0) {
			snprintf(err, errlen, "out of memory");
			goto out_close;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "cannot read seed '%s'", path);
		rc = -EIO;
		goto out_close;
	}
	doc = cJSON_ParseWithLength(sb.buf ? sb.buf : "", sb.len);
	if (!doc) {
		snprintf(err, errlen, "seed '%s' is not valid JSON", path);
		rc = -EINVAL;
		goto out_close;
	}
	rc = store_load_json(st, doc, err, errlen);
	cJSON_Delete(doc);
out_close:
	fclose(fp);
	strbuf_finish(&sb);
	return rc;
}
