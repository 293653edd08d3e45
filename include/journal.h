/*
 * journal: the local record of every change this mount sent and the API
 * accepted, one JSON object per line (JSON Lines), so that a bad save
 * can be undone and a deleted sync brought back (SPEC "Journal").
 *
 * A line is
 *
 *   {"time":"2026-05-01T09:12:01.123Z","account":"...","sync_id":"...",
 *    "name":"prod-vpcs","op":"edit","before":{"policy":"old"},
 *    "after":{"policy":"new"}}
 *
 * The file holds only whole lines: each line is built in memory and
 * written with one write(2) to a descriptor opened O_APPEND, a short write
 * is cut back off, and the line is fdatasync'd before journal_append
 * returns.  A torn tail left by a crash of an older build (or a power
 * loss) is cut off when the journal is opened.  The file is created 0600
 * and missing folders 0700.  Appends are serialized by a mutex and, for
 * mounts that share one file, by flock(2).
 */
#ifndef CATSYNCFS_JOURNAL_H
#define CATSYNCFS_JOURNAL_H

#include <stddef.h>
#include <time.h>

struct journal;

/* One key of a line's "before" or "after" object; strings borrowed. */
struct journal_value {
	const char *key;
	const char *value;
};

/* The most keys a "before" or "after" object holds. */
#define JOURNAL_MAX_VALUES 8

/* One accepted change; every string is borrowed. */
struct journal_change {
	const char *account;
	const char *sync_id;
	const char *name; /* the sync's name before the change */
	const char *op; /* edit, update, create, delete, rename, refresh */
	struct journal_value before[JOURNAL_MAX_VALUES];
	size_t nbefore;
	struct journal_value after[JOURNAL_MAX_VALUES];
	size_t nafter;
};

/*
 * Adds key: value to the change's "before" (or "after") object, in
 * order; a NULL value is stored as "".  Keys past JOURNAL_MAX_VALUES are
 * dropped (no caller has that many).
 */
void journal_change_before(struct journal_change *ch, const char *key,
			   const char *value);
void journal_change_after(struct journal_change *ch, const char *key,
			  const char *value);

/*
 * The default journal path into buf: $XDG_STATE_HOME/catsyncfs/
 * journal.jsonl, else (a user other than root with $HOME set)
 * $HOME/.local/state/catsyncfs/journal.jsonl, else
 * /var/lib/catsyncfs/journal.jsonl.  0, or -ENAMETOOLONG.
 */
int journal_default_path(char *buf, size_t len)
	__attribute__((warn_unused_result));

/*
 * Opens (creating it and its missing folders) the journal at path and
 * checks that it can be written.  0 with *out the caller's
 * (journal_destroy), or -errno with the cause in why.
 */
int journal_open(const char *path, struct journal **out, char *why,
		 size_t whylen) __attribute__((warn_unused_result));

/* Closes the journal; NULL is fine. */
void journal_destroy(struct journal *j);

/* The journal's path (owned by j). */
const char *journal_path(const struct journal *j);

/*
 * The change as one line of JSON ending in \n, stamped with now.  A heap
 * string the caller frees, or NULL when out of memory.  Strings that are
 * not UTF-8 have their stray bytes written as \u00XX.
 */
char *journal_format_line(const struct journal_change *ch,
			  const struct timespec *now);

/*
 * Appends the change, stamped with the current time, as one whole line
 * and syncs it to disk.  0, or -errno with nothing of the line left in
 * the file.
 */
int journal_append(struct journal *j, const struct journal_change *ch)
	__attribute__((warn_unused_result));

#endif
