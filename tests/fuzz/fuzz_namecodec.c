/*
 * Fuzz target: the folder-name rule.  Checks its promises, not only that
 * it does not crash: a folder name never holds '/', fits 255 bytes when
 * it carries the id, and reads back to the name (or the id) it came from.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "namecodec.h"

#define ID "8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = strndup((const char *)data, size);
	char *escaped, *with_id, *back = NULL;
	const char *id = NULL;
	int ret;

	if (!name)
		return 0;
	escaped = namecodec_escape(name);
	if (!escaped)
		goto out;
	if (strchr(escaped, '/'))
		abort();
	ret = namecodec_decode(escaped, &id, &back);
	/* a name that itself ends in %@UUID is escaped to %25@UUID */
	if (ret != 0 || strcmp(back, name))
		abort();
	with_id = namecodec_with_id(escaped, ID);
	if (with_id) {
		free(back);
		back = NULL;
		if (strlen(with_id) > NAMECODEC_MAX || strchr(with_id, '/') ||
		    namecodec_decode(with_id, &id, &back) != 1 ||
		    strcmp(id, ID))
			abort();
		free(with_id);
	}
	/* and any folder name a user types either decodes or is refused */
	free(back);
	back = NULL;
	ret = namecodec_decode(name, &id, &back);
	if (ret != 0 && ret != 1 && ret != -EINVAL && ret != -ENOMEM)
		abort();
	free(escaped);
out:
	free(back);
	free(name);
	return 0;
}
