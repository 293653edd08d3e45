/*
 * fsops: the FUSE adapter, on libfuse's low-level API (see fsops.h).
 *
 * Why the low-level API: the kernel may keep a name or an attribute for
 * as long as the listing it came from is trusted (kcache.h), and only
 * the low-level API lets each reply say how long that is; libfuse 3.14's
 * high-level API has one timeout for the whole mount, and drops the
 * folder-listing cache flag.
 *
 * Each request names a node id; knodes.h turns it into a path, and the
 * rest is as path-based as before: resolve the path (tree.h), check who
 * may change what (caller_refusal: only the mounting user or root, since
 * every change goes out with the mounting user's token), and hand the
 * work to the module that owns it: open files and their commits to
 * edit.h, scratch files to scratch.h, mv to rename.h, folder listings to
 * listdir.h, the kernel's caching to kcache.h and kinval.h, API changes
 * to writes.h.
 *
 * Reads: open() takes a snapshot of the file's bytes into the open file
 * (edit.h), so every read of one open sees one consistent version even
 * when the listing is refreshed meanwhile; stat sizes come from the same
 * rendering, so a read returns exactly st_size bytes.  Folders are never
 * opened (no OPENDIR): the kernel caches their listings until kinval.h
 * drops them.
 *
 * Locking: none of its own; a resolved node keeps its account locked
 * until tree_release, and no operation holds it across an API call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "edit.h"
#include "fsops.h"
#include "kcache.h"
#include "kinval.h"
#include "knodes.h"
#include "listdir.h"
#include "log.h"
#include "rename.h"
#include "scratch.h"
#include "tree.h"
#include "writes.h"

/* A write's close waits this long at most for the kernel to drop what
 * the write changed (kinval_wait). */
#define WRITE_SHOWN_WAIT_MS 1000

static struct fsops_context *ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct open_file *handle(const struct fuse_file_info *fi)
{
	return fi ? (struct open_file *)(uintptr_t)fi->fh : NULL;
}

/* Replies 0 or -errno. */
static void reply_status(fuse_req_t req, int ret)
{
	fuse_reply_err(req, -ret);
}

/*
 * Resolves the node ino (name inside it when name is not NULL) as
 * tree_resolve does; a scratch name that does not exist is -ENOENT.
 */
static int resolve(fuse_req_t req, fuse_ino_t ino, const char *name, char *path,
		   struct node *n)
{
	int ret = knodes_path(ino, name, path);

	if (ret)
		return ret;
	ret = tree_resolve(ctx(req)->cache, path, n);
	if (!ret && n->kind == NODE_SCRATCH && !n->scratch) {
		tree_release(n);
		ret = -ENOENT;
	}
	return ret;
}

/* What stat shows under ro, uid=, gid= and umask= (mount.fuse3(8)). */
static void mount_attr(const struct options *o, struct stat *st)
{
	if (o->set_uid)
		st->st_uid = o->uid;
	if (o->set_gid)
		st->st_gid = o->gid;
	if (o->set_umask)
		st->st_mode = (st->st_mode & S_IFMT) | (0777 & ~o->umask);
	if (o->read_only)
		st->st_mode &= ~(mode_t)0222;
}

/* n's attributes as the kernel gets them, and how long it may keep them. */
static struct kcache_timeouts node_attr(fuse_req_t req, const struct node *n,
					struct stat *st)
{
	tree_stat(ctx(req)->cache, n, st);
	mount_attr(ctx(req)->opts, st);
	return kcache_timeouts(ctx(req)->cache, n);
}

/*
 * The entry of n, found as name in parent, for LOOKUP, CREATE and MKDIR:
 * the kernel holds one more lookup of it once the reply is sent.
 */
static int node_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
		      const struct node *n, struct fuse_entry_param *e)
{
	struct kcache_timeouts t;

	memset(e, 0, sizeof(*e));
	t = node_attr(req, n, &e->attr);
	e->ino = e->attr.st_ino;
	e->entry_timeout = t.entry;
	e->attr_timeout = t.attr;
	return knodes_remember(e->ino, parent, name);
}

/* Replies with the entry at parent/name (after a mkdir). */
static int reply_new_entry(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[KNODES_PATH_MAX];
	struct fuse_entry_param e;
	struct node n;
	int ret = resolve(req, parent, name, path, &n);

	if (ret)
		return ret;
	ret = node_entry(req, parent, name, &n, &e);
	tree_release(&n);
	if (ret)
		return ret;
	if (fuse_reply_entry(req, &e))
		knodes_forget(e.ino, 1); /* the request was interrupted */
	return 0;
}

/*
 * Whether the caller may change anything: the mounting user or root.
 * Under allow_other with a wide umask the kernel's mode check lets
 * others through, and every change goes out with the mounting user's
 * token, so the daemon checks the caller itself.
 */
static int caller_refusal(fuse_req_t req)
{
	uid_t uid = fuse_req_ctx(req)->uid;

	if (ctx(req)->opts->read_only)
		return -EROFS;
	return uid == 0 || uid == getuid() ? 0 : -EACCES;
}

/* Why a write to n is refused, or 0 when it may be written. */
static int write_refusal(fuse_req_t req, const struct node *n)
{
	int ret = caller_refusal(req);

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

static void fsops_init(void *userdata, struct fuse_conn_info *conn)
{
	struct fsops_context *c = userdata;

	kcache_configure(conn);
	c->no_opendir = conn->want & FUSE_CAP_NO_OPENDIR_SUPPORT;
	/* the daemon runs now (after any fork): threads may start */
	cache_parse_seeds(c->cache);
}

static void fsops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[KNODES_PATH_MAX];
	struct fuse_entry_param e;
	struct node n;
	int ret = resolve(req, parent, name, path, &n);

	if (ret == -ENOENT) {
		/* remembered briefly: a name made elsewhere shows soon */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = kcache_negative_timeout(ctx(req)->cache);
		fuse_reply_entry(req, &e);
		return;
	}
	if (!ret) {
		ret = node_entry(req, parent, name, &n, &e);
		tree_release(&n);
	}
	if (ret)
		reply_status(req, ret);
	else if (fuse_reply_entry(req, &e))
		knodes_forget(e.ino, 1);
}

static void fsops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	knodes_forget(ino, nlookup);
	fuse_reply_none(req);
}

static void fsops_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	size_t i;

	for (i = 0; i < count; i++)
		knodes_forget(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/* The attributes of ino (and the timeout to reply them with). */
static int attributes(fuse_req_t req, fuse_ino_t ino,
		      const struct fuse_file_info *fi, struct stat *st,
		      double *timeout)
{
	char path[KNODES_PATH_MAX];
	struct open_file *of = handle(fi);
	struct node n;
	int ret = resolve(req, ino, NULL, path, &n);

	if (ret)
		return ret;
	*timeout = node_attr(req, &n, st).attr;
	tree_release(&n);
	/*
	 * The kernel asks with the open file when a read goes past the
	 * size it knows: the answer is the size of what this open reads,
	 * even if the listing changed since it opened.
	 */
	if (of && edit_page_cache(of))
		st->st_size = (off_t)edit_size(of);
	return 0;
}

static void fsops_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct stat st;
	double timeout;
	int ret = attributes(req, ino, fi, &st, &timeout);

	if (ret)
		reply_status(req, ret);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* ftruncate / truncate(2) of path to size. */
static int truncate_path(fuse_req_t req, const char *path, off_t size,
			 struct fuse_file_info *fi)
{
	struct open_file *of = handle(fi);
	struct node n;
	int ret;

	if (of && (ret = edit_truncate(of, size)) <= 0)
		return ret;
	ret = tree_resolve(ctx(req)->cache, path, &n);
	if (ret)
		return ret;
	ret = write_refusal(req, &n);
	if (!ret && n.kind == NODE_SCRATCH)
		ret = n.scratch ? scratch_truncate(n.scratch, size) : -ENOENT;
	/* truncating a field alone sends nothing: see SPEC "Writes" */
	tree_release(&n);
	return ret;
}

/* chmod, chown and utimens: kept for scratch files, accepted elsewhere. */
static int attribute_change(fuse_req_t req, const char *path,
			    const mode_t *mode, const struct timespec *mtime)
{
	struct node n;
	int ret = caller_refusal(req);

	if (ret)
		return ret;
	ret = tree_resolve(ctx(req)->cache, path, &n);
	if (ret)
		return ret;
	if (n.kind == NODE_SCRATCH) {
		if (!n.scratch)
			ret = -ENOENT;
		else
			scratch_set_attr(n.scratch, mode, mtime);
	}
	/* fields: succeed and change nothing, so cp -p and rsync -a work */
	tree_release(&n);
	return ret;
}

static void fsops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	char path[KNODES_PATH_MAX];
	struct timespec now = { 0, 0 };
	const struct timespec *mtime = NULL;
	const mode_t *mode = NULL;
	struct stat st;
	double timeout;
	int ret = knodes_path(ino, NULL, path);

	if (!ret && (to_set & FUSE_SET_ATTR_SIZE))
		ret = truncate_path(req, path, attr->st_size, fi);
	if (to_set & FUSE_SET_ATTR_MODE)
		mode = &attr->st_mode;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
		clock_gettime(CLOCK_REALTIME, &now);
		mtime = &now;
	} else if (to_set & FUSE_SET_ATTR_MTIME) {
		mtime = &attr->st_mtim;
	}
	if (!ret && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID |
			       FUSE_SET_ATTR_GID | FUSE_SET_ATTR_ATIME |
			       FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			       FUSE_SET_ATTR_MTIME_NOW)))
		ret = attribute_change(req, path, mode, mtime);
	if (!ret)
		ret = attributes(req, ino, fi, &st, &timeout);
	if (ret)
		reply_status(req, ret);
	else
		fuse_reply_attr(req, &st, timeout);
}

/* One READDIR(PLUS) reply being filled (listdir_add_fn). */
struct dir_reply {
	fuse_req_t req;
	fuse_ino_t dir;
	bool plus;
	char *buf;
	size_t size, used;
	struct node folder; /* the folder listed (from ".") */
	bool have_folder;
	uint64_t *linked; /* the lookups counted, undone if not sent */
	size_t nlinked, cap;
};

/* Notes a lookup counted for r; false (undone) on ENOMEM. */
static bool note_linked(struct dir_reply *r, uint64_t ino)
{
	if (r->nlinked == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		uint64_t *grown = realloc(r->linked, cap * sizeof(*grown));

		if (!grown) {
			knodes_forget(ino, 1);
			return false;
		}
		r->linked = grown;
		r->cap = cap;
	}
	r->linked[r->nlinked++] = ino;
	return true;
}

/* The reply was not sent: the kernel holds none of its lookups. */
static void undo_linked(struct dir_reply *r)
{
	size_t i;

	for (i = 0; i < r->nlinked; i++)
		knodes_forget(r->linked[i], 1);
	r->nlinked = 0;
}

static bool add_entry(void *arg, const char *name, const struct node *n,
		      const struct stat *st, off_t next)
{
	struct dir_reply *r = arg;
	struct fuse_entry_param e;
	bool linked = r->plus && n && strcmp(name, ".");
	size_t need;

	memset(&e, 0, sizeof(e));
	if (st) {
		e.attr = *st;
		mount_attr(ctx(r->req)->opts, &e.attr);
	} else {
		e.attr.st_ino = r->dir; /* "..": the kernel knows better */
		e.attr.st_mode = S_IFDIR;
	}
	if (!strcmp(name, ".") && n) {
		r->folder = *n;
		r->have_folder = true;
	}
	if (linked) {
		struct kcache_timeouts t = kcache_timeouts(ctx(r->req)->cache,
							   n);

		e.entry_timeout = t.entry;
		e.attr_timeout = t.attr;
		/* without room in the table, the kernel gets no node */
		e.ino = knodes_remember(st->st_ino, r->dir, name) ? 0
								  : st->st_ino;
		if (e.ino && !note_linked(r, e.ino))
			e.ino = 0;
		linked = e.ino != 0;
	}
	if (r->plus)
		need = fuse_add_direntry_plus(r->req, r->buf + r->used,
					      r->size - r->used, name, &e,
					      next);
	else
		need = fuse_add_direntry(r->req, r->buf + r->used,
					 r->size - r->used, name, &e.attr,
					 next);
	if (need > r->size - r->used) {
		if (linked) {
			knodes_forget(e.ino, 1);
			r->nlinked--;
		}
		return false;
	}
	r->used += need;
	return true;
}

/*
 * The kernel keeps a folder's listing with no timeout: it is dropped
 * when what it came from stops being trusted (kinval.h).  The root's
 * never changes.
 */
static void listing_handed_out(fuse_req_t req, struct dir_reply *r)
{
	long trust;

	if (!r->have_folder)
		return;
	trust = kcache_folder_trust_ms(ctx(req)->cache, &r->folder);
	if (trust >= 0)
		kinval_folder_listed(r->dir, trust);
}

static void read_folder(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t offset, bool plus)
{
	char path[KNODES_PATH_MAX];
	struct dir_reply r = {
		.req = req, .dir = ino, .plus = plus, .size = size
	};
	int ret = knodes_path(ino, NULL, path);

	if (ret) {
		reply_status(req, ret);
		return;
	}
	r.buf = malloc(size ? size : 1);
	if (!r.buf) {
		reply_status(req, -ENOMEM);
		return;
	}
	ret = listdir_fill(ctx(req)->cache, ctx(req)->opts->read_only, path,
			   add_entry, &r, offset);
	if (ret) {
		undo_linked(&r);
		reply_status(req, ret);
	} else {
		if (!offset)
			listing_handed_out(req, &r);
		if (fuse_reply_buf(req, r.buf, r.used))
			undo_linked(&r);
	}
	free(r.buf);
	free(r.linked);
}

static void fsops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t offset, struct fuse_file_info *fi)
{
	read_folder(req, ino, size, offset, false);
}

static void fsops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t offset, struct fuse_file_info *fi)
{
	read_folder(req, ino, size, offset, true);
}

/*
 * Folders are never opened: the kernel then caches their listings.  A
 * kernel that cannot do without OPENDIR gets the same caching asked for.
 */
static void fsops_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	if (ctx(req)->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

/*
 * A reader that keeps the page cache finds the file's pages there
 * before its first read: none is READ (kinval_store).
 */
static void fill_pages(fuse_ino_t ino, struct open_file *of,
		       unsigned long drops)
{
	size_t len = edit_size(of);
	char *data;

	if (!len || kinval_stored(ino))
		return;
	data = malloc(len);
	if (data && edit_read(of, data, len, 0) == (int)len)
		kinval_store(ino, data, len, drops);
	free(data);
}

/*
 * Gives an open file to the kernel; closes it if the kernel is gone.
 * drops: kinval_drops() from before of's content was taken.
 */
static void hand_out(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct open_file *of, const struct fuse_entry_param *e,
		     unsigned long drops)
{
	fi->fh = (uintptr_t)of;
	kcache_open_flags(fi, edit_page_cache(of));
	if (!fi->keep_cache)
		kinval_pages_dropped(ino); /* the kernel drops them at open */
	else if (!e)
		fill_pages(ino, of, drops);
	if (e ? fuse_reply_create(req, e, fi) : fuse_reply_open(req, fi)) {
		if (e)
			knodes_forget(e->ino, 1);
		edit_close(of);
	}
}

static void fsops_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	char path[KNODES_PATH_MAX];
	struct open_file *of = NULL;
	struct node n;
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	unsigned long drops = kinval_drops(); /* before the snapshot */
	int ret = resolve(req, ino, NULL, path, &n);

	if (ret) {
		reply_status(req, ret);
		return;
	}
	if (!writing || !(ret = write_refusal(req, &n)))
		ret = edit_open(&n, fi->flags, kcache_size_holds(&n), &of);
	tree_release(&n);
	if (ret)
		reply_status(req, ret);
	else
		hand_out(req, ino, fi, of, NULL, drops);
}

static void fsops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	int n;

	if (!buf) {
		reply_status(req, -ENOMEM);
		return;
	}
	n = edit_read(handle(fi), buf, size, off);
	if (n < 0)
		reply_status(req, n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void fsops_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	int n = edit_write(handle(fi), buf, size, off);

	if (n < 0)
		reply_status(req, n);
	else
		fuse_reply_write(req, (size_t)n);
}

/*
 * Sends what the open file holds; once the close returns, every reader
 * sees it, so the kernel is told to drop what it changed first.
 */
static void commit(fuse_req_t req, struct fuse_file_info *fi)
{
	int ret = edit_commit(ctx(req)->cache, handle(fi));

	kinval_wait(WRITE_SHOWN_WAIT_MS);
	reply_status(req, ret);
}

static void fsops_flush(fuse_req_t req, fuse_ino_t ino,
			struct fuse_file_info *fi)
{
	commit(req, fi);
}

static void fsops_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	commit(req, fi);
}

static void fsops_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct open_file *of = handle(fi);

	if (of) {
		/* a process killed between write and close still lands */
		if (edit_commit(ctx(req)->cache, of))
			log_error("a write to node %llu failed at release",
				  (unsigned long long)ino);
		edit_close(of);
	}
	reply_status(req, 0);
}

/*
 * Creates a field unlinked on this mount: unlink then create is a
 * replace (mv across filesystems, install, cp --remove-destination).
 * The field is back at once; what is written to it is sent on close, and
 * a file created but never written sends nothing (as O_TRUNC alone).
 */
static int create_file(fuse_req_t req, const char *path,
		       struct fuse_file_info *fi, mode_t mode,
		       struct open_file **of)
{
	struct node n;
	int ret = caller_refusal(req);

	if (ret)
		return ret;
	ret = tree_resolve_unlinked(ctx(req)->cache, path, &n);
	if (ret) /* only a sync folder takes new files */
		return ret == -ENOENT ? -EACCES : ret;
	if (n.kind == NODE_FIELD && n.unlinked)
		ret = write_refusal(req, &n)
			      ?: edit_recreate(&n, fi->flags, of);
	else if (n.kind != NODE_SCRATCH) /* and only as scratch */
		ret = write_refusal(req, &n) ?: -EEXIST;
	else
		ret = edit_create_scratch(&n, fi->flags, mode, of);
	tree_release(&n);
	return ret;
}

static void fsops_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	char path[KNODES_PATH_MAX];
	struct fuse_entry_param e;
	struct open_file *of = NULL;
	struct node n;
	int ret = knodes_path(parent, name, path);

	if (!ret)
		ret = create_file(req, path, fi, mode, &of);
	if (!ret)
		ret = resolve(req, parent, name, path, &n);
	if (!ret) {
		ret = node_entry(req, parent, name, &n, &e);
		tree_release(&n);
	}
	if (ret) {
		edit_close(of);
		reply_status(req, ret);
		return;
	}
	hand_out(req, e.ino, fi, of, &e, 0);
}

static void fsops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char path[KNODES_PATH_MAX];
	struct node n;
	uint64_t ino = 0;
	int ret = caller_refusal(req) ?: resolve(req, parent, name, path, &n);

	if (ret) {
		reply_status(req, ret);
		return;
	}
	ino = tree_ino(&n);
	if (n.kind == NODE_SCRATCH) {
		scratch_remove(
			account_scratch(n.account, n.entry->sync->id, false),
			n.scratch);
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
	if (!ret)
		knodes_unname(ino);
	reply_status(req, ret);
}

static void fsops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	struct fsops_context *c = ctx(req);
	struct writes_config cfg = {
		.default_destination_type = c->opts->default_destination_type,
		.default_update_mode = c->opts->default_update_mode,
		.delete_destination = c->opts->delete_destination,
	};
	char path[KNODES_PATH_MAX];
	struct node folder;
	int ret = caller_refusal(req)
			  ?: resolve(req, parent, NULL, path, &folder);

	if (ret) {
		reply_status(req, ret);
		return;
	}
	tree_release(&folder);
	if (folder.kind == NODE_SYNC)
		ret = -EPERM; /* no folders inside a sync */
	else if (folder.kind != NODE_ACCOUNT)
		ret = -EACCES;
	else
		ret = writes_create(c->cache, &cfg, folder.account, name);
	if (!ret)
		ret = reply_new_entry(req, parent, name);
	if (ret)
		reply_status(req, ret);
}

static void fsops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsops_context *c = ctx(req);
	struct writes_config cfg = {
		.delete_destination = c->opts->delete_destination,
	};
	char path[KNODES_PATH_MAX], id[40];
	struct node n;
	uint64_t ino;
	int ret = caller_refusal(req) ?: resolve(req, parent, name, path, &n);

	if (ret) {
		reply_status(req, ret);
		return;
	}
	ino = tree_ino(&n);
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
		kinval_inode(ino); /* the folder's listing shows them again */
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
		kinval_inode(ino);
	}
	if (!ret)
		knodes_unname(ino);
	reply_status(req, ret);
}

/* The inode number at path, or 0 when nothing is there. */
static uint64_t ino_at(fuse_req_t req, const char *path)
{
	struct node n;
	uint64_t ino;

	if (tree_resolve(ctx(req)->cache, path, &n))
		return 0;
	ino = tree_ino(&n);
	tree_release(&n);
	return ino;
}

static void fsops_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	char from[KNODES_PATH_MAX], to[KNODES_PATH_MAX];
	uint64_t moved, replaced;
	int ret = caller_refusal(req) ?: knodes_path(parent, name, from)
						 ?: knodes_path(newparent,
								newname, to);

	if (ret) {
		reply_status(req, ret);
		return;
	}
	moved = ino_at(req, from);
	replaced = ino_at(req, to);
	ret = rename_path(ctx(req)->cache, from, to, flags);
	if (!ret) {
		/*
		 * What the names hold may not be what the kernel moved: a
		 * scratch file saved as a field is the field now, and a
		 * field moved away stays where it was.  A node moves with
		 * its name unless it stayed (an open scratch file saved as a
		 * field stats as the field, as under libfuse's high-level
		 * API), and the kernel looks both names up again (from the
		 * thread: this request holds both folders).
		 */
		uint64_t at_to = ino_at(req, to), at_from = ino_at(req, from);

		if (replaced && replaced != moved && replaced != at_to)
			knodes_unname(replaced);
		if (at_from != moved)
			knodes_move(moved, newparent, newname);
		if (at_to != moved)
			kinval_entry(newparent, newname);
		if (at_from)
			kinval_entry(parent, name);
	}
	reply_status(req, ret);
}

static void fsops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	reply_status(req, ctx(req)->opts->read_only ? -EROFS : -EPERM);
}

static void fsops_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
			  const char *name)
{
	reply_status(req, ctx(req)->opts->read_only ? -EROFS : -EPERM);
}

/* Never calls the API: df must answer even when Cloudflare does not. */
static void fsops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/*
 * After the loop: files still open were never released by the kernel
 * (the filesystem is going away under them).  What they hold unsent is
 * sent now, then they are freed.
 */
static void fsops_destroy(void *userdata)
{
	struct fsops_context *c = userdata;
	struct open_file *of;

	while ((of = edit_any_open())) {
		if (edit_commit(c->cache, of))
			log_error("a write still open at unmount failed");
		edit_close(of);
	}
}

static const struct fuse_lowlevel_ops operations = {
	.init = fsops_init,
	.destroy = fsops_destroy,
	.lookup = fsops_lookup,
	.forget = fsops_forget,
	.forget_multi = fsops_forget_multi,
	.getattr = fsops_getattr,
	.setattr = fsops_setattr,
	.opendir = fsops_opendir,
	.readdir = fsops_readdir,
	.readdirplus = fsops_readdirplus,
	.open = fsops_open,
	.read = fsops_read,
	.write = fsops_write,
	.flush = fsops_flush,
	.fsync = fsops_fsync,
	.release = fsops_release,
	.create = fsops_create,
	.unlink = fsops_unlink,
	.mkdir = fsops_mkdir,
	.rmdir = fsops_rmdir,
	.rename = fsops_rename,
	.link = fsops_link,
	.symlink = fsops_symlink,
	.statfs = fsops_statfs,
};

const struct fuse_lowlevel_ops *fsops_operations(void)
{
	return &operations;
}
