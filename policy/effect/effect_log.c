/*
 * effect_log.c - the log effect: one log line with the rule's text
 * (effect_table.h row STM_EFFECT_LOG).
 *
 * Functions: stm_effect_log_parse, stm_effect_log_run.
 *
 * Semantics (DESIGN.md, Effects): the text is a template expanded when the
 * rule runs and handed to the engine's log hook, which writes
 * `id=… stage=… rule="…" log="…"`.
 *
 * Ownership: the parsed template belongs to the effect (the rule).
 * Errors: parse errors go to the loader's diag; running fails only on
 * memory exhaustion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "effect/effect_table.h"
#include "read/reader.h"

/* log: TEXT */
void
stm_effect_log_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type, stm_rule *r,
                     const stm_yt_node *key, const stm_yt_node *v)
{
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e != NULL)
        e->value = stm_config_template(ld, v, row->key);
}

/* Write the line. */
int
stm_effect_log_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail, size_t detail_len)
{
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    ctx->hooks->log(ctx->hooks->ctx, ctx->s, ctx->stage, ctx->rule, value);
    snprintf(detail, detail_len, "log %s", value);
    free(value);
    return 0;
}
