/*
 * hash: FNV-1a (see hash.h).  No state, no locking.
 */
#include <string.h>

#include "hash.h"

uint64_t hash_bytes(uint64_t h, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}

uint64_t hash_string(const char *s)
{
	return hash_bytes(HASH_INIT, s, strlen(s));
}
