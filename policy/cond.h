/*
 * cond.h - evaluating the `if:` conditions of rules (model.h sm_cond trees)
 * against a session. Private to policy/.
 */
#ifndef STAGEMILTER_COND_H
#define STAGEMILTER_COND_H

#include "model.h"
#include "session_internal.h"

typedef enum sm_cond_result {
    SM_COND_ERROR = -1, /* run-time failure; *ERR says why */
    SM_COND_FALSE = 0,
    SM_COND_TRUE = 1
} sm_cond_result;

/* Evaluate COND for session S at STAGE. Inside a delegate's rules, DELEG is
 * that delegation's result (NULL elsewhere): has_header/header/body then look
 * at the returned copy when it came back. A NULL COND holds. On
 * SM_COND_ERROR, *ERR is a malloc'd description (caller frees; NULL when even
 * that allocation failed). */
sm_cond_result sm_cond_eval(const sm_cond *cond, const sm_session *s, sm_stage stage,
                            const sm_delegation *deleg, char **err);

#endif
