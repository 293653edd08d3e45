/*
 * stats: stats.json (see stats.h).  Plain bounded formatting: the JSON is
 * small and fixed in shape, so it is written here rather than through
 * the JSON mapping.  No locking: it works on a snapshot.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

struct out {
	char *buf;
	size_t len;
	bool overflow;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, STATS_MAX_JSON - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= STATS_MAX_JSON - o->len)
		o->overflow = true;
	else
		o->len += (size_t)n;
}

static double seconds(long ms)
{
	return ms / 1000.0;
}

int stats_render(const struct budget_stats *s, char **out, size_t *len)
{
	struct out o = { .buf = malloc(STATS_MAX_JSON) };
	unsigned long total = 0;
	int m;

	if (!o.buf)
		return -ENOMEM;
	put(&o, "{\n  \"requests\": {");
	for (m = 0; m < BUDGET_METHODS; m++) {
		if (m == BUDGET_OTHER && !s->requests[m])
			continue;
		put(&o, "%s\"%s\": %lu", m ? ", " : "", budget_method_name(m),
		    s->requests[m]);
		total += s->requests[m];
	}
	put(&o, "},\n  \"requests_total\": %lu,\n", total);
	put(&o, "  \"throttled\": %lu,\n", s->throttled);
	put(&o,
	    "  \"rate_limit\": {\n"
	    "    \"limit\": %ld,\n"
	    "    \"window_s\": %ld,\n"
	    "    \"reserved_for_reads\": %ld,\n"
	    "    \"used\": %ld,\n"
	    "    \"in_flight\": %ld,\n"
	    "    \"waiting\": %ld,\n"
	    "    \"waiting_reads\": %ld,\n"
	    "    \"waiting_writes\": %ld,\n",
	    s->limit, s->window_s, s->reserve, s->used, s->in_flight,
	    s->waiting[BUDGET_READ] + s->waiting[BUDGET_WRITE],
	    s->waiting[BUDGET_READ], s->waiting[BUDGET_WRITE]);
	if (s->next_free_ms >= 0)
		put(&o, "    \"next_free_s\": %.1f,\n",
		    seconds(s->next_free_ms));
	else
		put(&o, "    \"next_free_s\": null,\n");
	put(&o,
	    "    \"calls_waited\": %lu,\n"
	    "    \"longest_wait_s\": %.1f,\n",
	    s->waited, seconds(s->longest_wait_ms));
	if (!s->has_server) {
		put(&o, "    \"server\": null\n");
	} else {
		put(&o, "    \"server\": {");
		if (s->server.has_remaining)
			put(&o, "\"remaining\": %ld, \"reset_s\": %ld, ",
			    s->server.remaining, s->server.reset_s);
		if (s->server.has_policy)
			put(&o, "\"quota\": %ld, \"window_s\": %ld, ",
			    s->server.quota, s->server.window_s);
		put(&o, "\"age_s\": %.1f}\n", seconds(s->server_age_ms));
	}
	put(&o, "  }\n}\n");
	if (o.overflow) {
		free(o.buf);
		return -ENOMEM;
	}
	*out = o.buf;
	*len = o.len;
	return 0;
}

int stats_render_budget(struct budget *b, char **out, size_t *len)
{
	struct budget_stats s;

	budget_get_stats(b, &s);
	return stats_render(&s, out, len);
}
