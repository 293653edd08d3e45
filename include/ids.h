/*
 * ids: the shapes of Cloudflare identifiers, checked before any id is put
 * into a URL or used as part of a file name.
 */
#ifndef CATSYNCFS_IDS_H
#define CATSYNCFS_IDS_H

#include <stdbool.h>

#define ACCOUNT_ID_LEN 32
#define UUID_LEN 36

/* 32 lowercase hexadecimal digits. */
bool ids_is_account_id(const char *s);
/* 8-4-4-4-12 hexadecimal digits (either case). */
bool ids_is_uuid(const char *s);

#endif
