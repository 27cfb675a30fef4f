/*
 * quarantine_lmtp.c - milter.quarantine: lmtp and lmtp+hold: a quarantined
 * message delivered over LMTP into a mailbox of a mailbox server
 * (quarantine_lmtp.h), so every MTA host's quarantine lands in one place
 * administrators read with any IMAP client.
 *
 * Functions: stm_quarantine_lmtp.
 *
 * The copy is the one the Maildir store would write (store/quarantine.c:
 * X-Original-To for each recipient, X-Stagemilter-Quarantine, the message
 * with the changes effects asked for), without Return-Path (the server
 * adds its own from MAIL FROM, the message's sender). It goes through the
 * delegation's SMTP/LMTP client (delegate/smtp/: targets in order, TLS,
 * AUTH and the deadlines of milter.quarantine_lmtp) to one recipient,
 * milter.quarantine_lmtp.rcpt with ${queue} replaced by the queue.
 *
 * Errors: anything short of the server's 2xx for that recipient after the
 * data (no target, TLS, AUTH, a refusal, a timeout) returns -1 with the
 * reason; the caller then answers tempfail, so the client keeps the
 * message and retries: nothing is lost, nothing delivered.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delegate/smtp/smtp_client.h"
#include "mta/quarantine_lmtp.h"
#include "report/log.h"
#include "store/quarantine.h"

/* RCPT with ${queue} replaced by QUEUE and $$ by $. Caller frees. */
static char *
qlmtp_rcpt(const char *rcpt, const char *queue)
{
    size_t cap = strlen(rcpt) + 1, qn = strlen(queue);
    for (const char *p = rcpt; (p = strstr(p, "${queue}")) != NULL; p += 8)
        cap += qn;
    char *out = malloc(cap), *o = out;
    if (out == NULL)
        return NULL;
    for (const char *p = rcpt; *p;) {
        if (strncmp(p, "${queue}", 8) == 0) {
            memcpy(o, queue, qn);
            o += qn;
            p += 8;
        } else if (p[0] == '$' && p[1] == '$') {
            *o++ = '$';
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* The delegation client's event lines, into the log. */
static void
qlmtp_log(void *arg, const char *line)
{
    stm_log(LOG_INFO, "id=%s quarantine lmtp %s", (const char *)arg, line);
}

/* Deliver the quarantined message of S (quarantine_lmtp.h). */
int
stm_quarantine_lmtp(const stm_milter_config *mc, stm_session *s, const stm_verdict *v,
                    const char *helo, void (*progress)(void *), void *progress_arg, char *info,
                    size_t infolen, char *err, size_t errlen)
{
    char *data = NULL, *sender = NULL, *rcpt = NULL;
    size_t len = 0;
    int rc = -1;
    stm_smtp_result res;
    memset(&res, 0, sizeof res);

    if (mc->quarantine_lmtp == NULL || mc->quarantine_lmtp_rcpt == NULL) {
        snprintf(err, errlen, "milter.quarantine_lmtp is not set");
        return -1;
    }
    if (stm_quarantine_render(s, v, &data, &len, &sender, err, errlen) != 0)
        return -1;
    if ((rcpt = qlmtp_rcpt(mc->quarantine_lmtp_rcpt, v->queue)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    const char *rcpts[1] = {rcpt};
    stm_smtp_piece pieces[2] = {{data, len, NULL},
                                stm_smtp_piece_body(stm_session_message(s))};
    stm_smtp_request req = {
        .service = mc->quarantine_lmtp,
        .helo_name = helo,
        .sender = sender,
        .rcpts = rcpts,
        .nrcpts = 1,
        .pieces = pieces,
        .npieces = 2,
        .reuse = false,
        .progress = progress,
        .progress_arg = progress_arg,
        .log = qlmtp_log,
        .log_arg = (void *)stm_log_id(s),
        .transcript = stm_log_verbose(),
    };
    if (stm_smtp_send(&req, &res) != 0) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    bool accepted = res.status == STM_SMTP_ACCEPTED && res.nrcpts == 1 && res.rcpts[0].accepted;
    char a[STM_LOG_PEER_MAX + 1];
    if (!accepted) {
        const stm_smtp_reply *r = res.nrcpts == 1 && res.rcpts[0].reply.code != 0
                                      ? &res.rcpts[0].reply
                                      : &res.reply;
        snprintf(err, errlen, "%s code=%d reply=\"%s\" target=%s",
                 res.status == STM_SMTP_FAILED ? "failed" : "refused", r->code,
                 stm_log_clean(a, sizeof a, res.error ? res.error : r->text ? r->text : ""),
                 res.target ? res.target : "-");
        goto done;
    }
    char b[STM_LOG_PEER_MAX + 1];
    snprintf(info, infolen, "rcpt=<%s> target=%s tls=%s reply=\"%s %s\"",
             stm_log_clean(b, sizeof b, rcpt), res.target ? res.target : "-",
             res.tls ? "yes" : "no", res.rcpts[0].reply.enhanced,
             stm_log_clean(a, sizeof a, res.rcpts[0].reply.text ? res.rcpts[0].reply.text : ""));
    rc = 0;
done:
    stm_smtp_result_clear(&res);
    free(data);
    free(sender);
    free(rcpt);
    return rc;
}
