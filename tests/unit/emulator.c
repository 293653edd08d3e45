/*
 * emulator.c: starts catsyncfs-emulator for a unit test and drives its
 * control API (see emulator.h).
 */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emulator.h"
#include "http.h"

char emulator_base_url[256];
static char control_url[256];
static pid_t emulator_pid;

void emulator_start(void)
{
	const char *bin = getenv("CATSYNCFS_EMULATOR");
	int fds[2];
	FILE *out;
	char *p;

	if (!bin || pipe(fds))
		exit(77);
	emulator_pid = fork();
	if (emulator_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(bin, bin, "--port", "0", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	out = fdopen(fds[0], "r");
	if (!out || !fgets(emulator_base_url, sizeof(emulator_base_url), out)) {
		fprintf(stderr, "emulator did not start\n");
		exit(1);
	}
	emulator_base_url[strcspn(emulator_base_url, "\n")] = '\0';
	snprintf(control_url, sizeof(control_url), "%s", emulator_base_url);
	p = strstr(control_url, "/client/v4");
	if (p)
		*p = '\0';
}

void emulator_stop(void)
{
	int status;

	kill(emulator_pid, SIGTERM);
	waitpid(emulator_pid, &status, 0);
}

char *emulator_control(const char *method, const char *what, const char *body)
{
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct http_request req = { .method = method,
				    .headers = headers,
				    .body = body,
				    .timeout_ms = 10000 };
	struct http_response resp;
	char url[512];
	char *text = NULL;

	snprintf(url, sizeof(url), "%s/__emulator/%s", control_url, what);
	req.url = url;
	if (!http_perform(&req, &resp)) {
		text = resp.body;
		resp.body = NULL;
	}
	http_response_finish(&resp);
	return text;
}

void emulator_fault(const char *json)
{
	free(emulator_control("POST", "faults", json));
}

void emulator_reset(const char *seed)
{
	free(emulator_control("DELETE", "faults", NULL));
	free(emulator_control("PUT", "config", "{\"latency_ms\":0}"));
	free(emulator_control("POST", "reset", seed));
	free(emulator_control("DELETE", "log", NULL));
}

void emulator_latency(int ms)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"latency_ms\":%d}", ms);
	free(emulator_control("PUT", "config", body));
}

int emulator_logged(const char *method, const char *path_part)
{
	char *text = emulator_control("GET", "log", NULL);
	cJSON *log = cJSON_Parse(text ? text : "[]"), *e;
	int n = 0;

	cJSON_ArrayForEach (e, log) {
		cJSON *m = cJSON_GetObjectItem(e, "method");
		cJSON *p = cJSON_GetObjectItem(e, "path");

		if (cJSON_IsString(m) && !strcmp(m->valuestring, method) &&
		    cJSON_IsString(p) &&
		    (!path_part || strstr(p->valuestring, path_part)))
			n++;
	}
	cJSON_Delete(log);
	free(text);
	return n;
}
