/*
 * types.c - names of stages and delegation results (types.h); verb names
 * come from the verb table (verbs.c).
 *
 * Functions: stm_stage_name, stm_stage_from_name, stm_delegation_result_name.
 *
 * Ownership: the names are static strings, never to be freed; no state.
 * Errors: an out-of-range stage has no name (NULL), an out-of-range
 * result is "?", an unknown stage name gives -1.
 */
#include <string.h>

#include "stagemilter/types.h"

static const char *const stage_names[STM_STAGE_COUNT] = {
    "connect", "helo", "mail", "rcpt", "data", "preq", "postq",
};

static const char *const delegation_names[] = {
    "none", "returned", "rejected", "dropped", "failed",
};

/* The name of STAGE, or NULL when out of range. */
const char *
stm_stage_name(stm_stage stage)
{
    return (unsigned)stage < STM_STAGE_COUNT ? stage_names[stage] : NULL;
}

/* The stage called NAME, or -1. */
int
stm_stage_from_name(const char *name)
{
    for (int i = 0; i < STM_STAGE_COUNT; i++)
        if (strcmp(stage_names[i], name) == 0)
            return i;
    return -1;
}

/* The name of RESULT, or "?" when out of range. */
const char *
stm_delegation_result_name(stm_delegation_result result)
{
    return (unsigned)result < sizeof delegation_names / sizeof delegation_names[0]
               ? delegation_names[result]
               : "?";
}
