/*
 * conn.c - one connection of a scanner protocol that is not SMTP, on the
 * SMTP client's I/O (conn.h).
 *
 * Functions: stm_scan_conn_init, stm_scan_conn_open, stm_scan_conn_open_reuse,
 * stm_scan_conn_keep, stm_scan_conn_close,
 * stm_scan_conn_free, stm_scan_conn_nopipe_begin, stm_scan_conn_nopipe_end.
 *
 * Ownership: C owns its session (socket, SSL, buffer). Errors: -1 with the
 * reason in c->ss->err.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "delegate/conn.h"
#include "stagemilter/clock.h"

/* Prepare C for REQ. */
int
stm_scan_conn_init(stm_scan_conn *c, const stm_scan_request *req)
{
    const stm_delegate_ctx *ctx = req->ctx;

    memset(c, 0, sizeof *c);
    if ((c->ss = calloc(1, sizeof *c->ss)) == NULL)
        return -1;
    c->sreq = (stm_smtp_request){.service = req->service,
                                 .progress = ctx->progress,
                                 .progress_arg = ctx->progress_arg,
                                 .progress_interval_ms = ctx->progress_interval_ms,
                                 .log = ctx->log,
                                 .log_arg = ctx->log_arg,
                                 .transcript = ctx->transcript};
    c->reuse = ctx->reuse_connections;
    c->ss->req = &c->sreq;
    c->ss->svc = req->service;
    c->ss->res = &c->sres;
    c->ss->fd = -1;
    c->ss->next_progress =
        stm_clock_ms() + (ctx->progress_interval_ms ? ctx->progress_interval_ms : 10000);
    return 0;
}

/* Connect to T. */
int
stm_scan_conn_open(stm_scan_conn *c, const stm_target *t, bool tls)
{
    stm_smtp_session *ss = c->ss;
    uint64_t deadline = stm_clock_ms() + ss->svc->connect_timeout_ms;

    stm_scan_conn_close(c);
    ss->target = t;
    stm_smtp_log(ss, "service=%s connecting to %s", ss->svc->name, t->text);
    if (stm_smtp_io_connect(ss, deadline) != 0)
        return -1;
    if (tls && stm_smtp_tls_handshake(ss, STM_SMTP_PH_CONNECT, deadline) != 0) {
        stm_smtp_io_close(ss);
        return -1;
    }
    return 0;
}

/* An idle connection to T, or a new one. */
int
stm_scan_conn_open_reuse(stm_scan_conn *c, const stm_target *t, bool tls, bool *reused)
{
    *reused = false;
    if (c->reuse && !tls && !t->implicit_tls) {
        stm_scan_conn_close(c);
        c->ss->target = t;
        if (stm_smtp_pool_take(c->ss)) {
            *reused = true;
            stm_smtp_log(c->ss, "service=%s reusing a connection to %s", c->ss->svc->name,
                         t->text);
            return 0;
        }
    }
    return stm_scan_conn_open(c, t, tls);
}

/* Keep the connection for the next message. */
void
stm_scan_conn_keep(stm_scan_conn *c)
{
    stm_smtp_session *ss = c->ss;
    if (c->reuse && ss->fd >= 0 && ss->ssl == NULL && ss->in_pos == ss->in_len)
        stm_smtp_pool_put(ss);
    stm_scan_conn_close(c);
}

/* Close the connection. */
void
stm_scan_conn_close(stm_scan_conn *c)
{
    if (c->ss != NULL)
        stm_smtp_io_close(c->ss);
}

/* Close and free. */
void
stm_scan_conn_free(stm_scan_conn *c)
{
    stm_scan_conn_close(c);
    stm_smtp_result_clear(&c->sres);
    free(c->ss);
    c->ss = NULL;
}

/* Block SIGPIPE while writing. */
void
stm_scan_conn_nopipe_begin(stm_scan_conn *c)
{
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &c->old_mask);
}

/* Unblock it, discarding one our writes raised. */
void
stm_scan_conn_nopipe_end(stm_scan_conn *c)
{
    if (!sigismember(&c->old_mask, SIGPIPE)) {
        sigset_t pipe_set, pending;
        struct timespec zero = {0, 0};
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
            sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &c->old_mask, NULL);
}
