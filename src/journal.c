/*
 * journal: JSON Lines record of accepted changes (see journal.h).
 *
 * Invariant: the file holds only whole lines, each ending in \n.  An
 * append is one line built in memory and written at the end of the file
 * (O_APPEND) while holding the journal's mutex and an exclusive flock(2),
 * so that neither this mount's threads nor another mount sharing the file
 * can interleave with it.  If any write fails the file is cut back to its
 * size before the append; if the process dies mid-write, the torn tail is
 * cut off at the next journal_open.  fdatasync() runs before an append
 * reports success, so a change reported as journaled survives a crash.
 *
 * The JSON is written here rather than through cJSON (which only
 * api_json.c may include): the line is a fixed shape of string members,
 * and the one thing to get right, string escaping, is small and has its
 * own unit test.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "utf8.h"

struct journal {
	char *path;
	int fd;
	pthread_mutex_t lock;
};

void journal_change_before(struct journal_change *ch, const char *key,
			   const char *value)
{
	if (ch->nbefore >= JOURNAL_MAX_VALUES)
		return;
	ch->before[ch->nbefore].key = key;
	ch->before[ch->nbefore].value = value ? value : "";
	ch->nbefore++;
}

void journal_change_after(struct journal_change *ch, const char *key,
			  const char *value)
{
	if (ch->nafter >= JOURNAL_MAX_VALUES)
		return;
	ch->after[ch->nafter].key = key;
	ch->after[ch->nafter].value = value ? value : "";
	ch->nafter++;
}

int journal_default_path(char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n;

	/* the XDG spec ignores a relative $XDG_STATE_HOME */
	if (state && state[0] == '/')
		n = snprintf(buf, len, "%s/catsyncfs/journal.jsonl", state);
	else if (geteuid() != 0 && home && home[0] == '/')
		n = snprintf(buf, len,
			     "%s/.local/state/catsyncfs/journal.jsonl", home);
	else
		n = snprintf(buf, len, "/var/lib/catsyncfs/journal.jsonl");
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A growing string; on ENOMEM it keeps failed set and drops the rest. */
struct line {
	char *p;
	size_t len, cap;
	bool failed;
};

static void line_add(struct line *l, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (l->failed)
		return;
	if (l->len + n + 1 > l->cap) {
		cap = l->cap ? l->cap : 256;
		while (cap < l->len + n + 1)
			cap *= 2;
		p = realloc(l->p, cap);
		if (!p) {
			l->failed = true;
			return;
		}
		l->p = p;
		l->cap = cap;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
	l->p[l->len] = '\0';
}

static void line_puts(struct line *l, const char *s)
{
	line_add(l, s, strlen(s));
}

/* s as a JSON string, quotes included. */
static void line_string(struct line *l, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, seq;
	char esc[8];

	line_add(l, "\"", 1);
	while (i < n) {
		unsigned char c = u[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			line_add(l, esc, 2);
			i++;
		} else if (c == '\n') {
			line_add(l, "\\n", 2);
			i++;
		} else if (c == '\t') {
			line_add(l, "\\t", 2);
			i++;
		} else if (c == '\r') {
			line_add(l, "\\r", 2);
			i++;
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			line_add(l, esc, 6);
			i++;
		} else if (c < 0x80) {
			line_add(l, s + i, 1);
			i++;
		} else if ((seq = utf8_sequence_length(u + i, n - i))) {
			line_add(l, s + i, seq);
			i += seq;
		} else {
			/* not UTF-8: keep the byte visible, keep the JSON valid
			 */
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			line_add(l, esc, 6);
			i++;
		}
	}
	line_add(l, "\"", 1);
}

static void line_member(struct line *l, const char *key, const char *value,
			bool first)
{
	if (!first)
		line_add(l, ",", 1);
	line_string(l, key);
	line_add(l, ":", 1);
	line_string(l, value ? value : "");
}

static void line_object(struct line *l, const char *key,
			const struct journal_value *v, size_t n)
{
	size_t i;

	line_add(l, ",", 1);
	line_string(l, key);
	line_add(l, ":{", 2);
	for (i = 0; i < n; i++)
		line_member(l, v[i].key, v[i].value, i == 0);
	line_add(l, "}", 1);
}

char *journal_format_line(const struct journal_change *ch,
			  const struct timespec *now)
{
	struct line l = { 0 };
	char stamp[64], secs[32];
	struct tm tm;

	if (!gmtime_r(&now->tv_sec, &tm) ||
	    !strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm))
		secs[0] = '\0';
	snprintf(stamp, sizeof(stamp), "%s.%03ldZ", secs,
		 now->tv_nsec / 1000000);
	line_add(&l, "{", 1);
	line_member(&l, "time", stamp, true);
	line_member(&l, "account", ch->account, false);
	line_member(&l, "sync_id", ch->sync_id, false);
	line_member(&l, "name", ch->name, false);
	line_member(&l, "op", ch->op, false);
	line_object(&l, "before", ch->before, ch->nbefore);
	line_object(&l, "after", ch->after, ch->nafter);
	line_puts(&l, "}\n");
	if (l.failed) {
		free(l.p);
		return NULL;
	}
	return l.p;
}

/* mkdir -p of path's folder, each new folder 0700. */
static int make_parents(const char *path, char *why, size_t whylen)
{
	char dir[PATH_MAX];
	char *p;
	int n = snprintf(dir, sizeof(dir), "%s", path);

	if (n < 0 || (size_t)n >= sizeof(dir)) {
		snprintf(why, whylen, "the path is too long");
		return -ENAMETOOLONG;
	}
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			snprintf(why, whylen, "cannot create folder '%s': %s",
				 dir, strerror(errno));
			return -errno;
		}
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		snprintf(why, whylen, "cannot create folder '%s': %s", dir,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

/*
 * Cuts a torn last line (no final \n) off the file of size size: what
 * a write cut short by a crash left behind.  0 or -errno.
 */
static int cut_torn_tail(int fd, off_t size, const char *path)
{
	char buf[4096];
	off_t end = size, keep = 0;
	ssize_t n, i;

	if (size == 0)
		return 0;
	if (pread(fd, buf, 1, size - 1) != 1)
		return -EIO;
	if (buf[0] == '\n')
		return 0;
	while (end > 0 && !keep) {
		off_t from = end > (off_t)sizeof(buf) ? end - sizeof(buf) : 0;

		n = pread(fd, buf, end - from, from);
		if (n != end - from)
			return n < 0 ? -errno : -EIO;
		for (i = n - 1; i >= 0; i--)
			if (buf[i] == '\n') {
				keep = from + i + 1;
				break;
			}
		end = from;
	}
	if (ftruncate(fd, keep))
		return -errno;
	log_error("journal '%s': cut off a torn last line of %lld bytes "
		  "(a crash during a write)",
		  path, (long long)(size - keep));
	return fdatasync(fd) ? -errno : 0;
}

/*
 * Whether an existing file is a journal: empty, or its first line starts
 * as every line this module writes.  Anything else (a wrong path) is
 * refused rather than appended to, or cut by cut_torn_tail.
 */
static int check_is_journal(int fd, off_t size, char *why, size_t whylen)
{
	static const char start[] = "{\"time\":\"";
	char buf[sizeof(start) - 1];

	if (size == 0)
		return 0;
	if (size < (off_t)sizeof(buf) ||
	    pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) ||
	    memcmp(buf, start, sizeof(buf))) {
		snprintf(why, whylen,
			 "not a catsyncfs journal (its first "
			 "line is not a journal line)");
		return -EINVAL;
	}
	return 0;
}

/* Whether one more line could be stored: room for a block past the end. */
static int probe_space(int fd, off_t size)
{
	int ret = 0;

	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, size, 4096)) {
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			ret = -errno;
	}
	/* gives back the block, past the end, that fallocate reserved */
	if (ftruncate(fd, size) && !ret)
		ret = -errno;
	return ret;
}

/* A relative path made absolute (the daemon later changes to /). */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX];
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) < 0)
		return NULL;
	return out;
}

int journal_open(const char *path, struct journal **out, char *why,
		 size_t whylen)
{
	struct journal *j;
	struct stat st;
	bool created = false;
	int ret;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (!j) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	j->fd = -1;
	j->path = path && *path ? absolute(path) : NULL;
	if (!j->path) {
		ret = path && *path ? -ENOMEM : -EINVAL;
		snprintf(why, whylen, "%s",
			 path && *path ? "out of memory" : "empty path");
		goto out_free;
	}
	ret = make_parents(j->path, why, whylen);
	if (ret)
		goto out_free;
	j->fd = open(j->path,
		     O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC |
			     O_NOFOLLOW,
		     0600);
	if (j->fd >= 0)
		created = true;
	else if (errno == EEXIST)
		j->fd = open(j->path,
			     O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (j->fd < 0) {
		ret = -errno;
		snprintf(why, whylen, "%s%s",
			 errno == ELOOP ? "a symbolic link is not followed: "
					: "cannot open: ",
			 errno == ELOOP ? "give the file itself"
					: strerror(errno));
		goto out_free;
	}
	if (fstat(j->fd, &st)) {
		ret = -errno;
		snprintf(why, whylen, "cannot stat: %s", strerror(errno));
		goto out_free;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(why, whylen, "not a regular file");
		goto out_free;
	}
	/*
	 * A file someone else made (in /tmp, say) could be read by them, or
	 * fed forged lines that an undo would replay: only the mounting
	 * user's own private file is used.
	 */
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		ret = -EACCES;
		snprintf(why, whylen,
			 st.st_uid != geteuid()
				 ? "owned by another user"
				 : "readable or writable by group or others; "
				   "chmod 600 it");
		goto out_free;
	}
	ret = check_is_journal(j->fd, st.st_size, why, whylen);
	if (ret)
		goto out_free;
	if (flock(j->fd, LOCK_EX)) {
		ret = -errno;
		snprintf(why, whylen, "cannot lock: %s", strerror(errno));
		goto out_free;
	}
	ret = cut_torn_tail(j->fd, st.st_size, j->path);
	if (!ret && !fstat(j->fd, &st))
		ret = probe_space(j->fd, st.st_size);
	if (flock(j->fd, LOCK_UN) && !ret)
		ret = -errno;
	if (ret) {
		snprintf(why, whylen, "cannot write: %s", strerror(-ret));
		goto out_free;
	}
	if (created) {
		/* the new file's name must survive a crash too */
		char *slash = strrchr(j->path, '/');
		char dir[PATH_MAX];
		int dfd;

		snprintf(dir, sizeof(dir), "%.*s",
			 (int)(slash == j->path ? 1 : slash - j->path),
			 j->path);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			if (fsync(dfd))
				log_debug("journal: fsync of '%s': %s", dir,
					  strerror(errno));
			close(dfd);
		}
	}
	pthread_mutex_init(&j->lock, NULL);
	*out = j;
	return 0;

out_free:
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	free(j);
	return ret;
}

void journal_destroy(struct journal *j)
{
	if (!j)
		return;
	close(j->fd);
	pthread_mutex_destroy(&j->lock);
	free(j->path);
	free(j);
}

const char *journal_path(const struct journal *j)
{
	return j->path;
}

/* Writes all of line at the end of the file; on failure cuts it back. */
static int append_locked(struct journal *j, const char *line, size_t len)
{
	struct stat st;
	size_t done = 0;
	ssize_t n;
	int ret = 0;

	if (fstat(j->fd, &st))
		return -errno;
	while (done < len) {
		n = write(j->fd, line + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -ENOSPC;
			break;
		}
		done += n;
	}
	if (!ret && fdatasync(j->fd))
		ret = -errno;
	if (ret && done && ftruncate(j->fd, st.st_size))
		log_error("journal '%s': cannot cut off a failed line: %s",
			  j->path, strerror(errno));
	return ret;
}

int journal_append(struct journal *j, const struct journal_change *ch)
{
	struct timespec now;
	char *line;
	int ret;

	clock_gettime(CLOCK_REALTIME, &now);
	line = journal_format_line(ch, &now);
	if (!line)
		return -ENOMEM;
	pthread_mutex_lock(&j->lock);
	if (flock(j->fd, LOCK_EX)) {
		ret = -errno;
	} else {
		ret = append_locked(j, line, strlen(line));
		if (flock(j->fd, LOCK_UN) && !ret)
			ret = -errno;
	}
	pthread_mutex_unlock(&j->lock);
	free(line);
	return ret;
}
