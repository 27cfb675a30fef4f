/*
 * delegate.c - delegate a session's message to a scanner and wait for the
 * copy that comes back (delegate.h).
 *
 * Functions: stm_delegate_run, stm_delegate_run_many, stm_delegate_hook,
 * stm_delegate_edits.
 *
 * Several services at once (stm_delegate_run_many, delegate: [a, b]):
 * scanners whose protocol only connects and sends in start() (clamd,
 * spamd, rspamd: waits_in_collect) are started one after the other in the
 * calling thread, then collected in turn while they all scan; an SMTP or
 * LMTP service, whose start() is the whole dialogue, gets a thread that
 * runs stm_delegate_run() with a copy of the context without progress,
 * and the calling thread waits for those on a condition variable, sending
 * the progress reports itself. Every protocol's I/O has its deadlines, so
 * every service ends by its own timeout (a scan's elapsed_ms runs until it
 * was collected).
 *
 * Protocol-agnostic: the service's protocol picks its operations
 * (service.h, service.c); this file starts the scan, collects it within the
 * service's timeout, logs one line about it and releases it. The SMTP/LMTP
 * specifics (ticket, header block, reply, waiting for the copy) are in
 * smtp/scanner.c.
 *
 * Ownership: OUT owns what is put in it (reply text, returned message).
 *
 * Errors: every failure of the scanner is a result (FAILED with the reason
 * in out->reply); -1 only when nothing could be attempted.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delegate/delegate.h"
#include "delegate/service.h"
#include "stagemilter/text.h"
#include "stagemilter/clock.h"

/* What the scanner said beyond the result (scan_result.h), on one line:
 * virus= spam= score= required= action= symbols= (the first ones). */
static void
dg_log_facts(const stm_delegate_ctx *ctx, const char *id, const stm_service *svc,
             const stm_scan_result *r)
{
    char line[1000];
    size_t n = 0;

    if (!stm_scan_result_known(r) && r->nadd == 0 && r->nremove == 0)
        return;
#define DG_ADD(...)                                                                                \
    do {                                                                                           \
        if (n < sizeof line)                                                                       \
            n += (size_t)snprintf(line + n, sizeof line - n, __VA_ARGS__);                         \
    } while (0)
    DG_ADD("id=%s delegate service=%s", id, svc->name);
    if (r->virus != NULL)
        DG_ADD(" virus=\"%.200s\"", r->virus);
    if (r->has_spam)
        DG_ADD(" spam=%s", r->spam ? "true" : "false");
    if (r->has_score)
        DG_ADD(" score=%.2f required=%.2f", r->score, r->required);
    if (r->action != NULL)
        DG_ADD(" action=\"%.60s\"", r->action);
    if (r->nsymbols > 0) {
        DG_ADD(" symbols=");
        for (size_t i = 0; i < r->nsymbols && n < sizeof line - 80; i++)
            DG_ADD("%s%.60s", i ? "," : "", r->symbols[i]);
    }
    if (r->nadd > 0 || r->nremove > 0)
        DG_ADD(" headers_to_add=%zu headers_to_remove=%zu", r->nadd, r->nremove);
    if (r->dropped > 0)
        DG_ADD(" dropped=%zu", r->dropped);
#undef DG_ADD
    stm_delegate_log(ctx, "%s", line);
}

/* The one log line of a finished delegation, then the protocol's details. */
static void
dg_log_result(const stm_delegate_ctx *ctx, const char *id, const stm_service *svc,
              const stm_delegation *out, const stm_scan_facts *f)
{
    if (f->logged)
        return;
    stm_delegate_log(ctx,
                     "id=%s delegate service=%s target=%s tls=%s result=%s code=%d enhanced=%s "
                     "reply=\"%.200s\" returned_size=%zu elapsed_ms=%" PRIu64,
                     id, svc->name, f->target ? f->target : "-", f->tls ? "yes" : "no",
                     stm_delegation_result_name(out->result), out->reply_code,
                     out->enhanced[0] ? out->enhanced : "-", out->reply ? out->reply : "",
                     f->returned_size, out->elapsed_ms);
    for (size_t i = 0; i < f->nnotes; i++)
        stm_delegate_log(ctx, "id=%s delegate service=%s %s", id, svc->name, f->notes[i]);
    dg_log_facts(ctx, id, svc, &out->scan);
}

/* One delegation in its phases: begun (the scan started), collected,
 * ended (logged and released). stm_delegate_run() goes through the three
 * at once; stm_delegate_run_many() starts scans whose protocol waits only
 * in collect() one after the other, then collects them. */
typedef struct dg_one {
    stm_delegate_ctx *ctx;
    stm_session *s;
    const stm_service *svc;
    stm_delegation *out;
    const stm_service_ops *ops;
    const char *id;
    stm_scan *scan;
    stm_scan_facts facts;
    uint64_t t0;
    int rc; /* -1 until collected */
} dg_one;

/* Reset OUT and start the scan of SVC's protocol. 0 when collect may
 * follow; -1 when nothing was attempted (logged). */
static int
dg_begin(dg_one *d, stm_delegate_ctx *ctx, stm_session *s, const stm_service *svc,
         stm_delegation *out)
{
    *d = (dg_one){.ctx = ctx, .s = s, .svc = svc, .out = out, .rc = -1, .t0 = stm_clock_ms()};
    /* The queue id once the MTA gave it, as on the daemon's other lines. */
    d->id = stm_session_queue_id(s) ? stm_session_queue_id(s)
            : stm_session_id(s)     ? stm_session_id(s)
                                    : "-";
    d->ops = stm_service_ops_for(svc->protocol);
    free(out->reply);
    out->reply = NULL;
    stm_message_clear(&out->returned);
    out->result = STM_DELEGATION_FAILED;
    out->reply_code = 0;
    out->enhanced[0] = '\0';
    if (stm_session_message(s)->truncated) {
        stm_delegate_log(ctx,
                         "id=%s delegate service=%s: message larger than max_message_size, "
                         "not delegated",
                         d->id, svc->name);
        return -1;
    }
    if (d->ops == NULL) {
        stm_delegate_log(ctx, "id=%s delegate service=%s: no implementation of its protocol",
                         d->id, svc->name);
        return -1;
    }
    stm_scan_request req = {.ctx = ctx, .session = s, .service = svc, .id = d->id};
    return d->ops->start(&req, &d->scan);
}

/* Collect the begun scan within the service's timeout and log it. */
static void
dg_collect(dg_one *d)
{
    if (d->ops->collect(d->scan, d->t0 + d->svc->timeout_ms, d->out, &d->facts) != 0)
        return;
    d->out->elapsed_ms = stm_clock_ms() - d->t0;
    dg_log_result(d->ctx, d->id, d->svc, d->out, &d->facts);
    d->rc = 0;
}

/* Release the scan; the delegation's 0 or -1. */
static int
dg_end(dg_one *d)
{
    if (d->rc != 0)
        d->out->elapsed_ms = stm_clock_ms() - d->t0;
    if (d->ops != NULL)
        d->ops->release(d->scan);
    return d->rc;
}

/* Delegate the session's message to SVC and fill OUT: start the scan of
 * its protocol, collect it within the service's timeout, release it. */
int
stm_delegate_run(stm_delegate_ctx *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    dg_one d;
    if (dg_begin(&d, ctx, s, svc, out) == 0)
        dg_collect(&d);
    return dg_end(&d);
}

/* What the result of SVC brings to MINE, through its protocol (delegate.h). */
long
stm_delegate_edits(const stm_service *svc, const stm_message *mine, const stm_delegation *d,
                   stm_header_edit **edits)
{
    const stm_service_ops *ops = stm_service_ops_for(svc->protocol);

    *edits = NULL;
    if (ops == NULL || ops->apply == NULL)
        return 0;
    return ops->apply(mine, d, svc->apply == STM_APPLY_MESSAGE, edits);
}

/* One service of stm_delegate_run_many(). */
typedef struct dg_job {
    struct dg_group *group;
    stm_delegate_ctx ctx; /* the caller's, without progress */
    stm_session *s;
    const stm_service *svc;
    stm_delegation *out;
    int rc;
    pthread_t thread;
    bool started;
} dg_job;

/* What the jobs of one call share. */
typedef struct dg_group {
    pthread_mutex_t lock; /* guards left */
    pthread_cond_t done;  /* signalled when a job ends */
    size_t left;          /* jobs still running */
} dg_group;

/* A job's thread: the delegation, then tell the waiting thread. */
static void *
dg_job_run(void *arg)
{
    dg_job *job = arg;
    job->rc = stm_delegate_run(&job->ctx, job->s, job->svc, job->out);
    pthread_mutex_lock(&job->group->lock);
    job->group->left--;
    pthread_cond_signal(&job->group->done);
    pthread_mutex_unlock(&job->group->lock);
    return NULL;
}

/* Several services at the same time (delegate.h). */
int
stm_delegate_run_many(stm_delegate_ctx *ctx, stm_session *s, const stm_service *const *svcs,
                      stm_delegation *const *outs, size_t n)
{
    uint64_t t0 = stm_clock_ms();
    uint64_t interval = ctx->progress_interval_ms ? ctx->progress_interval_ms : 10000;
    dg_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    dg_group group = {.left = 0};
    int failed = 0;

    if (jobs == NULL)
        return -1;
    pthread_mutex_init(&group.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&group.done, &ca);
    pthread_condattr_destroy(&ca);
    /* Scanners that wait only in collect() need no thread: after the
     * threads of the others are off, start them all here (each has the
     * whole request once its start() returns), then collect them in turn
     * while they scan at the same time. */
    dg_one *here = calloc(n ? n : 1, sizeof *here);
    bool *native = calloc(n ? n : 1, sizeof *native);
    bool *begun = calloc(n ? n : 1, sizeof *begun);
    if (here == NULL || native == NULL || begun == NULL) {
        free(here);
        free(native);
        free(begun);
        free(jobs);
        pthread_cond_destroy(&group.done);
        pthread_mutex_destroy(&group.lock);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const stm_service_ops *ops = stm_service_ops_for(svcs[i]->protocol);
        native[i] = ops != NULL && ops->waits_in_collect;
    }
    for (size_t i = 0; i < n; i++) {
        if (native[i])
            continue;
        jobs[i] = (dg_job){.group = &group, .ctx = *ctx, .s = s, .svc = svcs[i], .out = outs[i]};
        jobs[i].ctx.progress = NULL;
        pthread_mutex_lock(&group.lock);
        group.left++;
        pthread_mutex_unlock(&group.lock);
        if (pthread_create(&jobs[i].thread, NULL, dg_job_run, &jobs[i]) == 0) {
            jobs[i].started = true;
        } else {
            /* No thread: run it here (the others go on meanwhile). */
            jobs[i].ctx.progress = ctx->progress;
            dg_job_run(&jobs[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (native[i])
            begun[i] = dg_begin(&here[i], ctx, s, svcs[i], outs[i]) == 0;
    for (size_t i = 0; i < n; i++) {
        if (!native[i])
            continue;
        if (begun[i])
            dg_collect(&here[i]);
        jobs[i].rc = dg_end(&here[i]);
    }
    /* Wait for all, keeping the MTA waiting. */
    pthread_mutex_lock(&group.lock);
    uint64_t next = stm_clock_ms() + interval;
    while (group.left > 0) {
        struct timespec now, until;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t wait = next > stm_clock_ms() ? next - stm_clock_ms() : 0;
        until.tv_sec = now.tv_sec + (time_t)(wait / 1000);
        until.tv_nsec = now.tv_nsec + (long)(wait % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&group.done, &group.lock, &until);
        if (rc == ETIMEDOUT || stm_clock_ms() >= next) {
            pthread_mutex_unlock(&group.lock);
            if (ctx->progress != NULL)
                ctx->progress(ctx->progress_arg);
            next = stm_clock_ms() + interval;
            pthread_mutex_lock(&group.lock);
        }
    }
    pthread_mutex_unlock(&group.lock);
    char names[400];
    size_t used = 0;
    names[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].started)
            pthread_join(jobs[i].thread, NULL);
        if (jobs[i].rc != 0) {
            failed++;
            outs[i]->result = STM_DELEGATION_FAILED;
        }
        if (used < sizeof names)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s=%s/%" PRIu64,
                                     i ? "," : "", svcs[i]->name,
                                     stm_delegation_result_name(outs[i]->result),
                                     outs[i]->elapsed_ms);
    }
    pthread_cond_destroy(&group.done);
    pthread_mutex_destroy(&group.lock);
    free(jobs);
    free(here);
    free(native);
    free(begun);
    const char *id = stm_session_queue_id(s) ? stm_session_queue_id(s)
                     : stm_session_id(s)     ? stm_session_id(s)
                                             : "-";
    stm_delegate_log(ctx, "id=%s delegate parallel services=%s elapsed_ms=%" PRIu64, id, names,
                     stm_clock_ms() - t0);
    return failed == (int)n && n > 0 ? -1 : 0;
}

/* The engine hook: CTX is an stm_delegate_ctx. */
int
stm_delegate_hook(void *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    return stm_delegate_run(ctx, s, svc, out);
}
