/*
 * Fuzz target: what a write may leave in a file and whether it is sent.
 * The input is a little program of writes and truncates applied to an
 * open file's buffer (as FUSE would deliver them), then the result is
 * checked as every writable field would check it before any request.
 *
 * Input: repeated records of [op:1][offset:2][len:1][bytes:len].
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filebuf.h"
#include "writes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum field fields[] = {
	FIELD_NAME,   FIELD_DESCRIPTION, FIELD_POLICY, FIELD_UPDATE_MODE,
	FIELD_CONFIG, FIELD_ID,		 FIELD_STATUS, FIELD_REFRESH,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = NULL, why[256];
	size_t len = 0, i = 0, f;

	while (i + 4 <= size) {
		uint8_t op = data[i];
		off_t off = (off_t)(data[i + 1] | (data[i + 2] << 8));
		size_t n = data[i + 3];

		i += 4;
		if (n > size - i)
			n = size - i;
		if (op & 1) {
			if (filebuf_truncate(&buf, &len, off % 512))
				abort();
		} else if (filebuf_write(&buf, &len, (const char *)data + i, n,
					 op & 2 ? (off_t)len : off)) {
			abort();
		}
		i += n;
	}
	if (buf && buf[len] != '\0')
		abort(); /* the buffer is always terminated */
	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		struct sync_config c;
		int ret = writes_parse_content(fields[f], buf ? buf : "", len,
					       &c, why, sizeof(why));

		if (ret == 0) {
			/* what would be sent is text and a valid enum */
			if (c.update_mode && strcmp(c.update_mode, "AUTO") &&
			    strcmp(c.update_mode, "MANUAL"))
				abort();
			sync_config_finish(&c);
		} else if (ret != -EINVAL && ret != -EACCES && ret != -ENOMEM) {
			abort();
		}
	}
	free(buf);
	return 0;
}
