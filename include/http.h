/*
 * http: one HTTP exchange over libcurl, and nothing else.
 *
 * This is the only module that includes curl.  It knows nothing about
 * Cloudflare: it sends a request, bounds the answer, and reports either an
 * HTTP status with the headers that retry and error reporting need, or a
 * transport failure classified for the retry policy.
 */
#ifndef CATSYNCFS_HTTP_H
#define CATSYNCFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The largest answer body accepted.  A listing of 10,000 syncs with 4 KB
 * policies is about 47 MB of JSON; anything past this is refused cleanly.
 */
#define HTTP_MAX_BODY ((size_t)48 << 20)

/* The longest header value kept (a longer one is cut, and then ignored). */
#define HTTP_MAX_HEADER 512

enum http_transport {
	HTTP_TRANSPORT_OK = 0,
	HTTP_TRANSPORT_CONNECT, /* never reached the server: safe to resend */
	HTTP_TRANSPORT_TIMEOUT,
	HTTP_TRANSPORT_BROKEN, /* reset or cut mid-exchange */
	HTTP_TRANSPORT_TOO_BIG, /* answer larger than HTTP_MAX_BODY */
	HTTP_TRANSPORT_TLS,
	HTTP_TRANSPORT_OTHER,
};

struct http_request {
	const char *method;
	const char *url;
	/* NULL-terminated "Name: value" lines; borrowed */
	const char *const *headers;
	/* NULL for no body (and then no Content-Type either) */
	const char *body;
	long timeout_ms;
	/* a CA bundle to trust instead of the system's, or NULL */
	const char *cafile;
};

struct http_response {
	long status; /* 0 when the transport failed */
	enum http_transport transport;
	/* false only when the request surely never left this machine */
	bool request_sent;
	char *body; /* NUL-terminated, owned; NULL if none */
	size_t body_len;
	char cf_ray[64];
	/* from retry-after-ms, else Retry-After (seconds or date); -1 none */
	long retry_after_ms;
	/* x-should-retry: 1 true, 0 false, -1 absent */
	int should_retry;
	/*
	 * The rate-limit headers' raw values (several lines of one name are
	 * joined with ", "), "" when absent; budget.h parses them.
	 */
	char ratelimit[HTTP_MAX_HEADER];
	char ratelimit_policy[HTTP_MAX_HEADER];
	char error[256]; /* curl's words for a transport failure */
	long elapsed_ms;
};

/* Once per process, before threads: 0 or -EIO. */
int http_global_init(void) __attribute__((warn_unused_result));
void http_global_cleanup(void);

/*
 * Performs one attempt.  Returns 0 when an HTTP answer (any status)
 * arrived, else a negative errno with resp->transport saying what failed.
 * resp must be released with http_response_finish() in both cases.
 * Safe to call from many threads at once: connections are reused through
 * a pool of handles that keep theirs open.
 */
int http_perform(const struct http_request *req, struct http_response *resp)
	__attribute__((warn_unused_result));
void http_response_finish(struct http_response *resp);

/*
 * Whether url names a loopback host (127.0.0.0/8, ::1 or localhost) as
 * libcurl will parse it, so that "http://127.0.0.1@evil.example/" is not
 * taken for one.
 */
bool http_url_is_loopback(const char *url);

/* libcurl's version string, for --version. */
const char *http_library_version(void);

#endif
