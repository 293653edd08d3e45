/*
 * edit: open files, their buffers and commits, and the lost-update
 * digests (see edit.h for the locking).
 *
 * Every open file is in one registry, so that those the kernel never
 * released (a shutdown with files still open) are committed and freed at
 * destroy.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edit.h"
#include "filebuf.h"
#include "hash.h"
#include "lockorder.h"
#include "scratch.h"
#include "writes.h"

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
	struct sync_base base; /* what the writer was shown (edit_base) */
	struct open_file *prev, *next; /* in open_files */
};

/* Taken after of->lock and account locks, never before. */
static pthread_mutex_t open_files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_file *open_files;

/* The locks of this module, with their place in the order (lockorder.h). */
static void of_lock(struct open_file *of)
{
	lockorder_acquire(LOCK_OPEN_FILE);
	pthread_mutex_lock(&of->lock);
}

static void of_unlock(struct open_file *of)
{
	pthread_mutex_unlock(&of->lock);
	lockorder_release(LOCK_OPEN_FILE);
}

static void registry_lock(void)
{
	lockorder_acquire(LOCK_LEAF);
	pthread_mutex_lock(&open_files_lock);
}

static void registry_unlock(void)
{
	pthread_mutex_unlock(&open_files_lock);
	lockorder_release(LOCK_LEAF);
}

uint64_t edit_digest(const char *value)
{
	return hash_string(value);
}

void edit_note_shown(struct account *a, const struct sync *s, enum field f)
{
	struct sync_base *shown;
	int i;

	if (field_slot(f) < 0 && f != FIELD_CONFIG)
		return;
	shown = account_shown(a, s->id, true);
	if (!shown)
		return;
	for (i = 0; i < FIELD_EDITABLE; i++) {
		if (!field_covers(f, i))
			continue;
		shown->known[i] = true;
		shown->digest[i] = edit_digest(
			field_value(s, field_of_slot(i)));
	}
}

void edit_base(struct account *a, const struct sync *s, enum field f,
	       struct sync_base *out)
{
	const struct sync_base *shown = account_shown(a, s->id, false);
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < FIELD_EDITABLE; i++) {
		if (!field_covers(f, i))
			continue;
		out->known[i] = true;
		out->digest[i] = shown && shown->known[i]
					 ? shown->digest[i]
					 : edit_digest(field_value(
						   s, field_of_slot(i)));
	}
}

bool edit_base_stale(const struct sync_base *base, int i, const char *server)
{
	return base && base->known[i] && base->digest[i] != edit_digest(server);
}

void edit_saved(struct account *a, const char *sync_id,
		char *const want[FIELD_EDITABLE], struct sync_base *base)
{
	struct sync_base *shown = NULL;
	int i;

	for (i = 0; i < FIELD_EDITABLE; i++) {
		if (!want[i])
			continue;
		if (!shown)
			shown = account_shown(a, sync_id, true);
		if (shown) {
			shown->known[i] = true;
			shown->digest[i] = edit_digest(want[i]);
		}
		if (base) {
			base->known[i] = true;
			base->digest[i] = edit_digest(want[i]);
		}
	}
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
	registry_lock();
	of->next = open_files;
	if (open_files)
		open_files->prev = of;
	open_files = of;
	registry_unlock();
	return of;
}

void edit_close(struct open_file *of)
{
	if (!of)
		return;
	registry_lock();
	if (of->prev)
		of->prev->next = of->next;
	else
		open_files = of->next;
	if (of->next)
		of->next->prev = of->prev;
	registry_unlock();
	pthread_mutex_destroy(&of->lock);
	free(of->data);
	free(of);
}

struct open_file *edit_any_open(void)
{
	struct open_file *of;

	registry_lock();
	of = open_files;
	registry_unlock();
	return of;
}

int edit_open(const struct node *n, int flags, bool page_cache,
	      struct open_file **out)
{
	bool writing = (flags & O_ACCMODE) != O_RDONLY;
	struct open_file *of;
	int ret = 0;

	*out = NULL;
	if (n->kind == NODE_SCRATCH && !n->scratch) {
		ret = -ENOENT;
		goto out;
	}
	of = open_file_create(n, flags);
	if (!of) {
		ret = -ENOMEM;
		goto out;
	}
	if (n->kind == NODE_SCRATCH) {
		if (flags & O_TRUNC)
			ret = scratch_truncate(n->scratch, 0);
	} else if (n->kind == NODE_FIELD && n->field == FIELD_REFRESH &&
		   writing) {
		/* a write to refresh starts empty: its content is not kept */
	} else if (writing && (flags & O_TRUNC)) {
		edit_base(n->account, n->entry->sync, n->field, &of->base);
	} else {
		ret = tree_content(n, &of->data, &of->len);
		if (!ret && writing)
			edit_base(n->account, n->entry->sync, n->field,
				  &of->base);
		else if (!ret && n->kind == NODE_FIELD)
			edit_note_shown(n->account, n->entry->sync, n->field);
		of->page_cache = !writing && page_cache;
	}
	if (ret)
		edit_close(of);
	else
		*out = of;

out:
	return ret;
}

int edit_recreate(const struct node *n, int flags, struct open_file **out)
{
	int ret = account_set_field_unlinked(n->account, n->entry->sync->id,
					     n->field, false);

	*out = ret ? NULL : open_file_create(n, flags);
	if (!*out) {
		ret = -ENOMEM;
	} else if (n->field != FIELD_REFRESH) {
		/*
		 * As for O_TRUNC: only what is written is sent.  A shell's
		 * `> policy` closes a copy of the file before it writes, and
		 * a tool that creates and dies must not empty a live field.
		 */
		edit_base(n->account, n->entry->sync, n->field, &(*out)->base);
	}
	return ret;
}

int edit_create_scratch(const struct node *n, int flags, mode_t mode,
			struct open_file **out)
{
	struct node made = *n;
	int ret = 0;

	*out = NULL;
	if (!made.scratch) {
		struct scratch_list *l = account_scratch(
			n->account, n->entry->sync->id, true);

		made.scratch = l ? scratch_add(l, n->leaf, mode) : NULL;
	} else if (flags & O_TRUNC) {
		ret = scratch_truncate(made.scratch, 0);
	}
	if (!ret && made.scratch)
		*out = open_file_create(&made, flags);
	if (!ret && !*out)
		ret = -ENOMEM;
	return ret;
}

/* Locked account: the scratch file of this open, or NULL if it is gone. */
static struct scratch *scratch_of(struct open_file *of)
{
	return scratch_by_serial(
		account_scratch(of->account, of->sync_id, false),
		of->scratch_serial);
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

int edit_read(struct open_file *of, char *buf, size_t size, off_t off)
{
	int ret;

	if (of->kind == NODE_SCRATCH) {
		struct scratch *s;

		account_lock(of->account);
		s = scratch_of(of);
		ret = s ? copy_out(s->data, s->len, buf, size, off) : 0;
		account_unlock(of->account);
		return ret;
	}
	of_lock(of);
	ret = copy_out(of->data, of->len, buf, size, off);
	of_unlock(of);
	return ret;
}

int edit_write(struct open_file *of, const char *buf, size_t size, off_t off)
{
	int ret;

	if (of->kind == NODE_SCRATCH) {
		struct scratch *s;

		account_lock(of->account);
		s = scratch_of(of);
		ret = s ? scratch_write(s, buf, size, off, of->append)
			: -ENOENT;
		account_unlock(of->account);
		return ret ? ret : (int)size;
	}
	of_lock(of);
	ret = of->error ? of->error
			: filebuf_write(&of->data, &of->len, buf, size,
					of->append ? (off_t)of->len : off);
	if (!ret && size)
		of->written = true;
	else if (ret)
		of->error = ret;
	of_unlock(of);
	return ret ? ret : (int)size;
}

int edit_truncate(struct open_file *of, off_t size)
{
	int ret;

	if (of->kind != NODE_FIELD)
		return 1;
	of_lock(of);
	ret = of->error ? of->error
			: filebuf_truncate(&of->data, &of->len, size);
	if (ret)
		of->error = ret;
	of_unlock(of);
	return ret;
}

int edit_commit(struct cache *c, struct open_file *of)
{
	int ret = 0;

	of_lock(of);
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
		ret = writes_refresh(c, of->account, of->sync_id);
		goto out_unlock;
	}
	/* on success the next commit of this open starts from what was
	 * saved: writes_save updates of->base */
	ret = writes_save(c, of->account, of->sync_id, of->field,
			  of->data ? of->data : "", of->len, &of->base);

out_unlock:
	of_unlock(of);
	return ret;
}

bool edit_page_cache(const struct open_file *of)
{
	return of->page_cache;
}

size_t edit_size(struct open_file *of)
{
	return of->len;
}
