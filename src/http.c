/*
 * http: libcurl behind one call.
 *
 * Connection reuse: easy handles live in a small LIFO free list (a pool);
 * each keeps its own live connection between uses, and all of them share
 * the DNS cache and TLS sessions through a CURLSH.  A FUSE worker thread
 * takes a handle for the length of one attempt and gives it back, so any
 * thread reuses the most recently used connection, and threads that
 * libfuse starts and stops on demand leave nothing behind (unlike
 * thread-local handles, which would pin a connection to a thread that may
 * never run again).  The connection cache itself is deliberately not
 * shared: libcurl does not support sharing connections between threads
 * used concurrently, and under load that crashed.
 *
 * Locking: pool_lock guards the free list; share_locks[] are the locks
 * libcurl asks for per shared data kind.
 *
 * Bounds: an answer is accumulated in a growing buffer that refuses to
 * pass HTTP_MAX_BODY, so a hostile or broken server cannot make the
 * daemon allocate without limit.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http.h"
#include "monotime.h"

#define POOL_MAX 16

static CURLSH *share;
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *pool[POOL_MAX];
static int pool_count;

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a,
		       void *u)
{
	pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *u)
{
	pthread_mutex_unlock(&share_locks[data]);
}

int http_global_init(void)
{
	int i;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_locks[i], NULL);
	share = curl_share_init();
	if (!share)
		goto fail_cleanup;
	curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return 0;

fail_cleanup:
	curl_global_cleanup();
	return -EIO;
}

void http_global_cleanup(void)
{
	int i;

	pthread_mutex_lock(&pool_lock);
	for (i = 0; i < pool_count; i++)
		curl_easy_cleanup(pool[i]);
	pool_count = 0;
	pthread_mutex_unlock(&pool_lock);
	if (share)
		curl_share_cleanup(share);
	share = NULL;
	curl_global_cleanup();
}

static CURL *handle_take(void)
{
	CURL *h = NULL;

	pthread_mutex_lock(&pool_lock);
	if (pool_count > 0)
		h = pool[--pool_count];
	pthread_mutex_unlock(&pool_lock);
	if (!h) {
		h = curl_easy_init();
		if (h)
			curl_easy_setopt(h, CURLOPT_SHARE, share);
	}
	return h;
}

static void handle_give_back(CURL *h)
{
	pthread_mutex_lock(&pool_lock);
	if (pool_count < POOL_MAX) {
		curl_easy_reset(h);
		curl_easy_setopt(h, CURLOPT_SHARE, share);
		pool[pool_count++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	if (h)
		curl_easy_cleanup(h);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user)
{
	struct http_response *resp = user;
	size_t n = size * nmemb;
	size_t want;
	char *grown;

	if (n > HTTP_MAX_BODY - resp->body_len) {
		resp->transport = HTTP_TRANSPORT_TOO_BIG;
		return 0; /* makes curl fail with CURLE_WRITE_ERROR */
	}
	want = resp->body_len + n + 1;
	grown = realloc(resp->body, want);
	if (!grown)
		return 0;
	memcpy(grown + resp->body_len, data, n);
	resp->body = grown;
	resp->body_len += n;
	resp->body[resp->body_len] = '\0';
	return n;
}

/* Copies a header's value, trimmed, if the line is that header. */
static bool header_value(const char *line, size_t len, const char *name,
			 char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	size_t i, j;

	if (len <= nlen || strncasecmp(line, name, nlen) || line[nlen] != ':')
		return false;
	i = nlen + 1;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	j = len;
	while (j > i && (line[j - 1] == '\r' || line[j - 1] == '\n' ||
			 line[j - 1] == ' '))
		j--;
	if (j - i >= outlen)
		j = i + outlen - 1;
	memcpy(out, line + i, j - i);
	out[j - i] = '\0';
	return true;
}

/*
 * Appends a header's value to out (", " between lines of one name).  A
 * value that does not fit empties out: a cut figure could read as a
 * smaller one, so none is better.
 */
static void header_append(const char *line, size_t len, const char *name,
			  char *out, size_t outlen)
{
	char v[HTTP_MAX_HEADER + 1];
	size_t have = strlen(out), add;

	if (!header_value(line, len, name, v, sizeof(v)))
		return;
	add = strlen(v);
	if (add >= HTTP_MAX_HEADER || have + (have ? 2 : 0) + add >= outlen) {
		out[0] = '\0';
		return;
	}
	if (have) {
		memcpy(out + have, ", ", 2);
		have += 2;
	}
	memcpy(out + have, v, add + 1);
}

static long parse_ms(const char *v, long scale)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || *end || !(d >= 0 && d <= 1e9))
		return -1; /* also NaN */
	return (long)(d * scale);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user)
{
	struct http_response *resp = user;
	size_t n = size * nmemb;
	char v[128];

	/* a new status line (after a redirect or 100) starts afresh */
	if (n >= 5 && !strncmp(data, "HTTP/", 5)) {
		resp->cf_ray[0] = '\0';
		resp->retry_after_ms = -1;
		resp->should_retry = -1;
		resp->ratelimit[0] = '\0';
		resp->ratelimit_policy[0] = '\0';
	} else if (n > 10 && !strncasecmp(data, "ratelimit", 9)) {
		/* "Ratelimit:" or "Ratelimit-Policy:" (header_value checks) */
		header_append(data, n, "ratelimit", resp->ratelimit,
			      sizeof(resp->ratelimit));
		header_append(data, n, "ratelimit-policy",
			      resp->ratelimit_policy,
			      sizeof(resp->ratelimit_policy));
	} else if (header_value(data, n, "cf-ray", resp->cf_ray,
				sizeof(resp->cf_ray))) {
	} else if (header_value(data, n, "retry-after-ms", v, sizeof(v))) {
		long ms = parse_ms(v, 1);

		if (ms >= 0)
			resp->retry_after_ms = ms;
	} else if (header_value(data, n, "retry-after", v, sizeof(v))) {
		long ms = parse_ms(v, 1000);

		if (ms < 0) {
			time_t when = curl_getdate(v, NULL);

			if (when != -1) {
				time_t now = time(NULL);

				ms = when > now ? (long)(when - now) * 1000 : 0;
			}
		}
		/* retry-after-ms, when both are sent, is the finer one */
		if (ms >= 0 && resp->retry_after_ms < 0)
			resp->retry_after_ms = ms;
	} else if (header_value(data, n, "x-should-retry", v, sizeof(v))) {
		if (!strcasecmp(v, "true"))
			resp->should_retry = 1;
		else if (!strcasecmp(v, "false"))
			resp->should_retry = 0;
	}
	return n;
}

static enum http_transport classify(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return HTTP_TRANSPORT_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_TRANSPORT_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return HTTP_TRANSPORT_BROKEN;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return HTTP_TRANSPORT_TLS;
	default:
		return HTTP_TRANSPORT_OTHER;
	}
}

/* Appends one header line; false (list unchanged) when out of memory. */
static bool append_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *grown = curl_slist_append(*list, line);

	if (!grown)
		return false;
	*list = grown;
	return true;
}

int http_perform(const struct http_request *req, struct http_response *resp)
{
	struct curl_slist *headers = NULL;
	const char *const *h;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	CURL *curl;
	long started = (long)monotime_ms();
	int ret = 0;

	memset(resp, 0, sizeof(*resp));
	resp->retry_after_ms = -1;
	resp->should_retry = -1;
	resp->request_sent = true;

	curl = handle_take();
	if (!curl) {
		resp->transport = HTTP_TRANSPORT_OTHER;
		resp->request_sent = false;
		return -ENOMEM;
	}
	for (h = req->headers; h && *h; h++) {
		if (!append_header(&headers, *h)) {
			ret = -ENOMEM;
			resp->request_sent = false;
			goto out_give_back;
		}
	}
	/* an empty Expect: stops curl from waiting for "100 Continue" */
	if (!append_header(&headers, "Expect:")) {
		ret = -ENOMEM;
		resp->request_sent = false;
		goto out_give_back;
	}

	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "catsyncfs");
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)HTTP_MAX_BODY);
	if (req->cafile)
		curl_easy_setopt(curl, CURLOPT_CAINFO, req->cafile);
	if (req->body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(req->body));
	} else if (strcmp(req->method, "GET") &&
		   strcmp(req->method, "DELETE")) {
		/*
		 * A body-less POST (refresh) still says Content-Length: 0, but
		 * must not carry curl's default form Content-Type.
		 */
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)0);
		if (!append_header(&headers, "Content-Type:")) {
			ret = -ENOMEM;
			resp->request_sent = false;
			goto out_give_back;
		}
	}

	rc = curl_easy_perform(curl);
	resp->elapsed_ms = (long)monotime_ms() - started;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
		goto out_give_back;
	}

	if (resp->transport != HTTP_TRANSPORT_TOO_BIG)
		resp->transport = classify(rc);
	if (rc == CURLE_FILESIZE_EXCEEDED)
		resp->transport = HTTP_TRANSPORT_TOO_BIG;
	snprintf(resp->error, sizeof(resp->error), "%s",
		 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (resp->transport == HTTP_TRANSPORT_CONNECT) {
		resp->request_sent = false;
	} else {
		long sent = 0;

		/* nothing written to the socket: the server cannot have acted
		 */
		curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &sent);
		resp->request_sent = sent > 0;
	}
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->status = 0;
	ret = resp->transport == HTTP_TRANSPORT_TIMEOUT ? -ETIMEDOUT : -EIO;

out_give_back:
	curl_slist_free_all(headers);
	handle_give_back(curl);
	return ret;
}

void http_response_finish(struct http_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
}

bool http_url_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	struct in_addr v4;
	bool loopback = false;

	if (!u)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (!strcasecmp(host, "localhost") || !strcmp(host, "[::1]"))
			loopback = true;
		else if (inet_pton(AF_INET, host, &v4) == 1)
			loopback = (ntohl(v4.s_addr) >> 24) == 127;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return loopback;
}

const char *http_library_version(void)
{
	return curl_version_info(CURLVERSION_NOW)->version;
}
