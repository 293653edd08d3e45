/*
 * api_error: what went wrong with one API call, kept whole so that the
 * user can be told (last_error, the log), and the one table that turns it
 * into an errno.
 */
#ifndef CATSYNCFS_API_ERROR_H
#define CATSYNCFS_API_ERROR_H

#include <stddef.h>
#include <time.h>

#define API_ERROR_MAX_CODES 8

enum api_failure {
	API_FAIL_NONE = 0,
	API_FAIL_STATUS, /* the API answered with an HTTP error */
	API_FAIL_TIMEOUT, /* an attempt ran past timeout= */
	API_FAIL_TRANSPORT, /* unreachable, reset, TLS, too big */
	API_FAIL_MALFORMED, /* a 2xx answer we could not accept */
	API_FAIL_WAIT_TOO_LONG, /* Retry-After beyond 60 s */
	API_FAIL_LOCAL, /* refused here before sending */
	API_FAIL_STALE, /* the server changed since it was read */
};

/* What an operation was, where 409 means different things. */
enum api_op {
	API_OP_READ,
	API_OP_CREATE,
	API_OP_RENAME,
	API_OP_UPDATE,
	API_OP_DELETE,
	API_OP_REFRESH,
};

struct api_error {
	enum api_failure failure;
	long status;
	char method[8];
	char path[192];
	int codes[API_ERROR_MAX_CODES];
	int ncodes;
	/* Cloudflare's messages ("code: text; ..."), or ours */
	char message[768];
	char cf_ray[64];
	time_t when;
};

void api_error_clear(struct api_error *e);

/* The errno of SPEC "Files" for this failure, as a positive number. */
int api_error_errno(const struct api_error *e, enum api_op op);

/*
 * One line for the user: "PATCH /accounts/.../ID: 422 [1012] policy does
 * not compile (cf-ray 8c1d...)".  Returns buf.
 */
const char *api_error_format(const struct api_error *e, char *buf, size_t len);

#endif
