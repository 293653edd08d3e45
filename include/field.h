/*
 * field: the files of a sync folder, and the one table of the four
 * writable fields (name, description, policy, update_mode): their file
 * names, where each lives in struct sync, struct sync_config and struct
 * sync_fields, and their slot in a struct sync_base.  Everything that
 * goes over "the writable fields" goes over FIELD_EDITABLE slots of this
 * table, so a fifth writable field is one line here.  No state.
 */
#ifndef CATSYNCFS_FIELD_H
#define CATSYNCFS_FIELD_H

#include <stdbool.h>
#include <stdint.h>

#include "api_json.h"
#include "sync.h"

enum field {
	FIELD_NAME,
	FIELD_DESCRIPTION,
	FIELD_POLICY,
	FIELD_UPDATE_MODE,
	FIELD_CONFIG,
	FIELD_ID,
	FIELD_DESTINATION_TYPE,
	FIELD_DESTINATION_ID,
	FIELD_STATUS,
	FIELD_LAST_ERROR,
	FIELD_REFRESH,
	FIELD_COUNT,
};

/* The writable fields, slots 0 .. FIELD_EDITABLE - 1; config.json is
 * all of them at once. */
#define FIELD_EDITABLE 4

/* File names, by enum field; and back (-1 when not a field). */
const char *field_name(enum field f);
int field_by_name(const char *name);

/* Whether a write to this field can ever be sent. */
bool field_writable(enum field f);

/* The value a field file holds (no trailing \n); NULL for others. */
const char *field_value(const struct sync *s, enum field f);

/* The field of editable slot i (0 <= i < FIELD_EDITABLE). */
enum field field_of_slot(int i);
/* The editable slot of f, or -1 (config.json and read-only fields). */
int field_slot(enum field f);
/* Whether a save of f covers slot i (f itself, or config.json). */
bool field_covers(enum field f, int i);

/*
 * What a writer was shown of the writable fields, for the lost-update
 * check: a digest per slot (edit_digest).  Only a digest is kept: at
 * 10,000 syncs, copies of every policy read would double the daemon's
 * memory, and equality is all the check needs.
 */
struct sync_base {
	bool known[FIELD_EDITABLE];
	uint64_t digest[FIELD_EDITABLE];
};

/* Where slot i lives in a sync_config (owned) and a sync_fields. */
char **field_config_slot(struct sync_config *c, int i);
const char **field_send_slot(struct sync_fields *f, int i);

#endif
