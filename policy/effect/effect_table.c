/*
 * effect_table.c - the table of `do:` effects, one row per enum
 * stm_effect_type (effect_table.h), and what their parse functions share.
 *
 * Functions: stm_effect_table (the table), stm_effect_table_find,
 * stm_effect_parse_new.
 *
 * To add an effect: a value in enum stm_effect_type (model.h), a row here,
 * a file effect_<name>.c with its parse and run functions, and a paragraph
 * in doc/stagemilter.yaml.5 (tests/unit/test_tables.c checks it).
 *
 * Ownership: the table is static and read-only; effects appended by
 * stm_effect_parse_new belong to their rule. Errors: memory exhaustion is
 * reported to the loader's diag.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "effect/effect_table.h"
#include "read/reader.h"

const stm_effect_row stm_effect_table[STM_EFFECT_COUNT] = {
    [STM_EFFECT_ADD_HEADER] = {"add_header", STM_EFFECT_AT_END, STM_ACTION_ADD_HEADER,
                               stm_effect_header_parse, stm_effect_header_run},
    [STM_EFFECT_SET] = {"set", STM_EFFECT_AT_ONCE, 0, stm_effect_set_parse, stm_effect_set_run},
    [STM_EFFECT_SET_SENDER_IP] = {"set_sender_ip", STM_EFFECT_AT_ONCE, 0,
                                  stm_effect_sender_ip_parse, stm_effect_sender_ip_run},
    [STM_EFFECT_LOG] = {"log", STM_EFFECT_AT_ONCE, 0, stm_effect_log_parse, stm_effect_log_run},
    [STM_EFFECT_ADD_SCORE] = {"add_score", STM_EFFECT_AT_ONCE, 0, stm_effect_score_parse,
                              stm_effect_score_run},
    [STM_EFFECT_CHANGE_HEADER] = {"change_header", STM_EFFECT_AT_END, STM_ACTION_CHANGE_HEADER,
                                  stm_effect_change_header_parse, stm_effect_change_header_run},
    [STM_EFFECT_DELETE_HEADER] = {"delete_header", STM_EFFECT_AT_END, STM_ACTION_CHANGE_HEADER,
                                  stm_effect_delete_header_parse, stm_effect_delete_header_run},
    [STM_EFFECT_PREFIX_SUBJECT] = {"prefix_subject", STM_EFFECT_AT_END, STM_ACTION_CHANGE_HEADER,
                                   stm_effect_prefix_subject_parse, stm_effect_prefix_subject_run},
    [STM_EFFECT_ADD_RCPT] = {"add_rcpt", STM_EFFECT_AT_END, STM_ACTION_ADD_RCPT,
                             stm_effect_add_rcpt_parse, stm_effect_add_rcpt_run},
    [STM_EFFECT_DELETE_RCPT] = {"delete_rcpt", STM_EFFECT_AT_END, STM_ACTION_DELETE_RCPT,
                                stm_effect_delete_rcpt_parse, stm_effect_delete_rcpt_run},
    [STM_EFFECT_CHANGE_SENDER] = {"change_sender", STM_EFFECT_AT_END, STM_ACTION_CHANGE_SENDER,
                                  stm_effect_change_sender_parse, stm_effect_change_sender_run},
};

/* The row of KEY, or NULL. */
const stm_effect_row *
stm_effect_table_find(const char *key)
{
    for (size_t i = 0; i < STM_EFFECT_COUNT; i++)
        if (stm_effect_table[i].key != NULL && strcmp(stm_effect_table[i].key, key) == 0)
            return &stm_effect_table[i];
    return NULL;
}

/* Append an effect to R. */
stm_effect *
stm_effect_parse_new(stm_loader *ld, stm_rule *r, const stm_yt_node *at, stm_effect_type type)
{
    stm_effect *ne = realloc(r->effects, (r->neffects + 1) * sizeof *ne);
    if (ne == NULL) {
        stm_config_error(ld, at, "out of memory");
        return NULL;
    }
    r->effects = ne;
    stm_effect *e = &ne[r->neffects++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->run = stm_effect_table[type].run;
    e->pos = stm_config_pos(ld, at);
    return e;
}
