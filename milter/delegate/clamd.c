/*
 * clamd.c - clamd (ClamAV's daemon) behind the service interface
 * (service.h): the message goes in a zINSTREAM, clamd answers with the
 * name of what it found.
 *
 * Functions: stm_clamd_ops (start, collect, release, apply),
 * stm_clamd_parse_reply (scanners.h).
 *
 * The dialogue (clamd(8)): "zINSTREAM\0", then the message in chunks, each
 * a 4-byte length in network order and that many bytes, then a chunk of
 * length 0; clamd answers one NUL-terminated line:
 *     stream: OK                          clean          -> returned
 *     stream: Eicar-Signature FOUND       a virus        -> returned, virus
 *     INSTREAM size limit exceeded. ERROR  past clamd's StreamMaxLength
 *     ... ERROR                            clamd could not scan it
 * The last two are `failed` (then the service's on_failure): nothing was
 * judged, so nothing may pass as clean. A message larger than
 * StreamMaxLength is not sent to another target (they share the limit).
 *
 * start() connects to the first target that answers (unix:PATH or
 * tcp://HOST:PORT, connect_timeout) and streams the message (each chunk
 * within command_timeout); a target that cannot be reached or breaks off
 * before the last chunk leaves the message for the next one. collect()
 * reads the reply until the delegation's deadline (the service's timeout:
 * scanning takes time), at most STM_CLAMD_MAX_REPLY bytes. The I/O is the
 * SMTP client's (smtp/io.c): non-blocking sockets, poll() with deadlines,
 * progress callbacks meanwhile.
 *
 * Reuse (the daemon): a fresh connection starts a clamd session
 * (zIDSESSION; replies then begin "N: "), and after a clean or found
 * answer it is kept idle (smtp/pool.c, 10 s at most) for the next message
 * to the same service and target; a kept connection clamd closed meanwhile
 * is replaced by a fresh one, never counted as a failure.
 *
 * Ownership: the scan owns its connection and reply; OUT owns what
 * collect() puts in it.
 *
 * Errors: every failure of clamd is a result (FAILED with the reason in
 * out->reply); start() is -1 only on memory exhaustion.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delegate/conn.h"
#include "delegate/scanners.h"
#include "delegate/service.h"
#include "delegate/smtp/session.h"
#include "delegate/wire.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"

/* Bytes per INSTREAM chunk (clamd accepts any size up to StreamMaxLength). */
#define CLAMD_CHUNK 65536
/* Bytes of chunks (with their lengths and the command) gathered before a
 * write; the buffer has 4 bytes more for the end of the stream. */
#define CLAMD_OUT (4 * (CLAMD_CHUNK + 4) + 16)

struct stm_scan {
    stm_scan_request req;
    stm_scan_conn conn; /* conn.ss: the connection (fd -1 when none) */
    bool sent;          /* the whole message went to conn.ss->target */
    bool reused;        /* over a kept connection (a session of clamd's) */
    char *head;         /* the header block, kept for a retry on a fresh connection */
    stm_smtp_piece pieces[2]; /* the header block, the body (maybe spooled) */
    char why[600];      /* nothing sent: why */
    char note[700];
};

/* Parse clamd's reply (scanners.h). */
int
stm_clamd_parse_reply(const char *reply, size_t len, stm_scan_result *r, char *why, size_t whylen)
{
    char line[STM_CLAMD_MAX_REPLY + 1];
    const char *p;
    size_t n = len < STM_CLAMD_MAX_REPLY ? len : STM_CLAMD_MAX_REPLY;

    memcpy(line, reply, n);
    line[n] = '\0';
    if (strlen(line) != n) {
        snprintf(why, whylen, "clamd's reply holds a NUL byte");
        return -1;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        line[--n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
            snprintf(why, whylen, "clamd's reply holds control characters");
            return -1;
        }
    /* A session id ("1: stream: OK") when IDSESSION is used. */
    p = line;
    if (*p >= '0' && *p <= '9') {
        while (*p >= '0' && *p <= '9')
            p++;
        if (p[0] == ':' && p[1] == ' ')
            p += 2;
        else
            p = line;
    }
    if (strstr(p, "size limit exceeded") != NULL) {
        snprintf(why, whylen, "the message is larger than clamd's StreamMaxLength");
        return -1;
    }
    if (strncmp(p, "stream: ", 8) != 0) {
        snprintf(why, whylen, "clamd answered something else than a scan result");
        return -1;
    }
    p += 8;
    size_t plen = strlen(p);
    if (strcmp(p, "OK") == 0)
        return 0;
    if (plen > 6 && strcmp(p + plen - 6, " FOUND") == 0) {
        size_t vlen = plen - 6;
        if (vlen == 0 || memchr(p, ':', vlen) != NULL) {
            snprintf(why, whylen, "clamd named no signature");
            return -1;
        }
        return stm_scan_result_set_virus(r, p, vlen) == 0 ? 1 : -2;
    }
    if (plen >= 6 && strcmp(p + plen - 6, " ERROR") == 0) {
        snprintf(why, whylen, "clamd could not scan the message");
        return -1;
    }
    snprintf(why, whylen, "clamd answered something else than a scan result");
    return -1;
}

/* Stream PIECES to the connected clamd. 0; 1 when clamd refused the size
 * (SCAN->why says so); -1 when the connection broke (ss->err) or the spool
 * could not be read. */
static int
clamd_stream(stm_scan *scan, const stm_smtp_piece *pieces, size_t npieces)
{
    stm_smtp_session *ss = scan->conn.ss;
    const stm_service *svc = scan->req.service;
    size_t total = 0, chunks = 0, used = 0;
    /* What goes out is gathered in OUT and written when full: a small
     * message is one write (clamd wakes up once, not six times). */
    char *out = malloc(CLAMD_OUT + 4), *in = malloc(CLAMD_CHUNK); /* + the end */

    if (out == NULL || in == NULL) {
        free(out);
        free(in);
        stm_smtp_fail(ss, STM_SMTP_PH_BODY, "out of memory");
        return -1;
    }
    memcpy(out, "zINSTREAM", 10);
    used = 10;
    for (size_t p = 0; p < npieces; p++) {
        const char *data;
        ssize_t got;
        for (uint64_t off = 0;
             (got = stm_smtp_piece_at(&pieces[p], off, in, CLAMD_CHUNK, &data)) > 0;
             off += (uint64_t)got) {
            size_t n = (size_t)got;
            if (used + 4 + n > CLAMD_OUT) {
                if (stm_smtp_io_write(ss, STM_SMTP_PH_BODY, out, used,
                                      stm_clock_ms() + svc->command_timeout_ms) != 0)
                    goto broken;
                used = 0;
            }
            uint32_t be = htonl((uint32_t)n);
            memcpy(out + used, &be, 4);
            memcpy(out + used + 4, data, n);
            used += 4 + n;
            total += n;
            chunks++;
        }
        if (got < 0) {
            stm_smtp_fail(ss, STM_SMTP_PH_BODY, "cannot read the spooled message: %s",
                          strerror(errno));
            free(out);
            free(in);
            return -1;
        }
    }
    memset(out + used, 0, 4); /* the zero-length chunk that ends the stream */
    used += 4;
    if (stm_smtp_io_write(ss, STM_SMTP_PH_BODY, out, used,
                          stm_clock_ms() + svc->command_timeout_ms) != 0)
        goto broken;
    free(out);
    free(in);
    if (scan->req.ctx->transcript)
        stm_smtp_log(ss, "> zINSTREAM: %zu bytes in %zu chunks", total, chunks);
    return 0;

broken:;
    free(out);
    free(in);
    /* clamd closes the stream past StreamMaxLength, after saying so. */
    char text[STM_CLAMD_MAX_REPLY + 1], why[200];
    char saved[sizeof ss->err];
    memcpy(saved, ss->err, sizeof saved);
    long got = stm_smtp_io_read_to(ss, STM_SMTP_PH_FINAL, '\0', text, STM_CLAMD_MAX_REPLY,
                                   stm_clock_ms() + 1000);
    memcpy(ss->err, saved, sizeof saved);
    stm_scan_result none = {0};
    if (got > 0 && stm_clamd_parse_reply(text, (size_t)got, &none, why, sizeof why) == -1 &&
        strstr(text, "size limit") != NULL) {
        snprintf(scan->why, sizeof scan->why, "%s: %s (after %zu bytes)", ss->target->text, why,
                 total);
        stm_smtp_log(ss, "service=%s %s", svc->name, scan->why);
        stm_scan_result_clear(&none);
        return 1;
    }
    stm_scan_result_clear(&none);
    return -1;
}

/* Open a connection to T (a kept one when REUSE allows) and stream the
 * message; a kept connection that turns out closed is replaced by a fresh
 * one. With reuse (the daemon) a fresh connection starts a session
 * (zIDSESSION), so that it can be kept for the next message. As
 * clamd_stream. */
static int
clamd_send(stm_scan *scan, const stm_target *t, bool reuse)
{
    stm_scan_conn *c = &scan->conn;
    const stm_service *svc = scan->req.service;
    int rc = -1;

    scan->reused = false;
    if (reuse ? stm_scan_conn_open_reuse(c, t, false, &scan->reused) != 0
              : stm_scan_conn_open(c, t, false) != 0)
        return -1;
    if (!scan->reused && c->reuse &&
        stm_smtp_io_write(c->ss, STM_SMTP_PH_BODY, "zIDSESSION", 11,
                          stm_clock_ms() + svc->command_timeout_ms) != 0)
        return -1;
    rc = clamd_stream(scan, scan->pieces, 2);
    if (rc < 0 && scan->reused) {
        stm_smtp_log(c->ss, "service=%s %s: kept connection is gone, connecting again",
                     svc->name, t->text);
        return clamd_send(scan, t, false);
    }
    return rc;
}

/* start(): connect to the first usable target and stream the message. */
static int
clamd_start(const stm_scan_request *req, stm_scan **out)
{
    const stm_service *svc = req->service;
    stm_message *msg = stm_session_message(req->session);
    stm_scan *scan = calloc(1, sizeof *scan);
    size_t hlen = 0;
    char *head = NULL;

    *out = NULL;
    if (scan == NULL || stm_scan_conn_init(&scan->conn, req) != 0 ||
        (head = stm_wire_head(msg, &hlen)) == NULL) {
        if (scan != NULL)
            stm_scan_conn_free(&scan->conn);
        free(scan);
        return -1;
    }
    scan->req = *req;
    scan->head = head;
    scan->pieces[0] = (stm_smtp_piece){head, hlen, NULL};
    scan->pieces[1] = stm_smtp_piece_body(msg);
    snprintf(scan->why, sizeof scan->why, "service has no target");
    stm_scan_conn_nopipe_begin(&scan->conn);
    for (size_t t = 0; t < svc->ntargets && !scan->sent; t++) {
        int rc = clamd_send(scan, &svc->targets[t], true);
        if (rc == 0) {
            scan->sent = true;
        } else {
            if (rc < 0)
                snprintf(scan->why, sizeof scan->why, "%s", scan->conn.ss->err);
            stm_scan_conn_close(&scan->conn);
            if (rc == 1)
                break;
        }
    }
    stm_scan_conn_nopipe_end(&scan->conn);
    *out = scan;
    return 0;
}

/* collect(): read clamd's one line and judge it. */
static int
clamd_collect(stm_scan *scan, uint64_t deadline, stm_delegation *out, stm_scan_facts *facts)
{
    stm_smtp_session *ss = scan->conn.ss;
    char text[STM_CLAMD_MAX_REPLY + 1], why[200];

    memset(facts, 0, sizeof *facts);
    out->result = STM_DELEGATION_FAILED;
    facts->target = ss->target != NULL ? ss->target->text : NULL;
    if (!scan->sent)
        return stm_scan_set_reply(out, scan->why);
    long got = stm_smtp_io_read_to(ss, STM_SMTP_PH_FINAL, '\0', text, STM_CLAMD_MAX_REPLY, deadline);
    if (got < 0 && scan->reused) {
        /* clamd ended the kept session meanwhile: once more, afresh. */
        stm_scan_conn_nopipe_begin(&scan->conn);
        int rc = clamd_send(scan, ss->target, false);
        stm_scan_conn_nopipe_end(&scan->conn);
        if (rc != 0) {
            stm_scan_conn_close(&scan->conn);
            return stm_scan_set_reply(out, rc == 1 ? scan->why : ss->err);
        }
        got = stm_smtp_io_read_to(ss, STM_SMTP_PH_FINAL, '\0', text, STM_CLAMD_MAX_REPLY, deadline);
    }
    if (got < 0) {
        stm_scan_conn_close(&scan->conn);
        return stm_scan_set_reply(out, ss->err);
    }
    if (scan->req.ctx->transcript)
        stm_smtp_log(ss, "< %s", text);
    int rc = stm_clamd_parse_reply(text, (size_t)got, &out->scan, why, sizeof why);
    /* A clean or found answer leaves the session fit for the next message. */
    if (rc >= 0 && scan->conn.reuse)
        stm_scan_conn_keep(&scan->conn);
    else
        stm_scan_conn_close(&scan->conn);
    if (rc == -2)
        return -1;
    char clean[STM_CLAMD_MAX_REPLY + 1];
    stm_text_clean(clean, sizeof clean, text, 0, 0);
    if (rc < 0) {
        snprintf(scan->note, sizeof scan->note, "%s: %s: \"%.300s\"", ss->target->text, why, clean);
        return stm_scan_set_reply(out, scan->note);
    }
    out->result = STM_DELEGATION_RETURNED;
    return stm_scan_set_reply(out, clean);
}

/* release(): close what is still open. */
static void
clamd_release(stm_scan *scan)
{
    if (scan == NULL)
        return;
    stm_scan_conn_free(&scan->conn);
    free(scan->head);
    free(scan);
}

/* apply(): clamd names a virus and changes nothing. */
static long
clamd_apply(const stm_message *mine, const stm_delegation *d, bool whole, stm_header_edit **edits)
{
    (void)mine;
    (void)d;
    (void)whole;
    *edits = NULL;
    return 0;
}

const stm_service_ops stm_clamd_ops = {
    .name = "clamd",
    .start = clamd_start,
    .collect = clamd_collect,
    .release = clamd_release,
    .apply = clamd_apply,
    .waits_in_collect = true,
};
