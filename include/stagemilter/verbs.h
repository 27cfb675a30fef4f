/*
 * verbs.h - the table of status verbs (DESIGN.md "Status verbs"), shared by
 * the loader, the engine, the reply mapping, --check, --trace, the logs and
 * the statistics. One row per stm_verb (types.h); a new verb is a new row
 * here and its own semantics in the engine.
 */
#ifndef STAGEMILTER_VERBS_H
#define STAGEMILTER_VERBS_H

#include "stagemilter/types.h"

/* What the MTA is told when a verb decides. */
typedef enum stm_verb_class {
    STM_VERB_CLASS_CONTINUE,  /* go on (next, accept) */
    STM_VERB_CLASS_ACCEPT,    /* SMFIS_ACCEPT (faccept) */
    STM_VERB_CLASS_REJECT,    /* a 5xx reply, SMFIS_REJECT */
    STM_VERB_CLASS_TEMPFAIL,  /* a 4xx reply, SMFIS_TEMPFAIL */
    STM_VERB_CLASS_DISCARD,   /* SMFIS_DISCARD: accepted, never delivered */
    STM_VERB_CLASS_QUARANTINE /* continue; at end of message, quarantine */
} stm_verb_class;

/* What a decision does to the rules after it. */
typedef enum stm_verb_rest {
    STM_VERB_REST_NEXT,  /* nothing: the next rule runs (next) */
    STM_VERB_REST_STAGE, /* the rest of this stage is skipped */
    STM_VERB_REST_ALL    /* every later rule of every stage is skipped */
} stm_verb_rest;

/* What a verb takes after its word in `{verb: ARG}`. */
typedef enum stm_verb_arg {
    STM_VERB_ARG_NONE,   /* a bare word only */
    STM_VERB_ARG_REPLY,  /* optional {code, enhanced, text} */
    STM_VERB_ARG_REASON, /* optional reply text (a template) */
    STM_VERB_ARG_QUEUE,  /* a quarantine queue name, required */
    STM_VERB_ARG_GREYLIST /* optional {key, delay, window, expire} (load/state.c) */
} stm_verb_arg;

/* A default reply: code 0 when the verb sends none. */
typedef struct stm_verb_reply {
    int code;
    const char *enhanced;
    const char *text;
} stm_verb_reply;

typedef struct stm_verb_info {
    const char *word;       /* the policy keyword, also the log/stats name */
    bool decides;           /* false for next only */
    stm_verb_rest rest;     /* what it does to later rules */
    stm_verb_class reply;   /* what the MTA is told */
    stm_verb_reply dflt;    /* default code, enhanced code, text */
    stm_verb_reply connect; /* at connect when it differs (code != 0) */
    char code_class;        /* '5'/'4': the class a custom code: needs; 0: no code: */
    stm_verb_arg arg;       /* what {verb: ARG} takes */
} stm_verb_info;

/* The row of VERB, or NULL when out of range. Static, never freed. */
const stm_verb_info *stm_verb_row(stm_verb verb);
/* The verb whose word is WORD, or -1. */
int stm_verb_from_word(const char *word);
/* What the MTA is told for VERB; CONTINUE when out of range. */
stm_verb_class stm_verb_reply_class(stm_verb verb);
/* Is VERB's reply an SMTP refusal (a 5xx or 4xx reply is set)? */
bool stm_verb_is_refusal(stm_verb verb);
/* Does VERB keep what it judged from being delivered as sent (a refusal,
 * discard or quarantine)? */
bool stm_verb_withholds(stm_verb verb);
/* The default reply of VERB at STAGE; code 0 when it has none. */
const stm_verb_reply *stm_verb_default(stm_verb verb, stm_stage stage);

#endif
