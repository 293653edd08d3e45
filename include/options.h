/*
 * options: catsyncfs's command line and environment, read into one
 * struct before anything else starts.  FUSE's own options stay in args
 * for libfuse.
 */
#ifndef CATSYNCFS_OPTIONS_H
#define CATSYNCFS_OPTIONS_H

#include <fuse.h>
#include <stdbool.h>

#include "token_file.h"

struct options {
	char *mountpoint;
	char *source; /* "catsyncfs" in fstab; not used */
	bool foreground;
	bool debug;
	bool show_help;
	bool show_version;
	bool read_only;
	int delete_destination; /* int: fuse_opt stores an int */
	char *journal; /* journal=PATH, else the default (journal.h) */
	int nojournal;

	char *token_file;
	char *api_url;
	char *account;
	char *cafile;
	char *default_destination_type;
	char *default_update_mode;
	/* uid=, gid=, umask=: what stat shows instead (ints: fuse_opt) */
	int set_uid, set_gid, set_umask;
	unsigned int uid, gid, umask;
	int cache_ttl; /* seconds */
	int timeout; /* seconds, one attempt */
	int retries;
	char *rate_limit; /* "REQUESTS/SECONDS" as given */
	long rate_requests; /* parsed from rate_limit, or the default */
	long rate_window_s;

	/* resolved from the above and the environment */
	char *token; /* secret: wiped by options_finish */
	struct token_file_stamp token_stamp; /* the token_file version read */
	char *email;
	char *key;
	const char *base_url; /* api_url, $CLOUDFLARE_BASE_URL or default */
};

/*
 * Parses argv into opts and leaves FUSE's options in args.  Prints one
 * line to stderr and returns -1 on a usage error.
 */
int options_parse(struct fuse_args *args, struct options *opts)
	__attribute__((warn_unused_result));

/*
 * Reads the credentials (token_file, then the environment) and checks
 * the API URL.  Prints the cause to stderr and returns -1 when they
 * cannot be used.
 */
int options_resolve(struct options *opts) __attribute__((warn_unused_result));

void options_finish(struct options *opts);

void options_print_help(const char *progname);

#endif
