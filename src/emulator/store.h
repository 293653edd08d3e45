/* store.h - the emulated accounts, their catalog syncs and the prebuilt
 * policies. */
#ifndef EMU_STORE_H
#define EMU_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "util.h"

struct account {
	char *id; /* as given; API routes need 32 hex */
	char *name;
	bool forbidden; /* catalog-sync routes answer 403 */
	char created_on[TS_LEN];
	cJSON *syncs; /* array of sync objects, owned */
};

struct store {
	struct account *accounts; /* owned array */
	size_t n_accounts;
	size_t cap;
	cJSON *prebuilt; /* array of prebuilt policies, owned */
};

void store_init(struct store *st);
void store_finish(struct store *st);

/* Exchange two stores, so a reset can be built aside and swapped in. */
void store_swap(struct store *a, struct store *b);

/*
 * Fill an empty store from a seed document (the --seed PATH.json format).
 * On failure a message is left in @err and the store may be half filled.
 */
int store_load_json(struct store *st, const cJSON *doc, char *err,
		    size_t errlen) __attribute__((warn_unused_result));
/* Same, from a file. */
int store_load_file(struct store *st, const char *path, char *err,
		    size_t errlen) __attribute__((warn_unused_result));

/* Add an account; -EEXIST if the id is taken. */
int store_add_account(struct store *st, const char *id, const char *name,
		      bool forbidden) __attribute__((warn_unused_result));
/* Borrowed pointer valid until the store changes, or NULL. */
struct account *store_find_account(struct store *st, const char *id);

/* The whole state for the control API; caller frees with cJSON_Delete. */
cJSON *store_to_json(const struct store *st);
/* The account as GET /accounts shows it; caller frees. */
cJSON *account_to_json(const struct account *acct);

/* Borrowed sync from the account's array, or NULL. */
cJSON *account_find_sync(struct account *acct, const char *id);
/* Another sync than @except already named @name, or NULL. */
cJSON *account_find_name(struct account *acct, const char *name,
			 const cJSON *except);

/*
 * Give a sync object every field the API always sends (ids, defaults,
 * last_user_update_at = now) and put its keys in the canonical order, so
 * answers look the same whichever way the sync was made.
 */
int sync_complete(cJSON *sync) __attribute__((warn_unused_result));

/* Set @key to a string value, keeping the key's position. */
int sync_set_string(cJSON *sync, const char *key, const char *value)
	__attribute__((warn_unused_result));

/* String member or NULL if missing or not a string. */
const char *json_string(const cJSON *obj, const char *key);

#endif
