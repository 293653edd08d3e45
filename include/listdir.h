/*
 * listdir: what readdir(3) of each folder of the mount returns, with
 * each entry's attributes (READDIRPLUS) and stable offsets.
 */
#ifndef CATSYNCFS_LISTDIR_H
#define CATSYNCFS_LISTDIR_H

#include <fuse.h>
#include <stdbool.h>

#include "cache.h"

/*
 * Fills one READDIR request of path from entry offset on (filler and
 * buf as libfuse gives them); read_only drops the write bits.  0,
 * -ENOTDIR, or the -errno of resolving path or fetching the listing.
 */
int listdir_fill(struct cache *c, bool read_only, const char *path, void *buf,
		 fuse_fill_dir_t filler, off_t offset)
	__attribute__((warn_unused_result));

#endif
