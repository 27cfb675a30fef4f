/*
 * effect_set.c - the set effect: set connection-bound variables
 * (effect_table.h row STM_EFFECT_SET).
 *
 * Functions: stm_effect_set_parse, stm_effect_set_run.
 *
 * Semantics (DESIGN.md, Effects): `set: {NAME: TEXT, ...}` becomes one
 * effect per name, run in order; values are templates expanded when the
 * rule runs and keep from one message to the next.
 *
 * Ownership: parsed names and templates belong to the effect (the rule).
 * Errors: parse errors go to the loader's diag; running fails only on
 * memory exhaustion.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effect/effect_table.h"
#include "read/reader.h"

/* Is NAME a valid variable name for set:/var:/${var.NAME}? */
static bool
effect_set_name_ok(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
            return false;
    return true;
}

/* set: {NAME: TEXT, ...} */
void
stm_effect_set_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type, stm_rule *r,
                     const stm_yt_node *key, const stm_yt_node *v)
{
    (void)key;
    if (stm_config_expect(ld, v, STM_YT_MAP, row->key) < 0)
        return;
    if (v->npairs == 0)
        stm_config_error(ld, v, "set needs at least one NAME: value");
    for (size_t i = 0; i < v->npairs; i++) {
        const stm_yt_node *k = v->pairs[i].key;
        stm_effect *e = stm_effect_parse_new(ld, r, k, type);
        if (e == NULL)
            return;
        if ((e->name = strdup(k->text)) == NULL)
            stm_config_error(ld, k, "out of memory");
        if (!effect_set_name_ok(k->text))
            stm_config_error(ld, k, "variable name '%s' may hold only letters, digits, '_' and '-'",
                             k->text);
        e->value = stm_config_template(ld, v->pairs[i].value, "set value");
    }
}

/* Set the variable. */
int
stm_effect_set_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail, size_t detail_len)
{
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    int rc = stm_session_set_var(ctx->s, e->name, value);
    snprintf(detail, detail_len, "set %s=%s", e->name, value);
    free(value);
    return rc < 0 ? -1 : 0;
}
