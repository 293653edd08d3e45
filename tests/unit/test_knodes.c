/*
 * knodes: a node id's path follows the kernel's lookups, renames and
 * unlinks; forgetting every lookup drops it; the root stays.
 */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "knodes.h"

static char path[KNODES_PATH_MAX];

static void knodes_should_build_paths_from_lookups(void)
{
	CHECK(knodes_path(1, NULL, path) == 0);
	CHECK_STR(path, "/");
	CHECK(knodes_path(1, "acct", path) == 0);
	CHECK_STR(path, "/acct");
	CHECK(knodes_remember(64, 1, "acct") == 0);
	CHECK(knodes_remember(96, 64, "sync-a") == 0);
	CHECK(knodes_remember(97, 96, "policy") == 0);
	CHECK(knodes_path(97, NULL, path) == 0);
	CHECK_STR(path, "/acct/sync-a/policy");
	CHECK(knodes_path(96, "notes.txt", path) == 0);
	CHECK_STR(path, "/acct/sync-a/notes.txt");
	CHECK(knodes_path(12345, NULL, path) == -ENOENT);
}

static void knodes_should_follow_a_rename(void)
{
	knodes_move(96, 64, "sync-b");
	CHECK(knodes_path(97, NULL, path) == 0);
	CHECK_STR(path, "/acct/sync-b/policy");
	/* a lookup under a new name (renamed elsewhere) moves it too */
	CHECK(knodes_remember(96, 64, "sync-c") == 0);
	CHECK(knodes_path(96, NULL, path) == 0);
	CHECK_STR(path, "/acct/sync-c");
}

static void knodes_should_forget_after_the_last_lookup(void)
{
	/* 96 was remembered twice */
	knodes_forget(96, 1);
	CHECK(knodes_known(96));
	knodes_forget(96, 1);
	CHECK(!knodes_known(96));
	/* its child has no path now, and says so */
	CHECK(knodes_path(97, NULL, path) == -ENOENT);
	knodes_forget(1, 100);
	CHECK(knodes_known(1));
}

static void knodes_should_give_an_unlinked_node_no_path(void)
{
	CHECK(knodes_remember(128, 64, "gone") == 0);
	knodes_unname(128);
	CHECK(knodes_known(128));
	CHECK(knodes_path(128, NULL, path) == -ENOENT);
	CHECK(knodes_remember(128, 64, "back") == 0);
	CHECK(knodes_path(128, NULL, path) == 0);
	CHECK_STR(path, "/acct/back");
}

static void knodes_should_keep_the_pages_mark_of_known_nodes_only(void)
{
	CHECK(!knodes_pages(128));
	knodes_set_pages(128, true);
	CHECK(knodes_pages(128));
	knodes_set_pages(128, false);
	CHECK(!knodes_pages(128));
	knodes_set_pages(4242, true); /* not held by the kernel */
	CHECK(!knodes_pages(4242));
}

static void knodes_should_hold_many_and_list_them(void)
{
	size_t count, i, found = 0;
	uint64_t *ids;
	uint64_t id;

	for (id = 1000; id < 1000 + 50000; id++)
		CHECK(knodes_remember(id << 5, 64, "x") == 0);
	ids = knodes_all(&count);
	CHECK(ids != NULL);
	for (i = 0; ids && i < count; i++)
		found += ids[i] >= (1000 << 5);
	CHECK(found == 50000);
	free(ids);
	for (id = 1000; id < 1000 + 50000; id++)
		knodes_forget(id << 5, 1);
	CHECK(!knodes_known(1000 << 5));
}

static void knodes_should_refuse_a_path_too_long(void)
{
	char name[300];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CHECK(knodes_remember(160, 1, name) == 0);
	for (uint64_t id = 161; id < 161 + 16; id++)
		CHECK(knodes_remember(id, id - 1, name) == 0);
	CHECK(knodes_path(176, NULL, path) == -ENAMETOOLONG);
	CHECK(knodes_path(161, NULL, path) == 0); /* 2 x 300 bytes fit */
}

int main(void)
{
	if (!knodes_init())
		return 1;
	RUN(knodes_should_build_paths_from_lookups);
	RUN(knodes_should_follow_a_rename);
	RUN(knodes_should_forget_after_the_last_lookup);
	RUN(knodes_should_give_an_unlinked_node_no_path);
	RUN(knodes_should_keep_the_pages_mark_of_known_nodes_only);
	RUN(knodes_should_hold_many_and_list_them);
	RUN(knodes_should_refuse_a_path_too_long);
	knodes_finish();
	return RUN_SUMMARY();
}
