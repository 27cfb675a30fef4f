/*
 * scanner.c - SMTP and LMTP scanners (clamsmtpd, spampd, amavisd-new as a
 * proxy) behind the service interface (service.h): send the message with a
 * ticket header, then wait for the copy to come back through the receiver.
 *
 * Functions: stm_smtp_scanner_ops (start, collect, release, apply).
 *
 * start(): open a ticket; build the header block (ticket header first, then
 * the session's headers as "Name: value"); send it with the body through
 * stm_smtp_send() (protocol.c), which blocks until the scanner's final reply
 * and calls the progress callback meanwhile. collect(): classify the reply;
 * after a 2xx wait on the ticket (the drop grace after the final reply,
 * never beyond the deadline); parse the copy into out->returned. release():
 * close the ticket (a late copy is then refused by the receiver).
 *
 * Ownership: the scan owns its ticket, header block and SMTP result; OUT
 * owns what collect() puts in it.
 *
 * Errors: every failure of the scanner is a result (FAILED with the reason
 * in out->reply); start() is -1 only when nothing could be attempted.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delegate/service.h"
#include "delegate/smtp/smtp_client.h"
#include "delegate/ticket.h"
#include "stagemilter/clock.h"

struct stm_scan {
    stm_scan_request req;
    stm_ticket *ticket;
    stm_smtp_result res;
    bool sent;        /* stm_smtp_send() ran: res holds its result */
    const char *none; /* nothing sent: why (FAILED with this text) */
    stm_ticket_delivery got;
    char **notes; /* refused recipients, for the log */
    size_t nnotes;
};

/* Append "NAME: VALUE\r\n" (VALUE as stored) to the growing buffer, or the
 * empty line that ends the header when NAME is NULL. 0 or -1. */
static int
scanner_append_header(char **buf, size_t *len, size_t *cap, const char *name, const char *value)
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

/* The header block to send: the ticket header, then the message's. The
 * block (caller frees) or NULL; its length in *LEN. */
static char *
scanner_head(const stm_message *msg, const stm_ticket *ticket, size_t *len)
{
    char *head = NULL;
    size_t cap = 0;

    *len = 0;
    if (scanner_append_header(&head, len, &cap, STM_TICKET_HEADER, stm_ticket_token(ticket)) != 0)
        goto fail;
    for (size_t i = 0; i < msg->nheaders; i++)
        if (scanner_append_header(&head, len, &cap, msg->headers[i].name,
                                  msg->headers[i].value ? msg->headers[i].value : "") != 0)
            goto fail;
    if (scanner_append_header(&head, len, &cap, NULL, NULL) != 0)
        goto fail;
    return head;
fail:
    free(head);
    return NULL;
}

/* Send the message over SMTP/LMTP; SCAN->res says how it went. 0 or -1. */
static int
scanner_send(stm_scan *scan, const char **rcpts, size_t nrcpts)
{
    const stm_delegate_ctx *ctx = scan->req.ctx;
    stm_session *s = scan->req.session;
    stm_message *msg = stm_session_message(s);
    size_t hlen = 0;
    char *head = scanner_head(msg, scan->ticket, &hlen);

    if (head == NULL)
        return -1;
    stm_smtp_piece pieces[2] = {{head, hlen, NULL}, stm_smtp_piece_body(msg)};
    const char *sender = stm_session_sender(s);
    stm_smtp_request req = {
        .service = scan->req.service,
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
    int rc = stm_smtp_send(&req, &scan->res);
    scan->sent = true;
    free(head);
    return rc;
}

/* start(): a ticket, then the dialogue (blocking, with progress). */
static int
scanner_start(const stm_scan_request *req, stm_scan **out)
{
    stm_session *s = req->session;
    size_t nrcpts = stm_session_rcpt_count(s);
    stm_scan *scan = calloc(1, sizeof *scan);
    const char **rcpts = calloc(nrcpts ? nrcpts : 1, sizeof *rcpts);
    int rc = -1;

    *out = NULL;
    if (scan == NULL || rcpts == NULL)
        goto done;
    scan->req = *req;
    for (size_t i = 0; i < nrcpts; i++)
        rcpts[i] = stm_session_rcpt_at(s, i);
    if (nrcpts == 0) {
        scan->none = "no accepted recipient to delegate for";
        stm_delegate_log(req->ctx, "id=%s delegate service=%s result=failed: no accepted recipient",
                         req->id, req->service->name);
        rc = 0;
        goto done;
    }
    scan->ticket = stm_ticket_open(req->ctx->tickets);
    if (scan->ticket == NULL) {
        stm_delegate_log(req->ctx, "id=%s delegate service=%s: cannot open a ticket", req->id,
                         req->service->name);
        goto done;
    }
    if (scanner_send(scan, rcpts, nrcpts) != 0)
        goto done;
    rc = 0;
done:
    free(rcpts);
    if (rc == 0) {
        *out = scan;
        scan = NULL;
    }
    if (scan != NULL) {
        stm_smtp_result_clear(&scan->res);
        stm_ticket_close(scan->ticket);
        free(scan);
    }
    return rc;
}

/* Put the scanner's reply (or, failing that, ERROR) into OUT. 0 or -1. */
static int
scanner_set_reply(stm_delegation *out, const stm_smtp_reply *r, const char *error)
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

/* Wait for the copy as the reply allows; true when it came back. */
static bool
scanner_wait(stm_scan *scan, uint64_t deadline, stm_delegation *out)
{
    const stm_delegate_ctx *ctx = scan->req.ctx;
    /* The context's grace (tools) overrides the service's drop_grace. */
    uint64_t grace = ctx->drop_grace_ms ? ctx->drop_grace_ms : scan->req.service->drop_grace_ms;
    bool returned = false;

    if (scan->res.status == STM_SMTP_ACCEPTED) {
        uint64_t until =
            scan->res.final_ms + grace < deadline ? scan->res.final_ms + grace : deadline;
        returned = stm_ticket_wait(scan->ticket, until, ctx->progress, ctx->progress_arg,
                                   ctx->progress_interval_ms, &scan->got);
        out->result = returned ? STM_DELEGATION_RETURNED : STM_DELEGATION_DROPPED;
    } else if (scan->res.status == STM_SMTP_REJECTED) {
        out->result = STM_DELEGATION_REJECTED;
    } else {
        /* The dialogue broke after the data: the copy may still be there. */
        if (scan->res.data_sent)
            returned = stm_ticket_wait(scan->ticket, 0, NULL, NULL, 0, &scan->got);
        out->result = returned ? STM_DELEGATION_RETURNED : STM_DELEGATION_FAILED;
    }
    return returned;
}

/* The refused recipients as log notes. 0 or -1. */
static int
scanner_notes(stm_scan *scan)
{
    const stm_smtp_result *res = &scan->res;

    scan->notes = calloc(res->nrcpts ? res->nrcpts : 1, sizeof *scan->notes);
    if (scan->notes == NULL)
        return -1;
    for (size_t i = 0; i < res->nrcpts; i++) {
        if (res->rcpts[i].accepted || res->rcpts[i].reply.code == 0)
            continue;
        char line[600];
        snprintf(line, sizeof line, "rcpt=<%s> refused code=%d reply=\"%.200s\"",
                 res->rcpts[i].rcpt, res->rcpts[i].reply.code,
                 res->rcpts[i].reply.text ? res->rcpts[i].reply.text : "");
        if ((scan->notes[scan->nnotes] = strdup(line)) == NULL)
            return -1;
        scan->nnotes++;
    }
    return 0;
}

/* collect(): classify, wait for the copy, parse it. */
static int
scanner_collect(stm_scan *scan, uint64_t deadline, stm_delegation *out, stm_scan_facts *facts)
{
    stm_smtp_reply none = {0};

    memset(facts, 0, sizeof *facts);
    if (!scan->sent) {
        facts->logged = true;
        return scanner_set_reply(out, &none, scan->none);
    }
    bool returned = scanner_wait(scan, deadline, out);
    if (scanner_set_reply(out, &scan->res.reply, scan->res.error) != 0)
        return -1;
    if (returned) {
        const char *perr = NULL;
        if (stm_message_parse(&out->returned, scan->got.data, scan->got.len, &perr) != 0) {
            stm_message_clear(&out->returned);
            out->result = STM_DELEGATION_FAILED;
            char text[200];
            snprintf(text, sizeof text, "the returned copy cannot be parsed: %s",
                     perr ? perr : "?");
            if (scanner_set_reply(out, &none, text) != 0)
                return -1;
        } else {
            /* Our ticket inside the body (a report wrapping the original)
             * never reaches the MTA's copy. */
            out->returned.body_len =
                stm_ticket_strip_lines(out->returned.body, out->returned.body_len);
        }
    }
    if (out->result == STM_DELEGATION_RETURNED) {
        /* A scanner that names what it found (clamsmtpd with Action: pass,
         * amavisd-new): the virus: condition sees it. */
        const stm_header *vh = stm_message_find_header(&out->returned, "X-Virus-Infected");
        if (vh != NULL && vh->value != NULL) {
            const char *v = vh->value;
            while (*v == ' ' || *v == '\t')
                v++;
            if (stm_scan_result_set_virus(&out->scan, v, strlen(v)) != 0)
                return -1;
        }
    }
    if (scanner_notes(scan) != 0)
        return -1;
    facts->target = scan->res.target;
    facts->tls = scan->res.tls;
    facts->returned_size = returned ? scan->got.len : 0;
    facts->notes = (const char *const *)scan->notes;
    facts->nnotes = scan->nnotes;
    return 0;
}

/* release(): the ticket closes, so a late copy is refused. */
static void
scanner_release(stm_scan *scan)
{
    if (scan == NULL)
        return;
    stm_ticket_delivery_clear(&scan->got);
    stm_smtp_result_clear(&scan->res);
    stm_ticket_close(scan->ticket);
    for (size_t i = 0; i < scan->nnotes; i++)
        free(scan->notes[i]);
    free(scan->notes);
    free(scan);
}

/* apply(): the returned copy's headers (and with apply: message, the
 * deletions) onto the MTA's copy. */
static long
scanner_apply(const stm_message *mine, const stm_delegation *d, bool whole, stm_header_edit **edits)
{
    return stm_delegate_header_edits(mine, &d->returned, whole, edits);
}

const stm_service_ops stm_smtp_scanner_ops = {
    .name = "smtp/lmtp",
    .start = scanner_start,
    .collect = scanner_collect,
    .release = scanner_release,
    .apply = scanner_apply,
};
