/*
 * edit: open files and what a writer edits.  An open file holds a field's
 * bytes (a snapshot taken at open, then the writer's buffer) and sends
 * them on commit (flush, fsync, release); a scratch file's bytes stay in
 * the scratch list (scratch.h), found again by serial, so that every open
 * of it shares them as on a local disk.
 *
 * It also owns the lost-update bookkeeping: what this mount last showed
 * a reader of each writable field of a sync ("shown", kept per sync in
 * the cache) and what each writer started from (an open file's "base"),
 * both as digests per slot of the writable-field table (field.h).
 *
 * Locking, in the order of cache.h: an open file's own mutex comes first
 * and serialises that open file's operations (the kernel may send a
 * FLUSH and a WRITE of one open file at once); the account lock is taken
 * under it, never the reverse.  The open file's mutex is held across the
 * save it commits: it guards only that open file, so the only callers it
 * can hold up are other operations on that same open file, which must
 * wait for the save's outcome anyway (a write after a failed save must
 * see the poisoned state).  No account lock is held across a network
 * call.  The registry of open files has its own mutex, taken last.
 */
#ifndef CATSYNCFS_EDIT_H
#define CATSYNCFS_EDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cache.h"
#include "field.h"
#include "tree.h"

struct open_file;

/* A 64-bit digest of a value, for struct sync_base. */
uint64_t edit_digest(const char *value);

/*
 * Account locked: records that a reader was shown field (or config.json)
 * of s, for the lost-update check of a later save.
 */
void edit_note_shown(struct account *a, const struct sync *s, enum field f);

/*
 * Account locked: what a writer of field (or config.json) starts from:
 * what this mount last showed of each field it covers, else the
 * listing's value.
 */
void edit_base(struct account *a, const struct sync *s, enum field f,
	       struct sync_base *out);

/* Whether the server's value of slot i differs from what base was shown. */
bool edit_base_stale(const struct sync_base *base, int i, const char *server);

/*
 * Account locked: a save of want (NULL slots were not saved) landed: it
 * is what the mount shows of those fields now, and the base of the next
 * save of the same open file (base may be NULL).
 */
void edit_saved(struct account *a, const char *sync_id,
		char *const want[FIELD_EDITABLE], struct sync_base *base);

/*
 * n resolved and locked (tree_resolve): opens it.  flags are open(2)'s.
 * A field is read now (its snapshot) unless a write truncates or
 * replaces it; page_cache says the kernel may cache its reads.  0 with
 * *out set (free with edit_close), -ENOENT for a gone scratch file,
 * -ENOMEM.
 */
int edit_open(const struct node *n, int flags, bool page_cache,
	      struct open_file **out) __attribute__((warn_unused_result));

/*
 * n locked, a field unlinked on this mount: creates it again (a replace).
 * As after O_TRUNC, only what is then written is sent on commit.
 */
int edit_recreate(const struct node *n, int flags, struct open_file **out)
	__attribute__((warn_unused_result));

/*
 * n locked, a sync folder's child that is no field: creates the scratch
 * file named n->leaf, or opens the existing one (emptied under O_TRUNC).
 */
int edit_create_scratch(const struct node *n, int flags, mode_t mode,
			struct open_file **out)
	__attribute__((warn_unused_result));

/* Read and write as pread/pwrite; the byte count or -errno. */
int edit_read(struct open_file *of, char *buf, size_t size, off_t off);
int edit_write(struct open_file *of, const char *buf, size_t size, off_t off);

/* ftruncate of an open field: 0 or -errno (1 when of is no field). */
int edit_truncate(struct open_file *of, off_t size);

/*
 * Sends what was written to a field since the last commit (nothing for
 * scratch files and readers).  A failure is reported once and not
 * retried behind the user's back.
 */
int edit_commit(struct cache *c, struct open_file *of)
	__attribute__((warn_unused_result));

/* Frees of (NULL is fine); it must not be in use. */
void edit_close(struct open_file *of);

/* Whether reads of of go through the page cache, and its snapshot size. */
bool edit_page_cache(const struct open_file *of);
size_t edit_size(struct open_file *of);

/* Some open file not closed yet (at unmount), or NULL. */
struct open_file *edit_any_open(void);

#endif
