/*
 * fetch: freshness and the single-flight fetch of an account's listing
 * and prebuilt policies (cache_lock_listing, cache_lock_policies in
 * cache.h), the mount's seed listing, and SIGUSR1's drop.
 *
 * Freshness: data is fresh while it is younger than cache_ttl, no write
 * expired it and no SIGUSR1 came since it was fetched.  A caller that
 * finds it stale either fetches it for everyone (marking it as fetching,
 * then dropping the account lock for the request) or, when a fetch is
 * under way, waits for that one and takes its result, success or failure
 * alike.  So N readers of an expired listing cost one request, and a
 * failed refresh fails every caller that needed it: expired data is
 * never passed off as fresh.  A denial (403) is remembered for the TTL
 * like a listing, so that a forbidden account does not cost a request
 * for every stat.
 *
 * Locking: each step below is entered and left with the account locked
 * (one contract each); only lock_fresh, behind the public functions,
 * returns locked on success and unlocked on failure.  The lock is never
 * held across the request (lockorder.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "log.h"

static atomic_uint drop_generation;

void cache_drop_all(void)
{
	atomic_fetch_add(&drop_generation, 1);
}

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 +
	       (now.tv_nsec - since->tv_nsec) / 1000000;
}

static bool unchanged_for(const struct freshness *f, long ms)
{
	return f->have && elapsed_ms(&f->changed) >= ms;
}

bool account_unchanged_for(struct account *a, bool policies, long ms)
{
	account_assert_locked(a);
	return unchanged_for(policies ? &a->policies : &a->listing, ms);
}

static bool is_fresh(const struct cache *c, const struct freshness *f)
{
	if (f->expired || f->drop_generation != atomic_load(&drop_generation))
		return false;
	if (!f->have && f->result != -EACCES)
		return false;
	return elapsed_ms(&f->at) < c->ttl_ms;
}

long account_trust_left_ms(const struct cache *c, struct account *a,
			   bool policies)
{
	const struct freshness *f = policies ? &a->policies : &a->listing;

	account_assert_locked(a);
	if (!f->have || !is_fresh(c, f))
		return 0;
	return c->ttl_ms - elapsed_ms(&f->at);
}

/* FETCH_SEED: the listing from the mount's seed only, never the API. */
enum fetch_kind { FETCH_LISTING, FETCH_SEED, FETCH_POLICIES };

/*
 * Unlocked: asks the API, or parses the seed (the mount's first answer)
 * when there is one.  On success the result waits in list or policies.
 */
static int fetch(struct cache *c, struct account *a, enum fetch_kind kind,
		 struct api_listing *seed, struct sync_list *list,
		 struct policy_list *policies, struct api_error *err)
{
	if (seed->body)
		return api_parse_sync_list(seed, list, err);
	if (kind == FETCH_POLICIES)
		return api_list_prebuilt(c->api, a->id, policies, err);
	return api_list_syncs(c->api, a->id, list, err);
}

/*
 * Locked in and out.  Whether f can be used as it is: 0 when fresh, 1
 * when this caller must fetch it (nobody is), else the -errno every
 * caller gets: a remembered denial, or the failure of the fetch that was
 * under way, which this caller waited for and shares.
 */
static int await_fresh(const struct cache *c, struct account *a,
		       const struct freshness *f)
{
	unsigned long seq = f->seq;
	int ret = 1;

	if (is_fresh(c, f)) {
		ret = f->have ? 0 : f->result; /* a remembered denial */
	} else if (f->fetching) {
		while (f->fetching && f->seq == seq)
			account_wait_fetched(a);
		ret = f->result == 0 && f->have ? 0
		      : f->result		? f->result
						: -EIO;
	}
	return ret;
}

/*
 * Locked in and out: the seed to parse in place of a request (taken from
 * the account; empty when there is none), and in *gen the drop
 * generation the data will belong to.  A seed from before a drop
 * (SIGUSR1) is thrown away, except by the seeder, whose parse the drop
 * then expires (FETCH_SEED).
 */
static struct api_listing take_seed(struct account *a, enum fetch_kind kind,
				    unsigned int *gen)
{
	struct api_listing seed = { 0 };

	*gen = atomic_load(&drop_generation);
	if (kind != FETCH_POLICIES && a->seed.body) {
		if (a->seed_generation == *gen || kind == FETCH_SEED) {
			seed = a->seed;
			*gen = a->seed_generation; /* the data's */
		} else {
			free(a->seed.body);
		}
		a->seed.body = NULL;
	}
	return seed;
}

/* What one fetch brought, between the request and its installing. */
struct fetched {
	struct sync_list list;
	struct policy_list policies;
	struct api_error err;
	unsigned int gen; /* drop generation of the data */
	bool raced; /* a write landed meanwhile: install it as expired */
};

/*
 * Locked in and out; the lock is dropped for each request.  A write that
 * lands while the listing is on its way may be older in the listing
 * than in the write's answer: then it asks again rather than show older
 * data over the write (a few times at most, then the listing is taken
 * as expired so that the next use asks again).
 */
static int fetch_settled(struct cache *c, struct account *a,
			 enum fetch_kind kind, struct fetched *out)
{
	int tries, ret;

	for (tries = 0;; tries++) {
		unsigned long mutations = a->mutations;
		struct api_listing seed = take_seed(a, kind, &out->gen);

		account_unlock(a);
		ret = fetch(c, a, kind, &seed, &out->list, &out->policies,
			    &out->err);
		account_lock(a);
		out->raced = kind != FETCH_POLICIES &&
			     a->mutations != mutations;
		if (ret || !out->raced || tries == 2 || kind == FETCH_SEED)
			break;
		sync_list_finish(&out->list);
	}
	return ret;
}

/*
 * Locked: takes what the fetch brought (ret its result) into the
 * account, or records why it failed, and wakes those who waited for it.
 * Returns ret as the callers see it.
 */
static int finish_fetch(struct cache *c, struct account *a,
			enum fetch_kind kind, struct freshness *f,
			struct fetched *got, int ret)
{
	char line[1024];

	if (!ret)
		ret = kind != FETCH_POLICIES
			      ? account_install_listing(c, a, &got->list)
			      : account_install_policies(c, a, &got->policies);
	clock_gettime(CLOCK_MONOTONIC, &f->at);
	f->drop_generation = got->gen;
	f->expired = got->raced;
	/* only a denial is remembered (see is_fresh) */
	f->have = !ret;
	if (!ret && kind != FETCH_POLICIES)
		account_clear_listing_error(a); /* the listing works again */
	/*
	 * A folder that cannot be listed must fail its read: a 404 here (an
	 * account id the API does not know) taken as ENOENT would read as an
	 * empty folder to readdir(3), and a backup with rsync --delete would
	 * wipe itself.
	 */
	if (ret == -ENOENT)
		ret = -EIO;
	if (ret && got->err.failure != API_FAIL_NONE) {
		account_set_error(a, &got->err, true);
		log_error("cannot list '%s': %s", a->id,
			  api_error_format(&got->err, line, sizeof(line)));
	}
	f->fetching = false;
	f->seq++;
	pthread_cond_broadcast(&a->fetched);
	return ret;
}

/*
 * Locked in and out: this caller fetches f for everyone.  The seeder
 * (FETCH_SEED) parses a seed still good and asks the API nothing.
 */
static int fetch_for_all(struct cache *c, struct account *a,
			 enum fetch_kind kind, struct freshness *f)
{
	struct fetched got = { 0 };
	int ret;

	if (kind == FETCH_SEED &&
	    (!a->seed.body ||
	     a->seed_generation != atomic_load(&drop_generation))) {
		ret = -EAGAIN;
		goto out;
	}
	f->fetching = true;
	if (kind != FETCH_POLICIES) {
		/*
		 * Nobody may use an expired listing, so it goes now rather
		 * than after the new one is parsed: at 10,000 syncs that
		 * keeps one listing in memory instead of two.  Only what the
		 * change feed compares stays (changes.h).
		 */
		account_drop_listing(c, a);
	}
	ret = fetch_settled(c, a, kind, &got);
	ret = finish_fetch(c, a, kind, f, &got, ret);
	sync_list_finish(&got.list);
	policy_list_finish(&got.policies);

out:
	return ret;
}

/* Fresh data of that kind with the account locked, or -errno unlocked. */
static int lock_fresh(struct cache *c, struct account *a, enum fetch_kind kind)
{
	struct freshness *f = kind == FETCH_POLICIES ? &a->policies
						     : &a->listing;
	int ret;

	account_lock(a);
	ret = await_fresh(c, a, f);
	if (ret == 1)
		ret = fetch_for_all(c, a, kind, f);
	if (ret)
		account_unlock(a);
	return ret;
}

int cache_lock_listing(struct cache *c, struct account *a)
{
	return lock_fresh(c, a, FETCH_LISTING);
}

int cache_lock_policies(struct cache *c, struct account *a)
{
	return lock_fresh(c, a, FETCH_POLICIES);
}

void cache_seed_listing(struct account *a, struct api_listing *raw)
{
	account_lock(a);
	free(a->seed.body);
	a->seed = *raw;
	a->seed_generation = atomic_load(&drop_generation);
	raw->body = NULL;
	account_unlock(a);
}

static void *parse_seeds(void *arg)
{
	struct cache *c = arg;
	size_t i;

	/* a failure is logged and shown in last_error, as after any fetch;
	 * the next reader asks the API again */
	for (i = 0; i < c->naccounts; i++)
		if (!lock_fresh(c, c->accounts[i], FETCH_SEED))
			account_unlock(c->accounts[i]);
	return NULL;
}

void cache_parse_seeds(struct cache *c)
{
	if (!c->seeder_running)
		c->seeder_running = !pthread_create(&c->seeder, NULL,
						    parse_seeds, c);
}
