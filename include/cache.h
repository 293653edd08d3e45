/*
 * cache: what this mount knows of each account, and when to ask again.
 *
 * Per account it holds the last sync listing (with each sync's folder
 * name and rendered JSON files), the prebuilt policies, the account's and
 * each sync's last_error, refresh results and scratch files.  One list
 * request fills the whole account; it is trusted for cache_ttl seconds;
 * concurrent callers of an expired listing share one request.
 *
 * The modules behind it: cache.c (the account model, folder names,
 * account_apply_sync), fetch.c (freshness, the single-flight fetch, the
 * seed, SIGUSR1), syncstate.c (per-sync state), inode.c (serials),
 * changes.c (the change feed).
 *
 * Locking: each account has one mutex.  cache_lock_listing() and
 * cache_lock_policies() return with it held (and the data fresh); the
 * caller reads or changes the account and calls account_unlock().  No
 * API call is ever made with the mutex held, so a slow API never blocks
 * a caller that needs only fresh cached data or another account.  The
 * order of every lock is in lockorder.h.
 */
#ifndef CATSYNCFS_CACHE_H
#define CATSYNCFS_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "api.h"
#include "api_error.h"
#include "changes.h"
#include "field.h"
#include "inode.h"
#include "scratch.h"
#include "syncstate.h"
#include "strmap.h"
#include "sync.h"

struct cache_entry {
	struct sync *sync; /* owned */
	char *folder; /* owned: the folder name (namecodec) */
	uint64_t serial; /* stable per sync id for the mount's life */
	/*
	 * The sizes of status.json and config.json, measured on first stat
	 * (0 until then).  Their text is rendered again for each open rather
	 * than kept: at 10,000 syncs keeping it doubled the daemon's memory.
	 */
	size_t status_len;
	size_t config_len;
};

struct prebuilt_entry {
	struct policy policy;
	char *folder;
	uint64_t serial;
	struct timespec seen; /* when this mount first saw this content */
};

struct freshness {
	bool have; /* data was fetched at least once */
	bool fetching; /* a request is under way */
	bool expired; /* made stale by a write (refresh) */
	struct timespec at; /* when the data (or a denial) came */
	/* when what the mount shows from it last changed: installed,
	 * written, or (listing) a sync's last_error or refresh result
	 * (CLOCK_MONOTONIC) */
	struct timespec changed;
	/* installed before: the kernel may hold what it showed */
	bool installed;
	unsigned int drop_generation;
	unsigned long seq; /* bumped at the end of every fetch */
	int result; /* 0 or -errno of the last fetch */
};

struct account {
	char id[40];
	uint64_t serial;
	pthread_mutex_t lock;
	pthread_cond_t fetched;
#ifndef NDEBUG
	pthread_t owner; /* valid while owned: for account_assert_locked */
	bool owned;
#endif

	struct cache_entry *entries;
	size_t count;
	struct api_listing seed; /* the first call's answer, until parsed */
	unsigned int seed_generation; /* drop generation when it came */
	struct strmap by_folder; /* folder -> entry index + 1 */
	struct strmap by_id; /* sync id -> entry index + 1 */
	struct freshness listing;
	/* bumped by every write this mount takes into the listing, so that
	 * a fetch that was under way meanwhile is not trusted over it */
	unsigned long mutations;
	/* newest last_user_update_at in ns: read without the lock (stat of
	 * the account folder), so one atomic word */
	_Atomic long long newest_ns;

	struct prebuilt_entry *prebuilt;
	size_t nprebuilt;
	struct strmap prebuilt_by_folder;
	struct strmap prebuilt_seen; /* content digest -> struct timespec */
	struct freshness policies;

	char *last_error;
	struct timespec error_time;
	bool error_from_listing; /* last_error says why a listing failed */
	struct strmap states; /* sync id -> state: syncstate.c alone */
	const struct change_feed *feed; /* the cache's */
	/* the listing being fetched again, as the change feed last told it */
	struct changes_mark mark;
};

struct cache {
	struct api *api;
	struct account **accounts;
	size_t naccounts;
	long ttl_ms;
	struct timespec started;
	struct inode_table inodes; /* serials of accounts, syncs, policies */
	struct change_feed feed;
	pthread_t seeder; /* cache_parse_seeds */
	bool seeder_running;
};

/* accounts are the ids to show; the api is borrowed.  NULL on ENOMEM. */
struct cache *cache_create(struct api *api, const struct id_list *accounts,
			   long ttl_ms);
void cache_destroy(struct cache *c);

/*
 * Sets the one listener of the change feed (changes.h); fn NULL for none.
 * Called before the cache is used by other threads.
 */
void cache_listen(struct cache *c,
		  void (*fn)(void *arg, const struct change *ch), void *arg);

/* The account with that id, or NULL. */
struct account *cache_account(struct cache *c, const char *id);

/* Fresh listing / prebuilt policies, account locked; or -errno unlocked. */
int cache_lock_listing(struct cache *c, struct account *a)
	__attribute__((warn_unused_result));
int cache_lock_policies(struct cache *c, struct account *a)
	__attribute__((warn_unused_result));
/* Locks without freshening (for what needs no API data). */
void account_lock(struct account *a);
void account_unlock(struct account *a);
/*
 * Aborts unless the calling thread holds a's lock (builds without
 * NDEBUG; see lockorder.h for the order).  Every function documented
 * "Locked" checks it.
 */
void account_assert_locked(struct account *a);

/*
 * Locked; whether the listing (policies true: the prebuilt policies) has
 * not changed for at least ms: then whatever the kernel was told about
 * it in the last ms still holds.
 */
bool account_unchanged_for(struct account *a, bool policies, long ms);

/*
 * Locked; how much longer the listing (policies true: the prebuilt
 * policies) is trusted, in ms: 0 when it is not fresh.  What the kernel
 * is told from it may be kept that long (kcache.h).
 */
long account_trust_left_ms(const struct cache *c, struct account *a,
			   bool policies);
/* Locked; the syncs and the prebuilt policies of the account, by index
 * (i < the count), in listing order. */
size_t account_sync_count(struct account *a);
struct cache_entry *account_sync_at(struct account *a, size_t i);
size_t account_policy_count(struct account *a);
struct prebuilt_entry *account_policy_at(struct account *a, size_t i);

/* The newest last_user_update_at of the account's syncs in ns (0 when
 * unknown).  No lock needed: one atomic word.  (id and serial are set
 * at creation and never change: they are read without the lock too.) */
long long account_newest_ns(struct account *a);

/* Forget every listing (SIGUSR1).  Async-signal-safe. */
void cache_drop_all(void);

/* Locked lookups; NULL when absent. */
struct cache_entry *account_by_folder(struct account *a, const char *folder);
struct cache_entry *account_by_id(struct account *a, const char *id);
struct prebuilt_entry *account_prebuilt(struct account *a, const char *folder);

/*
 * Locked; status.json (json_status true) or config.json of the entry, as
 * fresh heap text the caller frees (NULL on ENOMEM), and its size without
 * keeping the text (0 on ENOMEM).
 */
char *entry_render_json(struct cache_entry *e, bool json_status);
size_t entry_json_size(struct cache_entry *e, bool json_status);

/* Locked; records e as the account's own last_error (from_listing: it
 * says why a listing failed, and the next good listing clears it). */
void account_set_error(struct account *a, const struct api_error *e,
		       bool from_listing);
/* Locked; the account's last_error text or NULL, and when it changed. */
const char *account_last_error(struct account *a, struct timespec *when);

/*
 * Locked; takes s (the API's answer after a write) into the listing,
 * replacing the sync of the same id or adding it.  0 or -ENOMEM.
 */
int account_apply_sync(struct cache *c, struct account *a, struct sync *s)
	__attribute__((warn_unused_result));
/* Locked; a file of sync_id changed other than by a listing (its
 * last_error, a refresh result): see struct freshness.changed; the
 * change feed is told. */
void account_mark_changed(struct account *a, const char *sync_id);

/*
 * The account's side of the fetch, for fetch.c alone.  Locked; the
 * installs take the syncs or policies of list (0 or -ENOMEM); the drop
 * throws the listing away as its fetch starts, keeping what the change
 * feed compares; the clear ends a last_error that said why a listing
 * failed; the wait gives up the lock until a fetch ends.
 */
int account_install_listing(struct cache *c, struct account *a,
			    struct sync_list *list)
	__attribute__((warn_unused_result));
int account_install_policies(struct cache *c, struct account *a,
			     struct policy_list *list)
	__attribute__((warn_unused_result));
void account_drop_listing(struct cache *c, struct account *a);
void account_clear_listing_error(struct account *a);
void account_wait_fetched(struct account *a);

/* Locked; the next use of the listing fetches it again. */
void account_expire_listing(struct account *a);

/* Locked; forgets a deleted sync. */
void account_remove_sync(struct cache *c, struct account *a, const char *id);

/*
 * Hands the cache the answer of the mount's first call (taken: the
 * cache frees it).  It is parsed by the listing's first fetch, in place
 * of a request, so that mounting waits for the round trip only.
 */
void cache_seed_listing(struct account *a, struct api_listing *raw);

/*
 * Starts parsing the seeded listings in the background, so that the
 * first reader finds them ready or shares the parse under way.  Called
 * once the daemon runs (after any fork); cache_destroy waits for it.
 */
void cache_parse_seeds(struct cache *c);
#endif
