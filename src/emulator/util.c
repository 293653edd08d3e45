/*
 * util.c - time stamps, ids, UTF-8 checks and a growable string for the
 * emulator.
 *
 * Nothing here keeps state except struct rng, which its owner protects;
 * uuid_random() reads the kernel's random source so any thread may call it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

void ts_now(char out[TS_LEN])
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(out, TS_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n != 19) {
		/* Only past year 9999; keep the fixed width callers expect. */
		snprintf(out, TS_LEN, "9999-12-31T23:59:59.999999Z");
		return;
	}
	snprintf(out + 19, TS_LEN - 19, ".%06uZ",
		 (unsigned int)(now.tv_nsec / 1000) % 1000000u);
}

int64_t mono_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void rng_seed(struct rng *rng, uint64_t seed)
{
	rng->state = seed;
}

uint64_t rng_next(struct rng *rng)
{
	uint64_t z = (rng->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_range(struct rng *rng, uint64_t lo, uint64_t hi)
{
	uint64_t span = hi - lo + 1;

	if (span == 0)
		return rng_next(rng);
	return lo + rng_next(rng) % span;
}

static void uuid_format(unsigned char b[16], char out[UUID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

void uuid_random(char out[UUID_LEN])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* No kernel randomness: ids only need to be unique. */
			struct rng fallback;

			rng_seed(&fallback,
				 (uint64_t)mono_ms() ^ (uintptr_t)out);
			uuid_from_rng(&fallback, out);
			return;
		}
		got += (size_t)n;
	}
	uuid_format(b, out);
}

void uuid_from_rng(struct rng *rng, char out[UUID_LEN])
{
	unsigned char b[16];
	uint64_t hi = rng_next(rng), lo = rng_next(rng);

	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(hi >> (8 * i));
		b[8 + i] = (unsigned char)(lo >> (8 * i));
	}
	uuid_format(b, out);
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

bool is_uuid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i])) {
			return false;
		}
	}
	return s[36] == '\0';
}

bool is_account_id(const char *s)
{
	for (int i = 0; i < 32; i++) {
		bool digit = s[i] >= '0' && s[i] <= '9';
		bool lower = s[i] >= 'a' && s[i] <= 'f';

		if (!digit && !lower)
			return false;
	}
	return s[32] == '\0';
}

/* Length of the valid UTF-8 sequence at @p (1-4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	size_t n;
	uint32_t cp;

	if (p[0] == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool utf8_valid(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0;

	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

char *utf8_sanitize(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	struct strbuf sb;
	size_t i = 0;

	strbuf_init(&sb);
	if (strbuf_add(&sb, "", 0) < 0)
		return NULL;
	while (i < len) {
		size_t n = utf8_seq(p + i, len - i);
		int rc;

		if (n == 0) {
			rc = strbuf_add(&sb, "\xef\xbf\xbd", 3);
			n = 1;
		} else {
			rc = strbuf_add(&sb, buf + i, n);
		}
		if (rc < 0) {
			strbuf_finish(&sb);
			return NULL;
		}
		i += n;
	}
	return strbuf_detach(&sb, NULL);
}

int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || !((*s >= '0' && *s <= '9') || *s == '-'))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

void strbuf_init(struct strbuf *sb)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
}

void strbuf_finish(struct strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	strbuf_init(sb);
}

static int strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t want, cap;
	char *nb;

	if (extra > SIZE_MAX / 2 - sb->len)
		return -ENOMEM;
	want = sb->len + extra + 1;
	if (want <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < want)
		cap *= 2;
	nb = realloc(sb->buf, cap);
	if (!nb)
		return -ENOMEM;
	sb->buf = nb;
	sb->cap = cap;
	return 0;
}

int strbuf_add(struct strbuf *sb, const char *data, size_t len)
{
	int rc = strbuf_grow(sb, len);

	if (rc < 0)
		return rc;
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

int strbuf_addstr(struct strbuf *sb, const char *s)
{
	return strbuf_add(sb, s, strlen(s));
}

int strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	rc = strbuf_grow(sb, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
	return 0;
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *out = sb->buf;

	if (!out)
		out = calloc(1, 1);
	if (len)
		*len = sb->len;
	strbuf_init(sb);
	return out;
}

char *xstrdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}
