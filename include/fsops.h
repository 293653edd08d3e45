/*
 * fsops: the FUSE operations.  Translates each file operation into tree
 * and cache calls; never sees a URL or a JSON object.
 */
#ifndef CATSYNCFS_FSOPS_H
#define CATSYNCFS_FSOPS_H

#include <fuse.h>

#include "api.h"
#include "cache.h"
#include "options.h"

/* What every operation reaches through fuse_get_context()->private_data. */
struct fsops_context {
	struct cache *cache; /* its api is the one every operation uses */
	const struct options *opts;
};

/* The operation table, filled once. */
const struct fuse_operations *fsops_operations(void);

#endif
