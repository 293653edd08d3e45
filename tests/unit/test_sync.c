/* Timestamps and the small data helpers. */
#include <errno.h>
#include <time.h>

#include "check.h"
#include "strmap.h"
#include "sync.h"

static void rfc3339_should_parse_with_and_without_fraction(void)
{
	struct timespec t;

	CHECK(sync_parse_time("2026-11-29T08:12:01Z", &t) == 0);
	CHECK(t.tv_sec == 1795939921 && t.tv_nsec == 0);
	CHECK(sync_parse_time("2026-11-29T08:12:01.123456Z", &t) == 0);
	CHECK(t.tv_sec == 1795939921 && t.tv_nsec == 123456000);
	CHECK(sync_parse_time("2026-11-29T09:12:01+01:00", &t) == 0);
	CHECK(t.tv_sec == 1795939921);
	CHECK(sync_parse_time("2026-11-29", &t) == -EINVAL);
	CHECK(sync_parse_time("2026-13-29T08:12:01Z", &t) == -EINVAL);
	CHECK(sync_parse_time("", &t) == -EINVAL);
	CHECK(sync_parse_time("2026-11-29T08:12:01Zjunk", &t) == -EINVAL);
}

/* Every day from 1900 to 2199 at an odd hour, against libc's timegm. */
static void rfc3339_should_agree_with_timegm(void)
{
	int bad = 0;
	long day;

	for (day = -25567; day < 83600; day++) {
		time_t want = (time_t)day * 86400 + 13 * 3600 + 5 * 60 + 7;
		struct timespec got;
		struct tm tm;
		char text[40];

		gmtime_r(&want, &tm);
		strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (sync_parse_time(text, &got) || got.tv_sec != want)
			bad++;
	}
	CHECK(bad == 0);
}

static void enums_should_be_exact(void)
{
	CHECK(sync_update_mode_valid("AUTO"));
	CHECK(sync_update_mode_valid("MANUAL"));
	CHECK(!sync_update_mode_valid("auto"));
	CHECK(!sync_update_mode_valid("MANUAL\n"));
	CHECK(sync_destination_type_valid("ZERO_TRUST_LIST"));
	CHECK(!sync_destination_type_valid("ZERO"));
}

static void strmap_should_survive_growth_and_removal(void)
{
	struct strmap m;
	char key[32];
	int i, bad = 0;

	strmap_init(&m);
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		CHECK(strmap_put(&m, key, (void *)(long)(i + 1)) == 0);
	}
	for (i = 0; i < 20000; i += 2) {
		snprintf(key, sizeof(key), "k%d", i);
		strmap_remove(&m, key);
	}
	for (i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if ((long)strmap_get(&m, key) != (i % 2 ? i + 1 : 0))
			bad++;
	}
	CHECK(bad == 0);
	CHECK(m.count == 10000);
	strmap_finish(&m);
}

int main(void)
{
	RUN(rfc3339_should_parse_with_and_without_fraction);
	RUN(rfc3339_should_agree_with_timegm);
	RUN(enums_should_be_exact);
	RUN(strmap_should_survive_growth_and_removal);
	return RUN_SUMMARY();
}
