/*
 * effect_delete_rcpt.c - the delete_rcpt effect: remove the envelope
 * recipients that match a pattern at the end of the message
 * (effect_table.h row STM_EFFECT_DELETE_RCPT).
 *
 * Functions: stm_effect_delete_rcpt_parse, stm_effect_delete_rcpt_run.
 *
 * Semantics: delete_rcpt: PATTERN (an address pattern as `rcpt:` takes,
 * case-insensitive, or a list of them, @lists allowed). The pattern is
 * matched at the end of the message against every accepted recipient (and
 * those an earlier add_rcpt of the message added), so a rule at `mail`
 * may name recipients given later; each one that matches is removed
 * (smfi_delrcpt). A pattern that fails to match (a regex limit) is a
 * run-time failure.
 *
 * Ownership: the pattern belongs to the effect (the rule); the session
 * borrows it (the session holds the policy). Errors: parse errors go to
 * the loader's diag; running fails only on memory exhaustion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "effect/effect_table.h"
#include "read/reader.h"
#include "run/edit.h"

/* One alternative N of the pattern P. */
static void
delete_rcpt_item(stm_loader *ld, const stm_yt_node *n, stm_pattern *p)
{
    if (stm_config_expect(ld, n, STM_YT_SCALAR, "a delete_rcpt pattern") < 0)
        return;
    if (n->text[0] == '@' && n->text[1] != '\0') {
        const stm_list *list = stm_config_find_list(ld, n->text + 1);
        if (list == NULL)
            stm_config_error(ld, n, "delete_rcpt: unknown list '%s'", n->text);
        else if (stm_pattern_add_list(p, list) < 0)
            stm_config_error(ld, n, "out of memory");
        return;
    }
    char *errmsg = NULL;
    size_t erroff = 0;
    if (stm_pattern_add(p, n->text, &errmsg, &erroff) < 0) {
        stm_config_error_in(ld, n, erroff, "delete_rcpt: %s", errmsg ? errmsg : "out of memory");
        free(errmsg);
    }
}

/* delete_rcpt: PATTERN or [PATTERN, ...] */
void
stm_effect_delete_rcpt_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                             stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    if (v->type != STM_YT_SCALAR && (v->type != STM_YT_SEQ || v->nitems == 0)) {
        stm_config_error(ld, v, "%s needs a pattern or a list of patterns", row->key);
        return;
    }
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e == NULL)
        return;
    if ((e->pattern = stm_pattern_create(STM_PAT_NOCASE)) == NULL) {
        stm_config_error(ld, v, "out of memory");
        return;
    }
    if (v->type == STM_YT_SCALAR)
        delete_rcpt_item(ld, v, e->pattern);
    else
        for (size_t i = 0; i < v->nitems; i++)
            delete_rcpt_item(ld, v->items[i], e->pattern);
}

/* Queue the deletion; the pattern is matched at the end of the message. */
int
stm_effect_delete_rcpt_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail,
                           size_t detail_len)
{
    snprintf(detail, detail_len, "delete_rcpt %s (at the end of the message)",
             stm_pattern_text(e->pattern));
    return stm_session_add_edit(ctx->s, ctx->stage, STM_EDIT_DELETE_RCPT, NULL, NULL, 0,
                                e->pattern) < 0
               ? -1
               : 0;
}
