/*
 * effect_change_header.c - the change_header effect: give one occurrence
 * of a header field a new value, or delete it with value "", at the end of
 * the message (effect_table.h row STM_EFFECT_CHANGE_HEADER).
 *
 * Functions: stm_effect_change_header_parse, stm_effect_change_header_run.
 *
 * Semantics (DESIGN.md, Changing the message): change_header: {name, value,
 * index}; index (default 1) counts the fields of that name in the message
 * as received; an occurrence that is not there is added when the value is
 * not empty. The value is a template expanded when the rule runs; the
 * change waits in the session (run/edit.c) for the end of the message.
 *
 * Ownership: the name and template belong to the effect (the rule).
 * Errors: parse errors go to the loader's diag; running fails only on
 * memory exhaustion.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "effect/effect_table.h"
#include "read/reader.h"
#include "run/edit.h"

/* Is NAME a valid header field name (RFC 5322: printable ASCII, no colon)? */
static bool
change_header_name_ok(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c <= 32 || *c >= 127 || *c == ':')
            return false;
    return true;
}

/* Read header field name N of effect WHAT into *OUT; reported when bad. */
static void
change_header_name(stm_loader *ld, const stm_yt_node *n, const char *what, char **out)
{
    if (stm_config_string(ld, n, what, out) == 0 && !change_header_name_ok(*out))
        stm_config_error(ld, n,
                         "%s '%s' is not a valid header field name "
                         "(printable ASCII without spaces or ':')",
                         what, *out);
}

/* change_header: {name: NAME, value: TEXT, index: N} */
void
stm_effect_change_header_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                               stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    static const char *const keys[] = {"name", "value", "index", NULL};
    if (stm_config_expect(ld, v, STM_YT_MAP, row->key) < 0)
        return;
    stm_config_check_keys(ld, v, row->key, keys);
    const stm_yt_node *name = stm_yt_get(v, "name"), *value = stm_yt_get(v, "value");
    const stm_yt_node *index = stm_yt_get(v, "index");
    if (name == NULL || value == NULL) {
        stm_config_error(ld, v, "change_header needs name and value (value \"\" deletes the field)");
        return;
    }
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e == NULL)
        return;
    change_header_name(ld, name, "change_header name", &e->name);
    e->value = stm_config_template(ld, value, "change_header value");
    e->index = 1;
    if (index != NULL && stm_config_expect(ld, index, STM_YT_SCALAR, "change_header index") == 0) {
        char *end = NULL;
        errno = 0;
        long n = strtol(index->text, &end, 10);
        if (errno != 0 || end == index->text || *end != '\0' || n < 1 || n > 10000)
            stm_config_error(ld, index,
                             "change_header index '%s' must be a whole number from 1 (the "
                             "first field of that name) to 10000",
                             index->text);
        else
            e->index = (int)n;
    }
}

/* Queue the change for the end of the message. */
int
stm_effect_change_header_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail,
                             size_t detail_len)
{
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    /* A variable may carry a line break: never a new field. */
    for (char *c = value; *c; c++)
        if (*c == '\r' || *c == '\n')
            *c = ' ';
    int rc = stm_session_add_edit(ctx->s, ctx->stage, STM_EDIT_CHANGE_HEADER, e->name, value,
                                  e->index, NULL);
    if (value[0] == '\0')
        snprintf(detail, detail_len, "change_header %s[%d]: deleted (at the end of the message)",
                 e->name, e->index);
    else
        snprintf(detail, detail_len, "change_header %s[%d]: %s (at the end of the message)",
                 e->name, e->index, value);
    free(value);
    return rc < 0 ? -1 : 0;
}
