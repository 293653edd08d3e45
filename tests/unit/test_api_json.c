/* The JSON mapping: valid answers, missing fields, wrong types, huge input. */
#include <errno.h>
#include <stdlib.h>

#include "api_json.h"
#include "check.h"

#define ID1 "8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f"
#define ID2 "11111111-2222-4333-8444-555555555555"

#define SYNC(id, name)                                                         \
	"{\"id\":\"" id "\",\"name\":\"" name "\",\"description\":\"d\","      \
	"\"policy\":\"a\\nb\",\"destination_type\":\"NONE\","                  \
	"\"destination_id\":\"" ID2 "\",\"update_mode\":\"MANUAL\","           \
	"\"last_user_update_at\":\"2026-11-29T08:00:00Z\",\"errors\":{}}"

#define ENVELOPE(result)                                                       \
	"{\"success\":true,\"errors\":[],\"messages\":[],\"result\":" result "}"

static int parse_one(const char *body, struct sync **s)
{
	return api_json_parse_sync(body, strlen(body), s);
}

static void sync_should_parse_every_field(void)
{
	struct sync *s = NULL;

	CHECK(parse_one(ENVELOPE(SYNC(ID1, "prod")), &s) == 0);
	if (!s)
		return;
	CHECK_STR(s->id, ID1);
	CHECK_STR(s->name, "prod");
	CHECK_STR(s->policy, "a\nb");
	CHECK_STR(s->update_mode, "MANUAL");
	CHECK_STR(s->errors_json, "{}");
	CHECK_STR(s->last_attempted_update_at, "");
	sync_destroy(s);
}

static void missing_or_mistyped_fields_should_fail(void)
{
	struct sync *s = NULL;

	CHECK(parse_one(ENVELOPE("{\"id\":\"" ID1 "\"}"), &s) == -EIO);
	CHECK(parse_one(ENVELOPE("{\"id\":7,\"name\":\"x\","
				 "\"destination_type\":\"NONE\","
				 "\"update_mode\":\"AUTO\"}"),
			&s) == -EIO);
	CHECK(parse_one(ENVELOPE("{\"id\":\"" ID1 "\",\"name\":[],"
				 "\"destination_type\":\"NONE\","
				 "\"update_mode\":\"AUTO\"}"),
			&s) == -EIO);
	CHECK(parse_one(ENVELOPE("[]"), &s) == -EIO);
	CHECK(parse_one(ENVELOPE("null"), &s) == -EIO);
	CHECK(parse_one("{\"result\":", &s) == -EIO);
	CHECK(parse_one("", &s) == -EIO);
	CHECK(s == NULL);
}

static void hostile_ids_should_fail(void)
{
	struct sync *s = NULL;

	CHECK(parse_one(ENVELOPE(SYNC("../../accounts", "x")), &s) == -EIO);
	CHECK(parse_one(ENVELOPE(SYNC("a/b", "x")), &s) == -EIO);
	CHECK(s == NULL);
}

static void list_should_refuse_duplicate_ids(void)
{
	const char *ok = ENVELOPE("[" SYNC(ID1, "a") "," SYNC(ID2, "b") "]");
	const char *dup = ENVELOPE("[" SYNC(ID1, "a") "," SYNC(ID1, "b") "]");
	struct sync_list list;

	CHECK(api_json_parse_sync_list(ok, strlen(ok), &list) == 0);
	CHECK(list.count == 2);
	sync_list_finish(&list);
	CHECK(api_json_parse_sync_list(dup, strlen(dup), &list) == -EIO);
	CHECK(list.count == 0);
}

static void list_should_be_found_anywhere_in_the_envelope(void)
{
	const char *later = "{\"errors\":[],\"messages\":[\"]}\"],"
			    "\"result\":[" SYNC(ID1, "a") "],\"success\":true}";
	const char *bad[] = {
		"{\"result\":[" SYNC(ID1, "a") "]", /* no closing brace */
		"{\"result\":[" SYNC(ID1, "a") "]} x", /* trailing junk */
		"{\"result\":[" SYNC(ID1, "a") ",]}", /* empty element */
		"{\"result\":[1]}",
		"{\"result\":{}}",
		"{\"result\":[{\"id\":\"x\"",
		"{\"other\":[]}",
		"[]",
	};
	struct sync_list list;
	size_t i;

	CHECK(api_json_parse_sync_list(later, strlen(later), &list) == 0);
	CHECK(list.count == 1);
	sync_list_finish(&list);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(api_json_parse_sync_list(bad[i], strlen(bad[i]), &list) ==
		      -EIO);
}

static void unknown_members_should_reach_status_json(void)
{
	const char *body = ENVELOPE(
		"{\"id\":\"" ID1 "\",\"name\":\"n\",\"description\":null,"
		"\"policy\":\"p\",\"destination_type\":\"NONE\","
		"\"destination_id\":\"" ID2 "\",\"update_mode\":\"AUTO\","
		"\"last_user_update_at\":\"2026-11-29T08:00:00Z\","
		"\"errors\":{\"k\":{\"code\":1}},\"new_field\":42}");
	struct sync *s = NULL;
	char *status;

	CHECK(parse_one(body, &s) == 0);
	if (!s)
		return;
	CHECK_STR(s->description, "");
	status = api_json_render_status(s);
	CHECK(status && strstr(status, "\"new_field\":\t42"));
	CHECK(status && strstr(status, "\"code\":\t1"));
	CHECK(status && status[strlen(status) - 1] == '\n');
	free(status);
	sync_destroy(s);
}

static void error_envelope_should_keep_unknown_codes(void)
{
	const char *body = "{\"success\":false,\"errors\":[{\"code\":987654,"
			   "\"message\":\"brand new\"},{\"code\":\"x\","
			   "\"message\":\"odd\"}],\"messages\":[],"
			   "\"result\":null}";
	struct api_error e = { 0 };

	api_json_parse_errors(body, strlen(body), &e);
	CHECK(e.ncodes == 1 && e.codes[0] == 987654);
	CHECK_STR(e.message, "brand new; odd");
	api_json_parse_errors("garbage", 7, &e);
	CHECK(e.ncodes == 0);
}

static void huge_input_should_fail_cleanly(void)
{
	size_t n = 8 << 20;
	char *big = malloc(n + 1);
	struct sync_list list;
	size_t i;

	if (!big)
		return;
	for (i = 0; i < n; i++)
		big[i] = '[';
	big[n] = '\0';
	CHECK(api_json_parse_sync_list(big, n, &list) == -EIO);
	free(big);
}

static void config_should_need_all_four_string_keys(void)
{
	const char *good = "{\"name\":\"n\",\"description\":\"\",\"policy\":"
			   "\"p\",\"update_mode\":\"AUTO\"}\n";
	struct sync_config c;
	char why[128];

	CHECK(api_json_parse_config(good, strlen(good), &c, why, sizeof(why)) ==
	      0);
	CHECK_STR(c.policy, "p");
	sync_config_finish(&c);
	CHECK(api_json_parse_config("{\"name\":\"n\"}", 12, &c, why,
				    sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "description") != NULL);
	CHECK(api_json_parse_config("{\"name\":\"n\",\"description\":\"\","
				    "\"policy\":\"p\",\"update_mode\":\"X\"}",
				    63, &c, why, sizeof(why)) == -EINVAL);
	CHECK(api_json_parse_config("nope", 4, &c, why, sizeof(why)) ==
	      -EINVAL);
}

static void fields_body_should_hold_only_given_fields(void)
{
	struct sync_fields f = { .description = "x\n\"y\"" };
	char *body = api_json_fields_body(&f);

	CHECK_STR(body, "{\"description\":\"x\\n\\\"y\\\"\"}");
	free(body);
}

static void policies_should_list_destinations_one_per_line(void)
{
	const char *body = ENVELOPE(
		"[{\"policy_name\":\"all-vpcs\",\"policy_description\":\"d\","
		"\"policy_string\":\"p\",\"applicable_destinations\":"
		"[\"NONE\",\"ZERO_TRUST_LIST\"]}]");
	struct policy_list list;

	CHECK(api_json_parse_policy_list(body, strlen(body), &list) == 0);
	CHECK(list.count == 1);
	if (list.count)
		CHECK_STR(list.items[0].applicable_destinations,
			  "NONE\nZERO_TRUST_LIST\n");
	policy_list_finish(&list);
}

/* The listing scanner finds each element's end by its quotes: escaped
 * quotes and runs of backslashes must not end a string early or late. */
#define BACKSLASH_SYNC                                                         \
	"{\"id\":\"" ID2 "\",\"name\":\"ends in \\\\\","                       \
	"\"description\":\"\\\\\\\"}]\",\"policy\":\"x\","                     \
	"\"destination_type\":\"NONE\",\"destination_id\":\"\","               \
	"\"update_mode\":\"AUTO\",\"last_user_update_at\":\"\"}"

static void list_should_skip_escapes_inside_strings(void)
{
	const char *body = ENVELOPE(
		"[" SYNC(ID1, "a \\\"quoted\\\" name") "," BACKSLASH_SYNC "]");
	struct sync_list list = { 0 };

	CHECK(api_json_parse_sync_list(body, strlen(body), &list) == 0);
	CHECK(list.count == 2);
	if (list.count == 2) {
		CHECK_STR(list.items[0]->name, "a \"quoted\" name");
		CHECK_STR(list.items[1]->name, "ends in \\");
		CHECK_STR(list.items[1]->description, "\\\"}]");
	}
	sync_list_finish(&list);
}

int main(void)
{
	RUN(sync_should_parse_every_field);
	RUN(missing_or_mistyped_fields_should_fail);
	RUN(hostile_ids_should_fail);
	RUN(list_should_refuse_duplicate_ids);
	RUN(list_should_be_found_anywhere_in_the_envelope);
	RUN(unknown_members_should_reach_status_json);
	RUN(error_envelope_should_keep_unknown_codes);
	RUN(huge_input_should_fail_cleanly);
	RUN(config_should_need_all_four_string_keys);
	RUN(fields_body_should_hold_only_given_fields);
	RUN(policies_should_list_destinations_one_per_line);
	RUN(list_should_skip_escapes_inside_strings);
	return RUN_SUMMARY();
}
