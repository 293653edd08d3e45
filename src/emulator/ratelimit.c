/*
 * ratelimit.c - 1200 requests per 300 s, as a sliding window over the
 * times of the last requests.
 *
 * Requests are counted even when limiting is off so X-RateLimit-Remaining
 * always tells the truth; only --rate-limit turns a full window into 429.
 *
 * Locking: none here; callers hold the emulator's state mutex.
 */
#include <errno.h>
#include <stdlib.h>

#include "ratelimit.h"
#include "util.h"

int ratelimit_init(struct ratelimit *rl, long max)
{
	int64_t *stamps = calloc((size_t)max, sizeof(*stamps));

	if (!stamps)
		return -ENOMEM;
	free(rl->stamps);
	rl->stamps = stamps;
	rl->cap = max;
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
	while (rl->count > 0 &&
	       now - rl->stamps[rl->head] >= RATELIMIT_WINDOW_MS) {
		rl->head = (rl->head + 1) % rl->cap;
		rl->count--;
	}
}

int ratelimit_take(struct ratelimit *rl, bool enforce, long *remaining,
		   long *retry_after_s)
{
	int64_t now = mono_ms();

	expire(rl, now);
	if (rl->count == rl->cap) {
		if (enforce) {
			int64_t wait = rl->stamps[rl->head] +
				       RATELIMIT_WINDOW_MS - now;

			*retry_after_s = (long)((wait + 999) / 1000);
			if (*retry_after_s < 1)
				*retry_after_s = 1;
			*remaining = 0;
			return 0;
		}
		/* Not limiting: forget the oldest to make room. */
		rl->head = (rl->head + 1) % rl->cap;
		rl->count--;
	}
	rl->stamps[(rl->head + rl->count) % rl->cap] = now;
	rl->count++;
	*remaining = rl->cap - rl->count;
	return 1;
}

long ratelimit_remaining(struct ratelimit *rl)
{
	expire(rl, mono_ms());
	return rl->cap - rl->count;
}
