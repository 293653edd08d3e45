/* util.h - small helpers shared by the emulator's modules. */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "2026-11-29T08:12:01.123456Z" plus the terminating NUL. */
#define TS_LEN 28
/* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" plus the terminating NUL. */
#define UUID_LEN 37
/* 32 lowercase hex digits plus the terminating NUL. */
#define ACCOUNT_ID_LEN 33

/* The current time as RFC 3339 UTC with microseconds. */
void ts_now(char out[TS_LEN]);

/* Milliseconds on a monotonic clock, for windows and deadlines. */
int64_t mono_ms(void);

/* A small deterministic PRNG (splitmix64) for generated seed data. */
struct rng {
	uint64_t state;
};

void rng_seed(struct rng *rng, uint64_t seed);
uint64_t rng_next(struct rng *rng);
/* Uniform in [lo, hi]; lo <= hi. */
uint64_t rng_range(struct rng *rng, uint64_t lo, uint64_t hi);

/* A lowercase UUID v4 from the kernel's random source. Thread-safe. */
void uuid_random(char out[UUID_LEN]);
/* A lowercase UUID v4 from @rng, so generated data is reproducible. */
void uuid_from_rng(struct rng *rng, char out[UUID_LEN]);

/* 8-4-4-4-12 hex digits, either case. */
bool is_uuid(const char *s);
/* Exactly 32 lowercase hex digits. */
bool is_account_id(const char *s);

/* Whether @buf holds valid UTF-8 with no NUL byte. */
bool utf8_valid(const char *buf, size_t len);

/*
 * Copy of @buf made safe for a JSON string: invalid UTF-8 and NUL bytes
 * become U+FFFD. Returns a malloc'd string the caller frees, or NULL.
 */
char *utf8_sanitize(const char *buf, size_t len);

/* Strict decimal parse of a whole string into [min, max]: 0 or -EINVAL. */
int parse_long(const char *s, long min, long max, long *out)
	__attribute__((warn_unused_result));

/* A growable NUL-terminated byte string. */
struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

void strbuf_init(struct strbuf *sb);
void strbuf_finish(struct strbuf *sb);
int strbuf_add(struct strbuf *sb, const char *data, size_t len)
	__attribute__((warn_unused_result));
int strbuf_addstr(struct strbuf *sb, const char *s)
	__attribute__((warn_unused_result));
int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), warn_unused_result));
/* Hands the buffer to the caller (malloc'd, never NULL after success). */
char *strbuf_detach(struct strbuf *sb, size_t *len);

/* malloc'd copy of @s (NULL stays NULL); NULL on ENOMEM too. */
char *xstrdup_or_null(const char *s);

#endif
