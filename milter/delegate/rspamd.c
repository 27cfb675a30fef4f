/*
 * rspamd.c - rspamd behind the service interface (service.h): HTTP/1.1
 * POST /checkv2 with the message as the body and the envelope as header
 * fields, a JSON verdict back.
 *
 * Functions: stm_rspamd_ops (start, collect, release, apply),
 * stm_rspamd_parse_reply (scanners.h).
 *
 * The request (rspamd's protocol documentation):
 *     POST /checkv2 HTTP/1.1
 *     Host: HOST
 *     Content-Length: N
 *     Connection: close
 *     IP: CLIENT_IP            Helo: HELO          Hostname: CLIENT_NAME
 *     From: SENDER             Rcpt: RCPT (one per recipient)
 *     Queue-Id: QUEUE_ID       User: AUTHENTICATED USER (macro auth_authen)
 *     Password: PASSWORD       (the service's password, when set)
 *     then the message (N bytes).
 * The reply: "HTTP/1.1 200 OK", header lines, a JSON object with action,
 * score, required_score, symbols (an object keyed by name), and a milter
 * object whose add_headers / remove_headers rspamd's own milter would
 * carry out. Parsed with jansson; no libcurl: HTTP is written here on the
 * connection code of the SMTP client (conn.c), and https:// targets use its
 * TLS (tls_client settings, verified by default).
 *
 * Targets: http://HOST:PORT or https://HOST:PORT, in order until one
 * takes the whole request. The reply is read within the delegation's
 * deadline, at most STM_RSPAMD_MAX_REPLY bytes; another status than 200,
 * chunked or unparsable JSON, a reply without action or score, one cut
 * short or too long is `failed` with the reason.
 *
 * apply (apply: headers): milter.remove_headers first (NAME: 0 every
 * occurrence, N the N-th), then milter.add_headers; and for the action
 * "add header" an "X-Spam: Yes" field, as rspamd's proxy in milter mode
 * adds it.
 *
 * Reuse (the daemon): over http:// the request asks "Connection:
 * keep-alive", and after a complete reply that does not say "Connection:
 * close" the connection is kept idle (smtp/pool.c, 10 s at most) for the
 * next message to the same service and target; a kept connection rspamd
 * closed meanwhile is replaced by a fresh one, never counted as a failure.
 * (rspamd 3.4's normal worker answers "Connection: close" all the same.)
 *
 * Ownership: the scan owns its connection; OUT owns what collect() puts
 * in it. Errors: every failure of rspamd is a result; start() is -1 only
 * on memory exhaustion.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "delegate/conn.h"
#include "delegate/scanners.h"
#include "delegate/service.h"
#include "delegate/wire.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"

/* Most header lines of the HTTP reply. */
#define RSPAMD_MAX_LINES 64

struct stm_scan {
    stm_scan_request req;
    stm_scan_conn conn;
    bool sent;
    bool reused;      /* over a kept connection */
    bool keep;        /* the reply allows keeping the connection */
    char *head;       /* the header block, kept for a retry on a fresh connection */
    size_t hlen;
    char why[600];
    char note[700];
};

/* One milter.add_headers entry NAME: VALUE into R; VALUE is a string, an
 * object {value, order} or an array of them. 0, -1 (bad), -2 (memory). */
static int
rspamd_add_header(stm_scan_result *r, const char *name, json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            int rc = rspamd_add_header(r, name, item);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    if (json_is_object(v))
        v = json_object_get(v, "value");
    if (!json_is_string(v))
        return -1;
    return stm_scan_result_add_header(r, name, json_string_value(v), 0) == 0 ? 0 : -2;
}

/* The milter object of the reply into R. 0, -1, -2. */
static int
rspamd_milter(stm_scan_result *r, json_t *milter)
{
    const char *name;
    json_t *v;
    json_t *rm = json_object_get(milter, "remove_headers");
    if (json_is_object(rm)) {
        json_object_foreach(rm, name, v)
        {
            json_int_t idx = json_is_integer(v) ? json_integer_value(v) : 0;
            if (idx < 0 || idx > 1000)
                return -1;
            if (stm_scan_result_add_header(r, name, NULL, (int)idx) != 0)
                return -2;
        }
    }
    json_t *add = json_object_get(milter, "add_headers");
    if (json_is_object(add)) {
        json_object_foreach(add, name, v)
        {
            int rc = rspamd_add_header(r, name, v);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* The JSON body into R. 0, -1 with WHY, -2. */
static int
rspamd_json(const char *body, size_t len, stm_scan_result *r, char *why, size_t whylen)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    int rc = -1;

    if (root == NULL) {
        char clean[200];
        stm_text_clean(clean, sizeof clean, jerr.text, 0, 0);
        snprintf(why, whylen, "rspamd's reply is not JSON: %s", clean);
        return -1;
    }
    json_t *action = json_object_get(root, "action");
    json_t *score = json_object_get(root, "score");
    json_t *required = json_object_get(root, "required_score");
    if (!json_is_string(action) || !json_is_number(score)) {
        snprintf(why, whylen, "rspamd's reply has no action or no score");
        goto done;
    }
    const char *a = json_string_value(action);
    if (stm_scan_result_set_action(r, a, strlen(a)) != 0) {
        rc = -2;
        goto done;
    }
    stm_scan_result_set_score(r, json_number_value(score),
                              json_is_number(required) ? json_number_value(required) : 0.0);
    r->has_spam = true;
    r->spam = strcmp(a, "reject") == 0 || strcmp(a, "add header") == 0 ||
              strcmp(a, "rewrite subject") == 0;
    json_t *symbols = json_object_get(root, "symbols");
    if (json_is_object(symbols)) {
        const char *name;
        json_t *v;
        json_object_foreach(symbols, name, v)
        {
            if (stm_scan_result_add_symbol(r, name, strlen(name)) != 0) {
                rc = -2;
                goto done;
            }
        }
    }
    json_t *milter = json_object_get(root, "milter");
    if (json_is_object(milter)) {
        int mrc = rspamd_milter(r, milter);
        if (mrc == -1) {
            snprintf(why, whylen, "rspamd's milter headers are not what they should be");
            goto done;
        }
        if (mrc == -2) {
            rc = -2;
            goto done;
        }
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

/* Parse rspamd's reply (scanners.h). */
int
stm_rspamd_parse_reply(const char *reply, size_t len, stm_scan_result *r, char *why, size_t whylen)
{
    const char *p = reply, *end = reply + len;
    long content_length = -1;
    char line[2049];

    for (size_t nline = 0;; nline++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL) {
            snprintf(why, whylen, "rspamd's reply ends before its empty line");
            return -1;
        }
        size_t n = (size_t)(nl - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n >= sizeof line || memchr(p, '\0', n) != NULL || nline > RSPAMD_MAX_LINES) {
            snprintf(why, whylen, "rspamd's reply has a bad or too long line");
            return -1;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        if (nline == 0) {
            int code = 0;
            char text[200] = "";
            if (sscanf(line, "HTTP/1.%*1[01] %3d %199[^\n]", &code, text) < 1) {
                snprintf(why, whylen, "rspamd answered something else than HTTP");
                return -1;
            }
            if (code != 200) {
                char clean[200];
                stm_text_clean(clean, sizeof clean, text, 0, 0);
                snprintf(why, whylen, "rspamd answered HTTP %d %s", code, clean);
                return -1;
            }
            continue;
        }
        if (n == 0)
            break;
        char *colon = strchr(line, ':');
        if (colon == NULL) {
            snprintf(why, whylen, "rspamd's reply has a header line without a colon");
            return -1;
        }
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        if (strcasecmp(line, "Content-Length") == 0) {
            char *e;
            errno = 0;
            long cl = strtol(v, &e, 10);
            if (errno != 0 || cl < 0 || e == v) {
                snprintf(why, whylen, "rspamd's reply has a bad Content-Length");
                return -1;
            }
            content_length = cl;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0 && strcasecmp(v, "identity") != 0) {
            snprintf(why, whylen, "rspamd's reply uses a transfer encoding (%.40s)", v);
            return -1;
        }
    }
    size_t blen = (size_t)(end - p);
    if (content_length >= 0 && (size_t)content_length != blen) {
        snprintf(why, whylen, "rspamd's reply is %zu bytes, not its Content-Length %ld", blen,
                 content_length);
        return -1;
    }
    return rspamd_json(p, blen, r, why, whylen);
}

/* Append "NAME: VALUE\r\n" to BUF (a growing request) unless VALUE is
 * NULL or empty; control characters become spaces. 0 or -1. */
static int
rspamd_field(char **buf, size_t *len, size_t *cap, const char *name, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    size_t need = *len + strlen(name) + strlen(value) + 5;
    if (need > *cap) {
        size_t ncap = *cap ? *cap * 2 : 1024;
        while (ncap < need)
            ncap *= 2;
        char *g = realloc(*buf, ncap);
        if (g == NULL)
            return -1;
        *buf = g;
        *cap = ncap;
    }
    *len += (size_t)sprintf(*buf + *len, "%s: ", name);
    for (const char *c = value; *c; c++)
        (*buf)[(*len)++] = (unsigned char)*c < 32 || *c == 127 ? ' ' : *c;
    (*buf)[(*len)++] = '\r';
    (*buf)[(*len)++] = '\n';
    (*buf)[*len] = '\0';
    return 0;
}

/* The request head for target T and a body of BODYLEN bytes (caller
 * frees), its length in *LEN; NULL on memory exhaustion. */
static char *
rspamd_request(const stm_scan *scan, const stm_target *t, size_t bodylen, size_t *len)
{
    stm_session *s = scan->req.session;
    const stm_service *svc = scan->req.service;
    char *buf = NULL, num[32];
    size_t cap = 0;
    int bad = 0;

    *len = 0;
    snprintf(num, sizeof num, "%zu", bodylen);
    bad |= rspamd_field(&buf, len, &cap, "POST /checkv2 HTTP/1.1\r\nHost", t->host);
    bad |= rspamd_field(&buf, len, &cap, "Content-Length", num);
    bad |= rspamd_field(&buf, len, &cap, "Connection",
                        scan->conn.reuse && !t->implicit_tls ? "keep-alive" : "close");
    bad |= rspamd_field(&buf, len, &cap, "IP", stm_session_client_ip(s));
    bad |= rspamd_field(&buf, len, &cap, "Helo", stm_session_helo(s));
    const char *name = stm_session_client_name(s);
    if (name != NULL && strcmp(name, "unknown") != 0 && name[0] != '[')
        bad |= rspamd_field(&buf, len, &cap, "Hostname", name);
    const char *sender = stm_session_sender(s);
    bad |= rspamd_field(&buf, len, &cap, "From",
                        sender == NULL ? NULL : sender[0] == '\0' ? "<>" : sender);
    for (size_t i = 0; i < stm_session_rcpt_count(s); i++)
        bad |= rspamd_field(&buf, len, &cap, "Rcpt", stm_session_rcpt_at(s, i));
    bad |= rspamd_field(&buf, len, &cap, "Queue-Id", stm_session_queue_id(s));
    bad |= rspamd_field(&buf, len, &cap, "User", stm_session_macro(s, "auth_authen"));
    bad |= rspamd_field(&buf, len, &cap, "Password", svc->password);
    if (bad || buf == NULL) {
        free(buf);
        return NULL;
    }
    /* The empty line: room was kept by rspamd_field's +5. */
    char *g = realloc(buf, *len + 3);
    if (g == NULL) {
        free(buf);
        return NULL;
    }
    buf = g;
    memcpy(buf + *len, "\r\n", 3);
    *len += 2;
    return buf;
}

/* Send the request to the connected rspamd. 0, -1 (conn.ss->err), -2 memory. */
static int
rspamd_send(stm_scan *scan, const char *head, size_t hlen, const stm_message *msg)
{
    stm_smtp_session *ss = scan->conn.ss;
    const stm_service *svc = scan->req.service;
    size_t rlen = 0;
    char *req = rspamd_request(scan, ss->target, hlen + msg->body_len, &rlen);

    if (req == NULL)
        return -2;
    if (scan->req.ctx->transcript)
        stm_smtp_log(ss, "> POST /checkv2 HTTP/1.1 (%zu bytes)", hlen + msg->body_len);
    /* The request, the header block and a body in memory in one write:
     * rspamd then reads one piece, not three (each a wake-up of its worker). */
    size_t body = msg->spooled ? 0 : msg->body_len;
    char *all = realloc(req, rlen + hlen + body);
    if (all == NULL) {
        free(req);
        return -2;
    }
    memcpy(all + rlen, head, hlen);
    if (body > 0)
        memcpy(all + rlen + hlen, msg->body, body);
    int rc = stm_smtp_io_write(ss, STM_SMTP_PH_DATA, all, rlen + hlen + body,
                               stm_clock_ms() + svc->command_timeout_ms);
    if (rc == 0 && msg->spooled &&
        stm_scan_conn_write_body(&scan->conn, msg, svc->command_timeout_ms) != 0)
        rc = -1;
    free(all);
    return rc;
}

/* start(): the first target that takes the whole request. */
static int
rspamd_start(const stm_scan_request *req, stm_scan **out)
{
    const stm_service *svc = req->service;
    stm_message *msg = stm_session_message(req->session);
    stm_scan *scan = calloc(1, sizeof *scan);
    size_t hlen = 0;
    char *head = NULL;
    int rc = 0;

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
    scan->head = head;
    scan->hlen = hlen;
    for (size_t t = 0; t < svc->ntargets && !scan->sent && rc == 0; t++) {
        const stm_target *tg = &svc->targets[t];
        int s = -1;
        if (stm_scan_conn_open_reuse(&scan->conn, tg, tg->implicit_tls, &scan->reused) == 0)
            s = rspamd_send(scan, head, hlen, msg);
        if (s == -1 && scan->reused) {
            /* The kept connection is gone: a fresh one. */
            scan->reused = false;
            if (stm_scan_conn_open(&scan->conn, tg, tg->implicit_tls) == 0)
                s = rspamd_send(scan, head, hlen, msg);
        }
        if (s == 0) {
            scan->sent = true;
        } else {
            if (s == -2)
                rc = -1;
            snprintf(scan->why, sizeof scan->why, "%s", scan->conn.ss->err);
            stm_scan_conn_close(&scan->conn);
        }
    }
    stm_scan_conn_nopipe_end(&scan->conn);
    if (rc != 0) {
        stm_scan_conn_free(&scan->conn);
        free(scan->head);
        free(scan);
        return -1;
    }
    *out = scan;
    return 0;
}

/* rspamd's HTTP reply: status line, header lines, the JSON body. */
static const stm_scan_reply_shape rspamd_shape = {
    .max_lines = RSPAMD_MAX_LINES,
    .max_body = STM_RSPAMD_MAX_REPLY,
    .status = "HTTP/1.",
};

/* Read rspamd's reply; a "Connection: close", or a body that ends with the
 * connection, means the connection is not kept. */
static char *
rspamd_read(stm_scan *scan, uint64_t deadline, size_t *len)
{
    stm_scan_reply_info info;
    char *reply = stm_scan_conn_read_reply(&scan->conn, &rspamd_shape, deadline, len, &info);
    if (info.conn_close || info.to_close)
        scan->keep = false;
    return reply;
}

/* collect(): read and judge rspamd's reply. */
static int
rspamd_collect(stm_scan *scan, uint64_t deadline, stm_delegation *out, stm_scan_facts *facts)
{
    stm_smtp_session *ss = scan->conn.ss;
    char why[300];
    size_t len = 0;

    memset(facts, 0, sizeof *facts);
    out->result = STM_DELEGATION_FAILED;
    facts->target = ss->target != NULL ? ss->target->text : NULL;
    facts->tls = ss->tls;
    if (!scan->sent)
        return stm_scan_set_reply(out, scan->why);
    scan->keep = scan->conn.reuse;
    char *reply = rspamd_read(scan, deadline, &len);
    if (reply == NULL && scan->reused) {
        /* rspamd closed the kept connection meanwhile: once more, afresh. */
        const stm_message *msg = stm_session_message(scan->req.session);
        stm_smtp_log(ss, "service=%s %s: kept connection is gone, connecting again",
                     scan->req.service->name, ss->target->text);
        scan->reused = false;
        scan->keep = scan->conn.reuse;
        stm_scan_conn_nopipe_begin(&scan->conn);
        int s = stm_scan_conn_open(&scan->conn, ss->target, ss->target->implicit_tls);
        if (s == 0)
            s = rspamd_send(scan, scan->head, scan->hlen, msg);
        stm_scan_conn_nopipe_end(&scan->conn);
        if (s == 0)
            reply = rspamd_read(scan, deadline, &len);
    }
    facts->tls = scan->conn.sres.tls;
    if (reply == NULL) {
        stm_scan_conn_close(&scan->conn);
        return stm_scan_set_reply(out, ss->err);
    }
    int rc = stm_rspamd_parse_reply(reply, len, &out->scan, why, sizeof why);
    free(reply);
    if (rc == 0 && scan->keep)
        stm_scan_conn_keep(&scan->conn);
    else
        stm_scan_conn_close(&scan->conn);
    if (rc == -2)
        return -1;
    if (rc < 0) {
        stm_scan_result_clear(&out->scan);
        snprintf(scan->note, sizeof scan->note, "%s: %s", ss->target->text, why);
        return stm_scan_set_reply(out, scan->note);
    }
    snprintf(scan->note, sizeof scan->note, "action=%s score=%.2f required_score=%.2f",
             out->scan.action, out->scan.score, out->scan.required);
    if (scan->req.ctx->transcript)
        stm_smtp_log(ss, "< %s", scan->note);
    out->result = STM_DELEGATION_RETURNED;
    return stm_scan_set_reply(out, scan->note);
}

/* release(). */
static void
rspamd_release(stm_scan *scan)
{
    if (scan == NULL)
        return;
    stm_scan_conn_free(&scan->conn);
    free(scan->head);
    free(scan);
}

/* apply(): rspamd's milter headers: removals, then additions. */
static long
rspamd_apply(const stm_message *mine, const stm_delegation *d, bool whole, stm_header_edit **edits)
{
    const stm_scan_result *r = &d->scan;
    size_t cap = r->nadd + mine->nheaders + 2, n = 0;
    stm_header_edit *e = calloc(cap, sizeof *e);

    (void)whole;
    *edits = NULL;
    if (e == NULL)
        return -1;
    if (d->result != STM_DELEGATION_RETURNED) {
        free(e);
        return 0;
    }
    /* Removals from the last header up, so no index shifts under a later one. */
    for (size_t i = mine->nheaders; i-- > 0;) {
        const char *name = mine->headers[i].name;
        int idx = 0;
        for (size_t j = 0; j <= i; j++)
            idx += strcasecmp(mine->headers[j].name, name) == 0;
        for (size_t k = 0; k < r->nremove; k++)
            if (strcasecmp(r->remove[k].name, name) == 0 &&
                (r->remove[k].index == 0 || r->remove[k].index == idx)) {
                e[n++] = (stm_header_edit){STM_HEADER_DELETE, name, idx, NULL};
                break;
            }
    }
    for (size_t k = 0; k < r->nadd; k++)
        e[n++] = (stm_header_edit){STM_HEADER_ADD, r->add[k].name, 0, r->add[k].value};
    if (r->action != NULL && strcmp(r->action, "add header") == 0)
        e[n++] = (stm_header_edit){STM_HEADER_ADD, "X-Spam", 0, "Yes"};
    *edits = e;
    return (long)n;
}

const stm_service_ops stm_rspamd_ops = {
    .name = "rspamd",
    .start = rspamd_start,
    .collect = rspamd_collect,
    .release = rspamd_release,
    .apply = rspamd_apply,
    .waits_in_collect = true,
};
