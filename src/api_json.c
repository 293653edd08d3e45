/*
 * api_json: parsing and rendering of the API's JSON (see api_json.h).
 *
 * Parsing is strict about what the daemon relies on (types of the fields
 * it shows, the shape of ids it puts into paths and file names) and
 * lenient about the rest: unknown members are carried through to
 * status.json, unknown error codes are kept, and a JSON null for a text
 * field reads as "".
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "ids.h"

/* Parses a body of exactly len bytes; NULL when it is not JSON. */
static cJSON *parse_body(const char *body, size_t len)
{
	if (!body || !len)
		return NULL;
	return cJSON_ParseWithLength(body, len);
}

static cJSON *envelope_result(cJSON *root)
{
	if (!cJSON_IsObject(root))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(root, "result");
}

void api_json_parse_errors(const char *body, size_t len, struct api_error *err)
{
	cJSON *root = parse_body(body, len);
	cJSON *errors, *item;
	size_t used = 0;

	err->ncodes = 0;
	err->message[0] = '\0';
	errors = cJSON_IsObject(root)
			 ? cJSON_GetObjectItemCaseSensitive(root, "errors")
			 : NULL;
	if (!cJSON_IsArray(errors))
		errors = NULL;
	cJSON_ArrayForEach (item, errors) {
		cJSON *code = cJSON_GetObjectItemCaseSensitive(item, "code");
		cJSON *msg = cJSON_GetObjectItemCaseSensitive(item, "message");
		int n;

		if (cJSON_IsNumber(code) && err->ncodes < API_ERROR_MAX_CODES)
			err->codes[err->ncodes++] = code->valueint;
		if (!cJSON_IsString(msg) || used >= sizeof(err->message) - 1)
			continue;
		n = snprintf(err->message + used, sizeof(err->message) - used,
			     "%s%s", used ? "; " : "", msg->valuestring);
		if (n > 0)
			used += (size_t)n;
		if (used >= sizeof(err->message))
			used = sizeof(err->message) - 1;
	}
	cJSON_Delete(root);
}

/*
 * A string member (null reads as ""); -EIO when missing or mistyped.
 * The string is taken out of the tree rather than copied, so that a
 * listing never exists twice in memory (cJSON_Delete skips a NULL
 * valuestring).
 */
static int take_string(cJSON *obj, const char *key, bool required, char **out)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v || cJSON_IsNull(v)) {
		if (required && !v)
			return -EIO;
		*out = strdup("");
	} else if (cJSON_IsString(v)) {
		*out = v->valuestring;
		v->valuestring = NULL;
		/* taken: a second look at this member reads it as missing */
		v->type = cJSON_NULL;
	} else {
		return -EIO;
	}
	return *out ? 0 : -ENOMEM;
}

static const char *const sync_keys[] = {
	"description",
	"destination_id",
	"destination_type",
	"errors",
	"id",
	"includes_discoveries_until",
	"last_attempted_update_at",
	"last_successful_update_at",
	"last_user_update_at",
	"name",
	"policy",
	"update_mode",
	NULL,
};

static bool is_sync_key(const char *k)
{
	const char *const *p;

	for (p = sync_keys; *p; p++)
		if (!strcmp(*p, k))
			return true;
	return false;
}

static int sync_from_json(cJSON *obj, struct sync **out)
{
	struct sync *s;
	const cJSON *errors, *item;
	cJSON *extra = NULL;
	int ret = -EIO;

	if (!cJSON_IsObject(obj))
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (take_string(obj, "id", true, &s->id) ||
	    take_string(obj, "name", true, &s->name) ||
	    take_string(obj, "description", false, &s->description) ||
	    take_string(obj, "policy", false, &s->policy) ||
	    take_string(obj, "destination_type", true, &s->destination_type) ||
	    take_string(obj, "destination_id", false, &s->destination_id) ||
	    take_string(obj, "update_mode", true, &s->update_mode) ||
	    take_string(obj, "last_user_update_at", false,
			&s->last_user_update_at) ||
	    take_string(obj, "last_attempted_update_at", false,
			&s->last_attempted_update_at) ||
	    take_string(obj, "last_successful_update_at", false,
			&s->last_successful_update_at) ||
	    take_string(obj, "includes_discoveries_until", false,
			&s->includes_discoveries_until))
		goto out_destroy;
	/* the id becomes part of URLs and inode keys: only a UUID will do,
	 * and always in one case so that lookups by id are exact */
	if (!ids_is_uuid(s->id))
		goto out_destroy;
	for (char *p = s->id; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');

	errors = cJSON_GetObjectItemCaseSensitive(obj, "errors");
	if (errors && !cJSON_IsNull(errors))
		s->errors_json = cJSON_PrintUnformatted(errors);
	else
		s->errors_json = strdup("{}");
	if (!s->errors_json)
		goto out_destroy;

	cJSON_ArrayForEach (item, obj) {
		if (!item->string || is_sync_key(item->string))
			continue;
		if (!extra && !(extra = cJSON_CreateObject()))
			goto out_destroy;
		cJSON_AddItemToObject(extra, item->string,
				      cJSON_Duplicate(item, true));
	}
	if (extra) {
		s->extra_json = cJSON_PrintUnformatted(extra);
		if (!s->extra_json)
			goto out_destroy;
	}
	*out = s;
	s = NULL;
	ret = 0;

out_destroy:
	cJSON_Delete(extra);
	sync_destroy(s);
	return ret;
}

int api_json_parse_sync(const char *body, size_t len, struct sync **out)
{
	cJSON *root = parse_body(body, len);
	int ret = sync_from_json(envelope_result(root), out);

	cJSON_Delete(root);
	return ret;
}

static int compare_ids(const void *a, const void *b)
{
	const struct sync *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

/* True when two syncs share an id: a listing like that cannot be trusted. */
static bool has_duplicate_ids(struct sync_list *list)
{
	struct sync **sorted;
	bool dup = false;
	size_t i;

	if (list->count < 2)
		return false;
	sorted = malloc(list->count * sizeof(*sorted));
	if (!sorted)
		return true;
	memcpy(sorted, list->items, list->count * sizeof(*sorted));
	qsort(sorted, list->count, sizeof(*sorted), compare_ids);
	for (i = 1; i < list->count && !dup; i++)
		dup = !strcmp(sorted[i - 1]->id, sorted[i]->id);
	free(sorted);
	return dup;
}

/*
 * A listing is parsed one sync at a time: a small scanner finds the
 * "result" array in the envelope and the extent of each element, and only
 * that element becomes a cJSON tree.  A whole-body tree of a 10,000-sync
 * listing costs half again its size on top of the body and the structs.
 * The scanner only delimits; cJSON still validates every element, and
 * anything the scanner cannot delimit is -EIO.
 */
static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"': the byte after the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
	/* memchr to each quote: policies make a listing mostly string */
	for (p++; p < end;) {
		const char *quote = memchr(p, '"', (size_t)(end - p));
		const char *b;

		if (!quote)
			return NULL;
		/* escaped when an odd number of backslashes precede it */
		for (b = quote; b > p && b[-1] == '\\'; b--)
			;
		if ((quote - b) % 2 == 0)
			return quote + 1;
		p = quote + 1;
	}
	return NULL;
}

/* The byte after the value at p, or NULL when it does not end. */
static const char *skip_value(const char *p, const char *end)
{
	size_t depth = 0;

	if (p >= end)
		return NULL;
	if (*p == '"')
		return skip_string(p, end);
	if (*p != '{' && *p != '[') {
		while (p < end && !strchr(",}] \t\r\n", *p))
			p++;
		return p;
	}
	for (; p < end; p++) {
		if (*p == '"') {
			p = skip_string(p, end);
			if (!p)
				return NULL;
			p--;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if ((*p == '}' || *p == ']') && --depth == 0) {
			return p + 1;
		}
	}
	return NULL;
}

/*
 * p at a member's key (after '{' or ','): its value's start, with the
 * key in *key (quotes included) and *key_len; NULL when not a member.
 */
static const char *member_value(const char *p, const char *end,
				const char **key, size_t *key_len)
{
	const char *key_end;

	p = skip_space(p, end);
	if (p >= end || *p != '"' || !(key_end = skip_string(p, end)))
		return NULL;
	*key = p;
	*key_len = (size_t)(key_end - p);
	p = skip_space(key_end, end);
	if (p >= end || *p++ != ':')
		return NULL;
	return skip_space(p, end);
}

/* The start of the envelope's "result" value, or NULL. */
static const char *find_result(const char *p, const char *end)
{
	p = skip_space(p, end);
	if (p >= end || *p++ != '{')
		return NULL;
	for (;;) {
		const char *key;
		size_t key_len;

		p = member_value(p, end, &key, &key_len);
		if (!p)
			return NULL;
		if (key_len == 8 && !memcmp(key, "\"result\"", 8))
			return p;
		p = skip_value(p, end);
		if (!p)
			return NULL;
		p = skip_space(p, end);
		if (p >= end || *p++ != ',')
			return NULL;
	}
}

/* After the result array: the envelope's other members, then its end. */
static bool envelope_tail_ok(const char *p, const char *end)
{
	for (;;) {
		const char *key;
		size_t key_len;

		p = skip_space(p, end);
		if (p < end && *p == '}')
			return skip_space(p + 1, end) == end;
		if (p >= end || *p++ != ',')
			return false;
		p = member_value(p, end, &key, &key_len);
		if (!p || !(p = skip_value(p, end)))
			return false;
	}
}

static int add_sync(struct sync_list *out, size_t *cap, const char *p,
		    size_t len)
{
	cJSON *obj = cJSON_ParseWithLength(p, len);
	int ret;

	if (out->count == *cap) {
		size_t grown_cap = *cap ? *cap * 2 : 64;
		struct sync **grown = realloc(out->items,
					      grown_cap * sizeof(*grown));

		if (!grown) {
			cJSON_Delete(obj);
			return -ENOMEM;
		}
		out->items = grown;
		*cap = grown_cap;
	}
	ret = sync_from_json(obj, &out->items[out->count]);
	cJSON_Delete(obj);
	if (!ret)
		out->count++;
	return ret;
}

int api_json_parse_sync_list(const char *body, size_t len,
			     struct sync_list *out)
{
	const char *end = body + len;
	const char *p = body ? find_result(body, end) : NULL;
	size_t cap = 0;
	int ret = -EIO;

	out->items = NULL;
	out->count = 0;
	if (!p || p >= end || *p++ != '[')
		goto out_free;
	for (p = skip_space(p, end); p < end && *p != ']';) {
		const char *next = skip_value(p, end);

		if (!next || *p != '{')
			goto out_free;
		ret = add_sync(out, &cap, p, (size_t)(next - p));
		if (ret)
			goto out_free;
		ret = -EIO;
		p = skip_space(next, end);
		if (p < end && *p == ',') {
			p = skip_space(p + 1, end);
			if (p < end && *p == ']')
				goto out_free; /* [a,] is not JSON */
		} else if (p >= end || *p != ']') {
			goto out_free;
		}
	}
	if (p >= end || !envelope_tail_ok(p + 1, end))
		goto out_free;
	ret = has_duplicate_ids(out) ? -EIO : 0;

out_free:
	if (ret)
		sync_list_finish(out);
	return ret;
}

static int policy_from_json(cJSON *obj, struct policy *p)
{
	const cJSON *dests, *d;
	size_t total = 1, used = 0;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(obj) ||
	    take_string(obj, "policy_name", true, &p->name) ||
	    take_string(obj, "policy_description", false, &p->description) ||
	    take_string(obj, "policy_string", false, &p->policy))
		goto fail;
	dests = cJSON_GetObjectItemCaseSensitive(obj,
						 "applicable_destinations");
	if (dests && !cJSON_IsNull(dests) && !cJSON_IsArray(dests))
		goto fail;
	cJSON_ArrayForEach (d, dests) {
		if (!cJSON_IsString(d) || strchr(d->valuestring, '\n'))
			goto fail;
		total += strlen(d->valuestring) + 1;
	}
	p->applicable_destinations = malloc(total);
	if (!p->applicable_destinations)
		goto fail;
	cJSON_ArrayForEach (d, dests) {
		size_t n = strlen(d->valuestring);

		memcpy(p->applicable_destinations + used, d->valuestring, n);
		used += n;
		p->applicable_destinations[used++] = '\n';
	}
	p->applicable_destinations[used] = '\0';
	return 0;

fail:
	policy_finish(p);
	return -EIO;
}

int api_json_parse_policy_list(const char *body, size_t len,
			       struct policy_list *out)
{
	cJSON *root = parse_body(body, len);
	cJSON *result = envelope_result(root);
	cJSON *item;
	int n, ret = -EIO;

	out->items = NULL;
	out->count = 0;
	if (!cJSON_IsArray(result))
		goto out_free;
	n = cJSON_GetArraySize(result);
	out->items = calloc(n ? (size_t)n : 1, sizeof(*out->items));
	if (!out->items) {
		ret = -ENOMEM;
		goto out_free;
	}
	cJSON_ArrayForEach (item, result) {
		ret = policy_from_json(item, &out->items[out->count]);
		if (ret)
			goto out_free;
		out->count++;
	}
	ret = 0;

out_free:
	cJSON_Delete(root);
	if (ret)
		policy_list_finish(out);
	return ret;
}

int api_json_parse_account_page(const char *body, size_t len,
				struct id_list *out, size_t *page_count)
{
	cJSON *root = parse_body(body, len);
	cJSON *result = envelope_result(root);
	cJSON *item;
	int ret = -EIO;

	*page_count = 0;
	if (!cJSON_IsArray(result))
		goto out_free;
	cJSON_ArrayForEach (item, result) {
		cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");

		if (!cJSON_IsString(id) || !ids_is_account_id(id->valuestring))
			goto out_free;
		ret = id_list_add(out, id->valuestring);
		if (ret)
			goto out_free;
		(*page_count)++;
	}
	ret = 0;

out_free:
	cJSON_Delete(root);
	return ret;
}

int api_json_parse_string_result(const char *body, size_t len, char **out)
{
	cJSON *root = parse_body(body, len);
	cJSON *result = envelope_result(root);
	int ret = -EIO;

	if (cJSON_IsString(result)) {
		*out = strdup(result->valuestring);
		ret = *out ? 0 : -ENOMEM;
	}
	cJSON_Delete(root);
	return ret;
}

int api_json_parse_deleted(const char *body, size_t len, const char *id)
{
	cJSON *root = parse_body(body, len);
	cJSON *result = envelope_result(root);
	cJSON *rid = cJSON_GetObjectItemCaseSensitive(result, "id");
	int ret = -EIO;

	if (cJSON_IsString(rid) && !strcasecmp(rid->valuestring, id))
		ret = 0;
	cJSON_Delete(root);
	return ret;
}

static bool add_string(cJSON *obj, const char *key, const char *value)
{
	return !value || cJSON_AddStringToObject(obj, key, value);
}

char *api_json_fields_body(const struct sync_fields *f)
{
	cJSON *obj = cJSON_CreateObject();
	char *text = NULL;

	if (obj && add_string(obj, "name", f->name) &&
	    add_string(obj, "description", f->description) &&
	    add_string(obj, "policy", f->policy) &&
	    add_string(obj, "update_mode", f->update_mode) &&
	    add_string(obj, "destination_type", f->destination_type))
		text = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	return text;
}

/* Pretty-prints obj and appends the \n every JSON file ends in. */
static char *print_with_newline(cJSON *obj)
{
	char *text = cJSON_Print(obj);
	size_t n;
	char *grown;

	if (!text)
		return NULL;
	n = strlen(text);
	grown = realloc(text, n + 2);
	if (!grown) {
		free(text);
		return NULL;
	}
	grown[n] = '\n';
	grown[n + 1] = '\0';
	return grown;
}

char *api_json_render_status(const struct sync *s)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *errors = NULL, *extra = NULL, *item;
	char *text = NULL;
	bool ok;

	if (!obj)
		return NULL;
	errors = cJSON_Parse(s->errors_json ? s->errors_json : "{}");
	ok = add_string(obj, "description", s->description) &&
	     add_string(obj, "destination_id", s->destination_id) &&
	     add_string(obj, "destination_type", s->destination_type);
	if (ok && errors) {
		cJSON_AddItemToObject(obj, "errors", errors);
		errors = NULL;
	}
	ok = ok && add_string(obj, "id", s->id);
	if (ok && s->includes_discoveries_until[0])
		ok = add_string(obj, "includes_discoveries_until",
				s->includes_discoveries_until);
	if (ok && s->last_attempted_update_at[0])
		ok = add_string(obj, "last_attempted_update_at",
				s->last_attempted_update_at);
	if (ok && s->last_successful_update_at[0])
		ok = add_string(obj, "last_successful_update_at",
				s->last_successful_update_at);
	ok = ok &&
	     add_string(obj, "last_user_update_at", s->last_user_update_at) &&
	     add_string(obj, "name", s->name) &&
	     add_string(obj, "policy", s->policy) &&
	     add_string(obj, "update_mode", s->update_mode);
	if (ok && s->extra_json && (extra = cJSON_Parse(s->extra_json))) {
		while ((item = extra->child)) {
			cJSON_DetachItemViaPointer(extra, item);
			cJSON_AddItemToObject(obj, item->string, item);
		}
	}
	if (ok)
		text = print_with_newline(obj);
	cJSON_Delete(extra);
	cJSON_Delete(errors);
	cJSON_Delete(obj);
	return text;
}

char *api_json_render_config(const struct sync *s)
{
	cJSON *obj = cJSON_CreateObject();
	char *text = NULL;

	if (obj && add_string(obj, "name", s->name) &&
	    add_string(obj, "description", s->description) &&
	    add_string(obj, "policy", s->policy) &&
	    add_string(obj, "update_mode", s->update_mode))
		text = print_with_newline(obj);
	cJSON_Delete(obj);
	return text;
}

void sync_config_finish(struct sync_config *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->description);
	free(c->policy);
	free(c->update_mode);
	memset(c, 0, sizeof(*c));
}

static const char *const config_keys[] = {
	"name", "description", "policy", "update_mode", NULL,
};

int api_json_parse_config(const char *text, size_t len, struct sync_config *out,
			  char *why, size_t whylen)
{
	cJSON *root = parse_body(text, len);
	char **slots[] = { &out->name, &out->description, &out->policy,
			   &out->update_mode };
	cJSON *item;
	int i, ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root)) {
		snprintf(why, whylen, "config.json is not a JSON object");
		goto out_free;
	}
	cJSON_ArrayForEach (item, root) {
		bool known = false;

		for (i = 0; config_keys[i]; i++)
			known |= item->string &&
				 !strcmp(item->string, config_keys[i]);
		if (!known) {
			snprintf(why, whylen,
				 "config.json has unknown key '%s'",
				 item->string ? item->string : "");
			goto out_free;
		}
	}
	for (i = 0; config_keys[i]; i++) {
		item = cJSON_GetObjectItemCaseSensitive(root, config_keys[i]);
		if (!cJSON_IsString(item)) {
			snprintf(why, whylen,
				 "config.json needs '%s' as a string",
				 config_keys[i]);
			goto out_free;
		}
		*slots[i] = strdup(item->valuestring);
		if (!*slots[i]) {
			ret = -ENOMEM;
			goto out_free;
		}
	}
	if (!sync_update_mode_valid(out->update_mode)) {
		snprintf(why, whylen,
			 "update_mode must be AUTO or MANUAL, not '%s'",
			 out->update_mode);
		goto out_free;
	}
	ret = 0;

out_free:
	cJSON_Delete(root);
	if (ret)
		sync_config_finish(out);
	return ret;
}

const char *api_json_library_version(void)
{
	return cJSON_Version();
}
