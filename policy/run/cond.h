/*
 * cond.h - evaluating the `if:` conditions of rules (model.h stm_cond trees)
 * against a session. Private to policy/.
 */
#ifndef STAGEMILTER_COND_H
#define STAGEMILTER_COND_H

#include "model.h"
#include "run/session_internal.h"

typedef enum stm_cond_result {
    STM_COND_ERROR = -1, /* run-time failure; *ERR says why */
    STM_COND_FALSE = 0,
    STM_COND_TRUE = 1
} stm_cond_result;

/* Evaluate COND for session S at STAGE. Inside a delegate's rules, DELEG is
 * that delegation's result (NULL elsewhere): has_header/header/body then look
 * at the returned copy when it came back. A NULL COND holds. On
 * STM_COND_ERROR, *ERR is a malloc'd description (caller frees; NULL when even
 * that allocation failed). */
stm_cond_result stm_cond_eval(const stm_cond *cond, const stm_session *s, stm_stage stage,
                            const stm_delegation *deleg, char **err);

#endif
