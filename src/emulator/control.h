/* control.h - the test-only control API under /__emulator. */
#ifndef EMU_CONTROL_H
#define EMU_CONTROL_H

#include "emu.h"
#include "http.h"

#define CONTROL_PREFIX "/__emulator"

/* Answer one control request (no auth, not logged, not rate limited). */
void control_handle(struct emu *emu, struct request *req, struct answer *ans);

/*
 * Build a fresh store from a named seed ("demo", "empty" or a JSON file
 * path) plus @syncs generated syncs. Used at start and by resets.
 */
int control_seed_store(struct store *st, const char *seed, long syncs,
		       long policy_min, long policy_max, char *err,
		       size_t errlen) __attribute__((warn_unused_result));

#endif
