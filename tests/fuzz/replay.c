/*
 * Replays fuzz inputs as an ordinary test: every file under the folders
 * (or the files) named on the command line goes through the target's
 * LLVMFuzzerTestOneInput once.  Built with the normal compiler, so the
 * saved corpus guards against regressions without libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	data = malloc(size > 0 ? (size_t)size : 1);
	if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

int main(int argc, char *argv[])
{
	int i, count = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *dir;
		struct dirent *e;

		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			failed += replay_file(argv[i]) != 0;
			count++;
			continue;
		}
		dir = opendir(argv[i]);
		while (dir && (e = readdir(dir))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i],
				 e->d_name);
			failed += replay_file(path) != 0;
			count++;
		}
		if (dir)
			closedir(dir);
	}
	printf("%d passed, %d failed\n", count - failed, failed);
	return failed || !count;
}
