/*
 * emulator.h: the unit tests' handle on catsyncfs-emulator, run as a
 * child process on a free port ($CATSYNCFS_EMULATOR, set by meson; a test
 * without it exits 77, skipped), and its control API.
 */
#ifndef CATSYNCFS_TEST_EMULATOR_H
#define CATSYNCFS_TEST_EMULATOR_H

/* The API's base URL (.../client/v4), once started. */
extern char emulator_base_url[256];

void emulator_start(void);
void emulator_stop(void);

/* A call to the control API; returns the body (caller frees) or NULL. */
char *emulator_control(const char *method, const char *what, const char *body);

/* Adds a fault (a JSON object, see the emulator's README). */
void emulator_fault(const char *json);

/* No faults, no latency, an empty log, and the state seed (a reset body). */
void emulator_reset(const char *seed);

/* How many logged requests have this method (and path substring). */
int emulator_logged(const char *method, const char *path_part);

/* Every API request waits ms before it is answered (0: none). */
void emulator_latency(int ms);

#endif
