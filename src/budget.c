/*
 * budget: the request budget (see budget.h for the rules and why).
 *
 * Our window is a ring of completion times, oldest first: a slot is used
 * while its request is in flight (in_flight, which counts parked slots
 * too) and for window_ms after its answer came (the ring).  So
 * in_flight + ring count never exceeds limit, and the ring holds limit
 * entries.
 *
 * Waiting calls take a ticket in their class and sleep on one condition
 * variable; only the head of a class may take a slot, and a write may
 * only take one while no read is in line.  The head sleeps until the
 * next time something frees (a ring entry leaving the window, the
 * server's reset time, a parked slot expiring), at most a second; every
 * release and every taken slot wakes all sleepers to look again.
 *
 * Locking: b->lock guards everything in struct budget.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "log.h"
#include "monotime.h"

#define PARK_MAX 64
#define MAX_SLEEP_MS 1000
#define MAX_FIGURE 999999999L

struct park {
	pthread_t thread;
	long expires_ms;
};

struct budget {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long limit;
	long window_ms;
	long reserve;

	long *done; /* ring of completion times, cap limit */
	long head;
	long count;
	long in_flight;
	unsigned long next_seq;

	unsigned long ticket_next[BUDGET_CLASSES];
	unsigned long ticket_serving[BUDGET_CLASSES];
	long waiting[BUDGET_CLASSES];

	struct park parks[PARK_MAX];
	int nparks;

	/* the server's view, as far as it paces us */
	bool srv_known;
	long srv_avail;
	long srv_reset_at;
	long srv_reserve;
	unsigned long srv_seq;
	bool probe_out;

	/* the server's last figures, for stats.json */
	bool has_last;
	struct budget_server_view last;
	long last_at;

	unsigned long requests[BUDGET_METHODS];
	unsigned long throttled;
	unsigned long waited;
	long longest_wait_ms;

	/* the current spell of waiting, for its two log lines */
	bool spell;
	long spell_start;
	unsigned long spell_calls;
	long spell_longest;
};

/* --- parsing (pure) --------------------------------------------------- */

int budget_parse_spec(const char *spec, long *limit, long *window_s)
{
	const char *p = spec;
	long v[2];
	int i;

	if (!spec)
		return -EINVAL;
	for (i = 0; i < 2; i++) {
		int digits = 0;

		v[i] = 0;
		while (*p >= '0' && *p <= '9' && digits < 10) {
			v[i] = v[i] * 10 + (*p++ - '0');
			digits++;
		}
		if (!digits || (i == 0 && *p++ != '/'))
			return -EINVAL;
	}
	if (*p || v[0] < 1 || v[0] > BUDGET_MAX_LIMIT || v[1] < 1 ||
	    v[1] > BUDGET_MAX_WINDOW_S)
		return -EINVAL;
	*limit = v[0];
	*window_s = v[1];
	return 0;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || c == '.' || c == '*';
}

static bool is_token_char(char c)
{
	return c > ' ' && c < 0x7f && c != ',' && c != ';' && c != '"' &&
	       c != '=';
}

/* One list member's item name and two integer parameters. */
struct sf_item {
	char name[32];
	long a, b; /* -1 when absent */
};

/*
 * Parses one member of a structured-field list from *pp, leaving *pp
 * past the comma that ends it.  Returns whether the member was well
 * formed; a malformed one is skipped to the next comma.
 */
static bool sf_member(const char **pp, char ka, char kb, struct sf_item *it)
{
	const char *p = *pp;
	size_t n = 0;
	bool ok = true;

	it->name[0] = '\0';
	it->a = it->b = -1;
	while (is_ows(*p))
		p++;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			if (n + 1 < sizeof(it->name))
				it->name[n++] = *p;
		}
		if (*p != '"')
			ok = false;
		else
			p++;
	} else {
		for (; is_token_char(*p); p++)
			if (n + 1 < sizeof(it->name))
				it->name[n++] = *p;
		if (!n)
			ok = false;
	}
	it->name[n] = '\0';
	for (;;) {
		while (is_ows(*p))
			p++; /* not in RFC 8941, but harmless */
		if (!ok || *p != ';')
			break;
		char key[16];
		size_t k = 0;
		long val = -1;
		int digits = 0;

		p++;
		while (is_ows(*p))
			p++;
		while (is_key_char(*p)) {
			if (k + 1 < sizeof(key))
				key[k++] = *p;
			p++;
		}
		key[k] = '\0';
		if (!k) {
			ok = false;
			break;
		}
		if (*p == '=') {
			p++;
			if (*p >= '0' && *p <= '9') {
				val = 0;
				while (*p >= '0' && *p <= '9') {
					if (++digits > 9)
						ok = false;
					else
						val = val * 10 + (*p - '0');
					p++;
				}
				if (*p == '.')
					ok = false; /* a decimal: not ours */
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++)
					if (*p == '\\' && p[1])
						p++;
				if (*p == '"')
					p++;
				else
					ok = false;
			} else {
				while (is_token_char(*p))
					p++;
			}
		}
		if (ok && k == 1 && key[0] == ka)
			it->a = val;
		else if (ok && k == 1 && key[0] == kb)
			it->b = val;
	}
	while (is_ows(*p))
		p++;
	if (*p && *p != ',')
		ok = false;
	while (*p && *p != ',')
		p++;
	if (*p == ',')
		p++;
	*pp = p;
	return ok && it->a >= 0 && it->b >= 0;
}

void budget_parse_headers(const char *ratelimit, const char *policy,
			  struct budget_server_view *out)
{
	struct sf_item it, best = { .a = -1 };
	const char *p;
	bool have_best = false, have_policy = false;

	memset(out, 0, sizeof(*out));
	for (p = ratelimit; p && *p;) {
		if (sf_member(&p, 'r', 't', &it) &&
		    (!have_best || it.a < best.a ||
		     (it.a == best.a && it.b > best.b))) {
			best = it;
			have_best = true;
		}
	}
	if (have_best) {
		out->has_remaining = true;
		out->remaining = best.a;
		out->reset_s = best.b;
	}
	for (p = policy; p && *p;) {
		if (!sf_member(&p, 'q', 'w', &it))
			continue;
		/* the policy of the item we pace by, else the first */
		if (!have_policy ||
		    (have_best && !strcmp(it.name, best.name))) {
			out->has_policy = true;
			out->quota = it.a;
			out->window_s = it.b;
			if (have_best && !strcmp(it.name, best.name))
				break;
			have_policy = true;
		}
	}
}

long budget_read_reserve(long limit)
{
	long r = limit / 10;

	if (r < 1)
		r = limit >= 2 ? 1 : 0;
	return r;
}

const char *budget_method_name(enum budget_method m)
{
	static const char *const names[] = { "GET",   "POST",	"PUT",
					     "PATCH", "DELETE", "OTHER" };

	return m < BUDGET_METHODS ? names[m] : "OTHER";
}

static enum budget_method method_of(const char *method)
{
	int m;

	for (m = 0; method && m < BUDGET_OTHER; m++)
		if (!strcmp(method, budget_method_name(m)))
			return m;
	return BUDGET_OTHER;
}

/* --- the budget --------------------------------------------------------- */

struct budget *budget_create(long limit, long window_s)
{
	struct budget *b;
	pthread_condattr_t attr;

	if (limit < 1 || window_s < 1)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->done = calloc((size_t)limit, sizeof(*b->done));
	if (!b->done) {
		free(b);
		return NULL;
	}
	b->limit = limit;
	b->window_ms = window_s * 1000;
	b->reserve = budget_read_reserve(limit);
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &attr);
	pthread_condattr_destroy(&attr);
	return b;
}

static void start_spell(struct budget *b, long now)
{
	b->spell = true;
	b->spell_start = now;
	b->spell_calls = 0;
	b->spell_longest = 0;
	log_info("request budget: calls wait for a free slot (%ld of %ld "
		 "used in %ld s%s)",
		 b->in_flight + b->count, b->limit, b->window_ms / 1000,
		 b->srv_known && b->srv_avail <= b->srv_reserve
			 ? "; the server's remaining quota is spent"
			 : "");
}

static void end_spell(struct budget *b, long now)
{
	log_info("request budget: waiting over after %.1f s: %lu calls "
		 "waited, the longest %.1f s",
		 (now - b->spell_start) / 1000.0, b->spell_calls,
		 b->spell_longest / 1000.0);
	b->spell = false;
}

void budget_destroy(struct budget *b)
{
	if (!b)
		return;
	if (b->spell)
		end_spell(b, (long)monotime_ms());
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b->done);
	free(b);
}

static void expire(struct budget *b, long now)
{
	int i;

	while (b->count > 0 && now - b->done[b->head] >= b->window_ms) {
		b->head = (b->head + 1) % b->limit;
		b->count--;
	}
	/* a parked slot whose write never came goes back unused */
	for (i = 0; i < b->nparks;) {
		if (b->parks[i].expires_ms > now) {
			i++;
			continue;
		}
		b->parks[i] = b->parks[--b->nparks];
		b->in_flight--;
		if (b->srv_known)
			b->srv_avail++;
		pthread_cond_broadcast(&b->cond);
	}
}

static void wake_at(long *wake, long t)
{
	if (t >= 0 && (*wake < 0 || t < *wake))
		*wake = t;
}

/* Whether our own window has n slots for cls; else when it may. */
static bool local_ok(const struct budget *b, enum budget_class cls, long n,
		     long *wake)
{
	long used = b->in_flight + b->count;
	long cap = cls == BUDGET_READ ? b->limit : b->limit - b->reserve;
	long need = used + n - cap;

	if (need <= 0)
		return true;
	if (need <= b->count)
		wake_at(wake, b->done[(b->head + need - 1) % b->limit] +
				      b->window_ms);
	return false;
}

/* Whether the server's figures let n requests of cls go. */
static bool server_ok(const struct budget *b, enum budget_class cls, long n,
		      long now, long *wake, bool *probe)
{
	long keep = cls == BUDGET_READ ? 0 : b->srv_reserve;

	*probe = false;
	if (!b->srv_known || b->srv_avail - n >= keep)
		return true;
	if (now < b->srv_reset_at) {
		wake_at(wake, b->srv_reset_at);
		return false;
	}
	if (b->probe_out)
		return false; /* its answer will wake us */
	*probe = true;
	return true;
}

static bool write_would_go(const struct budget *b, long now, long *wake)
{
	bool probe;
	bool local = local_ok(b, BUDGET_WRITE, 1, wake);

	return server_ok(b, BUDGET_WRITE, 1, now, wake, &probe) && local;
}

static void maybe_end_spell(struct budget *b, long now)
{
	long wake = -1;

	if (b->spell && !b->waiting[BUDGET_READ] && !b->waiting[BUDGET_WRITE] &&
	    write_would_go(b, now, &wake))
		end_spell(b, now);
}

static int find_park(const struct budget *b)
{
	pthread_t self = pthread_self();
	int i;

	for (i = 0; i < b->nparks; i++)
		if (pthread_equal(b->parks[i].thread, self))
			return i;
	return -1;
}

/* Tries to take n slots now; false with *wake updated if it may not. */
static bool try_take(struct budget *b, enum budget_class cls, long n, long now,
		     long *wake, bool *probe)
{
	bool local = local_ok(b, cls, n, wake);
	bool server = server_ok(b, cls, n, now, wake, probe);

	if (!local || !server)
		return false;
	b->in_flight += n;
	if (b->srv_known)
		b->srv_avail -= n;
	if (*probe)
		b->probe_out = true;
	return true;
}

static void sleep_until(struct budget *b, long wake, long now)
{
	struct timespec ts;
	long until = now + MAX_SLEEP_MS;

	if (wake >= 0 && wake < until)
		until = wake < now + 1 ? now + 1 : wake;
	ts.tv_sec = until / 1000;
	ts.tv_nsec = (until % 1000) * 1000000L;
	pthread_cond_timedwait(&b->cond, &b->lock, &ts);
}

void budget_acquire(struct budget *b, enum budget_class cls, bool pair,
		    struct budget_slot *slot)
{
	unsigned long ticket;
	long start = (long)monotime_ms(), now = start, n = 1;
	bool waited = false, probe = false;
	int park;

	memset(slot, 0, sizeof(*slot));
	slot->cls = cls;
	pthread_mutex_lock(&b->lock);
	park = find_park(b);
	if (park >= 0) {
		b->parks[park] = b->parks[--b->nparks];
		if (cls == BUDGET_WRITE && !pair) {
			/* a save's write: its slot was taken with the check */
			slot->seq = ++b->next_seq;
			slot->from_park = true;
			pthread_mutex_unlock(&b->lock);
			return;
		}
		b->in_flight--;
		if (b->srv_known)
			b->srv_avail++;
		pthread_cond_broadcast(&b->cond);
	}
	if (pair && cls == BUDGET_WRITE && b->limit - b->reserve >= 2 &&
	    b->nparks < PARK_MAX)
		n = 2;
	ticket = b->ticket_next[cls]++;
	for (;;) {
		long wake = -1;

		now = (long)monotime_ms();
		expire(b, now);
		if (ticket == b->ticket_serving[cls] &&
		    (cls == BUDGET_READ ||
		     b->ticket_next[BUDGET_READ] ==
			     b->ticket_serving[BUDGET_READ]) &&
		    try_take(b, cls, n, now, &wake, &probe))
			break;
		if (!waited) {
			waited = true;
			b->waiting[cls]++;
			if (!b->spell)
				start_spell(b, now);
		}
		for (int i = 0; i < b->nparks; i++)
			wake_at(&wake, b->parks[i].expires_ms);
		sleep_until(b, wake, now);
	}
	slot->seq = ++b->next_seq;
	slot->probe = probe;
	if (n == 2) {
		b->parks[b->nparks].thread = pthread_self();
		b->parks[b->nparks].expires_ms = LONG_MAX;
		b->nparks++;
	}
	b->ticket_serving[cls]++;
	if (waited) {
		slot->waited_ms = now - start;
		b->waiting[cls]--;
		b->waited++;
		b->spell_calls++;
		if (slot->waited_ms > b->longest_wait_ms)
			b->longest_wait_ms = slot->waited_ms;
		if (slot->waited_ms > b->spell_longest)
			b->spell_longest = slot->waited_ms;
	}
	maybe_end_spell(b, now);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* What the answer says about the server's remaining quota. */
static void learn(struct budget *b, const struct budget_slot *slot,
		  const struct budget_answer *a,
		  const struct budget_server_view *v, long now)
{
	long reset_s;

	if (!a->status || slot->seq <= b->srv_seq)
		return;
	if (v->has_remaining) {
		reset_s = v->reset_s < BUDGET_MAX_RESET_S ? v->reset_s
							  : BUDGET_MAX_RESET_S;
		/*
		 * A reset beyond the server's own window is not believed, nor,
		 * when it names none, beyond ours: a wrong header must not
		 * hold every call back for an hour.
		 */
		if (v->has_policy && v->window_s > 0 && reset_s > v->window_s)
			reset_s = v->window_s;
		else if (!v->has_policy && reset_s > b->window_ms / 1000)
			reset_s = b->window_ms / 1000;
		b->srv_known = true;
		b->srv_seq = slot->seq;
		/* what else is in flight may not be counted yet: assume not */
		b->srv_avail = v->remaining - b->in_flight;
		b->srv_reset_at = now + reset_s * 1000;
		b->srv_reserve = v->has_policy ? budget_read_reserve(v->quota)
					       : 0;
	} else if (a->status != 429) {
		b->srv_known = false; /* it stopped telling: our window only */
		b->srv_seq = slot->seq;
	}
}

void budget_release(struct budget *b, struct budget_slot *slot,
		    const struct budget_answer *a)
{
	struct budget_server_view v;
	long now;

	budget_parse_headers(a->ratelimit, a->ratelimit_policy, &v);
	pthread_mutex_lock(&b->lock);
	now = (long)monotime_ms();
	expire(b, now);
	b->in_flight--;
	/* in_flight + count <= limit, so the ring has room */
	b->done[(b->head + b->count) % b->limit] = now;
	b->count++;
	if (slot->probe)
		b->probe_out = false;
	b->requests[method_of(a->method)]++;
	if (v.has_remaining || v.has_policy) {
		if (!v.has_policy && b->has_last && b->last.has_policy) {
			v.has_policy = true;
			v.quota = b->last.quota;
			v.window_s = b->last.window_s;
		}
		b->has_last = true;
		b->last = v;
		b->last_at = now;
	}
	learn(b, slot, a, &v, now);
	if (a->status == 429) {
		long wait = a->retry_after_ms > 1000 ? a->retry_after_ms : 1000;

		b->throttled++;
		/*
		 * Past 60 s a call fails with EAGAIN rather than wait
		 * (retry.h): then one request at a time finds out, at once.
		 */
		if (a->retry_after_ms > BUDGET_MAX_429_WAIT_MS)
			wait = 0;
		/* none left until its Retry-After, whatever r said */
		b->srv_known = true;
		b->srv_avail = -b->in_flight;
		b->srv_reset_at = now + wait;
		if (b->srv_seq < slot->seq)
			b->srv_seq = slot->seq;
	}
	/* the parked slot of a save waits for its write from now on */
	if (!slot->from_park) {
		int park = find_park(b);

		if (park >= 0 && b->parks[park].expires_ms == LONG_MAX)
			b->parks[park].expires_ms = now + BUDGET_PARK_MS;
	}
	maybe_end_spell(b, now);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void budget_get_stats(struct budget *b, struct budget_stats *out)
{
	long now, wake = -1;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&b->lock);
	now = (long)monotime_ms();
	expire(b, now);
	memcpy(out->requests, b->requests, sizeof(out->requests));
	out->throttled = b->throttled;
	out->limit = b->limit;
	out->window_s = b->window_ms / 1000;
	out->reserve = b->reserve;
	out->used = b->in_flight + b->count;
	out->in_flight = b->in_flight;
	out->waiting[BUDGET_READ] = b->waiting[BUDGET_READ];
	out->waiting[BUDGET_WRITE] = b->waiting[BUDGET_WRITE];
	if (write_would_go(b, now, &wake))
		out->next_free_ms = 0;
	else
		out->next_free_ms = wake >= 0 ? wake - now : -1;
	out->waited = b->waited;
	out->longest_wait_ms = b->longest_wait_ms;
	out->has_server = b->has_last;
	out->server = b->last;
	out->server_age_ms = b->has_last ? now - b->last_at : 0;
	pthread_mutex_unlock(&b->lock);
}
