/*
 * stats: the text of stats.json at the mount's root, from a snapshot of
 * the request budget.  Rendering it never calls the API and takes no
 * account lock.
 */
#ifndef CATSYNCFS_STATS_H
#define CATSYNCFS_STATS_H

#include <stddef.h>

#include "budget.h"

/* The largest stats.json rendered. */
#define STATS_MAX_JSON 2048

/*
 * Renders s as pretty-printed JSON ending in "\n".  *out is a fresh heap
 * string the caller frees.  0 or -ENOMEM.
 */
int stats_render(const struct budget_stats *s, char **out, size_t *len)
	__attribute__((warn_unused_result));

/* Renders the budget's current figures (see stats_render). */
int stats_render_budget(struct budget *b, char **out, size_t *len)
	__attribute__((warn_unused_result));

#endif
