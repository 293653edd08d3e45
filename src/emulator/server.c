/*
 * server.c - libmicrohttpd glue: collects each request, runs the API
 * pipeline (latency, rate limit, faults, size limit, routes, request log)
 * or the control API, and turns a struct answer into a response.
 *
 * One thread per connection, so a hanging fault or a slow client never
 * delays other requests. Per-request state is created by the URI callback
 * (which also gives us the raw request target, query included, for the
 * log) and freed in the completion callback.
 *
 * Locking: emu->lock guards the shared state; it is never held while
 * sleeping or while libmicrohttpd sends.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "control.h"
#include "envelope.h"
#include "routes.h"
#include "server.h"

/* A JSON-looking record repeated to make "huge" answers. */
#define HUGE_HEAD "{\"success\":true,\"errors\":[],\"messages\":[],\"result\":["
#define HUGE_RECORD                                                            \
	"{\"id\":\"00000000-0000-4000-8000-000000000000\","                    \
	"\"name\":\"huge\",\"policy\":\"package huge\\n\"},"
#define MALFORMED_BODY                                                         \
	"{\"success\":true,\"errors\":[],\"messages\":[],"                     \
	"\"result\":[{\"id\":\"3f1c9a2b-7d4e-4f60-8a1b"
#define OOM_BODY                                                               \
	"{\"success\":false,\"errors\":[{\"code\":10002,"                      \
	"\"message\":\"out of memory\"}],\"messages\":[],\"result\":null}"

struct server {
	struct emu *emu;
	struct MHD_Daemon *daemon;
};

void emu_sleep(struct emu *emu, long ms)
{
	struct timespec deadline;

	if (ms <= 0)
		return;
	/* emu->wake runs on CLOCK_MONOTONIC (see main()). */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&emu->lock);
	while (!emu->stopping && pthread_cond_timedwait(&emu->wake, &emu->lock,
							&deadline) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&emu->lock);
}

const char *request_header(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *request_arg(struct request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

bool request_has_arg(struct request *req, const char *name)
{
	const char *value;

	return MHD_lookup_connection_value_n(req->conn, MHD_GET_ARGUMENT_KIND,
					     name, strlen(name), &value,
					     NULL) == MHD_YES;
}

struct unknown_arg {
	const char *const *allowed;
	const char *found;
};

static enum MHD_Result find_unknown(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct unknown_arg *u = cls;

	for (const char *const *a = u->allowed; *a; a++)
		if (strcmp(*a, key) == 0)
			return MHD_YES;
	u->found = key;
	return MHD_NO;
}

const char *request_unknown_arg(struct request *req, const char *const *allowed)
{
	struct unknown_arg u = { allowed, NULL };

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND,
				  find_unknown, &u);
	return u.found;
}

void answer_init(struct answer *ans)
{
	memset(ans, 0, sizeof(*ans));
}

void answer_finish(struct answer *ans)
{
	if (!ans)
		return;
	free(ans->body);
	for (size_t i = 0; i < ans->n_headers; i++) {
		free(ans->headers[i].name);
		free(ans->headers[i].value);
	}
	answer_init(ans);
}

void answer_header(struct answer *ans, const char *name, const char *value)
{
	struct answer_header *h;

	if (ans->n_headers == ANSWER_MAX_HEADERS)
		return;
	h = &ans->headers[ans->n_headers];
	h->name = strdup(name);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		return;
	}
	ans->n_headers++;
}

void answer_raw(struct answer *ans, int status, const char *body, size_t len)
{
	free(ans->body);
	ans->body = malloc(len + 1);
	ans->body_len = len;
	ans->status = status;
	if (!ans->body) {
		ans->body_len = 0;
		ans->status = 500;
		return;
	}
	memcpy(ans->body, body, len);
	ans->body[len] = '\0';
}

void answer_json(struct answer *ans, int status, cJSON *doc)
{
	char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;

	cJSON_Delete(doc);
	free(ans->body);
	ans->body = NULL;
	if (!text) {
		answer_raw(ans, 500, OOM_BODY, strlen(OOM_BODY));
		return;
	}
	ans->body = text;
	ans->body_len = strlen(text);
	ans->status = status;
}

/* --- request lifecycle ------------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct request *req = calloc(1, sizeof(*req));
	char *q;

	if (!req)
		return NULL;
	req->uri = strdup(uri);
	req->path = strdup(uri);
	if (!req->uri || !req->path) {
		free(req->uri);
		free(req->path);
		free(req);
		return NULL;
	}
	q = strchr(req->path, '?');
	if (q)
		*q = '\0';
	q = strchr(req->uri, '?');
	req->query = q ? q + 1 : "";
	return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *req_cls;

	if (!req)
		return;
	free(req->uri);
	free(req->path);
	free(req->body);
	free(req);
	*req_cls = NULL;
}

static void collect_body(struct request *req, const char *data, size_t len)
{
	char *nb;

	if (req->too_large)
		return;
	if (len > BODY_MAX - req->body_len) {
		/* Keep reading (the client is still sending) but drop it. */
		req->too_large = true;
		free(req->body);
		req->body = NULL;
		req->body_len = 0;
		return;
	}
	nb = realloc(req->body, req->body_len + len + 1);
	if (!nb) {
		req->too_large = true;
		return;
	}
	memcpy(nb + req->body_len, data, len);
	req->body = nb;
	req->body_len += len;
	req->body[req->body_len] = '\0';
}

/* --- streamed fault bodies -------------------------------------------- */

struct stream {
	uint64_t size;
	bool reset; /* drop the connection after the first block */
};

static ssize_t huge_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	size_t head = strlen(HUGE_HEAD), rec = strlen(HUGE_RECORD);
	size_t n = 0;

	if (st->reset && pos > 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (st->reset && max > st->size / 2)
		max = (size_t)(st->size / 2);
	while (n < max && pos + n < st->size) {
		uint64_t at = pos + n;

		if (at < head)
			buf[n++] = HUGE_HEAD[at];
		else
			buf[n++] = HUGE_RECORD[(at - head) % rec];
	}
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static struct MHD_Response *stream_response(uint64_t size, bool reset)
{
	struct stream *st = malloc(sizeof(*st));
	struct MHD_Response *resp;

	if (!st)
		return NULL;
	st->size = size;
	st->reset = reset;
	resp = MHD_create_response_from_callback(size, 64 * 1024, huge_reader,
						 st, free);
	if (!resp)
		free(st);
	return resp;
}

/* --- answering ---------------------------------------------------------- */

static char *ray_id(char out[32])
{
	static uint64_t counter;
	struct rng rng;

	rng_seed(&rng, __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) ^
			       (uint64_t)mono_ms() << 20);
	snprintf(out, 32, "%016llx-EMU", (unsigned long long)rng_next(&rng));
	return out;
}

/* The rate limit as the Ratelimit headers tell it. */
struct rl_figures {
	long remaining;
	long reset_s;
	long limit;
	long window_s;
};

static enum MHD_Result send_answer(struct MHD_Connection *conn,
				   struct answer *ans,
				   const struct rl_figures *rl)
{
	struct MHD_Response *resp;
	char ray[32], num[96];
	enum MHD_Result ret;

	if (ans->kind == ANSWER_FULL)
		resp = MHD_create_response_from_buffer(ans->body_len, ans->body,
						       MHD_RESPMEM_MUST_COPY);
	else
		resp = stream_response(ans->huge_bytes,
				       ans->kind == ANSWER_RESET);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "cf-ray", ray_id(ray));
	/* Cloudflare's (IETF draft) headers, on every answer */
	snprintf(num, sizeof(num), "\"default\";r=%ld;t=%ld", rl->remaining,
		 rl->reset_s);
	MHD_add_response_header(resp, "Ratelimit", num);
	snprintf(num, sizeof(num), "\"default\";q=%ld;w=%ld", rl->limit,
		 rl->window_s);
	MHD_add_response_header(resp, "Ratelimit-Policy", num);
	for (size_t i = 0; i < ans->n_headers; i++)
		MHD_add_response_header(resp, ans->headers[i].name,
					ans->headers[i].value);
	ret = MHD_queue_response(conn, (unsigned int)ans->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Build the answer a matched fault asks for; false: process normally. */
static bool apply_fault(struct emu *emu, struct fault_hit *hit,
			struct answer *ans)
{
	struct api_error err;
	const cJSON *extra;

	if (hit->retry_after)
		answer_header(ans, "Retry-After", hit->retry_after);
	if (hit->retry_after_ms)
		answer_header(ans, "retry-after-ms", hit->retry_after_ms);
	if (hit->should_retry)
		answer_header(ans, "x-should-retry", hit->should_retry);
	cJSON_ArrayForEach (extra, hit->headers)
		answer_header(ans, extra->string, extra->valuestring);
	switch (hit->action) {
	case FAULT_HANG:
		emu_sleep(emu, (long)(hit->seconds * 1000));
		if (!hit->status)
			return false;
		/* fall through */
	case FAULT_STATUS:
		if (hit->status == 429)
			api_error_set(&err, 429, 971,
				      "Please wait and "
				      "consider throttling your request speed");
		else
			api_error_set(&err, hit->status, 10002,
				      "emulated fault: HTTP %d", hit->status);
		envelope_error(ans, &err);
		return true;
	case FAULT_RESET:
		ans->kind = ANSWER_RESET;
		ans->status = 200;
		ans->huge_bytes = 4096;
		return true;
	case FAULT_HUGE:
		ans->kind = ANSWER_HUGE;
		ans->status = 200;
		ans->huge_bytes = hit->bytes;
		return true;
	case FAULT_MALFORMED:
		answer_raw(ans, 200, MALFORMED_BODY, strlen(MALFORMED_BODY));
		return true;
	case FAULT_BODY:
		answer_raw(ans, hit->status ? hit->status : 200,
			   hit->body ? hit->body : "",
			   hit->body ? strlen(hit->body) : 0);
		return true;
	}
	return false;
}

static enum MHD_Result serve_api(struct emu *emu, struct request *req)
{
	const char *path = routes_api_path(req->path);
	struct fault_hit hit;
	struct answer ans;
	struct api_error err;
	struct rl_figures rl;
	long retry_after = 0, latency;
	int64_t at_ms = 0;
	bool answered = false;
	enum MHD_Result ret;
	int matched, allowed;

	answer_init(&ans);
	memset(&hit, 0, sizeof(hit));
	pthread_mutex_lock(&emu->lock);
	latency = emu->cfg.latency_ms;
	pthread_mutex_unlock(&emu->lock);
	emu_sleep(emu, latency);

	pthread_mutex_lock(&emu->lock);
	rl.limit = emu->rl.cap;
	rl.window_s = (long)(emu->rl.window_ms / 1000);
	allowed = ratelimit_take(&emu->rl, emu->cfg.rate_limit, &rl.remaining,
				 &rl.reset_s, &retry_after, &at_ms);
	matched = allowed ? fault_list_take(&emu->faults, req->method, path,
					    &hit)
			  : 0;
	pthread_mutex_unlock(&emu->lock);

	if (!allowed) {
		char secs[32];

		snprintf(secs, sizeof(secs), "%ld", retry_after);
		answer_header(&ans, "Retry-After", secs);
		api_error_set(&err, 429, 971,
			      "Please wait and consider "
			      "throttling your request speed");
		envelope_error(&ans, &err);
		answered = true;
	} else if (matched == 1) {
		answered = apply_fault(emu, &hit, &ans);
	}
	if (!answered && req->too_large) {
		api_error_set(&err, 413, 10413,
			      "Request body is larger than "
			      "%d bytes",
			      BODY_MAX);
		envelope_error(&ans, &err);
		answered = true;
	}
	if (!answered)
		routes_handle(emu, req, &ans);

	pthread_mutex_lock(&emu->lock);
	reqlog_add(&emu->log,
		   &(struct reqlog_entry){
			   .method = req->method,
			   .path = path,
			   .query = req->query,
			   .body = req->too_large ? NULL : req->body,
			   .body_len = req->body_len,
			   .content_type = request_header(req, "Content-Type"),
			   .status = ans.kind == ANSWER_RESET ? 0 : ans.status,
			   .auth = routes_auth_kind(req),
			   .at_ms = at_ms,
		   });
	pthread_mutex_unlock(&emu->lock);

	ret = send_answer(req->conn, &ans, &rl);
	answer_finish(&ans);
	fault_hit_finish(&hit);
	return ret;
}

static enum MHD_Result serve_control(struct emu *emu, struct request *req)
{
	struct answer ans;
	enum MHD_Result ret;
	struct rl_figures rl;

	answer_init(&ans);
	control_handle(emu, req, &ans);
	pthread_mutex_lock(&emu->lock);
	rl.remaining = ratelimit_remaining(&emu->rl, &rl.reset_s);
	rl.limit = emu->rl.cap;
	rl.window_s = (long)(emu->rl.window_ms / 1000);
	pthread_mutex_unlock(&emu->lock);
	ret = send_answer(req->conn, &ans, &rl);
	answer_finish(&ans);
	return ret;
}

static bool is_control(const char *path)
{
	size_t n = strlen(CONTROL_PREFIX);

	return strncmp(path, CONTROL_PREFIX, n) == 0 &&
	       (path[n] == '/' || path[n] == '\0');
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	struct emu *emu = cls;
	struct request *req = *req_cls;

	if (!req)
		return MHD_NO; /* on_uri ran out of memory */
	if (!req->started) {
		req->started = true;
		req->conn = conn;
		req->method = method;
		return MHD_YES;
	}
	if (*upload_data_size) {
		collect_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (is_control(req->path))
		return serve_control(emu, req);
	return serve_api(emu, req);
}

struct server *server_create(struct emu *emu, const char *addr, uint16_t port,
			     uint16_t *bound, const char *tls_cert,
			     const char *tls_key)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct server *srv;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	} else {
		fprintf(stderr,
			"catsyncfs-emulator: '%s' is not an IP "
			"address\n",
			addr);
		return NULL;
	}
	if (tls_cert)
		flags |= MHD_USE_TLS;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return NULL;
	srv->emu = emu;
	srv->daemon = MHD_start_daemon(
		flags, port, NULL, NULL, on_request, emu, MHD_OPTION_SOCK_ADDR,
		(struct sockaddr *)&ss, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
		emu, MHD_OPTION_NOTIFY_COMPLETED, on_completed, emu,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)4096,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)0,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
		/* with TLS, the PEM texts; else the list ends here */
		tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, tls_cert,
		MHD_OPTION_HTTPS_MEM_KEY, tls_key, MHD_OPTION_END);
	if (!srv->daemon) {
		fprintf(stderr,
			"catsyncfs-emulator: cannot listen on %s "
			"port %u\n",
			addr, (unsigned int)port);
		free(srv);
		return NULL;
	}
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	*bound = info ? info->port : port;
	return srv;
}

void server_destroy(struct server *srv)
{
	if (!srv)
		return;
	pthread_mutex_lock(&srv->emu->lock);
	srv->emu->stopping = true;
	pthread_cond_broadcast(&srv->emu->wake);
	pthread_mutex_unlock(&srv->emu->lock);
	MHD_stop_daemon(srv->daemon);
	free(srv);
}
