/*
 * field: the table of sync folder files (see field.h).  No state.
 */
#include <stddef.h>
#include <string.h>

#include "field.h"

struct field_info {
	const char *name;
	bool writable;
	int slot; /* editable slot, or -1 */
	/* offsets in struct sync, sync_config, sync_fields, or -1 */
	long in_sync, in_config, in_send;
};

#define EDITABLE(n, member, s)                                                 \
	{                                                                      \
		n, true, s, offsetof(struct sync, member),                     \
			offsetof(struct sync_config, member),                  \
			offsetof(struct sync_fields, member)                   \
	}
#define SHOWN(n, member)                                                       \
	{                                                                      \
		n, false, -1, offsetof(struct sync, member), -1, -1            \
	}
#define OTHER(n, w)                                                            \
	{                                                                      \
		n, w, -1, -1, -1, -1                                           \
	}

static const struct field_info fields[FIELD_COUNT] = {
	[FIELD_NAME] = EDITABLE("name", name, 0),
	[FIELD_DESCRIPTION] = EDITABLE("description", description, 1),
	[FIELD_POLICY] = EDITABLE("policy", policy, 2),
	[FIELD_UPDATE_MODE] = EDITABLE("update_mode", update_mode, 3),
	[FIELD_CONFIG] = OTHER("config.json", true),
	[FIELD_ID] = SHOWN("id", id),
	[FIELD_DESTINATION_TYPE] = SHOWN("destination_type", destination_type),
	[FIELD_DESTINATION_ID] = SHOWN("destination_id", destination_id),
	[FIELD_STATUS] = OTHER("status.json", false),
	[FIELD_LAST_ERROR] = OTHER("last_error", false),
	[FIELD_REFRESH] = OTHER("refresh", true),
};

static const enum field by_slot[FIELD_EDITABLE] = {
	FIELD_NAME,
	FIELD_DESCRIPTION,
	FIELD_POLICY,
	FIELD_UPDATE_MODE,
};

const char *field_name(enum field f)
{
	return f < FIELD_COUNT ? fields[f].name : NULL;
}

int field_by_name(const char *name)
{
	int i;

	for (i = 0; i < FIELD_COUNT; i++)
		if (!strcmp(fields[i].name, name))
			return i;
	return -1;
}

bool field_writable(enum field f)
{
	return f < FIELD_COUNT && fields[f].writable;
}

const char *field_value(const struct sync *s, enum field f)
{
	if (f >= FIELD_COUNT || fields[f].in_sync < 0)
		return NULL;
	return *(const char *const *)((const char *)s + fields[f].in_sync);
}

enum field field_of_slot(int i)
{
	return by_slot[i];
}

int field_slot(enum field f)
{
	return f < FIELD_COUNT ? fields[f].slot : -1;
}

bool field_covers(enum field f, int i)
{
	return f == FIELD_CONFIG || field_slot(f) == i;
}

char **field_config_slot(struct sync_config *c, int i)
{
	return (char **)((char *)c + fields[by_slot[i]].in_config);
}

const char **field_send_slot(struct sync_fields *f, int i)
{
	return (const char **)((char *)f + fields[by_slot[i]].in_send);
}
