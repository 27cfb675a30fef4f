/*
 * scan_result.c - a scanner's verdict beyond the delegation's result
 * (stagemilter/scan_result.h): the setters the protocols in
 * milter/delegate/ call and the clean-up the delegation's owner calls.
 *
 * Functions: stm_scan_result_clear, stm_scan_result_set_virus,
 * stm_scan_result_set_action, stm_scan_result_set_score,
 * stm_scan_result_add_symbol, stm_scan_result_add_header,
 * stm_scan_result_known.
 *
 * Ownership: the result owns every string; the setters copy.
 *
 * Errors: -1 on memory exhaustion, the result unchanged; a symbol or header
 * beyond the limits is not an error: it is counted in `dropped`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stagemilter/scan_result.h"

/* Free what R owns and zero it. */
void
stm_scan_result_clear(stm_scan_result *r)
{
    free(r->virus);
    free(r->action);
    for (size_t i = 0; i < r->nsymbols; i++)
        free(r->symbols[i]);
    free(r->symbols);
    for (size_t i = 0; i < r->nadd; i++) {
        free(r->add[i].name);
        free(r->add[i].value);
    }
    free(r->add);
    for (size_t i = 0; i < r->nremove; i++)
        free(r->remove[i].name);
    free(r->remove);
    memset(r, 0, sizeof *r);
}

/* Replace *DST by a copy of TEXT[0..LEN). 0 or -1. */
static int
scan_result_set(char **dst, const char *text, size_t len)
{
    char *copy = strndup(text, len);
    if (copy == NULL)
        return -1;
    free(*dst);
    *dst = copy;
    return 0;
}

/* The virus name. */
int
stm_scan_result_set_virus(stm_scan_result *r, const char *name, size_t len)
{
    return scan_result_set(&r->virus, name, len);
}

/* rspamd's action. */
int
stm_scan_result_set_action(stm_scan_result *r, const char *name, size_t len)
{
    return scan_result_set(&r->action, name, len);
}

/* The score and its threshold. */
void
stm_scan_result_set_score(stm_scan_result *r, double score, double required)
{
    r->has_score = true;
    r->score = score;
    r->required = required;
    snprintf(r->score_text, sizeof r->score_text, "%.2f", score);
}

/* One more symbol. */
int
stm_scan_result_add_symbol(stm_scan_result *r, const char *name, size_t len)
{
    if (r->nsymbols >= STM_SCAN_MAX_SYMBOLS) {
        r->dropped++;
        return 0;
    }
    if ((r->nsymbols & (r->nsymbols - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t cap = r->nsymbols ? r->nsymbols * 2 : 8;
        char **n = realloc(r->symbols, cap * sizeof *n);
        if (n == NULL)
            return -1;
        r->symbols = n;
    }
    if ((r->symbols[r->nsymbols] = strndup(name, len)) == NULL)
        return -1;
    r->nsymbols++;
    return 0;
}

/* One more header to add or remove. */
int
stm_scan_result_add_header(stm_scan_result *r, const char *name, const char *value, int index)
{
    stm_scan_header **arr = value != NULL ? &r->add : &r->remove;
    size_t *n = value != NULL ? &r->nadd : &r->nremove;
    if (*n >= STM_SCAN_MAX_HEADERS) {
        r->dropped++;
        return 0;
    }
    stm_scan_header *grown = realloc(*arr, (*n + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    *arr = grown;
    stm_scan_header *h = &grown[*n];
    h->index = index;
    h->name = strdup(name);
    h->value = value != NULL ? strdup(value) : NULL;
    if (h->name == NULL || (value != NULL && h->value == NULL)) {
        free(h->name);
        free(h->value);
        return -1;
    }
    (*n)++;
    return 0;
}

/* Is anything known? */
bool
stm_scan_result_known(const stm_scan_result *r)
{
    return r->virus != NULL || r->has_spam || r->has_score || r->action != NULL ||
           r->nsymbols > 0;
}
