/*
 * tree: paths -> nodes, node -> content and stat (see tree.h).
 *
 * mtimes: field files, config.json and the sync folder take the sync's
 * last_user_update_at; status.json the newest of its timestamps;
 * last_error and refresh the time of what they show (the sync's
 * last_user_update_at while empty); prebuilt policies the time this mount
 * first saw their content, and policies/ itself the mount's start; an
 * account folder (and its last_error while empty) the newest sync it
 * holds.
 * So an unchanged account stats the same across reads and remounts, and
 * rsync finds nothing to send.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "namecodec.h"
#include "stats.h"
#include "tree.h"

#define INO_SHIFT 5 /* 32 slots per serial: dir + files */

static const char *const policy_file_names[POLICY_FILE_COUNT] = {
	[POLICY_FILE_POLICY] = "policy",
	[POLICY_FILE_DESCRIPTION] = "description",
	[POLICY_FILE_DESTINATIONS] = "applicable_destinations",
};

const char *tree_policy_file_name(enum policy_file f)
{
	return f < POLICY_FILE_COUNT ? policy_file_names[f] : NULL;
}

/* Splits "/a/b/c" into at most max components (pointers into buf). */
static int split(const char *path, char *buf, size_t buflen, char **parts,
		 int max)
{
	int n = 0;
	char *p, *slash;

	if (strlen(path) >= buflen)
		return -ENAMETOOLONG;
	memcpy(buf, path, strlen(path) + 1);
	for (p = buf; *p == '/'; p++)
		;
	while (*p) {
		if (n == max)
			return -ENOENT;
		parts[n++] = p;
		slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		for (p = slash + 1; *p == '/'; p++)
			;
	}
	return n;
}

/* The components below the account: locks and fills out. */
static int resolve_in_account(struct cache *c, struct account *a, char **parts,
			      int n, struct node *out)
{
	int ret, f;

	if (!strcmp(parts[1], "last_error") && n == 2) {
		account_lock(a);
		out->kind = NODE_ACCOUNT_ERROR;
		return 0;
	}
	if (!strcmp(parts[1], "policies")) {
		if (n == 2) {
			account_lock(a);
			out->kind = NODE_POLICIES;
			return 0;
		}
		ret = cache_lock_policies(c, a);
		if (ret)
			return ret;
		out->prebuilt = account_prebuilt(a, parts[2]);
		if (!out->prebuilt)
			goto out_noent;
		out->kind = NODE_POLICY;
		if (n == 3)
			return 0;
		for (f = 0; f < POLICY_FILE_COUNT; f++)
			if (!strcmp(parts[3], policy_file_names[f]))
				break;
		if (n > 4 || f == POLICY_FILE_COUNT)
			goto out_noent;
		out->kind = NODE_POLICY_FILE;
		out->policy_file = f;
		return 0;
	}
	if (namecodec_is_reserved(parts[1]))
		return -ENOENT;
	ret = cache_lock_listing(c, a);
	if (ret)
		return ret;
	out->entry = account_by_folder(a, parts[1]);
	if (!out->entry)
		goto out_noent;
	out->kind = NODE_SYNC;
	if (n == 2)
		return 0;
	if (n > 3)
		goto out_noent;
	f = field_by_name(parts[2]);
	if (f >= 0) {
		out->kind = NODE_FIELD;
		out->field = f;
		out->unlinked = account_field_unlinked(a, out->entry->sync->id,
						       f);
		return 0;
	}
	out->kind = NODE_SCRATCH;
	out->scratch = scratch_find(
		account_scratch(a, out->entry->sync->id, false), parts[2]);
	return 0;

out_noent:
	account_unlock(a);
	return -ENOENT;
}

static int resolve(struct cache *c, const char *path, struct node *out)
{
	char buf[4096];
	char *parts[4];
	int ret, n = split(path, buf, sizeof(buf), parts, 4);

	memset(out, 0, sizeof(*out));
	if (n < 0)
		return n;
	out->leaf = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (n == 0) {
		out->kind = NODE_ROOT;
		return 0;
	}
	/* no account id (32 hex digits) can take this name */
	if (n == 1 && !strcmp(parts[0], TREE_STATS_NAME)) {
		out->kind = NODE_STATS;
		out->api = c->api;
		return 0;
	}
	out->account = cache_account(c, parts[0]);
	if (!out->account)
		return -ENOENT;
	out->kind = NODE_ACCOUNT;
	if (n == 1)
		return 0;
	ret = resolve_in_account(c, out->account, parts, n, out);
	out->locked = ret == 0;
	return ret;
}

int tree_resolve_unlinked(struct cache *c, const char *path, struct node *out)
{
	return resolve(c, path, out);
}

int tree_resolve(struct cache *c, const char *path, struct node *out)
{
	int ret = resolve(c, path, out);

	if (!ret && out->unlinked) {
		tree_release(out);
		ret = -ENOENT;
	}
	return ret;
}

int tree_resolve_parent(struct cache *c, const char *path, struct node *out,
			const char **leaf)
{
	char parent[4096];
	const char *slash = strrchr(path, '/');
	size_t len;

	if (!slash || !slash[1])
		return -EINVAL;
	len = (size_t)(slash - path);
	if (len >= sizeof(parent))
		return -ENAMETOOLONG;
	memcpy(parent, path, len);
	parent[len] = '\0';
	*leaf = slash + 1;
	return tree_resolve(c, len ? parent : "/", out);
}

void tree_release(struct node *n)
{
	if (n->locked)
		account_unlock(n->account);
	n->locked = false;
}

/*
 * Where a node's bytes are: in the cache (no copy), or for the JSON files
 * freshly rendered into *owned, which the caller frees.  *newline: the
 * bytes are a field value, to be followed by one \n.
 */
static int content_ref(const struct node *n, const char **p, size_t *len,
		       bool *newline, char **owned)
{
	struct timespec when;
	const struct policy *pol;

	*newline = false;
	*p = "";
	switch (n->kind) {
	case NODE_STATS:
		if (stats_render_budget(api_budget(n->api), owned, len))
			return -ENOMEM;
		*p = *owned;
		return 0;
	case NODE_ACCOUNT_ERROR:
		*p = account_last_error(n->account, &when) ?: "";
		break;
	case NODE_POLICY_FILE:
		pol = &n->prebuilt->policy;
		*newline = n->policy_file != POLICY_FILE_DESTINATIONS;
		*p = n->policy_file == POLICY_FILE_POLICY ? pol->policy
		     : n->policy_file == POLICY_FILE_DESCRIPTION
			     ? pol->description
			     : pol->applicable_destinations;
		break;
	case NODE_SCRATCH:
		if (!n->scratch)
			return -ENOENT;
		*p = n->scratch->data ? n->scratch->data : "";
		*len = n->scratch->len;
		return 0;
	case NODE_FIELD:
		switch (n->field) {
		case FIELD_CONFIG:
		case FIELD_STATUS:
			*owned = entry_render_json(n->entry,
						   n->field == FIELD_STATUS);
			*p = *owned;
			break;
		case FIELD_LAST_ERROR:
			*p = account_sync_error(n->account, n->entry->sync->id,
						&when)
				     ?: "";
			break;
		case FIELD_REFRESH:
			*p = account_refresh_result(n->account,
						    n->entry->sync->id, &when)
				     ?: "";
			break;
		default:
			*p = field_value(n->entry->sync, n->field);
			*newline = true;
			break;
		}
		if (!*p)
			return -ENOMEM;
		break;
	default:
		return -EISDIR;
	}
	*len = strlen(*p);
	return 0;
}

int tree_content(const struct node *n, char **data, size_t *len)
{
	const char *p;
	char *owned = NULL;
	bool newline;
	int ret = content_ref(n, &p, len, &newline, &owned);

	if (ret)
		return ret;
	if (owned) {
		*data = owned;
		return 0;
	}
	*data = malloc(*len + 2);
	if (!*data)
		return -ENOMEM;
	memcpy(*data, p, *len);
	if (newline)
		(*data)[(*len)++] = '\n';
	(*data)[*len] = '\0';
	return 0;
}

static void newest_of(struct timespec *best, const char *text)
{
	struct timespec t;

	if (!text || sync_parse_time(text, &t))
		return;
	if (t.tv_sec > best->tv_sec ||
	    (t.tv_sec == best->tv_sec && t.tv_nsec > best->tv_nsec))
		*best = t;
}

static struct timespec user_time(const struct sync *s)
{
	struct timespec t = { 0 };

	newest_of(&t, s->last_user_update_at);
	return t;
}

/* The newest last_user_update_at of the account, when it is known. */
static void account_time(struct account *a, struct timespec *t)
{
	long long ns = account_newest_ns(a);

	if (ns) {
		t->tv_sec = ns / 1000000000LL;
		t->tv_nsec = ns % 1000000000LL;
	}
}

static struct timespec node_mtime(struct cache *c, const struct node *n)
{
	struct timespec t = c->started;

	switch (n->kind) {
	case NODE_STATS:
		/* rendered now: tools that compare times read it again */
		clock_gettime(CLOCK_REALTIME, &t);
		break;
	case NODE_ACCOUNT:
		account_time(n->account, &t);
		break;
	case NODE_ACCOUNT_ERROR:
		/* empty, it is as old as the account: stable across remounts */
		if (!account_last_error(n->account, &t))
			account_time(n->account, &t);
		break;
	case NODE_POLICIES:
		/* the mount's start: stable whether or not they were fetched */
		break;
	case NODE_POLICY:
	case NODE_POLICY_FILE:
		t = n->prebuilt->seen;
		break;
	case NODE_SCRATCH:
		t = n->scratch->mtime;
		break;
	case NODE_SYNC:
		t = user_time(n->entry->sync);
		break;
	case NODE_FIELD:
		t = user_time(n->entry->sync);
		if (n->field == FIELD_STATUS) {
			newest_of(&t, n->entry->sync->last_attempted_update_at);
			newest_of(&t,
				  n->entry->sync->last_successful_update_at);
			newest_of(&t,
				  n->entry->sync->includes_discoveries_until);
		} else if (n->field == FIELD_LAST_ERROR) {
			account_sync_error(n->account, n->entry->sync->id, &t);
		} else if (n->field == FIELD_REFRESH) {
			account_refresh_result(n->account, n->entry->sync->id,
					       &t);
		}
		break;
	default:
		break;
	}
	return t;
}

uint64_t tree_folder_ino(uint64_t serial)
{
	return serial << INO_SHIFT;
}

uint64_t tree_field_ino(uint64_t serial, enum field f)
{
	return (serial << INO_SHIFT) + 1 + f;
}

uint64_t tree_ino(const struct node *n)
{
	switch (n->kind) {
	case NODE_ROOT:
		return 1;
	case NODE_STATS:
		return 2; /* serials start at 2: 64 and up are taken */
	case NODE_ACCOUNT:
		return tree_folder_ino(n->account->serial);
	case NODE_ACCOUNT_ERROR:
		return (n->account->serial << INO_SHIFT) + 1;
	case NODE_POLICIES:
		return (n->account->serial << INO_SHIFT) + 2;
	case NODE_POLICY:
		return n->prebuilt->serial << INO_SHIFT;
	case NODE_POLICY_FILE:
		return (n->prebuilt->serial << INO_SHIFT) + 1 + n->policy_file;
	case NODE_SYNC:
		return tree_folder_ino(n->entry->serial);
	case NODE_FIELD:
		return tree_field_ino(n->entry->serial, n->field);
	case NODE_SCRATCH:
		return n->scratch ? n->scratch->serial << INO_SHIFT : 0;
	}
	return 0;
}

void tree_stat(struct cache *c, const struct node *n, struct stat *st)
{
	const char *p;
	char *owned = NULL;
	size_t len = 0;
	bool newline;

	memset(st, 0, sizeof(*st));
	st->st_ino = tree_ino(n);
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_mtim = node_mtime(c, n);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
	switch (n->kind) {
	case NODE_ROOT:
	case NODE_POLICIES:
	case NODE_POLICY:
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return;
	case NODE_ACCOUNT:
	case NODE_SYNC:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	case NODE_SCRATCH:
		st->st_mode = S_IFREG | (n->scratch->mode & 07777);
		break;
	case NODE_FIELD:
		st->st_mode = S_IFREG |
			      (field_writable(n->field) ? 0644 : 0444);
		break;
	default:
		st->st_mode = S_IFREG | 0444;
		break;
	}
	st->st_nlink = 1;
	if (n->kind == NODE_FIELD &&
	    (n->field == FIELD_STATUS || n->field == FIELD_CONFIG))
		/* measured once per sync object, not kept as text */
		st->st_size = (off_t)entry_json_size(n->entry,
						     n->field == FIELD_STATUS);
	else if (!content_ref(n, &p, &len, &newline, &owned))
		st->st_size = (off_t)(len + (newline ? 1 : 0));
	free(owned);
	st->st_blksize = 4096;
	st->st_blocks = (st->st_size + 511) / 512;
}
