/*
 * strmap: a string-keyed hash map (open addressing, linear probing).
 *
 * Keys are copied and owned by the map; values are opaque pointers the
 * caller owns.  No locking: the owner of the map locks around it.
 * Lookups are O(1) so that path resolution stays flat at 10,000 syncs.
 */
#ifndef CATSYNCFS_STRMAP_H
#define CATSYNCFS_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	char *key;
	void *value;
};

struct strmap {
	struct strmap_slot *slots;
	size_t cap; /* a power of two, or 0 */
	size_t count;
	size_t tombstones;
};

void strmap_init(struct strmap *m);
/* Frees the keys and the table (not the values). */
void strmap_finish(struct strmap *m);
/* strmap_finish after destroy(value) for every value (destroy frees). */
void strmap_finish_values(struct strmap *m, void (*destroy)(void *));

void *strmap_get(const struct strmap *m, const char *key);
/* Inserts or replaces.  0 or -ENOMEM. */
int strmap_put(struct strmap *m, const char *key, void *value)
	__attribute__((warn_unused_result));
/* Removes key; returns its value (or NULL). */
void *strmap_remove(struct strmap *m, const char *key);

/* Iteration: for (i = 0; strmap_next(m, &i, &k, &v); ) ... */
int strmap_next(const struct strmap *m, size_t *pos, const char **key,
		void **value);

#endif
