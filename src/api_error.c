/*
 * api_error: the errno table and the user-facing wording of a failed call.
 *
 * This is the only place that decides which errno a user sees for an API
 * answer, so that a read of an expired listing and a write fail alike for
 * the same answer.  tests/unit/test_api_error.c pins the table.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api_error.h"

void api_error_clear(struct api_error *e)
{
	memset(e, 0, sizeof(*e));
}

static int status_errno(long status, enum api_op op)
{
	switch (status) {
	case 400:
	case 422:
		return EINVAL;
	case 401:
	case 403:
		return EACCES;
	case 404:
		return ENOENT;
	case 409:
		return op == API_OP_CREATE || op == API_OP_RENAME ? EEXIST
								  : EBUSY;
	case 413:
		return EFBIG; /* the body was too large for the API */
	case 429:
		return EAGAIN;
	default:
		return EIO;
	}
}

int api_error_errno(const struct api_error *e, enum api_op op)
{
	switch (e->failure) {
	case API_FAIL_NONE:
		return 0;
	case API_FAIL_STATUS:
		return status_errno(e->status, op);
	case API_FAIL_TIMEOUT:
		return ETIMEDOUT;
	case API_FAIL_WAIT_TOO_LONG:
		return EAGAIN;
	case API_FAIL_LOCAL:
		return EINVAL;
	case API_FAIL_STALE:
		return ESTALE;
	case API_FAIL_TRANSPORT:
	case API_FAIL_MALFORMED:
	default:
		return EIO;
	}
}

const char *api_error_format(const struct api_error *e, char *buf, size_t len)
{
	char codes[96] = "";
	size_t used = 0;
	int i;

	for (i = 0; i < e->ncodes && used + 16 < sizeof(codes); i++)
		used += (size_t)snprintf(codes + used, sizeof(codes) - used,
					 "%s%d", i ? "," : " [", e->codes[i]);
	if (e->ncodes)
		snprintf(codes + used, sizeof(codes) - used, "]");

	if (e->failure == API_FAIL_STATUS)
		snprintf(buf, len, "%s %s: %ld%s %s%s%s%s", e->method, e->path,
			 e->status, codes, e->message,
			 e->cf_ray[0] ? " (cf-ray " : "", e->cf_ray,
			 e->cf_ray[0] ? ")" : "");
	else if (e->method[0])
		snprintf(buf, len, "%s %s: %s", e->method, e->path, e->message);
	else
		snprintf(buf, len, "%s", e->message);
	return buf;
}
