/*
 * Fuzz target: every parser of the JSON mapping gets the same bytes, as
 * any API answer could be anything.  A crash, a sanitizer report or a
 * leak is a finding; -EIO is the expected answer to garbage.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct sync_list list = { 0 };
	struct policy_list policies = { 0 };
	struct id_list ids = { 0 };
	struct sync_config config;
	struct api_error err = { 0 };
	struct sync *s = NULL;
	char *text = NULL, why[128];
	size_t count, i;

	api_json_parse_errors(body, size, &err);
	if (!api_json_parse_sync(body, size, &s)) {
		free(api_json_render_status(s));
		free(api_json_render_config(s));
		sync_destroy(s);
	}
	if (!api_json_parse_sync_list(body, size, &list)) {
		for (i = 0; i < list.count; i++)
			free(api_json_render_status(list.items[i]));
		sync_list_finish(&list);
	}
	if (!api_json_parse_policy_list(body, size, &policies))
		policy_list_finish(&policies);
	(void)!api_json_parse_account_page(body, size, &ids, &count);
	id_list_finish(&ids);
	if (!api_json_parse_string_result(body, size, &text))
		free(text);
	(void)!api_json_parse_deleted(body, size,
				      "8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f");
	if (!api_json_parse_config(body, size, &config, why, sizeof(why)))
		sync_config_finish(&config);
	return 0;
}
