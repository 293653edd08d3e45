/*
 * token_file: reads an API token from a file, the one way options (at
 * start) and the API client (after a 401/403, when the file was rotated)
 * both read it.
 *
 * The file must be a regular file that group and others cannot read;
 * its first line, less surrounding white space, is the token.
 */
#ifndef CATSYNCFS_TOKEN_FILE_H
#define CATSYNCFS_TOKEN_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#define TOKEN_MAX 4096

/* What identifies one version of the file, to tell whether it changed. */
struct token_file_stamp {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/*
 * Reads path.  On success returns 0 with *token (owned by the caller,
 * who should wipe it before freeing) and *stamp set.  On failure returns
 * a negative errno and writes one line saying why to why (no "catsyncfs:"
 * prefix, no newline), e.g. "token file '/x' is readable by group or
 * others; chmod 600 it".
 */
int token_file_read(const char *path, char **token,
		    struct token_file_stamp *stamp, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* Whether path now differs from stamp (or cannot be looked at). */
bool token_file_changed(const char *path, const struct token_file_stamp *stamp);

/*
 * Trims white space around s in place (a token pasted with a trailing
 * space, or "\r" from a file saved on Windows); returns s.
 */
char *token_trim(char *s);

#endif
