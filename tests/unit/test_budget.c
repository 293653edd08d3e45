/*
 * The request budget: its parsers (pure), and its window and ordering
 * with real threads over windows of a second or two.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "check.h"
#include "monotime.h"
#include "stats.h"

static void spec_should_take_requests_per_seconds(void)
{
	long n = 0, s = 0;

	CHECK(!budget_parse_spec("1200/300", &n, &s) && n == 1200 && s == 300);
	CHECK(!budget_parse_spec("1/1", &n, &s) && n == 1 && s == 1);
	CHECK(budget_parse_spec("0/300", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("10/0", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("10", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("10/", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("/10", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("-1/10", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("10/10/10", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("10 /10", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("99999999999/10", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("10/86401", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec("", &n, &s) == -EINVAL);
	CHECK(budget_parse_spec(NULL, &n, &s) == -EINVAL);
}

static void headers_should_parse_cloudflare_figures(void)
{
	struct budget_server_view v;

	budget_parse_headers("\"default\";r=50;t=30",
			     "\"default\";q=1200;w=300", &v);
	CHECK(v.has_remaining && v.remaining == 50 && v.reset_s == 30);
	CHECK(v.has_policy && v.quota == 1200 && v.window_s == 300);
	/* parameters in any order, spaces, tokens for names */
	budget_parse_headers("default ; t=7 ;r=3", "default;w=10;q=40", &v);
	CHECK(v.has_remaining && v.remaining == 3 && v.reset_s == 7);
	CHECK(v.has_policy && v.quota == 40 && v.window_s == 10);
}

static void headers_should_pace_by_the_strictest_item(void)
{
	struct budget_server_view v;

	budget_parse_headers("\"default\";r=50;t=30, \"burst\";r=2;t=1",
			     "\"default\";q=1200;w=300, \"burst\";q=10;w=1",
			     &v);
	CHECK(v.remaining == 2 && v.reset_s == 1);
	CHECK(v.quota == 10 && v.window_s == 1);
	/* a policy with no item of that name: the first one */
	budget_parse_headers("\"x\";r=5;t=9", "\"a\";q=7;w=8, \"b\";q=1;w=1",
			     &v);
	CHECK(v.has_policy && v.quota == 7 && v.window_s == 8);
}

static void headers_should_ignore_what_is_malformed(void)
{
	static const char *const bad[] = {
		"",
		"garbage",
		"\"default\";r=-1;t=5",
		"\"default\";r=1.5;t=2",
		"\"default\";t=1",
		"\"default\";r=5",
		"\"default;r=5;t=1",
		"\"default\";r=1234567890;t=1",
		"\"default\";r=5;t=1 trailing",
		";;;,,,",
		"\"default\";=5;t=1",
		"\"default\";r=5;t=\"1\"",
	};
	struct budget_server_view v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		budget_parse_headers(bad[i], bad[i], &v);
		CHECK(!v.has_remaining);
		CHECK(!v.has_policy);
	}
	budget_parse_headers(NULL, NULL, &v);
	CHECK(!v.has_remaining && !v.has_policy);
	/* one bad item does not spoil a good one */
	budget_parse_headers("\"a\";r=;t=1, \"b\";r=4;t=2", NULL, &v);
	CHECK(v.has_remaining && v.remaining == 4 && v.reset_s == 2);
	/* other parameters are skipped */
	budget_parse_headers("\"a\";x=\"s;r=0\";r=4;y;t=2", NULL, &v);
	CHECK(v.has_remaining && v.remaining == 4 && v.reset_s == 2);
}

static void reserve_should_keep_a_tenth_for_reads(void)
{
	CHECK(budget_read_reserve(1200) == 120);
	CHECK(budget_read_reserve(40) == 4);
	CHECK(budget_read_reserve(5) == 1);
	CHECK(budget_read_reserve(2) == 1);
	CHECK(budget_read_reserve(1) == 0);
}

static const struct budget_answer ok_get = { .method = "GET",
					     .status = 200,
					     .retry_after_ms = -1 };

static void one_request(struct budget *b, enum budget_class cls,
			const struct budget_answer *a)
{
	struct budget_slot slot;

	budget_acquire(b, cls, false, &slot);
	budget_release(b, &slot, a);
}

static void window_should_hold_limit_requests(void)
{
	struct budget *b = budget_create(5, 1);
	struct budget_stats s;
	long started = (long)monotime_ms(), took;
	int i;

	/* writes may use 4 of 5 at once; the fifth waits for the window */
	for (i = 0; i < 5; i++)
		one_request(b, BUDGET_WRITE, &ok_get);
	took = (long)monotime_ms() - started;
	CHECK(took >= 950 && took < 1500);
	budget_get_stats(b, &s);
	CHECK(s.requests[BUDGET_GET] == 5);
	CHECK(s.waited == 1);
	CHECK(s.used == 1); /* the first four left the window together */
	budget_destroy(b);
}

static void reads_should_find_the_reserved_slot(void)
{
	struct budget *b = budget_create(5, 10);
	long started;
	int i;

	for (i = 0; i < 4; i++)
		one_request(b, BUDGET_WRITE, &ok_get);
	started = (long)monotime_ms();
	one_request(b, BUDGET_READ, &ok_get);
	CHECK((long)monotime_ms() - started < 100);
	budget_destroy(b);
}

static void a_pair_should_take_its_write_slot_with_it(void)
{
	struct budget *b = budget_create(4, 10);
	struct budget_slot check, write;
	struct budget_stats s;
	long started;

	/* 3 of 4 for writes: the pair takes 2, its write needs none */
	one_request(b, BUDGET_WRITE, &ok_get);
	budget_acquire(b, BUDGET_WRITE, true, &check);
	budget_get_stats(b, &s);
	CHECK(s.used == 3 && s.in_flight == 2);
	budget_release(b, &check, &ok_get);
	started = (long)monotime_ms();
	budget_acquire(b, BUDGET_WRITE, false, &write);
	CHECK(write.from_park && (long)monotime_ms() - started < 100);
	budget_release(b, &write, &ok_get);
	budget_get_stats(b, &s);
	CHECK(s.used == 3 && s.in_flight == 0);
	budget_destroy(b);
}

static void an_unused_pair_slot_should_come_back(void)
{
	struct budget *b = budget_create(10, 60);
	struct budget_slot check;
	struct budget_stats s;

	budget_acquire(b, BUDGET_WRITE, true, &check);
	budget_release(b, &check, &ok_get);
	/* this thread's next call is a read: the parked slot is returned */
	one_request(b, BUDGET_READ, &ok_get);
	budget_get_stats(b, &s);
	CHECK(s.used == 2 && s.in_flight == 0);
	budget_destroy(b);
}

static void server_figures_should_pace_writes(void)
{
	struct budget *b = budget_create(1000, 60);
	const struct budget_answer low = {
		.method = "GET",
		.status = 200,
		.ratelimit = "\"default\";r=10;t=1",
		.ratelimit_policy = "\"default\";q=100;w=60",
		.retry_after_ms = -1,
	};
	struct budget_stats s;
	long started;

	/* 10 left, 10 kept for reads: a read goes, a write waits for t */
	one_request(b, BUDGET_WRITE, &low);
	started = (long)monotime_ms();
	one_request(b, BUDGET_READ, &low);
	CHECK((long)monotime_ms() - started < 100);
	one_request(b, BUDGET_WRITE, &low);
	CHECK((long)monotime_ms() - started >= 900);
	budget_get_stats(b, &s);
	CHECK(s.has_server && s.server.remaining == 10 &&
	      s.server.quota == 100);
	/* an answer without figures: our own window alone again */
	one_request(b, BUDGET_WRITE, &ok_get);
	started = (long)monotime_ms();
	one_request(b, BUDGET_WRITE, &ok_get);
	CHECK((long)monotime_ms() - started < 100);
	budget_destroy(b);
}

static void a_reset_without_a_policy_should_not_outlast_our_window(void)
{
	struct budget *b = budget_create(1000, 1);
	const struct budget_answer spent = {
		.method = "GET",
		.status = 200,
		.ratelimit = "\"default\";r=0;t=3600",
		.retry_after_ms = -1,
	};
	long started;

	/* nothing left "for an hour", but no window named: ours, 1 s */
	one_request(b, BUDGET_WRITE, &spent);
	started = (long)monotime_ms();
	one_request(b, BUDGET_READ, &ok_get);
	CHECK((long)monotime_ms() - started < 3000);
	budget_destroy(b);
}

static void a_429_should_stop_everyone_until_retry_after(void)
{
	struct budget *b = budget_create(1000, 60);
	const struct budget_answer throttled = { .method = "PATCH",
						 .status = 429,
						 .retry_after_ms = 1000 };
	struct budget_stats s;
	long started;

	one_request(b, BUDGET_WRITE, &throttled);
	started = (long)monotime_ms();
	one_request(b, BUDGET_READ, &ok_get);
	CHECK((long)monotime_ms() - started >= 900);
	budget_get_stats(b, &s);
	CHECK(s.throttled == 1 && s.requests[BUDGET_PATCH] == 1);
	budget_destroy(b);
}

struct racer {
	struct budget *b;
	enum budget_class cls;
	long done_at;
};

static void *race(void *arg)
{
	struct racer *r = arg;

	one_request(r->b, r->cls, &ok_get);
	r->done_at = (long)monotime_ms();
	return NULL;
}

static void a_waiting_read_should_go_before_waiting_writes(void)
{
	struct budget *b = budget_create(10, 1);
	struct racer w[3], rd;
	pthread_t tw[3], tr;
	int i;

	for (i = 0; i < 10; i++)
		one_request(b, BUDGET_READ, &ok_get);
	for (i = 0; i < 3; i++) {
		w[i] = (struct racer){ .b = b, .cls = BUDGET_WRITE };
		pthread_create(&tw[i], NULL, race, &w[i]);
	}
	usleep(100 * 1000);
	rd = (struct racer){ .b = b, .cls = BUDGET_READ };
	pthread_create(&tr, NULL, race, &rd);
	pthread_join(tr, NULL);
	for (i = 0; i < 3; i++) {
		pthread_join(tw[i], NULL);
		CHECK(rd.done_at <= w[i].done_at);
	}
	budget_destroy(b);
}

static void stats_should_render_as_json(void)
{
	struct budget_stats s = { .limit = 40, .window_s = 10, .used = 3 };
	char *text = NULL;
	size_t len = 0;

	s.requests[BUDGET_GET] = 2;
	s.requests[BUDGET_PATCH] = 1;
	s.next_free_ms = -1;
	CHECK(!stats_render(&s, &text, &len));
	CHECK(text && len == strlen(text) && text[len - 1] == '\n');
	CHECK(text && strstr(text, "\"GET\": 2, \"POST\": 0, \"PUT\": 0, "
				   "\"PATCH\": 1, \"DELETE\": 0}"));
	CHECK(text && strstr(text, "\"server\": null"));
	CHECK(text && strstr(text, "\"next_free_s\": null"));
	free(text);
	s.has_server = true;
	s.server = (struct budget_server_view){ .has_remaining = true,
						.remaining = 7,
						.reset_s = 3 };
	CHECK(!stats_render(&s, &text, &len));
	CHECK(text && strstr(text, "\"remaining\": 7, \"reset_s\": 3, "));
	free(text);
}

int main(void)
{
	RUN(spec_should_take_requests_per_seconds);
	RUN(headers_should_parse_cloudflare_figures);
	RUN(headers_should_pace_by_the_strictest_item);
	RUN(headers_should_ignore_what_is_malformed);
	RUN(reserve_should_keep_a_tenth_for_reads);
	RUN(window_should_hold_limit_requests);
	RUN(reads_should_find_the_reserved_slot);
	RUN(a_pair_should_take_its_write_slot_with_it);
	RUN(an_unused_pair_slot_should_come_back);
	RUN(server_figures_should_pace_writes);
	RUN(a_reset_without_a_policy_should_not_outlast_our_window);
	RUN(a_429_should_stop_everyone_until_retry_after);
	RUN(a_waiting_read_should_go_before_waiting_writes);
	RUN(stats_should_render_as_json);
	return RUN_SUMMARY();
}
