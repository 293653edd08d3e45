/*
 * kcache: the kernel-cache timing policy (see kcache.h).
 *
 * The kernel's caches are kept at one second so that the daemon's
 * cache_ttl decides freshness.  A reader of a file whose content has not
 * changed for a while reads through the page cache (no READ to find the
 * end, none at all for an empty file); everything else is direct_io, so
 * that a size the kernel cached a second ago never cuts a read.  A
 * reader's close sends no FLUSH.
 */
#include <fcntl.h>

#include "kcache.h"

/* How long the kernel trusts what it was told (SPEC: about a second). */
#define KERNEL_TIMEOUT_MS 1000

void kcache_configure(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	cfg->entry_timeout = KERNEL_TIMEOUT_MS / 1000.0;
	cfg->attr_timeout = KERNEL_TIMEOUT_MS / 1000.0;
	cfg->negative_timeout = KERNEL_TIMEOUT_MS / 1000.0;
	cfg->kernel_cache = 0;
	/*
	 * Attributes with every entry, not only on the first request of a
	 * folder: a walk stats everything it lists.
	 */
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

/*
 * The kernel cuts page-cache reads at the size it was told, up to
 * KERNEL_TIMEOUT_MS ago: that is the snapshot's size when nothing n
 * shows has changed since (struct freshness.changed).  The margin covers
 * answers computed just before a change and delivered after it.
 * Scratch files and the account's last_error stay direct.
 */
bool kcache_size_holds(const struct node *n)
{
	const long settled_ms = 2 * KERNEL_TIMEOUT_MS;

	if (n->kind == NODE_POLICY_FILE)
		return account_unchanged_for(n->account, true, settled_ms);
	return n->kind == NODE_FIELD &&
	       account_unchanged_for(n->account, false, settled_ms);
}

void kcache_open_flags(struct fuse_file_info *fi, bool page_cache)
{
	/* a reader's close has nothing to send: no FLUSH round trip */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY;
	/*
	 * Everything else is direct_io: reads and writes come here rather
	 * than from the page cache and are not cut at a size the kernel
	 * cached a second ago, so a file whose content just changed never
	 * reads truncated or stale.  keep_cache stays off: each open reads
	 * its own snapshot.
	 */
	fi->direct_io = !page_cache;
}
