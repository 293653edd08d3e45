/* Pins the errno table of SPEC "Files": one answer, one errno. */
#include <errno.h>

#include "api_error.h"
#include "check.h"

static int status_errno(long status, enum api_op op)
{
	struct api_error e = { .failure = API_FAIL_STATUS, .status = status };

	return api_error_errno(&e, op);
}

static void errno_table_should_match_spec(void)
{
	CHECK(status_errno(400, API_OP_UPDATE) == EINVAL);
	CHECK(status_errno(422, API_OP_UPDATE) == EINVAL);
	CHECK(status_errno(401, API_OP_READ) == EACCES);
	CHECK(status_errno(403, API_OP_READ) == EACCES);
	CHECK(status_errno(404, API_OP_READ) == ENOENT);
	CHECK(status_errno(409, API_OP_CREATE) == EEXIST);
	CHECK(status_errno(409, API_OP_RENAME) == EEXIST);
	CHECK(status_errno(409, API_OP_UPDATE) == EBUSY);
	CHECK(status_errno(409, API_OP_DELETE) == EBUSY);
	CHECK(status_errno(429, API_OP_READ) == EAGAIN);
	CHECK(status_errno(413, API_OP_UPDATE) == EFBIG);
	CHECK(status_errno(500, API_OP_READ) == EIO);
	CHECK(status_errno(503, API_OP_READ) == EIO);
	CHECK(status_errno(418, API_OP_READ) == EIO);
}

static void failures_without_status_should_map(void)
{
	struct api_error e = { 0 };

	e.failure = API_FAIL_TIMEOUT;
	CHECK(api_error_errno(&e, API_OP_READ) == ETIMEDOUT);
	e.failure = API_FAIL_TRANSPORT;
	CHECK(api_error_errno(&e, API_OP_READ) == EIO);
	e.failure = API_FAIL_MALFORMED;
	CHECK(api_error_errno(&e, API_OP_READ) == EIO);
	e.failure = API_FAIL_WAIT_TOO_LONG;
	CHECK(api_error_errno(&e, API_OP_READ) == EAGAIN);
	e.failure = API_FAIL_STALE;
	CHECK(api_error_errno(&e, API_OP_UPDATE) == ESTALE);
	e.failure = API_FAIL_NONE;
	CHECK(api_error_errno(&e, API_OP_UPDATE) == 0);
}

static void format_should_name_method_status_codes_and_ray(void)
{
	struct api_error e = { .failure = API_FAIL_STATUS,
			       .status = 422,
			       .ncodes = 2,
			       .codes = { 1012, 7 } };
	char buf[512];

	snprintf(e.method, sizeof(e.method), "PATCH");
	snprintf(e.path, sizeof(e.path), "/accounts/x/y");
	snprintf(e.message, sizeof(e.message), "policy does not compile");
	snprintf(e.cf_ray, sizeof(e.cf_ray), "abc-EMU");
	CHECK_STR(api_error_format(&e, buf, sizeof(buf)),
		  "PATCH /accounts/x/y: 422 [1012,7] policy does not compile "
		  "(cf-ray abc-EMU)");
}

int main(void)
{
	RUN(errno_table_should_match_spec);
	RUN(failures_without_status_should_map);
	RUN(format_should_name_method_status_codes_and_ray);
	return RUN_SUMMARY();
}
