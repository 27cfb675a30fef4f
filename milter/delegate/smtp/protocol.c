/*
 * protocol.c - the SMTP/LMTP dialogue that sends one message to a service
 * (smtp_client.h): targets in order, one named step per phase.
 *
 * Functions: stm_smtp_send, stm_smtp_result_clear.
 *
 *   CONNECT -> GREETING -> HELLO (EHLO/LHLO) -> [STARTTLS -> HELLO again]
 *   -> [AUTH] -> MAIL -> RCPT... -> DATA -> BODY -> FINAL reply(s) -> QUIT
 *
 * Each step (pr_connect ... pr_quit) returns the next phase; how the
 * attempt ends so far is in s->outcome. The I/O is in io.c and tls.c,
 * replies in reply.c, the data in data.c, AUTH in auth.c, idle connections
 * in pool.c.
 *
 * Deadlines: connect_timeout for the TCP connection (and the handshake of
 * implicit TLS); command_timeout for the greeting, each command's reply, the
 * STARTTLS handshake and each chunk of the body; submission_timeout for the
 * final reply(s) after the ".".
 *
 * Targets are tried in order. A target that refuses, does not answer in
 * time, greets with something other than 220, or fails before MAIL FROM
 * (TLS, AUTH) is left for the next one. TLS is opportunistic unless
 * require_tls: a server that does not offer STARTTLS, or refuses it, gets
 * the message in clear. But once the server said 220 to STARTTLS, a failed
 * handshake (a certificate that does not verify above all) leaves the
 * target for the next one and is never retried in clear: that retry would
 * send the message and its ticket in clear to whoever broke the handshake,
 * and a server whose certificate was not verified is the very peer verify:
 * true refuses to trust. verify: false is how to encrypt without verifying.
 * Once MAIL FROM was accepted the target is kept: a 4xx/5xx then is
 * REJECTED; a timeout or protocol error before the final "." moves on to the
 * next target (nothing was delivered), after it is FAILED (the scanner may
 * hold the message: sending it twice would duplicate it).
 *
 * Reuse (stm_smtp_request.reuse, the daemon): after an accepted message a
 * plain-text connection is kept idle in pool.c instead of QUIT, and the next
 * message to the same service and target starts at MAIL FROM on it. Proxies
 * such as clamsmtpd then keep their own connection onward open too, which
 * saves two TCP connections, two greetings and two EHLOs per message. A
 * pooled connection found closed (or closed by the peer while we send MAIL
 * FROM, or answering 421) is replaced by a fresh one to the same target, so
 * reuse never turns into a failure.
 *
 * LMTP: one reply per accepted recipient after the data. The result is
 * ACCEPTED when at least one recipient got 2xx (each recipient's reply is in
 * res->rcpts), REJECTED when all were refused.
 *
 * Ownership: RES owns every string in it; stm_smtp_result_clear() frees them.
 *
 * Signals: OpenSSL writes with write(2), which raises SIGPIPE on a closed
 * connection; stm_smtp_send() blocks SIGPIPE in the calling thread while it
 * runs and discards one it caused, so callers need not ignore it.
 *
 * Errors: every failure becomes RES->status FAILED with RES->error saying
 * which target and phase; -1 only on memory exhaustion.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "delegate/smtp/session.h"
#include "stagemilter/clock.h"

/* Record the EHLO/LHLO capabilities from the last reply's lines. */
static void
pr_parse_caps(stm_smtp_session *s)
{
    s->cap_starttls = s->cap_size = s->cap_8bitmime = false;
    s->cap_auth = s->cap_plain = s->cap_external = false;
    for (size_t i = 1; i < s->nlines; i++) {
        const char *kw = strlen(s->lines[i]) > 4 ? s->lines[i] + 4 : "";
        if (strcasecmp(kw, "STARTTLS") == 0)
            s->cap_starttls = true;
        else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' '))
            s->cap_size = true;
        else if (strcasecmp(kw, "8BITMIME") == 0)
            s->cap_8bitmime = true;
        else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
            s->cap_auth = true;
            char mechs[STM_SMTP_MAX_LINE + 1];
            snprintf(mechs, sizeof mechs, " %s ", kw + 5);
            for (char *p = mechs; *p; p++)
                *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
            if (strstr(mechs, " PLAIN ") != NULL)
                s->cap_plain = true;
            if (strstr(mechs, " EXTERNAL ") != NULL)
                s->cap_external = true;
        }
    }
}

/* Reset the per-recipient results for a new attempt. 0 or -1. */
static int
pr_reset_rcpts(stm_smtp_session *s)
{
    stm_smtp_result *res = s->res;
    for (size_t i = 0; i < res->nrcpts; i++) {
        free(res->rcpts[i].rcpt);
        stm_smtp_reply_clear(&res->rcpts[i].reply);
    }
    free(res->rcpts);
    res->rcpts = calloc(s->req->nrcpts ? s->req->nrcpts : 1, sizeof *res->rcpts);
    res->nrcpts = 0;
    if (res->rcpts == NULL)
        return -1;
    for (size_t i = 0; i < s->req->nrcpts; i++) {
        res->rcpts[i].rcpt = strdup(s->req->rcpts[i]);
        if (res->rcpts[i].rcpt == NULL)
            return -1;
        res->nrcpts++;
    }
    return 0;
}

/* Give up this target after a broken connection (unless out of memory). */
static stm_smtp_phase
pr_abandon(stm_smtp_session *s)
{
    if (s->outcome != STM_SMTP_NOMEM)
        s->outcome = STM_SMTP_NEXT_TARGET;
    return STM_SMTP_PH_DONE;
}

/* Is CODE a refusal (4xx or 5xx)? Only those make a message REJECTED; any
 * other reply where 2xx was due (1xx, 3xx) is a protocol error. */
static bool
pr_refusal(int code)
{
    return code / 100 == 4 || code / 100 == 5;
}

/* A reply that is neither the 2xx due nor a refusal: a protocol error of
 * this target, tried no further (PHASE and WHAT say where). */
static stm_smtp_phase
pr_unexpected(stm_smtp_session *s, stm_smtp_phase phase, const char *what, const stm_smtp_reply *r)
{
    stm_smtp_fail(s, phase, "unexpected reply %d to %s", r->code, what);
    return pr_abandon(s);
}

/* A final answer for this message: STATUS, with R as the deciding reply. */
static stm_smtp_phase
pr_decided(stm_smtp_session *s, stm_smtp_status status, const stm_smtp_reply *r)
{
    s->outcome = STM_SMTP_DONE;
    s->res->status = status;
    if (r != NULL && stm_smtp_reply_copy(&s->res->reply, r) != 0)
        s->outcome = STM_SMTP_NOMEM;
    return STM_SMTP_PH_QUIT;
}

/* CONNECT: a pooled connection (then straight to MAIL), or a new one. */
static stm_smtp_phase
pr_connect(stm_smtp_session *s)
{
    const stm_service *svc = s->svc;

    /* Pooled connections are plain: never for a service that requires TLS
     * (a reload may have made it require it). */
    if (s->req->reuse && !s->pool_tried && !s->target->implicit_tls && !svc->require_tls &&
        stm_smtp_pool_take(s)) {
        s->pool_tried = true;
        s->reused = true;
        stm_smtp_log(s, "service=%s reusing a connection to %s", svc->name, s->target->text);
        return STM_SMTP_PH_MAIL;
    }
    uint64_t deadline = stm_clock_ms() + svc->connect_timeout_ms;
    stm_smtp_log(s, "service=%s connecting to %s", svc->name, s->target->text);
    if (stm_smtp_io_connect(s, deadline) != 0 ||
        (s->target->implicit_tls &&
         stm_smtp_tls_handshake(s, STM_SMTP_PH_CONNECT, deadline) != 0)) {
        s->outcome = STM_SMTP_NEXT_TARGET;
        return STM_SMTP_PH_DONE; /* nothing to say QUIT to */
    }
    return STM_SMTP_PH_GREETING;
}

/* GREETING: 220, or the next target. */
static stm_smtp_phase
pr_greeting(stm_smtp_session *s, stm_smtp_reply *r)
{
    if (stm_smtp_reply_read(s, STM_SMTP_PH_GREETING, stm_clock_ms() + s->svc->command_timeout_ms,
                            r) != 0)
        return pr_abandon(s);
    if (r->code != 220) {
        stm_smtp_fail(s, STM_SMTP_PH_GREETING, "greeting %d %s", r->code, r->text);
        s->outcome = STM_SMTP_NEXT_TARGET;
        return STM_SMTP_PH_QUIT;
    }
    return STM_SMTP_PH_HELLO;
}

/* HELLO: EHLO or LHLO (HELO for an old SMTP server), then STARTTLS when
 * offered and wanted, else AUTH. */
static stm_smtp_phase
pr_hello(stm_smtp_session *s, stm_smtp_reply *r)
{
    const stm_service *svc = s->svc;
    bool lmtp = svc->protocol == STM_PROTO_LMTP;
    const char *helo = s->req->helo_name ? s->req->helo_name : "localhost";
    char cmd[STM_SMTP_MAX_LINE + 64];

    snprintf(cmd, sizeof cmd, "%s %s", lmtp ? "LHLO" : "EHLO", helo);
    if (stm_smtp_reply_command(s, STM_SMTP_PH_HELLO, cmd, NULL, r) != 0)
        return pr_abandon(s);
    if (r->code == 250) {
        pr_parse_caps(s);
    } else if (!lmtp && r->code >= 500) {
        /* An old server: plain HELO, no extensions at all. */
        snprintf(cmd, sizeof cmd, "HELO %s", helo);
        if (stm_smtp_reply_command(s, STM_SMTP_PH_HELLO, cmd, NULL, r) != 0)
            return pr_abandon(s);
        if (r->code != 250) {
            stm_smtp_fail(s, STM_SMTP_PH_HELLO, "HELO refused: %d %s", r->code, r->text);
            return STM_SMTP_PH_QUIT;
        }
        pr_parse_caps(s);
        s->cap_starttls = s->cap_size = s->cap_8bitmime = s->cap_auth = false;
    } else {
        stm_smtp_fail(s, STM_SMTP_PH_HELLO, "%s refused: %d %s", lmtp ? "LHLO" : "EHLO", r->code,
                      r->text);
        return STM_SMTP_PH_QUIT;
    }
    if (!s->tls && (svc->attempt_starttls || svc->require_tls) && s->cap_starttls)
        return STM_SMTP_PH_STARTTLS;
    if (!s->tls && svc->require_tls) {
        stm_smtp_fail(s, STM_SMTP_PH_HELLO, "TLS is required and STARTTLS is not offered");
        return STM_SMTP_PH_QUIT;
    }
    return STM_SMTP_PH_AUTH;
}

/* STARTTLS: the handshake, then HELLO again (or on in clear when refused
 * and TLS is not required; a failed handshake never goes on in clear). */
static stm_smtp_phase
pr_starttls(stm_smtp_session *s, stm_smtp_reply *r)
{
    const stm_service *svc = s->svc;

    if (stm_smtp_reply_command(s, STM_SMTP_PH_STARTTLS, "STARTTLS", NULL, r) != 0)
        return pr_abandon(s);
    if (r->code != 220) {
        if (svc->require_tls) {
            stm_smtp_fail(s, STM_SMTP_PH_STARTTLS, "STARTTLS refused: %d %s", r->code, r->text);
            return STM_SMTP_PH_QUIT;
        }
        stm_smtp_log(s, "service=%s %s: STARTTLS refused (%d), going on in clear", svc->name,
                     s->target->text, r->code);
        return STM_SMTP_PH_AUTH;
    }
    if (s->in_pos != s->in_len) {
        /* Bytes after the 220 would be injected into the TLS session. */
        stm_smtp_fail(s, STM_SMTP_PH_STARTTLS, "data received before the TLS handshake");
        return pr_abandon(s);
    }
    if (stm_smtp_tls_handshake(s, STM_SMTP_PH_STARTTLS, stm_clock_ms() + svc->command_timeout_ms) !=
        0) {
        s->outcome = STM_SMTP_NEXT_TARGET; /* never a retry in clear (top of file) */
        return STM_SMTP_PH_DONE;
    }
    /* Forget what was said in clear and ask again. */
    s->cap_starttls = s->cap_size = s->cap_8bitmime = false;
    s->cap_auth = s->cap_plain = s->cap_external = false;
    return STM_SMTP_PH_HELLO;
}

/* AUTH as configured (auth.c). */
static stm_smtp_phase
pr_auth(stm_smtp_session *s, stm_smtp_reply *r)
{
    int rc = stm_smtp_auth(s, r);
    if (rc < 0)
        return pr_abandon(s);
    return rc == 0 ? STM_SMTP_PH_MAIL : STM_SMTP_PH_QUIT;
}

/* MAIL FROM with SIZE, BODY=8BITMIME and AUTH= as the server offers. */
static stm_smtp_phase
pr_mail(stm_smtp_session *s, stm_smtp_reply *r)
{
    const stm_smtp_request *req = s->req;
    char cmd[STM_SMTP_MAX_LINE + 64];
    size_t size = 0;

    for (size_t p = 0; p < req->npieces; p++)
        size += req->pieces[p].len;
    int n = snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>", req->sender ? req->sender : "");
    if (n < 0 || (size_t)n >= sizeof cmd - 200) {
        stm_smtp_fail(s, STM_SMTP_PH_MAIL, "sender address too long");
        return pr_decided(s, STM_SMTP_FAILED, NULL);
    }
    if (s->cap_size)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " SIZE=%zu", size);
    if (s->cap_8bitmime && stm_smtp_data_is_8bit(req))
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " BODY=8BITMIME");
    if (s->svc->auth == STM_AUTH_FORWARD && s->cap_auth) {
        char xt[160];
        stm_smtp_auth_xtext(req->auth_forward ? req->auth_forward : "", xt, sizeof xt);
        snprintf(cmd + n, sizeof cmd - (size_t)n, " AUTH=%s", xt[0] ? xt : "<>");
    }
    int crc = stm_smtp_reply_command(s, STM_SMTP_PH_MAIL, cmd, NULL, r);
    if (s->reused && (crc != 0 || r->code == 421)) {
        /* The pooled connection went away meanwhile: a fresh one. */
        stm_smtp_log(s, "service=%s %s: reused connection is gone, connecting again", s->svc->name,
                     s->target->text);
        stm_smtp_io_close(s);
        s->cap_size = s->cap_8bitmime = s->cap_auth = false;
        s->reused = false;
        return STM_SMTP_PH_CONNECT;
    }
    if (crc != 0)
        return pr_abandon(s);
    if (pr_refusal(r->code))
        return pr_decided(s, STM_SMTP_REJECTED, r);
    if (r->code / 100 != 2)
        return pr_unexpected(s, STM_SMTP_PH_MAIL, "MAIL FROM", r);
    return STM_SMTP_PH_RCPT;
}

/* RCPT TO for each recipient; on when at least one is accepted. */
static stm_smtp_phase
pr_rcpt(stm_smtp_session *s, stm_smtp_reply *r)
{
    const stm_smtp_request *req = s->req;
    stm_smtp_result *res = s->res;
    char cmd[STM_SMTP_MAX_LINE + 64];

    s->accepted = 0;
    for (size_t i = 0; i < req->nrcpts; i++) {
        int n = snprintf(cmd, sizeof cmd, "RCPT TO:<%s>", req->rcpts[i]);
        if (n < 0 || (size_t)n >= sizeof cmd) {
            res->rcpts[i].reply.code = 0;
            continue;
        }
        if (stm_smtp_reply_command(s, STM_SMTP_PH_RCPT, cmd, NULL, r) != 0)
            return pr_abandon(s);
        if (r->code / 100 != 2 && !pr_refusal(r->code))
            return pr_unexpected(s, STM_SMTP_PH_RCPT, "RCPT TO", r);
        if (stm_smtp_reply_copy(&res->rcpts[i].reply, r) != 0) {
            s->outcome = STM_SMTP_NOMEM;
            return pr_abandon(s);
        }
        res->rcpts[i].accepted = r->code / 100 == 2;
        if (res->rcpts[i].accepted)
            s->accepted++;
        else
            stm_smtp_log(s, "service=%s %s: recipient <%s> refused: %d %s", s->svc->name,
                         s->target->text, req->rcpts[i], r->code, r->text);
    }
    if (s->accepted > 0)
        return STM_SMTP_PH_DATA;
    if (r->code == 0) {
        stm_smtp_fail(s, STM_SMTP_PH_QUIT, "no recipient to send to");
        return pr_decided(s, STM_SMTP_FAILED, NULL);
    }
    return pr_decided(s, STM_SMTP_REJECTED, r);
}

/* DATA: 354 goes on to the body; 4xx/5xx decides. */
static stm_smtp_phase
pr_data(stm_smtp_session *s, stm_smtp_reply *r)
{
    if (stm_smtp_reply_command(s, STM_SMTP_PH_DATA, "DATA", NULL, r) != 0)
        return pr_abandon(s);
    if (r->code == 354)
        return STM_SMTP_PH_BODY;
    if (r->code / 100 == 4 || r->code / 100 == 5)
        return pr_decided(s, STM_SMTP_REJECTED, r);
    stm_smtp_fail(s, STM_SMTP_PH_DATA, "unexpected reply %d to DATA", r->code);
    return STM_SMTP_PH_QUIT;
}

/* BODY: the message and the final "." (data.c). */
static stm_smtp_phase
pr_body(stm_smtp_session *s)
{
    if (stm_smtp_data_send(s) != 0)
        return pr_abandon(s);
    s->res->data_sent = true;
    return STM_SMTP_PH_FINAL;
}

/* FINAL: the reply after the data (LMTP: one per accepted recipient). From
 * here on the scanner may hold the message: never retry. */
static stm_smtp_phase
pr_final(stm_smtp_session *s, stm_smtp_reply *r)
{
    const stm_smtp_request *req = s->req;
    stm_smtp_result *res = s->res;
    bool lmtp = s->svc->protocol == STM_PROTO_LMTP;
    uint64_t deadline = stm_clock_ms() + s->svc->submission_timeout_ms;
    size_t want = lmtp ? s->accepted : 1, got_ok = 0, got = 0;

    s->outcome = STM_SMTP_DONE;
    for (size_t i = 0; i < req->nrcpts && got < want; i++) {
        if (lmtp && !res->rcpts[i].accepted)
            continue;
        if (stm_smtp_reply_read(s, STM_SMTP_PH_FINAL, deadline, r) != 0)
            break;
        if (r->code / 100 != 2 && !pr_refusal(r->code)) {
            /* After the data: no other target, the message failed. */
            stm_smtp_fail(s, STM_SMTP_PH_FINAL, "unexpected reply %d after the data", r->code);
            break;
        }
        got++;
        if (r->code / 100 == 2)
            got_ok++;
        if (lmtp) {
            if (stm_smtp_reply_copy(&res->rcpts[i].reply, r) != 0)
                s->outcome = STM_SMTP_NOMEM;
            res->rcpts[i].accepted = r->code / 100 == 2;
            if (!res->rcpts[i].accepted)
                stm_smtp_log(s, "service=%s %s: LMTP recipient <%s> refused: %d %s", s->svc->name,
                             s->target->text, req->rcpts[i], r->code, r->text);
        }
        if (stm_smtp_reply_copy(&res->reply, r) != 0)
            s->outcome = STM_SMTP_NOMEM;
    }
    res->final_ms = stm_clock_ms();
    if (got == 0) {
        res->status = STM_SMTP_FAILED; /* s->err says why */
        return STM_SMTP_PH_DONE;
    }
    if (got < want)
        stm_smtp_log(s, "service=%s %s: only %zu of %zu LMTP replies: %s", s->svc->name,
                     s->target->text, got, want, s->err);
    res->status = got_ok > 0 ? STM_SMTP_ACCEPTED : STM_SMTP_REJECTED;
    if (req->reuse && got == want && got_ok == got && !s->tls && s->ssl == NULL &&
        s->in_pos == s->in_len) {
        stm_smtp_pool_put(s); /* instead of QUIT: the next message starts at MAIL */
        return STM_SMTP_PH_DONE;
    }
    return got < want ? STM_SMTP_PH_DONE : STM_SMTP_PH_QUIT;
}

/* QUIT: politeness only, a short deadline, and the answer does not matter. */
static stm_smtp_phase
pr_quit(stm_smtp_session *s, stm_smtp_reply *r)
{
    uint64_t limit = s->svc->command_timeout_ms < 2000 ? s->svc->command_timeout_ms : 2000;

    if (s->req->transcript)
        stm_smtp_log(s, "> QUIT");
    if (stm_smtp_io_write(s, STM_SMTP_PH_QUIT, "QUIT\r\n", 6, stm_clock_ms() + limit) == 0) {
        char saved[sizeof s->err];
        memcpy(saved, s->err, sizeof saved);
        stm_smtp_reply_read(s, STM_SMTP_PH_QUIT, stm_clock_ms() + limit, r);
        memcpy(s->err, saved, sizeof saved);
    }
    return STM_SMTP_PH_DONE;
}

/* One attempt on s->target: the state machine, one step per phase. */
static stm_smtp_outcome
pr_attempt(stm_smtp_session *s)
{
    stm_smtp_reply r = {0};
    stm_smtp_phase phase = STM_SMTP_PH_CONNECT;

    s->outcome = STM_SMTP_NEXT_TARGET;
    s->accepted = 0;
    if (pr_reset_rcpts(s) != 0)
        return STM_SMTP_NOMEM;
    s->res->tls = false;
    s->res->data_sent = false;
    while (phase != STM_SMTP_PH_DONE) {
        switch (phase) {
        case STM_SMTP_PH_CONNECT:
            phase = pr_connect(s);
            break;
        case STM_SMTP_PH_GREETING:
            phase = pr_greeting(s, &r);
            break;
        case STM_SMTP_PH_HELLO:
            phase = pr_hello(s, &r);
            break;
        case STM_SMTP_PH_STARTTLS:
            phase = pr_starttls(s, &r);
            break;
        case STM_SMTP_PH_AUTH:
            phase = pr_auth(s, &r);
            break;
        case STM_SMTP_PH_MAIL:
            phase = pr_mail(s, &r);
            break;
        case STM_SMTP_PH_RCPT:
            phase = pr_rcpt(s, &r);
            break;
        case STM_SMTP_PH_DATA:
            phase = pr_data(s, &r);
            break;
        case STM_SMTP_PH_BODY:
            phase = pr_body(s);
            break;
        case STM_SMTP_PH_FINAL:
            phase = pr_final(s, &r);
            break;
        case STM_SMTP_PH_QUIT:
            phase = pr_quit(s, &r);
            break;
        case STM_SMTP_PH_DONE:
            break;
        }
    }
    stm_smtp_reply_clear(&r);
    stm_smtp_reply_forget(s);
    return s->outcome;
}

/* Send the message of REQ to the first usable target. */
int
stm_smtp_send(const stm_smtp_request *req, stm_smtp_result *res)
{
    stm_smtp_session *s = calloc(1, sizeof *s);
    int rc = 0;

    memset(res, 0, sizeof *res);
    res->status = STM_SMTP_FAILED;
    if (s == NULL)
        return -1;
    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    s->req = req;
    s->svc = req->service;
    s->res = res;
    s->fd = -1;
    s->next_progress =
        stm_clock_ms() + (req->progress_interval_ms ? req->progress_interval_ms : 10000);
    snprintf(s->err, sizeof s->err, "service has no target");
    bool done = false;
    for (size_t t = 0; t < s->svc->ntargets && !done; t++) {
        s->target = &s->svc->targets[t];
        s->reused = s->pool_tried = false;
        free(res->target);
        res->target = strdup(s->target->text);
        stm_smtp_outcome o = pr_attempt(s);
        stm_smtp_io_close(s);
        if (o == STM_SMTP_NOMEM) {
            rc = -1;
            done = true;
        } else if (o == STM_SMTP_DONE) {
            done = true;
        }
    }
    if (!done || res->status == STM_SMTP_FAILED) {
        res->status = STM_SMTP_FAILED;
        free(res->error);
        res->error = strdup(s->err);
    }
    if (res->target == NULL && s->svc->ntargets > 0)
        rc = -1;
    free(s);
    if (!sigismember(&old_mask, SIGPIPE)) {
        /* A SIGPIPE our writes raised must not hit the caller on unblocking. */
        sigset_t pending;
        struct timespec zero = {0, 0};
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
            sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

/* Free what RES owns and empty it. */
void
stm_smtp_result_clear(stm_smtp_result *res)
{
    stm_smtp_reply_clear(&res->reply);
    free(res->error);
    free(res->target);
    for (size_t i = 0; i < res->nrcpts; i++) {
        free(res->rcpts[i].rcpt);
        stm_smtp_reply_clear(&res->rcpts[i].reply);
    }
    free(res->rcpts);
    memset(res, 0, sizeof *res);
}
