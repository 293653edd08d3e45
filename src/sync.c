/*
 * sync: lifetime helpers for the plain data structs of sync.h, the two
 * enums, and the RFC 3339 parser that turns API timestamps into mtimes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sync.h"

void sync_destroy(struct sync *s)
{
	if (!s)
		return;
	free(s->id);
	free(s->name);
	free(s->description);
	free(s->policy);
	free(s->destination_type);
	free(s->destination_id);
	free(s->update_mode);
	free(s->last_user_update_at);
	free(s->last_attempted_update_at);
	free(s->last_successful_update_at);
	free(s->includes_discoveries_until);
	free(s->errors_json);
	free(s->extra_json);
	free(s);
}

static bool dup_into(char **dst, const char *src)
{
	*dst = strdup(src ? src : "");
	return *dst != NULL;
}

struct sync *sync_clone(const struct sync *s)
{
	struct sync *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (!dup_into(&c->id, s->id) || !dup_into(&c->name, s->name) ||
	    !dup_into(&c->description, s->description) ||
	    !dup_into(&c->policy, s->policy) ||
	    !dup_into(&c->destination_type, s->destination_type) ||
	    !dup_into(&c->destination_id, s->destination_id) ||
	    !dup_into(&c->update_mode, s->update_mode) ||
	    !dup_into(&c->last_user_update_at, s->last_user_update_at) ||
	    !dup_into(&c->last_attempted_update_at,
		      s->last_attempted_update_at) ||
	    !dup_into(&c->last_successful_update_at,
		      s->last_successful_update_at) ||
	    !dup_into(&c->includes_discoveries_until,
		      s->includes_discoveries_until) ||
	    !dup_into(&c->errors_json, s->errors_json)) {
		sync_destroy(c);
		return NULL;
	}
	if (s->extra_json && !(c->extra_json = strdup(s->extra_json))) {
		sync_destroy(c);
		return NULL;
	}
	return c;
}

void sync_list_finish(struct sync_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		sync_destroy(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

void policy_finish(struct policy *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->description);
	free(p->policy);
	free(p->applicable_destinations);
	memset(p, 0, sizeof(*p));
}

void policy_list_finish(struct policy_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		policy_finish(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

void id_list_finish(struct id_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++)
		free(list->items[i]);
	free(list->items);
	list->items = NULL;
	list->count = 0;
}

int id_list_add(struct id_list *list, const char *id)
{
	char **grown;
	char *copy = strdup(id);

	if (!copy)
		return -ENOMEM;
	grown = realloc(list->items, (list->count + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return -ENOMEM;
	}
	grown[list->count++] = copy;
	list->items = grown;
	return 0;
}

bool sync_update_mode_valid(const char *s)
{
	return s && (!strcmp(s, "AUTO") || !strcmp(s, "MANUAL"));
}

bool sync_destination_type_valid(const char *s)
{
	return s && (!strcmp(s, "NONE") || !strcmp(s, "ZERO_TRUST_LIST"));
}

/* Reads exactly n decimal digits at *p, advancing it. */
static bool take_digits(const char **p, int n, long *out)
{
	long v = 0;

	while (n--) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return true;
}

static bool take_char(const char **p, char c)
{
	if (**p != c && !(c == 'T' && (**p == 't' || **p == ' ')))
		return false;
	(*p)++;
	return true;
}

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (days past a month's end run on into the next, as timegm does).
 * Not timegm: glibc takes its timezone lock for it, and every stat of a
 * field parses a timestamp, from many worker threads at once.
 */
static long long days_from_civil(long y, long m, long d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int sync_parse_time(const char *text, struct timespec *out)
{
	const char *p = text;
	long year, mon, day, hour, min, sec, nsec = 0, off = 0;

	if (!p || !take_digits(&p, 4, &year) || !take_char(&p, '-') ||
	    !take_digits(&p, 2, &mon) || !take_char(&p, '-') ||
	    !take_digits(&p, 2, &day) || !take_char(&p, 'T') ||
	    !take_digits(&p, 2, &hour) || !take_char(&p, ':') ||
	    !take_digits(&p, 2, &min) || !take_char(&p, ':') ||
	    !take_digits(&p, 2, &sec))
		return -EINVAL;
	if (*p == '.') {
		long scale = 100000000;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			nsec += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;
		long oh, om;

		p++;
		if (!take_digits(&p, 2, &oh) || !take_char(&p, ':') ||
		    !take_digits(&p, 2, &om))
			return -EINVAL;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return -EINVAL;
	}
	if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 60)
		return -EINVAL;
	out->tv_sec = (time_t)(days_from_civil(year, mon, day) * 86400 +
			       hour * 3600 + min * 60 + sec - off);
	out->tv_nsec = nsec;
	return 0;
}
