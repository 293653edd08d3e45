/*
 * faults.c - the fault list behind POST /__emulator/faults.
 *
 * Faults are tried in the order they were added and each match uses one
 * count, so a test can script "fail twice, then succeed". A match hands
 * out a copy of the fault's parameters because the fault itself is freed
 * when its count runs out, possibly while the request is still hanging.
 *
 * Locking: none here; callers hold the emulator's state mutex.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults.h"
#include "store.h"

static const char *const action_names[] = {
	[FAULT_STATUS] = "status", [FAULT_HANG] = "hang",
	[FAULT_RESET] = "reset",   [FAULT_MALFORMED] = "malformed",
	[FAULT_HUGE] = "huge",	   [FAULT_BODY] = "body",
};

void fault_list_init(struct fault_list *list)
{
	list->head = NULL;
	list->tail = NULL;
}

void fault_hit_finish(struct fault_hit *hit)
{
	if (!hit)
		return;
	free(hit->retry_after);
	free(hit->retry_after_ms);
	free(hit->should_retry);
	free(hit->body);
	cJSON_Delete(hit->headers);
	memset(hit, 0, sizeof(*hit));
}

static void fault_destroy(struct fault *f)
{
	if (!f)
		return;
	free(f->method);
	free(f->pattern);
	regfree(&f->re);
	fault_hit_finish(&f->hit);
	free(f);
}

void fault_list_clear(struct fault_list *list)
{
	struct fault *f = list->head;

	while (f) {
		struct fault *next = f->next;

		fault_destroy(f);
		f = next;
	}
	fault_list_init(list);
}

/* A header value may be given as a string or a number. */
static int opt_header(const cJSON *spec, const char *key, char **out, char *err,
		      size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, key);
	char num[32];

	if (!item)
		return 0;
	if (cJSON_IsString(item)) {
		*out = strdup(item->valuestring);
	} else if (cJSON_IsNumber(item)) {
		snprintf(num, sizeof(num), "%ld", (long)item->valuedouble);
		*out = strdup(num);
	} else if (cJSON_IsBool(item)) {
		*out = strdup(cJSON_IsTrue(item) ? "true" : "false");
	} else {
		snprintf(err, errlen, "\"%s\" must be a string", key);
		return -EINVAL;
	}
	return *out ? 0 : -ENOMEM;
}

/* "headers": {"Name": "value", ...}, sent verbatim with the answer. */
static int opt_headers(const cJSON *spec, cJSON **out, char *err, size_t errlen)
{
	const cJSON *obj = cJSON_GetObjectItemCaseSensitive(spec, "headers");
	const cJSON *item;

	if (!obj)
		return 0;
	if (!cJSON_IsObject(obj) || cJSON_GetArraySize(obj) > 8)
		goto bad;
	cJSON_ArrayForEach (item, obj)
		if (!cJSON_IsString(item) || !item->string[0] ||
		    strpbrk(item->string, ":\r\n") ||
		    strpbrk(item->valuestring, "\r\n"))
			goto bad;
	*out = cJSON_Duplicate(obj, 1);
	return *out ? 0 : -ENOMEM;
bad:
	snprintf(err, errlen,
		 "\"headers\" must map up to 8 names to "
		 "one-line strings");
	return -EINVAL;
}

static int opt_number(const cJSON *spec, const char *key, double min,
		      double max, double *out, char *err, size_t errlen)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, key);

	if (!item)
		return 0;
	if (!cJSON_IsNumber(item) || item->valuedouble < min ||
	    item->valuedouble > max) {
		snprintf(err, errlen, "\"%s\" must be a number in [%.0f, %.0f]",
			 key, min, max);
		return -EINVAL;
	}
	*out = item->valuedouble;
	return 0;
}

static int parse_action(const cJSON *spec, enum fault_action *out, char *err,
			size_t errlen)
{
	const char *action = json_string(spec, "action");

	if (!action)
		action = "status";
	for (size_t i = 0; i < ARRAY_SIZE(action_names); i++) {
		if (strcmp(action, action_names[i]) == 0) {
			*out = (enum fault_action)i;
			return 0;
		}
	}
	snprintf(err, errlen, "unknown action '%s'", action);
	return -EINVAL;
}

int fault_list_add(struct fault_list *list, const cJSON *spec, char *err,
		   size_t errlen)
{
	const char *method = json_string(spec, "method");
	const char *path = json_string(spec, "path");
	const char *body = json_string(spec, "body");
	double count = 1, status = 0, seconds = 0, bytes = 0;
	struct fault *f;
	int rc;

	if (!cJSON_IsObject(spec)) {
		snprintf(err, errlen, "want a JSON object");
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->method = strdup(method ? method : "*");
	f->pattern = strdup(path ? path : "");
	if (!f->method || !f->pattern) {
		free(f->method);
		free(f->pattern);
		free(f);
		return -ENOMEM;
	}
	rc = regcomp(&f->re, f->pattern, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char why[128];

		regerror(rc, &f->re, why, sizeof(why));
		snprintf(err, errlen, "bad path regex: %s", why);
		free(f->method);
		free(f->pattern);
		free(f);
		return -EINVAL;
	}
	rc = parse_action(spec, &f->hit.action, err, errlen);
	if (!rc)
		rc = opt_number(spec, "count", -1, 1e9, &count, err, errlen);
	if (!rc)
		rc = opt_number(spec, "status", 100, 599, &status, err, errlen);
	if (!rc)
		rc = opt_number(spec, "seconds", 0, 86400, &seconds, err,
				errlen);
	if (!rc)
		rc = opt_number(spec, "bytes", 0, 1e12, &bytes, err, errlen);
	if (!rc)
		rc = opt_header(spec, "retry_after", &f->hit.retry_after, err,
				errlen);
	if (!rc)
		rc = opt_header(spec, "retry_after_ms", &f->hit.retry_after_ms,
				err, errlen);
	if (!rc)
		rc = opt_header(spec, "should_retry", &f->hit.should_retry, err,
				errlen);
	if (!rc && body && !(f->hit.body = strdup(body)))
		rc = -ENOMEM;
	if (!rc)
		rc = opt_headers(spec, &f->hit.headers, err, errlen);
	if (!rc && count == 0) {
		snprintf(err, errlen, "\"count\" must be positive or -1");
		rc = -EINVAL;
	}
	if (!rc && f->hit.action == FAULT_STATUS && status == 0)
		status = 500;
	if (rc) {
		fault_destroy(f);
		return rc;
	}
	f->count = (long)count;
	f->hit.status = (int)status;
	f->hit.seconds = seconds;
	f->hit.bytes = (uint64_t)bytes;
	if (list->tail)
		list->tail->next = f;
	else
		list->head = f;
	list->tail = f;
	return 0;
}

cJSON *fault_list_to_json(const struct fault_list *list)
{
	cJSON *arr = cJSON_CreateArray();

	for (const struct fault *f = list->head; arr && f; f = f->next) {
		cJSON *obj = cJSON_CreateObject();

		if (!obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			goto fail;
		}
		if (!cJSON_AddStringToObject(obj, "method", f->method) ||
		    !cJSON_AddStringToObject(obj, "path", f->pattern) ||
		    !cJSON_AddStringToObject(obj, "action",
					     action_names[f->hit.action]) ||
		    !cJSON_AddNumberToObject(obj, "count", f->count) ||
		    !cJSON_AddNumberToObject(obj, "status", f->hit.status))
			goto fail;
	}
	return arr;
fail:
	cJSON_Delete(arr);
	return NULL;
}

static int dup_hit(const struct fault_hit *src, struct fault_hit *dst)
{
	*dst = *src;
	dst->retry_after = xstrdup_or_null(src->retry_after);
	dst->retry_after_ms = xstrdup_or_null(src->retry_after_ms);
	dst->should_retry = xstrdup_or_null(src->should_retry);
	dst->body = xstrdup_or_null(src->body);
	dst->headers = src->headers ? cJSON_Duplicate(src->headers, 1) : NULL;
	if ((src->headers && !dst->headers) ||
	    (src->retry_after && !dst->retry_after) ||
	    (src->retry_after_ms && !dst->retry_after_ms) ||
	    (src->should_retry && !dst->should_retry) ||
	    (src->body && !dst->body)) {
		fault_hit_finish(dst);
		return -ENOMEM;
	}
	return 0;
}

int fault_list_take(struct fault_list *list, const char *method,
		    const char *path, struct fault_hit *hit)
{
	struct fault *prev = NULL;

	for (struct fault *f = list->head; f; prev = f, f = f->next) {
		int rc;

		if (strcmp(f->method, "*") != 0 &&
		    strcasecmp(f->method, method) != 0)
			continue;
		if (regexec(&f->re, path, 0, NULL, 0) != 0)
			continue;
		rc = dup_hit(&f->hit, hit);
		if (rc < 0)
			return rc;
		if (f->count > 0 && --f->count == 0) {
			if (prev)
				prev->next = f->next;
			else
				list->head = f->next;
			if (list->tail == f)
				list->tail = prev;
			fault_destroy(f);
		}
		return 1;
	}
	return 0;
}
