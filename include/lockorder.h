/*
 * lockorder: the daemon's lock order, written once, and checked in
 * builds without NDEBUG.
 *
 * A thread takes locks only in this order, at most one of each level:
 *
 *   1. LOCK_OPEN_FILE  an open file's mutex (edit.c): serialises that
 *      open file's operations, and is held across the save it commits
 *      (the one lock allowed across a network call: it guards nothing
 *      but that open file, see edit.h).
 *   2. LOCK_ACCOUNT    an account's mutex (cache.c, account_lock): all
 *      of the account's listing, policies and per-sync state.  Two
 *      accounts are never locked at once.  Never held across a network
 *      call: the single-flight fetch drops it for the request.
 *   3. LOCK_LEAF       the inode table's and the open-file registry's
 *      mutexes (inode.c, edit.c): held for a table operation only,
 *      taking nothing under them.
 *
 * Also outside this order, each a leaf that takes nothing while held:
 * the request budget's (budget.c), the HTTP handle pool's and the
 * shared DNS/TLS caches' (http.c), the credentials' (api.c), the
 * journal's (journal.c), the kernel's node table's (knodes.c) and the
 * invalidation queue's (kinval.c).  They are taken under any of the
 * above.  No lock at all is held while a notification goes to the
 * kernel (kinval.h): the kernel may hold it up behind a request.
 *
 * The check: each thread keeps the set of levels it holds; acquiring a
 * level at or below one already held, or calling the API
 * (lockorder_assert_no_network_lock) with an account or leaf lock held,
 * aborts.  With NDEBUG these compile to nothing.
 */
#ifndef CATSYNCFS_LOCKORDER_H
#define CATSYNCFS_LOCKORDER_H

enum lock_level {
	LOCK_OPEN_FILE,
	LOCK_ACCOUNT,
	LOCK_LEAF,
};

#ifndef NDEBUG
/* Just before taking / just after releasing a lock of that level. */
void lockorder_acquire(enum lock_level l);
void lockorder_release(enum lock_level l);
/* Aborts when an account or leaf lock is held (before a network call). */
void lockorder_assert_no_network_lock(void);
#else
static inline void lockorder_acquire(enum lock_level l)
{
	(void)l;
}
static inline void lockorder_release(enum lock_level l)
{
	(void)l;
}
static inline void lockorder_assert_no_network_lock(void)
{
}
#endif

#endif
