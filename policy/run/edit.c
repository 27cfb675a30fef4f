/*
 * edit.c - the message changes effects queue in a session, resolved at the
 * end of the message into operations (include/stagemilter/edit.h,
 * run/edit.h).
 *
 * Functions: stm_session_add_edit, stm_session_edits_begin/_end/
 * _restart_helo/_free, stm_edit_pending, stm_edit_resolve,
 * stm_edit_ops_clear, stm_edit_ops_header, stm_edit_ops_rcpt_deleted,
 * stm_edit_ops_sender, stm_edit_prefix_subject.
 *
 * Resolution replays the queued changes, in the order the rules asked for
 * them, on a view of the received header (each field: unchanged, changed,
 * deleted) and of the envelope, then emits: header changes and deletions
 * (descending occurrence per name), header additions, recipients added,
 * recipients deleted, the sender. So two rules asking for the same
 * prefix_subject tag the subject once (the second sees it there), a
 * recipient added twice is added once, and the last change_sender wins.
 *
 * Ownership: queued changes copy their strings; the operations own theirs
 * (stm_edit_ops_clear). Errors: -1 on memory exhaustion; resolution fails
 * closed as edit.h says.
 */
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run/edit.h"
#include "run/session_internal.h"

/* Free the strings of ES and empty it (the array stays for reuse). */
static void
edits_clear(stm_edits *es, size_t from)
{
    for (size_t i = from; i < es->n; i++) {
        free(es->items[i].name);
        free(es->items[i].value);
    }
    es->n = from;
}

/* Append a copy of E to ES. */
static int
edits_push(stm_edits *es, const stm_edit *e)
{
    if (es->n == es->cap) {
        size_t cap = es->cap ? es->cap * 2 : 4;
        stm_edit *grown = realloc(es->items, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        es->items = grown;
        es->cap = cap;
    }
    stm_edit c = *e;
    c.name = e->name != NULL ? strdup(e->name) : NULL;
    c.value = e->value != NULL ? strdup(e->value) : NULL;
    if ((e->name != NULL && c.name == NULL) || (e->value != NULL && c.value == NULL)) {
        free(c.name);
        free(c.value);
        return -1;
    }
    es->items[es->n++] = c;
    return 0;
}

/* Queue a change asked for at STAGE. */
int
stm_session_add_edit(stm_session *s, stm_stage stage, stm_edit_kind kind, const char *name,
                     const char *value, int index, const stm_pattern *pattern)
{
    stm_edit e = {kind, (char *)name, (char *)value, index, pattern};
    if (stage == STM_STAGE_CONNECT || stage == STM_STAGE_HELO) {
        if (edits_push(&s->conn_edits, &e) < 0)
            return -1;
        if (stage == STM_STAGE_CONNECT)
            s->conn_edits.n_connect = s->conn_edits.n;
        if (!s->in_transaction)
            return 0;
    }
    return edits_push(&s->edits, &e);
}

/* A transaction starts: the connection's changes hold for it too. */
int
stm_session_edits_begin(stm_session *s)
{
    edits_clear(&s->edits, 0);
    for (size_t i = 0; i < s->conn_edits.n; i++)
        if (edits_push(&s->edits, &s->conn_edits.items[i]) < 0)
            return -1;
    return 0;
}

/* The transaction is over. */
void
stm_session_edits_end(stm_session *s)
{
    edits_clear(&s->edits, 0);
}

/* A new EHLO: forget what the previous helo stage asked for. */
void
stm_session_edits_restart_helo(stm_session *s)
{
    edits_clear(&s->conn_edits, s->conn_edits.n_connect);
}

/* The session goes. */
void
stm_session_edits_free(stm_session *s)
{
    edits_clear(&s->edits, 0);
    free(s->edits.items);
    edits_clear(&s->conn_edits, 0);
    free(s->conn_edits.items);
    memset(&s->edits, 0, sizeof s->edits);
    memset(&s->conn_edits, 0, sizeof s->conn_edits);
}

/* Changes queued for this transaction (or, before one, for every message
 * of the connection)? */
bool
stm_edit_pending(const stm_session *s)
{
    return s->edits.n > 0 || s->conn_edits.n > 0;
}

/* ---- RFC 2047 for prefix_subject ---- */

/* A growing NUL-terminated buffer; ok false once memory ran out. */
typedef struct edit_buf {
    char *p;
    size_t n, cap;
    bool ok;
} edit_buf;

static void
buf_add(edit_buf *b, const char *data, size_t len)
{
    if (!b->ok)
        return;
    if (b->n + len + 1 > b->cap) {
        size_t cap = (b->n + len + 1) * 2;
        char *grown = realloc(b->p, cap);
        if (grown == NULL) {
            b->ok = false;
            return;
        }
        b->p = grown;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int
b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decode the B or Q text T (LEN bytes) of an encoded word into B. */
static void
edit_decode_word_text(edit_buf *b, char enc, const char *t, size_t len)
{
    if (enc == 'Q' || enc == 'q') {
        for (size_t i = 0; i < len; i++) {
            char c = t[i];
            if (c == '_')
                c = ' ';
            else if (c == '=' && i + 2 < len && hexval((unsigned char)t[i + 1]) >= 0 &&
                     hexval((unsigned char)t[i + 2]) >= 0) {
                c = (char)(hexval((unsigned char)t[i + 1]) * 16 + hexval((unsigned char)t[i + 2]));
                i += 2;
            }
            buf_add(b, &c, 1);
        }
        return;
    }
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)t[i]);
        if (v < 0)
            continue; /* '=' padding and stray bytes */
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            char c = (char)((acc >> bits) & 0xff);
            buf_add(b, &c, 1);
        }
    }
}

/* Is CHARSET one whose bytes are UTF-8 already? */
static bool
edit_charset_utf8(const char *cs, size_t len)
{
    return (len == 5 && strncasecmp(cs, "utf-8", 5) == 0) ||
           (len == 4 && strncasecmp(cs, "utf8", 4) == 0) ||
           (len == 8 && strncasecmp(cs, "us-ascii", 8) == 0);
}

/* Append DATA (LEN bytes in charset CS) to OUT as UTF-8 (iconv for other
 * charsets; an unknown charset or a conversion error keeps the bytes). */
static void
edit_to_utf8(edit_buf *out, const char *cs, size_t cslen, const char *data, size_t len)
{
    char name[64];
    if (edit_charset_utf8(cs, cslen) || cslen >= sizeof name) {
        buf_add(out, data, len);
        return;
    }
    memcpy(name, cs, cslen);
    name[cslen] = '\0';
    iconv_t cd = iconv_open("UTF-8", name);
    if (cd == (iconv_t)-1) {
        buf_add(out, data, len);
        return;
    }
    char *in = (char *)data;
    size_t inleft = len;
    while (inleft > 0 && out->ok) {
        char chunk[256];
        char *o = chunk;
        size_t oleft = sizeof chunk;
        size_t r = iconv(cd, &in, &inleft, &o, &oleft);
        buf_add(out, chunk, (size_t)(o - chunk));
        if (r == (size_t)-1 && o == chunk) {
            buf_add(out, in, inleft); /* invalid input: keep the rest as it is */
            break;
        }
    }
    iconv_close(cd);
}

/* If P starts an encoded word (=?charset?B|Q?text?=), decode it into OUT
 * and return its length; else 0. */
static size_t
edit_encoded_word(const char *p, edit_buf *out)
{
    if (p[0] != '=' || p[1] != '?')
        return 0;
    const char *cs = p + 2, *q = strchr(cs, '?');
    if (q == NULL || q == cs || (q[1] != 'B' && q[1] != 'b' && q[1] != 'Q' && q[1] != 'q') ||
        q[2] != '?')
        return 0;
    const char *text = q + 3, *end = strstr(text, "?=");
    if (end == NULL)
        return 0;
    for (const char *c = cs; c < end; c++)
        if (*c == ' ' || *c == '\t' || *c == '\r' || *c == '\n')
            return 0;
    size_t cslen = (size_t)(q - cs);
    const char *star = memchr(cs, '*', cslen); /* RFC 2231 language */
    if (star != NULL)
        cslen = (size_t)(star - cs);
    edit_buf raw = {NULL, 0, 0, true};
    edit_decode_word_text(&raw, q[1], text, (size_t)(end - text));
    if (!raw.ok)
        out->ok = false;
    else if (raw.n > 0)
        edit_to_utf8(out, cs, cslen, raw.p, raw.n);
    free(raw.p);
    return (size_t)(end + 2 - p);
}

/* RAW unfolded and decoded to UTF-8 (RFC 2047: white space between two
 * encoded words is dropped). Caller frees; NULL out of memory. */
static char *
edit_decode(const char *raw)
{
    edit_buf out = {NULL, 0, 0, true};
    buf_add(&out, "", 0);
    bool after_word = false;
    const char *p = raw;
    while (*p) {
        const char *ws = p;
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        size_t wslen = (size_t)(p - ws);
        edit_buf word = {NULL, 0, 0, true};
        size_t wl = edit_encoded_word(p, &word);
        if (wl > 0) {
            if (!after_word || p == raw)
                for (const char *c = ws; c < p; c++)
                    if (*c != '\r' && *c != '\n')
                        buf_add(&out, c, 1);
            if (word.n > 0)
                buf_add(&out, word.p, word.n);
            out.ok = out.ok && word.ok;
            free(word.p);
            p += wl;
            after_word = true;
            continue;
        }
        free(word.p);
        for (const char *c = ws; c < ws + wslen; c++)
            if (*c != '\r' && *c != '\n')
                buf_add(&out, c, 1);
        /* One token of text: up to the next white space. */
        const char *t = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
        buf_add(&out, t, (size_t)(p - t));
        if (p > t)
            after_word = false;
    }
    if (!out.ok) {
        free(out.p);
        return NULL;
    }
    return out.p;
}

/* Is S printable ASCII (space and tab allowed)? */
static bool
edit_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 127 || ((unsigned char)*s < 32 && *s != '\t'))
            return false;
    return true;
}

/* Append PREFIX (LEN bytes of UTF-8) to B as encoded words of at most 45
 * bytes each (75 characters: RFC 2047), cut between UTF-8 characters and
 * separated by a space (dropped again by a decoder). */
static void
edit_encode(edit_buf *b, const char *s, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t off = 0;
    while (off < len) {
        size_t n = len - off > 45 ? 45 : len - off;
        while (off + n < len && n > 1 && ((unsigned char)s[off + n] & 0xc0) == 0x80)
            n--;
        if (off > 0)
            buf_add(b, " ", 1);
        buf_add(b, "=?UTF-8?B?", 10);
        for (size_t i = 0; i < n; i += 3) {
            unsigned v = (unsigned char)s[off + i] << 16;
            if (i + 1 < n)
                v |= (unsigned char)s[off + i + 1] << 8;
            if (i + 2 < n)
                v |= (unsigned char)s[off + i + 2];
            char q[4] = {b64[(v >> 18) & 63], b64[(v >> 12) & 63],
                         i + 1 < n ? b64[(v >> 6) & 63] : '=', i + 2 < n ? b64[v & 63] : '='};
            buf_add(b, q, 4);
        }
        buf_add(b, "?=", 2);
        off += n;
    }
}

/* The prefixed Subject (edit.h). */
int
stm_edit_prefix_subject(const char *raw, const char *prefix, char **out)
{
    *out = NULL;
    /* A field's leading white space is not part of its value (libmilter
     * and the MTAs drop it): neither the subject's nor the prefix's. */
    while (*raw == ' ' || *raw == '\t')
        raw++;
    while (*prefix == ' ' || *prefix == '\t')
        prefix++;
    size_t plen = strlen(prefix);
    if (plen == 0 || strncmp(raw, prefix, plen) == 0)
        return 0;
    char *decoded = edit_decode(raw);
    if (decoded == NULL)
        return -1;
    bool there = strncmp(decoded, prefix, plen) == 0;
    free(decoded);
    if (there)
        return 0;
    edit_buf b = {NULL, 0, 0, true};
    buf_add(&b, "", 0);
    bool raw_starts_word = edit_encoded_word(raw, &(edit_buf){NULL, 0, 0, false}) > 0;
    bool pascii = edit_ascii(prefix);
    bool ends_ws = prefix[plen - 1] == ' ' || prefix[plen - 1] == '\t';
    if (pascii && (!raw_starts_word || ends_ws)) {
        /* Text before text, or text and white space before an encoded word:
         * both decode to exactly PREFIX and the subject. */
        buf_add(&b, prefix, plen);
    } else if (!pascii && !raw_starts_word && !edit_ascii(raw) && raw[0] != '\0') {
        /* An 8-bit (SMTPUTF8) subject: UTF-8 before UTF-8. */
        buf_add(&b, prefix, plen);
    } else {
        /* Encoded words. Before an encoded word the white space between the
         * two is dropped by a decoder, so the prefix keeps its own trailing
         * space inside; before text, the prefix's last space is the
         * separator (without one, a decoder shows one space more). */
        size_t elen = plen;
        if (!raw_starts_word && raw[0] != '\0' && prefix[plen - 1] == ' ')
            elen--; /* one space: the separator written below */
        edit_encode(&b, prefix, elen);
        if (raw[0] != '\0')
            buf_add(&b, " ", 1);
    }
    buf_add(&b, raw, strlen(raw));
    if (!b.ok) {
        free(b.p);
        return -1;
    }
    *out = b.p;
    return 1;
}

/* ---- resolution ---- */

/* One received header field as the changes leave it. */
typedef struct edit_field {
    char *value; /* owned new value when changed */
    bool changed, deleted;
    int occ; /* 1-based occurrence among the fields of its name */
} edit_field;

/* A growing list of (name, value) pairs: header additions, recipients. */
typedef struct edit_pairs {
    stm_header *items;
    size_t n, cap;
} edit_pairs;

static int
pairs_add(edit_pairs *p, const char *name, const char *value)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        stm_header *grown = realloc(p->items, cap * sizeof *grown);
        if (grown == NULL)
            return -1;
        p->items = grown;
        p->cap = cap;
    }
    char *n = name ? strdup(name) : NULL, *v = strdup(value ? value : "");
    if ((name && n == NULL) || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    p->items[p->n++] = (stm_header){n, v};
    return 0;
}

static void
pairs_remove(edit_pairs *p, size_t i)
{
    free(p->items[i].name);
    free(p->items[i].value);
    memmove(&p->items[i], &p->items[i + 1], (p->n - i - 1) * sizeof p->items[0]);
    p->n--;
}

static void
pairs_free(edit_pairs *p)
{
    while (p->n > 0)
        pairs_remove(p, p->n - 1);
    free(p->items);
}

/* Append an operation to OUT (copies NAME and VALUE). */
static int
ops_push(stm_edit_ops *out, stm_edit_op_kind kind, const char *name, int index, const char *value)
{
    stm_edit_op *grown = realloc(out->ops, (out->n + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    out->ops = grown;
    stm_edit_op *op = &out->ops[out->n];
    op->kind = kind;
    op->index = index;
    op->name = name ? strdup(name) : NULL;
    op->value = value ? strdup(value) : NULL;
    if ((name && op->name == NULL) || (value && op->value == NULL)) {
        free(op->name);
        free(op->value);
        return -1;
    }
    out->n++;
    return 0;
}

/* Release the operations. */
void
stm_edit_ops_clear(stm_edit_ops *ops)
{
    for (size_t i = 0; i < ops->n; i++) {
        free(ops->ops[i].name);
        free(ops->ops[i].value);
    }
    free(ops->ops);
    ops->ops = NULL;
    ops->n = 0;
}

/* The field of NAME at occurrence OCC among F (the message's), or -1. */
static long
edit_find(const stm_message *msg, const edit_field *f, const char *name, int occ)
{
    for (size_t i = 0; i < msg->nheaders; i++)
        if (f[i].occ == occ && strcasecmp(msg->headers[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Is ADDR among the recipients as the changes so far leave them? */
static bool
edit_rcpt_present(const stm_session *s, const bool *deleted, const edit_pairs *added,
                  const char *addr)
{
    for (size_t i = 0; i < s->nrcpts; i++)
        if (!deleted[i] && strcasecmp(s->rcpts[i], addr) == 0)
            return true;
    for (size_t i = 0; i < added->n; i++)
        if (strcasecmp(added->items[i].value, addr) == 0)
            return true;
    return false;
}

/* Apply the header change E to the view. 0 or -1 (memory). */
static int
edit_header_change(const stm_message *msg, edit_field *f, edit_pairs *hadd, const stm_edit *e)
{
    long i = edit_find(msg, f, e->name, e->index);
    if (i < 0 || f[i].deleted) {
        /* No such occurrence (or it went): a value adds the field. */
        return e->value[0] != '\0' ? pairs_add(hadd, e->name, e->value) : 0;
    }
    if (e->value[0] == '\0') {
        f[i].deleted = true;
        return 0;
    }
    char *v = strdup(e->value);
    if (v == NULL)
        return -1;
    free(f[i].value);
    f[i].value = v;
    f[i].changed = true;
    return 0;
}

/* prefix_subject on the view: the first Subject still there, else one
 * being added, else a new one. */
static int
edit_header_prefix(const stm_message *msg, edit_field *f, edit_pairs *hadd, const char *prefix)
{
    char *nv = NULL;
    for (size_t i = 0; i < msg->nheaders; i++) {
        if (f[i].deleted || strcasecmp(msg->headers[i].name, "Subject") != 0)
            continue;
        int rc = stm_edit_prefix_subject(f[i].changed ? f[i].value : msg->headers[i].value,
                                         prefix, &nv);
        if (rc > 0) {
            free(f[i].value);
            f[i].value = nv;
            f[i].changed = true;
        }
        return rc < 0 ? -1 : 0;
    }
    for (size_t i = 0; i < hadd->n; i++) {
        if (strcasecmp(hadd->items[i].name, "Subject") != 0)
            continue;
        int rc = stm_edit_prefix_subject(hadd->items[i].value, prefix, &nv);
        if (rc > 0) {
            free(hadd->items[i].value);
            hadd->items[i].value = nv;
        }
        return rc < 0 ? -1 : 0;
    }
    if (stm_edit_prefix_subject("", prefix, &nv) < 0)
        return -1;
    /* No Subject: the prefix becomes one, without its trailing white space. */
    size_t n = nv ? strlen(nv) : 0;
    while (n > 0 && (nv[n - 1] == ' ' || nv[n - 1] == '\t'))
        nv[--n] = '\0';
    int rc = n > 0 ? pairs_add(hadd, "Subject", nv) : 0;
    free(nv);
    return rc;
}

/* Resolve the queued changes (edit.h). */
int
stm_edit_resolve(const stm_session *s, stm_edit_ops *out, char **err)
{
    const stm_message *msg = &s->message;
    edit_field *f = calloc(msg->nheaders + 1, sizeof *f);
    bool *rdel = calloc(s->nrcpts + 1, sizeof *rdel);
    edit_pairs hadd = {0}, radd = {0};
    const char *sender = NULL;
    int rc = -1;

    *err = NULL;
    out->ops = NULL;
    out->n = 0;
    if (f == NULL || rdel == NULL)
        goto done;
    for (size_t i = 0; i < msg->nheaders; i++)
        for (size_t j = 0; j <= i; j++)
            if (strcasecmp(msg->headers[j].name, msg->headers[i].name) == 0)
                f[i].occ++;
    for (size_t k = 0; k < s->edits.n; k++) {
        const stm_edit *e = &s->edits.items[k];
        bool header = e->kind == STM_EDIT_CHANGE_HEADER || e->kind == STM_EDIT_DELETE_HEADER ||
                      e->kind == STM_EDIT_PREFIX_SUBJECT;
        if (header && msg->headers_truncated) {
            *err = strdup("the header outgrew milter.max_message_size: not every field was "
                          "kept, so a header change could name the wrong one");
            goto done;
        }
        switch (e->kind) {
        case STM_EDIT_CHANGE_HEADER:
            if (edit_header_change(msg, f, &hadd, e) < 0)
                goto done;
            break;
        case STM_EDIT_DELETE_HEADER:
            for (size_t i = 0; i < msg->nheaders; i++)
                if (strcasecmp(msg->headers[i].name, e->name) == 0)
                    f[i].deleted = true;
            for (size_t i = hadd.n; i-- > 0;)
                if (strcasecmp(hadd.items[i].name, e->name) == 0)
                    pairs_remove(&hadd, i);
            break;
        case STM_EDIT_PREFIX_SUBJECT:
            if (edit_header_prefix(msg, f, &hadd, e->value) < 0)
                goto done;
            break;
        case STM_EDIT_ADD_RCPT:
            if (!edit_rcpt_present(s, rdel, &radd, e->value) &&
                pairs_add(&radd, NULL, e->value) < 0)
                goto done;
            break;
        case STM_EDIT_DELETE_RCPT:
            for (size_t i = 0; i < s->nrcpts; i++) {
                stm_match m = stm_pattern_match(e->pattern, s->rcpts[i], err);
                if (m == STM_MATCH_ERROR)
                    goto done;
                if (m == STM_MATCH_YES)
                    rdel[i] = true;
            }
            for (size_t i = radd.n; i-- > 0;) {
                stm_match m = stm_pattern_match(e->pattern, radd.items[i].value, err);
                if (m == STM_MATCH_ERROR)
                    goto done;
                if (m == STM_MATCH_YES)
                    pairs_remove(&radd, i);
            }
            break;
        case STM_EDIT_CHANGE_SENDER:
            sender = e->value;
            break;
        }
    }
    /* Changes and deletions, last field first: none moves another. */
    for (size_t i = msg->nheaders; i-- > 0;) {
        if (f[i].deleted) {
            if (ops_push(out, STM_EDIT_OP_HEADER_DELETE, msg->headers[i].name, f[i].occ, NULL) < 0)
                goto done;
        } else if (f[i].changed && ops_push(out, STM_EDIT_OP_HEADER_CHANGE, msg->headers[i].name,
                                            f[i].occ, f[i].value) < 0) {
            goto done;
        }
    }
    for (size_t i = 0; i < hadd.n; i++)
        if (ops_push(out, STM_EDIT_OP_HEADER_ADD, hadd.items[i].name, 0, hadd.items[i].value) < 0)
            goto done;
    for (size_t i = 0; i < radd.n; i++)
        if (ops_push(out, STM_EDIT_OP_RCPT_ADD, NULL, 0, radd.items[i].value) < 0)
            goto done;
    for (size_t i = 0; i < s->nrcpts; i++)
        if (rdel[i] && ops_push(out, STM_EDIT_OP_RCPT_DELETE, NULL, 0, s->rcpts[i]) < 0)
            goto done;
    if (sender != NULL && ops_push(out, STM_EDIT_OP_SENDER, NULL, 0, sender) < 0)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        stm_edit_ops_clear(out);
    if (f != NULL)
        for (size_t i = 0; i < msg->nheaders; i++)
            free(f[i].value);
    free(f);
    free(rdel);
    pairs_free(&hadd);
    pairs_free(&radd);
    return rc;
}

/* The operation on occurrence INDEX of NAME. */
const stm_edit_op *
stm_edit_ops_header(const stm_edit_ops *ops, const char *name, int index)
{
    for (size_t i = 0; i < ops->n; i++)
        if ((ops->ops[i].kind == STM_EDIT_OP_HEADER_CHANGE ||
             ops->ops[i].kind == STM_EDIT_OP_HEADER_DELETE) &&
            ops->ops[i].index == index && strcasecmp(ops->ops[i].name, name) == 0)
            return &ops->ops[i];
    return NULL;
}

/* Is RCPT deleted? */
bool
stm_edit_ops_rcpt_deleted(const stm_edit_ops *ops, const char *rcpt)
{
    for (size_t i = 0; i < ops->n; i++)
        if (ops->ops[i].kind == STM_EDIT_OP_RCPT_DELETE && strcmp(ops->ops[i].value, rcpt) == 0)
            return true;
    return false;
}

/* The new sender, or NULL. */
const char *
stm_edit_ops_sender(const stm_edit_ops *ops)
{
    for (size_t i = 0; i < ops->n; i++)
        if (ops->ops[i].kind == STM_EDIT_OP_SENDER)
            return ops->ops[i].value;
    return NULL;
}
