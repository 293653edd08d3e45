/*
 * namecodec: the one reversible rule that turns sync names into folder
 * names, so that every sync has exactly one folder and none is hidden.
 *
 * The rule (also in README and the man page):
 *   1. '%', '/', control bytes (0x01-0x1f, 0x7f) and bytes that are not
 *      part of valid UTF-8 are written as %XX (two uppercase hex digits);
 *      everything else stays as it is.
 *   2. When the result is empty, "." or "..", a reserved entry
 *      ("policies", "last_error"), shared by another sync of the account,
 *      or longer than NAME_MAX allows, "%@" and the sync id are appended
 *      (after cutting the escaped name so that the whole fits in 255
 *      bytes, never inside an escape or a UTF-8 character).
 * Reading a folder name back: one that ends in "%@" + UUID names the sync
 * with that id; any other one is unescaped to the exact sync name.
 */
#ifndef CATSYNCFS_NAMECODEC_H
#define CATSYNCFS_NAMECODEC_H

#include <stdbool.h>
#include <stddef.h>

#define NAMECODEC_MAX 255
#define NAMECODEC_ID_MARK "%@"

/* Step 1: the escaped form of name, owned by the caller.  NULL on ENOMEM. */
char *namecodec_escape(const char *name);

/* Whether an escaped name can stand as a folder on its own (step 2). */
bool namecodec_plain_ok(const char *escaped);

/*
 * Step 2: escaped + "%@" + id, cut to fit.  Owned by the caller.
 */
char *namecodec_with_id(const char *escaped, const char *id);

/*
 * Reads a folder name back.  When it carries an id, *id_out points into
 * folder at the id and 1 is returned; otherwise the exact name is stored
 * in *name_out (owned by the caller) and 0 is returned.  -EINVAL for a
 * folder name that no sync name escapes to (a bad escape); -ENOMEM.
 */
int namecodec_decode(const char *folder, const char **id_out, char **name_out)
	__attribute__((warn_unused_result));

/* Whether name is one of the account folder's own entries. */
bool namecodec_is_reserved(const char *name);

#endif
