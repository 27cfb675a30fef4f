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
