/*
 * The cache and the edit/write path without FUSE, against the emulator:
 * shared fetches, writes landing mid-fetch, SIGUSR1 racing a seed, the
 * lost-update check (ESTALE), folder-name collisions, and an open file's
 * commit.  The emulator binary comes from $CATSYNCFS_EMULATOR (meson).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "cache.h"
#include "check.h"
#include "edit.h"
#include "emulator.h"
#include "http.h"
#include "tree.h"
#include "writes.h"

#define ACCOUNT "0123456789abcdef0123456789abcdef"
#define ALPHA "11111111-1111-4111-8111-111111111111"
#define BETA "22222222-2222-4222-8222-222222222222"
#define LISTING "catalog-syncs"

static const char seed[] = "{\"accounts\":[{\"id\":\"" ACCOUNT "\",\"syncs\":["
			   "{\"id\":\"" ALPHA
			   "\",\"name\":\"alpha\",\"description\":\"first\"},"
			   "{\"id\":\"" BETA
			   "\",\"name\":\"beta\",\"description\":\"second\"}"
			   "]}]}";

static struct api *api;

static struct cache *make_cache(void)
{
	struct id_list ids = { 0 };
	struct cache *c = NULL;

	if (!id_list_add(&ids, ACCOUNT))
		c = cache_create(api, &ids, 60000);
	id_list_finish(&ids);
	CHECK(c != NULL);
	return c;
}

/* Changes a sync on the server behind the mount's back. */
static void server_patch(const char *id, const char *json)
{
	char what[160];

	snprintf(what, sizeof(what), "accounts/%s/syncs/%s", ACCOUNT, id);
	free(emulator_control("PATCH", what, json));
}

struct reader {
	struct cache *c;
	int ret;
	char description[64];
};

/* A reader of the listing: what alpha's description shows. */
static void *read_listing(void *arg)
{
	struct reader *r = arg;
	struct account *a = cache_account(r->c, ACCOUNT);
	struct cache_entry *e;

	r->ret = cache_lock_listing(r->c, a);
	if (r->ret)
		return NULL;
	e = account_by_id(a, ALPHA);
	snprintf(r->description, sizeof(r->description), "%s",
		 e ? e->sync->description : "(none)");
	account_unlock(a);
	return NULL;
}

static void cache_should_share_one_listing(void)
{
	struct reader r[2] = { { 0 }, { 0 } };
	pthread_t t[2];
	int i;

	emulator_reset(seed);
	emulator_latency(300);
	r[0].c = r[1].c = make_cache();
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, read_listing, &r[i]);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		CHECK(r[i].ret == 0);
		CHECK_STR(r[i].description, "first");
	}
	CHECK(emulator_logged("GET", LISTING) == 1);
	cache_destroy(r[0].c);
}

static void cache_should_fetch_again_when_a_write_lands_mid_fetch(void)
{
	struct reader r = { 0 };
	struct api_error err;
	struct account *a;
	struct sync *answer = NULL;
	pthread_t t;

	emulator_reset(seed);
	r.c = make_cache();
	a = cache_account(r.c, ACCOUNT);
	/* the write's answer, as the API gives it */
	server_patch(ALPHA, "{\"description\":\"changed\"}");
	CHECK(api_get_sync(api, ACCOUNT, ALPHA, &answer, &err) == 0);
	free(emulator_control("DELETE", "log", NULL));
	emulator_latency(300);
	pthread_create(&t, NULL, read_listing, &r);
	usleep(100 * 1000); /* the listing is on its way */
	account_lock(a);
	CHECK(answer && account_apply_sync(r.c, a, answer) == 0);
	account_unlock(a);
	pthread_join(t, NULL);
	CHECK(r.ret == 0);
	CHECK_STR(r.description, "changed");
	/* the listing that may predate the write was asked again */
	CHECK(emulator_logged("GET", LISTING) == 2);
	/* and the second one is trusted: no third request */
	CHECK(cache_lock_listing(r.c, a) == 0);
	account_unlock(a);
	CHECK(emulator_logged("GET", LISTING) == 2);
	cache_destroy(r.c);
}

/* A cache seeded with a listing fetched now (the mount's first call). */
static struct cache *seeded_cache(void)
{
	struct cache *c = make_cache();
	struct api_listing raw = { 0 };
	struct api_error err;

	CHECK(api_list_syncs_raw(api, ACCOUNT, &raw, &err) == 0);
	cache_seed_listing(cache_account(c, ACCOUNT), &raw);
	free(emulator_control("DELETE", "log", NULL));
	return c;
}

static void seed_should_answer_without_a_request(void)
{
	struct cache *c;
	struct account *a;

	emulator_reset(seed);
	c = seeded_cache();
	a = cache_account(c, ACCOUNT);
	cache_parse_seeds(c);
	CHECK(cache_lock_listing(c, a) == 0);
	CHECK(account_by_folder(a, "alpha") != NULL);
	account_unlock(a);
	CHECK(emulator_logged("GET", LISTING) == 0);
	/* SIGUSR1: the next reader asks */
	cache_drop_all();
	CHECK(cache_lock_listing(c, a) == 0);
	account_unlock(a);
	CHECK(emulator_logged("GET", LISTING) == 1);
	cache_destroy(c);
}

/*
 * SIGUSR1 while the seeder parses: whichever comes first, the reader
 * after the drop never takes the seed's data as fresh.
 */
static void drop_racing_a_seed_should_never_keep_the_seed(void)
{
	int i, asked = 0;

	emulator_reset(seed);
	for (i = 0; i < 20; i++) {
		struct cache *c = seeded_cache();
		struct account *a = cache_account(c, ACCOUNT);

		cache_parse_seeds(c);
		if (i % 2)
			usleep(200);
		cache_drop_all();
		CHECK(cache_lock_listing(c, a) == 0);
		CHECK(account_by_folder(a, "beta") != NULL);
		account_unlock(a);
		asked += emulator_logged("GET", LISTING);
		free(emulator_control("DELETE", "log", NULL));
		cache_destroy(c);
	}
	CHECK(asked == 20);
}

/* What a writer of field of id starts from, as an open would take it. */
static void base_of(struct cache *c, const char *id, enum field field,
		    struct sync_base *base)
{
	struct account *a = cache_account(c, ACCOUNT);

	CHECK(cache_lock_listing(c, a) == 0);
	edit_base(a, account_by_id(a, id)->sync, field, base);
	account_unlock(a);
}

static void save_should_be_estale_after_a_remote_change(void)
{
	struct cache *c;
	struct account *a;
	struct sync_base base;
	struct timespec when;
	const char *why;

	emulator_reset(seed);
	c = make_cache();
	a = cache_account(c, ACCOUNT);
	base_of(c, ALPHA, FIELD_DESCRIPTION, &base);
	server_patch(ALPHA, "{\"description\":\"theirs\"}");
	CHECK(writes_save(c, a, ALPHA, FIELD_DESCRIPTION, "mine\n", 5, &base) ==
	      -ESTALE);
	CHECK(emulator_logged("PATCH", ALPHA) == 0);
	account_lock(a);
	why = account_sync_error(a, ALPHA, &when);
	CHECK(why && strstr(why, "changed on the server"));
	/* the mount now shows their change */
	CHECK_STR(account_by_id(a, ALPHA)->sync->description, "theirs");
	account_unlock(a);
	/* read again, then saved: it lands and the error is history */
	base_of(c, ALPHA, FIELD_DESCRIPTION, &base);
	CHECK(writes_save(c, a, ALPHA, FIELD_DESCRIPTION, "mine\n", 5, &base) ==
	      0);
	CHECK(emulator_logged("PATCH", ALPHA) == 1);
	account_lock(a);
	CHECK(account_sync_error(a, ALPHA, &when) == NULL);
	CHECK_STR(account_by_id(a, ALPHA)->sync->description, "mine");
	account_unlock(a);
	cache_destroy(c);
}

static void renamed_into_a_shared_name_both_folders_should_carry_ids(void)
{
	struct cache *c;
	struct account *a;
	struct cache_entry *ea, *eb;
	struct sync_base base;

	emulator_reset(seed);
	c = make_cache();
	a = cache_account(c, ACCOUNT);
	/* someone else renames beta to alpha; our next write brings it */
	server_patch(BETA, "{\"name\":\"alpha\"}");
	base_of(c, BETA, FIELD_DESCRIPTION, &base);
	CHECK(writes_save(c, a, BETA, FIELD_DESCRIPTION, "x\n", 2, &base) == 0);
	account_lock(a);
	ea = account_by_id(a, ALPHA);
	eb = account_by_id(a, BETA);
	CHECK(account_by_folder(a, "alpha") == NULL);
	CHECK(ea && strstr(ea->folder, ALPHA) &&
	      account_by_folder(a, ea->folder) == ea);
	CHECK(eb && strstr(eb->folder, BETA) &&
	      account_by_folder(a, eb->folder) == eb);
	account_unlock(a);
	/* renaming one away ends the collision: plain names again */
	CHECK(writes_rename(c, a, BETA, "gamma") == 0);
	account_lock(a);
	CHECK(account_by_folder(a, "alpha") == account_by_id(a, ALPHA));
	CHECK(account_by_folder(a, "gamma") == account_by_id(a, BETA));
	account_unlock(a);
	cache_destroy(c);
}

/* Opens path as open(2) with flags would, through tree and edit. */
static struct open_file *open_path(struct cache *c, const char *path, int flags)
{
	struct open_file *of = NULL;
	struct node n;

	if (tree_resolve(c, path, &n))
		return NULL;
	CHECK(edit_open(&n, flags, false, &of) == 0);
	tree_release(&n);
	return of;
}

static void open_file_should_send_on_commit_only_what_changed(void)
{
	const char *path = "/" ACCOUNT "/alpha/description";
	struct cache *c;
	struct open_file *of;
	char buf[64] = "";

	emulator_reset(seed);
	c = make_cache();
	of = open_path(c, path, O_RDONLY);
	CHECK(of && edit_read(of, buf, sizeof(buf) - 1, 0) == 6);
	CHECK_STR(buf, "first\n");
	CHECK(edit_commit(c, of) == 0); /* a reader sends nothing */
	edit_close(of);
	of = open_path(c, path, O_WRONLY | O_TRUNC);
	CHECK(of && edit_write(of, "new\n", 4, 0) == 4);
	CHECK(edit_commit(c, of) == 0);
	CHECK(edit_commit(c, of) == 0); /* nothing new: nothing sent */
	edit_close(of);
	CHECK(emulator_logged("PATCH", ALPHA) == 1);
	of = open_path(c, path, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK(of && edit_read(of, buf, sizeof(buf) - 1, 0) == 4);
	CHECK_STR(buf, "new\n");
	edit_close(of);
	/* a write past the size limit poisons the open: nothing is sent */
	of = open_path(c, path, O_WRONLY);
	CHECK(of && edit_write(of, "x", 1, (off_t)1 << 40) == -EFBIG);
	CHECK(of && edit_write(of, "y\n", 2, 0) == -EFBIG);
	CHECK(of && edit_commit(c, of) == -EFBIG);
	edit_close(of);
	CHECK(emulator_logged("PATCH", ALPHA) == 1);
	cache_destroy(c);
}

/* What the change feed told, one line per change: "KIND id old>new". */
static char told[2048];

static void listen_to(void *arg, const struct change *ch)
{
	static const char *const kinds[] = { "added", "removed", "renamed",
					     "changed" };
	size_t n = strlen(told);

	CHECK(arg == told);
	snprintf(told + n, sizeof(told) - n, "%s %.8s %s>%s\n", kinds[ch->kind],
		 ch->sync_id, ch->old_folder ? ch->old_folder : "-",
		 ch->folder ? ch->folder : "-");
}

static void change_feed_should_tell_what_changed(void)
{
	struct cache *c;
	struct account *a;
	struct sync_base base;

	emulator_reset(seed);
	c = make_cache();
	a = cache_account(c, ACCOUNT);
	cache_listen(c, listen_to, told);
	told[0] = '\0';
	CHECK(cache_lock_listing(c, a) == 0);
	account_unlock(a);
	CHECK(strstr(told, "added 11111111 ->alpha\n"));
	CHECK(strstr(told, "added 22222222 ->beta\n"));
	/* a write lands */
	told[0] = '\0';
	base_of(c, ALPHA, FIELD_DESCRIPTION, &base);
	CHECK(writes_save(c, a, ALPHA, FIELD_DESCRIPTION, "x\n", 2, &base) ==
	      0);
	CHECK_STR(told, "changed 11111111 alpha>alpha\n");
	told[0] = '\0';
	CHECK(writes_rename(c, a, BETA, "gamma") == 0);
	CHECK_STR(told, "changed 22222222 beta>beta\n"
			"renamed 22222222 beta>gamma\n");
	/* a listing fetched again, compared with the one it replaces */
	free(emulator_control("DELETE", "accounts/" ACCOUNT "/syncs/" ALPHA,
			      NULL));
	server_patch(BETA, "{\"description\":\"theirs\"}");
	free(emulator_control(
		"POST", "accounts/" ACCOUNT "/syncs",
		"{\"id\":\"33333333-3333-4333-8333-333333333333\","
		"\"name\":\"delta\"}"));
	told[0] = '\0';
	cache_drop_all();
	CHECK(cache_lock_listing(c, a) == 0);
	account_unlock(a);
	CHECK(strstr(told, "removed 11111111 alpha>-\n"));
	CHECK(strstr(told, "changed 22222222 gamma>gamma\n"));
	CHECK(strstr(told, "added 33333333 ->delta\n"));
	cache_destroy(c);
}

/* Whether fn, run in a child, dies of abort(). */
static bool aborts(void (*fn)(struct cache *), struct cache *c)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		fclose(stderr); /* the violation's message is expected */
		fn(c);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void lookup_without_the_lock(struct cache *c)
{
	(void)account_by_id(cache_account(c, ACCOUNT), ALPHA);
}

static void network_call_under_the_lock(struct cache *c)
{
	struct sync *s = NULL;
	struct api_error err;

	account_lock(cache_account(c, ACCOUNT));
	if (!api_get_sync(api, ACCOUNT, ALPHA, &s, &err))
		sync_destroy(s);
}

static void an_account_twice(struct cache *c)
{
	account_lock(cache_account(c, ACCOUNT));
	account_lock(cache_account(c, ACCOUNT));
}

static void lock_order_should_be_checked(void)
{
#ifndef NDEBUG
	struct cache *c;

	emulator_reset(seed);
	c = make_cache();
	CHECK(aborts(lookup_without_the_lock, c));
	CHECK(aborts(network_call_under_the_lock, c));
	CHECK(aborts(an_account_twice, c));
	CHECK(emulator_logged("GET", ALPHA) == 0);
	cache_destroy(c);
#endif
}

int main(void)
{
	struct api_config cfg = { .token = "demo-token",
				  .timeout_ms = 10000,
				  .retries = 2 };
	int ret;

	if (http_global_init())
		return 1;
	emulator_start();
	cfg.base_url = emulator_base_url;
	api = api_create(&cfg);
	RUN(cache_should_share_one_listing);
	RUN(cache_should_fetch_again_when_a_write_lands_mid_fetch);
	RUN(seed_should_answer_without_a_request);
	RUN(drop_racing_a_seed_should_never_keep_the_seed);
	RUN(save_should_be_estale_after_a_remote_change);
	RUN(renamed_into_a_shared_name_both_folders_should_carry_ids);
	RUN(open_file_should_send_on_commit_only_what_changed);
	RUN(lock_order_should_be_checked);
	RUN(change_feed_should_tell_what_changed);
	ret = RUN_SUMMARY();
	api_destroy(api);
	emulator_stop();
	http_global_cleanup();
	return ret;
}
