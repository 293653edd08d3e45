/*
 * hash: the project's one 64-bit string hash (FNV-1a), for hash tables
 * and for the digests of the lost-update check and of policies.  Not for
 * anything an adversary could exploit: short keys, table sizes we pick.
 */
#ifndef CATSYNCFS_HASH_H
#define CATSYNCFS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_INIT 1469598103934665603ULL

/* h extended with len bytes at p; start from HASH_INIT. */
uint64_t hash_bytes(uint64_t h, const void *p, size_t len);

/* The hash of a NUL-terminated string. */
uint64_t hash_string(const char *s);

#endif
