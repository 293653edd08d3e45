/*
 * knodes: the nodes the kernel holds (see knodes.h).  A hash table of
 * nodes chained by id; it grows when it holds twice as many nodes as
 * buckets, and is small next to the cache (10,000 syncs: ~70,000 nodes
 * once a walk has seen every file).
 */
#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "knodes.h"

struct knode {
	uint64_t id;
	uint64_t parent; /* 0: no name (unlinked or replaced) */
	char *name;
	uint64_t lookups;
	bool pages; /* see knodes_pages */
	struct knode *next; /* in its bucket */
};

static struct {
	pthread_mutex_t lock;
	struct knode **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
} table = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t bucket_of(uint64_t id, size_t nbuckets)
{
	/* ids are serial * 32 + index: mix the low bits in */
	id ^= id >> 29;
	id *= 0xbf58476d1ce4e5b9ULL;
	id ^= id >> 32;
	return (size_t)id & (nbuckets - 1);
}

static struct knode *find(uint64_t id)
{
	struct knode *k = table.buckets[bucket_of(id, table.nbuckets)];

	while (k && k->id != id)
		k = k->next;
	return k;
}

static void grow(void)
{
	size_t n = table.nbuckets * 2, i;
	struct knode **b = calloc(n, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (i = 0; i < table.nbuckets; i++) {
		struct knode *k = table.buckets[i], *next;

		for (; k; k = next) {
			size_t j = bucket_of(k->id, n);

			next = k->next;
			k->next = b[j];
			b[j] = k;
		}
	}
	free(table.buckets);
	table.buckets = b;
	table.nbuckets = n;
}

static struct knode *insert(uint64_t id)
{
	struct knode *k = calloc(1, sizeof(*k));
	size_t i;

	if (!k)
		return NULL;
	if (table.count >= 2 * table.nbuckets)
		grow();
	i = bucket_of(id, table.nbuckets);
	k->id = id;
	k->next = table.buckets[i];
	table.buckets[i] = k;
	table.count++;
	return k;
}

static void unlink_node(struct knode *gone)
{
	struct knode **p = &table.buckets[bucket_of(gone->id, table.nbuckets)];

	while (*p != gone)
		p = &(*p)->next;
	*p = gone->next;
	table.count--;
	free(gone->name);
	free(gone);
}

/* Sets k's place; false (place unchanged) on ENOMEM. */
static bool place(struct knode *k, uint64_t parent, const char *name)
{
	char *copy;

	if (k->name && k->parent == parent && !strcmp(k->name, name))
		return true;
	copy = strdup(name);
	if (!copy)
		return false;
	free(k->name);
	k->name = copy;
	k->parent = parent;
	return true;
}

bool knodes_init(void)
{
	struct knode *root;

	table.nbuckets = 1024;
	table.buckets = calloc(table.nbuckets, sizeof(*table.buckets));
	if (!table.buckets)
		return false;
	root = insert(FUSE_ROOT_ID);
	if (!root)
		return false;
	root->lookups = 1; /* never forgotten */
	return true;
}

void knodes_finish(void)
{
	size_t i;

	for (i = 0; i < table.nbuckets; i++) {
		struct knode *k = table.buckets[i], *next;

		for (; k; k = next) {
			next = k->next;
			free(k->name);
			free(k);
		}
	}
	free(table.buckets);
	table.buckets = NULL;
	table.nbuckets = 0;
	table.count = 0;
}

int knodes_remember(uint64_t id, uint64_t parent, const char *name)
{
	struct knode *k;
	int ret = 0;

	if (id == FUSE_ROOT_ID)
		return 0; /* never forgotten, never moved */
	pthread_mutex_lock(&table.lock);
	k = find(id);
	if (!k && !(k = insert(id))) {
		ret = -ENOMEM;
	} else if (!place(k, parent, name)) {
		ret = -ENOMEM;
		if (!k->lookups)
			unlink_node(k);
	} else {
		k->lookups++;
	}
	pthread_mutex_unlock(&table.lock);
	return ret;
}

void knodes_forget(uint64_t id, uint64_t count)
{
	struct knode *k;

	if (id == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&table.lock);
	k = find(id);
	if (k) {
		k->lookups = k->lookups > count ? k->lookups - count : 0;
		if (!k->lookups)
			unlink_node(k);
	}
	pthread_mutex_unlock(&table.lock);
}

/*
 * Writes the path of k in front of end (out is the buffer's start): its
 * start, or NULL with *err -ENOENT (a node on the way has no name) or
 * -ENAMETOOLONG.
 */
static char *path_of(const struct knode *k, char *out, char *end, int *err)
{
	while (k->id != FUSE_ROOT_ID) {
		size_t len = strlen(k->name);

		if ((size_t)(end - out) < len + 1) {
			*err = -ENAMETOOLONG;
			return NULL;
		}
		end -= len;
		memcpy(end, k->name, len);
		*--end = '/';
		k = k->parent ? find(k->parent) : NULL;
		if (!k || (k->id != FUSE_ROOT_ID && !k->parent)) {
			*err = -ENOENT;
			return NULL;
		}
	}
	return end;
}

int knodes_path(uint64_t id, const char *name, char *out)
{
	char buf[KNODES_PATH_MAX];
	char *end = buf + sizeof(buf) - 1, *start = NULL;
	const struct knode *k;
	size_t name_len = name ? strlen(name) : 0;
	int ret = -ENOENT;

	*end = '\0';
	if (name) {
		if (name_len + 1 >= sizeof(buf))
			return -ENAMETOOLONG;
		end -= name_len;
		memcpy(end, name, name_len);
		*--end = '/';
	}
	pthread_mutex_lock(&table.lock);
	k = find(id);
	if (k && (id == FUSE_ROOT_ID || k->parent))
		start = path_of(k, buf, end, &ret);
	pthread_mutex_unlock(&table.lock);
	if (!start)
		return ret;
	if (!*start)
		start = "/"; /* the root itself */
	memcpy(out, start, strlen(start) + 1);
	return 0;
}

void knodes_move(uint64_t id, uint64_t parent, const char *name)
{
	struct knode *k;

	pthread_mutex_lock(&table.lock);
	k = find(id);
	if (k && !place(k, parent, name))
		k->parent = 0; /* no memory for the new name: no name */
	pthread_mutex_unlock(&table.lock);
}

void knodes_unname(uint64_t id)
{
	struct knode *k;

	if (id == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&table.lock);
	k = find(id);
	if (k)
		k->parent = 0;
	pthread_mutex_unlock(&table.lock);
}

bool knodes_known(uint64_t id)
{
	bool known;

	pthread_mutex_lock(&table.lock);
	known = find(id) != NULL;
	pthread_mutex_unlock(&table.lock);
	return known;
}

bool knodes_pages(uint64_t id)
{
	const struct knode *k;
	bool held;

	pthread_mutex_lock(&table.lock);
	k = find(id);
	held = k && k->pages;
	pthread_mutex_unlock(&table.lock);
	return held;
}

void knodes_set_pages(uint64_t id, bool held)
{
	struct knode *k;

	pthread_mutex_lock(&table.lock);
	k = find(id);
	if (k)
		k->pages = held;
	pthread_mutex_unlock(&table.lock);
}

uint64_t *knodes_all(size_t *count)
{
	uint64_t *ids;
	size_t i, n = 0;

	pthread_mutex_lock(&table.lock);
	ids = malloc((table.count ? table.count : 1) * sizeof(*ids));
	for (i = 0; ids && i < table.nbuckets; i++) {
		const struct knode *k;

		for (k = table.buckets[i]; k; k = k->next)
			ids[n++] = k->id;
	}
	pthread_mutex_unlock(&table.lock);
	*count = n;
	return ids;
}
