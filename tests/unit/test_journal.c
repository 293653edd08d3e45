/*
 * Unit tests of the journal: the exact line, string escaping, the file's
 * mode, appends and the repair of a torn last line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "journal.h"

static char tmpdir[] = "/tmp/catsyncfs-test-journal-XXXXXX";

static char *slurp(const char *path)
{
	static char buf[65536];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void journal_should_format_one_line(void)
{
	struct journal_change ch = {
		.account = "acc",
		.sync_id = "id1",
		.name = "prod",
		.op = "edit",
	};
	struct timespec t = { .tv_sec = 1767225600, .tv_nsec = 123456789 };
	char *line;

	journal_change_before(&ch, "policy", "old");
	journal_change_after(&ch, "policy", "new");
	line = journal_format_line(&ch, &t);
	CHECK_STR(line, "{\"time\":\"2026-01-01T00:00:00.123Z\","
			"\"account\":\"acc\",\"sync_id\":\"id1\","
			"\"name\":\"prod\",\"op\":\"edit\","
			"\"before\":{\"policy\":\"old\"},"
			"\"after\":{\"policy\":\"new\"}}\n");
	free(line);
}

static void journal_should_escape_strings(void)
{
	struct journal_change ch = { .account = "a",
				     .sync_id = "i",
				     .name = "q\"b\\s",
				     .op = "create" };
	struct timespec t = { 0 };
	char *line;

	journal_change_after(&ch, "policy", "l1\nl2\t\x01 \xc3\xa9 \xff");
	line = journal_format_line(&ch, &t);
	CHECK(line && strstr(line, "\"name\":\"q\\\"b\\\\s\""));
	CHECK(line &&
	      strstr(line,
		     "\"policy\":\"l1\\nl2\\t\\u0001 \xc3\xa9 \\u00ff\""));
	CHECK(line && strstr(line, "\"before\":{}"));
	/* one line: the only newline is the last byte */
	CHECK(line && strchr(line, '\n') == line + strlen(line) - 1);
	free(line);
}

static void journal_should_create_private_file_and_folders(void)
{
	char path[300], dir[256];
	struct journal_change ch = {
		.account = "a", .sync_id = "i", .name = "n", .op = "refresh"
	};
	struct journal *j = NULL;
	struct stat st;
	char why[256];
	char *text;

	snprintf(dir, sizeof(dir), "%s/a/b", tmpdir);
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	CHECK(journal_open(path, &j, why, sizeof(why)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700);
	CHECK(j && journal_append(j, &ch) == 0);
	CHECK(j && journal_append(j, &ch) == 0);
	journal_destroy(j);
	text = slurp(path);
	CHECK(text && strlen(text) > 0);
	CHECK(text && strstr(text, "\"op\":\"refresh\"") &&
	      strstr(strstr(text, "\n") + 1, "\"op\":\"refresh\""));
}

static void journal_should_cut_a_torn_last_line(void)
{
	char path[256], why[256];
	struct journal *j = NULL;
	const char *whole = "{\"time\":\"2026-12-04T00:00:00.000Z\"}\n";
	int fd;

	snprintf(path, sizeof(path), "%s/torn.jsonl", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, whole, strlen(whole)) == (ssize_t)strlen(whole));
	CHECK(write(fd, "{\"time\":\"20", 11) == 11);
	close(fd);
	CHECK(journal_open(path, &j, why, sizeof(why)) == 0);
	journal_destroy(j);
	CHECK_STR(slurp(path), whole);

	/* a file that is all torn is emptied */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "{\"time\":\"20", 11) == 11);
	close(fd);
	CHECK(journal_open(path, &j, why, sizeof(why)) == 0);
	journal_destroy(j);
	CHECK_STR(slurp(path), "");
}

static void journal_should_refuse_a_file_that_is_not_one(void)
{
	char path[256], why[256] = "";
	struct journal *j = NULL;
	const char *notes = "my notes, no final newline";
	int fd;

	snprintf(path, sizeof(path), "%s/notes.txt", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 &&
	      write(fd, notes, strlen(notes)) == (ssize_t)strlen(notes));
	close(fd);
	CHECK(journal_open(path, &j, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "not a catsyncfs journal") != NULL);
	CHECK_STR(slurp(path), notes); /* nothing cut */

	/* someone else's, or a shared one: refused */
	snprintf(path, sizeof(path), "%s/shared.jsonl", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
	close(fd);
	CHECK(chmod(path, 0666) == 0);
	CHECK(journal_open(path, &j, why, sizeof(why)) == -EACCES);
	CHECK(strstr(why, "chmod 600") != NULL);
}

static void journal_should_refuse_a_bad_path(void)
{
	char path[256], why[256] = "";
	struct journal *j = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/file", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	/* a folder where a file is */
	snprintf(path, sizeof(path), "%s/file/journal.jsonl", tmpdir);
	CHECK(journal_open(path, &j, why, sizeof(why)) == -ENOTDIR);
	CHECK(j == NULL && strstr(why, "Not a directory"));
	CHECK(journal_open(tmpdir, &j, why, sizeof(why)) == -EISDIR ||
	      !strcmp(why, "not a regular file"));
	CHECK(journal_open("/dev/null", &j, why, sizeof(why)) == -EINVAL);
	CHECK(journal_open("", &j, why, sizeof(why)) == -EINVAL);
}

static void journal_should_default_to_xdg_state_home(void)
{
	char buf[256];

	setenv("XDG_STATE_HOME", "/x/state", 1);
	CHECK(journal_default_path(buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "/x/state/catsyncfs/journal.jsonl");
	/* relative: ignored, as the XDG spec says */
	setenv("XDG_STATE_HOME", "rel", 1);
	setenv("HOME", "/home/u", 1);
	CHECK(journal_default_path(buf, sizeof(buf)) == 0);
	CHECK_STR(buf, geteuid()
			       ? "/home/u/.local/state/catsyncfs/journal.jsonl"
			       : "/var/lib/catsyncfs/journal.jsonl");
	CHECK(journal_default_path(buf, 8) == -ENAMETOOLONG);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir))
		return 1;
	RUN(journal_should_format_one_line);
	RUN(journal_should_escape_strings);
	RUN(journal_should_create_private_file_and_folders);
	RUN(journal_should_cut_a_torn_last_line);
	RUN(journal_should_refuse_a_file_that_is_not_one);
	RUN(journal_should_refuse_a_bad_path);
	RUN(journal_should_default_to_xdg_state_home);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return RUN_SUMMARY();
}
