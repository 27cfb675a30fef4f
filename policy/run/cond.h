/*
 * cond.h - evaluating the `if:` conditions of rules (model.h stm_cond trees)
 * against a session. Private to policy/.
 */
#ifndef STAGEMILTER_COND_H
#define STAGEMILTER_COND_H

#include "model.h"
#include "run/session_internal.h"

/* What an eval function sees: the session, the stage being run, inside a
 * delegate's rules that delegation's result (else NULL) and the copy of the
 * message that header and body conditions judge. All borrowed. */
typedef struct stm_cond_ctx {
    const stm_session *s;
    stm_stage stage;
    const stm_delegation *deleg;
    const stm_message *msg;
    /* Inside a delegate's rules every result of it with its service (one,
     * or several for delegate: [a, b]); DELEG is the one being judged: the
     * only one, or (several) NULL until stm_cond_each_deleg picks each. */
    const stm_delegation_record *recs;
    size_t nrecs;
} stm_cond_ctx;

/* C judged by ONE for each of the enclosing delegate's results in turn
 * (delegate: [a, b]): true when it holds for any; with one result (or
 * none) ONE judges CTX as it is. */
stm_cond_result stm_cond_each_deleg(const struct stm_cond *c, const stm_cond_ctx *ctx, char **err,
                                    stm_cond_eval_fn *one);
/* CTX narrowed to the result REC (for scan: {SERVICE: ...}). */
void stm_cond_ctx_for(const stm_cond_ctx *ctx, const stm_delegation_record *rec, stm_cond_ctx *out);

/* Judge C (NULL holds) in CTX through its own eval function: how any, all
 * and not judge their children. */
stm_cond_result stm_cond_judge(const stm_cond *c, const stm_cond_ctx *ctx, char **err);

/* Evaluate COND for session S at STAGE. Inside a delegate's rules, DELEG is
 * that delegation's result (NULL elsewhere): has_header/header/body then look
 * at the returned copy when it came back. A NULL COND holds. On
 * STM_COND_ERROR, *ERR is a malloc'd description (caller frees; NULL when even
 * that allocation failed). */
stm_cond_result stm_cond_eval(const stm_cond *cond, const stm_session *s, stm_stage stage,
                              const stm_delegation_record *recs, size_t nrecs, char **err);

#endif
