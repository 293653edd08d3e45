/*
 * ids: identifier shape checks.  Anything that reaches a URL path or a
 * folder name from the network goes through here first, so a hostile id
 * such as "../x" or "a/b" can never change which resource is addressed.
 */
#include <string.h>

#include "ids.h"

static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_hex(char c)
{
	return is_lower_hex(c) || (c >= 'A' && c <= 'F');
}

bool ids_is_account_id(const char *s)
{
	size_t i;

	if (!s || strlen(s) != ACCOUNT_ID_LEN)
		return false;
	for (i = 0; i < ACCOUNT_ID_LEN; i++)
		if (!is_lower_hex(s[i]))
			return false;
	return true;
}

bool ids_is_uuid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != UUID_LEN)
		return false;
	for (i = 0; i < UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !is_hex(s[i]))
			return false;
	}
	return true;
}
