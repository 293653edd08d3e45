/* ratelimit.h - Cloudflare's per-user limit as a global sliding window. */
#ifndef EMU_RATELIMIT_H
#define EMU_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_MAX 1200
#define RATELIMIT_WINDOW_S 300

struct ratelimit {
	int64_t *stamps; /* ring of request times (mono ms), owned */
	long cap; /* the limit */
	int64_t window_ms; /* 300 s, or --rate-limit-window */
	long head; /* oldest */
	long count;
};

/* Empties the window; @max requests per @window_s seconds. */
int ratelimit_init(struct ratelimit *rl, long max, long window_s)
	__attribute__((warn_unused_result));
void ratelimit_finish(struct ratelimit *rl);

/*
 * Count one request now. When @enforce is set and the window is full the
 * request is not counted, 0 is returned and *@retry_after_s says when a
 * slot frees up; otherwise 1. *@remaining and *@reset_s are what the
 * Ratelimit header says (r and t); *@at_ms is when it was counted.
 */
int ratelimit_take(struct ratelimit *rl, bool enforce, long *remaining,
		   long *reset_s, long *retry_after_s, int64_t *at_ms);
/* Remaining and reset without counting (for control answers). */
long ratelimit_remaining(struct ratelimit *rl, long *reset_s);

#endif
