/*
 * fsops: the FUSE operations, on libfuse's low-level API.  Translates
 * each request into tree and cache calls; never sees a URL or a JSON
 * object.
 */
#ifndef CATSYNCFS_FSOPS_H
#define CATSYNCFS_FSOPS_H

#include <fuse_lowlevel.h>
#include <stdbool.h>

#include "api.h"
#include "cache.h"
#include "options.h"

/* What every request reaches through fuse_req_userdata(). */
struct fsops_context {
	struct cache *cache; /* its api is the one every operation uses */
	const struct options *opts;
	bool no_opendir; /* the kernel opens no folders (set at init) */
};

/* The operation table, filled once. */
const struct fuse_lowlevel_ops *fsops_operations(void);

#endif
