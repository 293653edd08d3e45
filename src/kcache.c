/*
 * kcache: the kernel-cache timing policy (see kcache.h).
 *
 * Names and attributes: each reply carries the time its listing has
 * left, so the kernel asks again exactly when the daemon would fetch
 * again, and a warm walk within cache_ttl sends nothing.  What changes
 * inside that time (a write through the mount, SIGUSR1) is dropped from
 * the kernel by kinval.h.
 *
 * File pages: an open of a file whose content has not changed for a
 * while reads through the page cache and keeps what an earlier open put
 * there (keep_cache: a warm read sends no READ at all).  Any other open
 * is direct_io and drops the pages (no keep_cache), so that a size or
 * page the kernel holds from before a change never cuts or stales a
 * read; the margin covers answers computed just before a change and
 * delivered after it, and the invalidations kinval.h sends meanwhile.
 * A reader's close sends no FLUSH.
 */
#include <fcntl.h>

#include "kcache.h"

/* What is fixed for the life of the mount is kept this long. */
#define FIXED_S 86400.0
/* A change settles for this long before opens use the page cache. */
#define SETTLED_MS 2000
/* A name found missing is remembered at most this long. */
#define NEGATIVE_S 1.0

void kcache_configure(struct fuse_conn_info *conn)
{
	/*
	 * No OPENDIR or RELEASEDIR: the kernel then caches every folder's
	 * listing (as cache_readdir) until it is told to drop it.
	 */
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT)
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
	/*
	 * Attributes with every entry, not only on the first request of a
	 * folder: a walk stats everything it lists.
	 */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

static double seconds(long ms)
{
	return ms > 0 ? ms / 1000.0 : 0.0;
}

struct kcache_timeouts kcache_timeouts(struct cache *c, const struct node *n)
{
	struct kcache_timeouts t = { FIXED_S, FIXED_S };

	switch (n->kind) {
	case NODE_ROOT:
	case NODE_POLICIES:
		break;
	case NODE_STATS:
	case NODE_ACCOUNT_ERROR:
		t.attr = 0; /* rendered anew, told by no listing */
		break;
	case NODE_ACCOUNT:
		/* its name is fixed; its mtime is the newest sync's */
		account_lock(n->account);
		t.attr = seconds(account_trust_left_ms(c, n->account, false));
		account_unlock(n->account);
		break;
	case NODE_POLICY:
	case NODE_POLICY_FILE:
		t.entry = t.attr = seconds(
			account_trust_left_ms(c, n->account, true));
		break;
	default: /* a sync folder, its files */
		t.entry = t.attr = seconds(
			account_trust_left_ms(c, n->account, false));
		break;
	}
	return t;
}

long kcache_folder_trust_ms(struct cache *c, const struct node *folder)
{
	bool policies = folder->kind == NODE_POLICIES ||
			folder->kind == NODE_POLICY;
	long left;

	if (folder->kind == NODE_ROOT)
		return -1;
	account_lock(folder->account);
	left = account_trust_left_ms(c, folder->account, policies);
	account_unlock(folder->account);
	return left;
}

double kcache_negative_timeout(const struct cache *c)
{
	double ttl = seconds(c->ttl_ms);

	return ttl < NEGATIVE_S ? ttl : NEGATIVE_S;
}

bool kcache_size_holds(const struct node *n)
{
	if (n->kind == NODE_POLICY_FILE)
		return account_unchanged_for(n->account, true, SETTLED_MS);
	return n->kind == NODE_FIELD &&
	       account_unchanged_for(n->account, false, SETTLED_MS);
}

void kcache_open_flags(struct fuse_file_info *fi, bool page_cache)
{
	/* a reader's close has nothing to send: no FLUSH round trip */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	fi->direct_io = !page_cache;
	fi->keep_cache = page_cache;
}
