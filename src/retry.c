/*
 * retry: the retry policy (see retry.h for the rules and their origin).
 */
#include "retry.h"

bool retry_status_is_transient(long status)
{
	return status == 408 || status == 429 || status >= 500;
}

/* Could the server have acted on this attempt? */
static bool may_have_acted(const struct http_response *r)
{
	if (r->status == 429)
		return false; /* refused before it was looked at */
	if (r->status == 0)
		return r->request_sent;
	return true;
}

static bool worth_retrying(const struct retry_attempt *a)
{
	const struct http_response *r = a->resp;

	if (r->status >= 200 && r->status < 400)
		return false;
	if (r->status == 0 && r->transport == HTTP_TRANSPORT_TOO_BIG)
		return false; /* the same answer would come again */
	if (r->status == 0 && r->transport == HTTP_TRANSPORT_TLS)
		return false;
	/* the server's explicit word wins over our guess */
	if (r->should_retry == 0)
		return false;
	if (!a->idempotent && may_have_acted(r))
		return false;
	if (r->should_retry == 1)
		return true;
	if (r->status == 0)
		return true;
	return retry_status_is_transient(r->status);
}

enum retry_verdict retry_decide(const struct retry_attempt *a, double jitter,
				long *delay_ms)
{
	const struct http_response *r = a->resp;
	long delay;
	int i;

	if (!worth_retrying(a))
		return RETRY_DONE;
	if (r->retry_after_ms > RETRY_MAX_RETRY_AFTER_MS)
		return RETRY_TOO_LONG;
	if (a->attempt >= a->max_retries)
		return RETRY_DONE;
	if (r->retry_after_ms >= 0) {
		*delay_ms = r->retry_after_ms;
		return RETRY_AGAIN;
	}
	delay = RETRY_BASE_DELAY_MS;
	for (i = 0; i < a->attempt && delay < RETRY_MAX_DELAY_MS; i++)
		delay *= 2;
	if (delay > RETRY_MAX_DELAY_MS)
		delay = RETRY_MAX_DELAY_MS;
	if (jitter < 0 || jitter >= 1)
		jitter = 0;
	*delay_ms = delay - (long)(delay * 0.25 * jitter);
	return RETRY_AGAIN;
}
