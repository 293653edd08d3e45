/*
 * emulator.c - catsyncfs-emulator: a strict local stand-in for Cloudflare's
 * Magic Cloud Networking catalog-sync API, for tests, demos and benchmarks.
 *
 * main() parses options, builds the seed, starts the server, prints the
 * base URL as the one line on stdout (a test harness waits for it), then
 * sleeps in sigwait() until SIGTERM or SIGINT and shuts down cleanly so
 * leak checkers see a full teardown. Signals are blocked before any thread
 * starts so only the main thread receives them.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "emu.h"
#include "server.h"

struct options {
	const char *listen;
	long port;
	const char *seed;
	long syncs;
	const char *log_path;
	long rate_max;
	long rate_window_s;
	const char *tls_cert; /* PEM files: serve https (tests of cafile=) */
	const char *tls_key;
};

/* A whole (small) file as a NUL-terminated string, or NULL. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
	    size < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)size + 1))) {
		if (fread(text, 1, (size_t)size, f) != (size_t)size) {
			free(text);
			text = NULL;
		} else {
			text[size] = '\0';
		}
	}
	fclose(f);
	return text;
}

static void usage(FILE *out)
{
	fputs("usage: catsyncfs-emulator [options]\n"
	      "\n"
	      "  --listen ADDR         address to listen on (127.0.0.1)\n"
	      "  --port N              port, 0 for any free one (8787)\n"
	      "  --token TOKEN         accepted API token (demo-token)\n"
	      "  --email E             accepted X-Auth-Email "
	      "(demo@example.com)\n"
	      "  --api-key K           accepted X-Auth-Key (demo-api-key)\n"
	      "  --seed demo|empty|PATH.json   initial state (demo)\n"
	      "  --syncs N             add N generated syncs to the first "
	      "account\n"
	      "  --policy-bytes MIN:MAX  sizes of generated policies "
	      "(500:4000)\n"
	      "  --latency-ms N        delay every API answer by N ms (0)\n"
	      "  --rate-limit          enforce 1200 requests per 300 s\n"
	      "  --rate-limit-max N    window size for testing (1200)\n"
	      "  --rate-limit-window S  window length in seconds for "
	      "testing (300)\n"
	      "  --log PATH            append the request log as JSON lines\n"
	      "  --tls-cert PEM --tls-key PEM   serve https with this "
	      "certificate\n"
	      "  --help, --version\n"
	      "\n"
	      "Prints the base URL (http://ADDR:PORT/client/v4) on stdout "
	      "once listening.\n",
	      out);
}

static int bad_option(const char *opt, const char *value)
{
	fprintf(stderr, "catsyncfs-emulator: invalid value '%s' for %s\n",
		value, opt);
	return -EINVAL;
}

static int parse_policy_bytes(const char *s, struct emu_config *cfg)
{
	char lo[32], *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : 0;

	if (!colon || n == 0 || n >= sizeof(lo))
		return bad_option("--policy-bytes", s);
	memcpy(lo, s, n);
	lo[n] = '\0';
	if (parse_long(lo, 1, 16 * 1024 * 1024, &cfg->policy_min) ||
	    parse_long(colon + 1, 1, 16 * 1024 * 1024, &cfg->policy_max) ||
	    cfg->policy_min > cfg->policy_max)
		return bad_option("--policy-bytes", s);
	return 0;
}

/* 0 to run, 1 after --help/--version, or -EINVAL. */
static int parse_args(int argc, char **argv, struct options *opt,
		      struct emu_config *cfg)
{
	enum {
		O_LISTEN = 256,
		O_PORT,
		O_TOKEN,
		O_EMAIL,
		O_KEY,
		O_SEED,
		O_SYNCS,
		O_BYTES,
		O_LATENCY,
		O_RATE,
		O_RATE_MAX,
		O_RATE_WINDOW,
		O_LOG,
		O_TLS_CERT,
		O_TLS_KEY,
		O_HELP,
		O_VERSION
	};
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "port", required_argument, NULL, O_PORT },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "email", required_argument, NULL, O_EMAIL },
		{ "api-key", required_argument, NULL, O_KEY },
		{ "seed", required_argument, NULL, O_SEED },
		{ "syncs", required_argument, NULL, O_SYNCS },
		{ "policy-bytes", required_argument, NULL, O_BYTES },
		{ "latency-ms", required_argument, NULL, O_LATENCY },
		{ "rate-limit", no_argument, NULL, O_RATE },
		{ "rate-limit-max", required_argument, NULL, O_RATE_MAX },
		{ "rate-limit-window", required_argument, NULL, O_RATE_WINDOW },
		{ "log", required_argument, NULL, O_LOG },
		{ "tls-cert", required_argument, NULL, O_TLS_CERT },
		{ "tls-key", required_argument, NULL, O_TLS_KEY },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN:
			opt->listen = optarg;
			break;
		case O_PORT:
			if (parse_long(optarg, 0, 65535, &opt->port))
				return bad_option("--port", optarg);
			break;
		case O_TOKEN:
			cfg->token = optarg;
			break;
		case O_EMAIL:
			cfg->email = optarg;
			break;
		case O_KEY:
			cfg->api_key = optarg;
			break;
		case O_SEED:
			opt->seed = optarg;
			break;
		case O_TLS_CERT:
			opt->tls_cert = optarg;
			break;
		case O_TLS_KEY:
			opt->tls_key = optarg;
			break;
		case O_SYNCS:
			if (parse_long(optarg, 0, 1000000, &opt->syncs))
				return bad_option("--syncs", optarg);
			break;
		case O_BYTES:
			if (parse_policy_bytes(optarg, cfg))
				return -EINVAL;
			break;
		case O_LATENCY:
			if (parse_long(optarg, 0, 3600000, &cfg->latency_ms))
				return bad_option("--latency-ms", optarg);
			break;
		case O_RATE:
			cfg->rate_limit = true;
			break;
		case O_RATE_MAX:
			if (parse_long(optarg, 1, 10000000, &opt->rate_max))
				return bad_option("--rate-limit-max", optarg);
			break;
		case O_RATE_WINDOW:
			if (parse_long(optarg, 1, 86400, &opt->rate_window_s))
				return bad_option("--rate-limit-window",
						  optarg);
			break;
		case O_LOG:
			opt->log_path = optarg;
			break;
		case O_HELP:
			usage(stdout);
			return 1;
		case O_VERSION:
			printf("catsyncfs-emulator %s\n", CATSYNCFS_VERSION);
			return 1;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"catsyncfs-emulator: unexpected argument "
			"'%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

static int emu_init(struct emu *emu)
{
	pthread_condattr_t attr;
	int rc;

	memset(emu, 0, sizeof(*emu));
	pthread_mutex_init(&emu->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	rc = -pthread_cond_init(&emu->wake, &attr);
	pthread_condattr_destroy(&attr);
	store_init(&emu->store);
	fault_list_init(&emu->faults);
	emu->cfg.token = "demo-token";
	emu->cfg.email = "demo@example.com";
	emu->cfg.api_key = "demo-api-key";
	emu->cfg.policy_min = 500;
	emu->cfg.policy_max = 4000;
	return rc;
}

static void emu_finish(struct emu *emu)
{
	store_finish(&emu->store);
	fault_list_clear(&emu->faults);
	reqlog_finish(&emu->log);
	ratelimit_finish(&emu->rl);
	pthread_cond_destroy(&emu->wake);
	pthread_mutex_destroy(&emu->lock);
}

int main(int argc, char **argv)
{
	struct options opt = {
		.listen = "127.0.0.1",
		.port = 8787,
		.seed = "demo",
		.rate_max = RATELIMIT_MAX,
		.rate_window_s = RATELIMIT_WINDOW_S,
	};
	struct server *srv = NULL;
	char err[512] = "";
	uint16_t bound = 0;
	struct emu emu;
	sigset_t sigs;
	char *cert = NULL, *key = NULL;
	int rc, sig;

	if (emu_init(&emu) < 0) {
		fprintf(stderr, "catsyncfs-emulator: cannot initialise\n");
		return 1;
	}
	rc = parse_args(argc, argv, &opt, &emu.cfg);
	if (rc)
		goto out;
	rc = control_seed_store(&emu.store, opt.seed, opt.syncs,
				emu.cfg.policy_min, emu.cfg.policy_max, err,
				sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "catsyncfs-emulator: %s\n", err);
		goto out;
	}
	rc = reqlog_init(&emu.log, opt.log_path);
	if (rc < 0) {
		fprintf(stderr,
			"catsyncfs-emulator: cannot open log '%s': "
			"%s\n",
			opt.log_path, strerror(-rc));
		goto out;
	}
	rc = ratelimit_init(&emu.rl, opt.rate_max, opt.rate_window_s);
	if (rc < 0)
		goto out;

	/* Block before the server's threads exist, so they inherit it. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Before the server runs: from then on emu is under its lock. */
	fprintf(stderr,
		"catsyncfs-emulator: %zu accounts, token '%s', "
		"latency %ld ms, rate limit %s\n",
		emu.store.n_accounts, emu.cfg.token, emu.cfg.latency_ms,
		emu.cfg.rate_limit ? "on" : "off");
	if (!opt.tls_cert != !opt.tls_key) {
		fprintf(stderr, "catsyncfs-emulator: --tls-cert and --tls-key "
				"go together\n");
		rc = -EINVAL;
		goto out;
	}
	if (opt.tls_cert && (!(cert = read_file(opt.tls_cert)) ||
			     !(key = read_file(opt.tls_key)))) {
		fprintf(stderr, "catsyncfs-emulator: cannot read the TLS "
				"certificate or key\n");
		rc = -EINVAL;
		goto out;
	}
	srv = server_create(&emu, opt.listen, (uint16_t)opt.port, &bound, cert,
			    key);
	if (!srv) {
		rc = -EADDRNOTAVAIL;
		goto out;
	}
	if (strchr(opt.listen, ':'))
		printf("%s://[%s]:%u/client/v4\n", cert ? "https" : "http",
		       opt.listen, (unsigned int)bound);
	else
		printf("%s://%s:%u/client/v4\n", cert ? "https" : "http",
		       opt.listen, (unsigned int)bound);
	fflush(stdout);

	while (sigwait(&sigs, &sig) != 0)
		;
	fprintf(stderr, "catsyncfs-emulator: signal %d, stopping\n", sig);
	rc = 0;
out:
	server_destroy(srv);
	free(cert);
	free(key);
	emu_finish(&emu);
	return rc < 0 ? 1 : 0;
}
