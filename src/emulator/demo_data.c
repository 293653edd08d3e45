/*
 * demo_data.c - the demo seed (two accounts with realistic syncs and a set
 * of prebuilt policies) and the generator behind --syncs N.
 *
 * The demo ids and timestamps are fixed so that the README's examples and
 * the tests can name them. Generated syncs come from a fixed PRNG seed for
 * reproducible benchmarks. Every policy here is balanced, so writing one
 * back unchanged through the API never fails the compile check.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "demo_data.h"
#include "util.h"

#define GEN_SEED 0x5eed0fca7a106ULL

struct demo_sync {
	const char *id;
	const char *name;
	const char *description;
	const char *policy;
	const char *destination_type;
	const char *destination_id;
	const char *update_mode;
	const char *user_update;
	const char *last_run; /* NULL: never refreshed */
	const char *error_json; /* NULL: healthy */
};

static const char policy_prod_vpcs[] =
	"package cloudflare.catalog_sync\n"
	"\n"
	"# Production VPCs in every AWS account (tag:team-network)\n"
	"default include := false\n"
	"\n"
	"include if {\n"
	"\tinput.resource.type == \"aws_vpc\"\n"
	"\tinput.resource.tags[\"env\"] == \"prod\"\n"
	"\tnot startswith(input.resource.name, \"sandbox-\")\n"
	"}\n"
	"\n"
	"cidrs := [c |\n"
	"\tsome r in input.resources\n"
	"\tr.type == \"aws_vpc\"\n"
	"\tc := r.cidr_block\n"
	"]\n";

static const char policy_eu_subnets[] =
	"package cloudflare.catalog_sync\n"
	"\n"
	"# Private subnets in the EU regions (tag:team-platform)\n"
	"eu_regions := {\"eu-west-1\", \"eu-central-1\", \"eu-north-1\"}\n"
	"\n"
	"include if {\n"
	"\tinput.resource.type == \"aws_subnet\"\n"
	"\tinput.resource.region in eu_regions\n"
	"\tnot input.resource.map_public_ip_on_launch\n"
	"}\n";

static const char policy_azure_vnets[] =
	"package cloudflare.catalog_sync\n"
	"\n"
	"# Azure virtual networks of the shared hub (tag:team-network)\n"
	"include if {\n"
	"\tinput.resource.type == \"azurerm_virtual_network\"\n"
	"\tstartswith(input.resource.resource_group_name, \"hub-\")\n"
	"\tcount(input.resource.address_space) > 0\n"
	"}\n";

static const char policy_gcp_networks[] =
	"package cloudflare.catalog_sync\n"
	"\n"
	"# Custom-mode GCP networks (tag:team-data)\n"
	"include if {\n"
	"\tinput.resource.type == \"google_compute_network\"\n"
	"\tinput.resource.auto_create_subnetworks == false\n"
	"\t# \"legacy\" networks are handled by hand\n"
	"\tnot contains(input.resource.name, \"legacy\")\n"
	"}\n";

static const char policy_staging_vpcs[] =
	"package cloudflare.catalog_sync\n"
	"\n"
	"# Every VPC in the staging organisation (tag:team-qa)\n"
	"include if {\n"
	"\tinput.resource.type == \"aws_vpc\"\n"
	"\tinput.resource.tags[\"env\"] == \"staging\"\n"
	"}\n";

static const char policy_staging_subnets[] =
	"package cloudflare.catalog_sync\n"
	"\n"
	"# Staging subnets reachable from the office (tag:team-qa)\n"
	"include if {\n"
	"\tinput.resource.type == \"aws_subnet\"\n"
	"\tinput.resource.tags[\"env\"] == \"staging\"\n"
	"\tinput.resource.tags[\"reachable\"] == \"office\"\n"
	"}\n";

static const struct demo_sync account1_syncs[] = {
	{ "3b1f8a52-6c0e-4d7a-9f21-5e8b7c4d2a10", "prod-vpcs",
	  "Production VPCs for the Zero Trust allow list", policy_prod_vpcs,
	  "ZERO_TRUST_LIST", "9d2e4f60-1a3b-4c5d-8e7f-0a1b2c3d4e5f", "AUTO",
	  "2026-11-20T09:15:02.481516Z", "2026-11-29T07:00:00.000000Z", NULL },
	{ "5c7d9e1f-2a3b-4c4d-8e5f-6a7b8c9d0e1f", "eu-subnets",
	  "Private EU subnets", policy_eu_subnets, "ZERO_TRUST_LIST",
	  "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b", "MANUAL",
	  "2026-11-18T14:02:45.120034Z", "2026-11-18T14:03:10.775201Z", NULL },
	{ "8e9fa0b1-c2d3-4e4f-9a5b-6c7d8e9f0a1b", "azure-vnets",
	  "Hub virtual networks in Azure", policy_azure_vnets, "NONE",
	  "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d", "AUTO",
	  "2026-11-10T11:30:00.000001Z", NULL, NULL },
	{ "0f1e2d3c-4b5a-4697-8877-665544332211", "gcp-networks", "",
	  policy_gcp_networks, "NONE", "7b8c9d0e-1f2a-4b3c-8d4e-5f6a7b8c9d0e",
	  "MANUAL", "2026-11-01T08:00:00.500000Z",
	  "2026-11-02T08:00:00.000000Z",
	  "{\"refresh\":{\"code\":1013,"
	  "\"message\":\"catalog discovery is still running\"}}" },
};

static const struct demo_sync account2_syncs[] = {
	{ "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "staging-vpcs",
	  "All staging VPCs", policy_staging_vpcs, "ZERO_TRUST_LIST",
	  "d4c3b2a1-f6e5-4b7a-9d8c-5d4c3b2a1f0e", "AUTO",
	  "2026-11-22T16:45:12.000000Z", "2026-11-29T06:00:00.000000Z", NULL },
	{ "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", "staging-subnets",
	  "Staging subnets reachable from the office", policy_staging_subnets,
	  "NONE", "e5d4c3b2-a1f6-4e7d-8c9b-6e5d4c3b2a1f", "MANUAL",
	  "2026-11-23T10:10:10.101010Z", NULL, NULL },
};

struct demo_prebuilt {
	const char *name;
	const char *description;
	const char *policy;
	bool none;
	bool zero_trust;
};

static const struct demo_prebuilt prebuilt[] = {
	{ "all-aws-vpcs", "Every VPC in every connected AWS account",
	  "package cloudflare.catalog_sync\n\ninclude if {\n"
	  "\tinput.resource.type == \"aws_vpc\"\n}\n",
	  true, true },
	{ "tagged-aws-subnets",
	  "AWS subnets carrying a given tag (edit the tag)",
	  "package cloudflare.catalog_sync\n\ninclude if {\n"
	  "\tinput.resource.type == \"aws_subnet\"\n"
	  "\tinput.resource.tags[\"zero-trust\"] == \"true\"\n}\n",
	  false, true },
	{ "azure-vnets-by-region",
	  "Azure virtual networks in one region (edit the region)",
	  "package cloudflare.catalog_sync\n\ninclude if {\n"
	  "\tinput.resource.type == \"azurerm_virtual_network\"\n"
	  "\tinput.resource.location == \"westeurope\"\n}\n",
	  true, true },
	{ "gcp-networks", "Every GCP VPC network",
	  "package cloudflare.catalog_sync\n\ninclude if {\n"
	  "\tinput.resource.type == \"google_compute_network\"\n}\n",
	  true, false },
	{ "public-subnets", "Subnets that assign public IPs on launch",
	  "package cloudflare.catalog_sync\n\ninclude if {\n"
	  "\tinput.resource.type == \"aws_subnet\"\n"
	  "\tinput.resource.map_public_ip_on_launch\n}\n",
	  false, true },
};

static int add_str(cJSON *obj, const char *key, const char *value)
{
	return cJSON_AddStringToObject(obj, key, value) ? 0 : -ENOMEM;
}

static int demo_add_sync(struct account *acct, const struct demo_sync *d)
{
	const char *healthy_run = d->error_json ? NULL : d->last_run;
	const struct {
		const char *key;
		const char *value; /* NULL: leave the field out */
	} fields[] = {
		{ "id", d->id },
		{ "name", d->name },
		{ "description", d->description },
		{ "policy", d->policy },
		{ "destination_type", d->destination_type },
		{ "destination_id", d->destination_id },
		{ "update_mode", d->update_mode },
		{ "last_user_update_at", d->user_update },
		{ "last_attempted_update_at", d->last_run },
		{ "last_successful_update_at", healthy_run },
		{ "includes_discoveries_until", healthy_run },
	};
	cJSON *sync = cJSON_CreateObject();
	cJSON *errors;

	if (!sync || !cJSON_AddItemToArray(acct->syncs, sync)) {
		cJSON_Delete(sync);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (fields[i].value &&
		    add_str(sync, fields[i].key, fields[i].value))
			return -ENOMEM;
	errors = d->error_json ? cJSON_Parse(d->error_json)
			       : cJSON_CreateObject();
	if (!errors || !cJSON_AddItemToObject(sync, "errors", errors)) {
		cJSON_Delete(errors);
		return -ENOMEM;
	}
	return sync_complete(sync);
}

int demo_load_prebuilt(struct store *st)
{
	cJSON *arr = cJSON_CreateArray();

	if (!arr)
		return -ENOMEM;
	cJSON_Delete(st->prebuilt);
	st->prebuilt = arr;
	for (size_t i = 0; i < ARRAY_SIZE(prebuilt); i++) {
		const struct demo_prebuilt *p = &prebuilt[i];
		cJSON *obj = cJSON_CreateObject();
		cJSON *dest;

		if (!obj || !cJSON_AddItemToArray(arr, obj)) {
			cJSON_Delete(obj);
			return -ENOMEM;
		}
		if (add_str(obj, "policy_name", p->name) ||
		    add_str(obj, "policy_description", p->description) ||
		    add_str(obj, "policy_string", p->policy))
			return -ENOMEM;
		dest = cJSON_AddArrayToObject(obj, "applicable_destinations");
		if (!dest ||
		    (p->none &&
		     !cJSON_AddItemToArray(dest, cJSON_CreateString("NONE"))) ||
		    (p->zero_trust &&
		     !cJSON_AddItemToArray(
			     dest, cJSON_CreateString("ZERO_TRUST_LIST"))))
			return -ENOMEM;
	}
	return 0;
}

int demo_load(struct store *st)
{
	struct account *acct;
	int rc;

	rc = demo_load_prebuilt(st);
	if (rc < 0)
		return rc;
	rc = store_add_account(st, DEMO_ACCOUNT_1, "Acme Corp", false);
	if (rc < 0)
		return rc;
	rc = store_add_account(st, DEMO_ACCOUNT_2, "Acme Staging", false);
	if (rc < 0)
		return rc;
	acct = store_find_account(st, DEMO_ACCOUNT_1);
	for (size_t i = 0; i < ARRAY_SIZE(account1_syncs); i++) {
		rc = demo_add_sync(acct, &account1_syncs[i]);
		if (rc < 0)
			return rc;
	}
	acct = store_find_account(st, DEMO_ACCOUNT_2);
	for (size_t i = 0; i < ARRAY_SIZE(account2_syncs); i++) {
		rc = demo_add_sync(acct, &account2_syncs[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static const char *const gen_types[] = {
	"aws_vpc",
	"aws_subnet",
	"azurerm_virtual_network",
	"google_compute_network",
};

static const char *const gen_lines[] = {
	"\tinput.resource.tags[\"env\"] == \"prod\"\n",
	"\tinput.resource.region in {\"us-east-1\", \"eu-west-1\"}\n",
	"\tnot startswith(input.resource.name, \"tmp-\")\n",
	"\tcount(input.resource.cidr_blocks) > 0\n",
	"\t# keep resources that still exist in the catalog\n",
	"\tinput.resource.state != \"deleted\"\n",
	"\tnet.cidr_contains(\"10.0.0.0/8\", input.resource.cidr_block)\n",
	"\tinput.resource.tags[\"owner\"] != \"\"\n",
};

/*
 * A policy of exactly @size bytes (or the skeleton's size if larger):
 * header, balanced body lines, a comment to pad, and the closing brace.
 */
static int gen_policy(struct strbuf *sb, struct rng *rng, long index,
		      size_t size)
{
	const char *type = gen_types[index % 4];
	size_t nlines = ARRAY_SIZE(gen_lines);
	int rc;

	rc = strbuf_addf(sb,
			 "package cloudflare.catalog_sync\n\n"
			 "# generated sync %05ld owned by tag:team-%02ld\n"
			 "include if {\n\tinput.resource.type == \"%s\"\n",
			 index, index % 20, type);
	while (!rc) {
		const char *line = gen_lines[rng_next(rng) % nlines];
		size_t len = strlen(line);

		if (sb->len + len + 2 > size)
			break;
		rc = strbuf_add(sb, line, len);
	}
	if (!rc && sb->len + 2 < size) {
		size_t pad = size - sb->len - 2; /* room before "}\n" */

		if (pad >= 3) {
			rc = strbuf_addstr(sb, "\t#");
			for (size_t i = 0; !rc && i < pad - 3; i++)
				rc = strbuf_add(sb, &"abcdefghij"[i % 10], 1);
			if (!rc)
				rc = strbuf_addstr(sb, "\n");
		} else {
			rc = strbuf_add(sb, "\n\n", pad);
		}
	}
	if (!rc)
		rc = strbuf_addstr(sb, "}\n");
	return rc;
}

int demo_generate(struct store *st, long count, long min_bytes, long max_bytes)
{
	struct account *acct;
	struct strbuf sb;
	struct rng rng;
	int rc = 0;

	if (count <= 0)
		return 0;
	if (st->n_accounts == 0) {
		rc = store_add_account(st, DEMO_ACCOUNT_1, "Generated Account",
				       false);
		if (rc < 0)
			return rc;
	}
	acct = &st->accounts[0];
	rng_seed(&rng, GEN_SEED);
	strbuf_init(&sb);
	for (long i = 1; i <= count && !rc; i++) {
		char id[UUID_LEN], dest[UUID_LEN], name[32];
		size_t size = rng_range(&rng, (uint64_t)min_bytes,
					(uint64_t)max_bytes);
		cJSON *sync = cJSON_CreateObject();

		if (!sync || !cJSON_AddItemToArray(acct->syncs, sync)) {
			cJSON_Delete(sync);
			rc = -ENOMEM;
			break;
		}
		uuid_from_rng(&rng, id);
		uuid_from_rng(&rng, dest);
		snprintf(name, sizeof(name), "sync-%05ld", i);
		sb.len = 0;
		rc = gen_policy(&sb, &rng, i, size);
		if (!rc)
			rc = add_str(sync, "id", id);
		if (!rc)
			rc = add_str(sync, "name", name);
		if (!rc)
			rc = add_str(sync, "description",
				     "generated by catsyncfs-emulator");
		if (!rc)
			rc = add_str(sync, "policy", sb.buf);
		if (!rc)
			rc = add_str(sync, "destination_type",
				     i % 3 ? "ZERO_TRUST_LIST" : "NONE");
		if (!rc)
			rc = add_str(sync, "destination_id", dest);
		if (!rc)
			rc = add_str(sync, "update_mode",
				     i % 2 ? "AUTO" : "MANUAL");
		if (!rc)
			rc = sync_complete(sync);
	}
	strbuf_finish(&sb);
	return rc;
}
