/*
 * options: command line, token file and environment (see options.h and
 * SPEC "Command line" for the order in which they are looked for).
 *
 * The token is read from a file or the environment, never from argv, and
 * a token file that group or others can read is refused: a world-readable
 * API token is a leak waiting to happen.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "budget.h"
#include "config.h"
#include "http.h"
#include "options.h"
#include "sync.h"
#include "token_file.h"

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_RO,
	KEY_CACHE_TTL,
	KEY_TIMEOUT,
	KEY_RETRIES,
};

#define OPT(t, p)                                                              \
	{                                                                      \
		t, offsetof(struct options, p), 1                              \
	}

static const struct fuse_opt option_spec[] = {
	OPT("token_file=%s", token_file), OPT("api_url=%s", api_url),
	OPT("account=%s", account), OPT("cafile=%s", cafile),
	FUSE_OPT_KEY("cache_ttl=", KEY_CACHE_TTL),
	FUSE_OPT_KEY("timeout=", KEY_TIMEOUT),
	FUSE_OPT_KEY("retries=", KEY_RETRIES), OPT("rate_limit=%s", rate_limit),
	OPT("default_destination_type=%s", default_destination_type),
	OPT("default_update_mode=%s", default_update_mode),
	OPT("delete_destination", delete_destination),
	OPT("journal=%s", journal), OPT("nojournal", nojournal),
	/* as libfuse's high-level API had them: see mount.fuse3(8) */
	OPT("uid=%u", uid), OPT("uid=", set_uid), OPT("gid=%u", gid),
	OPT("gid=", set_gid), OPT("umask=%o", umask), OPT("umask=", set_umask),
	FUSE_OPT_KEY("ro", KEY_RO), FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP), FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	/* mount(8) calls a helper as: SOURCE DIR [-n] [-o OPTS] [-t TYPE] */
	FUSE_OPT_KEY("-t ", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("-n", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("-v", FUSE_OPT_KEY_DISCARD), FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG), FUSE_OPT_END
};

/* fstab options that mount(8) or systemd act on; libfuse would refuse them */
static bool is_mount_only_option(const char *opt)
{
	static const char *const names[] = {
		"_netdev", "nofail", "noauto", "auto",	   "user", "users",
		"nouser",  "owner",  "group",  "defaults", NULL,
	};
	const char *const *n;

	/* "" from a stray comma ("account=ID,") is nothing at all */
	if (!*opt || !strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8))
		return true;
	for (n = names; *n; n++)
		if (!strcmp(opt, *n))
			return true;
	return false;
}

/*
 * libfuse's high-level caching options: catsyncfs decides the kernel's
 * caching itself (kcache.h), so an fstab line written for another FUSE
 * filesystem still mounts, and the log says what was left out.
 */
static bool is_caching_option(const char *opt)
{
	static const char *const names[] = {
		"kernel_cache",
		"auto_cache",
		"noauto_cache",
		"entry_timeout=",
		"negative_timeout=",
		"attr_timeout=",
		"ac_attr_timeout=",
		"use_ino",
		"readdir_ino",
		"hard_remove",
		"direct_io",
		"noforget",
		NULL,
	};
	const char *const *n;

	for (n = names; *n; n++) {
		size_t len = strlen(*n);

		if ((*n)[len - 1] == '=' ? !strncmp(opt, *n, len)
					 : !strcmp(opt, *n))
			return true;
	}
	return false;
}

/*
 * "name=N" into *out: a whole decimal number and nothing else, so that
 * "timeout=5m" is an error rather than 5 seconds.  The range is checked
 * once every option is read.
 */
static int parse_number(const char *arg, int *out)
{
	const char *value = strchr(arg, '=') + 1;
	char *end;
	long n;

	errno = 0;
	n = strtol(value, &end, 10);
	if (!*value || *end ||
	    !(isdigit((unsigned char)*value) || *value == '-')) {
		fprintf(stderr, "catsyncfs: %.*s='%s' is not a whole number\n",
			(int)(value - arg - 1), arg, value);
		return -1;
	}
	if (errno || n < INT_MIN || n > INT_MAX)
		n = n < 0 ? INT_MIN : INT_MAX; /* the range check names it */
	*out = (int)n;
	return 0;
}

static int on_option(void *data, const char *arg, int key,
		     struct fuse_args *outargs)
{
	struct options *opts = data;

	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (!opts->mountpoint) {
			opts->mountpoint = strdup(arg);
			return 0;
		}
		if (!opts->source) {
			/* "SOURCE MOUNTPOINT", as mount(8) and fstab give it */
			opts->source = opts->mountpoint;
			opts->mountpoint = strdup(arg);
			return 0;
		}
		fprintf(stderr, "catsyncfs: unexpected argument '%s'\n", arg);
		return -1;
	case FUSE_OPT_KEY_OPT:
		/* options meant for mount(8) and systemd, not for FUSE */
		if (is_mount_only_option(arg))
			return 0;
		if (is_caching_option(arg)) {
			fprintf(stderr,
				"catsyncfs: option '%s' ignored: catsyncfs sets "
				"the kernel's caching itself\n",
				arg);
			return 0;
		}
		return 1;
	case KEY_HELP:
		opts->show_help = true;
		return 0;
	case KEY_VERSION:
		opts->show_version = true;
		return 0;
	case KEY_FOREGROUND:
		opts->foreground = true;
		return 0;
	case KEY_DEBUG:
		/* our -d logs API calls; FUSE's own debug dump stays off */
		opts->debug = true;
		opts->foreground = true;
		return 0;
	case KEY_RO:
		opts->read_only = true;
		return 1; /* libfuse sees it too: the kernel refuses writes */
	case KEY_CACHE_TTL:
		return parse_number(arg, &opts->cache_ttl);
	case KEY_TIMEOUT:
		return parse_number(arg, &opts->timeout);
	case KEY_RETRIES:
		return parse_number(arg, &opts->retries);
	default:
		return 1;
	}
}

void options_print_help(const char *progname)
{
	printf("usage: %s [options] [SOURCE] MOUNTPOINT\n"
	       "       %s --help | --version\n\n"
	       "Mounts Cloudflare Magic Cloud Networking catalog syncs as files.\n\n"
	       "general options:\n"
	       "    -h, --help             print this help and exit\n"
	       "    -V, --version          print versions and exit\n"
	       "    -f                     stay in the foreground, log to stderr\n"
	       "    -d                     log every API call (implies -f)\n"
	       "    -o opt,[opt...]        mount options\n\n"
	       "catsyncfs options:\n"
	       "    -o token_file=PATH     API token: first line of PATH (mode 0600)\n"
	       "                           else $CLOUDFLARE_API_TOKEN, else\n"
	       "                           $CLOUDFLARE_EMAIL + $CLOUDFLARE_API_KEY\n"
	       "    -o account=ID[:ID...]  accounts to show (else $CLOUDFLARE_ACCOUNT_ID,\n"
	       "                           else every account the token can list)\n"
	       "    -o api_url=URL         API base (else $CLOUDFLARE_BASE_URL, else\n"
	       "                           %s)\n"
	       "    -o cafile=PATH         trust this CA bundle for TLS\n"
	       "    -o cache_ttl=SECONDS   how long a listing is trusted (default 10)\n"
	       "    -o timeout=SECONDS     one API attempt (default 30)\n"
	       "    -o retries=N           retries of a failed call (default 2)\n"
	       "    -o rate_limit=REQUESTS/SECONDS\n"
	       "                           the request budget (default "
	       "1200/300)\n"
	       "    -o default_destination_type=NONE|ZERO_TRUST_LIST  for mkdir\n"
	       "    -o default_update_mode=MANUAL|AUTO                for mkdir\n"
	       "    -o delete_destination  rmdir also deletes the destination list\n"
	       "    -o journal=PATH        record every change here (default\n"
	       "                           $XDG_STATE_HOME/catsyncfs/journal.jsonl,\n"
	       "                           ~/.local/state/..., as root\n"
	       "                           /var/lib/catsyncfs/journal.jsonl)\n"
	       "    -o nojournal           keep no journal\n"
	       "    -o ro                  read-only: every write fails with EROFS\n\n"
	       "FUSE options (see mount.fuse3(8)):\n"
	       "    -o allow_other, -o uid=N, -o gid=N, -o umask=M, ...\n",
	       progname, progname, CATSYNCFS_DEFAULT_API_URL);
}

/* The bounds of the numeric options, named in their error messages. */
#define CACHE_TTL_MAX 86400
#define TIMEOUT_MAX 3600
#define RETRIES_MAX 10

static int check_range(const char *name, int value, int min, int max,
		       const char *unit)
{
	if (value >= min && value <= max)
		return 0;
	fprintf(stderr,
		"catsyncfs: %s=%d is out of range: it takes %d to %d%s%s\n",
		name, value, min, max, unit ? " " : "", unit ? unit : "");
	return -1;
}

int options_parse(struct fuse_args *args, struct options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->cache_ttl = 10;
	opts->timeout = 30;
	opts->retries = 2;
	if (fuse_opt_parse(args, opts, option_spec, on_option) == -1)
		return -1;
	if (opts->show_help || opts->show_version)
		return 0;
	if (!opts->mountpoint) {
		fprintf(stderr, "catsyncfs: no mountpoint given "
				"(see catsyncfs --help)\n");
		return -1;
	}
	if (check_range("cache_ttl", opts->cache_ttl, 0, CACHE_TTL_MAX,
			"seconds") ||
	    check_range("timeout", opts->timeout, 1, TIMEOUT_MAX, "seconds") ||
	    check_range("retries", opts->retries, 0, RETRIES_MAX, NULL))
		return -1;
	opts->rate_requests = BUDGET_DEFAULT_LIMIT;
	opts->rate_window_s = BUDGET_DEFAULT_WINDOW_S;
	if (opts->rate_limit &&
	    budget_parse_spec(opts->rate_limit, &opts->rate_requests,
			      &opts->rate_window_s)) {
		fprintf(stderr,
			"catsyncfs: rate_limit='%s' is not REQUESTS/SECONDS "
			"(whole numbers, 1 to %d requests per 1 to %d "
			"seconds; Cloudflare's limit is %d/%d)\n",
			opts->rate_limit, BUDGET_MAX_LIMIT, BUDGET_MAX_WINDOW_S,
			BUDGET_DEFAULT_LIMIT, BUDGET_DEFAULT_WINDOW_S);
		return -1;
	}
	/* an empty account= would widen the mount to every account */
	if (opts->account && !*opts->account) {
		fprintf(stderr,
			"catsyncfs: account= is empty: give one or more "
			"account ids (ID[:ID...]), or leave the option "
			"out to show every account the token can list\n");
		return -1;
	}
	if (!opts->default_destination_type)
		opts->default_destination_type = strdup("NONE");
	if (!opts->default_update_mode)
		opts->default_update_mode = strdup("MANUAL");
	if (!sync_destination_type_valid(opts->default_destination_type)) {
		fprintf(stderr, "catsyncfs: default_destination_type must be "
				"NONE or ZERO_TRUST_LIST\n");
		return -1;
	}
	if (!sync_update_mode_valid(opts->default_update_mode)) {
		fprintf(stderr, "catsyncfs: default_update_mode must be "
				"MANUAL or AUTO\n");
		return -1;
	}
	return 0;
}

static int read_token_file(struct options *opts)
{
	char why[512];

	if (token_file_read(opts->token_file, &opts->token, &opts->token_stamp,
			    why, sizeof(why))) {
		fprintf(stderr, "catsyncfs: %s\n", why);
		return -1;
	}
	return 0;
}

/*
 * Takes a secret out of the environment once read: unsetenv alone leaves
 * the text in the block that /proc/PID/environ shows, so it is wiped
 * there first.
 */
static void take_from_environment(const char *name)
{
	size_t len = strlen(name);
	char **e;

	/* every entry of that name: a crafted environment may hold two */
	for (e = environ; *e; e++)
		if (!strncmp(*e, name, len) && (*e)[len] == '=')
			explicit_bzero(*e + len + 1, strlen(*e + len + 1));
	unsetenv(name);
}

/* A copy of a credential from the environment, trimmed; NULL if unset. */
static char *credential_from_environment(const char *name)
{
	const char *env = getenv(name);
	char *copy = env ? strdup(env) : NULL;

	if (copy && !*token_trim(copy)) {
		free(copy);
		copy = NULL;
	}
	return copy;
}

static int check_url(struct options *opts)
{
	const char *url = opts->base_url;

	if (!strncasecmp(url, "https://", 8))
		return 0;
	if (!strncasecmp(url, "http://", 7)) {
		if (http_url_is_loopback(url))
			return 0;
		fprintf(stderr,
			"catsyncfs: refusing plain http to '%s': the "
			"token would travel in clear; use https\n",
			url);
		return -1;
	}
	fprintf(stderr, "catsyncfs: api_url '%s' is not an http(s) URL\n", url);
	return -1;
}

int options_resolve(struct options *opts)
{
	int ret = 0;

	opts->base_url = opts->api_url;
	if (!opts->base_url)
		opts->base_url = getenv("CLOUDFLARE_BASE_URL");
	if (!opts->base_url || !*opts->base_url)
		opts->base_url = CATSYNCFS_DEFAULT_API_URL;
	if (check_url(opts))
		return -1;

	if (opts->token_file) {
		ret = read_token_file(opts);
		goto out_clean_env;
	}
	opts->token = credential_from_environment("CLOUDFLARE_API_TOKEN");
	if (opts->token)
		goto out_clean_env;
	if (getenv("CLOUDFLARE_EMAIL") && getenv("CLOUDFLARE_API_KEY")) {
		opts->email = credential_from_environment("CLOUDFLARE_EMAIL");
		opts->key = credential_from_environment("CLOUDFLARE_API_KEY");
		ret = opts->email && opts->key ? 0 : -1;
		if (ret)
			fprintf(stderr, "catsyncfs: CLOUDFLARE_EMAIL or "
					"CLOUDFLARE_API_KEY is empty\n");
		goto out_clean_env;
	}
	fprintf(stderr, "catsyncfs: no API token: use -o token_file=PATH or "
			"set CLOUDFLARE_API_TOKEN (or CLOUDFLARE_EMAIL and "
			"CLOUDFLARE_API_KEY)\n");
	return -1;

out_clean_env:
	/* the daemon's environment must not keep the secrets it read */
	take_from_environment("CLOUDFLARE_API_TOKEN");
	take_from_environment("CLOUDFLARE_API_KEY");
	return ret;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void options_finish(struct options *opts)
{
	free(opts->mountpoint);
	free(opts->source);
	free(opts->token_file);
	free(opts->api_url);
	free(opts->account);
	free(opts->cafile);
	free(opts->rate_limit);
	free(opts->journal);
	free(opts->default_destination_type);
	free(opts->default_update_mode);
	wipe_free(opts->token);
	free(opts->email);
	wipe_free(opts->key);
	memset(opts, 0, sizeof(*opts));
}
