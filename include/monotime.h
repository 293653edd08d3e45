/*
 * monotime: milliseconds on the monotonic clock, for timing and for
 * deadlines that must not jump with the wall clock.
 */
#ifndef CATSYNCFS_MONOTIME_H
#define CATSYNCFS_MONOTIME_H

/* Milliseconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
long long monotime_ms(void);

#endif
