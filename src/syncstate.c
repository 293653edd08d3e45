/*
 * syncstate: the per-sync, mount-local state of an account (see
 * syncstate.h).  A map from sync id to struct sync_state, made on first
 * use and dropped with the sync.  Locking: the account's, held by every
 * caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cache.h"
#include "monotime.h"
#include "syncstate.h"

struct sync_state {
	char *last_error; /* text shown by last_error, or NULL */
	struct timespec error_time;
	char *refresh_result; /* text shown by refresh, or NULL */
	struct timespec refresh_time;
	struct scratch_list scratch;
	/* what this mount last showed a reader of each writable field */
	struct sync_base shown;
	/*
	 * Fields unlinked on this mount (bit = enum field), hidden until
	 * created again or until the listing is fetched afresh: valid while
	 * unlinked_seq is the listing's seq, and in any case for
	 * UNLINK_HOLD_MS after the last unlink (unlinked_at, monotonic ms),
	 * so that a listing fetched between the unlink and the create (a
	 * short cache_ttl, another reader) does not turn a replace into
	 * EEXIST.
	 */
	unsigned int unlinked;
	unsigned long unlinked_seq;
	long long unlinked_at;
};

#define UNLINK_HOLD_MS 5000

/* Whether the unlink marks of st still count. */
static bool marks_hold(const struct account *a, const struct sync_state *st)
{
	return st->unlinked_seq == a->listing.seq ||
	       monotime_ms() - st->unlinked_at < UNLINK_HOLD_MS;
}

static void state_destroy(struct sync_state *st)
{
	if (!st)
		return;
	scratch_list_finish(&st->scratch);
	free(st->last_error);
	free(st->refresh_result);
	free(st);
}

static void state_destroy_void(void *st)
{
	state_destroy(st);
}

void syncstate_destroy_all(struct account *a)
{
	strmap_finish_values(&a->states, state_destroy_void);
}

void syncstate_forget(struct account *a, const char *sync_id)
{
	account_assert_locked(a);
	state_destroy(strmap_remove(&a->states, sync_id));
}

/* The state of a sync: made on first use when create, else NULL. */
static struct sync_state *state(struct account *a, const char *sync_id,
				bool create)
{
	struct sync_state *st;

	account_assert_locked(a);
	st = strmap_get(&a->states, sync_id);
	if (st || !create)
		return st;
	st = calloc(1, sizeof(*st));
	if (st && strmap_put(&a->states, sync_id, st)) {
		free(st);
		st = NULL;
	}
	return st;
}

struct scratch_list *account_scratch(struct account *a, const char *sync_id,
				     bool create)
{
	struct sync_state *st = state(a, sync_id, create);

	return st ? &st->scratch : NULL;
}

struct sync_base *account_shown(struct account *a, const char *sync_id,
				bool create)
{
	struct sync_state *st = state(a, sync_id, create);

	return st ? &st->shown : NULL;
}

bool account_field_unlinked(struct account *a, const char *sync_id, int field)
{
	struct sync_state *st = state(a, sync_id, false);

	return st && (st->unlinked & (1u << field)) && marks_hold(a, st);
}

int account_set_field_unlinked(struct account *a, const char *sync_id,
			       int field, bool unlinked)
{
	struct sync_state *st = state(a, sync_id, unlinked);

	if (!st)
		return unlinked ? -ENOMEM : 0;
	if (!marks_hold(a, st))
		st->unlinked = 0; /* marks from before the last listing */
	if (unlinked) {
		st->unlinked |= 1u << field;
		st->unlinked_seq = a->listing.seq;
		st->unlinked_at = monotime_ms();
	} else {
		st->unlinked &= ~(1u << field);
	}
	return 0;
}

void account_restore_fields(struct account *a, const char *sync_id)
{
	struct sync_state *st = state(a, sync_id, false);

	if (st)
		st->unlinked = 0;
}

void account_record_error(struct account *a, const char *sync_id,
			  const struct api_error *err)
{
	struct sync_state *st;
	char line[1024];
	char *text;

	if (!sync_id) {
		account_set_error(a, err, false);
		return;
	}
	st = state(a, sync_id, true);
	api_error_format(err, line, sizeof(line));
	if (!st || asprintf(&text, "%s\n", line) < 0)
		return;
	free(st->last_error);
	st->last_error = text;
	clock_gettime(CLOCK_REALTIME, &st->error_time);
	account_mark_changed(a, sync_id);
}

void account_clear_error(struct account *a, const char *sync_id)
{
	struct sync_state *st = state(a, sync_id, false);

	if (st && st->last_error) {
		free(st->last_error);
		st->last_error = NULL;
		clock_gettime(CLOCK_REALTIME, &st->error_time);
		account_mark_changed(a, sync_id);
	}
}

const char *account_sync_error(struct account *a, const char *sync_id,
			       struct timespec *when)
{
	struct sync_state *st = state(a, sync_id, false);

	if (!st || !st->last_error)
		return NULL;
	*when = st->error_time;
	return st->last_error;
}

const char *account_refresh_result(struct account *a, const char *sync_id,
				   struct timespec *when)
{
	struct sync_state *st = state(a, sync_id, false);

	if (!st || !st->refresh_result)
		return NULL;
	*when = st->refresh_time;
	return st->refresh_result;
}

void account_set_refresh_result(struct account *a, const char *sync_id,
				char *text)
{
	struct sync_state *st = state(a, sync_id, true);

	if (!st || !text) {
		free(text);
		return;
	}
	free(st->refresh_result);
	st->refresh_result = text;
	clock_gettime(CLOCK_REALTIME, &st->refresh_time);
	account_mark_changed(a, sync_id);
}
