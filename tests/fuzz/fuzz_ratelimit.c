/*
 * Fuzz target: the Ratelimit / Ratelimit-Policy parser.  Checks its
 * promises, not only that it does not crash: figures are never negative
 * and never longer than 9 digits, whatever the bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size);
	char *policy;
	struct budget_server_view v;

	if (!text)
		return 0;
	/* the first line is Ratelimit, the rest Ratelimit-Policy */
	policy = strchr(text, '\n');
	if (policy)
		*policy++ = '\0';
	budget_parse_headers(text, policy, &v);
	if (v.has_remaining && (v.remaining < 0 || v.remaining > 999999999 ||
				v.reset_s < 0 || v.reset_s > 999999999))
		abort();
	if (v.has_policy && (v.quota < 0 || v.quota > 999999999 ||
			     v.window_s < 0 || v.window_s > 999999999))
		abort();
	free(text);
	return 0;
}
