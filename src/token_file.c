/*
 * token_file: reading the API token from a file (see token_file.h).
 *
 * A symbolic link is refused rather than followed: the mount would send
 * whatever file the link names to the API as a credential, and a mode
 * check on the link itself says nothing.  The message says so, since a
 * bare ELOOP ("Too many levels of symbolic links") explains nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "token_file.h"

char *token_trim(char *s)
{
	size_t len = strlen(s), start = 0;

	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	while (start < len && isspace((unsigned char)s[start]))
		start++;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
	return s;
}

static void stamp_of(const struct stat *st, struct token_file_stamp *stamp)
{
	stamp->dev = st->st_dev;
	stamp->ino = st->st_ino;
	stamp->size = st->st_size;
	stamp->mtime = st->st_mtim;
}

/* Why open(path, O_NOFOLLOW) failed, in words a user can act on. */
static void explain_open(const char *path, int err, char *why, size_t whylen)
{
	struct stat st;

	if (err == ELOOP && !lstat(path, &st) && S_ISLNK(st.st_mode))
		snprintf(why, whylen,
			 "token file '%s' is a symbolic link; give the path "
			 "of the file itself",
			 path);
	else
		snprintf(why, whylen, "cannot read token file '%s': %s", path,
			 strerror(err));
}

int token_file_read(const char *path, char **token,
		    struct token_file_stamp *stamp, char *why, size_t whylen)
{
	char buf[TOKEN_MAX + 2];
	struct stat st;
	ssize_t n;
	int ret = -EACCES;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	*token = NULL;
	if (fd < 0) {
		ret = -errno;
		explain_open(path, errno, why, whylen);
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snprintf(why, whylen, "cannot read token file '%s': %s", path,
			 strerror(errno));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "token file '%s' is not a regular file",
			 path);
		goto out_close;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		snprintf(why, whylen,
			 "token file '%s' is readable by group or others; "
			 "chmod 600 it",
			 path);
		goto out_close;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		ret = -errno;
		snprintf(why, whylen, "cannot read token file '%s': %s", path,
			 strerror(errno));
		goto out_wipe;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	token_trim(buf);
	if (!buf[0]) {
		ret = -EINVAL;
		snprintf(why, whylen, "token file '%s' is empty", path);
		goto out_wipe;
	}
	if (strlen(buf) > TOKEN_MAX) {
		ret = -EINVAL;
		snprintf(why, whylen,
			 "token file '%s' holds no token of at most %d bytes",
			 path, TOKEN_MAX);
		goto out_wipe;
	}
	*token = strdup(buf);
	ret = *token ? 0 : -ENOMEM;
	if (ret)
		snprintf(why, whylen, "out of memory");
	else
		stamp_of(&st, stamp);

out_wipe:
	explicit_bzero(buf, sizeof(buf));
out_close:
	close(fd);
	return ret;
}

bool token_file_changed(const char *path, const struct token_file_stamp *stamp)
{
	struct stat st;

	if (lstat(path, &st))
		return true;
	return st.st_dev != stamp->dev || st.st_ino != stamp->ino ||
	       st.st_size != stamp->size ||
	       st.st_mtim.tv_sec != stamp->mtime.tv_sec ||
	       st.st_mtim.tv_nsec != stamp->mtime.tv_nsec;
}
