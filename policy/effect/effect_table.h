/*
 * effect_table.h - the one table of `do:` effects (DESIGN.md "Effects"),
 * indexed by enum stm_effect_type, and the functions its rows point to.
 * Private to policy/.
 *
 * Each row gives the key an administrator writes, when the effect takes
 * hold (at once, for the rules that follow, or at the end of the message),
 * the milter actions it needs as the policy's own STM_ACTION_* flags (the
 * milter maps them to libmilter's; policy/ never includes libmilter), how
 * the loader parses it and how the engine runs it. The loader
 * (load/rules.c) finds a row by key and calls its parse; the engine
 * (run/engine.c) calls the run function the compiled effect carries; load/load.c ORs the actions of every
 * effect used into policy->actions; tests/unit/test_tables.c holds the
 * table against stagemilter.yaml(5).
 *
 * Layout: an effect is one row in effect_table.c and one file
 * effect_<name>.c with its parse and run functions side by side. Parse
 * needs the YAML tree and the loader's readers (policy/read); the loader
 * stores the row's run function in the compiled effect, so the engine
 * (policy/run) never includes this folder.
 */
#ifndef STAGEMILTER_EFFECT_TABLE_H
#define STAGEMILTER_EFFECT_TABLE_H

#include <stddef.h>

#include "model.h"
#include "read/reader.h"
#include "run/effect.h"

struct stm_loader;
struct stm_yt_node;

/* When an effect takes hold. */
typedef enum stm_effect_when {
    STM_EFFECT_AT_ONCE, /* the rules that follow see it */
    STM_EFFECT_AT_END   /* the MTA applies it at the end of the message */
} stm_effect_when;

/* Milter actions an effect needs (milter/ maps them to SMFIF_* flags). */
enum {
    STM_ACTION_ADD_HEADER = 1u << 0,
    STM_ACTION_CHANGE_HEADER = 1u << 1, /* change, delete (and add) header fields */
    STM_ACTION_ADD_RCPT = 1u << 2,
    STM_ACTION_DELETE_RCPT = 1u << 3,
    STM_ACTION_CHANGE_SENDER = 1u << 4,
};

typedef struct stm_effect_row stm_effect_row;

/* Parse the value V of effect key KEY (row ROW, type TYPE) into one or
 * more effects appended to rule R; errors go to the loader's diag. */
typedef void stm_effect_parse_fn(struct stm_loader *ld, const stm_effect_row *row,
                                 stm_effect_type type, stm_rule *r, const struct stm_yt_node *key,
                                 const struct stm_yt_node *v);

struct stm_effect_row {
    const char *key;      /* as written in `do:` */
    stm_effect_when when; /* when it takes hold */
    unsigned actions;     /* STM_ACTION_* it needs from the MTA */
    stm_effect_parse_fn *parse;
    stm_effect_run_fn *run;
};

/* Indexed by stm_effect_type, in the order of the man page. */
extern const stm_effect_row stm_effect_table[STM_EFFECT_COUNT];

/* The row of KEY, or NULL. */
const stm_effect_row *stm_effect_table_find(const char *key);
/* Append an effect of TYPE written at AT to R; NULL (reported) on memory
 * exhaustion. The rule owns it. */
stm_effect *stm_effect_parse_new(struct stm_loader *ld, stm_rule *r, const struct stm_yt_node *at,
                                 stm_effect_type type);

stm_effect_parse_fn stm_effect_header_parse, stm_effect_set_parse, stm_effect_sender_ip_parse,
    stm_effect_log_parse;
stm_effect_run_fn stm_effect_header_run, stm_effect_set_run, stm_effect_sender_ip_run,
    stm_effect_log_run;
stm_effect_parse_fn stm_effect_score_parse; /* effect_score.c */
stm_effect_run_fn stm_effect_score_run;
/* Message changes queued for the end of the message (run/edit.h). */
stm_effect_parse_fn stm_effect_change_header_parse, stm_effect_delete_header_parse,
    stm_effect_prefix_subject_parse, stm_effect_add_rcpt_parse, stm_effect_delete_rcpt_parse,
    stm_effect_change_sender_parse;
stm_effect_run_fn stm_effect_change_header_run, stm_effect_delete_header_run,
    stm_effect_prefix_subject_run, stm_effect_add_rcpt_run, stm_effect_delete_rcpt_run,
    stm_effect_change_sender_run;
/* ADDR's envelope form: angle brackets and surrounding white space gone;
 * "" (from "" or "<>") is the null address. NULL when it holds a control
 * character, white space or a bracket inside (effect_add_rcpt.c). Borrows
 * ADDR, writing into BUF of LEN bytes. */
const char *stm_effect_address(const char *addr, char *buf, size_t len);

#endif
