/*
 * filebuf: the bytes of an open file or a scratch file, as a write() or
 * truncate() leaves them.  Bounded by FILEBUF_MAX so that no writer can
 * make the daemon allocate without limit; the buffer is always
 * NUL-terminated past its length, so it can be handed on as text.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filebuf.h"

int filebuf_write(char **data, size_t *len, const char *src, size_t n,
		  off_t off)
{
	size_t end;
	char *grown;

	if (off < 0)
		return -EINVAL;
	if ((size_t)off > FILEBUF_MAX || n > FILEBUF_MAX - (size_t)off)
		return -EFBIG;
	if (!n)
		return 0; /* writes nothing, extends nothing */
	end = (size_t)off + n;
	if (end > *len) {
		grown = realloc(*data, end + 1);
		if (!grown)
			return -ENOMEM;
		*data = grown;
		/* a write past the end leaves a hole of zeros, as on disk */
		memset(*data + *len, 0,
		       (size_t)off > *len ? (size_t)off - *len : 0);
		*len = end;
		(*data)[end] = '\0';
	}
	memcpy(*data + off, src, n);
	return 0;
}

int filebuf_truncate(char **data, size_t *len, off_t size)
{
	if (size < 0)
		return -EINVAL;
	if ((size_t)size > FILEBUF_MAX)
		return -EFBIG;
	if ((size_t)size > *len) {
		char *grown = realloc(*data, (size_t)size + 1);

		if (!grown)
			return -ENOMEM;
		memset(grown + *len, 0, (size_t)size - *len);
		*data = grown;
	}
	*len = (size_t)size;
	if (*data)
		(*data)[*len] = '\0';
	return 0;
}
