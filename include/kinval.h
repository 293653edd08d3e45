/*
 * kinval: tells the kernel to drop what it caches, exactly when it stops
 * holding: from one thread of its own, since a notification sent from a
 * request's handler can wait on a lock that the request holds.
 *
 * What it drops:
 *   - whatever a change of the cache touches (the change feed,
 *     changes.h): a sync's folder and files when its content changes, a
 *     folder name when a sync is added, removed or renamed, the
 *     account folder's listing and attributes with it;
 *   - folder listings when the listing they came from stops being
 *     trusted: the kernel keeps a folder's entries until it is told (no
 *     timeout), unlike names and attributes (kcache.h);
 *   - everything the kernel holds, on SIGUSR1;
 *   - what a request names (kinval_inode, kinval_entry).
 *
 * Locking: one mutex of its own, taken last (the change feed's listener
 * runs with an account locked) and never held across a notification.
 */
#ifndef CATSYNCFS_KINVAL_H
#define CATSYNCFS_KINVAL_H

#include <fuse_lowlevel.h>
#include <stdint.h>

#include "cache.h"

/* Starts the thread for se and listens to c's change feed.  0 or -errno. */
int kinval_start(struct cache *c, struct fuse_session *se)
	__attribute__((warn_unused_result));
/* Stops the thread (before the session goes); what is queued is dropped. */
void kinval_stop(void);

/*
 * The kernel was handed a listing of folder dir, which it keeps until
 * told: drop it when the listing stops being trusted, trust_left_ms
 * from now.
 */
void kinval_folder_listed(uint64_t dir, long trust_left_ms);
/* Drops, soon, what the kernel holds of ino / of the name in parent. */
void kinval_inode(uint64_t ino);
void kinval_entry(uint64_t parent, const char *name);
/*
 * Waits until everything asked before this call was sent, for at most
 * timeout_ms (a notification the kernel holds up behind a request must
 * not hold a write's close forever).
 */
void kinval_wait(long timeout_ms);
/*
 * Puts len bytes of data, the whole content of ino, into the kernel's
 * page cache at once, from the caller's thread (an OPEN being answered
 * holds no lock this waits for): a reader then sends no READ, and the
 * kernel asks for no access time after it.  drops is kinval_drops()
 * from before data was taken: a drop since then is sent again after.
 */
void kinval_store(uint64_t ino, const char *data, size_t len,
		  unsigned long drops);
/* How many drops of pages were sent so far (for kinval_store). */
unsigned long kinval_drops(void);
/* Whether ino's content is in the page cache as kinval_store put it. */
bool kinval_stored(uint64_t ino);
/* The kernel drops ino's pages itself (an open without keep_cache). */
void kinval_pages_dropped(uint64_t ino);
/* Drops everything the kernel holds (SIGUSR1).  Async-signal-safe. */
void kinval_drop_all(void);

#endif
