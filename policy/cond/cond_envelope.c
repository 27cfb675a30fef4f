/*
 * cond_envelope.c - conditions on the SMTP envelope: client_ip,
 * client_name, helo, sender, sender_domain, rcpt, rcpt_domain (cond_table.h).
 *
 * Functions: stm_cond_envelope_client_ip, stm_cond_envelope_client_name,
 * stm_cond_envelope_helo, stm_cond_envelope_sender,
 * stm_cond_envelope_sender_domain, stm_cond_envelope_rcpt,
 * stm_cond_envelope_rcpt_domain. All take a pattern, parsed by
 * stm_cond_parse_pattern (cond_parse.c).
 *
 * Semantics (DESIGN.md, Conditions): a missing value (no HELO yet) never
 * matches. sender "" is the null sender (the loader turns `sender: "<>"`
 * into the empty literal); sender_domain is what follows the last '@'. rcpt
 * and rcpt_domain judge the current recipient at the rcpt stage and any
 * accepted recipient later.
 *
 * Ownership and errors: nothing is allocated; these never fail.
 */
#include <string.h>

#include "cond/cond_table.h"

/* The part of ADDR after its last '@', or NULL when it has none. */
static const char *
cond_envelope_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : NULL;
}

/* client_ip: the client's address (as set_sender_ip left it). */
stm_cond_result
stm_cond_envelope_client_ip(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->s->client_ip, err));
}

/* client_name: the client's host name as the MTA resolved it. */
stm_cond_result
stm_cond_envelope_client_name(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->s->client_name, err));
}

/* helo: the HELO/EHLO argument. */
stm_cond_result
stm_cond_envelope_helo(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->s->helo, err));
}

/* sender: the MAIL FROM address ("" for the null sender). */
stm_cond_result
stm_cond_envelope_sender(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->s->sender, err));
}

/* sender_domain: the sender's domain. */
stm_cond_result
stm_cond_envelope_sender_domain(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_of_match(stm_pattern_match(c->pattern, cond_envelope_domain(ctx->s->sender), err));
}

/* The current recipient at rcpt, else any accepted one (or its domain when
 * DOMAIN) matches C's pattern: one that matches decides; else one whose
 * match failed makes it a run-time failure. */
static stm_cond_result
cond_envelope_rcpts(const stm_cond *c, const stm_cond_ctx *ctx, bool domain, char **err)
{
    const stm_session *s = ctx->s;
    if (ctx->stage == STM_STAGE_RCPT)
        return stm_cond_of_match(stm_pattern_match(
            c->pattern, domain ? cond_envelope_domain(s->current_rcpt) : s->current_rcpt, err));
    stm_cond_result r = STM_COND_FALSE;
    for (size_t i = 0; i < s->nrcpts && r != STM_COND_TRUE; i++) {
        char *why = NULL;
        stm_match m = stm_pattern_match(
            c->pattern, domain ? cond_envelope_domain(s->rcpts[i]) : s->rcpts[i], &why);
        stm_cond_any_of(&r, err, m, why);
    }
    return r;
}

/* rcpt: a recipient address. */
stm_cond_result
stm_cond_envelope_rcpt(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_envelope_rcpts(c, ctx, false, err);
}

/* rcpt_domain: a recipient's domain. */
stm_cond_result
stm_cond_envelope_rcpt_domain(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_envelope_rcpts(c, ctx, true, err);
}
