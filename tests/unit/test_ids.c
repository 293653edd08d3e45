/* Identifier shapes: what may go into a URL path or a folder name. */
#include "check.h"
#include "ids.h"

static void account_ids_should_be_32_lowercase_hex(void)
{
	CHECK(ids_is_account_id("0123456789abcdef0123456789abcdef"));
	CHECK(!ids_is_account_id("0123456789ABCDEF0123456789abcdef"));
	CHECK(!ids_is_account_id("0123456789abcdef0123456789abcde"));
	CHECK(!ids_is_account_id("0123456789abcdef0123456789abcdef0"));
	CHECK(!ids_is_account_id("../../../../../../../../../../.."));
	CHECK(!ids_is_account_id(""));
	CHECK(!ids_is_account_id(NULL));
}

static void uuids_should_be_8_4_4_4_12(void)
{
	CHECK(ids_is_uuid("8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f"));
	CHECK(ids_is_uuid("8F2C6D1E-0B4A-4C8E-9F1D-2A3B4C5D6E7F"));
	CHECK(!ids_is_uuid("8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7"));
	CHECK(!ids_is_uuid("8f2c6d1e/0b4a-4c8e-9f1d-2a3b4c5d6e7f"));
	CHECK(!ids_is_uuid("../2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7f"));
	CHECK(!ids_is_uuid("8f2c6d1e-0b4a-4c8e-9f1d-2a3b4c5d6e7fa"));
	CHECK(!ids_is_uuid(NULL));
}

int main(void)
{
	RUN(account_ids_should_be_32_lowercase_hex);
	RUN(uuids_should_be_8_4_4_4_12);
	return RUN_SUMMARY();
}
