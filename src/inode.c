/*
 * inode: the mount's serial table (see inode.h).  Locking: t->lock only,
 * never held while taking another lock.
 */
#include <stdio.h>

#include "inode.h"
#include "lockorder.h"

void inode_table_init(struct inode_table *t)
{
	pthread_mutex_init(&t->lock, NULL);
	strmap_init(&t->serials);
	t->next = 1; /* serial 1 stays the root's */
}

void inode_table_finish(struct inode_table *t)
{
	strmap_finish(&t->serials);
	pthread_mutex_destroy(&t->lock);
}

uint64_t inode_serial(struct inode_table *t, const char *key)
{
	uint64_t serial;
	void *v;

	lockorder_acquire(LOCK_LEAF);
	pthread_mutex_lock(&t->lock);
	v = strmap_get(&t->serials, key);
	if (v) {
		serial = (uint64_t)(uintptr_t)v;
	} else {
		serial = ++t->next;
		if (strmap_put(&t->serials, key, (void *)(uintptr_t)serial))
			serial = 0; /* out of memory: inode 0 is harmless */
	}
	pthread_mutex_unlock(&t->lock);
	lockorder_release(LOCK_LEAF);
	return serial;
}

void inode_forget(struct inode_table *t, const char *prefix, const char *id)
{
	char key[64];

	snprintf(key, sizeof(key), "%s%s", prefix, id);
	lockorder_acquire(LOCK_LEAF);
	pthread_mutex_lock(&t->lock);
	strmap_remove(&t->serials, key);
	pthread_mutex_unlock(&t->lock);
	lockorder_release(LOCK_LEAF);
}
