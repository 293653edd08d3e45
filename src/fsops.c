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

#include "filebuf.h"
#include "fsops.h"
#include "log.h"
#include "tree.h"
#include "writes.h"

/*
 * An open file.  A field's bytes live here (a snapshot at open, then the
 * writer's buffer) and are sent on flush; a scratch file's bytes live in
 * the cache (struct scratch), found again by serial, so that every open
 * of it shares them as on a local disk.
 */
struct open_file {
	pthread_mutex_t lock;
	enum node_kind kind;
	struct account *account;
	char sync_id[40];
	enum field field;
	uint64_t scratch_serial;
	bool append;
	bool page_cache; /* read through the kernel's page cache */
	bool written; /* a write() since the last commit */
	/* a write() or truncate that failed: nothing of this open is sent,
	 * and its commit returns this error (EFBIG past the size limit) */
	int error;
	char *data;
	size_t len;
	struct sync_base base; /* what the writer was shown (writes_base) */
	struct open_file *prev, *next; /* in open_files */
};

/*
 * Every open file, so that those the kernel never released (a shutdown
 * with files still open) are committed and freed at destroy.
 */
static pthread_mutex_t open_files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_file *open_files;

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
	if (!ret && of && of->page_cache)
		st->st_size = (off_t)of->len;
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
	struct sync_state *st;
	struct scratch *s;
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
		if (!dir_add(d, tree_field_name(f), &n))
			return 0;
	}
	st = strmap_get(&dir->account->states, dir->entry->sync->id);
	n.kind = NODE_SCRATCH;
	for (s = st ? st->scratch : NULL; s; s = s->next) {
		n.scratch = s;
		if (!dir_add(d, s->name, &n))
			break;
	}
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

static struct open_file *open_file_create(const struct node *n, int flags)
{
	struct open_file *of = calloc(1, sizeof(*of));

	if (!of)
		return NULL;
	pthread_mutex_init(&of->lock, NULL);
	of->kind = n->kind;
	of->account = n->account;
	of->field = n->field;
	of->append = flags & O_APPEND;
	if (n->entry)
		snprintf(of->sync_id, sizeof(of->sync_id), "%s",
			 n->entry->sync->id);
	if (n->scratch)
		of->scratch_serial = n->scratch->serial;
	pthread_mutex_lock(&open_files_lock);
	of->next = open_files;
	if (open_files)
		open_files->prev = of;
	open_files = of;
	pthread_mutex_unlock(&open_files_lock);
	return of;
}

static void open_file_destroy(struct open_file *of)
{
	if (!of)
		return;
	pthread_mutex_lock(&open_files_lock);
	if (of->prev)
		of->prev->next = of->next;
	else
		open_files = of->next;
	if (of->next)
		of->next->prev = of->prev;
	pthread_mutex_unlock(&open_files_lock);
	pthread_mutex_destroy(&of->lock);
	free(of->data);
	free(of);
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
	    (n->kind == NODE_FIELD && tree_field_writable(n->field)))
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
	fi->direct_io = !of->page_cache;
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
	of = open_file_create(&n, fi->flags);
	if (!of) {
		ret = -ENOMEM;
		goto out_release;
	}
	if (n.kind == NODE_SCRATCH) {
		if (fi->flags & O_TRUNC) {
			n.scratch->len = 0;
			clock_gettime(CLOCK_REALTIME, &n.scratch->mtime);
		}
	} else if (n.kind == NODE_FIELD && n.field == FIELD_REFRESH &&
		   writing) {
		/* a write to refresh starts empty: its content is not kept */
		of->data = NULL;
	} else if (writing && (fi->flags & O_TRUNC)) {
		of->data = NULL;
		writes_base(n.account, n.entry->sync, n.field, &of->base);
	} else {
		ret = tree_content(&n, &of->data, &of->len);
		if (!ret && writing)
			writes_base(n.account, n.entry->sync, n.field,
				    &of->base);
		else if (!ret && n.kind == NODE_FIELD)
			writes_note_shown(n.account, n.entry->sync, n.field);
		of->page_cache = !writing && kernel_size_holds(&n);
	}
	if (ret) {
		open_file_destroy(of);
		goto out_release;
	}
	hand_out(fi, of);

out_release:
	tree_release(&n);
	return ret;
}

/* Locked account: the scratch file of this open, or NULL if it is gone. */
static struct scratch *scratch_of(struct open_file *of)
{
	struct sync_state *st = strmap_get(&of->account->states, of->sync_id);
	struct scratch *s;

	for (s = st ? st->scratch : NULL; s; s = s->next)
		if (s->serial == of->scratch_serial)
			return s;
	return NULL;
}

static int copy_out(const char *data, size_t len, char *buf, size_t size,
		    off_t off)
{
	if (off < 0)
		return -EINVAL;
	if ((size_t)off >= len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(buf, data + off, size);
	return (int)size;
}

static int fsops_read(const char *path, char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct open_file *of = handle(fi);
	int ret;

	if (of->kind == NODE_SCRATCH) {
		struct scratch *s;

		account_lock(of->account);
		s = scratch_of(of);
		ret = s ? copy_out(s->data, s->len, buf, size, off) : 0;
		account_unlock(of->account);
		return ret;
	}
	pthread_mutex_lock(&of->lock);
	ret = copy_out(of->data, of->len, buf, size, off);
	pthread_mutex_unlock(&of->lock);
	return ret;
}

static int fsops_write(const char *path, const char *buf, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	struct open_file *of = handle(fi);
	int ret;

	if (of->kind == NODE_SCRATCH) {
		struct scratch *s;

		account_lock(of->account);
		s = scratch_of(of);
		ret = -ENOENT;
		if (s) {
			ret = filebuf_write(&s->data, &s->len, buf, size,
					    of->append ? (off_t)s->len : off);
			clock_gettime(CLOCK_REALTIME, &s->mtime);
		}
		account_unlock(of->account);
		return ret ? ret : (int)size;
	}
	pthread_mutex_lock(&of->lock);
	ret = of->error ? of->error
			: filebuf_write(&of->data, &of->len, buf, size,
					of->append ? (off_t)of->len : off);
	if (!ret && size)
		of->written = true;
	else if (ret)
		of->error = ret;
	pthread_mutex_unlock(&of->lock);
	return ret ? ret : (int)size;
}

/*
 * Sends what was written to a field since the last commit.  Called on
 * every flush (close), fsync and release; a failure is reported once
 * and not retried behind the user's back.
 */
static int commit(struct fsops_context *c, struct open_file *of)
{
	int ret = 0;

	pthread_mutex_lock(&of->lock);
	if (of->kind != NODE_FIELD)
		goto out_unlock;
	if (of->error) {
		/* part of what was written is missing: send none of it */
		ret = of->error;
		of->written = false;
		goto out_unlock;
	}
	if (!of->written)
		goto out_unlock;
	of->written = false;
	if (of->field == FIELD_REFRESH) {
		ret = writes_refresh(c->cache, of->account, of->sync_id);
		goto out_unlock;
	}
	/* on success the next commit of this open starts from what was
	 * saved: writes_save updates of->base */
	ret = writes_save(c->cache, of->account, of->sync_id, of->field,
			  of->data ? of->data : "", of->len, &of->base);

out_unlock:
	pthread_mutex_unlock(&of->lock);
	return ret;
}

static int fsops_flush(const char *path, struct fuse_file_info *fi)
{
	return commit(ctx(), handle(fi));
}

static int fsops_fsync(const char *path, int datasync,
		       struct fuse_file_info *fi)
{
	return commit(ctx(), handle(fi));
}

static int fsops_release(const char *path, struct fuse_file_info *fi)
{
	struct open_file *of = handle(fi);

	if (of) {
		/* a process killed between write and close still lands */
		if (commit(ctx(), of))
			log_error("a write to '%s' failed at release", path);
		open_file_destroy(of);
	}
	return 0;
}

/* Locked account: adds an empty scratch file to the sync's folder. */
/*
 * Scratch files take serials from their own counter, above any serial
 * cache_serial() will ever hand out, so that the many short-lived files
 * editors make do not grow the mount-wide serial table.
 */
#define SCRATCH_SERIAL_BASE ((uint64_t)1 << 40)

static struct scratch *scratch_add(struct account *a, const char *sync_id,
				   const char *name, mode_t mode)
{
	static _Atomic uint64_t made;
	struct sync_state *st = account_state(a, sync_id);
	struct scratch *s;

	if (!st)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(name))) {
		free(s);
		return NULL;
	}
	s->mode = mode & 07777;
	clock_gettime(CLOCK_REALTIME, &s->mtime);
	s->serial = SCRATCH_SERIAL_BASE + atomic_fetch_add(&made, 1);
	s->next = st->scratch;
	st->scratch = s;
	return s;
}

/* Locked account: unlinks and frees the scratch file s. */
static void scratch_remove(struct account *a, const char *sync_id,
			   struct scratch *s)
{
	struct sync_state *st = strmap_get(&a->states, sync_id);
	struct scratch **p;

	for (p = st ? &st->scratch : NULL; p && *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			free(s->name);
			free(s->data);
			free(s);
			return;
		}
	}
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

	if (ret)
		return ret;
	ret = account_set_field_unlinked(n->account, n->entry->sync->id,
					 n->field, false);
	of = ret ? NULL : open_file_create(n, fi->flags);
	if (!of)
		return -ENOMEM;
	if (n->field != FIELD_REFRESH) {
		writes_base(n->account, n->entry->sync, n->field, &of->base);
		of->written = true;
	}
	hand_out(fi, of);
	return 0;
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
	if (!n.scratch)
		n.scratch = scratch_add(n.account, n.entry->sync->id, n.leaf,
					mode);
	else if (fi->flags & O_TRUNC)
		n.scratch->len = 0;
	of = n.scratch ? open_file_create(&n, fi->flags) : NULL;
	if (!of) {
		ret = -ENOMEM;
		goto out_release;
	}
	hand_out(fi, of);

out_release:
	tree_release(&n);
	return ret;
}

static int fsops_truncate(const char *path, off_t size,
			  struct fuse_file_info *fi)
{
	struct open_file *of = fi ? handle(fi) : NULL;
	struct node n;
	int ret;

	if (of && of->kind == NODE_FIELD) {
		pthread_mutex_lock(&of->lock);
		ret = of->error ? of->error
				: filebuf_truncate(&of->data, &of->len, size);
		if (ret)
			of->error = ret;
		pthread_mutex_unlock(&of->lock);
		return ret;
	}
	ret = tree_resolve(ctx()->cache, path, &n);
	if (ret)
		return ret;
	ret = write_refusal(&n);
	if (!ret && n.kind == NODE_SCRATCH) {
		if (!n.scratch) {
			ret = -ENOENT;
		} else {
			ret = filebuf_truncate(&n.scratch->data,
					       &n.scratch->len, size);
			clock_gettime(CLOCK_REALTIME, &n.scratch->mtime);
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
			scratch_remove(n.account, n.entry->sync->id, n.scratch);
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
	struct sync_state *st;
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
	st = ret ? NULL : strmap_get(&n.account->states, n.entry->sync->id);
	if (!ret && st && st->scratch)
		ret = -ENOTEMPTY; /* files of this mount would be lost */
	if (!ret)
		snprintf(id, sizeof(id), "%s", n.entry->sync->id);
	tree_release(&n);
	return ret ? ret : writes_delete(c->cache, &cfg, n.account, id);
}

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
static void rename_side_get(const char *path, bool unlinked,
			    struct rename_side *side)
{
	struct node n;

	memset(side, 0, sizeof(*side));
	side->resolved = unlinked
				 ? tree_resolve_unlinked(ctx()->cache, path, &n)
				 : tree_resolve(ctx()->cache, path, &n);
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
static int field_to_scratch(const char *from, const struct rename_side *dst)
{
	struct scratch *s, *old;
	struct node n;
	char *data = NULL;
	size_t len = 0;
	int ret = tree_resolve(ctx()->cache, from, &n);

	if (ret)
		return ret;
	if (n.kind != NODE_FIELD) {
		tree_release(&n);
		return -ENOENT;
	}
	ret = tree_content(&n, &data, &len);
	if (!ret) {
		struct sync_state *st = strmap_get(&n.account->states,
						   n.entry->sync->id);

		writes_note_shown(n.account, n.entry->sync, n.field);
		old = NULL;
		for (s = st ? st->scratch : NULL; s; s = s->next)
			if (!strcmp(s->name, dst->leaf))
				old = s;
		if (old)
			scratch_remove(n.account, n.entry->sync->id, old);
		s = scratch_add(n.account, n.entry->sync->id, dst->leaf, 0644);
		if (s) {
			s->data = data;
			s->len = len;
			data = NULL;
		} else {
			ret = -ENOMEM;
		}
	}
	free(data);
	tree_release(&n);
	return ret;
}

/* Sends a scratch file's bytes as the field `to`, then drops the scratch. */
static int scratch_to_field(const char *from, const struct rename_side *dst)
{
	struct fsops_context *c = ctx();
	struct sync_base base;
	char *data = NULL;
	size_t len = 0;
	struct node n;
	uint64_t serial;
	int ret = tree_resolve(c->cache, from, &n);

	if (ret)
		return ret;
	if (n.kind != NODE_SCRATCH || !n.scratch) {
		tree_release(&n);
		return -ENOENT;
	}
	ret = tree_content(&n, &data, &len);
	serial = n.scratch->serial;
	if (!ret)
		writes_base(n.account, n.entry->sync, dst->field, &base);
	tree_release(&n);
	if (ret)
		return ret;
	if (dst->field == FIELD_REFRESH)
		ret = len ? writes_refresh(c->cache, dst->account, dst->sync_id)
			  : 0;
	else
		ret = writes_save(c->cache, dst->account, dst->sync_id,
				  dst->field, data, len, &base);
	free(data);
	if (ret)
		return ret; /* the scratch stays: nothing is lost */
	/*
	 * The rename is done: the scratch name is gone.  Found again by
	 * identity, not by path: saving `name` renamed the folder.
	 */
	account_lock(dst->account);
	{
		struct sync_state *st = strmap_get(&dst->account->states,
						   dst->sync_id);
		struct scratch *s;

		for (s = st ? st->scratch : NULL; s; s = s->next)
			if (s->serial == serial)
				break;
		if (s)
			scratch_remove(dst->account, dst->sync_id, s);
		/* a field unlinked before is back: it was just saved */
		ret = account_set_field_unlinked(dst->account, dst->sync_id,
						 dst->field, false);
	}
	account_unlock(dst->account);
	return ret;
}

/* Renames a scratch file within its folder (replacing a scratch `to`). */
static int scratch_rename(const char *from, const struct rename_side *dst)
{
	struct scratch *s, *old = NULL;
	struct sync_state *st;
	struct node n;
	char *name;
	int ret = tree_resolve(ctx()->cache, from, &n);

	if (ret)
		return ret;
	/* the listing may have changed since rename looked (a remote rename) */
	if (n.kind != NODE_SCRATCH || !n.scratch) {
		tree_release(&n);
		return -ENOENT;
	}
	st = strmap_get(&n.account->states, n.entry->sync->id);
	for (s = st ? st->scratch : NULL; s; s = s->next)
		if (!strcmp(s->name, dst->leaf) && s != n.scratch)
			old = s;
	name = strdup(dst->leaf);
	if (!name) {
		ret = -ENOMEM;
	} else {
		if (old)
			scratch_remove(n.account, n.entry->sync->id, old);
		free(n.scratch->name);
		n.scratch->name = name;
	}
	tree_release(&n);
	return ret;
}

static bool same_folder(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	return sa - a == sb - b && !strncmp(a, b, (size_t)(sa - a));
}

static int fsops_rename(const char *from, const char *to, unsigned int flags)
{
	struct fsops_context *c = ctx();
	struct rename_side src, dst;
	const char *leaf;
	struct node parent;
	int ret;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	ret = caller_refusal();
	if (ret)
		return ret;
	/* one side at a time: both may live in one locked account */
	rename_side_get(from, false, &src);
	if (src.resolved)
		return src.resolved;
	if (src.kind == NODE_SCRATCH && !src.exists)
		return -ENOENT;
	rename_side_get(to, true, &dst);
	if (dst.resolved && dst.resolved != -ENOENT)
		return dst.resolved;
	ret = tree_resolve_parent(c->cache, to, &parent, &leaf);
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
		return writes_rename(c->cache, src.account, src.sync_id,
				     dst.leaf);
	case NODE_SCRATCH:
	case NODE_FIELD:
		if (!same_folder(from, to))
			return parent.kind == NODE_SYNC ? -EXDEV : -EACCES;
		if (src.kind == NODE_FIELD && dst.kind == NODE_FIELD &&
		    !dst.resolved)
			return -EPERM;
		if (src.kind == NODE_FIELD)
			return field_to_scratch(from, &dst);
		if (!dst.resolved && dst.kind == NODE_FIELD) {
			if (!tree_field_writable(dst.field))
				return -EACCES;
			return scratch_to_field(from, &dst);
		}
		return scratch_rename(from, &dst);
	default:
		return -EACCES;
	}
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
			if (mode)
				n.scratch->mode = *mode & 07777;
			if (mtime && mtime->tv_nsec != UTIME_OMIT) {
				if (mtime->tv_nsec == UTIME_NOW)
					clock_gettime(CLOCK_REALTIME,
						      &n.scratch->mtime);
				else
					n.scratch->mtime = *mtime;
			}
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

	for (;;) {
		struct open_file *of;

		pthread_mutex_lock(&open_files_lock);
		of = open_files;
		pthread_mutex_unlock(&open_files_lock);
		if (!of)
			break;
		if (commit(c, of))
			log_error("a write still open at unmount failed");
		open_file_destroy(of);
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
