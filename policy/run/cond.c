/*
 * cond.c - evaluating `if:` conditions against a session (cond.h).
 *
 * Functions: stm_cond_eval, stm_cond_judge, stm_cond_each_deleg, stm_cond_ctx_for.
 *
 * Every condition, any/all/not included, is judged by the eval function its
 * compiled node carries (the loader sets it from the condition's row in
 * cond/cond_table.c; policy/run never reads the table); this file only picks
 * the copy of the message that header and body conditions look at: inside a
 * delegate's rules the copy the scanner returned when it did, else the
 * MTA's copy. The semantics of each condition are described in the file of
 * its family (policy/cond/cond_*.c).
 *
 * Errors: a condition that cannot be answered (a body condition on a body
 * that was not kept) gives STM_COND_ERROR and the engine applies
 * milter.on_error. Nothing is allocated except the error text.
 */
#include <stdlib.h>

#include <string.h>

#include "run/cond.h"
#include "run/dnsbl.h"

/* Evaluate COND (see cond.h). */
stm_cond_result
stm_cond_eval(const stm_cond *c, const stm_session *s, stm_stage stage,
              const stm_delegation_record *recs, size_t nrecs, char **err)
{
    *err = NULL;
    stm_cond_ctx ctx = {.s = s, .stage = stage, .msg = &s->message, .recs = recs, .nrecs = nrecs};
    if (nrecs == 1)
        ctx.deleg = &recs[0].delegation;
    /* header/body see the first copy a scanner returned (SMTP, LMTP);
     * scanners that answer (clamd, spamd, rspamd) return none. */
    for (size_t i = 0; i < nrecs; i++) {
        const stm_delegation *d = &recs[i].delegation;
        if (d->result == STM_DELEGATION_RETURNED && (d->returned.nheaders > 0 || d->returned.body_len > 0)) {
            ctx.msg = &d->returned;
            break;
        }
    }
    /* The DNS queries of every dnsbl condition of the rule, at once. */
    stm_dnsbl_prefetch(s, c);
    stm_cond_result r = stm_cond_judge(c, &ctx, err);
    stm_dnsbl_forget(s);
    return r;
}

/* CTX narrowed to REC. */
void
stm_cond_ctx_for(const stm_cond_ctx *ctx, const stm_delegation_record *rec, stm_cond_ctx *out)
{
    *out = *ctx;
    out->recs = rec;
    out->nrecs = 1;
    out->deleg = &rec->delegation;
    out->msg = &ctx->s->message;
    if (rec->delegation.result == STM_DELEGATION_RETURNED &&
        (rec->delegation.returned.nheaders > 0 || rec->delegation.returned.body_len > 0))
        out->msg = &rec->delegation.returned;
}

/* Any of the results (cond.h). */
stm_cond_result
stm_cond_each_deleg(const stm_cond *c, const stm_cond_ctx *ctx, char **err, stm_cond_eval_fn *one)
{
    if (ctx->nrecs <= 1 || ctx->deleg != NULL)
        return one(c, ctx, err);
    stm_cond_result acc = STM_COND_FALSE;
    for (size_t i = 0; i < ctx->nrecs; i++) {
        stm_cond_ctx sub;
        char *why = NULL;
        stm_cond_ctx_for(ctx, &ctx->recs[i], &sub);
        stm_cond_result r = one(c, &sub, &why);
        if (r == STM_COND_TRUE) {
            free(*err);
            *err = NULL;
            free(why);
            return STM_COND_TRUE;
        }
        if (r == STM_COND_ERROR && acc == STM_COND_FALSE) {
            *err = why;
            acc = STM_COND_ERROR;
            continue;
        }
        free(why);
    }
    return acc;
}

/* Judge C through the function its node carries. */
stm_cond_result
stm_cond_judge(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (c == NULL)
        return STM_COND_TRUE;
    if (c->eval == NULL) {
        *err = strdup("a condition without an eval function");
        return STM_COND_ERROR;
    }
    return c->eval(c, ctx, err);
}
