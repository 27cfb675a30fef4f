/*
 * effect_change_sender.c - the change_sender effect: replace the envelope
 * sender at the end of the message (effect_table.h row
 * STM_EFFECT_CHANGE_SENDER).
 *
 * Functions: stm_effect_change_sender_parse, stm_effect_change_sender_run.
 *
 * Semantics: change_sender: ADDR (a template, expanded when the rule runs;
 * "" or "<>" is the null sender). At the end of the message the MTA takes
 * it as MAIL FROM (smfi_chgfrom, without ESMTP parameters: see
 * doc/mta-differences.md); when several rules ask, the last one wins.
 *
 * Ownership: the template belongs to the effect (the rule). Errors: parse
 * errors go to the loader's diag; an expanded value that is not an
 * address is a run-time failure (milter.on_error decides).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effect/effect_table.h"
#include "read/reader.h"
#include "run/edit.h"

/* change_sender: ADDR */
void
stm_effect_change_sender_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                               stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return;
    char buf[1024];
    if (strstr(v->text, "${") == NULL && stm_effect_address(v->text, buf, sizeof buf) == NULL) {
        stm_config_error(ld, v,
                         "change_sender '%s' is not an address (user@domain or \"<>\", no white "
                         "space or brackets inside)",
                         v->text);
        return;
    }
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e != NULL)
        e->value = stm_config_template(ld, v, row->key);
}

/* Queue the new sender. */
int
stm_effect_change_sender_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail,
                             size_t detail_len)
{
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    char buf[1024];
    const char *a = stm_effect_address(value, buf, sizeof buf);
    int rc = 0;
    if (a == NULL) {
        size_t need = strlen(value) + 64;
        if ((ctx->error = malloc(need)) != NULL)
            snprintf(ctx->error, need, "change_sender: '%s' is not an address", value);
        rc = -1;
    } else {
        rc = stm_session_add_edit(ctx->s, ctx->stage, STM_EDIT_CHANGE_SENDER, NULL, a, 0, NULL);
        snprintf(detail, detail_len, "change_sender <%s> (at the end of the message)", a);
    }
    free(value);
    return rc < 0 ? -1 : 0;
}
