/*
 * effect_header.c - the add_header effect: add a header field to the
 * message at its end (effect_table.h row STM_EFFECT_ADD_HEADER).
 *
 * Functions: stm_effect_header_parse, stm_effect_header_run.
 *
 * Semantics (DESIGN.md, Effects): the value is a template expanded when the
 * rule runs; the session keeps the field until the end of the message,
 * where the milter adds it (headers added at connect or helo go into every
 * message of the connection).
 *
 * Ownership: parsed names and templates belong to the effect (the rule).
 * Errors: parse errors go to the loader's diag; running fails only on
 * memory exhaustion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "effect/effect_table.h"
#include "read/reader.h"

/* Is NAME a valid header field name (RFC 5322: printable ASCII, no colon)? */
static bool
effect_header_name_ok(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c <= 32 || *c >= 127 || *c == ':')
            return false;
    return true;
}

/* add_header: {name: NAME, value: TEXT} */
void
stm_effect_header_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                        stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    static const char *const keys[] = {"name", "value", NULL};
    if (stm_config_expect(ld, v, STM_YT_MAP, row->key) < 0)
        return;
    stm_config_check_keys(ld, v, row->key, keys);
    const stm_yt_node *name = stm_yt_get(v, "name"), *value = stm_yt_get(v, "value");
    if (name == NULL || value == NULL) {
        stm_config_error(ld, v, "add_header needs both name and value");
        return;
    }
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e == NULL)
        return;
    if (stm_config_string(ld, name, "add_header name", &e->name) == 0 &&
        !effect_header_name_ok(e->name))
        stm_config_error(ld, name,
                         "add_header name '%s' is not a valid header field name "
                         "(printable ASCII without spaces or ':')",
                         e->name);
    e->value = stm_config_template(ld, value, "add_header value");
}

/* Keep the field for the end of the message. */
int
stm_effect_header_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail, size_t detail_len)
{
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    int rc = stm_session_add_header(ctx->s, ctx->stage, e->name, value);
    snprintf(detail, detail_len, "add_header %s: %s", e->name, value);
    free(value);
    return rc < 0 ? -1 : 0;
}
