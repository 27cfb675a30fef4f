/*
 * effect_add_rcpt.c - the add_rcpt effect: add an envelope recipient at
 * the end of the message (effect_table.h row STM_EFFECT_ADD_RCPT), and the
 * envelope address check change_sender shares.
 *
 * Functions: stm_effect_add_rcpt_parse, stm_effect_add_rcpt_run,
 * stm_effect_address.
 *
 * Semantics: add_rcpt: ADDR (a template, expanded when the rule runs; with
 * or without angle brackets). At the end of the message the MTA adds it
 * (smfi_addrcpt) unless it is a recipient already; the message then goes
 * to it too, like a blind copy.
 *
 * Ownership: the template belongs to the effect (the rule). Errors: parse
 * errors go to the loader's diag; an expanded address that is empty or not
 * an address (white space, control characters, brackets inside) is a
 * run-time failure (milter.on_error decides).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effect/effect_table.h"
#include "read/reader.h"
#include "run/edit.h"

/* ADDR's envelope form into BUF (effect_table.h). */
const char *
stm_effect_address(const char *addr, char *buf, size_t len)
{
    while (*addr == ' ' || *addr == '\t')
        addr++;
    size_t n = strlen(addr);
    while (n > 0 && (addr[n - 1] == ' ' || addr[n - 1] == '\t'))
        n--;
    if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
        addr++;
        n -= 2;
    }
    if (n >= len)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)addr[i];
        if (c <= 32 || c == 127 || c == '<' || c == '>')
            return NULL;
    }
    memcpy(buf, addr, n);
    buf[n] = '\0';
    return buf;
}

/* add_rcpt: ADDR */
void
stm_effect_add_rcpt_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                          stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return;
    char buf[1024];
    const char *a = strstr(v->text, "${") == NULL ? stm_effect_address(v->text, buf, sizeof buf)
                                                  : v->text;
    if (a == NULL || a[0] == '\0') {
        stm_config_error(ld, v,
                         "add_rcpt '%s' is not an address (user@domain, no white space or "
                         "brackets inside)",
                         v->text);
        return;
    }
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e != NULL)
        e->value = stm_config_template(ld, v, row->key);
}

/* Queue the recipient. */
int
stm_effect_add_rcpt_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail, size_t detail_len)
{
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    char buf[1024];
    const char *a = stm_effect_address(value, buf, sizeof buf);
    int rc = 0;
    if (a == NULL || a[0] == '\0') {
        size_t need = strlen(value) + 64;
        if ((ctx->error = malloc(need)) != NULL)
            snprintf(ctx->error, need, "add_rcpt: '%s' is not an address", value);
        rc = -1;
    } else {
        rc = stm_session_add_edit(ctx->s, ctx->stage, STM_EDIT_ADD_RCPT, NULL, a, 0, NULL);
        snprintf(detail, detail_len, "add_rcpt <%s> (at the end of the message)", a);
    }
    free(value);
    return rc < 0 ? -1 : 0;
}
