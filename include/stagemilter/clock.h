/*
 * clock.h - the one clock of stagemilter: milliseconds on CLOCK_MONOTONIC.
 *
 * Every deadline, timeout and latency in policy/ and milter/ is measured on
 * it, so two values from anywhere in the program can be compared and
 * subtracted. It never goes backwards and ignores changes of the wall clock.
 * Condition variables that wait for a deadline use pthread_condattr_setclock
 * (CLOCK_MONOTONIC) and stm_clock_timespec() to stay on the same base.
 */
#ifndef STAGEMILTER_CLOCK_H
#define STAGEMILTER_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
uint64_t stm_clock_ms(void);

/* The CLOCK_MONOTONIC timespec of the instant MS (a value of stm_clock_ms()),
 * for pthread_cond_timedwait on a condition whose clock is CLOCK_MONOTONIC. */
struct timespec stm_clock_timespec(uint64_t ms);

#endif
