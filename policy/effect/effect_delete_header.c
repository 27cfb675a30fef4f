/*
 * effect_delete_header.c - the delete_header effect: remove every field
 * of a name from the message at its end (effect_table.h row
 * STM_EFFECT_DELETE_HEADER).
 *
 * Functions: stm_effect_delete_header_parse, stm_effect_delete_header_run.
 *
 * Semantics: delete_header: NAME removes every field of that name the
 * message arrived with (and one an earlier change_header or prefix_subject
 * of the same message was to add); the deletion waits in the session
 * (run/edit.c) for the end of the message.
 *
 * Ownership: the name belongs to the effect (the rule). Errors: parse
 * errors go to the loader's diag; running fails only on memory exhaustion.
 */
#include "config.h"

#include <stdio.h>

#include "effect/effect_table.h"
#include "read/reader.h"
#include "run/edit.h"

/* delete_header: NAME */
void
stm_effect_delete_header_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                               stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e == NULL || stm_config_string(ld, v, row->key, &e->name) != 0)
        return;
    bool ok = e->name[0] != '\0';
    for (const unsigned char *c = (const unsigned char *)e->name; *c; c++)
        if (*c <= 32 || *c >= 127 || *c == ':')
            ok = false;
    if (!ok)
        stm_config_error(ld, v,
                         "delete_header '%s' is not a valid header field name "
                         "(printable ASCII without spaces or ':')",
                         e->name);
}

/* Queue the deletion. */
int
stm_effect_delete_header_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail,
                             size_t detail_len)
{
    snprintf(detail, detail_len, "delete_header %s (at the end of the message)", e->name);
    return stm_session_add_edit(ctx->s, ctx->stage, STM_EDIT_DELETE_HEADER, e->name, NULL, 0,
                                NULL) < 0
               ? -1
               : 0;
}
