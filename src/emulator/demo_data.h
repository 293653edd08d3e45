/* demo_data.h - the built-in demo seed and generated bulk syncs. */
#ifndef EMU_DEMO_DATA_H
#define EMU_DEMO_DATA_H

#include "store.h"

#define DEMO_ACCOUNT_1 "0123456789abcdef0123456789abcdef"
#define DEMO_ACCOUNT_2 "fedcba9876543210fedcba9876543210"

/* Fill an empty store with the demo accounts, syncs and prebuilt policies. */
int demo_load(struct store *st) __attribute__((warn_unused_result));

/* Give an empty store just the prebuilt policies (the "empty" seed). */
int demo_load_prebuilt(struct store *st) __attribute__((warn_unused_result));

/*
 * Add @count generated syncs (sync-00001, ...) to the first account,
 * creating one if the store has none. Policy sizes are spread uniformly
 * over [@min_bytes, @max_bytes] from a fixed PRNG seed, so every run makes
 * the same names, ids and policies.
 */
int demo_generate(struct store *st, long count, long min_bytes, long max_bytes)
	__attribute__((warn_unused_result));

#endif
