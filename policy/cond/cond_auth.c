/*
 * cond_auth.c - the verdicts of SPF, DKIM, DMARC and ARC that an earlier
 * filter wrote into Authentication-Results headers: auth_results
 * (cond_table.h; DESIGN.md, "Asking the network").
 *
 *   auth_results: { dkim: pass, dkim_domain: example.org, dmarc: "!fail" }
 *
 * Functions: stm_cond_auth_parse, stm_cond_auth_results.
 *
 * Only headers whose authserv-id is trusted count: milter.authserv_id, or
 * when it is not given the MTA's name (macro j), as OpenDKIM and OpenDMARC
 * use it. Each key given must hold: spf, dmarc and arc when a result of
 * that method matches the pattern; dkim and dkim_domain together, on one
 * and the same dkim result (its result, and its header.d, or the domain of
 * header.i), so that a passing signature of one domain and a failing one of
 * another never add up to a pass for the second. Headers of other
 * authserv-ids (a sender's forgery) are ignored.
 *
 * Ownership: the condition owns its children (one per key, NAME and
 * PATTERN); parsed headers live during the evaluation only. Errors: a
 * trusted header that cannot be read (match/authres.c refuses it whole),
 * headers not kept whole, or no authserv-id to trust at all, fail the rule
 * at run time (milter.on_error), never "no match".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cond/cond_table.h"
#include "match/authres.h"
#include "read/reader.h"
#include "stagemilter/text.h"

/* auth_results: { spf|dkim|dmarc|arc|dkim_domain: pattern, ... } */
stm_cond *
stm_cond_auth_parse(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                    const stm_yt_node *key, const stm_yt_node *v, const stm_config_scope *scope)
{
    static const char *const keys[] = {"spf", "dkim", "dmarc", "arc", "dkim_domain", NULL};
    if (stm_config_expect(ld, v, STM_YT_MAP, key->text) < 0)
        return NULL;
    if (stm_config_check_keys(ld, v, key->text, keys) != 0)
        return NULL;
    stm_cond *named = stm_cond_parse_named(ld, row, type, key, v, scope);
    if (named == NULL)
        return NULL;
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c == NULL) {
        stm_cond_free(named);
        return NULL;
    }
    if (named->type == STM_COND_ALL) {
        /* Take the per-key nodes: they are judged together, not one by one. */
        c->children = named->children;
        c->nchildren = named->nchildren;
        named->children = NULL;
        named->nchildren = 0;
        stm_cond_free(named);
    } else {
        stm_cond_parse_push(ld, c, named);
    }
    return c;
}

/* The pattern given for KEY, or NULL. */
static const stm_pattern *
auth_want(const stm_cond *c, const char *key)
{
    for (size_t i = 0; i < c->nchildren; i++)
        if (c->children[i]->name != NULL && strcmp(c->children[i]->name, key) == 0)
            return c->children[i]->pattern;
    return NULL;
}

/* Is ID one of the trusted authserv-ids in CTX? */
static bool
auth_trusted(const stm_cond_ctx *ctx, const char *id, size_t len)
{
    const stm_milter_config *m = &ctx->s->policy->milter;
    if (m->nauthserv_ids == 0) {
        const char *j = stm_session_macro(ctx->s, "j");
        return j != NULL && strlen(j) == len && strncasecmp(j, id, len) == 0;
    }
    for (size_t i = 0; i < m->nauthserv_ids; i++)
        if (strlen(m->authserv_ids[i]) == len && strncasecmp(m->authserv_ids[i], id, len) == 0)
            return true;
    return false;
}

/* Does the unreadable VALUE begin with a trusted authserv-id? */
static bool
auth_trusted_prefix(const stm_cond_ctx *ctx, const char *value)
{
    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
        value++;
    size_t n = strcspn(value, " \t\r\n;(");
    return n > 0 && auth_trusted(ctx, value, n);
}

/* Fold one pattern answer M into *R (which starts FALSE): a match decides. */
static bool
auth_match(const stm_pattern *p, const char *text, stm_cond_result *r, char **err)
{
    char *why = NULL;
    stm_match m = stm_pattern_match(p, text ? text : "", &why);
    if (m == STM_MATCH_ERROR && *r != STM_COND_ERROR) {
        *r = STM_COND_ERROR;
        *err = why;
        return false;
    }
    free(why);
    return m == STM_MATCH_YES;
}

/* The domain a dkim result is about: header.d, else header.i's domain. */
static const char *
auth_dkim_domain(const stm_authres_result *r)
{
    const char *d = stm_authres_prop_get(r, "header", "d");
    if (d != NULL)
        return d;
    const char *i = stm_authres_prop_get(r, "header", "i");
    const char *at = i != NULL ? strrchr(i, '@') : NULL;
    return at != NULL ? at + 1 : i;
}

/* Judge the results of one trusted header AR against C; sets the bits of
 * *HELD (1 spf, 2 dkim, 4 dmarc, 8 arc) that some result satisfies. */
static void
auth_judge(const stm_cond *c, const stm_authres *ar, unsigned *held, stm_cond_result *r, char **err)
{
    static const char *const methods[] = {"spf", "dkim", "dmarc", "arc"};
    const stm_pattern *dom = auth_want(c, "dkim_domain");
    for (size_t i = 0; i < ar->nresults; i++) {
        const stm_authres_result *res = &ar->results[i];
        for (unsigned k = 0; k < 4; k++) {
            if (strcmp(res->method, methods[k]) != 0)
                continue;
            const stm_pattern *p = auth_want(c, methods[k]);
            bool ok = p == NULL || auth_match(p, res->result, r, err);
            if (k == 1 && ok && dom != NULL)
                ok = auth_match(dom, auth_dkim_domain(res), r, err);
            if (ok)
                *held |= 1u << k;
        }
    }
}

/* Tell --trace what header V said (or why it was skipped). */
static void
auth_trace(const stm_cond_ctx *ctx, const char *what, const stm_authres *ar, const char *why)
{
    const stm_engine_hooks *h = ctx->s->ctx_hooks;
    if (h == NULL || h->trace == NULL)
        return;
    char detail[1024];
    size_t o = (size_t)snprintf(detail, sizeof detail, "auth_results: %s", what);
    if (ar != NULL) {
        for (size_t i = 0; i < ar->nresults && o < sizeof detail; i++) {
            const char *d = strcmp(ar->results[i].method, "dkim") == 0
                                ? auth_dkim_domain(&ar->results[i])
                                : NULL;
            o += (size_t)snprintf(detail + o, sizeof detail - o, " %s=%s%s%s%s",
                                  ar->results[i].method, ar->results[i].result, d ? " (" : "",
                                  d ? d : "", d ? ")" : "");
        }
    }
    if (why != NULL && o < sizeof detail)
        snprintf(detail + o, sizeof detail - o, " (%s)", why);
    /* What came from the message is cleaned before it is printed. */
    char clean[1024];
    stm_text_clean(clean, sizeof clean, detail, 0, 0);
    stm_trace_event ev = {.kind = STM_TRACE_LOOKUP, .stage = ctx->stage, .detail = clean};
    h->trace(h->ctx, &ev);
}

/* auth_results: every key given holds in the trusted headers. */
stm_cond_result
stm_cond_auth_results(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    const stm_message *msg = ctx->msg;
    if (msg->headers_truncated)
        return stm_cond_eval_error(err, "auth_results: the header was larger than "
                                        "milter.max_message_size and was not kept whole");
    if (ctx->s->policy->milter.nauthserv_ids == 0 && stm_session_macro(ctx->s, "j") == NULL)
        return stm_cond_eval_error(err, "auth_results: no authserv-id to trust (the MTA sent "
                                        "no macro j; set milter.authserv_id)");
    unsigned want = (auth_want(c, "spf") ? 1u : 0) |
                    (auth_want(c, "dkim") || auth_want(c, "dkim_domain") ? 2u : 0) |
                    (auth_want(c, "dmarc") ? 4u : 0) | (auth_want(c, "arc") ? 8u : 0);
    unsigned held = 0;
    stm_cond_result r = STM_COND_FALSE;
    for (size_t i = 0; i < msg->nheaders && r != STM_COND_ERROR; i++) {
        if (strcasecmp(msg->headers[i].name, "Authentication-Results") != 0)
            continue;
        const char *v = msg->headers[i].value;
        stm_authres ar;
        const char *why = NULL;
        if (stm_authres_parse(v, strlen(v), &ar, &why) != 0) {
            auth_trace(ctx, "unreadable header:", NULL, why);
            if (auth_trusted_prefix(ctx, v)) {
                char text[256];
                snprintf(text, sizeof text,
                         "auth_results: a trusted Authentication-Results header cannot be read: %s",
                         why);
                return stm_cond_eval_error(err, text);
            }
            continue; /* another authserv-id's, and broken: ignored */
        }
        char what[300];
        bool trusted = auth_trusted(ctx, ar.authserv_id, strlen(ar.authserv_id));
        snprintf(what, sizeof what, "%s %s:", trusted ? "trusted" : "ignored", ar.authserv_id);
        auth_trace(ctx, what, &ar, NULL);
        if (trusted)
            auth_judge(c, &ar, &held, &r, err);
        stm_authres_clear(&ar);
    }
    if (r == STM_COND_ERROR)
        return r;
    return (held & want) == want ? STM_COND_TRUE : STM_COND_FALSE;
}
