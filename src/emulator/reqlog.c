/*
 * reqlog.c - the request log served at /__emulator/log and, with --log,
 * appended to a file as JSON lines.
 *
 * Sequence numbers keep rising across clears so a test can tell old
 * entries from new ones. The in-memory log is capped at REQLOG_MAX entries
 * (oldest dropped) so a long benchmark cannot exhaust memory; the file
 * keeps everything.
 *
 * Locking: none here; callers hold the emulator's state mutex.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reqlog.h"
#include "util.h"

#define REQLOG_MAX 200000

int reqlog_init(struct reqlog *log, const char *path)
{
	memset(log, 0, sizeof(*log));
	log->next_seq = 1;
	log->entries = cJSON_CreateArray();
	if (!log->entries)
		return -ENOMEM;
	if (path) {
		log->file = fopen(path, "a");
		if (!log->file) {
			int rc = -errno;

			cJSON_Delete(log->entries);
			log->entries = NULL;
			return rc;
		}
	}
	return 0;
}

void reqlog_finish(struct reqlog *log)
{
	if (!log)
		return;
	cJSON_Delete(log->entries);
	if (log->file)
		fclose(log->file);
	memset(log, 0, sizeof(*log));
}

static cJSON *nullable_string(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *entry_to_json(long seq, const struct reqlog_entry *e)
{
	cJSON *obj = cJSON_CreateObject();
	cJSON *body = NULL;
	char *text = NULL;

	if (!obj)
		return NULL;
	if (e->body && e->body_len > 0) {
		/* Bodies may be any bytes; the log must stay valid JSON. */
		text = utf8_sanitize(e->body, e->body_len);
		if (!text)
			goto fail;
	}
	body = nullable_string(text);
	free(text);
	if (!cJSON_AddNumberToObject(obj, "seq", (double)seq) ||
	    !cJSON_AddStringToObject(obj, "method", e->method) ||
	    !cJSON_AddStringToObject(obj, "path", e->path) ||
	    !cJSON_AddStringToObject(obj, "query", e->query) || !body ||
	    !cJSON_AddItemToObject(obj, "body", body))
		goto fail_body;
	if (!cJSON_AddItemToObject(obj, "content_type",
				   nullable_string(e->content_type)) ||
	    !cJSON_AddNumberToObject(obj, "status", e->status) ||
	    !cJSON_AddStringToObject(obj, "auth", e->auth) ||
	    !cJSON_AddNumberToObject(obj, "t_ms", (double)e->at_ms))
		goto fail;
	return obj;
fail_body:
	cJSON_Delete(body);
fail:
	cJSON_Delete(obj);
	return NULL;
}

void reqlog_add(struct reqlog *log, const struct reqlog_entry *e)
{
	long seq = log->next_seq++;
	cJSON *obj = entry_to_json(seq, e);

	if (!obj || !cJSON_AddItemToArray(log->entries, obj)) {
		cJSON_Delete(obj);
		fprintf(stderr,
			"catsyncfs-emulator: out of memory, request "
			"%ld not logged\n",
			seq);
		return;
	}
	if (++log->count > REQLOG_MAX) {
		cJSON_Delete(cJSON_DetachItemFromArray(log->entries, 0));
		log->count--;
	}
	if (log->file) {
		char *line = cJSON_PrintUnformatted(obj);

		if (line) {
			fprintf(log->file, "%s\n", line);
			fflush(log->file);
			free(line);
		}
	}
}

void reqlog_clear(struct reqlog *log)
{
	cJSON *fresh = cJSON_CreateArray();

	if (!fresh)
		return;
	cJSON_Delete(log->entries);
	log->entries = fresh;
	log->count = 0;
}

cJSON *reqlog_to_json(const struct reqlog *log)
{
	return cJSON_Duplicate(log->entries, 1);
}
