/*
 * conn.c - one connection of a scanner protocol that is not SMTP, on the
 * SMTP client's I/O (conn.h).
 *
 * Functions: stm_scan_conn_init, stm_scan_conn_open, stm_scan_conn_open_reuse,
 * stm_scan_conn_keep, stm_scan_conn_close,
 * stm_scan_conn_free, stm_scan_conn_nopipe_begin, stm_scan_conn_nopipe_end,
 * stm_scan_conn_read_reply (spamd's and HTTP's header block and body),
 * stm_scan_set_reply.
 *
 * Ownership: C owns its session (socket, SSL, buffer). Errors: -1 with the
 * reason in c->ss->err.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* Append LINE (L bytes) and CRLF to *BUF (*N used of *CAP). 0 or -1. */
static int
conn_append_line(char **buf, size_t *n, size_t *cap, const char *line, size_t l)
{
    if (*n + l + 3 > *cap) {
        size_t want = *cap;
        while (*n + l + 3 > want)
            want *= 2;
        char *g = realloc(*buf, want);
        if (g == NULL)
            return -1;
        *buf = g;
        *cap = want;
    }
    memcpy(*buf + *n, line, l);
    *n += l;
    (*buf)[(*n)++] = '\r';
    (*buf)[(*n)++] = '\n';
    return 0;
}

/* Read a header block and its body (conn.h). */
char *
stm_scan_conn_read_reply(stm_scan_conn *c, const stm_scan_reply_shape *shape, uint64_t deadline,
                         size_t *len, stm_scan_reply_info *info)
{
    stm_smtp_session *ss = c->ss;
    char line[STM_SMTP_MAX_LINE + 1];
    size_t cap = 4096, n = 0;
    long content_length = -1;
    char *buf = malloc(cap);

    memset(info, 0, sizeof *info);
    if (buf == NULL)
        goto nomem;
    for (size_t i = 0; i <= shape->max_lines; i++) {
        int l = stm_smtp_io_read_line(ss, STM_SMTP_PH_FINAL, line, deadline);
        if (l < 0)
            goto fail;
        if (conn_append_line(&buf, &n, &cap, line, (size_t)l) != 0)
            goto nomem;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            content_length = strtol(line + 15, NULL, 10);
        if (strncasecmp(line, "Connection:", 11) == 0 && strcasestr(line + 11, "close") != NULL)
            info->conn_close = true;
        if (l == 0)
            break;
        if (i == 0 && (strncmp(line, shape->status, strlen(shape->status)) != 0 ||
                       (shape->status_ok != NULL && !shape->status_ok(line)))) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
    }
    if (content_length > (long)shape->max_body) {
        stm_smtp_fail(ss, STM_SMTP_PH_FINAL, "reply longer than %zu bytes (Content-Length %ld)",
                      shape->max_body, content_length);
        goto fail;
    }
    size_t want = content_length >= 0 ? (size_t)content_length : shape->max_body;
    char *g = realloc(buf, n + want + 1);
    if (g == NULL)
        goto nomem;
    buf = g;
    if (content_length >= 0) {
        if (stm_smtp_io_read_n(ss, STM_SMTP_PH_FINAL, buf + n, want, deadline) != 0)
            goto fail;
        n += want;
    } else {
        info->to_close = true;
        long got = stm_smtp_io_read_to(ss, STM_SMTP_PH_FINAL, -1, buf + n, want, deadline);
        if (got < 0)
            goto fail;
        n += (size_t)got;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
nomem:
    snprintf(ss->err, sizeof ss->err, "out of memory");
fail:
    free(buf);
    return NULL;
}

/* The delegation's reply text (conn.h). */
int
stm_scan_set_reply(stm_delegation *out, const char *text)
{
    free(out->reply);
    out->reply = strdup(text);
    return out->reply == NULL ? -1 : 0;
}

/* Write the body of MSG, 1 MiB at a time from memory, 64 KiB at a time
 * through one buffer from the spool. */
int
stm_scan_conn_write_body(stm_scan_conn *c, const stm_message *msg, uint64_t timeout_ms)
{
    enum { PIECE_MEMORY = 1 << 20, PIECE_SPOOL = 1 << 16 };
    char *buf = msg->spooled ? malloc(PIECE_SPOOL) : NULL;
    size_t max = msg->spooled ? PIECE_SPOOL : PIECE_MEMORY;
    const char *data;
    ssize_t n;
    uint64_t off = 0;
    int rc = 0;

    if (msg->spooled && buf == NULL) {
        stm_smtp_fail(c->ss, STM_SMTP_PH_BODY, "out of memory");
        return -1;
    }
    while (rc == 0 && (n = stm_message_body_at(msg, off, buf, max, &data)) > 0) {
        rc = stm_smtp_io_write(c->ss, STM_SMTP_PH_BODY, data, (size_t)n,
                               stm_clock_ms() + timeout_ms);
        off += (uint64_t)n;
    }
    if (rc == 0 && n < 0) {
        stm_smtp_fail(c->ss, STM_SMTP_PH_BODY, "cannot read the spooled message: %s",
                      strerror(errno));
        rc = -1;
    }
    free(buf);
    return rc;
}
