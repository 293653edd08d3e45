/*
 * kcache: how long the kernel may trust what it was told, and which
 * opens may read through its page cache.  The one place that decides
 * the kernel's caching (the kernel-cache invalidation will live here).
 * No state, no locking of its own.
 */
#ifndef CATSYNCFS_KCACHE_H
#define CATSYNCFS_KCACHE_H

#include <fuse.h>
#include <stdbool.h>

#include "tree.h"

/* The kernel's timeouts and capabilities, at init. */
void kcache_configure(struct fuse_conn_info *conn, struct fuse_config *cfg);

/*
 * n resolved and locked: whether a reader of n may go through the
 * kernel's page cache (the size it cached still holds).
 */
bool kcache_size_holds(const struct node *n);

/* The caching flags of an open file handed to the kernel. */
void kcache_open_flags(struct fuse_file_info *fi, bool page_cache);

#endif
