/*
 * kcache: how long the kernel may keep what it was told, and which opens
 * may read through its page cache.  The one place that decides the
 * kernel's caching; kinval.h tells the kernel when to drop it early.
 *
 * The rule (SPEC "Freshness and cost"): the kernel keeps a name or an
 * attribute for as long as the listing it came from is trusted
 * (cache_ttl from the listing's arrival), so every reply carries the
 * time its listing has left.  What is fixed for the life of the mount
 * (the root, account folders, the names last_error, policies and
 * stats.json) is kept for a day; what changes with neither a listing
 * nor the change feed (stats.json, the account's last_error) is never
 * kept.
 *
 * No state, no locking of its own.
 */
#ifndef CATSYNCFS_KCACHE_H
#define CATSYNCFS_KCACHE_H

#include <fuse_lowlevel.h>
#include <stdbool.h>

#include "tree.h"

/* The kernel's capabilities, at init. */
void kcache_configure(struct fuse_conn_info *conn);

/* How long the kernel may keep a name and its attributes, in seconds. */
struct kcache_timeouts {
	double entry;
	double attr;
};

/*
 * n resolved (tree.h): below an account folder with its account locked;
 * an account folder unlocked (it is locked here for a moment).
 */
struct kcache_timeouts kcache_timeouts(struct cache *c, const struct node *n);
/*
 * How much longer the listing of folder comes from trusted data, in ms
 * (the kernel keeps a folder listing until told: kinval.h); -1 for the
 * root, whose listing never changes.  folder resolved, account unlocked.
 */
long kcache_folder_trust_ms(struct cache *c, const struct node *folder);
/* How long the kernel may remember that a name does not exist. */
double kcache_negative_timeout(const struct cache *c);
/*
 * n resolved and locked: whether a reader of n may go through the
 * kernel's page cache (the size and pages it holds still hold).
 */
bool kcache_size_holds(const struct node *n);
/* The caching flags of an open file handed to the kernel. */
void kcache_open_flags(struct fuse_file_info *fi, bool page_cache);

#endif
