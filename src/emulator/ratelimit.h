/* ratelimit.h - Cloudflare's per-user limit as a global sliding window. */
#ifndef EMU_RATELIMIT_H
#define EMU_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_MAX 1200
#define RATELIMIT_WINDOW_MS (300 * 1000)

struct ratelimit {
	int64_t *stamps; /* ring of request times (mono ms), owned */
	long cap; /* the limit */
	long head; /* oldest */
	long count;
};

int ratelimit_init(struct ratelimit *rl, long max)
	__attribute__((warn_unused_result));
void ratelimit_finish(struct ratelimit *rl);

/*
 * Count one request now. When @enforce is set and the window is full the
 * request is not counted, 0 is returned and *@retry_after_s says when a
 * slot frees up; otherwise 1. *@remaining is what X-RateLimit-Remaining
 * should say.
 */
int ratelimit_take(struct ratelimit *rl, bool enforce, long *remaining,
		   long *retry_after_s);
/* Remaining without counting (for control answers). */
long ratelimit_remaining(struct ratelimit *rl);

#endif
