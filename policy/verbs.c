/*
 * verbs.c - the status verb table (verbs.h).
 *
 * Functions: stm_verb_row, stm_verb_from_word, stm_verb_reply_class,
 * stm_verb_is_refusal, stm_verb_withholds, stm_verb_default,
 * stm_verb_name (types.h).
 *
 * Ownership: rows and their strings are static, never to be freed; no state.
 * Errors: an out-of-range verb has no row (NULL), its name is "?", it is no
 * refusal, its class is CONTINUE and it has no default reply; an unknown
 * word gives -1.
 */
#include <string.h>

#include "stagemilter/verbs.h"

static const stm_verb_info verb_table[STM_VERB_COUNT] = {
    [STM_VERB_NEXT] = {.word = "next",
                       .decides = false,
                       .rest = STM_VERB_REST_NEXT,
                       .reply = STM_VERB_CLASS_CONTINUE,
                       .arg = STM_VERB_ARG_NONE},
    [STM_VERB_ACCEPT] = {.word = "accept",
                         .decides = true,
                         .rest = STM_VERB_REST_STAGE,
                         .reply = STM_VERB_CLASS_CONTINUE,
                         .arg = STM_VERB_ARG_NONE},
    [STM_VERB_FACCEPT] = {.word = "faccept",
                          .decides = true,
                          .rest = STM_VERB_REST_ALL,
                          .reply = STM_VERB_CLASS_ACCEPT,
                          .arg = STM_VERB_ARG_NONE},
    [STM_VERB_DENY] = {.word = "deny",
                       .decides = true,
                       .rest = STM_VERB_REST_STAGE,
                       .reply = STM_VERB_CLASS_REJECT,
                       .dflt = {554, "5.7.1", "Access denied"},
                       .code_class = '5',
                       .arg = STM_VERB_ARG_REPLY},
    [STM_VERB_INFO] = {.word = "info",
                       .decides = true,
                       .rest = STM_VERB_REST_STAGE,
                       .reply = STM_VERB_CLASS_TEMPFAIL,
                       .dflt = {451, "4.7.1", "Try again later"},
                       .code_class = '4',
                       .arg = STM_VERB_ARG_REPLY},
    [STM_VERB_REJECT] = {.word = "reject",
                         .decides = true,
                         .rest = STM_VERB_REST_STAGE,
                         .reply = STM_VERB_CLASS_REJECT,
                         .dflt = {550, "5.7.1", "Rejected by policy"},
                         .connect = {521, "5.7.1", "Rejected by policy"},
                         .arg = STM_VERB_ARG_REASON},
    [STM_VERB_DEFER] = {.word = "defer",
                        .decides = true,
                        .rest = STM_VERB_REST_STAGE,
                        .reply = STM_VERB_CLASS_TEMPFAIL,
                        .dflt = {451, "4.7.1", "Try again later"},
                        .connect = {421, "4.7.0", "Try again later"},
                        .arg = STM_VERB_ARG_REASON},
    [STM_VERB_DISCARD] = {.word = "discard",
                          .decides = true,
                          .rest = STM_VERB_REST_STAGE,
                          .reply = STM_VERB_CLASS_DISCARD,
                          .arg = STM_VERB_ARG_NONE},
    [STM_VERB_QUARANTINE] = {.word = "quarantine",
                             .decides = true,
                             .rest = STM_VERB_REST_ALL,
                             .reply = STM_VERB_CLASS_QUARANTINE,
                             .arg = STM_VERB_ARG_QUEUE},
    /* Decides only when it refuses; a key that passed goes on like next
     * (run/remember.c). */
    [STM_VERB_GREYLIST] = {.word = "greylist",
                           .decides = true,
                           .rest = STM_VERB_REST_STAGE,
                           .reply = STM_VERB_CLASS_TEMPFAIL,
                           .dflt = {451, "4.7.1", "Greylisted, please try again later"},
                           .arg = STM_VERB_ARG_GREYLIST},
};

static const stm_verb_reply verb_no_reply = {0, "", NULL};

/* The row of VERB, or NULL when out of range. */
const stm_verb_info *
stm_verb_row(stm_verb verb)
{
    return (unsigned)verb < STM_VERB_COUNT ? &verb_table[verb] : NULL;
}

/* The verb whose word is WORD, or -1. */
int
stm_verb_from_word(const char *word)
{
    for (int i = 0; i < STM_VERB_COUNT; i++)
        if (verb_table[i].word != NULL && strcmp(verb_table[i].word, word) == 0)
            return i;
    return -1;
}

/* The name of VERB, or "?" when out of range. */
const char *
stm_verb_name(stm_verb verb)
{
    const stm_verb_info *row = stm_verb_row(verb);
    return row != NULL && row->word != NULL ? row->word : "?";
}

/* The reply class of VERB's row; CONTINUE when out of range. */
stm_verb_class
stm_verb_reply_class(stm_verb verb)
{
    const stm_verb_info *row = stm_verb_row(verb);
    return row != NULL ? row->reply : STM_VERB_CLASS_CONTINUE;
}

/* Is VERB's reply a 5xx or 4xx refusal? */
bool
stm_verb_is_refusal(stm_verb verb)
{
    stm_verb_class c = stm_verb_reply_class(verb);
    return c == STM_VERB_CLASS_REJECT || c == STM_VERB_CLASS_TEMPFAIL;
}

/* A refusal, discard or quarantine: not delivered as sent. */
bool
stm_verb_withholds(stm_verb verb)
{
    stm_verb_class c = stm_verb_reply_class(verb);
    return stm_verb_is_refusal(verb) || c == STM_VERB_CLASS_DISCARD ||
           c == STM_VERB_CLASS_QUARANTINE;
}

/* The default reply of VERB at STAGE: the connect row when it has one. */
const stm_verb_reply *
stm_verb_default(stm_verb verb, stm_stage stage)
{
    const stm_verb_info *row = stm_verb_row(verb);
    if (row == NULL)
        return &verb_no_reply;
    if (stage == STM_STAGE_CONNECT && row->connect.code != 0)
        return &row->connect;
    return row->dflt.code != 0 ? &row->dflt : &verb_no_reply;
}
