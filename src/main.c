/*
 * catsyncfs: parse options, check credentials with a first API call,
 * mount, serve, unmount.  Everything else lives in the library.
 */
#include <errno.h>
#include <fuse.h> /* fuse_pkgversion */
#include <fuse_lowlevel.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>

#include "api.h"
#include "api_json.h"
#include "cache.h"
#include "config.h"
#include "fsops.h"
#include "http.h"
#include "ids.h"
#include "journal.h"
#include "kinval.h"
#include "knodes.h"
#include "log.h"
#include "options.h"
#include "writes.h"

/* SIGUSR1: forget every listing, and everything the kernel keeps. */
static void on_usr1(int sig)
{
	cache_drop_all();
	kinval_drop_all();
}

/* Splits "ID:ID,ID" into out; prints the bad id and fails on one. */
static int parse_accounts(const char *spec, struct id_list *out)
{
	char *copy = strdup(spec), *p, *save = NULL;
	int ret = 0;

	if (!copy)
		return -1;
	for (p = strtok_r(copy, ":,", &save); p && !ret;
	     p = strtok_r(NULL, ":,", &save)) {
		if (!ids_is_account_id(p)) {
			fprintf(stderr,
				"catsyncfs: '%s' is not an account id "
				"(32 lowercase hex digits)\n",
				p);
			ret = -1;
		} else if (id_list_add(out, p)) {
			ret = -1;
		}
	}
	free(copy);
	if (!ret && !out->count) {
		fprintf(stderr, "catsyncfs: no account id in '%s'\n", spec);
		ret = -1;
	}
	return ret;
}

/* One line naming why the first call failed. */
static void explain_first_failure(const struct options *opts,
				  const struct api_error *err)
{
	char line[1024];

	api_error_format(err, line, sizeof(line));
	if (err->failure == API_FAIL_STATUS &&
	    (err->status == 401 || err->status == 403 ||
	     (err->status == 400 && err->ncodes &&
	      (err->codes[0] == 9106 || err->codes[0] == 6003))))
		fprintf(stderr, "catsyncfs: authentication failed: %s\n", line);
	else if (err->failure == API_FAIL_TRANSPORT ||
		 err->failure == API_FAIL_TIMEOUT)
		fprintf(stderr, "catsyncfs: cannot reach the API at %s: %s\n",
			opts->base_url, err->message);
	else
		fprintf(stderr, "catsyncfs: first API call failed: %s\n", line);
}

/*
 * The first API call, before mounting: it proves the credentials and
 * the endpoint, and its listing seeds the cache (parsed once mounted).
 */
static int first_call(struct api *api, const struct options *opts,
		      struct id_list *accounts, struct api_listing *first)
{
	const char *spec = opts->account ? opts->account
					 : getenv("CLOUDFLARE_ACCOUNT_ID");
	struct api_error err;

	if (spec && *spec) {
		if (parse_accounts(spec, accounts))
			return -1;
		if (api_list_syncs_raw(api, accounts->items[0], first, &err)) {
			explain_first_failure(opts, &err);
			return -1;
		}
		return 0;
	}
	if (api_list_accounts(api, accounts, &err)) {
		explain_first_failure(opts, &err);
		return -1;
	}
	if (!accounts->count)
		log_info("the token can list no account; the mount is empty");
	return 0;
}

static void print_version(void)
{
	printf("catsyncfs %s\nlibfuse %s\nlibcurl %s\ncJSON %s\n",
	       CATSYNCFS_VERSION, fuse_pkgversion(), http_library_version(),
	       api_json_library_version());
}

/*
 * Opens the journal that every accepted change goes to (none under
 * nojournal or ro); prints the cause and fails when it cannot be written,
 * so that a mount never runs without the journal it was asked for.
 */
static int open_journal(const struct options *opts, struct journal **out)
{
	char path[4096], why[512];

	*out = NULL;
	if (opts->nojournal || opts->read_only)
		return 0;
	if (opts->journal)
		snprintf(path, sizeof(path), "%s", opts->journal);
	else if (journal_default_path(path, sizeof(path))) {
		fprintf(stderr, "catsyncfs: the default journal path is too "
				"long; use -o journal=PATH or -o nojournal\n");
		return -1;
	}
	if (journal_open(path, out, why, sizeof(why))) {
		fprintf(stderr,
			"catsyncfs: cannot use journal '%s': %s (use -o "
			"journal=PATH or -o nojournal)\n",
			path, why);
		return -1;
	}
	writes_set_journal(*out);
	log_debug("journal: %s", journal_path(*out));
	return 0;
}

static struct api *make_api(const struct options *opts)
{
	struct api_config cfg = {
		.base_url = opts->base_url,
		.token = opts->token,
		.email = opts->email,
		.key = opts->key,
		.cafile = opts->cafile,
		.timeout_ms = opts->timeout * 1000L,
		.retries = opts->retries,
		.rate_limit = opts->rate_requests,
		.rate_window_s = opts->rate_window_s,
		.token_file = opts->token_file,
		.token_stamp = opts->token_stamp,
	};

	return api_create(&cfg);
}

static int serve(struct fuse_args *args, struct options *opts,
		 struct fsops_context *context)
{
	struct fuse_loop_config *loop;
	struct fuse_session *se;
	struct statvfs sv;
	int ret = 1;

	/* statfs, unlike stat, is never answered from the kernel's cache */
	if (statvfs(opts->mountpoint, &sv)) {
		if (errno == ENOTCONN)
			fprintf(stderr,
				"catsyncfs: '%s' is a stale mount left by a "
				"crash; run: fusermount3 -u %s\n",
				opts->mountpoint, opts->mountpoint);
		else
			fprintf(stderr, "catsyncfs: cannot mount on '%s': %s\n",
				opts->mountpoint, strerror(errno));
		return 1;
	}
	if (!knodes_init()) {
		fprintf(stderr, "catsyncfs: out of memory\n");
		return 1;
	}
	se = fuse_session_new(args, fsops_operations(),
			      sizeof(struct fuse_lowlevel_ops), context);
	if (!se)
		goto out_nodes;
	if (fuse_session_mount(se, opts->mountpoint)) {
		/* libfuse printed why just above */
		fprintf(stderr, "catsyncfs: cannot mount on '%s'\n",
			opts->mountpoint);
		goto out_destroy;
	}
	if (fuse_daemonize(opts->foreground))
		goto out_unmount;
	if (!opts->foreground)
		log_use_syslog();
	if (fuse_set_signal_handlers(se))
		goto out_unmount;
	/* after the fork: the thread must run in the daemon */
	if (kinval_start(context->cache, se)) {
		fprintf(stderr, "catsyncfs: cannot start a thread\n");
		goto out_signals;
	}
	signal(SIGUSR1, on_usr1);
	loop = fuse_loop_cfg_create();
	if (!loop)
		goto out_kinval;
	fuse_loop_cfg_set_clone_fd(loop, 0);
	fuse_loop_cfg_set_idle_threads(loop, 10);
	ret = fuse_session_loop_mt(se, loop);
	/*
	 * libfuse ends the loop with the number of the signal that stopped
	 * it: SIGTERM, SIGINT and SIGHUP are a clean shutdown (every request
	 * in flight was answered before the loop returned).
	 */
	ret = ret == 0 || ret == SIGTERM || ret == SIGINT || ret == SIGHUP ? 0
									   : 1;
	fuse_loop_cfg_destroy(loop);

out_kinval:
	signal(SIGUSR1, SIG_IGN);
	kinval_stop();
out_signals:
	fuse_remove_signal_handlers(se);
out_unmount:
	fuse_session_unmount(se);
out_destroy:
	fuse_session_destroy(se);
out_nodes:
	knodes_finish();
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct id_list accounts = { 0 };
	struct api_listing first = { 0 };
	struct fsops_context context = { 0 };
	struct api *api = NULL;
	struct journal *journal = NULL;
	struct options opts;
	int ret = 1;

	/* the token must not end up in a core dump */
	prctl(PR_SET_DUMPABLE, 0);
	/*
	 * libfuse starts and stops worker threads on demand, and glibc gives
	 * each new thread its own malloc arena: under load the daemon's
	 * memory crept up by megabytes per minute that way, held in arenas
	 * of threads long gone.  One arena keeps it flat (measured by
	 * tests/integration/test_load.py) at no visible cost on this I/O
	 * bound daemon.
	 */
	mallopt(M_ARENA_MAX, 1);
	if (options_parse(&args, &opts))
		goto out_options;
	if (opts.show_help) {
		options_print_help(argv[0]);
		ret = 0;
		goto out_options;
	}
	if (opts.show_version) {
		print_version();
		ret = 0;
		goto out_options;
	}
	log_init(opts.debug);
	if (options_resolve(&opts))
		goto out_options;
	if (http_global_init()) {
		fprintf(stderr, "catsyncfs: cannot start libcurl\n");
		goto out_options;
	}
	context.opts = &opts;
	api = make_api(&opts);
	if (!api)
		goto out_http;
	if (first_call(api, &opts, &accounts, &first))
		goto out_api;
	if (open_journal(&opts, &journal))
		goto out_api;
	context.cache = cache_create(api, &accounts, opts.cache_ttl * 1000L);
	if (!context.cache)
		goto out_api;
	if (first.body && accounts.count)
		cache_seed_listing(
			cache_account(context.cache, accounts.items[0]),
			&first);
	if (opts.read_only)
		fuse_opt_add_arg(&args, "-oro");
	/*
	 * fsname/subtype: shows as "catsyncfs on /mnt/cf type fuse.catsyncfs"
	 * in mount(8).  default_permissions: the kernel enforces the honest
	 * modes, so that under allow_other only the mounting user can write.
	 */
	fuse_opt_insert_arg(&args, 1,
			    "-ofsname=catsyncfs,subtype=catsyncfs,"
			    "default_permissions");
	ret = serve(&args, &opts, &context);
	cache_destroy(context.cache);
out_api:
	writes_set_journal(NULL);
	journal_destroy(journal);
	api_destroy(api);
out_http:
	http_global_cleanup();
out_options:
	free(first.body);
	id_list_finish(&accounts);
	options_finish(&opts);
	fuse_opt_free_args(&args);
	return ret;
}
