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
typedef enum stm_stage {
    STM_STAGE_CONNECT,
    STM_STAGE_HELO,
    STM_STAGE_MAIL,
    STM_STAGE_RCPT,
    STM_STAGE_DATA,
    STM_STAGE_PREQ,
    STM_STAGE_POSTQ,
    STM_STAGE_COUNT
} stm_stage;

/* Status verbs. NEXT means "no decision"; everything after it decides.
 * Their words, replies and defaults are rows of the table in verbs.h. */
typedef enum stm_verb {
    STM_VERB_NEXT,
    STM_VERB_ACCEPT,
    STM_VERB_FACCEPT,
    STM_VERB_DENY,
    STM_VERB_INFO,
    STM_VERB_REJECT,
    STM_VERB_DEFER,
    STM_VERB_DISCARD,
    STM_VERB_QUARANTINE,
    STM_VERB_GREYLIST, /* 451 unless the key passed greylisting; then like next */
    STM_VERB_COUNT
} stm_verb;

/* What became of a delegated message (DESIGN.md, Delegation, 3). */
typedef enum stm_delegation_result {
    STM_DELEGATION_NONE,     /* no delegation happened (yet) */
    STM_DELEGATION_RETURNED, /* the scanner passed it back to the receiver */
    STM_DELEGATION_REJECTED, /* the scanner answered 4xx/5xx */
    STM_DELEGATION_DROPPED,  /* the scanner said 250, nothing came back */
    STM_DELEGATION_FAILED    /* no target reachable, TLS/protocol failure, timeout */
} stm_delegation_result;

/* A place in a configuration file; line and column are 1-based, 0 = unknown. */
typedef struct stm_srcpos {
    const char *file; /* borrowed from the policy that owns the position */
    int line;
    int column;
} stm_srcpos;

/* "connect", "helo", ...; NULL for an out-of-range value. */
const char *stm_stage_name(stm_stage stage);
/* Stage from its name; returns -1 when unknown. */
int stm_stage_from_name(const char *name);
/* "next", "accept", ...: the word of its row in verbs.h; "?" when out of range. */
const char *stm_verb_name(stm_verb verb);
/* "returned", "rejected", ...; "none" for STM_DELEGATION_NONE. */
const char *stm_delegation_result_name(stm_delegation_result result);

#endif
