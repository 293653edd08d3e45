/*
 * knodes: the nodes the kernel holds, by node id.
 *
 * The kernel names every file it has looked up by a node id and sends
 * that id, not a path, with each later request.  A node id here is the
 * file's inode number (tree.h: stable per sync, field and policy for the
 * life of the mount; the root's is 1, as FUSE wants), and this table
 * keeps, for each id the kernel holds, where it was last seen (parent id
 * and name) and how many lookups the kernel has not forgotten yet.  So a
 * request's path is built from the table, and the invalidation thread
 * (kinval.h) knows what the kernel may have cached.
 *
 * Locking: one mutex of its own, held for a table operation only and
 * never across a call into another module.
 */
#ifndef CATSYNCFS_KNODES_H
#define CATSYNCFS_KNODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A path built from the table fits here (the kernel's own limit). */
#define KNODES_PATH_MAX 4096

/* Sets up the table with the root (id 1) in it; false on ENOMEM. */
bool knodes_init(void);
void knodes_finish(void);

/*
 * The kernel looked name up in parent and got id (LOOKUP, CREATE,
 * MKDIR, or one READDIRPLUS entry): one more lookup to forget, and id
 * is at parent/name now (it may have moved since: a rename elsewhere).
 * 0 or -ENOMEM.
 */
int knodes_remember(uint64_t id, uint64_t parent, const char *name)
	__attribute__((warn_unused_result));
/* The kernel forgot count lookups of id. */
void knodes_forget(uint64_t id, uint64_t count);
/*
 * The path of id ("/" for the root, else "/a/b"), or of name inside id
 * when name is not NULL, into out (KNODES_PATH_MAX bytes).  0, -ENOENT
 * when id is unknown or no longer has a name, -ENAMETOOLONG.
 */
int knodes_path(uint64_t id, const char *name, char *out)
	__attribute__((warn_unused_result));
/* id now lives at parent/name (a rename through the mount). */
void knodes_move(uint64_t id, uint64_t parent, const char *name);
/* id lost its name (unlinked, or replaced by a rename): its requests
 * find no path until it is looked up again. */
void knodes_unname(uint64_t id);
/* Whether the kernel holds id. */
bool knodes_known(uint64_t id);
/*
 * Whether the kernel's page cache holds id's content as this daemon put
 * it there (kinval_store), and setting it; unknown ids hold nothing.
 */
bool knodes_pages(uint64_t id);
void knodes_set_pages(uint64_t id, bool held);
/*
 * The ids the kernel holds, as a fresh array (caller frees) of *count;
 * NULL with *count 0 on ENOMEM.
 */
uint64_t *knodes_all(size_t *count);

#endif
