/*
 * cond_load.c - `if:` conditions into stm_cond trees (DESIGN.md
 * "Conditions"), with the check that each condition can be known at the
 * stage where it is used.
 *
 * Functions: stm_config_cond (cond_table.h), the entry the rules loader
 * (load/rules.c) and any/all/not (cond_logic.c) call. Each key is looked up in the
 * condition table (cond/cond_table.c), checked against its row's stage and
 * scope, and parsed by its row's parse function; nothing here knows a
 * condition by name.
 *
 * Ownership: the caller owns the returned tree (stm_cond_free()); patterns
 * borrow the policy's lists, which outlive them.
 *
 * Errors: reported to the loader's diag at the offending node or, for
 * patterns, at the character inside the pattern where possible; a key with
 * errors is left out of the tree and the other keys are still checked.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond/cond_table.h"
#include "read/reader.h"

/* Can ROW's condition, written at KEY, be known at SCOPE? Reports and
 * returns false if not. */
static bool
conds_available(stm_loader *ld, const stm_cond_row *row, const stm_yt_node *key,
                stm_config_scope scope)
{
    const char *k = row->key;
    const char *stage = stm_stage_name(scope.stage);
    bool eom = scope.stage == STM_STAGE_PREQ || scope.stage == STM_STAGE_POSTQ;
    if ((row->scope & STM_COND_SCOPE_EOM) && !eom) {
        stm_config_error(
            ld, key, "%s is known only at preq and postq (the whole message), not at %s", k, stage);
        return false;
    }
    if (scope.stage < row->earliest) {
        stm_config_error(ld, key, "%s is known from the %s stage on, not at %s", k,
                         stm_stage_name(row->earliest), stage);
        return false;
    }
    if ((row->scope & STM_COND_SCOPE_DELEGATE) && !scope.in_delegate) {
        stm_config_error(ld, key, "%s is known only inside a delegate rule's rules:", k);
        return false;
    }
    return true;
}

/* One key of a condition mapping. */
static stm_cond *
conds_key(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v, stm_config_scope scope)
{
    const stm_cond_row *row = stm_cond_table_find(key->text);
    if (row == NULL) {
        const char *keys[STM_COND_COUNT + 1];
        char buf[400];
        for (size_t i = 0; i < STM_COND_COUNT; i++)
            keys[i] = stm_cond_table[i].key;
        keys[STM_COND_COUNT] = NULL;
        stm_config_error(ld, key, "unknown condition '%s'; allowed: %s", key->text,
                         stm_config_join(keys, buf, sizeof buf));
        return NULL;
    }
    if (!conds_available(ld, row, key, scope))
        return NULL;
    return row->parse(ld, row, (stm_cond_type)(row - stm_cond_table), key, v, &scope);
}

/* A condition mapping: every key must hold. */
stm_cond *
stm_config_cond(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope)
{
    if (node == NULL || node->type != STM_YT_MAP) {
        stm_config_error(
            ld, node, "a condition must be a mapping (e.g. { rcpt_domain: example.com }), not %s",
            stm_yt_type_name(node));
        return NULL;
    }
    if (node->npairs == 0) {
        stm_config_error(ld, node, "an empty condition; leave out if: to match always");
        return NULL;
    }
    if (node->npairs == 1)
        return conds_key(ld, node->pairs[0].key, node->pairs[0].value, scope);
    stm_cond *all = stm_cond_parse_new(ld, STM_COND_ALL, node);
    if (all == NULL)
        return NULL;
    for (size_t i = 0; i < node->npairs; i++)
        stm_cond_parse_push(ld, all,
                            conds_key(ld, node->pairs[i].key, node->pairs[i].value, scope));
    return all;
}
