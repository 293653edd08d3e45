/*
 * lockorder: the per-thread check of the lock order (see lockorder.h).
 * Thread-local state only: no locking.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lockorder.h"

#ifndef NDEBUG
static _Thread_local unsigned int held;

static const char *const level_names[] = {
	[LOCK_OPEN_FILE] = "open file",
	[LOCK_ACCOUNT] = "account",
	[LOCK_LEAF] = "leaf",
};

static void violation(const char *what, enum lock_level l)
{
	fprintf(stderr,
		"catsyncfs: lock order violated: %s %s lock "
		"(held mask %#x)\n",
		what, level_names[l], held);
	abort();
}

void lockorder_acquire(enum lock_level l)
{
	if (held >> l)
		violation("taking", l);
	held |= 1u << l;
}

void lockorder_release(enum lock_level l)
{
	if (!(held & (1u << l)))
		violation("releasing unheld", l);
	held &= ~(1u << l);
}

void lockorder_assert_no_network_lock(void)
{
	if (held & (1u << LOCK_ACCOUNT))
		violation("a network call under the", LOCK_ACCOUNT);
	if (held & (1u << LOCK_LEAF))
		violation("a network call under a", LOCK_LEAF);
}
#else
/* ISO C wants a translation unit to declare something. */
extern int lockorder_unused;
#endif
