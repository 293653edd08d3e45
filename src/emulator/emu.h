/* emu.h - the emulator's shared state: one mutex around everything. */
#ifndef EMU_EMU_H
#define EMU_EMU_H

#include <pthread.h>
#include <stdbool.h>

#include "faults.h"
#include "ratelimit.h"
#include "reqlog.h"
#include "store.h"

struct emu_config {
	const char *token; /* from argv, live as long as the process */
	const char *email;
	const char *api_key;
	long latency_ms; /* changed by PUT /__emulator/config */
	bool rate_limit;
	long policy_min; /* --policy-bytes, used by resets too */
	long policy_max;
};

/*
 * Everything a request may touch. @lock guards all fields but the
 * credentials (fixed at start); @wake is broadcast at shutdown so that
 * latency and hang faults end at once instead of delaying exit.
 */
struct emu {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
	struct emu_config cfg;
	struct store store;
	struct fault_list faults;
	struct reqlog log;
	struct ratelimit rl;
};

/* Sleep @ms or until shutdown; takes the lock itself. */
void emu_sleep(struct emu *emu, long ms);

#endif
