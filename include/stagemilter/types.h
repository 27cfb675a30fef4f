/*
 * types.h - vocabulary shared by the rule engine (policy/) and the daemon (milter/).
 *
 * Stages, status verbs, delegation results and source positions. Nothing here
 * allocates; the name functions return static strings.
 */
#ifndef STAGEMILTER_TYPES_H
#define STAGEMILTER_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The SMTP stages of DESIGN.md, in the order an MTA reaches them. */
typedef enum sm_stage {
    SM_STAGE_CONNECT,
    SM_STAGE_HELO,
    SM_STAGE_MAIL,
    SM_STAGE_RCPT,
    SM_STAGE_DATA,
    SM_STAGE_PREQ,
    SM_STAGE_POSTQ,
    SM_STAGE_COUNT
} sm_stage;

/* Status verbs. NEXT means "no decision"; everything after it decides. */
typedef enum sm_verb {
    SM_VERB_NEXT,
    SM_VERB_ACCEPT,
    SM_VERB_FACCEPT,
    SM_VERB_DENY,
    SM_VERB_INFO,
    SM_VERB_REJECT,
    SM_VERB_DEFER,
    SM_VERB_DISCARD,
    SM_VERB_QUARANTINE
} sm_verb;

/* What became of a delegated message (DESIGN.md, Delegation, 3). */
typedef enum sm_delegation_result {
    SM_DELEGATION_NONE,     /* no delegation happened (yet) */
    SM_DELEGATION_RETURNED, /* the scanner passed it back to the receiver */
    SM_DELEGATION_REJECTED, /* the scanner answered 4xx/5xx */
    SM_DELEGATION_DROPPED,  /* the scanner said 250, nothing came back */
    SM_DELEGATION_FAILED    /* no target reachable, TLS/protocol failure, timeout */
} sm_delegation_result;

/* A place in a configuration file; line and column are 1-based, 0 = unknown. */
typedef struct sm_srcpos {
    const char *file; /* borrowed from the policy that owns the position */
    int line;
    int column;
} sm_srcpos;

/* "connect", "helo", ...; NULL for an out-of-range value. */
const char *sm_stage_name(sm_stage stage);
/* Stage from its name; returns -1 when unknown. */
int sm_stage_from_name(const char *name);
/* "next", "accept", ... */
const char *sm_verb_name(sm_verb verb);
/* "returned", "rejected", ...; "none" for SM_DELEGATION_NONE. */
const char *sm_delegation_result_name(sm_delegation_result result);

#endif
