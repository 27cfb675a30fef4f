/*
 * cond.c - evaluating `if:` conditions against a session (cond.h).
 *
 * Functions: stm_cond_eval, stm_cond_judge.
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
stm_cond_eval(const stm_cond *c, const stm_session *s, stm_stage stage, const stm_delegation *deleg,
              char **err)
{
    *err = NULL;
    stm_cond_ctx ctx = {.s = s, .stage = stage, .deleg = deleg, .msg = &s->message};
    if (deleg != NULL && deleg->result == STM_DELEGATION_RETURNED)
        ctx.msg = &deleg->returned;
    /* The DNS queries of every dnsbl condition of the rule, at once. */
    stm_dnsbl_prefetch(s, c);
    stm_cond_result r = stm_cond_judge(c, &ctx, err);
    stm_dnsbl_forget(s);
    return r;
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
