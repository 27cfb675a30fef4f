/*
 * cond_scan.c - conditions on what a content scanner said (clamd, spamd,
 * rspamd; stagemilter/scan_result.h), allowed only inside a delegate
 * rule's rules: virus, spam, spam_score, symbol (cond_table.h).
 *
 * Functions: stm_cond_scan_parse_bool, stm_cond_scan_parse_number,
 * stm_cond_scan_number, stm_cond_scan_compare, stm_cond_scan_virus,
 * stm_cond_scan_spam, stm_cond_scan_spam_score, stm_cond_scan_symbol,
 * stm_cond_scan_action.
 * virus and symbol are parsed by stm_cond_parse_pattern (cond_parse.c).
 *
 * Semantics (DESIGN.md, Talking to the scanners people run):
 *   virus       the scanner named a signature (clamd's "NAME FOUND", an
 *               SMTP scanner's X-Virus-Infected header) that matches
 *   spam        spamd's "Spam: True|False", rspamd's verdict; unknown (no
 *               scanner said): neither true nor false holds
 *   spam_score  the score compared as "OP NUMBER"; unknown: does not hold
 *   symbol      one of the rules (spamd) or symbols (rspamd) that hit
 *   action      rspamd's action ("reject", "add header", "no action", ...)
 *   score       the message's score kept by add_score (any stage, not
 *               only inside a delegate's rules)
 * Outside a delegation none of the others holds. With several services (delegate: [a,
 * b]) each holds when it holds for any of them; scan: {SERVICE: {...}}
 * judges its conditions on that service's result only.
 *
 * Ownership: parsed conditions belong to the caller (stm_cond_free()).
 * Errors: parse errors go to the loader's diag; a pattern that fails while
 * matching is an error (fail closed).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cond/cond_table.h"
#include "read/reader.h"

/* "OP NUMBER". */
int
stm_cond_scan_number(const char *text, stm_size_op *op, double *num, const char **err)
{
    static const struct {
        const char *op;
        stm_size_op value;
    } ops[] = {{">=", STM_SIZE_GE}, {"<=", STM_SIZE_LE}, {">", STM_SIZE_GT},
               {"<", STM_SIZE_LT},  {"=", STM_SIZE_EQ}};
    size_t i;

    while (*text == ' ')
        text++;
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strncmp(text, ops[i].op, strlen(ops[i].op)) == 0)
            break;
    if (i == sizeof ops / sizeof ops[0]) {
        *err = "needs a comparison: >, >=, <, <= or = and a number, like \">5.5\"";
        return -1;
    }
    *op = ops[i].value;
    text += strlen(ops[i].op);
    while (*text == ' ')
        text++;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    while (*end == ' ')
        end++;
    if (end == text || *end != '\0' || errno != 0 || !isfinite(v)) {
        *err = "needs a number after the operator, like \">5.5\" or \"<= -1\"";
        return -1;
    }
    *num = v;
    return 0;
}

/* VALUE OP NUM. */
bool
stm_cond_scan_compare(double value, stm_size_op op, double num)
{
    switch (op) {
    case STM_SIZE_GT:
        return value > num;
    case STM_SIZE_GE:
        return value >= num;
    case STM_SIZE_LT:
        return value < num;
    case STM_SIZE_LE:
        return value <= num;
    case STM_SIZE_EQ:
    default:
        return value == num;
    }
}

/* KEY: true | false into c->flag. */
stm_cond *
stm_cond_scan_parse_bool(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                         const stm_yt_node *key, const stm_yt_node *v,
                         const stm_config_scope *scope)
{
    bool b;
    (void)scope;
    if (stm_config_bool(ld, v, row->key, &b) < 0)
        return NULL;
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL)
        c->flag = b;
    return c;
}

/* KEY: "OP NUMBER" into c->size_op and c->number. */
stm_cond *
stm_cond_scan_parse_number(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                           const stm_yt_node *key, const stm_yt_node *v,
                           const stm_config_scope *scope)
{
    const char *err = NULL;
    stm_size_op op;
    double num;
    (void)scope;
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return NULL;
    if (stm_cond_scan_number(v->text, &op, &num, &err) != 0) {
        stm_config_error(ld, v, "%s: '%s' %s", row->key, v->text, err);
        return NULL;
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL) {
        c->size_op = op;
        c->number = num;
    }
    return c;
}

/* virus: the signature the scanner named. */
static stm_cond_result
scan_virus_one(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (ctx->deleg == NULL || ctx->deleg->scan.virus == NULL)
        return STM_COND_FALSE;
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->deleg->scan.virus, err));
}

/* spam: the verdict, when one was given. */
static stm_cond_result
scan_spam_one(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    (void)err;
    if (ctx->deleg == NULL || !ctx->deleg->scan.has_spam)
        return STM_COND_FALSE;
    return ctx->deleg->scan.spam == c->flag ? STM_COND_TRUE : STM_COND_FALSE;
}

/* spam_score: the score, when one was given. */
static stm_cond_result
scan_spam_score_one(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    (void)err;
    if (ctx->deleg == NULL || !ctx->deleg->scan.has_score)
        return STM_COND_FALSE;
    return stm_cond_scan_compare(ctx->deleg->scan.score, c->size_op, c->number) ? STM_COND_TRUE
                                                                                : STM_COND_FALSE;
}

/* symbol: any of the symbols that hit. */
static stm_cond_result
scan_symbol_one(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    stm_cond_result acc = STM_COND_FALSE;
    *err = NULL;
    if (ctx->deleg == NULL)
        return STM_COND_FALSE;
    for (size_t i = 0; i < ctx->deleg->scan.nsymbols && acc != STM_COND_TRUE; i++) {
        char *why = NULL;
        stm_match m = stm_pattern_match(c->pattern, ctx->deleg->scan.symbols[i], &why);
        stm_cond_any_of(&acc, err, m, why);
    }
    return acc;
}

/* action: rspamd's action. */
static stm_cond_result
scan_action_one(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (ctx->deleg == NULL || ctx->deleg->scan.action == NULL)
        return STM_COND_FALSE;
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->deleg->scan.action, err));
}

/* virus: any of the delegate's results. */
stm_cond_result
stm_cond_scan_virus(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_each_deleg(c, ctx, err, scan_virus_one);
}

/* spam: any of the delegate's results. */
stm_cond_result
stm_cond_scan_spam(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_each_deleg(c, ctx, err, scan_spam_one);
}

/* spam_score: any of the delegate's results. */
stm_cond_result
stm_cond_scan_spam_score(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_each_deleg(c, ctx, err, scan_spam_score_one);
}

/* symbol: any of the delegate's results. */
stm_cond_result
stm_cond_scan_symbol(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_each_deleg(c, ctx, err, scan_symbol_one);
}

/* action: any of the delegate's results. */
stm_cond_result
stm_cond_scan_action(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_each_deleg(c, ctx, err, scan_action_one);
}

/* scan: {SERVICE: {CONDITIONS}, ...}: a node per service (several under
 * an all). */
stm_cond *
stm_cond_scan_parse_scan(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                         const stm_yt_node *key, const stm_yt_node *v,
                         const stm_config_scope *scope)
{
    const struct stm_policy *p = ld->policy;
    if (stm_config_expect(ld, v, STM_YT_MAP, row->key) < 0)
        return NULL;
    if (v->npairs == 0) {
        stm_config_error(ld, v, "scan needs SERVICE: {conditions}");
        return NULL;
    }
    stm_cond *all = v->npairs > 1 ? stm_cond_parse_new(ld, STM_COND_ALL, key) : NULL;
    stm_cond *one = NULL;
    for (size_t i = 0; i < v->npairs; i++) {
        const stm_yt_node *svc = v->pairs[i].key;
        bool known = false;
        for (size_t k = 0; k < p->nservices && !known; k++)
            known = p->services[k].name != NULL && strcmp(p->services[k].name, svc->text) == 0;
        if (!known) {
            stm_config_error(ld, svc, "scan: unknown service '%s'", svc->text);
            continue;
        }
        stm_cond *inner = stm_config_cond(ld, v->pairs[i].value, *scope);
        if (inner == NULL)
            continue;
        one = stm_cond_parse_new(ld, type, svc);
        if (one == NULL || (one->name = strdup(svc->text)) == NULL) {
            stm_cond_free(inner);
            stm_cond_free(one);
            one = NULL;
            continue;
        }
        stm_cond_parse_push(ld, one, inner);
        if (all != NULL) {
            stm_cond_parse_push(ld, all, one);
            one = NULL;
        }
    }
    return all != NULL ? all : one;
}

/* scan: the conditions on the result of the named service only; false
 * when the delegate did not ask that service. */
stm_cond_result
stm_cond_scan_scan(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    for (size_t i = 0; i < ctx->nrecs; i++) {
        if (ctx->recs[i].service == NULL || strcmp(ctx->recs[i].service->name, c->name) != 0)
            continue;
        stm_cond_ctx sub;
        stm_cond_ctx_for(ctx, &ctx->recs[i], &sub);
        return c->nchildren == 1 ? stm_cond_judge(c->children[0], &sub, err) : STM_COND_FALSE;
    }
    return STM_COND_FALSE;
}

/* score: the message's score (add_score), at any stage. */
stm_cond_result
stm_cond_scan_score(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    (void)err;
    return stm_cond_scan_compare(ctx->s->score, c->size_op, c->number) ? STM_COND_TRUE
                                                                       : STM_COND_FALSE;
}
