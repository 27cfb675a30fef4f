/*
 * cond_message.c - conditions on the whole message, known at preq and postq:
 * header, has_header, body, size (cond_table.h).
 *
 * Functions: stm_cond_message_parse_has_header, stm_cond_message_parse_size,
 * stm_cond_message_header, stm_cond_message_has_header,
 * stm_cond_message_body, stm_cond_message_size. header is parsed by
 * stm_cond_parse_named and body by stm_cond_parse_pattern (cond_parse.c).
 *
 * Semantics (DESIGN.md, Conditions): header matches when any header field
 * of that name matches. Inside a delegate's rules header, has_header and
 * body look at the copy the scanner returned when it did, else at the MTA's
 * copy (ctx->msg); size is always the MTA's copy.
 *
 * Ownership: parsed conditions belong to the caller (stm_cond_free()).
 * Errors: parse errors go to the loader's diag. A body condition on a body
 * that was not kept, or a header condition on a header that was not kept
 * whole (larger than milter.max_message_size), cannot be answered, nor can
 * a regex that hit its limits: STM_COND_ERROR, and the engine applies
 * milter.on_error.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cond/cond_table.h"
#include "read/reader.h"
#include "match/units.h"

/* has_header: NAME */
stm_cond *
stm_cond_message_parse_has_header(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                                  const stm_yt_node *key, const stm_yt_node *v,
                                  const stm_config_scope *scope)
{
    (void)scope;
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return NULL;
    bool ok = v->text[0] != '\0';
    for (const unsigned char *ch = (const unsigned char *)v->text; *ch; ch++)
        ok = ok && *ch > 32 && *ch < 127 && *ch != ':';
    if (!ok) {
        stm_config_error(ld, v, "has_header: '%s' is not a valid header field name", v->text);
        return NULL;
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL && (c->name = strdup(v->text)) == NULL)
        stm_config_error(ld, v, "out of memory");
    return c;
}

/* size: ">10M" (ops > >= < <= =). */
stm_cond *
stm_cond_message_parse_size(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                            const stm_yt_node *key, const stm_yt_node *v,
                            const stm_config_scope *scope)
{
    static const struct {
        const char *op;
        stm_size_op value;
    } ops[] = {{">=", STM_SIZE_GE},
               {"<=", STM_SIZE_LE},
               {">", STM_SIZE_GT},
               {"<", STM_SIZE_LT},
               {"=", STM_SIZE_EQ}};
    (void)scope;
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return NULL;
    const char *t = v->text;
    size_t i;
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strncmp(t, ops[i].op, strlen(ops[i].op)) == 0)
            break;
    if (i == sizeof ops / sizeof ops[0]) {
        stm_config_error(ld, v, "size must be %s (>, >=, <, <=, =), not '%s'", row->value, t);
        return NULL;
    }
    size_t off = strlen(ops[i].op);
    while (t[off] == ' ')
        off++;
    uint64_t bytes;
    const char *err = NULL;
    if (stm_units_size(t + off, &bytes, &err) < 0) {
        stm_config_error_in(ld, v, off, "size: bad size '%s': %s", t + off, err ? err : "invalid");
        return NULL;
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL) {
        c->size_op = ops[i].value;
        c->size = bytes;
    }
    return c;
}

/* The run-time failure of a header condition on a message whose header
 * was not kept whole (it outgrew milter.max_message_size): judging the
 * fields that were kept could miss the one that matters. */
static stm_cond_result
cond_message_headers_cut(char **err)
{
    return stm_cond_eval_error(err, "header condition on a message whose header is larger than "
                                    "milter.max_message_size (not all fields kept)");
}

/* header: a field of that name whose value matches. */
stm_cond_result
stm_cond_message_header(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    const stm_message *msg = ctx->msg;
    if (msg->headers_truncated)
        return cond_message_headers_cut(err);
    stm_cond_result r = STM_COND_FALSE;
    for (size_t i = 0; i < msg->nheaders && r != STM_COND_TRUE; i++) {
        if (strcasecmp(msg->headers[i].name, c->name) != 0)
            continue;
        char *why = NULL;
        stm_match m = stm_pattern_match(c->pattern, msg->headers[i].value, &why);
        stm_cond_any_of(&r, err, m, why);
    }
    return r;
}

/* has_header: a field of that name exists. */
stm_cond_result
stm_cond_message_has_header(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (ctx->msg->headers_truncated)
        return cond_message_headers_cut(err);
    return stm_message_find_header(ctx->msg, c->name) != NULL;
}

/* The windows a spooled body is searched in (stagemilter.yaml(5),
 * raw_body): each starts at a line start where one is near, and overlaps
 * the one before by at least COND_BODY_OVERLAP bytes. */
#define COND_BODY_WINDOW (256u * 1024)
#define COND_BODY_OVERLAP (16u * 1024)
#define COND_BODY_CONTEXT 255u /* bytes before a window, for lookbehinds */

/* PAT against the spooled body of MSG, a window at a time, each with up to
 * COND_BODY_CONTEXT bytes before it (stm_pattern_match_window). */
static stm_match
cond_message_body_spooled(const stm_pattern *pat, const stm_message *msg, char **err)
{
    char *buf = malloc(COND_BODY_CONTEXT + COND_BODY_WINDOW);
    stm_match m = STM_MATCH_NO;
    uint64_t off = 0; /* where the window starts in the body */

    if (buf == NULL) {
        *err = strdup("out of memory reading the spooled body");
        return STM_MATCH_ERROR;
    }
    while (m == STM_MATCH_NO && off < msg->body_len) {
        size_t context = off < COND_BODY_CONTEXT ? (size_t)off : COND_BODY_CONTEXT;
        size_t want = context + COND_BODY_WINDOW, got = 0;
        while (got < want) {
            const char *p;
            ssize_t n = stm_message_body_at(msg, off - context + got, buf + got, want - got, &p);
            if (n < 0) {
                char why[200];
                snprintf(why, sizeof why, "cannot read the spooled body: %s", strerror(errno));
                *err = strdup(why);
                free(buf);
                return STM_MATCH_ERROR;
            }
            if (n == 0)
                break;
            got += (size_t)n;
        }
        bool more = off - context + got < msg->body_len;
        m = stm_pattern_match_window(pat, buf, got, context, more, err);
        if (!more)
            break;
        /* The next window starts after the last line end of the 16 KiB
         * before the overlap: at least COND_BODY_OVERLAP bytes of this one
         * are searched again (a line end inside the overlap would leave
         * less, and miss a match across it). */
        const char *win = buf + context;
        size_t from = COND_BODY_WINDOW - COND_BODY_OVERLAP;
        const char *nl = memrchr(win + from - COND_BODY_OVERLAP, '\n', COND_BODY_OVERLAP);
        off += nl != NULL ? (size_t)(nl - win) + 1 : from;
    }
    free(buf);
    return m;
}

/* body: the pattern matches the body as kept (in memory, or spooled). */
stm_cond_result
stm_cond_message_body(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    const stm_message *msg = ctx->msg;
    if (msg->truncated)
        return stm_cond_eval_error(err, "body condition on a message larger than "
                                        "milter.max_message_size (body not kept)");
    if (msg->spooled)
        return stm_cond_of_match(cond_message_body_spooled(c->pattern, msg, err));
    return stm_cond_of_match(
        stm_pattern_match_buf(c->pattern, msg->body ? msg->body : "", msg->body_len, err));
}

/* size: the message's size compared with the operand. */
stm_cond_result
stm_cond_message_size(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    uint64_t size = ctx->s->message.size;
    (void)err;
    switch (c->size_op) {
    case STM_SIZE_GT:
        return size > c->size;
    case STM_SIZE_GE:
        return size >= c->size;
    case STM_SIZE_LT:
        return size < c->size;
    case STM_SIZE_LE:
        return size <= c->size;
    case STM_SIZE_EQ:
        return size == c->size;
    }
    return STM_COND_FALSE;
}
