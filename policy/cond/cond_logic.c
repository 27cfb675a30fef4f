/*
 * cond_logic.c - the conditions that combine others: any, all, not
 * (cond_table.h rows STM_COND_ANY, STM_COND_ALL, STM_COND_NOT).
 *
 * Functions: stm_cond_logic_parse_list (any:, all:), stm_cond_logic_parse_not,
 * stm_cond_logic_eval_any, stm_cond_logic_eval_all, stm_cond_logic_eval_not.
 *
 * Semantics (DESIGN.md, Conditions): all and any judge their children in
 * order and stop at the first that decides; a mapping of several keys is an
 * all. An error in a child is the error of the whole.
 *
 * Ownership: parsed children belong to their parent (stm_cond_free()).
 *
 * Errors: parse errors go to the loader's diag; a child with errors is left
 * out and the others are still checked.
 */
#include "config.h"

#include "cond/cond_table.h"
#include "read/reader.h"

/* any: / all: [ condition, ... ] */
stm_cond *
stm_cond_logic_parse_list(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                          const stm_yt_node *key, const stm_yt_node *v,
                          const stm_config_scope *scope)
{
    const char *k = row->key;
    if (stm_config_expect(ld, v, STM_YT_SEQ, k) < 0)
        return NULL;
    if (v->nitems == 0) {
        stm_config_error(ld, v, "%s needs at least one condition", k);
        return NULL;
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < v->nitems; i++)
        stm_cond_parse_push(ld, c, stm_config_cond(ld, v->items[i], *scope));
    return c;
}

/* not: condition */
stm_cond *
stm_cond_logic_parse_not(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                         const stm_yt_node *key, const stm_yt_node *v,
                         const stm_config_scope *scope)
{
    (void)row;
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL)
        stm_cond_parse_push(ld, c, stm_config_cond(ld, v, *scope));
    return c;
}

/* Judge the children of C in order until one gives WANT (any: true, all:
 * false). */
static stm_cond_result
cond_logic_until(const stm_cond *c, const stm_cond_ctx *ctx, char **err, bool want)
{
    for (size_t i = 0; i < c->nchildren; i++) {
        stm_cond_result r = stm_cond_judge(c->children[i], ctx, err);
        if (r == STM_COND_ERROR)
            return r;
        if ((r == STM_COND_TRUE) == want)
            return want ? STM_COND_TRUE : STM_COND_FALSE;
    }
    return want ? STM_COND_FALSE : STM_COND_TRUE;
}

/* any: the first child that holds decides. */
stm_cond_result
stm_cond_logic_eval_any(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_logic_until(c, ctx, err, true);
}

/* all: the first child that does not hold decides. */
stm_cond_result
stm_cond_logic_eval_all(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return cond_logic_until(c, ctx, err, false);
}

/* not: the opposite of its one child. */
stm_cond_result
stm_cond_logic_eval_not(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (c->nchildren == 0)
        return STM_COND_FALSE;
    stm_cond_result r = stm_cond_judge(c->children[0], ctx, err);
    if (r == STM_COND_ERROR)
        return r;
    return r == STM_COND_TRUE ? STM_COND_FALSE : STM_COND_TRUE;
}
