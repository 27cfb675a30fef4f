/*
 * clock.c - milliseconds on CLOCK_MONOTONIC (stagemilter/clock.h).
 *
 * Functions: stm_clock_ms, stm_clock_timespec. No state, no allocation, no
 * failure: clock_gettime(CLOCK_MONOTONIC) cannot fail on Linux.
 */
#include "stagemilter/clock.h"

/* Milliseconds on the monotonic clock. */
uint64_t
stm_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The instant MS as a timespec on the same clock. */
struct timespec
stm_clock_timespec(uint64_t ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000u);
    ts.tv_nsec = (long)(ms % 1000u) * 1000000L;
    return ts;
}
