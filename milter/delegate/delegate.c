/*
 * delegate.c - delegate a session's message to a scanner and wait for the
 * copy that comes back (delegate.h).
 *
 * Functions: stm_delegate_run, stm_delegate_hook, stm_delegate_edits.
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

#include <inttypes.h>
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

/* Delegate the session's message to SVC and fill OUT: start the scan of
 * its protocol, collect it within the service's timeout, release it. */
int
stm_delegate_run(stm_delegate_ctx *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    uint64_t t0 = stm_clock_ms();
    /* The queue id once the MTA gave it, as on the daemon's other lines. */
    const char *id = stm_session_queue_id(s) ? stm_session_queue_id(s)
                     : stm_session_id(s)     ? stm_session_id(s)
                                             : "-";
    const stm_service_ops *ops = stm_service_ops_for(svc->protocol);
    stm_scan *scan = NULL;
    stm_scan_facts facts = {0};
    int rc = -1;

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
                         id, svc->name);
        goto done;
    }
    if (ops == NULL) {
        stm_delegate_log(ctx, "id=%s delegate service=%s: no implementation of its protocol", id,
                         svc->name);
        goto done;
    }
    stm_scan_request req = {.ctx = ctx, .session = s, .service = svc, .id = id};
    if (ops->start(&req, &scan) != 0)
        goto done;
    if (ops->collect(scan, t0 + svc->timeout_ms, out, &facts) != 0)
        goto done;
    out->elapsed_ms = stm_clock_ms() - t0;
    dg_log_result(ctx, id, svc, out, &facts);
    rc = 0;

done:
    if (rc != 0)
        out->elapsed_ms = stm_clock_ms() - t0;
    if (ops != NULL)
        ops->release(scan);
    return rc;
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

/* The engine hook: CTX is an stm_delegate_ctx. */
int
stm_delegate_hook(void *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    return stm_delegate_run(ctx, s, svc, out);
}
