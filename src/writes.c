/*
 * writes: the API mutations behind file operations (see writes.h).
 *
 * No lost update: the API has no preconditions (no ETag, no version), so
 * a save first reads the sync.  For each field being saved, the server's
 * value S, the saver's value N and the value the saver was shown B are
 * compared: S == N needs nothing sent; S != B means someone else changed
 * the field after this mount showed it, and the save is refused with
 * ESTALE so that their change is not overwritten; otherwise the field is
 * sent.  Cost: one GET per save, plus the PATCH or PUT when something
 * changed.  The window between that GET and the write is the only place
 * a concurrent change can still be lost, and it is one round trip wide.
 *
 * Journal: every change the API accepted is appended to the journal
 * (journal.h) before the function returns, built from what the mount
 * already holds: a save's "before" is that check read, its "after" the
 * API's answer; a delete's "before" is the sync as the fresh listing
 * that resolved the folder showed it; a create's "after" the API's
 * answer.  A journal that cannot be written does not undo or block the
 * change (it was sent already): the failure is logged and shown by
 * last_error, of the sync, or of the account for a create or delete.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "edit.h"
#include "journal.h"
#include "log.h"
#include "namecodec.h"
#include "utf8.h"
#include "writes.h"

/* The journal every accepted change goes to, or NULL (nojournal). */
static struct journal *the_journal;

void writes_set_journal(struct journal *j)
{
	the_journal = j;
}

/*
 * The fields a journal line names, "before" and "after" alike: the
 * editable ones by slot (so that i < FIELD_EDITABLE is slot i), then the
 * two that only a create sets.
 */
#define JOURNAL_FIELDS (FIELD_EDITABLE + 2)

static enum field journal_field(int i)
{
	if (i < FIELD_EDITABLE)
		return field_of_slot(i);
	return i == FIELD_EDITABLE ? FIELD_DESTINATION_TYPE
				   : FIELD_DESTINATION_ID;
}

static const char *journal_value(const struct sync *s, int i)
{
	const char *v = field_value(s, journal_field(i));

	return v ? v : "";
}

/* The whole sync, as a delete's "before" or a create's "after". */
static void journal_whole(struct journal_value *v, size_t *n,
			  const struct sync *s)
{
	int i;

	for (i = 0; i < JOURNAL_FIELDS; i++) {
		v[*n].key = field_name(journal_field(i));
		v[*n].value = journal_value(s, i);
		(*n)++;
	}
}

/*
 * Appends ch to the journal.  false when it is written (or there is no
 * journal); true when it cannot be, with the failure logged and put in
 * err for the caller's last_error.
 */
static bool journal_failed(const struct journal_change *ch,
			   struct api_error *err)
{
	int ret;

	if (!the_journal)
		return false;
	ret = journal_append(the_journal, ch);
	if (!ret)
		return false;
	api_error_clear(err);
	err->failure = API_FAIL_LOCAL;
	err->when = time(NULL);
	snprintf(err->message, sizeof(err->message),
		 "the %s of '%s' was sent and applied, but not journaled: "
		 "cannot write journal '%s': %s",
		 ch->op, ch->name, journal_path(the_journal), strerror(-ret));
	log_error("%s", err->message);
	return true;
}

/* Records a failure of sync_id (or the account) and logs it. */
static int fail(struct account *a, const char *sync_id, const char *what,
		const struct api_error *err, int ret)
{
	char line[1024];

	api_error_format(err, line, sizeof(line));
	log_error("%s: %s", what, line);
	account_lock(a);
	account_record_error(a, sync_id, err);
	account_unlock(a);
	return ret;
}

/* A refusal decided here, before anything is sent. */
static int refuse(struct account *a, const char *sync_id, const char *what,
		  int errnum, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int refuse(struct account *a, const char *sync_id, const char *what,
		  int errnum, const char *fmt, ...)
{
	struct api_error err;
	va_list ap;

	api_error_clear(&err);
	err.failure = errnum == ESTALE ? API_FAIL_STALE : API_FAIL_LOCAL;
	err.when = time(NULL);
	va_start(ap, fmt);
	vsnprintf(err.message, sizeof(err.message), fmt, ap);
	va_end(ap);
	return fail(a, sync_id, what, &err, -errnum);
}

/* Takes the API's answer into the cache (owning s) and ends any error. */
static void show_answer(struct cache *c, struct account *a, struct sync *s,
			bool clear_error)
{
	char id[40];

	snprintf(id, sizeof(id), "%s", s->id);
	account_lock(a);
	if (account_apply_sync(c, a, s))
		log_error("out of memory keeping the answer for '%s'", id);
	if (clear_error)
		account_clear_error(a, id);
	account_unlock(a);
}

/* The sync's name, for messages (a copy, so no lock is needed later). */
static void sync_label(struct account *a, const char *sync_id, char *out,
		       size_t len)
{
	struct cache_entry *e;

	account_lock(a);
	e = account_by_id(a, sync_id);
	snprintf(out, len, "%s", e ? e->sync->name : sync_id);
	account_unlock(a);
}

/* The sync's name as the listing holds it (a copy), or NULL. */
static char *sync_name_copy(struct account *a, const char *sync_id)
{
	struct cache_entry *e;
	char *name;

	account_lock(a);
	e = account_by_id(a, sync_id);
	name = strdup(e ? e->sync->name : "");
	account_unlock(a);
	return name;
}

int writes_parse_content(enum field field, const char *content, size_t len,
			 struct sync_config *out, char *why, size_t whylen)
{
	int idx = field_slot(field);
	char **slot;

	memset(out, 0, sizeof(*out));
	if (field == FIELD_CONFIG)
		return api_json_parse_config(content, len, out, why, whylen);
	if (idx < 0) {
		snprintf(why, whylen, "'%s' cannot be written",
			 field_name(field));
		return -EACCES;
	}
	/* a field file holds its value and one newline */
	if (len && content[len - 1] == '\n')
		len--;
	if (memchr(content, '\0', len) || !utf8_valid(content, len)) {
		snprintf(why, whylen,
			 "'%s' must be UTF-8 text without NUL bytes",
			 field_name(field));
		return -EINVAL;
	}
	slot = field_config_slot(out, idx);
	*slot = strndup(content, len);
	if (!*slot)
		return -ENOMEM;
	if (field == FIELD_UPDATE_MODE && !sync_update_mode_valid(*slot)) {
		snprintf(why, whylen,
			 "update_mode must be AUTO or MANUAL, not '%.64s'",
			 *slot);
		sync_config_finish(out);
		return -EINVAL;
	}
	return 0;
}

int writes_save(struct cache *c, struct account *a, const char *sync_id,
		enum field field, const char *content, size_t len,
		struct sync_base *base)
{
	struct sync_config want;
	char *want_v[FIELD_EDITABLE];
	struct sync_fields send = { 0 };
	struct sync *server = NULL, *answer = NULL;
	char what[512], label[300], why[256], stale[128] = "";
	struct journal_change ch = { 0 };
	struct api_error err, jerr;
	bool changed = false, renamed = false, jfail = false;
	int i, ret;

	sync_label(a, sync_id, label, sizeof(label));
	snprintf(what, sizeof(what), "cannot save '%s' of '%s'",
		 field_name(field), label);

	/* what the saver wants, checked before anything is sent */
	ret = writes_parse_content(field, content, len, &want, why,
				   sizeof(why));
	if (ret == -EINVAL)
		return refuse(a, sync_id, what, EINVAL, "%s", why);
	if (ret)
		return ret;
	for (i = 0; i < FIELD_EDITABLE; i++)
		want_v[i] = *field_config_slot(&want, i);
	/* the one read that tells what changed, and whether anyone else did */
	ret = api_get_sync(c->api, a->id, sync_id, &server, &err);
	if (ret) {
		ret = fail(a, sync_id, what, &err, ret);
		goto out_free;
	}
	for (i = 0; i < FIELD_EDITABLE; i++) {
		const char *s = want_v[i]
					? field_value(server, field_of_slot(i))
					: NULL;

		if (!want_v[i] || !strcmp(s, want_v[i]))
			continue;
		if (edit_base_stale(base, i, s)) {
			snprintf(stale + strlen(stale),
				 sizeof(stale) - strlen(stale), "%s'%s'",
				 stale[0] ? ", " : "",
				 field_name(field_of_slot(i)));
			continue;
		}
		changed = true;
		renamed |= field_of_slot(i) == FIELD_NAME;
	}
	if (stale[0]) {
		show_answer(c, a, server, false);
		server = NULL;
		ret = refuse(a, sync_id, what, ESTALE,
			     "%s changed on the server after this mount showed "
			     "it; the server keeps that change (read the file "
			     "again, then save)",
			     stale);
		goto out_free;
	}
	if (!changed) {
		/* the server already holds it: nothing to send */
		answer = server;
		server = NULL;
		goto out_saved;
	}
	for (i = 0; i < FIELD_EDITABLE; i++)
		*field_send_slot(&send, i) = want_v[i];
	ret = api_update_sync(
		c->api, a->id, sync_id, &send, field == FIELD_CONFIG,
		renamed ? API_OP_RENAME : API_OP_UPDATE, &answer, &err);
	if (ret) {
		ret = fail(a, sync_id, what, &err, ret);
		goto out_free;
	}
	/* accepted: each field that changed, as the check read and the answer
	 * show it */
	ch.account = a->id;
	ch.sync_id = sync_id;
	ch.name = server->name;
	ch.op = field == FIELD_CONFIG ? "update" : "edit";
	for (i = 0; i < JOURNAL_FIELDS; i++) {
		const char *was = journal_value(server, i);
		const char *now = journal_value(answer, i);

		if (!strcmp(was, now) && (i >= FIELD_EDITABLE || !want_v[i] ||
					  !strcmp(was, want_v[i])))
			continue;
		journal_change_before(&ch, field_name(journal_field(i)), was);
		journal_change_after(&ch, field_name(journal_field(i)), now);
	}
	jfail = journal_failed(&ch, &jerr);
out_saved:
	/*
	 * One critical section: a reader must never see the listing before
	 * the answer is in it and note that older value as shown, which
	 * would make this writer's next save look like a lost update.
	 */
	account_lock(a);
	if (account_apply_sync(c, a, answer))
		log_error("out of memory keeping the answer for '%s'", label);
	edit_saved(a, sync_id, want_v, base);
	account_clear_error(a, sync_id);
	if (jfail)
		account_record_error(a, sync_id, &jerr);
	account_unlock(a);

out_free:
	sync_destroy(server);
	sync_config_finish(&want);
	return ret;
}

int writes_refresh(struct cache *c, struct account *a, const char *sync_id)
{
	char what[400], label[300];
	struct journal_change ch = { 0 };
	struct api_error err, jerr;
	char *result = NULL, *text = NULL, *name;
	bool jfail;
	size_t n;
	int ret;

	sync_label(a, sync_id, label, sizeof(label));
	snprintf(what, sizeof(what), "cannot refresh '%s'", label);
	ret = api_refresh_sync(c->api, a->id, sync_id, &result, &err);
	if (ret)
		return fail(a, sync_id, what, &err, ret);
	/* no field changes: the line keeps what the run answered */
	ch.account = a->id;
	ch.sync_id = sync_id;
	name = sync_name_copy(a, sync_id);
	ch.name = name ? name : label;
	ch.op = "refresh";
	journal_change_after(&ch, "refresh", result);
	jfail = journal_failed(&ch, &jerr);
	free(name);
	n = strlen(result);
	if (asprintf(&text, "%s%s", result,
		     n && result[n - 1] == '\n' ? "" : "\n") < 0)
		text = NULL;
	free(result);
	account_lock(a);
	account_set_refresh_result(a, sync_id, text);
	account_clear_error(a, sync_id);
	if (jfail)
		account_record_error(a, sync_id, &jerr);
	/* the refresh moved the sync's timestamps: status.json must show it */
	account_expire_listing(a);
	account_unlock(a);
	return 0;
}

/* The sync name a folder name stands for (for mkdir and mv). */
static int name_for_folder(struct account *a, const char *sync_id,
			   const char *what, const char *folder, char **name)
{
	const char *id;
	char *canonical;
	int ret = namecodec_decode(folder, &id, name);

	if (ret == 1)
		return refuse(a, sync_id, what, EINVAL,
			      "a folder name ending in %%@ID names an existing "
			      "sync; choose a plain name");
	if (ret == -EINVAL)
		return refuse(a, sync_id, what, EINVAL,
			      "'%%' in a folder name must start an escape "
			      "such as %%2F (/) or %%25 (%%)");
	if (ret)
		return ret;
	/*
	 * Only the folder name the rule itself gives the new name will do:
	 * "%41" or "a%2fb" would create a sync whose folder is "A" or
	 * "a%2Fb", and the folder the user asked for would not exist.
	 */
	canonical = namecodec_escape(*name);
	if (!canonical || strcmp(canonical, folder) ||
	    !namecodec_plain_ok(canonical)) {
		free(canonical);
		free(*name);
		return refuse(a, sync_id, what, EINVAL,
			      "'%s' is not how the folder-name rule writes a "
			      "name (write %%2F for '/', %%25 for '%%', "
			      "nothing else escaped)",
			      folder);
	}
	free(canonical);
	if (!utf8_valid(*name, strlen(*name))) {
		free(*name);
		return refuse(a, sync_id, what, EINVAL,
			      "a sync name must be UTF-8 text");
	}
	return 0;
}

int writes_create(struct cache *c, const struct writes_config *cfg,
		  struct account *a, const char *folder)
{
	struct sync_fields f = {
		.destination_type = cfg->default_destination_type,
		.update_mode = cfg->default_update_mode,
	};
	struct journal_change ch = { 0 };
	struct api_error err, jerr;
	struct sync *made = NULL;
	char what[400];
	char *name;
	bool jfail;
	int ret;

	snprintf(what, sizeof(what), "cannot create '%s'", folder);
	ret = name_for_folder(a, NULL, what, folder, &name);
	if (ret)
		return ret;
	f.name = name;
	ret = api_create_sync(c->api, a->id, &f, &made, &err);
	free(name);
	if (ret)
		return fail(a, NULL, what, &err, ret);
	ch.account = a->id;
	ch.sync_id = made->id;
	ch.name = made->name;
	ch.op = "create";
	journal_whole(ch.after, &ch.nafter, made);
	jfail = journal_failed(&ch, &jerr);
	show_answer(c, a, made, false);
	if (jfail) {
		account_lock(a);
		account_record_error(a, NULL, &jerr);
		account_unlock(a);
	}
	return 0;
}

int writes_delete(struct cache *c, const struct writes_config *cfg,
		  struct account *a, const char *sync_id)
{
	struct journal_change ch = { 0 };
	struct api_error err, jerr;
	struct cache_entry *e;
	struct sync *was = NULL;
	char what[400], label[300];
	int ret;

	sync_label(a, sync_id, label, sizeof(label));
	snprintf(what, sizeof(what), "cannot delete '%s'", label);
	/* the whole sync as the listing that resolved the folder shows it,
	 * for the journal: all that is needed to create it again */
	account_lock(a);
	e = account_by_id(a, sync_id);
	if (e)
		was = sync_clone(e->sync);
	account_unlock(a);
	if (!e && the_journal) {
		/* a listing dropped it meanwhile: read it once */
		ret = api_get_sync(c->api, a->id, sync_id, &was, &err);
		if (ret)
			return fail(a, sync_id, what, &err, ret);
	}
	if (!was && the_journal)
		return -ENOMEM;
	ret = api_delete_sync(c->api, a->id, sync_id, cfg->delete_destination,
			      &err);
	if (ret && ret != -ENOENT) {
		sync_destroy(was);
		return fail(a, sync_id, what, &err, ret);
	}
	/*
	 * Journaled after a 404 too: our own first attempt may have deleted
	 * it before its answer was lost, and the line is its only copy.
	 */
	if (was) {
		ch.account = a->id;
		ch.sync_id = sync_id;
		ch.name = was->name;
		ch.op = "delete";
		journal_whole(ch.before, &ch.nbefore, was);
		if (journal_failed(&ch, &jerr)) {
			account_lock(a);
			account_record_error(a, NULL, &jerr);
			account_unlock(a);
		}
		sync_destroy(was);
	}
	/* gone either way: a 404 means someone deleted it first */
	account_lock(a);
	account_remove_sync(c, a, sync_id);
	account_unlock(a);
	/*
	 * A 404 means it is gone already: deleted elsewhere, or by our own
	 * first attempt whose answer was lost before a retry.  Either way
	 * the folder is gone as the user asked.
	 */
	if (ret == -ENOENT)
		log_info("'%s' was already deleted", label);
	return 0;
}

int writes_rename(struct cache *c, struct account *a, const char *sync_id,
		  const char *new_folder)
{
	struct sync_fields f = { 0 };
	struct journal_change ch = { 0 };
	struct api_error err, jerr;
	struct sync *answer = NULL;
	char what[600], label[300];
	char *name, *old_name;
	bool jfail;
	int ret;

	sync_label(a, sync_id, label, sizeof(label));
	snprintf(what, sizeof(what), "cannot rename '%s' to '%s'", label,
		 new_folder);
	ret = name_for_folder(a, sync_id, what, new_folder, &name);
	if (ret)
		return ret;
	old_name = sync_name_copy(a, sync_id);
	if (!old_name) {
		free(name);
		return -ENOMEM;
	}
	f.name = name;
	ret = api_update_sync(c->api, a->id, sync_id, &f, false, API_OP_RENAME,
			      &answer, &err);
	free(name);
	if (ret) {
		free(old_name);
		return fail(a, sync_id, what, &err, ret);
	}
	ch.account = a->id;
	ch.sync_id = sync_id;
	ch.name = old_name;
	ch.op = "rename";
	journal_change_before(&ch, "name", old_name);
	journal_change_after(&ch, "name", answer->name);
	jfail = journal_failed(&ch, &jerr);
	free(old_name);
	show_answer(c, a, answer, true);
	if (jfail) {
		account_lock(a);
		account_record_error(a, sync_id, &jerr);
		account_unlock(a);
	}
	return 0;
}
