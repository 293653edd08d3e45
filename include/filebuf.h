/*
 * filebuf: a growable, bounded byte buffer with file semantics (writes at
 * any offset, holes of zeros, truncation), for open files and scratch
 * files.  *data is heap memory the caller owns (free it); NULL with
 * *len 0 is an empty buffer.
 */
#ifndef CATSYNCFS_FILEBUF_H
#define CATSYNCFS_FILEBUF_H

#include <stddef.h>
#include <sys/types.h>

/* The most a file of this mount may hold (a policy is a few KB). */
#define FILEBUF_MAX ((size_t)16 << 20)

/* Writes n bytes of src at off.  0, -EFBIG past FILEBUF_MAX, -ENOMEM. */
int filebuf_write(char **data, size_t *len, const char *src, size_t n,
		  off_t off) __attribute__((warn_unused_result));

/* Cuts or extends (with zeros) to size.  0, -EINVAL, -EFBIG, -ENOMEM. */
int filebuf_truncate(char **data, size_t *len, off_t size)
	__attribute__((warn_unused_result));

#endif
