/*
 * inode: serial numbers stable for the life of the mount, one per key
 * ("a:ACCOUNT", "s:SYNC_ID", "p:ACCOUNT/FOLDER"), from which tree.c
 * makes inode numbers.  Serial 1 is the root's; 0 is handed out only
 * when memory runs out (inode 0 is harmless).
 *
 * Locking: one mutex of its own, taken last (under an account lock, see
 * cache.h) and held for a table lookup only.
 */
#ifndef CATSYNCFS_INODE_H
#define CATSYNCFS_INODE_H

#include <pthread.h>
#include <stdint.h>

#include "strmap.h"

struct inode_table {
	pthread_mutex_t lock;
	struct strmap serials; /* key -> serial */
	uint64_t next;
};

void inode_table_init(struct inode_table *t);
void inode_table_finish(struct inode_table *t);

/* The serial of key, made on first use. */
uint64_t inode_serial(struct inode_table *t, const char *key);

/* Drops the serial of prefix+id (a deleted sync), so that creating and
 * deleting syncs does not grow the table for the life of the mount. */
void inode_forget(struct inode_table *t, const char *prefix, const char *id);

#endif
