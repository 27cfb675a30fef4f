/*
 * cond_delegation.c - conditions on a delegation's result, allowed only
 * inside a delegate rule's rules: delegation, reply (cond_table.h).
 *
 * Functions: stm_cond_delegation_parse, stm_cond_delegation_result,
 * stm_cond_delegation_reply. reply is parsed by stm_cond_parse_pattern
 * (cond_parse.c).
 *
 * Semantics (DESIGN.md, Delegation): delegation holds when the result is one
 * of those listed; reply matches the scanner's last reply text. Outside a
 * delegation (ctx->deleg NULL) neither holds. With several services
 * (delegate: [a, b]) each holds when it holds for any of them.
 *
 * Ownership: parsed conditions belong to the caller (stm_cond_free()).
 * Errors: parse errors go to the loader's diag; evaluation never fails.
 */
#include "config.h"

#include "cond/cond_table.h"
#include "read/reader.h"

/* delegation: returned | rejected | dropped | failed, or a list of them. */
stm_cond *
stm_cond_delegation_parse(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                          const stm_yt_node *key, const stm_yt_node *v,
                          const stm_config_scope *scope)
{
    static const char *const names[] = {"returned", "rejected", "dropped", "failed", NULL};
    static const stm_delegation_result results[] = {STM_DELEGATION_RETURNED,
                                                    STM_DELEGATION_REJECTED, STM_DELEGATION_DROPPED,
                                                    STM_DELEGATION_FAILED};
    unsigned mask = 0;
    const stm_yt_node *const *items = &v;
    size_t n = 1;
    (void)scope;
    if (v->type == STM_YT_SEQ) {
        items = (const stm_yt_node *const *)v->items;
        n = v->nitems;
        if (n == 0) {
            stm_config_error(ld, v, "%s needs at least one result", row->key);
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int r;
        if (stm_config_enum(ld, items[i], row->key, names, &r) == 0)
            mask |= 1u << results[r];
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL)
        c->delegation_mask = mask;
    return c;
}

/* delegation: the result is one of those listed. */
static stm_cond_result
delegation_result_one(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    (void)err;
    return ctx->deleg != NULL && (c->delegation_mask & (1u << ctx->deleg->result)) != 0;
}

/* reply: the scanner's last reply text. */
static stm_cond_result
delegation_reply_one(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (ctx->deleg == NULL)
        return STM_COND_FALSE;
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->deleg->reply, err));
}

/* delegation: any of the delegate's results (delegate: [a, b]). */
stm_cond_result
stm_cond_delegation_result(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_each_deleg(c, ctx, err, delegation_result_one);
}

/* reply: any of the delegate's replies. */
stm_cond_result
stm_cond_delegation_reply(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_each_deleg(c, ctx, err, delegation_reply_one);
}
