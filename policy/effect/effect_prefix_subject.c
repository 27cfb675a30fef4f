/*
 * effect_prefix_subject.c - the prefix_subject effect: put a tag in front
 * of the Subject at the end of the message, once (effect_table.h row
 * STM_EFFECT_PREFIX_SUBJECT).
 *
 * Functions: stm_effect_prefix_subject_parse, stm_effect_prefix_subject_run.
 *
 * Semantics: prefix_subject: TEXT (a template, expanded when the rule
 * runs). At the end of the message the Subject gets TEXT in front unless
 * its decoded text already starts with it, so two rules asking for the
 * same tag, or a message tagged on an earlier pass, are tagged once; an
 * encoded (RFC 2047) Subject gets the tag as text or as an encoded word so
 * that it decodes to TEXT followed by the subject (stm_edit_prefix_subject
 * in run/edit.c). A message without a Subject gets one holding TEXT.
 *
 * Ownership: the template belongs to the effect (the rule). Errors: parse
 * errors go to the loader's diag; running fails only on memory exhaustion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "effect/effect_table.h"
#include "read/reader.h"
#include "run/edit.h"

/* prefix_subject: TEXT */
void
stm_effect_prefix_subject_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                                stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return;
    if (v->text[0] == '\0') {
        stm_config_error(ld, v, "prefix_subject needs a text to put in front of the Subject");
        return;
    }
    for (const unsigned char *c = (const unsigned char *)v->text; *c; c++)
        if ((*c < 32 && *c != '\t') || *c == 127) {
            stm_config_error(ld, v, "prefix_subject must not hold control characters");
            return;
        }
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e != NULL)
        e->value = stm_config_template(ld, v, row->key);
}

/* Queue the prefix. A value expanded to nothing (an empty variable) asks
 * for nothing. */
int
stm_effect_prefix_subject_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail,
                              size_t detail_len)
{
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    /* A variable may carry a line break: never into a header. */
    for (char *c = value; *c; c++)
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    int rc = value[0] != '\0' ? stm_session_add_edit(ctx->s, ctx->stage,
                                                     STM_EDIT_PREFIX_SUBJECT, NULL, value, 0, NULL)
                              : 0;
    snprintf(detail, detail_len, "prefix_subject \"%s\" (at the end of the message)", value);
    free(value);
    return rc < 0 ? -1 : 0;
}
