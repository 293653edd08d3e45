/*
 * monotime: milliseconds on the monotonic clock, for timing and for
 * deadlines that must not jump with the wall clock.
 */
#ifndef CATSYNCFS_MONOTIME_H
#define CATSYNCFS_MONOTIME_H

#include <time.h>

/* Milliseconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
long long monotime_ms(void);
/* A monotime_ms value as a CLOCK_MONOTONIC timespec (for timed waits). */
struct timespec monotime_timespec(long long ms);

#endif
