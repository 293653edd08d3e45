/*
 * rename: the rename state machine (see rename.h).
 *
 * Each side is resolved on its own and copied out of the cache
 * (struct rename_side), since both may live in one account and the
 * account lock is not recursive; every step then resolves again what it
 * changes, because the listing may have changed in between (a remote
 * rename).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "edit.h"
#include "rename.h"
#include "scratch.h"
#include "tree.h"
#include "writes.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* What rename needs to know of one side, copied out of the cache. */
struct rename_side {
	int resolved; /* 0, or the -errno of resolving it */
	enum node_kind kind;
	struct account *account;
	char sync_id[40];
	enum field field;
	bool exists;
	const char *leaf;
};

/* unlinked: whether a field unlinked on this mount resolves (a target) */
static void side_get(struct cache *c, const char *path, bool unlinked,
		     struct rename_side *side)
{
	struct node n;

	memset(side, 0, sizeof(*side));
	side->resolved = unlinked ? tree_resolve_unlinked(c, path, &n)
				  : tree_resolve(c, path, &n);
	side->leaf = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (side->resolved)
		return;
	side->kind = n.kind;
	side->account = n.account;
	side->field = n.field;
	side->exists = n.kind == NODE_SCRATCH ? n.scratch != NULL : !n.unlinked;
	if (n.entry)
		snprintf(side->sync_id, sizeof(side->sync_id), "%s",
			 n.entry->sync->id);
	tree_release(&n);
}

/* Copies a field's bytes to a scratch file `to` (replacing it). */
static int field_to_scratch(struct cache *c, const char *from,
			    const struct rename_side *dst)
{
	struct scratch_list *l;
	struct scratch *s;
	struct node n;
	char *data = NULL;
	size_t len = 0;
	int ret = tree_resolve(c, from, &n);

	if (ret)
		return ret;
	if (n.kind != NODE_FIELD) {
		ret = -ENOENT;
		goto out_release;
	}
	ret = tree_content(&n, &data, &len);
	if (ret)
		goto out_release;
	edit_note_shown(n.account, n.entry->sync, n.field);
	l = account_scratch(n.account, n.entry->sync->id, true);
	s = l ? scratch_add(l, dst->leaf, 0644) : NULL;
	if (!s) {
		ret = -ENOMEM;
		goto out_release;
	}
	scratch_take(s, data, len);
	data = NULL;

out_release:
	free(data);
	tree_release(&n);
	return ret;
}

/* Sends a scratch file's bytes as the field `to`, then drops the scratch. */
static int scratch_to_field(struct cache *c, const char *from,
			    const struct rename_side *dst)
{
	struct sync_base base;
	char *data = NULL;
	size_t len = 0;
	struct node n;
	uint64_t serial = 0;
	int ret = tree_resolve(c, from, &n);

	if (ret)
		goto out_free;
	if (n.kind != NODE_SCRATCH || !n.scratch)
		ret = -ENOENT;
	else
		ret = tree_content(&n, &data, &len);
	if (!ret) {
		serial = n.scratch->serial;
		edit_base(n.account, n.entry->sync, dst->field, &base);
	}
	tree_release(&n);
	if (ret)
		goto out_free;
	if (dst->field == FIELD_REFRESH)
		ret = len ? writes_refresh(c, dst->account, dst->sync_id) : 0;
	else
		ret = writes_save(c, dst->account, dst->sync_id, dst->field,
				  data, len, &base);
	if (ret)
		goto out_free; /* the scratch stays: nothing is lost */
	/*
	 * The rename is done: the scratch name is gone.  Found again by
	 * identity, not by path: saving `name` renamed the folder.
	 */
	account_lock(dst->account);
	{
		struct scratch_list *l = account_scratch(dst->account,
							 dst->sync_id, false);

		scratch_remove(l, scratch_by_serial(l, serial));
		/* a field unlinked before is back: it was just saved */
		ret = account_set_field_unlinked(dst->account, dst->sync_id,
						 dst->field, false);
	}
	account_unlock(dst->account);

out_free:
	free(data);
	return ret;
}

/* Renames a scratch file within its folder (replacing a scratch `to`). */
static int scratch_move(struct cache *c, const char *from,
			const struct rename_side *dst)
{
	struct node n;
	int ret = tree_resolve(c, from, &n);

	if (ret)
		return ret;
	/* the listing may have changed since rename looked (a remote rename) */
	if (n.kind != NODE_SCRATCH || !n.scratch)
		ret = -ENOENT;
	else
		ret = scratch_rename(
			account_scratch(n.account, n.entry->sync->id, false),
			n.scratch, dst->leaf);
	tree_release(&n);
	return ret;
}

static bool same_folder(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	return sa - a == sb - b && !strncmp(a, b, (size_t)(sa - a));
}

/* A file within a sync folder (field or scratch) renamed. */
static int rename_file(struct cache *c, const char *from, const char *to,
		       const struct rename_side *src,
		       const struct rename_side *dst, enum node_kind parent)
{
	if (!same_folder(from, to))
		return parent == NODE_SYNC ? -EXDEV : -EACCES;
	if (src->kind == NODE_FIELD && dst->kind == NODE_FIELD &&
	    !dst->resolved)
		return -EPERM;
	if (src->kind == NODE_FIELD)
		return field_to_scratch(c, from, dst);
	if (!dst->resolved && dst->kind == NODE_FIELD) {
		if (!field_writable(dst->field))
			return -EACCES;
		return scratch_to_field(c, from, dst);
	}
	return scratch_move(c, from, dst);
}

int rename_path(struct cache *c, const char *from, const char *to,
		unsigned int flags)
{
	struct rename_side src, dst;
	const char *leaf;
	struct node parent;
	int ret;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	/* one side at a time: both may live in one locked account */
	side_get(c, from, false, &src);
	if (src.resolved)
		return src.resolved;
	if (src.kind == NODE_SCRATCH && !src.exists)
		return -ENOENT;
	side_get(c, to, true, &dst);
	if (dst.resolved && dst.resolved != -ENOENT)
		return dst.resolved;
	ret = tree_resolve_parent(c, to, &parent, &leaf);
	if (ret)
		return ret;
	tree_release(&parent);
	if (parent.account != src.account)
		return src.account && parent.account ? -EXDEV : -EACCES;
	if (!dst.resolved && dst.exists && (flags & RENAME_NOREPLACE))
		return -EEXIST;

	switch (src.kind) {
	case NODE_SYNC:
		if (parent.kind != NODE_ACCOUNT)
			return -EINVAL; /* a sync cannot go inside another */
		if (!dst.resolved)
			return dst.kind == NODE_SYNC &&
					       !strcmp(dst.sync_id, src.sync_id)
				       ? 0
				       : -EEXIST;
		return writes_rename(c, src.account, src.sync_id, dst.leaf);
	case NODE_SCRATCH:
	case NODE_FIELD:
		return rename_file(c, from, to, &src, &dst, parent.kind);
	default:
		return -EACCES;
	}
}
