/*
 * sync: the project's own picture of a catalog sync and of a prebuilt
 * policy, as the JSON mapping hands them over (no cJSON in sight).
 *
 * Every string is a NUL-terminated heap copy owned by the struct; a value
 * the API sent as JSON null is stored as "".  Timestamps stay as the API's
 * RFC 3339 text (empty when absent) and are parsed where they are shown.
 */
#ifndef CATSYNCFS_SYNC_H
#define CATSYNCFS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct sync {
	char *id;
	char *name;
	char *description;
	char *policy;
	char *destination_type;
	char *destination_id;
	char *update_mode;
	char *last_user_update_at;
	char *last_attempted_update_at;
	char *last_successful_update_at;
	char *includes_discoveries_until;
	/* the "errors" member as compact JSON ("{}" when absent) */
	char *errors_json;
	/* members this version does not know, as a compact JSON object */
	char *extra_json;
};

/* Frees everything the sync owns and the sync itself; NULL is fine. */
void sync_destroy(struct sync *s);
/* A deep copy, or NULL when out of memory. Caller owns it. */
struct sync *sync_clone(const struct sync *s);

struct sync_list {
	struct sync **items;
	size_t count;
};

void sync_list_finish(struct sync_list *list);

struct policy {
	char *name;
	char *description;
	char *policy;
	/* one destination per line, each line ending in \n */
	char *applicable_destinations;
};

void policy_finish(struct policy *p);

struct policy_list {
	struct policy *items;
	size_t count;
};

void policy_list_finish(struct policy_list *list);

struct id_list {
	char **items;
	size_t count;
};

void id_list_finish(struct id_list *list);
/* Appends a copy of id; 0 or -ENOMEM. */
int id_list_add(struct id_list *list, const char *id)
	__attribute__((warn_unused_result));

/*
 * The writable fields of a sync, as a create, PUT or PATCH sends them.
 * A NULL member is not sent.  The strings are borrowed, not owned.
 */
struct sync_fields {
	const char *name;
	const char *description;
	const char *policy;
	const char *update_mode;
	const char *destination_type; /* create only */
};

/* "AUTO"/"MANUAL" and "NONE"/"ZERO_TRUST_LIST". */
bool sync_update_mode_valid(const char *s);
bool sync_destination_type_valid(const char *s);

/*
 * Parses an RFC 3339 timestamp ("2026-11-29T08:12:01Z", with or without a
 * fraction, "Z" or a numeric offset) into *out. 0, or -EINVAL.
 */
int sync_parse_time(const char *text, struct timespec *out)
	__attribute__((warn_unused_result));

#endif
