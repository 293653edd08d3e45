/*
 * changes: the change feed and the comparison of two listings (see
 * changes.h).  A mark keeps, per sync, its folder and a digest of every
 * string of the sync object: cheap next to the listing itself, and kept
 * only while a listener wants it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "changes.h"
#include "hash.h"

struct marked {
	char *folder;
	uint64_t digest;
};

void changes_send(const struct change_feed *f, enum change_kind kind,
		  const char *account, const char *sync_id, const char *folder,
		  const char *old_folder)
{
	struct change ch = { kind, account, sync_id, folder, old_folder };

	if (f->fn)
		f->fn(f->arg, &ch);
}

/* A digest of what a sync shows. */
static uint64_t sync_digest(const struct sync *s)
{
	const char *parts[] = { s->name,
				s->description,
				s->policy,
				s->destination_type,
				s->destination_id,
				s->update_mode,
				s->last_user_update_at,
				s->last_attempted_update_at,
				s->last_successful_update_at,
				s->includes_discoveries_until,
				s->errors_json,
				s->extra_json };
	uint64_t h = HASH_INIT;
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i])
			h = hash_bytes(h, parts[i], strlen(parts[i]) + 1);
	return h;
}

static void marked_free(void *p)
{
	struct marked *m = p;

	if (m)
		free(m->folder);
	free(m);
}

void changes_mark_finish(struct changes_mark *m)
{
	if (!m->held)
		return;
	strmap_finish_values(&m->by_id, marked_free);
	m->held = false;
}

int changes_mark_take(struct changes_mark *m, const struct change_feed *f,
		      const struct cache_entry *entries, size_t count)
{
	size_t i;

	if (m->held || !f->fn)
		return 0;
	strmap_init(&m->by_id);
	m->held = true;
	for (i = 0; i < count; i++) {
		struct marked *k = calloc(1, sizeof(*k));

		if (!k || !(k->folder = strdup(entries[i].folder)) ||
		    strmap_put(&m->by_id, entries[i].sync->id, k)) {
			marked_free(k);
			changes_mark_finish(m);
			return -ENOMEM;
		}
		k->digest = sync_digest(entries[i].sync);
	}
	return 0;
}

bool changes_mark_diff(struct changes_mark *m, const struct change_feed *f,
		       const char *account, const struct cache_entry *entries,
		       size_t count)
{
	const char *k;
	void *v;
	size_t i, pos = 0;
	bool differ = false;

	if (!m->held)
		return true;
	for (i = 0; i < count; i++) {
		const struct cache_entry *e = &entries[i];
		struct marked *was = strmap_remove(&m->by_id, e->sync->id);
		enum change_kind kind = CHANGE_CHANGED;
		bool changed = true;

		if (!was)
			kind = CHANGE_ADDED;
		else if (strcmp(was->folder, e->folder))
			kind = CHANGE_RENAMED;
		else
			changed = was->digest != sync_digest(e->sync);
		if (changed)
			changes_send(f, kind, account, e->sync->id, e->folder,
				     was ? was->folder : NULL);
		differ |= changed;
		marked_free(was);
	}
	while (strmap_next(&m->by_id, &pos, &k, &v)) {
		changes_send(f, CHANGE_REMOVED, account, k, NULL,
			     ((struct marked *)v)->folder);
		differ = true;
	}
	changes_mark_finish(m);
	return differ;
}
