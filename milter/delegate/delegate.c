/*
 * delegate.c - delegate a session's message to a scanner and wait for the
 * copy that comes back (delegate.h).
 *
 * Functions: stm_delegate_run, stm_delegate_hook, stm_delegate_header_edits.
 *
 * Steps: open a ticket; build the header block (ticket header first, then
 * the session's headers as "Name: value"); let smtp_client send it with the
 * body; classify the reply; wait on the ticket (drop grace after a 2xx,
 * bounded by the service's timeout); parse the copy into out->returned;
 * close the ticket (a late copy is then refused by the receiver).
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
#include "delegate/smtp/smtp_client.h"
#include "stagemilter/text.h"
#include "stagemilter/clock.h"

/* Log one formatted line through the context's callback. */
static void __attribute__((format(printf, 2, 3)))
dg_log(const stm_delegate_ctx *ctx, const char *fmt, ...)
{
    char line[1200];
    va_list ap;

    if (ctx->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    stm_text_clean_inplace(line, 0);
    ctx->log(ctx->log_arg, line);
}

/* Append "NAME: VALUE\r\n" (VALUE as stored) to the growing buffer, or the
 * empty line that ends the header when NAME is NULL. 0 or -1. */
static int
dg_append_header(char **buf, size_t *len, size_t *cap, const char *name, const char *value)
{
    size_t nl = name ? strlen(name) : 0, vl = name ? strlen(value) : 0;
    size_t need = *len + nl + vl + 5;
    if (need > *cap) {
        size_t ncap = *cap ? *cap : 4096;
        while (ncap < need)
            ncap *= 2;
        char *n = realloc(*buf, ncap);
        if (n == NULL)
            return -1;
        *buf = n;
        *cap = ncap;
    }
    if (name == NULL) {
        (*buf)[(*len)++] = '\r';
        (*buf)[(*len)++] = '\n';
        return 0;
    }
    memcpy(*buf + *len, name, nl);
    *len += nl;
    (*buf)[(*len)++] = ':';
    /* Values are kept without the space after the colon (as libmilter
     * hands them); one that starts with white space is written as is. */
    if (vl == 0 || (value[0] != ' ' && value[0] != '\t'))
        (*buf)[(*len)++] = ' ';
    memcpy(*buf + *len, value, vl);
    *len += vl;
    (*buf)[(*len)++] = '\r';
    (*buf)[(*len)++] = '\n';
    return 0;
}

/* Put the scanner's reply (or, failing that, ERROR) into OUT. 0 or -1. */
static int
dg_set_reply(stm_delegation *out, const stm_smtp_reply *r, const char *error)
{
    free(out->reply);
    out->reply = NULL;
    out->reply_code = r->code;
    snprintf(out->enhanced, sizeof out->enhanced, "%s", r->enhanced);
    const char *text = r->code != 0 && r->text != NULL ? r->text : error;
    if (text != NULL && (out->reply = strdup(text)) == NULL)
        return -1;
    return 0;
}

/* Delegate the session's message to SVC and fill OUT. */
int
stm_delegate_run(stm_delegate_ctx *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    uint64_t t0 = stm_clock_ms();
    /* The queue id once the MTA gave it, as on the daemon's other lines. */
    const char *id = stm_session_queue_id(s) ? stm_session_queue_id(s)
                     : stm_session_id(s)     ? stm_session_id(s)
                                            : "-";
    stm_message *msg = stm_session_message(s);
    stm_ticket *ticket = NULL;
    stm_smtp_result res = {0};
    stm_ticket_delivery got = {0};
    char *head = NULL;
    size_t hlen = 0, hcap = 0;
    const char **rcpts = NULL;
    int rc = -1;

    free(out->reply);
    out->reply = NULL;
    stm_message_clear(&out->returned);
    out->result = STM_DELEGATION_FAILED;
    out->reply_code = 0;
    out->enhanced[0] = '\0';
    if (msg->truncated) {
        dg_log(ctx,
               "id=%s delegate service=%s: message larger than max_message_size, "
               "not delegated",
               id, svc->name);
        goto done;
    }
    size_t nrcpts = stm_session_rcpt_count(s);
    rcpts = calloc(nrcpts ? nrcpts : 1, sizeof *rcpts);
    if (rcpts == NULL)
        goto done;
    for (size_t i = 0; i < nrcpts; i++)
        rcpts[i] = stm_session_rcpt_at(s, i);
    if (nrcpts == 0) {
        stm_smtp_reply none = {0};
        if (dg_set_reply(out, &none, "no accepted recipient to delegate for") != 0)
            goto done;
        dg_log(ctx, "id=%s delegate service=%s result=failed: no accepted recipient", id,
               svc->name);
        rc = 0;
        goto done;
    }
    ticket = stm_ticket_open(ctx->tickets);
    if (ticket == NULL) {
        dg_log(ctx, "id=%s delegate service=%s: cannot open a ticket", id, svc->name);
        goto done;
    }
    if (dg_append_header(&head, &hlen, &hcap, STM_TICKET_HEADER, stm_ticket_token(ticket)) != 0)
        goto done;
    for (size_t i = 0; i < msg->nheaders; i++)
        if (dg_append_header(&head, &hlen, &hcap, msg->headers[i].name,
                             msg->headers[i].value ? msg->headers[i].value : "") != 0)
            goto done;
    if (dg_append_header(&head, &hlen, &hcap, NULL, NULL) != 0)
        goto done;

    stm_smtp_piece pieces[2] = {{head, hlen}, {msg->body ? msg->body : "", msg->body_len}};
    const char *sender = stm_session_sender(s);
    stm_smtp_request req = {
        .service = svc,
        .helo_name = ctx->helo_name,
        .sender = sender ? sender : "",
        .rcpts = rcpts,
        .nrcpts = nrcpts,
        .pieces = pieces,
        .npieces = 2,
        .auth_forward = stm_session_macro(s, "auth_authen"),
        .reuse = ctx->reuse_connections,
        .progress = ctx->progress,
        .progress_arg = ctx->progress_arg,
        .progress_interval_ms = ctx->progress_interval_ms,
        .log = ctx->log,
        .log_arg = ctx->log_arg,
        .transcript = ctx->transcript,
    };
    if (stm_smtp_send(&req, &res) != 0)
        goto done;

    uint64_t grace = ctx->drop_grace_ms ? ctx->drop_grace_ms : 2000;
    uint64_t limit = t0 + svc->timeout_ms;
    bool returned = false;
    if (res.status == STM_SMTP_ACCEPTED) {
        uint64_t until = res.final_ms + grace < limit ? res.final_ms + grace : limit;
        returned = stm_ticket_wait(ticket, until, ctx->progress, ctx->progress_arg,
                                  ctx->progress_interval_ms, &got);
        out->result = returned ? STM_DELEGATION_RETURNED : STM_DELEGATION_DROPPED;
    } else if (res.status == STM_SMTP_REJECTED) {
        out->result = STM_DELEGATION_REJECTED;
    } else {
        /* The dialogue broke after the data: the copy may still be there. */
        if (res.data_sent)
            returned = stm_ticket_wait(ticket, 0, NULL, NULL, 0, &got);
        out->result = returned ? STM_DELEGATION_RETURNED : STM_DELEGATION_FAILED;
    }
    if (dg_set_reply(out, &res.reply, res.error) != 0)
        goto done;
    if (returned) {
        const char *perr = NULL;
        if (stm_message_parse(&out->returned, got.data, got.len, &perr) != 0) {
            stm_message_clear(&out->returned);
            out->result = STM_DELEGATION_FAILED;
            char text[200];
            snprintf(text, sizeof text, "the returned copy cannot be parsed: %s",
                     perr ? perr : "?");
            stm_smtp_reply none = {0};
            if (dg_set_reply(out, &none, text) != 0)
                goto done;
        }
    }
    out->elapsed_ms = stm_clock_ms() - t0;
    dg_log(ctx,
           "id=%s delegate service=%s target=%s tls=%s result=%s code=%d enhanced=%s "
           "reply=\"%.200s\" returned_size=%zu elapsed_ms=%" PRIu64,
           id, svc->name, res.target ? res.target : "-", res.tls ? "yes" : "no",
           stm_delegation_result_name(out->result), out->reply_code,
           out->enhanced[0] ? out->enhanced : "-", out->reply ? out->reply : "",
           returned ? got.len : (size_t)0, out->elapsed_ms);
    for (size_t i = 0; i < res.nrcpts; i++)
        if (!res.rcpts[i].accepted && res.rcpts[i].reply.code != 0)
            dg_log(ctx, "id=%s delegate service=%s rcpt=<%s> refused code=%d reply=\"%.200s\"", id,
                   svc->name, res.rcpts[i].rcpt, res.rcpts[i].reply.code,
                   res.rcpts[i].reply.text ? res.rcpts[i].reply.text : "");
    rc = 0;

done:
    if (rc != 0)
        out->elapsed_ms = stm_clock_ms() - t0;
    stm_ticket_delivery_clear(&got);
    stm_smtp_result_clear(&res);
    stm_ticket_close(ticket);
    free(head);
    free(rcpts);
    return rc;
}

/* The engine hook: CTX is an stm_delegate_ctx. */
int
stm_delegate_hook(void *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    return stm_delegate_run(ctx, s, svc, out);
}

/* Do two header values say the same, whatever their white space and
 * folding (CR, LF, tabs, runs of spaces)? */
static bool
dg_value_equal(const char *a, const char *b)
{
    for (;;) {
        bool wa = false, wb = false;
        while (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n')
            a++, wa = true;
        while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
            b++, wb = true;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        if (wa != wb || *a != *b)
            return false;
        a++, b++;
    }
}

/* A returned header that never reaches the MTA's copy (see delegate.h). */
static bool
dg_edit_skip(const char *name, bool whole)
{
    if (strcasecmp(name, STM_TICKET_HEADER) == 0)
        return true;
    return !whole &&
           (strncasecmp(name, "Content-", 8) == 0 || strcasecmp(name, "MIME-Version") == 0);
}

/* 1-based index of header I of MSG among the headers of its name. */
static int
dg_header_index(const stm_message *msg, size_t i)
{
    int n = 0;
    for (size_t j = 0; j <= i; j++)
        if (strcasecmp(msg->headers[j].name, msg->headers[i].name) == 0)
            n++;
    return n;
}

/* The header edits from MINE to GOT (delegate.h). */
long
stm_delegate_header_edits(const stm_message *mine, const stm_message *got, bool whole,
                         stm_header_edit **edits)
{
    size_t nm = mine->nheaders, ng = got->nheaders;
    long *pair = calloc(nm + 1, sizeof *pair); /* ours: -1 kept, g+1 changed to g, 0 none */
    bool *used = calloc(ng + 1, sizeof *used); /* returned: matched or skipped */
    stm_header_edit *e = calloc(nm + ng + 1, sizeof *e);
    long n = -1;

    *edits = NULL;
    if (pair == NULL || used == NULL || e == NULL)
        goto done;
    /* Unchanged headers: equal name and value. */
    for (size_t g = 0; g < ng; g++) {
        if (dg_edit_skip(got->headers[g].name, whole)) {
            used[g] = true;
            continue;
        }
        for (size_t m = 0; m < nm && !used[g]; m++)
            if (pair[m] == 0 && strcasecmp(mine->headers[m].name, got->headers[g].name) == 0 &&
                dg_value_equal(mine->headers[m].value, got->headers[g].value)) {
                pair[m] = -1;
                used[g] = true;
            }
    }
    /* Changed values: a returned header takes an unmatched one of ours. */
    for (size_t g = 0; g < ng; g++)
        for (size_t m = 0; m < nm && !used[g]; m++)
            if (pair[m] == 0 && strcasecmp(mine->headers[m].name, got->headers[g].name) == 0) {
                pair[m] = (long)g + 1;
                used[g] = true;
            }
    n = 0;
    for (size_t m = nm; m-- > 0;) {
        if (pair[m] > 0)
            e[n++] = (stm_header_edit){STM_HEADER_CHANGE, mine->headers[m].name,
                                      dg_header_index(mine, m), got->headers[pair[m] - 1].value};
        else if (pair[m] == 0 && whole && !dg_edit_skip(mine->headers[m].name, true))
            e[n++] = (stm_header_edit){STM_HEADER_DELETE, mine->headers[m].name,
                                      dg_header_index(mine, m), NULL};
    }
    for (size_t g = 0; g < ng; g++)
        if (!used[g])
            e[n++] =
                (stm_header_edit){STM_HEADER_ADD, got->headers[g].name, 0, got->headers[g].value};
    *edits = e;
    e = NULL;
done:
    free(e);
    free(pair);
    free(used);
    return n;
}
