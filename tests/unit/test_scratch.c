/*
 * The scratch list alone: find by name and serial, add replacing, rename
 * replacing, remove, and bytes written as on a local disk.
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "check.h"
#include "scratch.h"

static void scratch_should_be_found_by_name_and_serial(void)
{
	struct scratch_list l = { 0 };
	struct scratch *a = scratch_add(&l, ".x.swp", 0600);
	struct scratch *b = scratch_add(&l, "x~", 0644);

	CHECK(a && b && a->serial != b->serial);
	CHECK(a->serial >= SCRATCH_SERIAL_BASE);
	CHECK(scratch_find(&l, ".x.swp") == a);
	CHECK(scratch_find(&l, "x~") == b);
	CHECK(scratch_find(&l, "y") == NULL);
	CHECK(scratch_by_serial(&l, b->serial) == b);
	CHECK(scratch_by_serial(&l, 1) == NULL);
	CHECK(scratch_find(NULL, "x~") == NULL);
	CHECK(scratch_empty(NULL) && !scratch_empty(&l));
	scratch_list_finish(&l);
	CHECK(scratch_empty(&l));
}

static void scratch_add_and_rename_should_replace_a_namesake(void)
{
	struct scratch_list l = { 0 };
	struct scratch *a = scratch_add(&l, "a", 0644);
	struct scratch *b = scratch_add(&l, "b", 0644);
	struct scratch *a2;

	CHECK(scratch_write(a, "old", 3, 0, false) == 0);
	a2 = scratch_add(&l, "a", 0644);
	CHECK(scratch_find(&l, "a") == a2 && a2->len == 0);
	CHECK(scratch_rename(&l, b, "a") == 0);
	CHECK(scratch_find(&l, "a") == b);
	CHECK(scratch_find(&l, "b") == NULL);
	CHECK(scratch_rename(&l, b, "a") == 0); /* onto itself */
	CHECK(scratch_find(&l, "a") == b);
	scratch_remove(&l, b);
	CHECK(scratch_empty(&l));
	scratch_list_finish(&l);
}

static void scratch_bytes_should_behave_as_on_disk(void)
{
	struct scratch_list l = { 0 };
	struct scratch *s = scratch_add(&l, "f", 0640);
	struct timespec old = { 1, 0 };
	mode_t mode = 0600;

	CHECK(scratch_write(s, "abc", 3, 0, false) == 0);
	CHECK(scratch_write(s, "de", 2, 0, true) == 0);
	CHECK(s->len == 5 && !memcmp(s->data, "abcde", 5));
	CHECK(scratch_truncate(s, 2) == 0 && s->len == 2);
	scratch_set_attr(s, &mode, &old);
	CHECK(s->mode == 0600 && s->mtime.tv_sec == 1);
	scratch_take(s, strdup("zz"), 2);
	CHECK(s->len == 2 && !memcmp(s->data, "zz", 2));
	scratch_list_finish(&l);
}

static bool collect(void *arg, struct scratch *s)
{
	char *names = arg;
	size_t n = strlen(names);

	snprintf(names + n, 16 - n, "%s", s->name);
	return n + 1 < 2; /* stops after the second */
}

static void scratch_each_should_stop_when_told(void)
{
	struct scratch_list l = { 0 };
	char names[16] = "";

	CHECK(scratch_add(&l, "a", 0644) && scratch_add(&l, "b", 0644) &&
	      scratch_add(&l, "c", 0644));
	scratch_each(&l, collect, names);
	CHECK_STR(names, "cb"); /* newest first */
	scratch_each(NULL, collect, names);
	scratch_list_finish(&l);
}

int main(void)
{
	RUN(scratch_should_be_found_by_name_and_serial);
	RUN(scratch_add_and_rename_should_replace_a_namesake);
	RUN(scratch_bytes_should_behave_as_on_disk);
	RUN(scratch_each_should_stop_when_told);
	return RUN_SUMMARY();
}
