/*
 * cond_parse.c - what the parse functions of conditions share: a new
 * condition node, appending a child, and the two value shapes most
 * conditions take, a pattern (or a list of them) and a mapping of NAME:
 * pattern (cond_table.h).
 *
 * Functions: stm_cond_parse_new, stm_cond_parse_push, stm_cond_parse_pattern,
 * stm_cond_parse_named. stm_cond_parse_named also collects the names of
 * `macro:` conditions into policy->macro_names.
 *
 * Ownership: the caller owns returned conditions (stm_cond_free()); patterns
 * borrow the policy's lists, which outlive them.
 *
 * Errors: reported to the loader's diag at the offending node or, for
 * patterns, at the character inside the pattern where possible.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond/cond_table.h"
#include "read/reader.h"

/* A new condition of TYPE at NODE; NULL (reported) on memory exhaustion. */
stm_cond *
stm_cond_parse_new(stm_loader *ld, stm_cond_type type, const stm_yt_node *node)
{
    stm_cond *c = calloc(1, sizeof *c);
    if (c == NULL) {
        stm_config_error(ld, node, "out of memory");
        return NULL;
    }
    c->type = type;
    c->eval = stm_cond_table[type].eval;
    c->pos = stm_config_pos(ld, node);
    return c;
}

/* Append CHILD (may be NULL: skipped) to C. */
void
stm_cond_parse_push(stm_loader *ld, stm_cond *c, stm_cond *child)
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
cond_parse_pattern_item(stm_loader *ld, const stm_yt_node *node, const char *what, stm_pattern *p,
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
cond_parse_pattern_value(stm_loader *ld, const stm_yt_node *node, const char *what,
                         stm_pattern_kind kind, stm_cond_type type)
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
        cond_parse_pattern_item(ld, node, what, p, type);
    } else {
        for (size_t i = 0; i < node->nitems; i++)
            cond_parse_pattern_item(ld, node->items[i], what, p, type);
    }
    return p;
}

/* KEY: a pattern of the row's kind. */
stm_cond *
stm_cond_parse_pattern(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                       const stm_yt_node *key, const stm_yt_node *v, const stm_config_scope *scope)
{
    (void)scope;
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL)
        c->pattern = cond_parse_pattern_value(ld, v, key->text, row->pattern, type);
    return c;
}

/* Note NAME as one the milter must fetch for `macro:` conditions (once). */
static void
cond_parse_note_macro(stm_loader *ld, const stm_yt_node *nk, const char *name)
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
stm_cond *
stm_cond_parse_named(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                     const stm_yt_node *key, const stm_yt_node *v, const stm_config_scope *scope)
{
    char what[300];
    (void)scope;
    if (stm_config_expect(ld, v, STM_YT_MAP, key->text) < 0)
        return NULL;
    if (v->npairs == 0) {
        stm_config_error(ld, v, "%s needs at least one NAME: pattern", key->text);
        return NULL;
    }
    stm_cond *all = v->npairs > 1 ? stm_cond_parse_new(ld, STM_COND_ALL, key) : NULL;
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
        stm_cond *c = stm_cond_parse_new(ld, type, nk);
        if (c == NULL)
            break;
        if ((c->name = strndup(name, nlen)) == NULL)
            stm_config_error(ld, nk, "out of memory");
        else if (type == STM_COND_MACRO)
            cond_parse_note_macro(ld, nk, c->name);
        snprintf(what, sizeof what, "%s %s", key->text, nk->text);
        c->pattern = cond_parse_pattern_value(ld, v->pairs[i].value, what, row->pattern, type);
        if (all != NULL)
            stm_cond_parse_push(ld, all, c);
        else
            last = c;
    }
    return all != NULL ? all : last;
}
