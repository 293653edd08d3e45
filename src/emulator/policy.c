/*
 * policy.c - a deliberately tiny "compiler" and "runner" for sync policies.
 *
 * Nothing public says what the real service accepts, so the emulator only
 * rejects what no Rego compiler could accept: unbalanced (), [] and {}. A
 * refresh result is a summary computed from the policy text, stable across
 * runs, so tests can compare it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "policy.h"
#include "util.h"

/* Deeper nesting than this is refused rather than tracked. */
#define POLICY_MAX_DEPTH 256

static char closer_of(char open)
{
	return open == '(' ? ')' : open == '[' ? ']' : '}';
}

int policy_check(const char *policy, char *msg, size_t msglen)
{
	char stack[POLICY_MAX_DEPTH];
	long lines[POLICY_MAX_DEPTH];
	int depth = 0;
	long line = 1;
	const char *p;

	for (p = policy; *p; p++) {
		char c = *p;

		if (c == '\n') {
			line++;
		} else if (c == '#') {
			while (p[1] && p[1] != '\n')
				p++;
		} else if (c == '"') {
			/* A Rego string ends at its quote or, unterminated,
			 * at the end of the line. */
			while (p[1] && p[1] != '"' && p[1] != '\n') {
				if (p[1] == '\\' && p[2] && p[2] != '\n')
					p++;
				p++;
			}
			if (p[1] == '"')
				p++;
		} else if (c == '(' || c == '[' || c == '{') {
			if (depth == POLICY_MAX_DEPTH) {
				snprintf(msg, msglen,
					 "policy does not compile: "
					 "nesting deeper than %d at line %ld",
					 POLICY_MAX_DEPTH, line);
				return -EINVAL;
			}
			stack[depth] = c;
			lines[depth++] = line;
		} else if (c == ')' || c == ']' || c == '}') {
			if (depth == 0 || closer_of(stack[depth - 1]) != c) {
				snprintf(msg, msglen,
					 "policy does not compile: "
					 "unbalanced '%c' at line %ld",
					 c, line);
				return -EINVAL;
			}
			depth--;
		}
	}
	if (depth > 0) {
		snprintf(msg, msglen,
			 "policy does not compile: "
			 "unbalanced '%c' at line %ld",
			 stack[depth - 1], lines[depth - 1]);
		return -EINVAL;
	}
	return 0;
}

static const char *const resource_types[] = {
	"aws_vpc",
	"aws_subnet",
	"aws_instance",
	"azurerm_virtual_network",
	"azurerm_subnet",
	"google_compute_network",
	"google_compute_subnetwork",
};

/* Whether @word occurs in @text as a whole identifier. */
static int has_word(const char *text, const char *word)
{
	size_t len = strlen(word);
	const char *p = text;

	while ((p = strstr(p, word)) != NULL) {
		char after = p[len];
		char before = p == text ? ' ' : p[-1];

		if (!(after == '_' || (after >= 'a' && after <= 'z')) &&
		    !(before == '_' || (before >= 'a' && before <= 'z')))
			return 1;
		p += len;
	}
	return 0;
}

char *policy_run(const char *sync_id, const char *destination_type,
		 const char *policy)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *types = NULL, *item;
	uint32_t hash = 2166136261u;
	int n_types = 0;
	char *out = NULL;

	for (const char *p = policy; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	if (!doc)
		return NULL;
	if (!cJSON_AddStringToObject(doc, "sync_id", sync_id) ||
	    !cJSON_AddStringToObject(doc, "destination_type",
				     destination_type) ||
	    !(types = cJSON_AddArrayToObject(doc, "resource_types")))
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(resource_types); i++) {
		if (!has_word(policy, resource_types[i]))
			continue;
		item = cJSON_CreateString(resource_types[i]);
		if (!item || !cJSON_AddItemToArray(types, item)) {
			cJSON_Delete(item);
			goto out;
		}
		n_types++;
	}
	if (!cJSON_AddNumberToObject(doc, "matched_resources",
				     n_types ? n_types * 3 + hash % 40 : 0))
		goto out;
	out = cJSON_PrintUnformatted(doc);
out:
	cJSON_Delete(doc);
	return out;
}
