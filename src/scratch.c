/*
 * scratch: the per-folder list of files only this mount holds (see
 * scratch.h).  A short singly linked list: editors keep a handful of
 * files per folder at most, so a walk is cheaper than any index.
 * Locking: the caller holds the account lock.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filebuf.h"
#include "scratch.h"

static void scratch_free(struct scratch *s)
{
	free(s->name);
	free(s->data);
	free(s);
}

void scratch_list_finish(struct scratch_list *l)
{
	struct scratch *s, *next;

	if (!l)
		return;
	for (s = l->head; s; s = next) {
		next = s->next;
		scratch_free(s);
	}
	l->head = NULL;
}

/*
 * The one walk of the list: the link that points at the first file for
 * which stop(file, key) holds, or NULL.
 */
static struct scratch **walk(const struct scratch_list *l,
			     bool (*stop)(struct scratch *s, const void *key),
			     const void *key)
{
	struct scratch **p;

	if (!l)
		return NULL;
	for (p = (struct scratch **)&l->head; *p; p = &(*p)->next)
		if (stop(*p, key))
			return p;
	return NULL;
}

static bool named(struct scratch *s, const void *name)
{
	return !strcmp(s->name, name);
}

static bool numbered(struct scratch *s, const void *serial)
{
	return s->serial == *(const uint64_t *)serial;
}

static bool same(struct scratch *s, const void *other)
{
	return s == other;
}

struct each {
	bool (*fn)(void *arg, struct scratch *s);
	void *arg;
};

static bool each_stops(struct scratch *s, const void *each)
{
	const struct each *e = each;

	return !e->fn(e->arg, s);
}

struct scratch *scratch_find(const struct scratch_list *l, const char *name)
{
	struct scratch **p = walk(l, named, name);

	return p ? *p : NULL;
}

struct scratch *scratch_by_serial(const struct scratch_list *l, uint64_t serial)
{
	struct scratch **p = walk(l, numbered, &serial);

	return p ? *p : NULL;
}

void scratch_each(const struct scratch_list *l,
		  bool (*fn)(void *arg, struct scratch *s), void *arg)
{
	struct each e = { fn, arg };

	(void)walk(l, each_stops, &e);
}

bool scratch_empty(const struct scratch_list *l)
{
	return !l || !l->head;
}

void scratch_remove(struct scratch_list *l, struct scratch *s)
{
	struct scratch **p = s ? walk(l, same, s) : NULL;

	if (!p)
		return;
	*p = s->next;
	scratch_free(s);
}

struct scratch *scratch_add(struct scratch_list *l, const char *name,
			    mode_t mode)
{
	static _Atomic uint64_t made;
	struct scratch *s = calloc(1, sizeof(*s));

	if (s && !(s->name = strdup(name))) {
		free(s);
		s = NULL;
	}
	if (s) {
		scratch_remove(l, scratch_find(l, name));
		s->mode = mode & 07777;
		clock_gettime(CLOCK_REALTIME, &s->mtime);
		s->serial = SCRATCH_SERIAL_BASE + atomic_fetch_add(&made, 1);
		s->next = l->head;
		l->head = s;
	}
	return s;
}

int scratch_rename(struct scratch_list *l, struct scratch *s, const char *name)
{
	struct scratch *old = scratch_find(l, name);
	char *copy = strdup(name);

	if (copy) {
		if (old != s)
			scratch_remove(l, old);
		free(s->name);
		s->name = copy;
	}
	return copy ? 0 : -ENOMEM;
}

int scratch_write(struct scratch *s, const char *buf, size_t size, off_t off,
		  bool append)
{
	int ret = filebuf_write(&s->data, &s->len, buf, size,
				append ? (off_t)s->len : off);

	clock_gettime(CLOCK_REALTIME, &s->mtime);
	return ret;
}

int scratch_truncate(struct scratch *s, off_t size)
{
	int ret = filebuf_truncate(&s->data, &s->len, size);

	clock_gettime(CLOCK_REALTIME, &s->mtime);
	return ret;
}

void scratch_take(struct scratch *s, char *data, size_t len)
{
	free(s->data);
	s->data = data;
	s->len = len;
}

void scratch_set_attr(struct scratch *s, const mode_t *mode,
		      const struct timespec *mtime)
{
	if (mode)
		s->mode = *mode & 07777;
	if (!mtime || mtime->tv_nsec == UTIME_OMIT)
		return;
	if (mtime->tv_nsec == UTIME_NOW)
		clock_gettime(CLOCK_REALTIME, &s->mtime);
	else
		s->mtime = *mtime;
}
