/*
 * namecodec: sync name <-> folder name (the rule is in namecodec.h).
 *
 * Why this rule: escaping only the bytes a folder name cannot hold (and
 * '%' itself, so the escape is unambiguous) keeps ordinary names, unicode
 * included, exactly as the user typed them; the id suffix is the only way
 * to tell two syncs of one name apart that survives renames of others.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "namecodec.h"
#include "utf8.h"

static const char *const reserved[] = { "policies", "last_error", NULL };

bool namecodec_is_reserved(const char *name)
{
	const char *const *r;

	for (r = reserved; *r; r++)
		if (!strcmp(name, *r))
			return true;
	return false;
}

static bool must_escape(unsigned char c)
{
	return c == '%' || c == '/' || c < 0x20 || c == 0x7f;
}

/*
 * Bytes to copy at p as they are: a whole valid UTF-8 character, or 0
 * when the byte there must be escaped (see must_escape, invalid UTF-8).
 */
static size_t plain_run(const unsigned char *p, size_t left)
{
	if (*p < 0x80)
		return must_escape(*p) ? 0 : 1;
	return utf8_sequence_length(p, left);
}

char *namecodec_escape(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), n = 0, i, o = 0;
	char *out;

	for (i = 0; i < len;) {
		size_t run = plain_run(p + i, len - i);

		n += run ? run : 3;
		i += run ? run : 1;
	}
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (i = 0; i < len;) {
		size_t run = plain_run(p + i, len - i);

		if (run) {
			memcpy(out + o, p + i, run);
			o += run;
			i += run;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[p[i] >> 4];
		out[o++] = hex[p[i] & 15];
		i++;
	}
	out[o] = '\0';
	return out;
}

bool namecodec_plain_ok(const char *escaped)
{
	return escaped[0] && strcmp(escaped, ".") && strcmp(escaped, "..") &&
	       !namecodec_is_reserved(escaped) &&
	       strlen(escaped) <= NAMECODEC_MAX;
}

/* The longest prefix of s within max bytes that splits no escape/char. */
static size_t safe_cut(const char *s, size_t max)
{
	size_t n = strlen(s);
	size_t i;

	if (n <= max)
		return n;
	n = max;
	/* do not split a %XX escape */
	for (i = n >= 2 ? n - 2 : 0; i < n; i++)
		if (s[i] == '%') {
			n = i;
			break;
		}
	/* do not split a UTF-8 sequence: back up to a lead byte */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

char *namecodec_with_id(const char *escaped, const char *id)
{
	size_t suffix = strlen(NAMECODEC_ID_MARK) + strlen(id);
	size_t keep = safe_cut(escaped, NAMECODEC_MAX - suffix);
	char *out = malloc(keep + suffix + 1);

	if (!out)
		return NULL;
	memcpy(out, escaped, keep);
	memcpy(out + keep, NAMECODEC_ID_MARK, strlen(NAMECODEC_ID_MARK));
	memcpy(out + keep + strlen(NAMECODEC_ID_MARK), id, strlen(id) + 1);
	return out;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int namecodec_decode(const char *folder, const char **id_out, char **name_out)
{
	size_t len = strlen(folder);
	size_t mark = strlen(NAMECODEC_ID_MARK);
	char *name, *o;
	const char *p;

	if (len >= mark + UUID_LEN &&
	    !strncmp(folder + len - UUID_LEN - mark, NAMECODEC_ID_MARK, mark) &&
	    ids_is_uuid(folder + len - UUID_LEN)) {
		*id_out = folder + len - UUID_LEN;
		return 1;
	}
	name = malloc(len + 1);
	if (!name)
		return -ENOMEM;
	for (p = folder, o = name; *p; p++) {
		int hi, lo;

		if (*p != '%') {
			*o++ = *p;
			continue;
		}
		hi = hex_value(p[1]);
		lo = hi < 0 ? -1 : hex_value(p[2]);
		if (lo < 0 || (hi == 0 && lo == 0)) {
			free(name);
			return -EINVAL;
		}
		*o++ = (char)(hi * 16 + lo);
		p += 2;
	}
	*o = '\0';
	*name_out = name;
	return 0;
}
