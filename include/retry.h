/*
 * retry: when an attempt at an API call may be repeated, and after how
 * long.  A pure function of what the attempt returned, so that the policy
 * is unit-tested without a network.
 *
 * The rules follow Cloudflare's SDKs (2 retries, 0.5 s doubling to 8 s
 * less up to 25% jitter, Retry-After honoured, x-should-retry obeyed),
 * with two changes of ours: a request that may have changed the server
 * is only repeated when the server said it did not act (429), and a
 * Retry-After beyond 60 s fails the call at once rather than hanging it.
 */
#ifndef CATSYNCFS_RETRY_H
#define CATSYNCFS_RETRY_H

#include <stdbool.h>

#include "http.h"

#define RETRY_DEFAULT_RETRIES 2
#define RETRY_BASE_DELAY_MS 500
#define RETRY_MAX_DELAY_MS 8000
#define RETRY_MAX_RETRY_AFTER_MS 60000

enum retry_verdict {
	RETRY_DONE, /* the answer stands (success or final error) */
	RETRY_AGAIN, /* wait *delay_ms, then send again */
	RETRY_TOO_LONG, /* the server asks for a wait over 60 s */
};

struct retry_attempt {
	/* 0-based number of the attempt just made */
	int attempt;
	/* the number of retries allowed after the first attempt */
	int max_retries;
	/* repeating it cannot change the server twice (GET, PUT, DELETE...) */
	bool idempotent;
	const struct http_response *resp;
};

/*
 * Decides about the attempt just made.  jitter is a number in [0, 1)
 * (random in the daemon, fixed in tests); *delay_ms is set for
 * RETRY_AGAIN.
 */
enum retry_verdict retry_decide(const struct retry_attempt *a, double jitter,
				long *delay_ms);

/* Whether this status is worth a retry for an idempotent request. */
bool retry_status_is_transient(long status);

#endif
