/* The folder-name rule: every sync one folder, and back again. */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "namecodec.h"

#define ID "8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f"

static char *folder_for(const char *name, bool shared)
{
	char *esc = namecodec_escape(name);
	char *out;

	if (!shared && namecodec_plain_ok(esc))
		return esc;
	out = namecodec_with_id(esc, ID);
	free(esc);
	return out;
}

static void ordinary_names_should_stay_as_typed(void)
{
	char *f = folder_for("prod-vpcs", false);

	CHECK_STR(f, "prod-vpcs");
	free(f);
	f = folder_for("réseau ☁ east", false);
	CHECK_STR(f, "réseau ☁ east");
	free(f);
}

static void slash_percent_and_control_should_be_escaped(void)
{
	char *f = folder_for("a/b%c\n", false);

	CHECK_STR(f, "a%2Fb%25c%0A");
	free(f);
}

static void invalid_utf8_should_be_escaped_and_decode_back(void)
{
	const char name[] = "bad\xff\xc3(\xe2\x82ok\xc3\xa9";
	const char *id = NULL;
	char *f = folder_for(name, false);
	char *back = NULL;

	CHECK_STR(f, "bad%FF%C3(%E2%82ok\xc3\xa9");
	CHECK(namecodec_decode(f, &id, &back) == 0);
	CHECK_STR(back, name);
	free(f);
	free(back);
}

static void unusable_names_should_get_the_id(void)
{
	const char *names[] = { "", ".", "..", "policies", "last_error" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *f = folder_for(names[i], false);
		char *expect = NULL;

		CHECK(asprintf(&expect, "%s%%@" ID, names[i]) > 0);
		CHECK_STR(f, expect);
		free(f);
		free(expect);
	}
}

static void shared_names_should_get_the_id(void)
{
	char *f = folder_for("dup", true);

	CHECK_STR(f, "dup%@" ID);
	free(f);
}

static void long_names_should_fit_255_bytes(void)
{
	char name[301];
	char *f;

	memset(name, 'x', 300);
	name[300] = '\0';
	f = folder_for(name, false);
	CHECK(strlen(f) <= NAMECODEC_MAX);
	CHECK(strstr(f, "%@" ID) != NULL);
	free(f);
	/* a cut must not split an escape */
	memset(name, '/', 100);
	name[100] = '\0';
	f = folder_for(name, false);
	CHECK(strlen(f) <= NAMECODEC_MAX);
	CHECK(strstr(f, "%2F%@" ID) != NULL);
	free(f);
}

static void decode_should_invert_escape(void)
{
	const char *names[] = { "a/b", "50%", "tab\there", "plain", "é/ü" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *esc = namecodec_escape(names[i]);
		const char *id = NULL;
		char *back = NULL;

		CHECK(namecodec_decode(esc, &id, &back) == 0);
		CHECK_STR(back, names[i]);
		free(esc);
		free(back);
	}
}

static void decode_should_find_id_suffix(void)
{
	const char *id = NULL;
	char *name = NULL;

	CHECK(namecodec_decode("x%@" ID, &id, &name) == 1);
	CHECK_STR(id, ID);
	CHECK(name == NULL);
}

static void decode_should_refuse_bad_escapes(void)
{
	const char *id;
	char *name = NULL;

	CHECK(namecodec_decode("50%off", &id, &name) == -EINVAL);
	CHECK(namecodec_decode("a%", &id, &name) == -EINVAL);
	CHECK(namecodec_decode("nul%00", &id, &name) == -EINVAL);
	CHECK(name == NULL);
}

int main(void)
{
	RUN(ordinary_names_should_stay_as_typed);
	RUN(slash_percent_and_control_should_be_escaped);
	RUN(invalid_utf8_should_be_escaped_and_decode_back);
	RUN(unusable_names_should_get_the_id);
	RUN(shared_names_should_get_the_id);
	RUN(long_names_should_fit_255_bytes);
	RUN(decode_should_invert_escape);
	RUN(decode_should_find_id_suffix);
	RUN(decode_should_refuse_bad_escapes);
	return RUN_SUMMARY();
}
