/*
 * utf8: what counts as text.  JSON strings must be valid UTF-8, and a
 * folder name shows invalid bytes escaped rather than raw.
 */
#ifndef CATSYNCFS_UTF8_H
#define CATSYNCFS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The length of the valid UTF-8 sequence at s (1 to 4), or 0 when the
 * bytes there are not one (overlong forms and surrogates included).
 */
size_t utf8_sequence_length(const unsigned char *s, size_t len);

bool utf8_valid(const char *s, size_t len);

#endif
