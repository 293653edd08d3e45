/*
 * budget: the request budget, so that the mount never trips Cloudflare's
 * per-user rate limit (1200 requests per 300 s, shared by every client of
 * the user, and 5 minutes of 429 for all of them past it).
 *
 * Two limits are kept, and a request waits until both let it through:
 *
 * - Our own window: at most `limit` requests in any `window` seconds,
 *   retries included.  A slot is held from the moment a request is
 *   allowed until its answer is in, and then for `window` more seconds,
 *   so that the server, which counts each request somewhere between the
 *   two, never sees more than `limit` in any window of its own either.
 * - The server's word: the Ratelimit header's remaining quota r, less
 *   the requests still in flight, may be spent until the reset time t.
 *   Past t one request at a time goes out as a probe, and its answer
 *   brings fresh figures.  A 429 sets the remaining quota to 0 until its
 *   Retry-After (60 s at most; past that, one probe at a time).  A
 *   figure is taken only from an answer to a request sent after the one
 *   that gave the current figure.
 *
 * Reads and writes: calls come in two classes.  READ is a listing (an
 * account, its prebuilt policies, the account list): what `ls`, `cat`
 * and `grep` of an expired account wait for.  WRITE is everything a change
 * sends, the lost-update check read included.  Writes may use only
 * limit - reserve slots of the window (reserve = limit / 10, at least 1),
 * and the same share of the server's remaining quota, so a listing finds
 * a slot at once even while a bulk edit has spent all it may.  Waiting
 * calls are served first come, first served within a class, and a waiting
 * read always goes before a waiting write.
 *
 * A save's two requests (the check read, then the write) take their two
 * slots together (budget_acquire with pair set): the check read never
 * waits for budget between itself and its write, so the lost-update
 * guarantee is unchanged.  The second slot is parked for the calling
 * thread until its next call, or for BUDGET_PARK_MS at most.
 *
 * Logging: one line when calls start waiting, one when the waiting is
 * over (how long, how many calls waited, the longest wait); never one per
 * call.
 *
 * Locking: one mutex per budget; waiting calls sleep on its condition
 * variable, woken by every release and at the next time a slot frees.
 */
#ifndef CATSYNCFS_BUDGET_H
#define CATSYNCFS_BUDGET_H

#include <stdbool.h>

#define BUDGET_DEFAULT_LIMIT 1200
#define BUDGET_DEFAULT_WINDOW_S 300
#define BUDGET_MAX_LIMIT 1000000
#define BUDGET_MAX_WINDOW_S 86400
/* how long a save's second slot waits for its write */
#define BUDGET_PARK_MS 2000
/* longest a server's reset time is believed, in seconds */
#define BUDGET_MAX_RESET_S 3600
/*
 * A 429 holds every call back until its Retry-After, up to this; past
 * it calls fail with EAGAIN as the retry policy says, one at a time.
 */
#define BUDGET_MAX_429_WAIT_MS 60000

enum budget_class {
	BUDGET_READ, /* a listing */
	BUDGET_WRITE, /* a change, or a save's check read */
	BUDGET_CLASSES,
};

/*
 * Parses "REQUESTS/SECONDS" (both positive integers, at most
 * BUDGET_MAX_LIMIT and BUDGET_MAX_WINDOW_S).  0 or -EINVAL.
 */
int budget_parse_spec(const char *spec, long *limit, long *window_s)
	__attribute__((warn_unused_result));

/* The server's figures, as its headers gave them. */
struct budget_server_view {
	bool has_remaining; /* Ratelimit parsed */
	long remaining; /* r */
	long reset_s; /* t */
	bool has_policy; /* Ratelimit-Policy parsed */
	long quota; /* q */
	long window_s; /* w */
};

/*
 * Parses the Ratelimit and Ratelimit-Policy header values (either may be
 * NULL or empty).  Pure; accepts anything.  A list of several items gives
 * the one with the smallest remaining quota (and the policy of the same
 * name, else the first); an item without both numbers, or malformed, is
 * skipped.  Numbers are non-negative integers of at most 9 digits.
 */
void budget_parse_headers(const char *ratelimit, const char *policy,
			  struct budget_server_view *out);

/* The share of limit kept for reads. */
long budget_read_reserve(long limit);

struct budget;

/* NULL when out of memory.  limit >= 1, window_s >= 1. */
struct budget *budget_create(long limit, long window_s);
/* Logs the end of a wait still open.  Accepts NULL. */
void budget_destroy(struct budget *b);

/* One request's slot, from acquire to release. */
struct budget_slot {
	unsigned long seq;
	enum budget_class cls;
	bool probe;
	bool from_park; /* the parked second slot of a save */
	long waited_ms;
};

/*
 * Blocks until a request of class cls may be sent, then counts it as in
 * flight.  pair: take a second slot as well and park it for this thread's
 * next call (a save's check read).  Never fails, never refuses.
 */
void budget_acquire(struct budget *b, enum budget_class cls, bool pair,
		    struct budget_slot *slot);

/* What came back; status 0 when no HTTP answer arrived. */
struct budget_answer {
	const char *method;
	long status;
	const char *ratelimit; /* header values, or NULL */
	const char *ratelimit_policy;
	long retry_after_ms; /* -1 when absent */
};

/* Ends the slot's flight and learns from the answer. */
void budget_release(struct budget *b, struct budget_slot *slot,
		    const struct budget_answer *a);

enum budget_method {
	BUDGET_GET,
	BUDGET_POST,
	BUDGET_PUT,
	BUDGET_PATCH,
	BUDGET_DELETE,
	BUDGET_OTHER,
	BUDGET_METHODS,
};

const char *budget_method_name(enum budget_method m);

/* A snapshot of the figures that stats.json shows. */
struct budget_stats {
	unsigned long requests[BUDGET_METHODS];
	unsigned long throttled; /* 429 answers */
	long limit;
	long window_s;
	long reserve; /* slots kept for reads */
	long used; /* slots held: in flight, or answered within the window */
	long in_flight;
	long waiting[BUDGET_CLASSES];
	long next_free_ms; /* until a write could go; 0 now, -1 unknown */
	unsigned long waited; /* calls that had to wait, since the mount */
	long longest_wait_ms;
	bool has_server; /* the server ever sent Ratelimit */
	struct budget_server_view server; /* the last figures it sent */
	long server_age_ms; /* how long ago */
};

void budget_get_stats(struct budget *b, struct budget_stats *out);

#endif
