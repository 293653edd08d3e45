/*
 * fsops: FUSE high-level operations over the tree (see fsops.h).
 *
 * Reads: open() takes a snapshot of the file's bytes into the open file,
 * so every read of one open sees one consistent version even when the
 * listing is refreshed meanwhile; stat sizes come from the same rendering,
 * so a read returns exactly st_size bytes.  Files are opened direct_io:
 * they are small, and the kernel's cached size must never cut a read.
 *
 * Directory listings are served with READDIRPLUS attributes, so `ls -l`
 * and `find` cost no LOOKUP per entry.  The kernel's caches are kept at
 * one second (fsops_init) so that the daemon's cache_ttl decides
 * freshness.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fsops.h"
#include "log.h"
#include "tree.h"

struct open_file {
	char *data;
	size_t len;
};

static struct fsops_context *ctx(void)
{
	return fuse_get_context()->private_data;
}

static void *fsops_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->use_ino = 1;
	cfg->entry_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	cfg->kernel_cache = 0;
	cfg->hard_remove = 1;
	return fuse_get_context()->private_data;
}

static void adjust_for_ro(struct stat *st)
{
	if (ctx()->opts->read_only)
		st->st_mode &= ~(mode_t)0222;
}

static int fsops_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	struct node n;
	int ret = tree_resolve(ctx()->cache, path, &n);

	if (ret)
		return ret;
	if (n.kind == NODE_SCRATCH && !n.scratch)
		ret = -ENOENT;
	else
		tree_stat(ctx()->cache, &n, st);
	tree_release(&n);
	if (!ret)
		adjust_for_ro(st);
	return ret;
}

/* Adds one entry with its attributes (READDIRPLUS). */
static int add_entry(void *buf, fuse_fill_dir_t filler, const char *name,
		     const struct node *n)
{
	struct stat st;

	tree_stat(ctx()->cache, n, &st);
	adjust_for_ro(&st);
	return filler(buf, name, &st, 0, FUSE_FILL_DIR_PLUS);
}

static int list_root(void *buf, fuse_fill_dir_t filler)
{
	struct cache *c = ctx()->cache;
	size_t i;

	for (i = 0; i < c->naccounts; i++) {
		struct node n = { .kind = NODE_ACCOUNT,
				  .account = c->accounts[i] };

		if (add_entry(buf, filler, c->accounts[i]->id, &n))
			break;
	}
	return 0;
}

static int list_account(struct account *a, void *buf, fuse_fill_dir_t filler)
{
	struct node n = { .account = a };
	size_t i;
	int ret = cache_lock_listing(ctx()->cache, a);

	if (ret)
		return ret;
	n.kind = NODE_ACCOUNT_ERROR;
	add_entry(buf, filler, "last_error", &n);
	n.kind = NODE_POLICIES;
	add_entry(buf, filler, "policies", &n);
	n.kind = NODE_SYNC;
	for (i = 0; i < a->count; i++) {
		n.entry = &a->entries[i];
		if (add_entry(buf, filler, n.entry->folder, &n))
			break;
	}
	account_unlock(a);
	return 0;
}

static int list_policies(struct account *a, void *buf, fuse_fill_dir_t filler)
{
	struct node n = { .account = a, .kind = NODE_POLICY };
	size_t i;
	int ret = cache_lock_policies(ctx()->cache, a);

	if (ret)
		return ret;
	for (i = 0; i < a->nprebuilt; i++) {
		n.prebuilt = &a->prebuilt[i];
		if (add_entry(buf, filler, n.prebuilt->folder, &n))
			break;
	}
	account_unlock(a);
	return 0;
}

static int list_policy(struct node *dir, void *buf, fuse_fill_dir_t filler)
{
	struct node n = *dir;
	int f;

	n.kind = NODE_POLICY_FILE;
	for (f = 0; f < POLICY_FILE_COUNT; f++) {
		n.policy_file = f;
		add_entry(buf, filler, tree_policy_file_name(f), &n);
	}
	return 0;
}

static int list_sync(struct node *dir, void *buf, fuse_fill_dir_t filler)
{
	struct node n = *dir;
	struct sync_state *st;
	struct scratch *s;
	int f;

	n.kind = NODE_FIELD;
	for (f = 0; f < FIELD_COUNT; f++) {
		n.field = f;
		add_entry(buf, filler, tree_field_name(f), &n);
	}
	st = strmap_get(&dir->account->states, dir->entry->sync->id);
	n.kind = NODE_SCRATCH;
	for (s = st ? st->scratch : NULL; s; s = s->next) {
		n.scratch = s;
		add_entry(buf, filler, s->name, &n);
	}
	return 0;
}

static int fsops_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
			 off_t offset, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	struct node n;
	int ret = tree_resolve(ctx()->cache, path, &n);

	if (ret)
		return ret;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	switch (n.kind) {
	case NODE_ROOT:
		ret = list_root(buf, filler);
		break;
	case NODE_ACCOUNT:
		ret = list_account(n.account, buf, filler);
		break;
	case NODE_POLICIES: {
		/* the folder resolved without the policies: fetch them now */
		struct account *a = n.account;

		tree_release(&n);
		return list_policies(a, buf, filler);
	}
	case NODE_POLICY:
		ret = list_policy(&n, buf, filler);
		break;
	case NODE_SYNC:
		ret = list_sync(&n, buf, filler);
		break;
	default:
		ret = -ENOTDIR;
		break;
	}
	tree_release(&n);
	return ret;
}

static int fsops_open(const char *path, struct fuse_file_info *fi)
{
	struct open_file *of;
	struct node n;
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	int ret = tree_resolve(ctx()->cache, path, &n);

	if (ret)
		return ret;
	if (n.kind == NODE_SCRATCH && !n.scratch) {
		ret = -ENOENT;
		goto out_release;
	}
	if (writing) {
		ret = ctx()->opts->read_only ? -EROFS : -EACCES;
		goto out_release;
	}
	of = calloc(1, sizeof(*of));
	if (!of) {
		ret = -ENOMEM;
		goto out_release;
	}
	ret = tree_content(&n, &of->data, &of->len);
	if (ret) {
		free(of);
		goto out_release;
	}
	fi->fh = (uintptr_t)of;
	/*
	 * direct_io: reads come here rather than from the page cache, and
	 * are not cut at a size the kernel cached a second ago, so a file
	 * whose content just changed never reads truncated or stale.
	 */
	fi->direct_io = 1;

out_release:
	tree_release(&n);
	return ret;
}

static int fsops_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;

	if (off < 0)
		return -EINVAL;
	if ((size_t)off >= of->len)
		return 0;
	if (size > of->len - (size_t)off)
		size = of->len - (size_t)off;
	memcpy(buf, of->data + off, size);
	return (int)size;
}

static int fsops_release(const char *path, struct fuse_file_info *fi)
{
	struct open_file *of = (struct open_file *)(uintptr_t)fi->fh;

	if (of) {
		free(of->data);
		free(of);
	}
	return 0;
}

/* Never calls the API: df must answer even when Cloudflare does not. */
static int fsops_statfs(const char *path, struct statvfs *sv)
{
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_namemax = 255;
	return 0;
}

static const struct fuse_operations operations = {
	.init = fsops_init,
	.getattr = fsops_getattr,
	.readdir = fsops_readdir,
	.open = fsops_open,
	.read = fsops_read,
	.release = fsops_release,
	.statfs = fsops_statfs,
};

const struct fuse_operations *fsops_operations(void)
{
	return &operations;
}
