/*
 * ratelimit.c - 1200 requests per 300 s (or --rate-limit-max per
 * --rate-limit-window), as a sliding window over the times of the last
 * requests.
 *
 * Requests are counted even when limiting is off so the Ratelimit header
 * always tells the truth; only --rate-limit turns a full window into 429.
 * As the window slides, quota comes back one request at a time: the
 * header's t is when the next one does (0 with nothing counted), which is
 * also what a 429's Retry-After says.
 *
 * Locking: none here; callers hold the emulator's state mutex.
 */
#include <errno.h>
#include <stdlib.h>

#include "ratelimit.h"
#include "util.h"

int ratelimit_init(struct ratelimit *rl, long max, long window_s)
{
	int64_t *stamps = calloc((size_t)max, sizeof(*stamps));

	if (!stamps)
		return -ENOMEM;
	free(rl->stamps);
	rl->stamps = stamps;
	rl->cap = max;
	rl->window_ms = (int64_t)window_s * 1000;
	rl->head = 0;
	rl->count = 0;
	return 0;
}

void ratelimit_finish(struct ratelimit *rl)
{
	free(rl->stamps);
	rl->stamps = NULL;
}

static void expire(struct ratelimit *rl, int64_t now)
{
	while (rl->count > 0 && now - rl->stamps[rl->head] >= rl->window_ms) {
		rl->head = (rl->head + 1) % rl->cap;
		rl->count--;
	}
}

/* Seconds (rounded up) until the oldest counted request leaves. */
static long reset_after(const struct ratelimit *rl, int64_t now)
{
	int64_t wait;

	if (rl->count == 0)
		return 0;
	wait = rl->stamps[rl->head] + rl->window_ms - now;
	return wait > 0 ? (long)((wait + 999) / 1000) : 1;
}

int ratelimit_take(struct ratelimit *rl, bool enforce, long *remaining,
		   long *reset_s, long *retry_after_s, int64_t *at_ms)
{
	int64_t now = mono_ms();

	*at_ms = now;
	expire(rl, now);
	if (rl->count == rl->cap) {
		if (enforce) {
			*retry_after_s = reset_after(rl, now);
			if (*retry_after_s < 1)
				*retry_after_s = 1;
			*remaining = 0;
			*reset_s = *retry_after_s;
			return 0;
		}
		/* Not limiting: forget the oldest to make room. */
		rl->head = (rl->head + 1) % rl->cap;
		rl->count--;
	}
	rl->stamps[(rl->head + rl->count) % rl->cap] = now;
	rl->count++;
	*remaining = rl->cap - rl->count;
	*reset_s = reset_after(rl, now);
	return 1;
}

long ratelimit_remaining(struct ratelimit *rl, long *reset_s)
{
	int64_t now = mono_ms();

	expire(rl, now);
	*reset_s = reset_after(rl, now);
	return rl->cap - rl->count;
}
