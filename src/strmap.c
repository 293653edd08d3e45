/*
 * strmap: open-addressing string map (see strmap.h).  Deleted slots keep
 * a tombstone key so probe chains stay intact; the table is rebuilt when
 * live entries plus tombstones pass 70% of it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "strmap.h"

static char tombstone_key[] = "";
#define TOMBSTONE tombstone_key

void strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void strmap_finish(struct strmap *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
			free(m->slots[i].key);
	free(m->slots);
	strmap_init(m);
}

static struct strmap_slot *find(const struct strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = hash_string(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct strmap_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != TOMBSTONE && !strcmp(s->key, key))
			return s;
	}
}

void *strmap_get(const struct strmap *m, const char *key)
{
	struct strmap_slot *s = find(m, key);

	return s ? s->value : NULL;
}

static void place(struct strmap_slot *slots, size_t cap, char *key, void *value)
{
	size_t i = hash_string(key) & (cap - 1);

	while (slots[i].key)
		i = (i + 1) & (cap - 1);
	slots[i].key = key;
	slots[i].value = value;
}

static int grow(struct strmap *m)
{
	size_t cap = m->cap ? m->cap : 16;
	struct strmap_slot *slots;
	size_t i;

	while ((m->count + 1) * 10 >= cap * 7)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
			place(slots, cap, m->slots[i].key, m->slots[i].value);
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	m->tombstones = 0;
	return 0;
}

int strmap_put(struct strmap *m, const char *key, void *value)
{
	struct strmap_slot *s = find(m, key);
	char *copy;

	if (s) {
		s->value = value;
		return 0;
	}
	if ((m->count + m->tombstones + 1) * 10 >= m->cap * 7 && grow(m))
		return -ENOMEM;
	copy = strdup(key);
	if (!copy)
		return -ENOMEM;
	place(m->slots, m->cap, copy, value);
	m->count++;
	return 0;
}

void *strmap_remove(struct strmap *m, const char *key)
{
	struct strmap_slot *s = find(m, key);
	void *value;

	if (!s)
		return NULL;
	value = s->value;
	free(s->key);
	s->key = TOMBSTONE;
	s->value = NULL;
	m->count--;
	m->tombstones++;
	return value;
}

int strmap_next(const struct strmap *m, size_t *pos, const char **key,
		void **value)
{
	while (*pos < m->cap) {
		struct strmap_slot *s = &m->slots[(*pos)++];

		if (s->key && s->key != TOMBSTONE) {
			*key = s->key;
			*value = s->value;
			return 1;
		}
	}
	return 0;
}

void strmap_finish_values(struct strmap *m, void (*destroy)(void *))
{
	const char *k;
	void *v;
	size_t pos = 0;

	while (strmap_next(m, &pos, &k, &v))
		destroy(v);
	strmap_finish(m);
}
