/*
 * envelope.c - builds the v4 API envelope for successes and failures.
 *
 * Failures always carry "result": null and at least one {code, message};
 * the optional members appear only when set, as Cloudflare sends them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"

void api_error_set(struct api_error *err, int status, int code, const char *fmt,
		   ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	err->status = status;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

static cJSON *envelope_new(bool success)
{
	cJSON *doc = cJSON_CreateObject();

	if (!doc)
		return NULL;
	if (!cJSON_AddBoolToObject(doc, "success", success) ||
	    !cJSON_AddArrayToObject(doc, "errors") ||
	    !cJSON_AddArrayToObject(doc, "messages")) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

static cJSON *error_object(const struct api_error *err)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *source, *chain, *link;

	if (!obj)
		return NULL;
	if (!cJSON_AddNumberToObject(obj, "code", err->code) ||
	    !cJSON_AddStringToObject(obj, "message", err->message))
		goto fail;
	if (err->documentation_url &&
	    !cJSON_AddStringToObject(obj, "documentation_url",
				     err->documentation_url))
		goto fail;
	if (err->pointer[0] || err->parameter) {
		source = cJSON_AddObjectToObject(obj, "source");
		if (!source)
			goto fail;
		if (err->pointer[0] &&
		    !cJSON_AddStringToObject(source, "pointer", err->pointer))
			goto fail;
		if (err->parameter &&
		    !cJSON_AddStringToObject(source, "parameter",
					     err->parameter))
			goto fail;
	}
	if (err->chain_code) {
		chain = cJSON_AddArrayToObject(obj, "error_chain");
		link = cJSON_CreateObject();
		if (!chain || !link || !cJSON_AddItemToArray(chain, link)) {
			cJSON_Delete(link);
			goto fail;
		}
		if (!cJSON_AddNumberToObject(link, "code", err->chain_code) ||
		    !cJSON_AddStringToObject(link, "message",
					     err->chain_message))
			goto fail;
	}
	return obj;
fail:
	cJSON_Delete(obj);
	return NULL;
}

void envelope_error(struct answer *ans, const struct api_error *err)
{
	cJSON *doc = envelope_new(false);
	cJSON *obj = error_object(err);

	if (!doc || !obj ||
	    !cJSON_AddItemToArray(
		    cJSON_GetObjectItemCaseSensitive(doc, "errors"), obj)) {
		cJSON_Delete(obj);
		cJSON_Delete(doc);
		answer_json(ans, err->status, NULL);
		return;
	}
	if (!cJSON_AddNullToObject(doc, "result")) {
		cJSON_Delete(doc);
		doc = NULL;
	}
	answer_json(ans, err->status, doc);
}

void envelope_result(struct answer *ans, int status, cJSON *result,
		     cJSON *result_info)
{
	cJSON *doc = envelope_new(true);

	if (!doc || !result || !cJSON_AddItemToObject(doc, "result", result)) {
		cJSON_Delete(result);
		goto fail;
	}
	if (result_info &&
	    !cJSON_AddItemToObject(doc, "result_info", result_info))
		goto fail;
	answer_json(ans, status, doc);
	return;
fail:
	cJSON_Delete(result_info);
	cJSON_Delete(doc);
	answer_json(ans, status, NULL);
}
