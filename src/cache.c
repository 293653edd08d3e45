/*
 * cache: the account model (see cache.h): each account's listing with
 * its folder names (namecodec.h), its prebuilt policies, the account's
 * last_error, and the lock that guards them.  Freshness and fetching
 * live in fetch.c, per-sync state in syncstate.c, serials in inode.c.
 *
 * Writes replace one sync object in the listing with the API's answer
 * (account_apply_sync); a rename rebuilds the folder names, since it can
 * create or end a name collision between two syncs.  Every change to
 * what a sync shows is told to the change feed (changes.h).
 *
 * Locking: every function on an account but account_lock checks that
 * its caller holds the lock (account_assert_locked); see lockorder.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "cache.h"
#include "hash.h"
#include "lockorder.h"
#include "log.h"
#include "namecodec.h"

static void mark_changed(struct freshness *f)
{
	clock_gettime(CLOCK_MONOTONIC, &f->changed);
}

static struct account *account_create(struct cache *c, const char *id)
{
	struct account *a = calloc(1, sizeof(*a));
	char key[64];

	if (!a)
		return NULL;
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(key, sizeof(key), "a:%s", id);
	a->serial = inode_serial(&c->inodes, key);
	a->feed = &c->feed;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->fetched, NULL);
	strmap_init(&a->by_folder);
	strmap_init(&a->by_id);
	strmap_init(&a->prebuilt_by_folder);
	strmap_init(&a->prebuilt_seen);
	strmap_init(&a->states);
	return a;
}

static void entries_free(struct cache_entry *entries, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		sync_destroy(entries[i].sync);
		free(entries[i].folder);
	}
	free(entries);
}

static void prebuilt_free(struct prebuilt_entry *p, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		policy_finish(&p[i].policy);
		free(p[i].folder);
	}
	free(p);
}

static void account_destroy(struct account *a)
{
	if (!a)
		return;
	entries_free(a->entries, a->count);
	strmap_finish(&a->by_folder);
	strmap_finish(&a->by_id);
	prebuilt_free(a->prebuilt, a->nprebuilt);
	strmap_finish(&a->prebuilt_by_folder);
	strmap_finish_values(&a->prebuilt_seen, free);
	syncstate_destroy_all(a);
	changes_mark_finish(&a->mark);
	free(a->last_error);
	free(a->seed.body);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->fetched);
	free(a);
}

struct cache *cache_create(struct api *api, const struct id_list *accounts,
			   long ttl_ms)
{
	struct cache *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	c->api = api;
	c->ttl_ms = ttl_ms;
	clock_gettime(CLOCK_REALTIME, &c->started);
	inode_table_init(&c->inodes);
	c->accounts = calloc(accounts->count ? accounts->count : 1,
			     sizeof(*c->accounts));
	if (!c->accounts)
		goto fail;
	for (i = 0; i < accounts->count; i++) {
		if (cache_account(c, accounts->items[i]))
			continue; /* named twice */
		c->accounts[c->naccounts] = account_create(c,
							   accounts->items[i]);
		if (!c->accounts[c->naccounts])
			goto fail;
		c->naccounts++;
	}
	return c;

fail:
	cache_destroy(c);
	return NULL;
}

void cache_destroy(struct cache *c)
{
	size_t i;

	if (!c)
		return;
	if (c->seeder_running)
		pthread_join(c->seeder, NULL);
	for (i = 0; i < c->naccounts; i++)
		account_destroy(c->accounts[i]);
	free(c->accounts);
	inode_table_finish(&c->inodes);
	free(c);
}

void cache_listen(struct cache *c,
		  void (*fn)(void *arg, const struct change *ch), void *arg)
{
	c->feed.fn = fn;
	c->feed.arg = arg;
}

struct account *cache_account(struct cache *c, const char *id)
{
	size_t i;

	for (i = 0; i < c->naccounts; i++)
		if (!strcmp(c->accounts[i]->id, id))
			return c->accounts[i];
	return NULL;
}

/* The lock's owner, for account_assert_locked (debug builds). */
static void owned(struct account *a, bool yes)
{
#ifndef NDEBUG
	a->owner = pthread_self();
	a->owned = yes;
#endif
}

void account_lock(struct account *a)
{
	lockorder_acquire(LOCK_ACCOUNT);
	pthread_mutex_lock(&a->lock);
	owned(a, true);
}

void account_unlock(struct account *a)
{
	account_assert_locked(a);
	owned(a, false);
	pthread_mutex_unlock(&a->lock);
	lockorder_release(LOCK_ACCOUNT);
}

void account_assert_locked(struct account *a)
{
#ifndef NDEBUG
	if (!a->owned || !pthread_equal(a->owner, pthread_self())) {
		fprintf(stderr,
			"catsyncfs: account '%s' used without its lock\n",
			a->id);
		abort();
	}
#endif
}

void account_wait_fetched(struct account *a)
{
	owned(a, false);
	pthread_cond_wait(&a->fetched, &a->lock);
	owned(a, true);
}

/* Folder names for every entry: see namecodec.h for the rule. */
static int name_entries(struct cache *c, struct account *a)
{
	struct strmap uses;
	char **escaped;
	size_t i;
	int ret = -ENOMEM;

	strmap_init(&uses);
	escaped = calloc(a->count ? a->count : 1, sizeof(*escaped));
	if (!escaped)
		return -ENOMEM;
	for (i = 0; i < a->count; i++) {
		uintptr_t n;

		escaped[i] = namecodec_escape(a->entries[i].sync->name);
		if (!escaped[i])
			goto out_free;
		n = (uintptr_t)strmap_get(&uses, escaped[i]);
		if (strmap_put(&uses, escaped[i], (void *)(n + 1)))
			goto out_free;
	}
	strmap_finish(&a->by_folder);
	strmap_finish(&a->by_id);
	for (i = 0; i < a->count; i++) {
		struct cache_entry *e = &a->entries[i];
		bool shared = (uintptr_t)strmap_get(&uses, escaped[i]) > 1;
		char key[48], *old = e->folder;

		if (namecodec_plain_ok(escaped[i]) && !shared) {
			e->folder = escaped[i];
			escaped[i] = NULL;
		} else {
			e->folder = namecodec_with_id(escaped[i], e->sync->id);
		}
		if (old && e->folder && strcmp(old, e->folder))
			changes_send(&c->feed, CHANGE_RENAMED, a->id,
				     e->sync->id, e->folder, old);
		free(old);
		if (!e->folder)
			goto out_free;
		snprintf(key, sizeof(key), "s:%s", e->sync->id);
		e->serial = inode_serial(&c->inodes, key);
		if (strmap_put(&a->by_folder, e->folder, (void *)(i + 1)) ||
		    strmap_put(&a->by_id, e->sync->id, (void *)(i + 1)))
			goto out_free;
	}
	ret = 0;

out_free:
	for (i = 0; i < a->count; i++)
		free(escaped[i]);
	free(escaped);
	strmap_finish(&uses);
	return ret;
}

/* A sync's last_user_update_at in ns, or 0 when it has none. */
static long long update_ns(const struct sync *s)
{
	struct timespec t;

	if (sync_parse_time(s->last_user_update_at, &t))
		return 0;
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void find_newest(struct account *a)
{
	long long newest = 0;
	size_t i;

	for (i = 0; i < a->count; i++) {
		long long ns = update_ns(a->entries[i].sync);

		if (ns > newest)
			newest = ns;
	}
	atomic_store(&a->newest_ns, newest);
}

int account_install_listing(struct cache *c, struct account *a,
			    struct sync_list *list)
{
	struct cache_entry *entries;
	size_t i;
	int ret;

	entries = calloc(list->count ? list->count : 1, sizeof(*entries));
	if (!entries)
		return -ENOMEM;
	for (i = 0; i < list->count; i++)
		entries[i].sync = list->items[i];
	free(list->items);
	list->items = NULL;
	list->count = 0;
	entries_free(a->entries, a->count);
	a->entries = entries;
	a->count = i;
	find_newest(a);
	ret = name_entries(c, a);
	/*
	 * The first listing replaces nothing the kernel could hold, and one
	 * that shows the same as the last changes nothing: neither holds
	 * readers off the page cache (kcache.h).
	 */
	if (!ret &&
	    changes_mark_diff(&a->mark, &c->feed, a->id, a->entries,
			      a->count) &&
	    a->listing.installed)
		mark_changed(&a->listing);
	a->listing.installed = true;
	return ret;
}

/* A short digest of a policy's content, for its first-seen time. */
static void policy_digest(const struct policy *p, char *out, size_t len)
{
	const char *parts[] = { p->name, p->description, p->policy,
				p->applicable_destinations };
	uint64_t h = HASH_INIT;
	size_t i;

	for (i = 0; i < 4; i++) {
		h = hash_bytes(h, parts[i], strlen(parts[i]));
		h = hash_bytes(h, "\xff", 1); /* field separator */
	}
	snprintf(out, len, "%016" PRIx64, h);
}

int account_install_policies(struct cache *c, struct account *a,
			     struct policy_list *list)
{
	struct prebuilt_entry *p;
	struct timespec now;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &now);
	p = calloc(list->count ? list->count : 1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < list->count; i++) {
		p[i].policy = list->items[i];
		memset(&list->items[i], 0, sizeof(list->items[i]));
	}
	prebuilt_free(a->prebuilt, a->nprebuilt);
	strmap_finish(&a->prebuilt_by_folder);
	if (a->policies.installed)
		mark_changed(&a->policies);
	a->policies.installed = true;
	a->prebuilt = p;
	a->nprebuilt = list->count;
	policy_list_finish(list);

	for (i = 0; i < a->nprebuilt; i++) {
		char *esc = namecodec_escape(p[i].policy.name);
		char digest[24], key[300], index[24];
		struct timespec *seen;

		if (!esc)
			return -ENOMEM;
		if (namecodec_plain_ok(esc) &&
		    !strmap_get(&a->prebuilt_by_folder, esc)) {
			p[i].folder = esc;
		} else {
			snprintf(index, sizeof(index), "%zu", i + 1);
			p[i].folder = namecodec_with_id(esc, index);
			free(esc);
			if (!p[i].folder)
				return -ENOMEM;
		}
		if (strmap_put(&a->prebuilt_by_folder, p[i].folder,
			       (void *)(i + 1)))
			return -ENOMEM;
		snprintf(key, sizeof(key), "p:%s/%s", a->id, p[i].folder);
		p[i].serial = inode_serial(&c->inodes, key);
		policy_digest(&p[i].policy, digest, sizeof(digest));
		seen = strmap_get(&a->prebuilt_seen, digest);
		if (!seen) {
			seen = malloc(sizeof(*seen));
			if (!seen)
				return -ENOMEM;
			*seen = now;
			if (strmap_put(&a->prebuilt_seen, digest, seen)) {
				free(seen);
				return -ENOMEM;
			}
		}
		p[i].seen = *seen;
	}
	return 0;
}

void account_drop_listing(struct cache *c, struct account *a)
{
	account_assert_locked(a);
	if (changes_mark_take(&a->mark, &c->feed, a->entries, a->count))
		log_error("out of memory: changes to '%s' go untold", a->id);
	entries_free(a->entries, a->count);
	a->entries = NULL;
	a->count = 0;
	strmap_finish(&a->by_folder);
	strmap_finish(&a->by_id);
}

void account_clear_listing_error(struct account *a)
{
	account_assert_locked(a);
	if (!a->error_from_listing)
		return;
	free(a->last_error);
	a->last_error = NULL;
	a->error_from_listing = false;
}

void account_set_error(struct account *a, const struct api_error *e,
		       bool from_listing)
{
	char line[1024];

	account_assert_locked(a);
	free(a->last_error);
	api_error_format(e, line, sizeof(line));
	if (asprintf(&a->last_error, "%s\n", line) < 0)
		a->last_error = NULL;
	a->error_from_listing = from_listing;
	clock_gettime(CLOCK_REALTIME, &a->error_time);
}

static struct cache_entry *entry_at(struct account *a, void *v)
{
	uintptr_t i = (uintptr_t)v;

	return i && i <= a->count ? &a->entries[i - 1] : NULL;
}

struct cache_entry *account_by_folder(struct account *a, const char *folder)
{
	account_assert_locked(a);
	return entry_at(a, strmap_get(&a->by_folder, folder));
}

struct cache_entry *account_by_id(struct account *a, const char *id)
{
	account_assert_locked(a);
	return entry_at(a, strmap_get(&a->by_id, id));
}

struct prebuilt_entry *account_prebuilt(struct account *a, const char *folder)
{
	uintptr_t i;

	account_assert_locked(a);
	i = (uintptr_t)strmap_get(&a->prebuilt_by_folder, folder);
	return i && i <= a->nprebuilt ? &a->prebuilt[i - 1] : NULL;
}

char *entry_render_json(struct cache_entry *e, bool json_status)
{
	char *text = json_status ? api_json_render_status(e->sync)
				 : api_json_render_config(e->sync);

	if (text)
		*(json_status ? &e->status_len : &e->config_len) = strlen(text);
	return text;
}

size_t entry_json_size(struct cache_entry *e, bool json_status)
{
	size_t len = json_status ? e->status_len : e->config_len;

	if (!len)
		free(entry_render_json(e, json_status));
	return json_status ? e->status_len : e->config_len;
}

size_t account_sync_count(struct account *a)
{
	account_assert_locked(a);
	return a->count;
}

struct cache_entry *account_sync_at(struct account *a, size_t i)
{
	account_assert_locked(a);
	return &a->entries[i];
}

size_t account_policy_count(struct account *a)
{
	account_assert_locked(a);
	return a->nprebuilt;
}

struct prebuilt_entry *account_policy_at(struct account *a, size_t i)
{
	account_assert_locked(a);
	return &a->prebuilt[i];
}

long long account_newest_ns(struct account *a)
{
	return atomic_load(&a->newest_ns);
}

const char *account_last_error(struct account *a, struct timespec *when)
{
	account_assert_locked(a);
	if (a->last_error)
		*when = a->error_time;
	return a->last_error;
}

void account_mark_changed(struct account *a, const char *sync_id)
{
	struct cache_entry *e;

	account_assert_locked(a);
	mark_changed(&a->listing);
	e = account_by_id(a, sync_id);
	if (e)
		changes_send(a->feed, CHANGE_CHANGED, a->id, sync_id, e->folder,
			     e->folder);
}

/*
 * e's sync is replaced by s.  A save that keeps the name keeps every
 * folder name, and moves the newest time only forward (or back, when e
 * held it): O(1) then, where renaming every folder cost ~30 ms a save at
 * 10,000 syncs.
 */
static int replace_sync(struct cache *c, struct account *a,
			struct cache_entry *e, struct sync *s)
{
	long long old_ns = update_ns(e->sync), new_ns = update_ns(s);
	bool renamed = strcmp(e->sync->name, s->name) != 0;

	sync_destroy(e->sync);
	e->sync = s;
	e->status_len = 0;
	e->config_len = 0;
	/* a rename is told next, by name_entries, if the folder moves */
	changes_send(&c->feed, CHANGE_CHANGED, a->id, s->id, e->folder,
		     e->folder);
	if (new_ns < old_ns && old_ns >= atomic_load(&a->newest_ns))
		find_newest(a);
	else if (new_ns > atomic_load(&a->newest_ns))
		atomic_store(&a->newest_ns, new_ns);
	return renamed ? name_entries(c, a) : 0;
}

int account_apply_sync(struct cache *c, struct account *a, struct sync *s)
{
	struct cache_entry *e = account_by_id(a, s->id), *grown;
	int ret;

	a->mutations++;
	mark_changed(&a->listing);
	if (e)
		return replace_sync(c, a, e, s);
	grown = realloc(a->entries, (a->count + 1) * sizeof(*grown));
	if (!grown) {
		sync_destroy(s);
		return -ENOMEM;
	}
	a->entries = grown;
	memset(&a->entries[a->count], 0, sizeof(*grown));
	a->entries[a->count++].sync = s;
	find_newest(a);
	ret = name_entries(c, a);
	e = &a->entries[a->count - 1];
	if (!ret)
		changes_send(&c->feed, CHANGE_ADDED, a->id, e->sync->id,
			     e->folder, NULL);
	return ret;
}

void account_expire_listing(struct account *a)
{
	account_assert_locked(a);
	a->mutations++;
	a->listing.expired = true;
}

void account_remove_sync(struct cache *c, struct account *a, const char *id)
{
	struct cache_entry *e = account_by_id(a, id);
	size_t i;

	a->mutations++; /* even when absent: a fetch may be bringing it */
	if (!e)
		return;
	mark_changed(&a->listing);
	i = (size_t)(e - a->entries);
	inode_forget(&c->inodes, "s:", id);
	changes_send(&c->feed, CHANGE_REMOVED, a->id, id, NULL, e->folder);
	sync_destroy(e->sync);
	free(e->folder);
	memmove(&a->entries[i], &a->entries[i + 1],
		(a->count - i - 1) * sizeof(*e));
	a->count--;
	syncstate_forget(a, id);
	/* a name shared with the removed sync may now stand plain */
	if (name_entries(c, a))
		log_error("out of memory naming the syncs of '%s'", a->id);
	find_newest(a);
}
