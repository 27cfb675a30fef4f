/*
 * template.c - texts with ${...} variables (template.h), compiled once when a
 * policy loads and expanded whenever a rule needs them. The values come
 * from a lookup the caller passes (the session's is stm_session_lookup), so
 * templates know nothing of sessions.
 *
 * Functions: stm_template_compile, stm_template_free, stm_template_source,
 * stm_template_is_constant, stm_template_expand.
 *
 * Variables and what they expand to:
 *   client_ip client_port client_name server_ip server_port server_id helo
 *                the connection facts ("" when unknown; client_ip after
 *                set_sender_ip is the new address)
 *   id           the connection's log id
 *   queue_id     the MTA's queue id ("" before the MTA gave one)
 *   sender       the envelope sender without brackets; "<>" for the null
 *                sender, "" outside a transaction
 *   rcpt         at the rcpt stage the recipient being judged; at other
 *                stages the accepted recipients joined with ", "
 *   var.NAME     a variable set by a `set` effect ("" when unset)
 *   reply        the latest delegation's reply text (inside a delegate's
 *                rules: that delegation's)
 *   dnsbl_zone dnsbl_address dnsbl_text
 *                the last dnsbl condition that found its item listed in
 *                this connection: its zone, A record and TXT record
 *   virus        the virus a scanner named (inside a delegate's rules: that
 *                delegation's; else the latest that named one)
 *   spam_score   the score spamd or rspamd gave, as "%.2f" (same scope)
 *   score        the message's score (add_score), as "%.2f"
 * "$$" is a literal "$"; any other "$" not starting "${" is an error, so a
 * typo like "$client_ip" is caught when the policy loads.
 *
 * The expansion is safe for a reply line or a header value: every control
 * character (CR, LF, TAB, NUL, DEL, ...) becomes a space, and the result is
 * capped at STM_TEMPLATE_MAX bytes, cut on a UTF-8 character boundary.
 *
 * Ownership: the caller owns compiled templates and expansions. Errors:
 * compile reports a malloc'd message and the 0-based offset of the problem;
 * expand returns NULL only on memory exhaustion.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/template.h"
#include "stagemilter/limits.h"

/* Longest expansion: the longest header line RFC 5322 allows. */

/* A part is literal text or one of template.h's variables. */
#define TPL_LITERAL (-1)

static const struct {
    const char *name;
    stm_template_var var;
} tpl_names[] = {
    {"client_ip", STM_TPL_CLIENT_IP},
    {"client_port", STM_TPL_CLIENT_PORT},
    {"client_name", STM_TPL_CLIENT_NAME},
    {"server_ip", STM_TPL_SERVER_IP},
    {"server_port", STM_TPL_SERVER_PORT},
    {"server_id", STM_TPL_SERVER_ID},
    {"id", STM_TPL_ID},
    {"queue_id", STM_TPL_QUEUE_ID},
    {"helo", STM_TPL_HELO},
    {"sender", STM_TPL_SENDER},
    {"rcpt", STM_TPL_RCPT},
    {"reply", STM_TPL_REPLY},
    {"rate", STM_TPL_RATE},
    {"dnsbl_zone", STM_TPL_DNSBL_ZONE},
    {"dnsbl_address", STM_TPL_DNSBL_ADDRESS},
    {"dnsbl_text", STM_TPL_DNSBL_TEXT},
    {"subject", STM_TPL_SUBJECT},
    {"attachments", STM_TPL_ATTACHMENTS},
    {"url_domains", STM_TPL_URL_DOMAINS},
    {"virus", STM_TPL_VIRUS},
    {"spam_score", STM_TPL_SPAM_SCORE},
    {"score", STM_TPL_SCORE},
};

typedef struct tpl_part {
    int var;    /* TPL_LITERAL or a stm_template_var */
    char *text; /* TPL_LITERAL: the text; STM_TPL_VAR: the variable name */
} tpl_part;

struct stm_template {
    char *source;
    tpl_part *parts;
    size_t nparts;
    int nvars;
};

/* A growing output buffer; on failure `failed` is set and appends stop. */
typedef struct tpl_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed;
} tpl_buf;

/* Append LEN bytes of P to B. */
static void
tpl_buf_add(tpl_buf *b, const char *p, size_t len)
{
    if (b->failed || len == 0)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
}

/* Append the string S (NULL appends nothing) to B. */
static void
tpl_buf_adds(tpl_buf *b, const char *s)
{
    if (s != NULL)
        tpl_buf_add(b, s, strlen(s));
}

/* Format an error into *ERRMSG and the offset into *ERROFFSET. */
static void __attribute__((format(printf, 4, 5)))
tpl_error(char **errmsg, size_t *erroffset, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    *errmsg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (*errmsg != NULL) {
        va_start(ap, fmt);
        vsnprintf(*errmsg, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    *erroffset = offset;
}

/* Append a part to T; TEXT is taken over (freed on failure). */
static int
tpl_add_part(stm_template *t, int var, char *text)
{
    tpl_part *p = realloc(t->parts, (t->nparts + 1) * sizeof *p);
    if (p == NULL) {
        free(text);
        return -1;
    }
    t->parts = p;
    t->parts[t->nparts].var = var;
    t->parts[t->nparts].text = text;
    t->nparts++;
    if (var != TPL_LITERAL)
        t->nvars++;
    return 0;
}

/* Is C allowed in a variable name after "var."? */
static int
tpl_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* Compile TEXT into literal parts and variable references. */
stm_template *
stm_template_compile(const char *text, char **errmsg, size_t *erroffset)
{
    stm_template *t = calloc(1, sizeof *t);
    tpl_buf lit = {0};
    *errmsg = NULL;
    *erroffset = 0;
    if (t == NULL || (t->source = strdup(text)) == NULL)
        goto fail;
    for (const char *p = text; *p != '\0';) {
        if (*p != '$') {
            const char *q = strchr(p, '$');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            tpl_buf_add(&lit, p, n);
            p += n;
            continue;
        }
        size_t off = (size_t)(p - text);
        if (p[1] == '$') {
            tpl_buf_add(&lit, "$", 1);
            p += 2;
            continue;
        }
        if (p[1] != '{') {
            tpl_error(errmsg, erroffset, off,
                      "'$' must start ${variable}; write $$ for a literal '$'");
            goto fail;
        }
        const char *close = strchr(p + 2, '}');
        if (close == NULL) {
            tpl_error(errmsg, erroffset, off, "unterminated ${...}");
            goto fail;
        }
        char *name = strndup(p + 2, (size_t)(close - p - 2));
        if (name == NULL)
            goto fail;
        int var = TPL_LITERAL;
        char *arg = NULL;
        if (strncmp(name, "var.", 4) == 0) {
            const char *v = name + 4;
            int ok = *v != '\0';
            for (const char *c = v; *c != '\0'; c++)
                ok = ok && tpl_name_char(*c);
            if (!ok) {
                tpl_error(errmsg, erroffset, off, "bad variable name in ${%s}", name);
                free(name);
                goto fail;
            }
            var = STM_TPL_VAR;
            arg = strdup(v);
            if (arg == NULL) {
                free(name);
                goto fail;
            }
        } else {
            for (size_t i = 0; i < sizeof tpl_names / sizeof tpl_names[0]; i++)
                if (strcmp(name, tpl_names[i].name) == 0)
                    var = tpl_names[i].var;
            if (var == TPL_LITERAL) {
                tpl_error(errmsg, erroffset, off, "unknown variable ${%s}", name);
                free(name);
                goto fail;
            }
        }
        free(name);
        if (lit.failed)
            goto fail;
        if (lit.len > 0) {
            if (tpl_add_part(t, TPL_LITERAL, lit.data) < 0) {
                free(arg);
                lit.data = NULL;
                goto fail;
            }
            memset(&lit, 0, sizeof lit);
        }
        if (tpl_add_part(t, var, arg) < 0)
            goto fail;
        p = close + 1;
    }
    if (lit.failed)
        goto fail;
    if (lit.len > 0) {
        if (tpl_add_part(t, TPL_LITERAL, lit.data) < 0) {
            lit.data = NULL;
            goto fail;
        }
        lit.data = NULL;
    }
    return t;
fail:
    /* Problems in the text have their message; what has none ran out of memory. */
    if (*errmsg == NULL)
        *errmsg = strdup("out of memory");
    free(lit.data);
    stm_template_free(t);
    return NULL;
}

/* Free T. */
void
stm_template_free(stm_template *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nparts; i++)
        free(t->parts[i].text);
    free(t->parts);
    free(t->source);
    free(t);
}

/* The text as written. */
const char *
stm_template_source(const stm_template *t)
{
    return t->source;
}

/* 1 when T holds no variable. */
int
stm_template_is_constant(const stm_template *t)
{
    return t->nvars == 0;
}

/* Append the value of PART to B: every value LOOKUP gives for it, joined
 * with ", " (only ${rcpt} outside the rcpt stage has more than one). */
static void
tpl_expand_part(tpl_buf *b, const tpl_part *part, stm_template_lookup *lookup, const void *ctx)
{
    if (part->var == TPL_LITERAL) {
        tpl_buf_adds(b, part->text);
        return;
    }
    const char *v;
    for (size_t i = 0; b->len <= STM_TEMPLATE_MAX &&
                       (v = lookup(ctx, (stm_template_var)part->var, part->text, i)) != NULL;
         i++) {
        if (i > 0)
            tpl_buf_add(b, ", ", 2);
        tpl_buf_adds(b, v);
    }
}

/* Expand T with the values LOOKUP gives: sanitised, capped, caller owns. */
char *
stm_template_expand(const stm_template *t, stm_template_lookup *lookup, const void *ctx)
{
    tpl_buf b = {0};
    for (size_t i = 0; i < t->nparts && b.len <= STM_TEMPLATE_MAX; i++)
        tpl_expand_part(&b, &t->parts[i], lookup, ctx);
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    if (b.data == NULL)
        return strdup("");
    if (b.len > STM_TEMPLATE_MAX) {
        size_t n = STM_TEMPLATE_MAX;
        /* Do not leave half a UTF-8 sequence: when the cut falls inside one,
         * cut before its lead byte. A sequence is at most 4 bytes, so look
         * back at most 3; a longer run of continuation bytes is not UTF-8
         * and is cut where it is, not backed over. */
        size_t k = n;
        while (k > 0 && n - k < 3 && ((unsigned char)b.data[k] & 0xC0) == 0x80)
            k--;
        if (k < n && ((unsigned char)b.data[k] & 0xC0) == 0xC0)
            n = k;
        b.len = n;
        b.data[n] = '\0';
    }
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.data[i];
        if (c < 0x20 || c == 0x7f)
            b.data[i] = ' ';
    }
    return b.data;
}
