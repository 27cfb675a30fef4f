/*
 * effect_score.c - the add_score effect: keep a message score across rules
 * and scanners (effect_table.h row STM_EFFECT_ADD_SCORE; the score
 * condition and ${score} read it, cond/cond_scan.c and run/session.c).
 *
 * Functions: stm_effect_score_parse, stm_effect_score_run.
 *
 * Semantics (DESIGN.md, Talking to the scanners people run): `add_score:
 * NUMBER` adds NUMBER (may be negative) to the message's score, which
 * starts at 0, or at what connect and helo rules added to the connection.
 * The value may also be a text with variables that gives a number, such as
 * "${spam_score}": a scanner's score then counts too. An empty expansion
 * (no scanner gave a score) adds nothing.
 *
 * Ownership: the template belongs to the effect (the rule). Errors: a
 * constant that is not a number is refused when the policy loads; an
 * expansion that is not a number is a run-time failure (milter.on_error):
 * a score that cannot be computed never counts as 0.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effect/effect_table.h"
#include "read/reader.h"

/* TEXT as a finite number into *N; "" is 0. true when it is one. */
static bool
effect_score_number(const char *text, double *n)
{
    char *end;
    while (*text == ' ')
        text++;
    if (*text == '\0') {
        *n = 0;
        return true;
    }
    errno = 0;
    *n = strtod(text, &end);
    while (*end == ' ')
        end++;
    return end != text && *end == '\0' && errno == 0 && isfinite(*n);
}

/* add_score: NUMBER or TEXT */
void
stm_effect_score_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type, stm_rule *r,
                       const stm_yt_node *key, const stm_yt_node *v)
{
    double n;
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return;
    if (strstr(v->text, "${") == NULL && (!effect_score_number(v->text, &n) || v->text[0] == '\0')) {
        stm_config_error(ld, v, "add_score: '%s' is not a number (write 2.5, -1, or a text such as \"${spam_score}\")",
                         v->text);
        return;
    }
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e != NULL)
        e->value = stm_config_template(ld, v, row->key);
}

/* Add to the score. */
int
stm_effect_score_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail, size_t detail_len)
{
    double n;
    char *value = stm_template_expand(e->value, stm_session_lookup, ctx->s);
    if (value == NULL)
        return -1;
    if (!effect_score_number(value, &n)) {
        char msg[300];
        snprintf(msg, sizeof msg, "add_score: '%.100s' is not a number", value);
        ctx->error = strdup(msg);
        free(value);
        return -1;
    }
    stm_session_add_score(ctx->s, ctx->stage, n);
    snprintf(detail, detail_len, "add_score %s: score %.2f", value, ctx->s->score);
    free(value);
    return 0;
}
