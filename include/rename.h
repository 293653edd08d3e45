/*
 * rename: what mv means in the mount.  A sync folder renamed in its
 * account renames the sync; within a sync folder, a field renamed to a
 * scratch name copies its bytes out (an editor's backup), a scratch file
 * renamed onto a field saves its bytes as that field (an editor's save
 * by rename), and scratch files rename among themselves.  Everything
 * else is refused with the errno a local filesystem would give.
 *
 * Called without locks; it takes the account lock one side at a time and
 * never across the save or rename it sends (writes.h).  The caller has
 * checked that the caller may change anything.
 */
#ifndef CATSYNCFS_RENAME_H
#define CATSYNCFS_RENAME_H

#include "cache.h"

/* rename(2) of from to to, flags RENAME_NOREPLACE or 0. */
int rename_path(struct cache *c, const char *from, const char *to,
		unsigned int flags) __attribute__((warn_unused_result));

#endif
