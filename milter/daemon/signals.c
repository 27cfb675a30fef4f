/*
 * signals.c - the daemon's own signal thread (signals.h).
 *
 * FUNCTIONS
 *      stm_signals_block()     block the four signals before threads exist
 *      stm_signals_start(), stm_signals_stop()   the thread
 *      stm_signals_stop_requests()              SIGTERM/SIGINT seen so far
 *      stm_signals_write_stats()                the statistics file, now
 *      sigwait()              libmilter's, with our signals taken out
 *
 * DESCRIPTION
 *      libmilter starts a signal thread of its own in smfi_main()
 *      (mi_signal_thread in libmilter/signal.c): it blocks SIGHUP, SIGTERM
 *      and SIGINT and sigwait()s for them, and stops the filter on any of
 *      them, SIGHUP included. A second thread sigwait()ing for SIGHUP would
 *      race with it: the kernel hands a process signal to either waiter, so
 *      now and then a reload would stop the daemon. Hence this file defines
 *      sigwait() itself. The executable's definition interposes the C
 *      library's for libmilter (a shared library resolves sigwait to the
 *      first definition in the process, the executable's; with a static
 *      libmilter the linker picks ours the same way). It waits for the same
 *      set minus SIGHUP, SIGUSR1, SIGTERM and SIGINT, so libmilter's thread
 *      waits for nothing and never sees them; nothing else in stagemilter
 *      calls sigwait() (this thread uses sigtimedwait()).
 *
 *      No way without interposing was found: the signal thread is started
 *      inside smfi_main() with these signals blocked, a signalfd or a
 *      handler would still compete with its sigwait() (Linux unblocks the
 *      waited set during the wait, so either thread may be chosen), and
 *      libmilter has no option to leave SIGHUP alone. tests/milter/sigwait.t
 *      proves from the dynamic linker's bindings that libmilter's sigwait()
 *      is this one; tests/e2e/36-reload-storm.t (Postfix and Sendmail) that
 *      400 SIGHUPs never stop the daemon. Keep both if this file changes.
 *
 *      This thread takes them all: SIGHUP reloads (reload.c), SIGUSR1 logs
 *      the counters as one line and writes the statistics file, SIGTERM and
 *      SIGINT stop the daemon. Stopping drains first: new messages are
 *      refused with a temporary failure (stm_stats_drain), and the thread
 *      waits until the messages in flight are answered, STM_SIGNALS_GRACE
 *      seconds at most or until a second SIGTERM/SIGINT; only then does it
 *      call smfi_stop(). The order matters: libmilter as Debian builds it
 *      runs sessions from a pool whose controller stops serving them as
 *      soon as smfi_stop() is called, so a message still in flight then
 *      would never be answered by us (the MTA would tempfail it when the
 *      process exits). smfi_main() returns within libmilter's five-second
 *      poll after smfi_stop(). The thread wakes every second (every 100 ms
 *      while draining) to write the statistics file when its interval is
 *      over, to watch the drain, and to notice stm_signals_stop().
 *
 * DIAGNOSTICS
 *      Failures to start are logged and returned; everything else is logged.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "report/log.h"
#include "daemon/reload.h"
#include "daemon/signals.h"
#include "report/stats.h"
#include "stagemilter/clock.h"

/* Seconds the messages in flight get to finish after SIGTERM/SIGINT. */
#define STM_SIGNALS_GRACE 30

/* Set by stm_signals_start() before the thread exists, read-only after. */
static stm_signals_opts sig_opts;
static pthread_t sig_thread;
static bool sig_running;
/* Written by stm_signals_stop(), read by the thread. */
static atomic_bool sig_quit;
/* SIGTERM/SIGINT received; read by main.c. */
static atomic_int sig_stops;
/* Last write of the statistics file failed (logged once per streak);
 * guarded by sig_stats_lock with the write itself. */
static pthread_mutex_t sig_stats_lock = PTHREAD_MUTEX_INITIALIZER;
static bool sig_stats_failing;

/* The signals this thread owns. */
static void
signals_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

/* libmilter's sigwait(): the same wait without our signals (see above). */
int
sigwait(const sigset_t *set, int *sig)
{
    sigset_t rest = *set;
    sigdelset(&rest, SIGHUP);
    sigdelset(&rest, SIGUSR1);
    sigdelset(&rest, SIGTERM);
    sigdelset(&rest, SIGINT);
    for (;;) {
        int s = sigwaitinfo(&rest, NULL);
        if (s > 0) {
            *sig = s;
            return 0;
        }
        if (errno != EINTR)
            return errno;
    }
}

/* Block our signals in the calling thread. */
int
stm_signals_block(void)
{
    sigset_t set;
    signals_set(&set);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) {
        stm_log(LOG_ERR, "cannot block signals: %s", strerror(rc));
        return -1;
    }
    return 0;
}

/* Write the statistics file, logging the first failure of a streak. */
void
stm_signals_write_stats(void)
{
    if (sig_opts.stats_file == NULL)
        return;
    char err[512];
    pthread_mutex_lock(&sig_stats_lock);
    if (stm_stats_write(sig_opts.stats_file, err, sizeof err) != 0) {
        if (!sig_stats_failing)
            stm_log(LOG_WARNING, "statistics file: %s", err);
        sig_stats_failing = true;
    } else {
        if (sig_stats_failing)
            stm_log(LOG_INFO, "statistics file %s written again", sig_opts.stats_file);
        sig_stats_failing = false;
    }
    pthread_mutex_unlock(&sig_stats_lock);
}

/* The thread: wait, act, repeat until told to quit. */
static void *
signals_main(void *arg)
{
    (void)arg;
    sigset_t set;
    signals_set(&set);
    time_t next = (time_t)(stm_clock_ms() / 1000u) + sig_opts.stats_interval;
    char line[8192];
    time_t drain_until = 0; /* while draining: the deadline */
    stm_signals_write_stats();
    while (!atomic_load(&sig_quit)) {
        struct timespec tick = {drain_until != 0 ? 0 : 1, drain_until != 0 ? 100000000 : 0};
        int sig = sigtimedwait(&set, NULL, &tick);
        switch (sig) {
        case SIGHUP:
            stm_reload(sig_opts.config, sig_opts.socket_override);
            break;
        case SIGUSR1:
            stm_stats_line(line, sizeof line);
            stm_log(LOG_INFO, "%s", line);
            stm_signals_write_stats();
            next = (time_t)(stm_clock_ms() / 1000u) + sig_opts.stats_interval;
            break;
        case SIGTERM:
        case SIGINT:
            if (atomic_fetch_add(&sig_stops, 1) == 0) {
                stm_stats_drain();
                long n = stm_stats_in_flight();
                stm_log(LOG_INFO,
                       "stopping on %s: new messages get a temporary failure; waiting up to %d s "
                       "for %ld message%s in flight",
                       sig == SIGTERM ? "SIGTERM" : "SIGINT", STM_SIGNALS_GRACE, n,
                       n == 1 ? "" : "s");
                drain_until = (time_t)(stm_clock_ms() / 1000u) + STM_SIGNALS_GRACE;
            } else if (drain_until != 0) {
                stm_log(LOG_INFO, "%s again: not waiting for the %ld message%s in flight",
                       sig == SIGTERM ? "SIGTERM" : "SIGINT", stm_stats_in_flight(),
                       stm_stats_in_flight() == 1 ? "" : "s");
                drain_until = (time_t)(stm_clock_ms() / 1000u);
            }
            break;
        default: /* the tick, or EINTR */
            break;
        }
        if (drain_until != 0 && (stm_stats_in_flight() <= 0 || (time_t)(stm_clock_ms() / 1000u) >= drain_until)) {
            long n = stm_stats_in_flight();
            if (n > 0)
                stm_log(LOG_WARNING,
                       "stopping with %ld message%s in flight: the MTA answers %s per its milter "
                       "default action (tempfail in the documented setup)",
                       n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
            else
                stm_log(LOG_INFO, "no message in flight; closing the milter socket");
            drain_until = 0;
            smfi_stop();
        }
        if (sig_opts.stats_file != NULL && (time_t)(stm_clock_ms() / 1000u) >= next) {
            stm_signals_write_stats();
            next = (time_t)(stm_clock_ms() / 1000u) + sig_opts.stats_interval;
        }
    }
    return NULL;
}

/* Start the thread. */
int
stm_signals_start(const stm_signals_opts *opts)
{
    sig_opts = *opts;
    if (sig_opts.stats_interval == 0)
        sig_opts.stats_interval = 1;
    atomic_store(&sig_quit, false);
    int rc = pthread_create(&sig_thread, NULL, signals_main, NULL);
    if (rc != 0) {
        stm_log(LOG_ERR, "cannot start the signal thread: %s", strerror(rc));
        return -1;
    }
    sig_running = true;
    return 0;
}

/* Stop and join the thread; write the statistics a last time. */
void
stm_signals_stop(void)
{
    if (!sig_running)
        return;
    atomic_store(&sig_quit, true);
    pthread_join(sig_thread, NULL);
    sig_running = false;
    stm_signals_write_stats();
}

/* SIGTERM/SIGINT seen so far. */
int
stm_signals_stop_requests(void)
{
    return atomic_load(&sig_stops);
}
