/*
 * reply.c - SMTP replies: read one (bounded in lines and line length),
 * parse it into code, enhanced code and text, send a command and read its
 * reply, copy and clear (smtp_client.h, session.h).
 *
 * Functions: stm_smtp_parse_reply, stm_smtp_reply_read,
 * stm_smtp_reply_command, stm_smtp_reply_copy, stm_smtp_reply_clear,
 * stm_smtp_reply_forget.
 *
 * The lines of the last reply stay in the session (for EHLO parsing) until
 * the next reply or stm_smtp_reply_forget().
 *
 * Ownership: a stm_smtp_reply owns its text; stm_smtp_reply_clear() frees it.
 *
 * Errors: -1 with s->err set (malformed, too long, timeout, closed).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "delegate/smtp/session.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"

/* Free the reply lines kept from the last reply. */
void
stm_smtp_reply_forget(stm_smtp_session *s)
{
    for (size_t i = 0; i < s->nlines; i++)
        free(s->lines[i]);
    s->nlines = 0;
}

/* Free what a reply owns and empty it. */
void
stm_smtp_reply_clear(stm_smtp_reply *r)
{
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* Parse an enhanced status code "C.SSS.DDD " at the start of TEXT for reply
 * class CLS. Returns its length including the space, or 0. */
static size_t
reply_enhanced_len(const char *text, char cls)
{
    size_t i = 0, parts = 0;

    if (text[0] != cls || text[1] != '.')
        return 0;
    i = 2;
    for (parts = 1; parts < 3; parts++) {
        size_t d = 0;
        while (text[i + d] >= '0' && text[i + d] <= '9' && d < 3)
            d++;
        if (d == 0)
            return 0;
        i += d;
        if (parts == 1) {
            if (text[i] != '.')
                return 0;
            i++;
        }
    }
    if (text[i] == '\0')
        return i;
    if (text[i] != ' ' || i > 15)
        return 0;
    return i + 1;
}

/* Parse reply LINES into R (see smtp_client.h). */
int
stm_smtp_parse_reply(const char *const *lines, size_t nlines, stm_smtp_reply *r)
{
    size_t total = 1;

    memset(r, 0, sizeof *r);
    if (nlines == 0)
        return -1;
    for (size_t i = 0; i < nlines; i++) {
        const char *l = lines[i];
        size_t n = strlen(l);
        if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
            l[2] > '9')
            return -1;
        if (strncmp(l, lines[0], 3) != 0)
            return -1;
        bool last = i + 1 == nlines;
        if (last ? (n > 3 && l[3] != ' ') : (n < 4 || l[3] != '-'))
            return -1;
        total += n + 1;
    }
    r->code = (lines[0][0] - '0') * 100 + (lines[0][1] - '0') * 10 + (lines[0][2] - '0');
    r->text = malloc(total);
    if (r->text == NULL)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < nlines; i++) {
        const char *t = strlen(lines[i]) > 4 ? lines[i] + 4 : "";
        size_t el = reply_enhanced_len(t, lines[0][0]);
        if (el > 0) {
            if (r->enhanced[0] == '\0') {
                size_t cl = el;
                while (cl > 0 && (t[cl - 1] == ' ' || t[cl - 1] == '\0'))
                    cl--;
                memcpy(r->enhanced, t, cl);
                r->enhanced[cl] = '\0';
            }
            t += el;
        }
        if (o > 0 && t[0] != '\0')
            r->text[o++] = ' ';
        size_t tl = strlen(t);
        memcpy(r->text + o, t, tl);
        o += tl;
    }
    r->text[o] = '\0';
    return 0;
}

/* Read one complete reply before DEADLINE into R (cleared first). Keeps the
 * lines for EHLO parsing. 0, or -1 with s->err set. */
int
stm_smtp_reply_read(stm_smtp_session *s, stm_smtp_phase phase, uint64_t deadline, stm_smtp_reply *r)
{
    char line[STM_SMTP_MAX_LINE + 1];

    stm_smtp_reply_clear(r);
    stm_smtp_reply_forget(s);
    for (;;) {
        int n = stm_smtp_io_read_line(s, phase, line, deadline);
        if (n < 0)
            return -1;
        if (s->nlines == STM_SMTP_MAX_REPLY_LINES) {
            stm_smtp_fail(s, phase, "reply longer than %d lines", STM_SMTP_MAX_REPLY_LINES);
            return -1;
        }
        if (s->req->transcript) {
            char clean[300];
            stm_text_clean(clean, sizeof clean, line, 0, STM_TEXT_ELLIPSIS);
            stm_smtp_log(s, "< %s", clean);
        }
        s->lines[s->nlines] = strdup(line);
        if (s->lines[s->nlines] == NULL) {
            stm_smtp_fail(s, phase, "out of memory");
            return -1;
        }
        s->nlines++;
        if (n <= 3 || line[3] != '-')
            break;
    }
    if (stm_smtp_parse_reply((const char *const *)s->lines, s->nlines, r) != 0) {
        stm_smtp_fail(s, phase, "malformed reply \"%s\"", s->lines[s->nlines - 1]);
        return -1;
    }
    return 0;
}

/* Send a command line (CRLF added) and read its reply into R. SHOWN is what
 * the transcript shows instead of a secret, or NULL. 0 or -1. */
int
stm_smtp_reply_command(stm_smtp_session *s, stm_smtp_phase phase, const char *cmd,
                       const char *shown, stm_smtp_reply *r)
{
    uint64_t deadline = stm_clock_ms() + s->svc->command_timeout_ms;
    size_t n = strlen(cmd);
    char *buf = malloc(n + 3);

    if (buf == NULL) {
        stm_smtp_fail(s, phase, "out of memory");
        return -1;
    }
    memcpy(buf, cmd, n);
    memcpy(buf + n, "\r\n", 3);
    if (s->req->transcript) {
        char clean[300];
        stm_text_clean(clean, sizeof clean, shown != NULL ? shown : cmd, 0, STM_TEXT_ELLIPSIS);
        stm_smtp_log(s, "> %s", clean);
    }
    int rc = stm_smtp_io_write(s, phase, buf, n + 2, deadline);
    OPENSSL_cleanse(buf, n + 2);
    free(buf);
    if (rc != 0)
        return -1;
    return stm_smtp_reply_read(s, phase, deadline, r);
}

/* Copy REPLY into the result's deciding reply. 0 or -1. */
int
stm_smtp_reply_copy(stm_smtp_reply *dst, const stm_smtp_reply *src)
{
    stm_smtp_reply_clear(dst);
    dst->code = src->code;
    memcpy(dst->enhanced, src->enhanced, sizeof dst->enhanced);
    dst->text = strdup(src->text ? src->text : "");
    return dst->text ? 0 : -1;
}
