/*
 * listdir: what readdir(3) of each folder of the mount returns, with
 * each entry's attributes (READDIRPLUS) and stable offsets.
 */
#ifndef CATSYNCFS_LISTDIR_H
#define CATSYNCFS_LISTDIR_H

#include <stdbool.h>
#include <sys/stat.h>

#include "cache.h"
#include "tree.h"

/*
 * Takes one entry of a listing: its name, node and attributes ("." is
 * the folder itself; NULL for "..") and the offset of the entry after
 * it.  Returns false once the request is full (the entry was not taken).
 * Called with the listed folder's account locked, as tree_resolve leaves
 * a node below an account folder.
 */
typedef bool (*listdir_add_fn)(void *arg, const char *name,
			       const struct node *n, const struct stat *st,
			       off_t next);

/*
 * Fills one READDIR request of path from entry offset on, through add;
 * read_only drops the write bits.  0, -ENOTDIR, or the -errno of
 * resolving path or fetching the listing.
 */
int listdir_fill(struct cache *c, bool read_only, const char *path,
		 listdir_add_fn add, void *arg, off_t offset)
	__attribute__((warn_unused_result));

#endif
