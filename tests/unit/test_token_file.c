/*
 * token_file: the token is the first line less white space; links,
 * shared files and empty files are refused with a reason; a rewrite is
 * noticed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "token_file.h"

static char dir[] = "/tmp/catsyncfs-token-XXXXXX";

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
	return path;
}

static void token_file_should_take_the_first_line_trimmed(void)
{
	struct token_file_stamp stamp;
	char why[256], *token = NULL;
	const char *path = write_file("t1", " \tabc-123 \r\nsecond line\n",
				      0600);

	CHECK(token_file_read(path, &token, &stamp, why, sizeof(why)) == 0);
	CHECK_STR(token, "abc-123");
	CHECK(!token_file_changed(path, &stamp));
	free(token);
}

static void token_file_should_refuse_a_shared_file(void)
{
	struct token_file_stamp stamp;
	char why[256], *token = NULL;
	const char *path = write_file("t2", "abc\n", 0640);

	CHECK(token_file_read(path, &token, &stamp, why, sizeof(why)) < 0);
	CHECK(token == NULL);
	CHECK(strstr(why, "readable by group or others") != NULL);
}

static void token_file_should_refuse_an_empty_one(void)
{
	struct token_file_stamp stamp;
	char why[256], *token = NULL;
	const char *path = write_file("t3", "  \n", 0600);

	CHECK(token_file_read(path, &token, &stamp, why, sizeof(why)) ==
	      -EINVAL);
	CHECK(strstr(why, "is empty") != NULL);
}

static void token_file_should_say_a_link_is_a_link(void)
{
	struct token_file_stamp stamp;
	char why[256], link[256], *token = NULL;
	const char *path = write_file("t4", "abc\n", 0600);

	snprintf(link, sizeof(link), "%s/link", dir);
	CHECK(symlink(path, link) == 0);
	CHECK(token_file_read(link, &token, &stamp, why, sizeof(why)) < 0);
	CHECK(strstr(why, "is a symbolic link") != NULL);
	unlink(link);
}

static void token_file_should_notice_a_rewrite(void)
{
	struct token_file_stamp stamp;
	char why[256], *token = NULL;
	const char *path = write_file("t5", "old-token\n", 0600);

	CHECK(token_file_read(path, &token, &stamp, why, sizeof(why)) == 0);
	free(token);
	write_file("t5", "new-token-longer\n", 0600);
	CHECK(token_file_changed(path, &stamp));
	unlink(path);
	CHECK(token_file_changed(path, &stamp));
}

static void token_trim_should_keep_inner_text(void)
{
	char a[] = "  a b  ", b[] = "", c[] = "\t\n";

	CHECK_STR(token_trim(a), "a b");
	CHECK_STR(token_trim(b), "");
	CHECK_STR(token_trim(c), "");
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	RUN(token_file_should_take_the_first_line_trimmed);
	RUN(token_file_should_refuse_a_shared_file);
	RUN(token_file_should_refuse_an_empty_one);
	RUN(token_file_should_say_a_link_is_a_link);
	RUN(token_file_should_notice_a_rewrite);
	RUN(token_trim_should_keep_inner_text);
	for (int i = 1; i <= 4; i++) {
		char path[300];

		snprintf(path, sizeof(path), "%s/t%d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return RUN_SUMMARY();
}
