/*
 * cond_mime.c - conditions on what is inside the message, known at preq
 * and postq (cond_table.h; DESIGN.md "Seeing inside the message"):
 * subject, header (decoded), body (decoded text), attachment, url,
 * url_domain, mime_defect. raw_header and raw_body keep the bytes as
 * received and are judged by cond_message.c.
 *
 * Functions: stm_cond_mime_parse_attachment, stm_cond_mime_parse_defect,
 * stm_cond_mime_subject, stm_cond_mime_header, stm_cond_mime_body,
 * stm_cond_mime_attachment, stm_cond_mime_url, stm_cond_mime_url_domain,
 * stm_cond_mime_defect.
 *
 * The message is parsed once, when the first of these conditions is
 * judged, and the parse is cached on the message (policy/mime); subject and
 * header decode only the fields they look at, without the parse. Inside a
 * delegate's rules they look at the copy the scanner returned when it did.
 *
 * An attachment condition is one node whose children hold its keys: each
 * child's name is the key (name, type, detected_type, size, in_archive,
 * encrypted) and its pattern, size or flag the value; children are never
 * judged through the engine.
 *
 * Ownership: parsed conditions belong to the caller (stm_cond_free()).
 * Errors: parse errors go to the loader's diag. A message whose body or
 * header was not kept whole (larger than milter.max_message_size), a regex
 * that hit its limits, or memory running out while parsing: STM_COND_ERROR,
 * and the engine applies milter.on_error. A limit of milter.mime reached is
 * not an error: the defect `limit`, and what was parsed counts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cond/cond_table.h"
#include "mime/mime.h"
#include "read/reader.h"

/* The keys of attachment:. */
static const char *const cond_mime_attachment_keys[] = {
    "name", "type", "detected_type", "size", "in_archive", "encrypted", NULL};

/* attachment: {name, type, detected_type, size, in_archive, encrypted}. */
stm_cond *
stm_cond_mime_parse_attachment(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                               const stm_yt_node *key, const stm_yt_node *v,
                               const stm_config_scope *scope)
{
    static const stm_cond_row nocase = {.key = "attachment", .value = "a pattern",
                                        .pattern = STM_PAT_NOCASE};
    static const stm_cond_row size_row = {.key = "attachment", .value = "a comparison like \">10M\""};
    if (stm_config_expect(ld, v, STM_YT_MAP, row->key) < 0)
        return NULL;
    if (v->npairs == 0) {
        stm_config_error(ld, v, "attachment needs at least one of name, type, detected_type, "
                                "size, in_archive, encrypted");
        return NULL;
    }
    stm_config_check_keys(ld, v, "attachment", cond_mime_attachment_keys);
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < v->npairs; i++) {
        const stm_yt_node *k = v->pairs[i].key, *val = v->pairs[i].value;
        const char *name = k->text;
        stm_cond *child = NULL;
        bool b;
        if (strcmp(name, "name") == 0 || strcmp(name, "type") == 0 ||
            strcmp(name, "detected_type") == 0) {
            child = stm_cond_parse_pattern(ld, &nocase, type, k, val, scope);
        } else if (strcmp(name, "size") == 0) {
            child = stm_cond_message_parse_size(ld, &size_row, type, k, val, scope);
        } else if (strcmp(name, "in_archive") == 0 || strcmp(name, "encrypted") == 0) {
            char what[64];
            snprintf(what, sizeof what, "attachment.%s", name);
            if (stm_config_bool(ld, val, what, &b) == 0 &&
                (child = stm_cond_parse_new(ld, type, k)) != NULL)
                child->flag = b;
        } else {
            continue; /* reported by stm_config_check_keys */
        }
        if (child == NULL)
            continue;
        if ((child->name = strdup(name)) == NULL) {
            stm_cond_free(child);
            stm_config_error(ld, k, "out of memory");
            continue;
        }
        stm_cond_parse_push(ld, c, child);
    }
    return c;
}

/* mime_defect: true | false | a pattern over the defect names. */
stm_cond *
stm_cond_mime_parse_defect(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                           const stm_yt_node *key, const stm_yt_node *v,
                           const stm_config_scope *scope)
{
    bool b;
    if (!stm_config_is_bool(v, &b)) {
        /* A plain name must be one the parser gives: a typo would never match. */
        const stm_yt_node *one[1] = {v};
        const stm_yt_node *const *items = v->type == STM_YT_SEQ
                                              ? (const stm_yt_node *const *)v->items
                                              : one;
        size_t n = v->type == STM_YT_SEQ ? v->nitems : 1;
        for (size_t i = 0; i < n; i++) {
            const stm_yt_node *it = items[i];
            if (it->type != STM_YT_SCALAR || strspn(it->text, "abcdefghijklmnopqrstuvwxyz_") !=
                                                 strlen(it->text))
                continue;
            bool known = false;
            for (int d = 0; d < STM_MIME_DEFECT_COUNT; d++)
                known = known || strcmp(it->text, stm_mime_defect_name((stm_mime_defect)d)) == 0;
            if (!known) {
                char names[256] = "";
                for (int d = 0; d < STM_MIME_DEFECT_COUNT; d++) {
                    strncat(names, d ? ", " : "", sizeof names - strlen(names) - 1);
                    strncat(names, stm_mime_defect_name((stm_mime_defect)d),
                            sizeof names - strlen(names) - 1);
                }
                stm_config_error(ld, it, "mime_defect: unknown defect '%s' (known: %s)",
                                 it->text, names);
                return NULL;
            }
        }
        return stm_cond_parse_pattern(ld, row, type, key, v, scope);
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL) {
        c->auth_is_bool = true;
        c->flag = b;
    }
    return c;
}

/* The parse of the message CTX judges, or NULL with *ERR set. */
static const stm_mime *
cond_mime_get(const stm_cond_ctx *ctx, char **err)
{
    const stm_message *msg = ctx->msg;
    if (msg->truncated) {
        stm_cond_eval_error(err, "MIME condition on a message larger than "
                                 "milter.max_message_size (body not kept)");
        return NULL;
    }
    const char *why = NULL;
    const stm_mime *m = stm_mime_of_message(msg, &ctx->s->policy->milter.mime, &why);
    if (m == NULL)
        stm_cond_eval_error(err, why != NULL ? why : "MIME parse failed");
    return m;
}

/* Does the decoded value of every field called NAME, one by one, match C's
 * pattern? (any of them) */
static stm_cond_result
cond_mime_fields(const stm_cond *c, const stm_cond_ctx *ctx, const char *name, char **err)
{
    const stm_message *msg = ctx->msg;
    if (msg->headers_truncated)
        return stm_cond_eval_error(err, "header condition on a message whose header is larger "
                                        "than milter.max_message_size (not all fields kept)");
    stm_cond_result r = STM_COND_FALSE;
    for (size_t i = 0; i < msg->nheaders && r != STM_COND_TRUE; i++) {
        if (strcasecmp(msg->headers[i].name, name) != 0)
            continue;
        char *dec = stm_mime_decode_header(msg->headers[i].value);
        if (dec == NULL)
            return stm_cond_eval_error(err, "out of memory decoding a header field");
        char *why = NULL;
        stm_match m = stm_pattern_match(c->pattern, dec, &why);
        free(dec);
        stm_cond_any_of(&r, err, m, why);
    }
    return r;
}

/* subject: the decoded Subject. */
stm_cond_result
stm_cond_mime_subject(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_mime_fields(c, ctx, "Subject", err);
}

/* header: the decoded value of a field of that name. */
stm_cond_result
stm_cond_mime_header(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_mime_fields(c, ctx, c->name, err);
}

/* body: the decoded text of the text parts. */
stm_cond_result
stm_cond_mime_body(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    const stm_mime *m = cond_mime_get(ctx, err);
    if (m == NULL)
        return STM_COND_ERROR;
    return stm_cond_of_match(
        stm_pattern_match_buf(c->pattern, m->text ? m->text : "", m->text_len, err));
}

/* Does part P satisfy the key KEY of an attachment condition? */
static stm_match
cond_mime_attachment_key(const stm_cond *key, const stm_mime_part *p, char **why)
{
    const char *k = key->name;
    if (strcmp(k, "name") == 0)
        return stm_pattern_match(key->pattern, p->name, why);
    if (strcmp(k, "type") == 0)
        return stm_pattern_match(key->pattern, p->type, why);
    if (strcmp(k, "detected_type") == 0)
        return stm_pattern_match(key->pattern, p->detected_type, why);
    if (strcmp(k, "in_archive") == 0)
        return p->in_archive == key->flag ? STM_MATCH_YES : STM_MATCH_NO;
    if (strcmp(k, "encrypted") == 0)
        return p->encrypted == key->flag ? STM_MATCH_YES : STM_MATCH_NO;
    /* size */
    switch (key->size_op) {
    case STM_SIZE_GT:
        return p->size > key->size;
    case STM_SIZE_GE:
        return p->size >= key->size;
    case STM_SIZE_LT:
        return p->size < key->size;
    case STM_SIZE_LE:
        return p->size <= key->size;
    case STM_SIZE_EQ:
        return p->size == key->size;
    }
    return STM_MATCH_NO;
}

/* attachment: one part with content (not a multipart or message/rfc822
 * wrapper) satisfies every key given. */
stm_cond_result
stm_cond_mime_attachment(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    const stm_mime *m = cond_mime_get(ctx, err);
    if (m == NULL)
        return STM_COND_ERROR;
    stm_cond_result r = STM_COND_FALSE;
    for (size_t i = 0; i < m->nparts && r != STM_COND_TRUE; i++) {
        const stm_mime_part *p = &m->parts[i];
        if (strncmp(p->type, "multipart/", 10) == 0 || strcmp(p->type, "message/rfc822") == 0)
            continue;
        stm_match all = STM_MATCH_YES;
        char *why = NULL;
        for (size_t k = 0; k < c->nchildren && all == STM_MATCH_YES; k++)
            all = cond_mime_attachment_key(c->children[k], p, &why);
        if (all == STM_MATCH_YES)
            stm_mime_note_match(m, (int)i);
        stm_cond_any_of(&r, err, all, why);
    }
    return r;
}

/* url / url_domain: any URL (or its host) matches. */
static stm_cond_result
cond_mime_urls(const stm_cond *c, const stm_cond_ctx *ctx, bool host, char **err)
{
    const stm_mime *m = cond_mime_get(ctx, err);
    if (m == NULL)
        return STM_COND_ERROR;
    stm_cond_result r = STM_COND_FALSE;
    for (size_t i = 0; i < m->nurls && r != STM_COND_TRUE; i++) {
        char *why = NULL;
        stm_match one = stm_pattern_match(c->pattern, host ? m->urls[i].host : m->urls[i].url, &why);
        if (one == STM_MATCH_YES)
            stm_mime_note_match(m, m->urls[i].part);
        stm_cond_any_of(&r, err, one, why);
    }
    return r;
}

/* url: a URL found in a text part. */
stm_cond_result
stm_cond_mime_url(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_mime_urls(c, ctx, false, err);
}

/* url_domain: the host of a URL found in a text part. */
stm_cond_result
stm_cond_mime_url_domain(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_mime_urls(c, ctx, true, err);
}

/* mime_defect: the parser met a defect (true), none (false), or one whose
 * name matches. */
stm_cond_result
stm_cond_mime_defect(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    const stm_mime *m = cond_mime_get(ctx, err);
    if (m == NULL)
        return STM_COND_ERROR;
    if (c->auth_is_bool)
        return (m->defects != 0) == c->flag;
    stm_cond_result r = STM_COND_FALSE;
    for (int d = 0; d < STM_MIME_DEFECT_COUNT && r != STM_COND_TRUE; d++) {
        if (!(m->defects & (1u << d)))
            continue;
        char *why = NULL;
        stm_match one = stm_pattern_match(c->pattern, stm_mime_defect_name((stm_mime_defect)d), &why);
        if (one == STM_MATCH_YES) {
            for (size_t i = 0; i < m->nparts; i++)
                if (m->parts[i].defects & (1u << d)) {
                    stm_mime_note_match(m, (int)i);
                    break;
                }
        }
        stm_cond_any_of(&r, err, one, why);
    }
    return r;
}
