/*
 * reader.c - the typed readers every section of the policy loader uses
 * (reader.h): positions, error and warning reports, and reads of booleans,
 * strings, enums, durations, sizes and templates from the YAML tree.
 *
 * Functions: stm_config_pos, stm_config_error, stm_config_error_in,
 * stm_config_warning, stm_config_expect, stm_config_check_keys,
 * stm_config_bool, stm_config_is_bool, stm_config_string, stm_config_enum,
 * stm_config_duration, stm_config_size, stm_config_template,
 * stm_config_join, stm_config_find_list. They depend on the YAML tree, the
 * units and the templates, never on a section of the policy.
 *
 * Ownership: strings and templates read are the caller's; nodes are
 * borrowed from the tree.
 *
 * Errors: each reader reports its own problem to the loader's diag, naming
 * what was read, with FILE:LINE:COLUMN, and returns -1 (NULL for
 * templates); a second error at the node of the latest one is dropped as its
 * consequence.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/list.h"
#include "model.h"
#include "read/reader.h"
#include "match/units.h"

/* The position of NODE in the policy file. */
stm_srcpos
stm_config_pos(const stm_loader *ld, const stm_yt_node *node)
{
    stm_srcpos pos = {ld->file, node ? node->line : 0, node ? node->column : 0};
    return pos;
}

/* Was the latest problem reported at NODE already? Then a second one there
 * is a consequence of the first (an alias read as nothing, say): skip it. */
static bool
config_cascade(const stm_loader *ld, const stm_yt_node *node)
{
    size_t n = stm_diag_count(ld->diag);
    const stm_diag_entry *e = n ? stm_diag_get(ld->diag, n - 1) : NULL;
    return node != NULL && e != NULL && e->severity == STM_SEV_ERROR && e->line == node->line &&
           e->column == node->column && e->file != NULL && strcmp(e->file, ld->file) == 0;
}

/* Report an error at NODE. */
void
stm_config_error(stm_loader *ld, const stm_yt_node *node, const char *fmt, ...)
{
    va_list ap;
    if (config_cascade(ld, node))
        return;
    va_start(ap, fmt);
    stm_diag_vadd(ld->diag, STM_SEV_ERROR, ld->file, node ? node->line : 0, node ? node->column : 0,
                  fmt, ap);
    va_end(ap);
}

/* Report an error at byte OFFSET inside NODE's text. */
void
stm_config_error_in(stm_loader *ld, const stm_yt_node *node, size_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stm_diag_vadd(ld->diag, STM_SEV_ERROR, ld->file, node ? node->line : 0,
                  node ? stm_yt_column_at(node, offset) : 0, fmt, ap);
    va_end(ap);
}

/* Report a warning at NODE. */
void
stm_config_warning(stm_loader *ld, const stm_yt_node *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stm_diag_vadd(ld->diag, STM_SEV_WARNING, ld->file, node ? node->line : 0,
                  node ? node->column : 0, fmt, ap);
    va_end(ap);
}

/* "a, b, c" into BUF. */
const char *
stm_config_join(const char *const *names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] != NULL && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

/* A type name with its article, for "must be ..." messages. */
static const char *
config_type_word(stm_yt_type type)
{
    switch (type) {
    case STM_YT_MAP:
        return "a mapping";
    case STM_YT_SEQ:
        return "a list";
    case STM_YT_SCALAR:
        return "a string";
    case STM_YT_NULL:
        return "empty";
    }
    return "?";
}

/* Is NODE of TYPE? Report it otherwise. */
int
stm_config_expect(stm_loader *ld, const stm_yt_node *node, stm_yt_type type, const char *what)
{
    if (node != NULL && node->type == type)
        return 0;
    stm_config_error(ld, node, "%s must be %s, not %s", what, config_type_word(type),
                     stm_yt_type_name(node));
    return -1;
}

/* Report unknown keys of MAP. */
int
stm_config_check_keys(stm_loader *ld, const stm_yt_node *map, const char *what,
                      const char *const *allowed)
{
    int bad = 0;
    char buf[512];
    if (map == NULL || map->type != STM_YT_MAP)
        return 0;
    for (size_t i = 0; i < map->npairs; i++) {
        const stm_yt_node *k = map->pairs[i].key;
        size_t j;
        for (j = 0; allowed[j] != NULL; j++)
            if (strcmp(allowed[j], k->text) == 0)
                break;
        if (allowed[j] != NULL)
            continue;
        stm_config_error(ld, k, "unknown key '%s' in %s; allowed: %s", k->text, what,
                         stm_config_join(allowed, buf, sizeof buf));
        bad++;
    }
    return bad;
}

/* Is NODE a boolean scalar? */
bool
stm_config_is_bool(const stm_yt_node *node, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    if (node == NULL || node->type != STM_YT_SCALAR)
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(node->text, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(node->text, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* A boolean. */
int
stm_config_bool(stm_loader *ld, const stm_yt_node *node, const char *what, bool *out)
{
    if (stm_config_is_bool(node, out))
        return 0;
    if (node != NULL && node->type == STM_YT_SCALAR)
        stm_config_error(ld, node, "%s must be true or false, not '%s'", what, node->text);
    else
        stm_config_error(ld, node, "%s must be true or false, not %s", what,
                         stm_yt_type_name(node));
    return -1;
}

/* A string, copied into *OUT. */
int
stm_config_string(stm_loader *ld, const stm_yt_node *node, const char *what, char **out)
{
    if (stm_config_expect(ld, node, STM_YT_SCALAR, what) < 0)
        return -1;
    char *s = strdup(node->text);
    if (s == NULL) {
        stm_config_error(ld, node, "out of memory");
        return -1;
    }
    free(*out);
    *out = s;
    return 0;
}

/* One of NAMES. */
int
stm_config_enum(stm_loader *ld, const stm_yt_node *node, const char *what, const char *const *names,
                int *out)
{
    char buf[256];
    if (node != NULL && node->type == STM_YT_SCALAR) {
        for (int i = 0; names[i] != NULL; i++) {
            if (strcmp(names[i], node->text) == 0) {
                *out = i;
                return 0;
            }
        }
        stm_config_error(ld, node, "%s must be one of %s, not '%s'", what,
                         stm_config_join(names, buf, sizeof buf), node->text);
    } else {
        stm_config_error(ld, node, "%s must be one of %s, not %s", what,
                         stm_config_join(names, buf, sizeof buf), stm_yt_type_name(node));
    }
    return -1;
}

/* The largest duration and size a policy may give. Every duration key is a
 * timeout or a grace that ends up, in milliseconds, in a poll() or a
 * socket wait, whose timeout is an int: 24 days (2,073,600,000 ms) fits,
 * 25 days would not. Every size key bounds one message, which reaches
 * libmilter calls that take an int length (smfi_replacebody is fed in
 * pieces, but nothing gains from messages of more than 2 GiB). */
#define CONFIG_DURATION_MAX_MS ((uint64_t)24 * 24 * 60 * 60 * 1000)
#define CONFIG_SIZE_MAX ((uint64_t)2 << 30)

/* A duration in milliseconds, at most 24 days. */
int
stm_config_duration(stm_loader *ld, const stm_yt_node *node, const char *what, uint64_t *out)
{
    const char *err = NULL;
    uint64_t v;
    if (stm_config_expect(ld, node, STM_YT_SCALAR, what) < 0)
        return -1;
    if (stm_units_duration_ms(node->text, &v, &err) < 0) {
        stm_config_error(ld, node, "%s: bad duration '%s': %s", what, node->text,
                         err ? err : "invalid");
        return -1;
    }
    if (v > CONFIG_DURATION_MAX_MS) {
        stm_config_error(ld, node, "%s: duration '%s' is too long: at most 24 days (576h)", what,
                         node->text);
        return -1;
    }
    *out = v;
    return 0;
}

/* A size in bytes, at most 2G. */
int
stm_config_size(stm_loader *ld, const stm_yt_node *node, const char *what, uint64_t *out)
{
    const char *err = NULL;
    uint64_t v;
    if (stm_config_expect(ld, node, STM_YT_SCALAR, what) < 0)
        return -1;
    if (stm_units_size(node->text, &v, &err) < 0) {
        stm_config_error(ld, node, "%s: bad size '%s': %s", what, node->text,
                         err ? err : "invalid");
        return -1;
    }
    if (v > CONFIG_SIZE_MAX) {
        stm_config_error(ld, node, "%s: size '%s' is too large: at most 2G", what, node->text);
        return -1;
    }
    *out = v;
    return 0;
}

/* A text with ${variables}. */
stm_template *
stm_config_template(stm_loader *ld, const stm_yt_node *node, const char *what)
{
    char *errmsg = NULL;
    size_t erroff = 0;
    if (stm_config_expect(ld, node, STM_YT_SCALAR, what) < 0)
        return NULL;
    stm_template *t = stm_template_compile(node->text, &errmsg, &erroff);
    if (t == NULL) {
        stm_config_error_in(ld, node, erroff, "%s: %s", what, errmsg ? errmsg : "out of memory");
        free(errmsg);
    }
    return t;
}

/* The list called NAME. */
const stm_list *
stm_config_find_list(const stm_loader *ld, const char *name)
{
    for (size_t i = 0; i < ld->policy->nlists; i++)
        if (strcmp(stm_list_name(ld->policy->lists[i]), name) == 0)
            return ld->policy->lists[i];
    return NULL;
}
