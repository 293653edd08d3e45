/*
 * fsops: FUSE high-level operations over the tree (see fsops.h).
 *
 * Reads: open() takes a snapshot of the file's bytes into the open file,
 * so every read of one open sees one consistent version even when the
 * listing is refreshed meanwhile; stat sizes come from the same rendering,
 * so a read returns exactly st_size bytes.  A reader of a file whose
 * content has not changed for a while reads through the page cache (no
 * READ to find the end, none at all for an empty file); everything else
 * is direct_io, so that a size the kernel cached a second ago never cuts
 * a read (kernel_size_holds).  A reader's close sends no FLUSH.
 *
 * Directory listings carry offsets and READDIRPLUS attributes, so `ls -l`,
 * `find` and `grep -r` cost no LOOKUP per entry.  The kernel's caches are
 * kept at one second (fsops_init) so that the daemon's cache_ttl decides
 * freshness.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "edit.h"
#include "fsops.h"
#include "log.h"
#include "rename.h"
#include "scratch.h"
#include "tree.h"
#include "writes.h"

static struct fsops_context *ctx(void)
{
	return fuse_get_context()->private_data;
}

/* How long the kernel trusts what it was told (SPEC: about a second). */
#define KERNEL_TIMEOUT_MS 1000

static void *fsops_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct fsops_context *c = fuse_get_context()->private_data;

	cfg->use_ino = 1;
	cfg->entry_timeout = KERNEL_TIMEOUT_MS / 1000.0;
	cfg->attr_timeout = KERNEL_TIMEOUT_MS / 1000.0;
	cfg->negative_timeout = KERNEL_TIMEOUT_MS / 1000.0;
	cfg->kernel_cache = 0;
	cfg->hard_remove = 1;
	/*
	 * Attributes with every entry, not only on the first request of a
	 * folder: a walk stats everything it lists.
	 */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* the daemon runs now (after any fork): threads may start */
	cache_parse_seeds(c->cache);
	return c;
}

static void adjust_for_ro(struct stat *st)
{
	if (ctx()->opts->read_only)
		st->st_mode &= ~(mode_t)0222;
}

static struct open_file *handle(struct fuse_file_info *fi)
{
	return (struct open_file *)(uintptr_t)fi->fh;
}

static int fsops_getattr(const char *path, struct stat *st,
			 struct fuse_file_info *fi)
{
	struct open_file *of = fi ? handle(fi) : NULL;
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
	/*
	 * The kernel asks with the open file when a read goes past the
	 * size it knows: the answer is the size of what this open reads,
	 * even if the listing changed since it opened.
	 */
	if (!ret && of && edit_page_cache(of))
		st->st_size = (off_t)edit_size(of);
	return ret;
}

/*
 * One READDIR(PLUS) request being answered.  Entries carry offsets
 * (entry k has offset k + 1, the offset of the one after it): only in
 * that mode does libfuse hand the kernel each entry's attributes, so
 * that `ls -l`, `find` and `grep -r` need no LOOKUP per entry.
 */
struct dir_fill {
	void *buf;
	fuse_fill_dir_t filler;
	off_t from; /* the first entry this request returns */
	off_t next; /* the number of the entry being added */
};

/* Adds the next entry (n NULL for "." and ".."); false once full. */
static bool dir_add(struct dir_fill *d, const char *name, const struct node *n)
{
	off_t off = ++d->next;
	struct stat st;

	if (off <= d->from)
		return true; /* returned by an earlier request */
	if (!n)
		return !d->filler(d->buf, name, NULL, off, 0);
	tree_stat(ctx()->cache, n, &st);
	adjust_for_ro(&st);
	return !d->filler(d->buf, name, &st, off, FUSE_FILL_DIR_PLUS);
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
	struct cache *c = ctx()->cache;
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
	size_t i;
	int ret = cache_lock_listing(ctx()->cache, a);

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
	for (i = dir_skip(d, a->count); i < a->count; i++) {
		n.entry = &a->entries[i];
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
	size_t i;
	int ret = cache_lock_policies(ctx()->cache, a);

	if (ret)
		return ret;
	for (i = dir_skip(d, a->nprebuilt); i < a->nprebuilt; i++) {
		n.prebuilt = &a->prebuilt[i];
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

static int list_sync(struct node *dir, struct dir_fill *d)
{
	struct node n = *dir;
	struct scratch_list *l;
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
	l = account_scratch(dir->account, dir->entry->sync->id, false);
	n.kind = NODE_SCRATCH;
	for (n.scratch = l ? l->head : NULL; n.scratch;
	     n.scratch = n.scratch->next)
		if (!dir_add(d, n.scratch->name, &n))
			break;
	return 0;
}

static int fsops_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
			 off_t offset, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	struct dir_fill d = { .buf = buf, .filler = filler, .from = offset };
	struct node n;
	int ret = tree_resolve(ctx()->cache, path, &n);

	if (ret)
		return ret;
	if (!dir_add(&d, ".", NULL) || !dir_add(&d, "..", NULL))
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

/*
 * Whether the caller may change anything: the mounting user or root.
 * Under allow_other with a wide umask the kernel's mode check lets
 * others through, and every change goes out with the mounting user's
 * token, so the daemon checks the caller itself.
 */
static int caller_refusal(void)
{
	uid_t uid = fuse_get_context()->uid;

	if (ctx()->opts->read_only)
		return -EROFS;
	return uid == 0 || uid == getuid() ? 0 : -EACCES;
}

/* Why a write to n is refused, or 0 when it may be written. */
static int write_refusal(const struct node *n)
{
	int ret = caller_refusal();

	if (ret)
		return ret;
	if (n->kind == NODE_SCRATCH ||
	    (n->kind == NODE_FIELD && field_writable(n->field)))
		return 0;
	if (n->kind == NODE_ACCOUNT || n->kind == NODE_ROOT ||
	    n->kind == NODE_SYNC || n->kind == NODE_POLICIES ||
	    n->kind == NODE_POLICY)
		return -EISDIR;
	return -EACCES;
}

/*
 * Whether a reader of n may go through the kernel's page cache, which
 * saves the READ round trip that finds the end of the file (and the only
 * one of an empty file).  The kernel cuts such reads at the size it was
 * told, up to KERNEL_TIMEOUT_MS ago: that is the snapshot's size when
 * nothing n shows has changed since (struct freshness.changed).  The
 * margin covers answers computed just before a change and delivered
 * after it.  Scratch files and the account's last_error stay direct.
 */
static bool kernel_size_holds(const struct node *n)
{
	const long settled_ms = 2 * KERNEL_TIMEOUT_MS;

	if (n->kind == NODE_POLICY_FILE)
		return cache_unchanged_for(&n->account->policies, settled_ms);
	return n->kind == NODE_FIELD &&
	       cache_unchanged_for(&n->account->listing, settled_ms);
}

/* Gives an open file to the kernel. */
static void hand_out(struct fuse_file_info *fi, struct open_file *of)
{
	fi->fh = (uintptr_t)of;
	/* a reader's close has nothing to send: no FLUSH round trip */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	/*
	 * Everything else is direct_io: reads and writes come here rather
	 * than from the page cache and are not cut at a size the kernel
	 * cached a second ago, so a file whose content just changed never
	 * reads truncated or stale.  keep_cache stays off: each open reads
	 * its own snapshot.
	 */
	fi->direct_io = !edit_page_cache(of);
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
	if (writing && (ret = write_refusal(&n)))
		goto out_release;
	ret = edit_open(&n, fi->flags, kernel_size_holds(&n), &of);
	if (!ret)
		hand_out(fi, of);

out_release:
	tree_release(&n);
	return ret;
}

static int fsops_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	return edit_read(handle(fi), buf, size, off);
}

static int fsops_write(const char *path, const char *buf, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	return edit_write(handle(fi), buf, size, off);
}

static int fsops_flush(const char *path, struct fuse_file_info *fi)
{
	return edit_commit(ctx()->cache, handle(fi));
}

static int fsops_fsync(const char *path, int datasync,
		       struct fuse_file_info *fi)
{
	return edit_commit(ctx()->cache, handle(fi));
}

static int fsops_release(const char *path, struct fuse_file_info *fi)
{
	struct open_file *of = handle(fi);

	if (of) {
		/* a process killed between write and close still lands */
		if (edit_commit(ctx()->cache, of))
			log_error("a write to '%s' failed at release", path);
		edit_close(of);
	}
	return 0;
}

/*
 * Creates a field unlinked on this mount: unlink then create is a
 * replace (mv across filesystems, install, cp --remove-destination).
 * The field is back at once; what the new file holds is sent on close,
 * even when empty, since the file was replaced as a whole.
 */
static int recreate_field(struct node *n, struct fuse_file_info *fi)
{
	struct open_file *of;
	int ret = write_refusal(n);

	if (!ret)
		ret = edit_recreate(n, fi->flags, &of);
	if (!ret)
		hand_out(fi, of);
	return ret;
}

static int fsops_create(const char *path, mode_t mode,
			struct fuse_file_info *fi)
{
	struct open_file *of;
	struct node n;
	int ret = caller_refusal();

	if (ret)
		return ret;
	ret = tree_resolve_unlinked(ctx()->cache, path, &n);
	if (!ret && n.kind == NODE_FIELD && n.unlinked) {
		ret = recreate_field(&n, fi);
		tree_release(&n);
		return ret;
	}
	if (ret == -ENOENT || (!ret && n.kind != NODE_SCRATCH))
		ret = ret ? ret : (write_refusal(&n) ?: -EEXIST);
	if (ret) {
		/* only a sync folder takes new files, and only as scratch */
		if (ret == -ENOENT)
			ret = -EACCES;
		tree_release(&n);
		return ret;
	}
	ret = edit_create_scratch(&n, fi->flags, mode, &of);
	if (!ret)
		hand_out(fi, of);
	tree_release(&n);
	return ret;
}

static int fsops_truncate(const char *path, off_t size,
			  struct fuse_file_info *fi)
{
	struct open_file *of = fi ? handle(fi) : NULL;
	struct node n;
	int ret;

	if (of && (ret = edit_truncate(of, size)) <= 0)
		return ret;
	ret = tree_resolve(ctx()->cache, path, &n);
	if (ret)
		return ret;
	ret = write_refusal(&n);
	if (!ret && n.kind == NODE_SCRATCH) {
		if (!n.scratch) {
			ret = -ENOENT;
		} else {
			ret = scratch_truncate(n.scratch, size);
		}
	}
	/* truncating a field alone sends nothing: see SPEC "Writes" */
	tree_release(&n);
	return ret;
}

static int fsops_unlink(const char *path)
{
	struct node n;
	int ret = caller_refusal();

	if (ret)
		return ret;
	ret = tree_resolve(ctx()->cache, path, &n);
	if (ret)
		return ret;
	if (n.kind == NODE_SCRATCH) {
		if (n.scratch)
			scratch_remove(account_scratch(n.account,
						       n.entry->sync->id,
						       false),
				       n.scratch);
		else
			ret = -ENOENT;
	} else if (n.kind == NODE_FIELD) {
		/*
		 * A field cannot be removed from a sync.  Unlinking it sends
		 * nothing: the field leaves this mount's view of the folder
		 * until it is created again (a replace: mv, install) or the
		 * listing is fetched afresh, and `rm -r SYNC` can go on to
		 * rmdir.
		 */
		ret = account_set_field_unlinked(n.account, n.entry->sync->id,
						 n.field, true);
		log_debug("unlink of field '%s' sends nothing", path);
	} else {
		ret = -EACCES;
	}
	tree_release(&n);
	return ret;
}

static int fsops_mkdir(const char *path, mode_t mode)
{
	struct fsops_context *c = ctx();
	struct writes_config cfg = {
		.default_destination_type = c->opts->default_destination_type,
		.default_update_mode = c->opts->default_update_mode,
		.delete_destination = c->opts->delete_destination,
	};
	const char *leaf;
	struct node parent;
	int ret = caller_refusal();

	if (ret)
		return ret;
	ret = tree_resolve_parent(c->cache, path, &parent, &leaf);
	if (ret)
		return ret;
	tree_release(&parent);
	if (parent.kind == NODE_SYNC)
		return -EPERM; /* no folders inside a sync */
	if (parent.kind != NODE_ACCOUNT)
		return -EACCES;
	return writes_create(c->cache, &cfg, parent.account, leaf);
}

static int fsops_rmdir(const char *path)
{
	struct fsops_context *c = ctx();
	struct writes_config cfg = {
		.delete_destination = c->opts->delete_destination,
	};
	char id[40];
	struct node n;
	int ret = caller_refusal();

	if (ret)
		return ret;
	ret = tree_resolve(c->cache, path, &n);
	if (ret)
		return ret;
	if (n.kind != NODE_SYNC)
		ret = n.kind == NODE_FIELD || n.kind == NODE_SCRATCH ||
				      n.kind == NODE_POLICY_FILE ||
				      n.kind == NODE_ACCOUNT_ERROR
			      ? -ENOTDIR
			      : -EACCES;
	if (!ret && !scratch_empty(account_scratch(n.account, n.entry->sync->id,
						   false)))
		ret = -ENOTEMPTY; /* files of this mount would be lost */
	if (!ret)
		snprintf(id, sizeof(id), "%s", n.entry->sync->id);
	tree_release(&n);
	return ret ? ret : writes_delete(c->cache, &cfg, n.account, id);
}

static int fsops_rename(const char *from, const char *to, unsigned int flags)
{
	int ret = caller_refusal();

	return ret ? ret : rename_path(ctx()->cache, from, to, flags);
}

/* chmod, chown and utimens: kept for scratch files, accepted elsewhere. */
static int attribute_change(const char *path, const mode_t *mode,
			    const struct timespec *mtime)
{
	struct node n;
	int ret = caller_refusal();

	if (ret)
		return ret;
	ret = tree_resolve(ctx()->cache, path, &n);
	if (ret)
		return ret;
	if (n.kind == NODE_SCRATCH) {
		if (!n.scratch) {
			ret = -ENOENT;
		} else {
			scratch_set_attr(n.scratch, mode, mtime);
		}
	}
	/* fields: succeed and change nothing, so cp -p and rsync -a work */
	tree_release(&n);
	return ret;
}

static int fsops_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return attribute_change(path, &mode, NULL);
}

static int fsops_chown(const char *path, uid_t uid, gid_t gid,
		       struct fuse_file_info *fi)
{
	return attribute_change(path, NULL, NULL);
}

static int fsops_utimens(const char *path, const struct timespec tv[2],
			 struct fuse_file_info *fi)
{
	struct timespec now[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

	return attribute_change(path, NULL, tv ? &tv[1] : &now[1]);
}

static int fsops_link(const char *from, const char *to)
{
	return ctx()->opts->read_only ? -EROFS : -EPERM;
}

static int fsops_symlink(const char *target, const char *path)
{
	return ctx()->opts->read_only ? -EROFS : -EPERM;
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

/*
 * After the loop: files still open were never released by the kernel
 * (the filesystem is going away under them).  What they hold unsent is
 * sent now, then they are freed.
 */
static void fsops_destroy(void *private_data)
{
	struct fsops_context *c = private_data;

	struct open_file *of;

	while ((of = edit_any_open())) {
		if (edit_commit(c->cache, of))
			log_error("a write still open at unmount failed");
		edit_close(of);
	}
}

static const struct fuse_operations operations = {
	.init = fsops_init,
	.destroy = fsops_destroy,
	.getattr = fsops_getattr,
	.readdir = fsops_readdir,
	.open = fsops_open,
	.read = fsops_read,
	.write = fsops_write,
	.flush = fsops_flush,
	.fsync = fsops_fsync,
	.release = fsops_release,
	.create = fsops_create,
	.truncate = fsops_truncate,
	.unlink = fsops_unlink,
	.mkdir = fsops_mkdir,
	.rmdir = fsops_rmdir,
	.rename = fsops_rename,
	.chmod = fsops_chmod,
	.chown = fsops_chown,
	.utimens = fsops_utimens,
	.link = fsops_link,
	.symlink = fsops_symlink,
	.statfs = fsops_statfs,
};

const struct fuse_operations *fsops_operations(void)
{
	return &operations;
}
