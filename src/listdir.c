/*
 * listdir: the folder listings of READDIR(PLUS) (see listdir.h).
 *
 * Directory listings carry offsets and READDIRPLUS attributes, so `ls -l`,
 * `find` and `grep -r` cost no LOOKUP per entry; a request that goes on
 * where the last one stopped skips ahead without rescanning (a folder of
 * 10,000 syncs takes hundreds of requests).  Locking: a listing holds
 * its account locked while it fills the request (tree_resolve or
 * cache_lock_listing), never across an API call.
 */
#include <errno.h>

#include "listdir.h"
#include "scratch.h"
#include "tree.h"

/*
 * One READDIR(PLUS) request being answered.  Entries carry offsets
 * (entry k has offset k + 1, the offset of the one after it), so that a
 * request goes on where the last one stopped.
 */
struct dir_fill {
	struct cache *cache;
	bool read_only; /* the mount's: no write bits */
	listdir_add_fn add;
	void *arg;
	off_t from; /* the first entry this request returns */
	off_t next; /* the number of the entry being added */
};

/* Adds the next entry (n NULL for ".."); false once full. */
static bool dir_add(struct dir_fill *d, const char *name, const struct node *n)
{
	off_t off = ++d->next;
	struct stat st;

	if (off <= d->from)
		return true; /* returned by an earlier request */
	if (!n)
		return d->add(d->arg, name, NULL, NULL, off);
	tree_stat(d->cache, n, &st);
	if (d->read_only)
		st.st_mode &= ~(mode_t)0222;
	return d->add(d->arg, name, n, &st, off);
}

/* Skips what earlier requests returned of a run of count entries;
 * returns the index of the first one still to add. */
static size_t dir_skip(struct dir_fill *d, size_t count)
{
	size_t skip = d->from > d->next ? (size_t)(d->from - d->next) : 0;

	if (skip > count)
		skip = count;
	d->next += (off_t)skip;
	return skip;
}

static int list_root(struct dir_fill *d)
{
	struct cache *c = d->cache;
	struct node stats = { .kind = NODE_STATS, .api = c->api };
	size_t i;

	if (!dir_add(d, TREE_STATS_NAME, &stats))
		return 0;
	for (i = 0; i < c->naccounts; i++) {
		struct node n = { .kind = NODE_ACCOUNT,
				  .account = c->accounts[i] };

		if (!dir_add(d, c->accounts[i]->id, &n))
			break;
	}
	return 0;
}

static int list_account(struct account *a, struct dir_fill *d)
{
	struct node n = { .account = a };
	size_t i, count;
	int ret = cache_lock_listing(d->cache, a);

	if (ret)
		return ret;
	n.kind = NODE_ACCOUNT_ERROR;
	if (!dir_add(d, "last_error", &n))
		goto out_unlock;
	n.kind = NODE_POLICIES;
	if (!dir_add(d, "policies", &n))
		goto out_unlock;
	n.kind = NODE_SYNC;
	/* a folder of 10,000 syncs takes hundreds of requests: no rescans */
	count = account_sync_count(a);
	for (i = dir_skip(d, count); i < count; i++) {
		n.entry = account_sync_at(a, i);
		if (!dir_add(d, n.entry->folder, &n))
			break;
	}
out_unlock:
	account_unlock(a);
	return 0;
}

static int list_policies(struct account *a, struct dir_fill *d)
{
	struct node n = { .account = a, .kind = NODE_POLICY };
	size_t i, count;
	int ret = cache_lock_policies(d->cache, a);

	if (ret)
		return ret;
	count = account_policy_count(a);
	for (i = dir_skip(d, count); i < count; i++) {
		n.prebuilt = account_policy_at(a, i);
		if (!dir_add(d, n.prebuilt->folder, &n))
			break;
	}
	account_unlock(a);
	return 0;
}

static int list_policy(struct node *dir, struct dir_fill *d)
{
	struct node n = *dir;
	int f;

	n.kind = NODE_POLICY_FILE;
	for (f = 0; f < POLICY_FILE_COUNT; f++) {
		n.policy_file = f;
		if (!dir_add(d, tree_policy_file_name(f), &n))
			break;
	}
	return 0;
}

/* A sync folder's scratch files, one entry each (scratch_each). */
struct scratch_fill {
	struct dir_fill *d;
	struct node n;
};

static bool add_scratch(void *arg, struct scratch *s)
{
	struct scratch_fill *f = arg;

	f->n.scratch = s;
	return dir_add(f->d, s->name, &f->n);
}

static int list_sync(struct node *dir, struct dir_fill *d)
{
	struct scratch_fill sf = { d, *dir };
	struct node n = *dir;
	int f;

	n.kind = NODE_FIELD;
	for (f = 0; f < FIELD_COUNT; f++) {
		n.field = f;
		/* unlinked on this mount: gone until created again */
		if (account_field_unlinked(dir->account, dir->entry->sync->id,
					   f)) {
			d->next++; /* keeps every entry's offset where it was */
			continue;
		}
		if (!dir_add(d, field_name(f), &n))
			return 0;
	}
	sf.n.kind = NODE_SCRATCH;
	scratch_each(account_scratch(dir->account, dir->entry->sync->id, false),
		     add_scratch, &sf);
	return 0;
}

int listdir_fill(struct cache *c, bool read_only, const char *path,
		 listdir_add_fn add, void *arg, off_t offset)
{
	struct dir_fill d = { .cache = c,
			      .read_only = read_only,
			      .add = add,
			      .arg = arg,
			      .from = offset };
	struct node n;
	int ret = tree_resolve(c, path, &n);

	if (ret)
		return ret;
	if (n.kind != NODE_ROOT && n.kind != NODE_ACCOUNT &&
	    n.kind != NODE_POLICIES && n.kind != NODE_POLICY &&
	    n.kind != NODE_SYNC) {
		ret = -ENOTDIR;
		goto out_release;
	}
	if (!dir_add(&d, ".", &n) || !dir_add(&d, "..", NULL))
		goto out_release;
	switch (n.kind) {
	case NODE_ROOT:
		ret = list_root(&d);
		break;
	case NODE_ACCOUNT:
		ret = list_account(n.account, &d);
		break;
	case NODE_POLICIES: {
		/* the folder resolved without the policies: fetch them now */
		struct account *a = n.account;

		tree_release(&n);
		return list_policies(a, &d);
	}
	case NODE_POLICY:
		ret = list_policy(&n, &d);
		break;
	case NODE_SYNC:
		ret = list_sync(&n, &d);
		break;
	default:
		ret = -ENOTDIR;
		break;
	}
out_release:
	tree_release(&n);
	return ret;
}
