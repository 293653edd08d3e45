/*
 * The API client against the emulator: every operation, then the retry
 * policy under injected faults (counted from the emulator's request log).
 * The emulator binary comes from $CATSYNCFS_EMULATOR (set by meson).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "check.h"
#include "emulator.h"
#include "http.h"

#define ACCOUNT "0123456789abcdef0123456789abcdef"

static struct api *api;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct api *make_api(const char *token, long timeout_ms)
{
	struct api_config cfg = { .base_url = emulator_base_url,
				  .token = token,
				  .timeout_ms = timeout_ms,
				  .retries = 2 };

	return api_create(&cfg);
}

static void every_operation_should_round_trip(void)
{
	struct sync_fields f = { .name = "unit-made",
				 .description = "d",
				 .policy = "x {\n}\n",
				 .update_mode = "AUTO",
				 .destination_type = "NONE" };
	struct sync_fields change = { .policy = "y" };
	struct api_error err;
	struct sync_list list;
	struct policy_list pols;
	struct id_list ids = { 0 };
	struct sync *s = NULL, *got = NULL, *upd = NULL;
	char *result = NULL;

	emulator_reset("{\"seed\":\"demo\"}");
	CHECK(api_list_accounts(api, &ids, &err) == 0);
	CHECK(ids.count >= 2);
	id_list_finish(&ids);
	CHECK(api_list_syncs(api, ACCOUNT, &list, &err) == 0);
	CHECK(list.count > 0);
	sync_list_finish(&list);
	CHECK(api_list_prebuilt(api, ACCOUNT, &pols, &err) == 0);
	CHECK(pols.count > 0);
	policy_list_finish(&pols);
	CHECK(api_create_sync(api, ACCOUNT, &f, &s, &err) == 0);
	if (!s)
		return;
	CHECK_STR(s->name, "unit-made");
	CHECK(api_get_sync(api, ACCOUNT, s->id, &got, &err) == 0);
	CHECK(got && !strcmp(got->policy, "x {\n}\n"));
	CHECK(api_update_sync(api, ACCOUNT, s->id, &change, false,
			      API_OP_UPDATE, &upd, &err) == 0);
	CHECK(upd && !strcmp(upd->policy, "y"));
	CHECK(emulator_logged("PATCH", s->id) == 1);
	CHECK(api_refresh_sync(api, ACCOUNT, s->id, &result, &err) == 0);
	CHECK(result != NULL);
	CHECK(api_delete_sync(api, ACCOUNT, s->id, true, &err) == 0);
	CHECK(api_get_sync(api, ACCOUNT, s->id, &got, &err) == -ENOENT);
	free(result);
	sync_destroy(s);
	sync_destroy(upd);
	sync_destroy(got);
}

static void bad_ids_should_never_reach_the_network(void)
{
	struct api_error err;
	struct sync *s = NULL;

	emulator_reset("{\"seed\":\"demo\"}");
	CHECK(api_get_sync(api, ACCOUNT, "../../etc", &s, &err) == -EINVAL);
	CHECK(api_get_sync(api, "x/y", "8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f",
			   &s, &err) == -EINVAL);
	CHECK(emulator_logged("GET", NULL) == 0);
}

static void rate_limit_should_wait_retry_after_then_succeed(void)
{
	struct api_error err;
	struct sync_list list;
	double t0;

	emulator_reset("{\"seed\":\"demo\"}");
	emulator_fault(
		"{\"method\":\"GET\",\"path\":\"catalog-syncs$\",\"count\":1,"
		"\"action\":\"status\",\"status\":429,\"retry_after\":\"1\"}");
	t0 = now_s();
	CHECK(api_list_syncs(api, ACCOUNT, &list, &err) == 0);
	CHECK(now_s() - t0 >= 0.95);
	CHECK(now_s() - t0 < 3.0);
	CHECK(emulator_logged("GET", "catalog-syncs") == 2);
	sync_list_finish(&list);
}

static void two_server_errors_should_be_retried(void)
{
	struct api_error err;
	struct sync_list list;

	emulator_reset("{\"seed\":\"demo\"}");
	emulator_fault(
		"{\"method\":\"GET\",\"path\":\"catalog-syncs$\",\"count\":2,"
		"\"action\":\"status\",\"status\":500}");
	CHECK(api_list_syncs(api, ACCOUNT, &list, &err) == 0);
	CHECK(emulator_logged("GET", "catalog-syncs") == 3);
	sync_list_finish(&list);
}

static void persistent_errors_should_end_in_eio_after_three(void)
{
	struct api_error err;
	struct sync_list list;

	emulator_reset("{\"seed\":\"demo\"}");
	emulator_fault(
		"{\"method\":\"GET\",\"path\":\"catalog-syncs$\",\"count\":-1,"
		"\"action\":\"status\",\"status\":503}");
	CHECK(api_list_syncs(api, ACCOUNT, &list, &err) == -EIO);
	CHECK(err.status == 503);
	CHECK(emulator_logged("GET", "catalog-syncs") == 3);
}

static void long_retry_after_should_fail_at_once(void)
{
	struct api_error err;
	struct sync_list list;
	double t0;

	emulator_reset("{\"seed\":\"demo\"}");
	emulator_fault(
		"{\"method\":\"GET\",\"path\":\"catalog-syncs$\",\"count\":1,"
		"\"action\":\"status\",\"status\":429,\"retry_after\":\"120\"}");
	t0 = now_s();
	CHECK(api_list_syncs(api, ACCOUNT, &list, &err) == -EAGAIN);
	CHECK(now_s() - t0 < 2.0);
	CHECK(emulator_logged("GET", "catalog-syncs") == 1);
}

static void post_should_not_be_repeated_after_a_timeout(void)
{
	struct sync_fields f = { .name = "slow-create",
				 .policy = "",
				 .description = "",
				 .update_mode = "MANUAL",
				 .destination_type = "NONE" };
	struct api *quick = make_api("demo-token", 1000);
	struct api_error err;
	struct sync *s = NULL;
	int ret;

	emulator_reset("{\"seed\":\"demo\"}");
	emulator_fault(
		"{\"method\":\"POST\",\"path\":\"catalog-syncs$\",\"count\":1,"
		"\"action\":\"hang\",\"seconds\":3,\"status\":500}");
	ret = api_create_sync(quick, ACCOUNT, &f, &s, &err);
	CHECK(ret == -ETIMEDOUT);
	/* the emulator logs the hung request when it finally answers */
	sleep(3);
	CHECK(emulator_logged("POST", "catalog-syncs") == 1);
	/* and the fresh listing that checked it was made */
	CHECK(emulator_logged("GET", "catalog-syncs") == 1);
	sync_destroy(s);
	api_destroy(quick);
}

static void create_that_landed_should_be_found_not_resent(void)
{
	struct sync_fields f = { .name = "landed",
				 .policy = "",
				 .description = "",
				 .update_mode = "MANUAL",
				 .destination_type = "NONE" };
	struct api_error err;
	struct sync *s = NULL;
	char *made;

	emulator_reset("{\"seed\":\"demo\"}");
	/* the sync exists, but the create's answer is lost */
	made = emulator_control("POST", "accounts/" ACCOUNT "/syncs",
				"{\"name\":\"landed\"}");
	free(made);
	emulator_fault(
		"{\"method\":\"POST\",\"path\":\"catalog-syncs$\",\"count\":1,"
		"\"action\":\"reset\"}");
	CHECK(api_create_sync(api, ACCOUNT, &f, &s, &err) == 0);
	CHECK(s && !strcmp(s->name, "landed"));
	CHECK(emulator_logged("POST", "catalog-syncs") == 1);
	sync_destroy(s);
}

static void wrong_token_should_be_eacces_with_message(void)
{
	struct api *bad = make_api("not-the-token", 5000);
	struct api_error err;
	struct sync_list list;

	emulator_reset("{\"seed\":\"demo\"}");
	CHECK(api_list_syncs(bad, ACCOUNT, &list, &err) == -EACCES);
	CHECK(err.status == 403 && err.ncodes && err.codes[0] == 9109);
	CHECK(strstr(err.message, "nvalid") != NULL);
	CHECK(err.cf_ray[0] != '\0');
	api_destroy(bad);
}

static void malformed_answer_should_be_eio(void)
{
	struct api_error err;
	struct sync_list list;

	emulator_reset("{\"seed\":\"demo\"}");
	emulator_fault(
		"{\"method\":\"GET\",\"path\":\"catalog-syncs$\",\"count\":1,"
		"\"action\":\"malformed\"}");
	CHECK(api_list_syncs(api, ACCOUNT, &list, &err) == -EIO);
	CHECK(err.failure == API_FAIL_MALFORMED);
}

static void huge_answer_should_be_refused(void)
{
	struct api_error err;
	struct sync_list list;

	emulator_reset("{\"seed\":\"demo\"}");
	emulator_fault(
		"{\"method\":\"GET\",\"path\":\"catalog-syncs$\",\"count\":1,"
		"\"action\":\"huge\",\"bytes\":52428800}");
	CHECK(api_list_syncs(api, ACCOUNT, &list, &err) == -EIO);
	CHECK(strstr(err.message, "larger") != NULL);
	CHECK(emulator_logged("GET", "catalog-syncs") == 1);
}

int main(void)
{
	int ret;

	if (http_global_init())
		return 1;
	emulator_start();
	api = make_api("demo-token", 10000);
	RUN(every_operation_should_round_trip);
	RUN(bad_ids_should_never_reach_the_network);
	RUN(rate_limit_should_wait_retry_after_then_succeed);
	RUN(two_server_errors_should_be_retried);
	RUN(persistent_errors_should_end_in_eio_after_three);
	RUN(long_retry_after_should_fail_at_once);
	RUN(post_should_not_be_repeated_after_a_timeout);
	RUN(create_that_landed_should_be_found_not_resent);
	RUN(wrong_token_should_be_eacces_with_message);
	RUN(malformed_answer_should_be_eio);
	RUN(huge_answer_should_be_refused);
	ret = RUN_SUMMARY();
	api_destroy(api);
	emulator_stop();
	http_global_cleanup();
	return ret;
}
