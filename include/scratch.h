/*
 * scratch: the files that live only in this mount (editor swap files,
 * `cp` temporaries) inside one sync folder.  The list is held by the
 * sync's state in the cache (account_scratch()); this module is the only
 * code that walks or changes it.
 *
 * Locking: none of its own.  Every function is called with the account
 * of the list locked (account_assert_locked), and a struct scratch is
 * valid only until the account is unlocked: after that it is found
 * again by serial (scratch_by_serial), never kept by pointer.
 */
#ifndef CATSYNCFS_SCRATCH_H
#define CATSYNCFS_SCRATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct scratch {
	struct scratch *next;
	char *name; /* owned */
	char *data; /* owned, may be NULL when len is 0 */
	size_t len;
	mode_t mode;
	struct timespec mtime;
	/* inode serial, unique for the mount's life (SCRATCH_SERIAL_BASE+) */
	uint64_t serial;
};

/* Zero-initialised is empty. */
struct scratch_list {
	struct scratch *head;
};

/*
 * Scratch files take serials from their own counter, above any serial
 * inode_serial() will ever hand out, so that the many short-lived files
 * editors make do not grow the mount-wide serial table.
 */
#define SCRATCH_SERIAL_BASE ((uint64_t)1 << 40)

/* Frees every file of l (l may be NULL). */
void scratch_list_finish(struct scratch_list *l);

/* The file named name / with that serial, or NULL (l may be NULL). */
struct scratch *scratch_find(const struct scratch_list *l, const char *name);
struct scratch *scratch_by_serial(const struct scratch_list *l,
				  uint64_t serial);
bool scratch_empty(const struct scratch_list *l);

/* Calls fn for each file, newest first, until it returns false. */
void scratch_each(const struct scratch_list *l,
		  bool (*fn)(void *arg, struct scratch *s), void *arg);

/*
 * Adds an empty file name (mode & 07777, mtime now), replacing one of the
 * same name.  NULL on ENOMEM.
 */
struct scratch *scratch_add(struct scratch_list *l, const char *name,
			    mode_t mode);

/* Unlinks and frees s (nothing when s is not in l). */
void scratch_remove(struct scratch_list *l, struct scratch *s);

/* Renames s to name, replacing another file of that name.  0 or -ENOMEM. */
int scratch_rename(struct scratch_list *l, struct scratch *s, const char *name)
	__attribute__((warn_unused_result));

/* Byte changes, as a local disk does them; each sets the mtime to now. */
int scratch_write(struct scratch *s, const char *buf, size_t size, off_t off,
		  bool append) __attribute__((warn_unused_result));
int scratch_truncate(struct scratch *s, off_t size)
	__attribute__((warn_unused_result));
/* Takes data (heap, owned from now on) as the whole content. */
void scratch_take(struct scratch *s, char *data, size_t len);

/* chmod and utimens: mode NULL or mtime NULL keeps that attribute;
 * mtime->tv_nsec UTIME_NOW is now, UTIME_OMIT keeps it. */
void scratch_set_attr(struct scratch *s, const mode_t *mode,
		      const struct timespec *mtime);

#endif
