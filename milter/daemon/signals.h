/*
 * signals.h - the daemon's signal thread: SIGHUP reloads the policy, SIGUSR1
 * logs the statistics and writes the statistics file, SIGTERM and SIGINT
 * refuse new messages, wait for those in flight to be answered, then stop
 * libmilter (smfi_stop). The statistics file is also written every few
 * seconds.
 */
#ifndef STAGEMILTER_MILTER_SIGNALS_H
#define STAGEMILTER_MILTER_SIGNALS_H

#include <stdbool.h>

typedef struct stm_signals_opts {
    const char *config;          /* the policy file, reloaded on SIGHUP */
    const char *socket_override; /* -p, or NULL */
    const char *stats_file;      /* -s, or NULL */
    unsigned stats_interval;     /* seconds between writes of stats_file (>= 1) */
} stm_signals_opts;

/* Block SIGHUP, SIGUSR1, SIGTERM and SIGINT in the calling thread. Call it in
 * the main thread before any other thread exists: every thread inherits the
 * mask, so only the signal thread ever takes them. Returns 0 or -1 (logged). */
int stm_signals_block(void);

/* Start the signal thread. OPTS is copied; its strings are borrowed for the
 * daemon's lifetime. Returns 0, or -1 (logged). */
int stm_signals_start(const stm_signals_opts *opts);

/* Stop the thread and wait for it (at most about a second); the statistics
 * file, if any, is written a last time. */
void stm_signals_stop(void);

/* How many SIGTERM/SIGINT arrived so far (a second one cuts the wait for
 * messages in flight short; see signals.c). */
int stm_signals_stop_requests(void);

/* Write the statistics file now, if there is one; logged on failure. */
void stm_signals_write_stats(void);

#endif
