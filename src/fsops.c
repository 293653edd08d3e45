/*
 * fsops: the FUSE adapter (see fsops.h).  Each operation resolves its
 * path (tree.h), checks who may change what (caller_refusal: only the
 * mounting user or root, since every change goes out with the mounting
 * user's token), and hands the work to the module that owns it: open
 * files and their commits to edit.h, scratch files to scratch.h, mv to
 * rename.h, folder listings to listdir.h, the kernel's caching to
 * kcache.h, API changes to writes.h.
 *
 * Reads: open() takes a snapshot of the file's bytes into the open file
 * (edit.h), so every read of one open sees one consistent version even
 * when the listing is refreshed meanwhile; stat sizes come from the same
 * rendering, so a read returns exactly st_size bytes.
 *
 * Locking: none of its own; a resolved node keeps its account locked
 * until tree_release, and no operation holds it across an API call.
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
#include "kcache.h"
#include "listdir.h"
#include "log.h"
#include "rename.h"
#include "scratch.h"
#include "tree.h"
#include "writes.h"

static struct fsops_context *ctx(void)
{
	return fuse_get_context()->private_data;
}

static void *fsops_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct fsops_context *c = fuse_get_context()->private_data;

	cfg->use_ino = 1;
	cfg->hard_remove = 1;
	kcache_configure(conn, cfg);
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

static int fsops_readdir(const char *path, void *buf, fuse_fill_dir_t filler,
			 off_t offset, struct fuse_file_info *fi,
			 enum fuse_readdir_flags flags)
{
	return listdir_fill(ctx()->cache, ctx()->opts->read_only, path, buf,
			    filler, offset);
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

/* Resolves path for a change by the caller (tree_resolve's locking). */
static int resolve_to_change(const char *path, struct node *n)
{
	int ret = caller_refusal();

	return ret ? ret : tree_resolve(ctx()->cache, path, n);
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

/* Gives an open file to the kernel. */
static void hand_out(struct fuse_file_info *fi, struct open_file *of)
{
	fi->fh = (uintptr_t)of;
	kcache_open_flags(fi, edit_page_cache(of));
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
	ret = edit_open(&n, fi->flags, kcache_size_holds(&n), &of);
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
 * The field is back at once; what is written to it is sent on close, and
 * a file created but never written sends nothing (as O_TRUNC alone).
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
	int ret = resolve_to_change(path, &n);

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
	int ret = resolve_to_change(path, &n);

	if (ret)
		return ret;
	if (n.kind != NODE_SYNC)
		ret = n.kind == NODE_FIELD || n.kind == NODE_SCRATCH ||
				      n.kind == NODE_POLICY_FILE ||
				      n.kind == NODE_ACCOUNT_ERROR
			      ? -ENOTDIR
			      : -EACCES;
	if (!ret && !scratch_empty(account_scratch(n.account, n.entry->sync->id,
						   false))) {
		ret = -ENOTEMPTY; /* files of this mount would be lost */
		account_restore_fields(n.account, n.entry->sync->id);
	}
	if (!ret)
		snprintf(id, sizeof(id), "%s", n.entry->sync->id);
	tree_release(&n);
	if (!ret)
		ret = writes_delete(c->cache, &cfg, n.account, id);
	if (ret && ret != -ENOTEMPTY && n.kind == NODE_SYNC) {
		/*
		 * The sync stays: what `rm -r` unlinked shows again, so that
		 * the folder never reads as empty while the sync is whole.
		 */
		account_lock(n.account);
		account_restore_fields(n.account, id);
		account_unlock(n.account);
	}
	return ret;
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
	int ret = resolve_to_change(path, &n);

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
