/*
 * kinval: the kernel-cache invalidation thread (see kinval.h).
 *
 * Producers (the change feed's listener, request handlers, SIGUSR1) queue
 * jobs and wake the thread with a semaphore, the one waking call that a
 * signal handler may make.  The thread sends each job's notifications
 * with no lock held, then counts the jobs done, which kinval_wait reads.
 * Folders whose listing the kernel caches wait in one list with the
 * earliest time one of them stops being trusted; the thread sweeps the
 * whole list then (the kernel lists each folder again when next read).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kinval.h"
#include "knodes.h"
#include "log.h"
#include "monotime.h"
#include "tree.h"

/*
 * A folder listing handed to the kernel is dropped no sooner than this:
 * the kernel stores it only after the reply, and a drop sent before that
 * would leave it stored until the next sweep.
 */
#define FOLDER_MIN_MS 50

enum job_kind {
	JOB_INODE, /* attributes and pages (a folder's listing) of ino */
	JOB_ENTRY, /* the name in folder ino */
	JOB_SYNC, /* a sync folder (ino is its serial) and its files */
};

struct job {
	enum job_kind kind;
	uint64_t ino;
	char *name;
};

struct list {
	void *items;
	size_t count, cap;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	sem_t wake;
	struct list jobs; /* struct job */
	unsigned long long queued, done; /* jobs ever queued, ever sent */
	struct list folders; /* uint64_t, listings the kernel keeps */
	long long folders_due; /* monotime_ms; 0: none */
	atomic_bool drop_all;
	atomic_ulong dropped; /* pages dropped so far: see kinval_store */
	bool stop;
	atomic_bool running;
	pthread_t thread;
	struct fuse_session *se;
} kq = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Locked: appends size bytes at item to l.  false on ENOMEM. */
static bool list_add(struct list *l, const void *item, size_t size)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *grown = realloc(l->items, cap * size);

		if (!grown)
			return false;
		l->items = grown;
		l->cap = cap;
	}
	memcpy((char *)l->items + l->count * size, item, size);
	l->count++;
	return true;
}

static struct list list_take(struct list *l)
{
	struct list taken = *l;

	memset(l, 0, sizeof(*l));
	return taken;
}

static void queue(enum job_kind kind, uint64_t ino, const char *name)
{
	struct job j = { kind, ino, NULL };
	bool queued = false;

	if (name && !(j.name = strdup(name))) {
		kinval_drop_all(); /* coarse, but never stale */
		return;
	}
	pthread_mutex_lock(&kq.lock);
	if (!kq.stop && atomic_load(&kq.running)) {
		queued = list_add(&kq.jobs, &j, sizeof(j));
		if (queued)
			kq.queued++;
		else
			kinval_drop_all();
	}
	pthread_mutex_unlock(&kq.lock);
	if (!queued) {
		free(j.name);
		return;
	}
	sem_post(&kq.wake);
}

void kinval_inode(uint64_t ino)
{
	queue(JOB_INODE, ino, NULL);
}

void kinval_entry(uint64_t parent, const char *name)
{
	queue(JOB_ENTRY, parent, name);
}

void kinval_folder_listed(uint64_t dir, long trust_left_ms)
{
	long long due = monotime_ms() + (trust_left_ms > FOLDER_MIN_MS
						 ? trust_left_ms
						 : FOLDER_MIN_MS);
	bool sooner = false;

	pthread_mutex_lock(&kq.lock);
	if (kq.stop || !atomic_load(&kq.running)) {
		pthread_mutex_unlock(&kq.lock);
		return;
	}
	if (!list_add(&kq.folders, &dir, sizeof(dir))) {
		due = monotime_ms(); /* drop what is listed now */
	}
	if (!kq.folders_due || due < kq.folders_due) {
		kq.folders_due = due;
		sooner = true;
	}
	pthread_mutex_unlock(&kq.lock);
	if (sooner)
		sem_post(&kq.wake); /* the thread sleeps until the new time */
}

void kinval_drop_all(void)
{
	atomic_store(&kq.drop_all, true);
	if (atomic_load(&kq.running))
		sem_post(&kq.wake);
}

void kinval_wait(long timeout_ms)
{
	struct timespec until = monotime_timespec(monotime_ms() + timeout_ms);
	unsigned long long target;

	pthread_mutex_lock(&kq.lock);
	target = kq.queued;
	while (!kq.stop && kq.done < target)
		if (pthread_cond_timedwait(&kq.done_cond, &kq.lock, &until) ==
		    ETIMEDOUT) {
			log_debug("kernel-cache invalidation still under way "
				  "after %ld ms",
				  timeout_ms);
			break;
		}
	pthread_mutex_unlock(&kq.lock);
}

static void inval_inode(uint64_t ino)
{
	if (!knodes_known(ino))
		return;
	atomic_fetch_add(&kq.dropped, 1);
	knodes_set_pages(ino, false);
	fuse_lowlevel_notify_inval_inode(kq.se, ino, 0, 0);
}

static void send_job(const struct job *j)
{
	int f;

	switch (j->kind) {
	case JOB_INODE:
		inval_inode(j->ino);
		break;
	case JOB_ENTRY:
		if (knodes_known(j->ino))
			fuse_lowlevel_notify_inval_entry(kq.se, j->ino, j->name,
							 strlen(j->name));
		break;
	case JOB_SYNC:
		inval_inode(tree_folder_ino(j->ino));
		for (f = 0; f < FIELD_COUNT; f++)
			inval_inode(tree_field_ino(j->ino, f));
		break;
	}
}

/* SIGUSR1: attributes, pages and listings of every node the kernel
 * holds.  Names stay: each one's attributes are asked for again, and
 * those of a sync gone elsewhere fail with ENOENT. */
static void drop_everything(void)
{
	size_t i, count;
	uint64_t *ids = knodes_all(&count);

	atomic_fetch_add(&kq.dropped, 1);
	for (i = 0; i < count; i++) {
		knodes_set_pages(ids[i], false);
		fuse_lowlevel_notify_inval_inode(kq.se, ids[i], 0, 0);
	}
	free(ids);
}

bool kinval_stored(uint64_t ino)
{
	return knodes_pages(ino);
}

void kinval_pages_dropped(uint64_t ino)
{
	knodes_set_pages(ino, false);
}

unsigned long kinval_drops(void)
{
	return atomic_load(&kq.dropped);
}

void kinval_store(uint64_t ino, const char *data, size_t len,
		  unsigned long drops)
{
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(len);

	if (!atomic_load(&kq.running) || !len)
		return;
	buf.buf[0].mem = (void *)data;
	if (fuse_lowlevel_notify_store(kq.se, ino, 0, &buf, 0))
		return; /* the kernel READs it as usual */
	knodes_set_pages(ino, true);
	/* a drop sent since the content was taken missed it */
	if (atomic_load(&kq.dropped) != drops || atomic_load(&kq.drop_all)) {
		knodes_set_pages(ino, false);
		queue(JOB_INODE, ino, NULL);
	}
}

/* Sleeps until woken, or until the folders are due. */
static void sleep_until_needed(void)
{
	long long due;
	struct timespec ts;

	pthread_mutex_lock(&kq.lock);
	due = kq.folders_due;
	pthread_mutex_unlock(&kq.lock);
	if (!due) {
		while (sem_wait(&kq.wake) && errno == EINTR)
			;
		return;
	}
	ts = monotime_timespec(due);
	while (sem_clockwait(&kq.wake, CLOCK_MONOTONIC, &ts) && errno == EINTR)
		;
}

static void *run(void *arg)
{
	for (;;) {
		struct list jobs, folders = { 0 };
		unsigned long long upto;
		size_t i;

		sleep_until_needed();
		pthread_mutex_lock(&kq.lock);
		if (kq.stop) {
			pthread_mutex_unlock(&kq.lock);
			return NULL;
		}
		jobs = list_take(&kq.jobs);
		upto = kq.queued;
		if (kq.folders_due && monotime_ms() >= kq.folders_due) {
			folders = list_take(&kq.folders);
			kq.folders_due = 0;
		}
		pthread_mutex_unlock(&kq.lock);

		if (atomic_exchange(&kq.drop_all, false))
			drop_everything();
		for (i = 0; i < jobs.count; i++) {
			struct job *j = (struct job *)jobs.items + i;

			send_job(j);
			free(j->name);
		}
		for (i = 0; i < folders.count; i++)
			inval_inode(((uint64_t *)folders.items)[i]);
		free(jobs.items);
		free(folders.items);

		pthread_mutex_lock(&kq.lock);
		kq.done = upto;
		pthread_cond_broadcast(&kq.done_cond);
		pthread_mutex_unlock(&kq.lock);
	}
}

/* The change feed's listener: the account is locked, nothing blocks. */
static void on_change(void *arg, const struct change *ch)
{
	struct cache *c = arg;
	struct account *a = cache_account(c, ch->account);
	struct cache_entry *e;
	uint64_t folder;

	if (!a)
		return;
	folder = tree_folder_ino(a->serial);
	if (ch->kind == CHANGE_REMOVED || ch->kind == CHANGE_RENAMED)
		queue(JOB_ENTRY, folder, ch->old_folder);
	if (ch->kind == CHANGE_ADDED || ch->kind == CHANGE_RENAMED)
		queue(JOB_ENTRY, folder,
		      ch->folder); /* a name missing before */
	if (ch->kind != CHANGE_CHANGED)
		queue(JOB_INODE, folder, NULL); /* its listing */
	if (ch->kind == CHANGE_RENAMED || ch->kind == CHANGE_CHANGED) {
		e = account_by_id(a, ch->sync_id);
		if (e)
			queue(JOB_SYNC, e->serial, NULL);
	}
}

int kinval_start(struct cache *c, struct fuse_session *se)
{
	pthread_condattr_t attr;
	int ret;

	kq.se = se;
	if (sem_init(&kq.wake, 0, 0))
		return -errno;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&kq.done_cond, &attr);
	pthread_condattr_destroy(&attr);
	atomic_store(&kq.running, true);
	ret = pthread_create(&kq.thread, NULL, run, NULL);
	if (ret) {
		atomic_store(&kq.running, false);
		sem_destroy(&kq.wake);
		return -ret;
	}
	cache_listen(c, on_change, c);
	return 0;
}

void kinval_stop(void)
{
	size_t i;

	if (!atomic_load(&kq.running))
		return;
	/* the listener stays set (the cache may still be in use): queue()
	 * drops what comes from now on */
	pthread_mutex_lock(&kq.lock);
	kq.stop = true;
	pthread_cond_broadcast(&kq.done_cond);
	pthread_mutex_unlock(&kq.lock);
	sem_post(&kq.wake);
	pthread_join(kq.thread, NULL);
	atomic_store(&kq.running, false);
	for (i = 0; i < kq.jobs.count; i++)
		free(((struct job *)kq.jobs.items)[i].name);
	free(kq.jobs.items);
	free(kq.folders.items);
	memset(&kq.jobs, 0, sizeof(kq.jobs));
	memset(&kq.folders, 0, sizeof(kq.folders));
	pthread_cond_destroy(&kq.done_cond);
	sem_destroy(&kq.wake);
}
