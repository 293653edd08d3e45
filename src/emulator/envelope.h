/* envelope.h - Cloudflare's {"success","errors","messages","result"}. */
#ifndef EMU_ENVELOPE_H
#define EMU_ENVELOPE_H

#include <cjson/cJSON.h>

#include "http.h"

struct api_error {
	int status;
	int code;
	char message[512];
	char pointer[256]; /* source.pointer, "" for none */
	const char *parameter; /* source.parameter, or NULL */
	int chain_code; /* error_chain[0], 0 for none */
	const char *chain_message;
	const char *documentation_url; /* or NULL */
};

/* Fill @err; pointer, parameter and chain left empty. */
void api_error_set(struct api_error *err, int status, int code, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

/* A failure envelope ("result": null). */
void envelope_error(struct answer *ans, const struct api_error *err);
/* A success envelope around @result and, unless NULL, @result_info; takes
 * both. */
void envelope_result(struct answer *ans, int status, cJSON *result,
		     cJSON *result_info);

#endif
