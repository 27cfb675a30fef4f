/*
 * conds.c - `if:` conditions into stm_cond trees (DESIGN.md
 * "Conditions"), with the check that each condition can be known at the
 * stage where it is used.
 *
 * Functions: stm_config_cond (load.h). It also collects the
 * names of `macro:` conditions into policy->macro_names.
 *
 * Ownership: the caller owns the returned tree (stm_cond_free()); patterns
 * borrow the policy's lists, which outlive them.
 *
 * Errors: reported to the loader's diag at the offending node or, for
 * patterns, at the character inside the pattern where possible; a key with
 * errors is left out of the tree and the other keys are still checked.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"
#include "match/units.h"

static const char *const cond_keys[] = {
    "any",           "all",  "not",         "client_ip", "client_name", "helo",   "sender",
    "sender_domain", "rcpt", "rcpt_domain", "auth",      "tls",         "header", "has_header",
    "body",          "size", "macro",       "var",       "delegation",  "reply",  NULL};

/* A new condition of TYPE at NODE; NULL (reported) on memory exhaustion. */
static stm_cond *
cond_new(stm_loader *ld, stm_cond_type type, const stm_yt_node *node)
{
    stm_cond *c = calloc(1, sizeof *c);
    if (c == NULL) {
        stm_config_error(ld, node, "out of memory");
        return NULL;
    }
    c->type = type;
    c->pos = stm_config_pos(ld, node);
    return c;
}

/* Append CHILD (may be NULL: skipped) to C. */
static void
cond_push(stm_loader *ld, stm_cond *c, stm_cond *child)
{
    if (child == NULL)
        return;
    stm_cond **nc = realloc(c->children, (c->nchildren + 1) * sizeof *nc);
    if (nc == NULL) {
        stm_config_error(ld, NULL, "out of memory");
        stm_cond_free(child);
        return;
    }
    c->children = nc;
    c->children[c->nchildren++] = child;
}

/* Add one alternative written in scalar NODE to P. */
static void
cond_pattern_item(stm_loader *ld, const stm_yt_node *node, const char *what, stm_pattern *p,
                  stm_cond_type type)
{
    if (stm_config_expect(ld, node, STM_YT_SCALAR, "a pattern") < 0)
        return;
    const char *spec = node->text;
    if (spec[0] == '@' && spec[1] != '\0') {
        const stm_list *list = stm_config_find_list(ld, spec + 1);
        if (list == NULL) {
            char buf[400];
            size_t used = 0;
            buf[0] = '\0';
            for (size_t i = 0; i < ld->policy->nlists && used < sizeof buf; i++) {
                int w = snprintf(buf + used, sizeof buf - used, "%s@%s", i ? ", " : "",
                                 stm_list_name(ld->policy->lists[i]));
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            stm_config_error(ld, node, "%s: unknown list '%s'%s%s", what, spec,
                            ld->policy->nlists ? "; defined lists: " : " (no lists are defined)",
                            buf);
            return;
        }
        if (stm_pattern_add_list(p, list) < 0)
            stm_config_error(ld, node, "out of memory");
        return;
    }
    char *errmsg = NULL;
    size_t erroff = 0;
    if (stm_pattern_add(p, spec, &errmsg, &erroff) < 0) {
        stm_config_error_in(ld, node, erroff, "%s: %s", what, errmsg ? errmsg : "out of memory");
        free(errmsg);
        return;
    }
    /* The session keeps the null sender as "" (session.h); "<>" is how an
     * administrator writes it, so it also matches "". */
    if (type == STM_COND_SENDER && strcmp(spec, "<>") == 0 &&
        stm_pattern_add(p, "", &errmsg, &erroff) < 0) {
        stm_config_error(ld, node, "%s: %s", what, errmsg ? errmsg : "out of memory");
        free(errmsg);
    }
}

/* A pattern: a scalar or a list of scalars. */
static stm_pattern *
cond_pattern(stm_loader *ld, const stm_yt_node *node, const char *what, stm_pattern_kind kind,
             stm_cond_type type)
{
    if (node->type == STM_YT_NULL || (node->type == STM_YT_SEQ && node->nitems == 0)) {
        stm_config_error(ld, node, "%s needs a pattern", what);
        return NULL;
    }
    if (node->type == STM_YT_MAP) {
        stm_config_error(ld, node, "%s must be a pattern or a list of patterns, not a mapping",
                        what);
        return NULL;
    }
    stm_pattern *p = stm_pattern_create(kind);
    if (p == NULL) {
        stm_config_error(ld, node, "out of memory");
        return NULL;
    }
    if (node->type == STM_YT_SCALAR) {
        cond_pattern_item(ld, node, what, p, type);
    } else {
        for (size_t i = 0; i < node->nitems; i++)
            cond_pattern_item(ld, node->items[i], what, p, type);
    }
    return p;
}

/* A condition of TYPE with a pattern of KIND. */
static stm_cond *
cond_with_pattern(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v, stm_cond_type type,
                  stm_pattern_kind kind)
{
    stm_cond *c = cond_new(ld, type, key);
    if (c != NULL)
        c->pattern = cond_pattern(ld, v, key->text, kind, type);
    return c;
}

/* Note NAME as one the milter must fetch for `macro:` conditions (once). */
static void
cond_note_macro(stm_loader *ld, const stm_yt_node *nk, const char *name)
{
    struct stm_policy *p = ld->policy;
    for (size_t i = 0; i < p->nmacro_names; i++)
        if (strcmp(p->macro_names[i], name) == 0)
            return;
    char **grown = realloc(p->macro_names, (p->nmacro_names + 1) * sizeof *grown);
    char *copy = strdup(name);
    if (grown != NULL)
        p->macro_names = grown;
    if (grown == NULL || copy == NULL) {
        free(copy);
        stm_config_error(ld, nk, "out of memory");
        return;
    }
    p->macro_names[p->nmacro_names++] = copy;
}

/* header:/macro:/var: { NAME: pattern, ... } into one condition per name
 * (several: all must hold). */
static stm_cond *
cond_named(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v, stm_cond_type type,
           stm_pattern_kind kind)
{
    char what[300];
    if (stm_config_expect(ld, v, STM_YT_MAP, key->text) < 0)
        return NULL;
    if (v->npairs == 0) {
        stm_config_error(ld, v, "%s needs at least one NAME: pattern", key->text);
        return NULL;
    }
    stm_cond *all = v->npairs > 1 ? cond_new(ld, STM_COND_ALL, key) : NULL;
    if (v->npairs > 1 && all == NULL)
        return NULL;
    stm_cond *last = NULL;
    for (size_t i = 0; i < v->npairs; i++) {
        const stm_yt_node *nk = v->pairs[i].key;
        const char *name = nk->text;
        size_t nlen = strlen(name);
        if (type == STM_COND_MACRO && nlen >= 2 && name[0] == '{' && name[nlen - 1] == '}') {
            name++; /* "{auth_authen}" is stored as "auth_authen" */
            nlen -= 2;
        }
        bool ok = nlen > 0;
        for (size_t j = 0; ok && j < nlen; j++) {
            unsigned char ch = (unsigned char)name[j];
            if (type == STM_COND_HEADER)
                ok = ch > 32 && ch < 127 && ch != ':';
            else
                ok = isalnum(ch) || ch == '_' || ch == '-' || ch == '.';
        }
        if (!ok) {
            stm_config_error(ld, nk, "%s: '%s' is not a valid %s name", key->text, nk->text,
                            type == STM_COND_HEADER  ? "header field"
                            : type == STM_COND_MACRO ? "macro"
                                                    : "variable");
            continue;
        }
        stm_cond *c = cond_new(ld, type, nk);
        if (c == NULL)
            break;
        if ((c->name = strndup(name, nlen)) == NULL)
            stm_config_error(ld, nk, "out of memory");
        else if (type == STM_COND_MACRO)
            cond_note_macro(ld, nk, c->name);
        snprintf(what, sizeof what, "%s %s", key->text, nk->text);
        c->pattern = cond_pattern(ld, v->pairs[i].value, what, kind, type);
        if (all != NULL)
            cond_push(ld, all, c);
        else
            last = c;
    }
    return all != NULL ? all : last;
}

/* size: ">10M" (ops > >= < <= =). */
static stm_cond *
cond_size(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v)
{
    static const struct {
        const char *op;
        stm_size_op value;
    } ops[] = {{">=", STM_SIZE_GE},
               {"<=", STM_SIZE_LE},
               {">", STM_SIZE_GT},
               {"<", STM_SIZE_LT},
               {"=", STM_SIZE_EQ}};
    if (stm_config_expect(ld, v, STM_YT_SCALAR, "size") < 0)
        return NULL;
    const char *t = v->text;
    size_t i;
    for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strncmp(t, ops[i].op, strlen(ops[i].op)) == 0)
            break;
    if (i == sizeof ops / sizeof ops[0]) {
        stm_config_error(ld, v,
                        "size must be a comparison like \">10M\" (>, >=, <, <=, =), not '%s'", t);
        return NULL;
    }
    size_t off = strlen(ops[i].op);
    while (t[off] == ' ')
        off++;
    uint64_t bytes;
    const char *err = NULL;
    if (stm_units_size(t + off, &bytes, &err) < 0) {
        stm_config_error_in(ld, v, off, "size: bad size '%s': %s", t + off, err ? err : "invalid");
        return NULL;
    }
    stm_cond *c = cond_new(ld, STM_COND_SIZE, key);
    if (c != NULL) {
        c->size_op = ops[i].value;
        c->size = bytes;
    }
    return c;
}

/* delegation: returned | rejected | dropped | failed, or a list of them. */
static stm_cond *
cond_delegation(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v)
{
    static const char *const names[] = {"returned", "rejected", "dropped", "failed", NULL};
    static const stm_delegation_result results[] = {STM_DELEGATION_RETURNED, STM_DELEGATION_REJECTED,
                                                   STM_DELEGATION_DROPPED, STM_DELEGATION_FAILED};
    unsigned mask = 0;
    const stm_yt_node *const *items = &v;
    size_t n = 1;
    if (v->type == STM_YT_SEQ) {
        items = (const stm_yt_node *const *)v->items;
        n = v->nitems;
        if (n == 0) {
            stm_config_error(ld, v, "delegation needs at least one result");
            return NULL;
        }
    }
    for (size_t i = 0; i < n; i++) {
        int r;
        if (stm_config_enum(ld, items[i], "delegation", names, &r) == 0)
            mask |= 1u << results[r];
    }
    stm_cond *c = cond_new(ld, STM_COND_DELEGATION, key);
    if (c != NULL)
        c->delegation_mask = mask;
    return c;
}

/* Can condition NAME be known at SCOPE? Reports and returns false if not. */
static bool
cond_available(stm_loader *ld, const stm_yt_node *key, stm_config_scope scope)
{
    const char *k = key->text;
    const char *stage = stm_stage_name(scope.stage);
    bool eom = scope.stage == STM_STAGE_PREQ || scope.stage == STM_STAGE_POSTQ;
    if (strcmp(k, "header") == 0 || strcmp(k, "has_header") == 0 || strcmp(k, "body") == 0 ||
        strcmp(k, "size") == 0) {
        if (!eom) {
            stm_config_error(ld, key,
                            "%s is known only at preq and postq (the whole message), not at %s", k,
                            stage);
            return false;
        }
    } else if (strcmp(k, "rcpt") == 0 || strcmp(k, "rcpt_domain") == 0) {
        if (scope.stage < STM_STAGE_RCPT) {
            stm_config_error(ld, key, "%s is known from the rcpt stage on, not at %s", k, stage);
            return false;
        }
    } else if (strcmp(k, "sender") == 0 || strcmp(k, "sender_domain") == 0 ||
               strcmp(k, "auth") == 0) {
        /* SMTP AUTH happens after EHLO, before MAIL FROM. */
        if (scope.stage < STM_STAGE_MAIL) {
            stm_config_error(ld, key, "%s is known from the mail stage on, not at %s", k, stage);
            return false;
        }
    } else if (strcmp(k, "helo") == 0 || strcmp(k, "tls") == 0) {
        if (scope.stage < STM_STAGE_HELO) {
            stm_config_error(ld, key, "%s is known from the helo stage on, not at %s", k, stage);
            return false;
        }
    } else if (strcmp(k, "delegation") == 0 || strcmp(k, "reply") == 0) {
        if (!scope.in_delegate) {
            stm_config_error(ld, key, "%s is known only inside a delegate rule's rules:", k);
            return false;
        }
    }
    return true;
}

/* One key of a condition mapping. */
static stm_cond *
cond_key(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v, stm_config_scope scope)
{
    const char *k = key->text;
    char buf[400];
    bool b;

    if (strcmp(k, "any") == 0 || strcmp(k, "all") == 0) {
        if (stm_config_expect(ld, v, STM_YT_SEQ, k) < 0)
            return NULL;
        if (v->nitems == 0) {
            stm_config_error(ld, v, "%s needs at least one condition", k);
            return NULL;
        }
        stm_cond *c = cond_new(ld, k[1] == 'n' ? STM_COND_ANY : STM_COND_ALL, key);
        if (c == NULL)
            return NULL;
        for (size_t i = 0; i < v->nitems; i++)
            cond_push(ld, c, stm_config_cond(ld, v->items[i], scope));
        return c;
    }
    if (strcmp(k, "not") == 0) {
        stm_cond *c = cond_new(ld, STM_COND_NOT, key);
        if (c != NULL)
            cond_push(ld, c, stm_config_cond(ld, v, scope));
        return c;
    }
    size_t i;
    for (i = 0; cond_keys[i] != NULL; i++)
        if (strcmp(cond_keys[i], k) == 0)
            break;
    if (cond_keys[i] == NULL) {
        stm_config_error(ld, key, "unknown condition '%s'; allowed: %s", k,
                        stm_config_join(cond_keys, buf, sizeof buf));
        return NULL;
    }
    if (!cond_available(ld, key, scope))
        return NULL;

    if (strcmp(k, "client_ip") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_CLIENT_IP, STM_PAT_IP);
    if (strcmp(k, "client_name") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_CLIENT_NAME, STM_PAT_NOCASE);
    if (strcmp(k, "helo") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_HELO, STM_PAT_NOCASE);
    if (strcmp(k, "sender") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_SENDER, STM_PAT_NOCASE);
    if (strcmp(k, "sender_domain") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_SENDER_DOMAIN, STM_PAT_NOCASE);
    if (strcmp(k, "rcpt") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_RCPT, STM_PAT_NOCASE);
    if (strcmp(k, "rcpt_domain") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_RCPT_DOMAIN, STM_PAT_NOCASE);
    if (strcmp(k, "auth") == 0) {
        if (stm_config_is_bool(v, &b)) {
            stm_cond *c = cond_new(ld, STM_COND_AUTH, key);
            if (c != NULL) {
                c->auth_is_bool = true;
                c->flag = b;
            }
            return c;
        }
        return cond_with_pattern(ld, key, v, STM_COND_AUTH, STM_PAT_NOCASE);
    }
    if (strcmp(k, "tls") == 0) {
        if (stm_config_bool(ld, v, "tls", &b) < 0)
            return NULL;
        stm_cond *c = cond_new(ld, STM_COND_TLS, key);
        if (c != NULL)
            c->flag = b;
        return c;
    }
    if (strcmp(k, "header") == 0)
        return cond_named(ld, key, v, STM_COND_HEADER, STM_PAT_TEXT);
    if (strcmp(k, "macro") == 0)
        return cond_named(ld, key, v, STM_COND_MACRO, STM_PAT_TEXT);
    if (strcmp(k, "var") == 0)
        return cond_named(ld, key, v, STM_COND_VAR, STM_PAT_TEXT);
    if (strcmp(k, "has_header") == 0) {
        if (stm_config_expect(ld, v, STM_YT_SCALAR, "has_header") < 0)
            return NULL;
        bool ok = v->text[0] != '\0';
        for (const unsigned char *ch = (const unsigned char *)v->text; *ch; ch++)
            ok = ok && *ch > 32 && *ch < 127 && *ch != ':';
        if (!ok) {
            stm_config_error(ld, v, "has_header: '%s' is not a valid header field name", v->text);
            return NULL;
        }
        stm_cond *c = cond_new(ld, STM_COND_HAS_HEADER, key);
        if (c != NULL && (c->name = strdup(v->text)) == NULL)
            stm_config_error(ld, v, "out of memory");
        return c;
    }
    if (strcmp(k, "body") == 0)
        return cond_with_pattern(ld, key, v, STM_COND_BODY, STM_PAT_TEXT);
    if (strcmp(k, "size") == 0)
        return cond_size(ld, key, v);
    if (strcmp(k, "delegation") == 0)
        return cond_delegation(ld, key, v);
    /* reply */
    return cond_with_pattern(ld, key, v, STM_COND_REPLY, STM_PAT_TEXT);
}

/* A condition mapping: every key must hold. */
stm_cond *
stm_config_cond(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope)
{
    if (node == NULL || node->type != STM_YT_MAP) {
        stm_config_error(ld, node,
                        "a condition must be a mapping (e.g. { rcpt_domain: example.com }), not %s",
                        stm_yt_type_name(node));
        return NULL;
    }
    if (node->npairs == 0) {
        stm_config_error(ld, node, "an empty condition; leave out if: to match always");
        return NULL;
    }
    if (node->npairs == 1)
        return cond_key(ld, node->pairs[0].key, node->pairs[0].value, scope);
    stm_cond *all = cond_new(ld, STM_COND_ALL, node);
    if (all == NULL)
        return NULL;
    for (size_t i = 0; i < node->npairs; i++)
        cond_push(ld, all, cond_key(ld, node->pairs[i].key, node->pairs[i].value, scope));
    return all;
}
