/*
 * effect.h - what the engine hands an effect when it runs one (the `do:`
 * list of a rule). Private to policy/.
 *
 * Each compiled effect carries its run function (model.h, set by the loader
 * from its row in effect/effect_table.c); the engine fills a context and
 * calls it, so policy/run never reads the effect table.
 */
#ifndef STAGEMILTER_RUN_EFFECT_H
#define STAGEMILTER_RUN_EFFECT_H

#include "model.h"
#include "run/session_internal.h"

/* What a run function works on. RULE names the rule (for the log); on
 * failure the function sets ERROR to a malloc'd reason (NULL: out of
 * memory) and returns -1. */
typedef struct stm_effect_ctx {
    stm_session *s;
    stm_stage stage;
    const stm_engine_hooks *hooks;
    const char *rule;
    char *error;
} stm_effect_ctx;

#endif
