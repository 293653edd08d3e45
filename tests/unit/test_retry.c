/* The retry policy, decided without a network. */
#include "check.h"
#include "retry.h"

static struct http_response answer(long status)
{
	struct http_response r = { .status = status,
				   .retry_after_ms = -1,
				   .should_retry = -1,
				   .request_sent = true };

	return r;
}

static enum retry_verdict decide(int attempt, bool idempotent,
				 const struct http_response *r, long *delay)
{
	struct retry_attempt a = { .attempt = attempt,
				   .max_retries = 2,
				   .idempotent = idempotent,
				   .resp = r };

	return retry_decide(&a, 0.0, delay);
}

static void success_and_client_errors_should_stand(void)
{
	long d;
	long statuses[] = { 200, 201, 400, 401, 403, 404, 409, 422 };
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		struct http_response r = answer(statuses[i]);

		CHECK(decide(0, true, &r, &d) == RETRY_DONE);
	}
}

static void server_errors_should_back_off_exponentially(void)
{
	struct http_response r = answer(500);
	long d = 0;

	CHECK(decide(0, true, &r, &d) == RETRY_AGAIN && d == 500);
	CHECK(decide(1, true, &r, &d) == RETRY_AGAIN && d == 1000);
	CHECK(decide(2, true, &r, &d) == RETRY_DONE);
}

static void jitter_should_take_at_most_a_quarter(void)
{
	struct http_response r = answer(503);
	struct retry_attempt a = {
		.attempt = 1, .max_retries = 5, .idempotent = true, .resp = &r
	};
	long d = 0;

	CHECK(retry_decide(&a, 0.999, &d) == RETRY_AGAIN);
	CHECK(d > 750 && d <= 1000);
}

static void backoff_should_cap_at_8_seconds(void)
{
	struct http_response r = answer(502);
	struct retry_attempt a = {
		.attempt = 9, .max_retries = 20, .idempotent = true, .resp = &r
	};
	long d = 0;

	CHECK(retry_decide(&a, 0.0, &d) == RETRY_AGAIN && d == 8000);
}

static void retry_after_should_be_honoured(void)
{
	struct http_response r = answer(429);
	long d = 0;

	r.retry_after_ms = 2000;
	CHECK(decide(0, true, &r, &d) == RETRY_AGAIN && d == 2000);
	r.retry_after_ms = 61000;
	CHECK(decide(0, true, &r, &d) == RETRY_TOO_LONG);
}

static void post_should_not_repeat_once_it_may_have_acted(void)
{
	struct http_response r = answer(500);
	long d;

	CHECK(decide(0, false, &r, &d) == RETRY_DONE);
	r = answer(0);
	r.transport = HTTP_TRANSPORT_TIMEOUT;
	CHECK(decide(0, false, &r, &d) == RETRY_DONE);
	/* but 429 means the server did not act, and a refused connect
	 * means it never saw the request */
	r = answer(429);
	CHECK(decide(0, false, &r, &d) == RETRY_AGAIN);
	r = answer(0);
	r.transport = HTTP_TRANSPORT_CONNECT;
	r.request_sent = false;
	CHECK(decide(0, false, &r, &d) == RETRY_AGAIN);
}

static void should_retry_header_should_win(void)
{
	struct http_response r = answer(500);
	long d;

	r.should_retry = 0;
	CHECK(decide(0, true, &r, &d) == RETRY_DONE);
	r = answer(409);
	r.should_retry = 1;
	CHECK(decide(0, true, &r, &d) == RETRY_AGAIN);
}

static void transport_failures_should_retry_when_idempotent(void)
{
	struct http_response r = answer(0);
	long d;

	r.transport = HTTP_TRANSPORT_BROKEN;
	CHECK(decide(0, true, &r, &d) == RETRY_AGAIN);
	r.transport = HTTP_TRANSPORT_TOO_BIG;
	CHECK(decide(0, true, &r, &d) == RETRY_DONE);
}

int main(void)
{
	RUN(success_and_client_errors_should_stand);
	RUN(server_errors_should_back_off_exponentially);
	RUN(jitter_should_take_at_most_a_quarter);
	RUN(backoff_should_cap_at_8_seconds);
	RUN(retry_after_should_be_honoured);
	RUN(post_should_not_repeat_once_it_may_have_acted);
	RUN(should_retry_header_should_win);
	RUN(transport_failures_should_retry_when_idempotent);
	return RUN_SUMMARY();
}
