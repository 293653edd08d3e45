/*
 * syncstate: what this mount knows of a sync beyond the API object, kept
 * per sync id in its account and outliving listings: its last_error,
 * its refresh result, its scratch files (scratch.h), what was shown of
 * its writable fields (edit.h), and the fields unlinked on this mount.
 * This module is the only reader and writer of struct account's states
 * map; the rest of the daemon goes through these functions.
 *
 * Locking: every function is called with the account locked
 * (account_assert_locked).  Returned pointers are valid until it is
 * unlocked.
 */
#ifndef CATSYNCFS_SYNCSTATE_H
#define CATSYNCFS_SYNCSTATE_H

#include <stdbool.h>
#include <time.h>

#include "api_error.h"
#include "field.h"
#include "scratch.h"

struct account;

/* Frees the state of every sync (account teardown) / of one (deleted). */
void syncstate_destroy_all(struct account *a);
void syncstate_forget(struct account *a, const char *sync_id);

/*
 * The scratch files of a sync folder / what was shown of its writable
 * fields: NULL when the sync has no state yet (create false) or on
 * ENOMEM.
 */
struct scratch_list *account_scratch(struct account *a, const char *sync_id,
				     bool create);
struct sync_base *account_shown(struct account *a, const char *sync_id,
				bool create);

/*
 * Whether the field numbered field of a sync was unlinked on this mount
 * since the listing was fetched, and marking it so or not (unlink then
 * create is a replace).  Marks from before the listing's last fetch
 * count for nothing once a few seconds have passed since the unlink.  The
 * marking returns 0 or -ENOMEM.
 */
bool account_field_unlinked(struct account *a, const char *sync_id, int field);
int account_set_field_unlinked(struct account *a, const char *sync_id,
			       int field, bool unlinked)
	__attribute__((warn_unused_result));
/* Every unlinked field of the sync shows again (an rmdir that failed). */
void account_restore_fields(struct account *a, const char *sync_id);

/* Records err as the last_error of the sync (or, sync_id NULL, the
 * account); a later success on the same sync empties it. */
void account_record_error(struct account *a, const char *sync_id,
			  const struct api_error *err);
void account_clear_error(struct account *a, const char *sync_id);

/* The text the sync's last_error / refresh file shows, or NULL; when
 * is set to when it last changed. */
const char *account_sync_error(struct account *a, const char *sync_id,
			       struct timespec *when);
const char *account_refresh_result(struct account *a, const char *sync_id,
				   struct timespec *when);

/* Takes text (heap, ending in \n) as what the refresh file shows. */
void account_set_refresh_result(struct account *a, const char *sync_id,
				char *text);

#endif
