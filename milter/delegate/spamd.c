/*
 * spamd.c - SpamAssassin's spamd behind the service interface (service.h).
 *
 * Functions: stm_spamd_ops (start, collect, release, apply),
 * stm_spamd_parse_reply (scanners.h).
 *
 * The dialogue (spamd's PROTOCOL, version 1.5): one request per
 * connection,
 *     HEADERS SPAMC/1.5\r\n
 *     Content-length: N\r\n
 *     User: USERNAME\r\n             (when the service has a username)
 *     \r\n
 *     the message (N bytes)
 * and the reply
 *     SPAMD/1.1 0 EX_OK\r\n
 *     Content-length: M\r\n
 *     Spam: True ; 1003.3 / 5.0\r\n
 *     \r\n
 *     the message's header block as SpamAssassin rewrote it (M bytes)
 * HEADERS gives in one scan what the conditions and `apply: headers` need:
 * the verdict and score (Spam:), the X-Spam-* fields spamass-milter would
 * add (X-Spam-Flag, X-Spam-Level, X-Spam-Status, X-Spam-Checker-Version,
 * ...), and the rules that hit from X-Spam-Status's tests= list (the
 * symbol: condition; with a site's own add_header template that drops
 * _TESTS_, no symbols are known).
 *
 * Targets: tcp://HOST:PORT or unix:PATH, tried in order until one takes
 * the whole request. The reply is read within the delegation's deadline,
 * at most STM_SPAMD_MAX_REPLY bytes; a reply with another code than 0, no
 * Spam: line, cut short, or too long is `failed` with the reason.
 *
 * apply (apply: headers): every X-Spam-* field of the reply is added, or
 * replaces the message's own field of that name; X-Spam-* fields of the
 * message that SpamAssassin did not write (a sender's forgeries) are
 * deleted, as spamass-milter does.
 *
 * Ownership: the scan owns its connection; OUT owns what collect() puts in
 * it. Errors: every failure of spamd is a result (FAILED with the reason
 * in out->reply); start() is -1 only on memory exhaustion.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "delegate/conn.h"
#include "delegate/scanners.h"
#include "delegate/service.h"
#include "delegate/wire.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"

/* Most header lines of spamd's reply before the body. */
#define SPAMD_MAX_LINES 64

struct stm_scan {
    stm_scan_request req;
    stm_scan_conn conn;
    bool sent;
    char why[600];
    char note[700];
};

/* The tests= list of an X-Spam-Status value into R's symbols. 0 or -1. */
static int
spamd_tests(const char *status, stm_scan_result *r)
{
    const char *p = status;
    while ((p = strstr(p, "tests=")) != NULL) {
        if (p == status || isspace((unsigned char)p[-1]) || p[-1] == ',')
            break;
        p += 6;
    }
    if (p == NULL)
        return 0;
    p += 6;
    for (;;) {
        const char *start = p;
        while (*p != '\0' && *p != ',' && !isspace((unsigned char)*p))
            p++;
        if (p > start && !(p - start == 4 && strncmp(start, "none", 4) == 0) &&
            stm_scan_result_add_symbol(r, start, (size_t)(p - start)) != 0)
            return -1;
        if (*p != ',')
            return 0;
        p++;
        while (isspace((unsigned char)*p)) /* folded after the comma */
            p++;
    }
}

/* "True ; 1003.3 / 5.0" into R. 0 or -1. */
static int
spamd_spam_line(const char *v, stm_scan_result *r)
{
    char *end;
    while (*v == ' ')
        v++;
    if (strncasecmp(v, "True", 4) == 0 || strncasecmp(v, "Yes", 3) == 0)
        r->spam = true;
    else if (strncasecmp(v, "False", 5) == 0 || strncasecmp(v, "No", 2) == 0)
        r->spam = false;
    else
        return -1;
    const char *semi = strchr(v, ';');
    if (semi == NULL)
        return -1;
    errno = 0;
    double score = strtod(semi + 1, &end);
    if (end == semi + 1 || errno != 0)
        return -1;
    while (*end == ' ')
        end++;
    if (*end != '/')
        return -1;
    const char *q = end + 1;
    double required = strtod(q, &end);
    if (end == q || errno != 0)
        return -1;
    r->has_spam = true;
    stm_scan_result_set_score(r, score, required);
    return 0;
}

/* Parse spamd's reply (scanners.h). */
int
stm_spamd_parse_reply(const char *reply, size_t len, stm_scan_result *r, char *why, size_t whylen)
{
    const char *p = reply, *end = reply + len;
    long content_length = -1;
    bool spam_seen = false;
    char line[2049];
    int rc = -1;
    stm_message body;

    stm_message_init(&body);
    for (size_t nline = 0;; nline++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            snprintf(why, whylen, "spamd's reply ends before its empty line");
            goto done;
        }
        size_t n = (size_t)(nl - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n >= sizeof line || memchr(p, '\0', n) != NULL || nline > SPAMD_MAX_LINES) {
            snprintf(why, whylen, "spamd's reply has a bad or too long line");
            goto done;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        if (nline == 0) {
            int code = -1;
            char text[200] = "";
            if (strncmp(line, "SPAMD/", 6) != 0 ||
                sscanf(line + 6, "%*[0-9.] %d %199[^\n]", &code, text) < 1) {
                snprintf(why, whylen, "spamd answered something else than a SPAMD/ reply");
                goto done;
            }
            if (code != 0) {
                char clean[200];
                stm_text_clean(clean, sizeof clean, text, 0, 0);
                snprintf(why, whylen, "spamd answered %d %s", code, clean);
                goto done;
            }
            continue;
        }
        if (n == 0)
            break;
        char *colon = strchr(line, ':');
        if (colon == NULL) {
            snprintf(why, whylen, "spamd's reply has a header line without a colon");
            goto done;
        }
        *colon = '\0';
        if (strcasecmp(line, "Content-length") == 0) {
            char *e;
            errno = 0;
            long v = strtol(colon + 1, &e, 10);
            if (errno != 0 || v < 0 || e == colon + 1) {
                snprintf(why, whylen, "spamd's reply has a bad Content-length");
                goto done;
            }
            content_length = v;
        } else if (strcasecmp(line, "Spam") == 0) {
            if (spamd_spam_line(colon + 1, r) != 0) {
                snprintf(why, whylen, "spamd's Spam: line is not \"True|False ; SCORE / REQUIRED\"");
                goto done;
            }
            spam_seen = true;
        }
    }
    if (!spam_seen) {
        snprintf(why, whylen, "spamd's reply has no Spam: line");
        goto done;
    }
    size_t blen = (size_t)(end - p);
    if (content_length >= 0 && (size_t)content_length != blen) {
        snprintf(why, whylen, "spamd's reply is %zu bytes, not its Content-length %ld", blen,
                 content_length);
        goto done;
    }
    if (blen > 0) {
        /* HEADERS: a header block. Anything that is not one is garbage. */
        const char *perr = NULL;
        if (memchr(p, '\0', blen) != NULL || stm_message_parse(&body, p, blen, &perr) != 0) {
            snprintf(why, whylen, "spamd's headers cannot be parsed: %s", perr ? perr : "NUL byte");
            goto done;
        }
        for (size_t i = 0; i < body.nheaders; i++) {
            const stm_header *h = &body.headers[i];
            if (strncasecmp(h->name, "X-Spam-", 7) != 0)
                continue;
            if (stm_scan_result_add_header(r, h->name, h->value ? h->value : "", 0) != 0) {
                rc = -2;
                goto done;
            }
            if (strcasecmp(h->name, "X-Spam-Status") == 0 && h->value != NULL &&
                spamd_tests(h->value, r) != 0) {
                rc = -2;
                goto done;
            }
        }
    }
    rc = 0;
done:
    stm_message_clear(&body);
    return rc;
}

/* Send the request to the connected spamd. 0 or -1 (conn.ss->err). */
static int
spamd_send(stm_scan *scan, const char *head, size_t hlen, const stm_message *msg)
{
    stm_smtp_session *ss = scan->conn.ss;
    const stm_service *svc = scan->req.service;
    char req[600];
    int n = snprintf(req, sizeof req, "HEADERS SPAMC/1.5\r\nContent-length: %zu\r\n",
                     hlen + msg->body_len);
    if (svc->username != NULL && svc->username[0] != '\0')
        n += snprintf(req + n, sizeof req - (size_t)n, "User: %.200s\r\n", svc->username);
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
    if (scan->req.ctx->transcript)
        stm_smtp_log(ss, "> HEADERS SPAMC/1.5 (%zu bytes)", hlen + msg->body_len);
    uint64_t deadline = stm_clock_ms() + svc->command_timeout_ms;
    if (stm_smtp_io_write(ss, STM_SMTP_PH_DATA, req, (size_t)n, deadline) != 0 ||
        stm_smtp_io_write(ss, STM_SMTP_PH_BODY, head, hlen, deadline) != 0)
        return -1;
    if (stm_scan_conn_write_body(&scan->conn, msg, svc->command_timeout_ms) != 0)
        return -1;
    shutdown(ss->fd, SHUT_WR); /* spamd reads to the end of the request */
    return 0;
}

/* start(): the first target that takes the whole request. */
static int
spamd_start(const stm_scan_request *req, stm_scan **out)
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
    snprintf(scan->why, sizeof scan->why, "service has no target");
    stm_scan_conn_nopipe_begin(&scan->conn);
    for (size_t t = 0; t < svc->ntargets && !scan->sent; t++) {
        if (stm_scan_conn_open(&scan->conn, &svc->targets[t], false) == 0 &&
            spamd_send(scan, head, hlen, msg) == 0) {
            scan->sent = true;
        } else {
            snprintf(scan->why, sizeof scan->why, "%s", scan->conn.ss->err);
            stm_scan_conn_close(&scan->conn);
        }
    }
    stm_scan_conn_nopipe_end(&scan->conn);
    free(head);
    *out = scan;
    return 0;
}

/* Is the status line LINE ("SPAMD/1.1 0 EX_OK") a success? */
static bool
spamd_status_ok(const char *line)
{
    int code = -1;
    return sscanf(line, "SPAMD/%*[0-9.] %d", &code) == 1 && code == 0;
}

/* spamd's reply: "SPAMD/1.1 0 EX_OK", header lines, the body. */
static const stm_scan_reply_shape spamd_shape = {
    .max_lines = SPAMD_MAX_LINES,
    .max_body = STM_SPAMD_MAX_REPLY,
    .status = "SPAMD/",
    .status_ok = spamd_status_ok,
};

/* collect(): read and judge spamd's reply. */
static int
spamd_collect(stm_scan *scan, uint64_t deadline, stm_delegation *out, stm_scan_facts *facts)
{
    stm_smtp_session *ss = scan->conn.ss;
    char why[300];
    size_t len = 0;

    memset(facts, 0, sizeof *facts);
    out->result = STM_DELEGATION_FAILED;
    facts->target = ss->target != NULL ? ss->target->text : NULL;
    if (!scan->sent)
        return stm_scan_set_reply(out, scan->why);
    stm_scan_reply_info info;
    char *reply = stm_scan_conn_read_reply(&scan->conn, &spamd_shape, deadline, &len, &info);
    stm_scan_conn_close(&scan->conn);
    if (reply == NULL)
        return stm_scan_set_reply(out, ss->err);
    int rc = stm_spamd_parse_reply(reply, len, &out->scan, why, sizeof why);
    free(reply);
    if (rc == -2)
        return -1;
    if (rc < 0) {
        stm_scan_result_clear(&out->scan);
        snprintf(scan->note, sizeof scan->note, "%s: %s", ss->target->text, why);
        return stm_scan_set_reply(out, scan->note);
    }
    if (scan->req.ctx->transcript)
        stm_smtp_log(ss, "< Spam: %s ; %.1f / %.1f", out->scan.spam ? "True" : "False",
                     out->scan.score, out->scan.required);
    snprintf(scan->note, sizeof scan->note, "Spam: %s ; %.1f / %.1f",
             out->scan.spam ? "True" : "False", out->scan.score, out->scan.required);
    out->result = STM_DELEGATION_RETURNED;
    return stm_scan_set_reply(out, scan->note);
}

/* release(). */
static void
spamd_release(stm_scan *scan)
{
    if (scan == NULL)
        return;
    stm_scan_conn_free(&scan->conn);
    free(scan);
}

/* apply(): the X-Spam-* fields spamd wrote, in place of the message's own. */
static long
spamd_apply(const stm_message *mine, const stm_delegation *d, bool whole, stm_header_edit **edits)
{
    const stm_scan_result *r = &d->scan;
    size_t cap = r->nadd + mine->nheaders + 1, n = 0;
    stm_header_edit *e = calloc(cap, sizeof *e);

    (void)whole;
    *edits = NULL;
    if (e == NULL)
        return -1;
    if (d->result != STM_DELEGATION_RETURNED) {
        free(e);
        return 0;
    }
    /* Deletions first, from the last header up, so no index shifts under
     * a later one: the message's X-Spam-* fields beyond what spamd wrote
     * of that name (all of them for a name spamd did not write). */
    for (size_t i = mine->nheaders; i-- > 0;) {
        const char *name = mine->headers[i].name;
        if (strncasecmp(name, "X-Spam-", 7) != 0)
            continue;
        int idx = 0, written = 0;
        for (size_t j = 0; j <= i; j++)
            idx += strcasecmp(mine->headers[j].name, name) == 0;
        for (size_t k = 0; k < r->nadd; k++)
            written += strcasecmp(r->add[k].name, name) == 0;
        if (idx > written)
            e[n++] = (stm_header_edit){STM_HEADER_DELETE, name, idx, NULL};
    }
    /* Then each field spamd wrote: the K-th of its name changes the
     * message's K-th, or is added. */
    for (size_t k = 0; k < r->nadd; k++) {
        int nth = 1, have = 0;
        for (size_t j = 0; j < k; j++)
            nth += strcasecmp(r->add[j].name, r->add[k].name) == 0;
        for (size_t j = 0; j < mine->nheaders; j++)
            have += strcasecmp(mine->headers[j].name, r->add[k].name) == 0;
        if (nth <= have)
            e[n++] = (stm_header_edit){STM_HEADER_CHANGE, r->add[k].name, nth, r->add[k].value};
        else
            e[n++] = (stm_header_edit){STM_HEADER_ADD, r->add[k].name, 0, r->add[k].value};
    }
    *edits = e;
    return (long)n;
}

const stm_service_ops stm_spamd_ops = {
    .name = "spamd",
    .start = spamd_start,
    .collect = spamd_collect,
    .release = spamd_release,
    .apply = spamd_apply,
    .waits_in_collect = true,
};
