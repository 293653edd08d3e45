/*
 * tree: what each path of the mount is, what it contains and what stat
 * says about it.
 *
 *   /stats.json                        NODE_STATS (no API call, no lock)
 *   /ACCOUNT/                          NODE_ACCOUNT
 *   /ACCOUNT/last_error                NODE_ACCOUNT_ERROR
 *   /ACCOUNT/policies/                 NODE_POLICIES
 *   /ACCOUNT/policies/P/               NODE_POLICY
 *   /ACCOUNT/policies/P/FILE           NODE_POLICY_FILE
 *   /ACCOUNT/SYNC/                     NODE_SYNC
 *   /ACCOUNT/SYNC/FIELD                NODE_FIELD
 *   /ACCOUNT/SYNC/OTHER                NODE_SCRATCH (exists or not)
 *
 * Inode numbers: serial * 32 + file index, with serials from
 * inode_serial(), so they are stable per sync and field for the life of
 * the mount.  Modes are 0644 for what a write can change and 0444 for
 * the rest (directories 0755/0555).  mtimes come from the API's
 * timestamps (see tree.c).
 */
#ifndef CATSYNCFS_TREE_H
#define CATSYNCFS_TREE_H

#include <stdbool.h>
#include <sys/stat.h>

#include "cache.h"
#include "field.h"

enum node_kind {
	NODE_ROOT,
	NODE_ACCOUNT,
	NODE_ACCOUNT_ERROR,
	NODE_POLICIES,
	NODE_POLICY,
	NODE_POLICY_FILE,
	NODE_SYNC,
	NODE_FIELD,
	NODE_SCRATCH,
	NODE_STATS,
};

/* The file at the root that shows the request budget (stats.h). */
#define TREE_STATS_NAME "stats.json"

enum policy_file {
	POLICY_FILE_POLICY,
	POLICY_FILE_DESCRIPTION,
	POLICY_FILE_DESTINATIONS,
	POLICY_FILE_COUNT,
};

/* A path, resolved.  Pointers into the cache are valid while locked. */
struct node {
	enum node_kind kind;
	struct account *account;
	struct cache_entry *entry; /* NODE_SYNC, NODE_FIELD, NODE_SCRATCH */
	struct prebuilt_entry *prebuilt; /* NODE_POLICY(_FILE) */
	enum field field;
	enum policy_file policy_file;
	const char *leaf; /* the last path component */
	struct scratch *scratch; /* NODE_SCRATCH, NULL when absent */
	struct api *api; /* NODE_STATS: whose budget it shows */
	bool unlinked; /* NODE_FIELD unlinked on this mount (for create) */
	bool locked; /* account is locked until tree_release */
};

/*
 * Resolves path.  For everything below an account folder the account's
 * data is made fresh and the account is left LOCKED on success (release
 * with tree_release); NODE_ROOT and NODE_ACCOUNT need no API data and
 * lock nothing.  -ENOENT, -EACCES, ... on failure, nothing locked.
 */
int tree_resolve(struct cache *c, const char *path, struct node *out)
	__attribute__((warn_unused_result));
void tree_release(struct node *n);

/*
 * As tree_resolve, but a field unlinked on this mount (SPEC: unlink then
 * create is a replace) resolves with unlinked set instead of -ENOENT:
 * for what may create it again (create, rename onto it).
 */
int tree_resolve_unlinked(struct cache *c, const char *path, struct node *out)
	__attribute__((warn_unused_result));

/* Parent folder + leaf of path for create/mkdir/rename: same locking. */
int tree_resolve_parent(struct cache *c, const char *path, struct node *out,
			const char **leaf) __attribute__((warn_unused_result));

/* Policy file names, by enum policy_file (fields: field.h). */
const char *tree_policy_file_name(enum policy_file f);

/*
 * The bytes a read of n returns, as a fresh heap copy (caller frees).
 * 0, -ENOMEM, or -EISDIR for folders.
 */
int tree_content(const struct node *n, char **data, size_t *len)
	__attribute__((warn_unused_result));

/*
 * Inode numbers (and so the kernel's node ids, knodes.h) of what the
 * kernel-cache invalidation names: an account folder, a sync folder and
 * a field of it.  serial is the account's or cache_entry's.
 */
uint64_t tree_folder_ino(uint64_t serial);
/* n's inode number, as tree_stat gives it (n resolved). */
uint64_t tree_ino(const struct node *n);
uint64_t tree_field_ino(uint64_t serial, enum field f);

/* Fills st for n (locked as tree_resolve left it). */
void tree_stat(struct cache *c, const struct node *n, struct stat *st);

#endif
