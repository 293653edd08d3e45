/*
 * writes: every change this mount sends to the API, and what the mount
 * shows after it.
 *
 * Each function checks what it can locally (nothing is sent for input the
 * API would refuse for certain), talks to the API, takes the API's answer
 * into the cache so the files show it at once, and keeps last_error up to
 * date.  They are called without the account lock held and return 0 or a
 * negative errno from the table of api_error.h.
 */
#ifndef CATSYNCFS_WRITES_H
#define CATSYNCFS_WRITES_H

#include <stdbool.h>
#include <stddef.h>

#include "api_json.h"
#include "cache.h"
#include "tree.h"

struct journal;

/*
 * Every change accepted from now on is appended to j (borrowed; it must
 * outlive the mount's writes); NULL journals nothing (nojournal).
 */
void writes_set_journal(struct journal *j);

struct writes_config {
	const char *default_destination_type;
	const char *default_update_mode;
	bool delete_destination;
};

/*
 * Saves a field file's content (name, description, policy, update_mode)
 * or config.json.  base is what the saver was shown (edit_base); on
 * success it becomes what was saved, for the next save of the same open
 * file.  Reads the sync once first: when the server already holds the
 * content nothing is sent, and when the server changed a field since it
 * was shown the save is refused with -ESTALE (the lost-update check).
 */
int writes_save(struct cache *c, struct account *a, const char *sync_id,
		enum field field, const char *content, size_t len,
		struct sync_base *base) __attribute__((warn_unused_result));

/*
 * What a save of content to field would send, checked as far as can be
 * known without the API: a field file's value (content less one trailing
 * newline, UTF-8 without NUL bytes; update_mode AUTO or MANUAL), or
 * config.json's four string keys.  0 with out filled (for a field file
 * only its member), -EINVAL with the reason in why, -EACCES for a field
 * that cannot be written.  out is the caller's (sync_config_finish).
 */
int writes_parse_content(enum field field, const char *content, size_t len,
			 struct sync_config *out, char *why, size_t whylen)
	__attribute__((warn_unused_result));

/* POST .../refresh; its result becomes what `refresh` reads. */
int writes_refresh(struct cache *c, struct account *a, const char *sync_id)
	__attribute__((warn_unused_result));

/* mkdir: creates a sync named by folder (namecodec rules). */
int writes_create(struct cache *c, const struct writes_config *cfg,
		  struct account *a, const char *folder)
	__attribute__((warn_unused_result));

/* rmdir: deletes the sync. */
int writes_delete(struct cache *c, const struct writes_config *cfg,
		  struct account *a, const char *sync_id)
	__attribute__((warn_unused_result));

/* mv: renames the sync to the name that new_folder stands for. */
int writes_rename(struct cache *c, struct account *a, const char *sync_id,
		  const char *new_folder) __attribute__((warn_unused_result));

#endif
