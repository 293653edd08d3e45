/*
 * changes: the cache's change feed.  Whenever what the mount shows of a
 * sync changes, a listener learns which sync and how: added, removed,
 * its folder renamed, or its content changed under the same folder.
 * Listings installed by a fetch are compared with the listing they
 * replace; a write's answer, a delete and the folder names they move
 * are told as they land.  For the kernel-cache invalidation and the
 * journal.
 *
 * Locking: the listener is called with the account locked, on the
 * thread that changed it; it must not lock an account, call the API or
 * block (queue the work instead).  Without a listener nothing is kept
 * or compared.
 */
#ifndef CATSYNCFS_CHANGES_H
#define CATSYNCFS_CHANGES_H

#include <stdbool.h>
#include <stddef.h>

#include "strmap.h"

struct cache_entry;

enum change_kind {
	CHANGE_ADDED,
	CHANGE_REMOVED,
	CHANGE_RENAMED, /* the folder name changed (content may too) */
	CHANGE_CHANGED, /* the content changed, the folder did not */
};

/* One change; the strings are valid during the call only. */
struct change {
	enum change_kind kind;
	const char *account;
	const char *sync_id;
	const char *folder; /* now; NULL when removed */
	const char *old_folder; /* before; NULL when added */
};

struct change_feed {
	void (*fn)(void *arg, const struct change *ch); /* NULL: nobody */
	void *arg;
};

/* Tells the listener, if there is one. */
void changes_send(const struct change_feed *f, enum change_kind kind,
		  const char *account, const char *sync_id, const char *folder,
		  const char *old_folder);

/*
 * What a listing showed (sync id -> folder and content digest), kept
 * while it is fetched again.  Zero-initialised is "none kept".
 */
struct changes_mark {
	bool held;
	struct strmap by_id;
};

/* Keeps what entries show, unless a mark is held already or f has no
 * listener.  0 or -ENOMEM (then nothing is kept). */
int changes_mark_take(struct changes_mark *m, const struct change_feed *f,
		      const struct cache_entry *entries, size_t count)
	__attribute__((warn_unused_result));

/*
 * Tells f how entries differ from the mark, and forgets the mark.
 * Whether they differ (true when no mark was held: nobody knows).
 */
bool changes_mark_diff(struct changes_mark *m, const struct change_feed *f,
		       const char *account, const struct cache_entry *entries,
		       size_t count);

void changes_mark_finish(struct changes_mark *m);

#endif
