/*
 * yaml_tree.c - libyaml events into a small node tree with 1-based marks
 * (yaml_tree.h).
 *
 * Functions: stm_yt_parse, stm_yt_free, stm_yt_type_name, stm_yt_get,
 * stm_yt_column_at.
 *
 * Ownership: stm_yt_parse() returns a tree the caller frees with stm_yt_free();
 * every libyaml event is deleted as soon as it has been copied.
 *
 * Errors: everything goes to the diag with FILE:LINE:COLUMN (libyaml's marks
 * are 0-based, ours 1-based). Problems libyaml does not see (duplicate keys,
 * anchors, aliases, tags, NUL in strings) are reported and parsing goes on,
 * so that one run reports them all; a syntax error or too deep a nesting
 * stops it, since nothing after can be trusted.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "read/yaml_tree.h"

typedef struct yt_state {
    yaml_parser_t parser;
    const char *text;
    size_t len;
    const char *file;
    stm_diag *diag;
} yt_state;

/* Release NODE and everything below it. */
void
stm_yt_free(stm_yt_node *node)
{
    if (node == NULL)
        return;
    free(node->text);
    for (size_t i = 0; i < node->npairs; i++) {
        stm_yt_free(node->pairs[i].key);
        stm_yt_free(node->pairs[i].value);
    }
    free(node->pairs);
    for (size_t i = 0; i < node->nitems; i++)
        stm_yt_free(node->items[i]);
    free(node->items);
    free(node);
}

/* A description of NODE's type for messages. */
const char *
stm_yt_type_name(const stm_yt_node *node)
{
    if (node == NULL)
        return "nothing";
    switch (node->type) {
    case STM_YT_NULL:
        return "nothing";
    case STM_YT_SCALAR:
        return "a string";
    case STM_YT_MAP:
        return "a mapping";
    case STM_YT_SEQ:
        return "a list";
    }
    return "?";
}

/* The value under KEY in MAP, or NULL. */
stm_yt_node *
stm_yt_get(const stm_yt_node *map, const char *key)
{
    if (map == NULL || map->type != STM_YT_MAP)
        return NULL;
    for (size_t i = 0; i < map->npairs; i++)
        if (strcmp(map->pairs[i].key->text, key) == 0)
            return map->pairs[i].value;
    return NULL;
}

/* Number of UTF-8 characters in the first LEN bytes of S. */
static int
yt_chars(const char *s, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* Column of byte OFFSET in NODE's text. */
int
stm_yt_column_at(const stm_yt_node *node, size_t offset)
{
    if (node == NULL)
        return 0;
    if (node->text_col_offset < 0 || node->text == NULL || offset > node->len)
        return node->column;
    return node->column + node->text_col_offset + yt_chars(node->text, offset);
}

/* Report an error at a libyaml MARK. */
static void __attribute__((format(printf, 3, 4)))
yt_error(yt_state *st, yaml_mark_t mark, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stm_diag_vadd(st->diag, STM_SEV_ERROR, st->file, (int)mark.line + 1, (int)mark.column + 1, fmt,
                 ap);
    va_end(ap);
}

/* Line and column (1-based) of byte OFFSET of the text. */
static void
yt_offset_mark(const yt_state *st, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t i = 0; i < offset && i < st->len; i++) {
        if (st->text[i] == '\n') {
            (*line)++;
            *column = 1;
        } else if (((unsigned char)st->text[i] & 0xC0) != 0x80) {
            (*column)++;
        }
    }
}

/* The byte at libyaml's MARK (0-based line and column in characters), or
 * -1 when outside the text. */
static int
yt_char_at(const yt_state *st, yaml_mark_t mark)
{
    size_t i = 0, line = 0, col = 0;
    for (; i < st->len && line < mark.line; i++)
        if (st->text[i] == '\n')
            line++;
    for (; i < st->len && st->text[i] != '\n'; i++) {
        if (((unsigned char)st->text[i] & 0xC0) == 0x80)
            continue;
        if (col++ == mark.column)
            return (unsigned char)st->text[i];
    }
    return -1;
}

/* Report the parser's own error (syntax, encoding). */
static void
yt_parser_error(yt_state *st)
{
    yaml_parser_t *p = &st->parser;
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_MEMORY_ERROR) {
        stm_diag_add(st->diag, STM_SEV_ERROR, st->file, 0, 0, "out of memory reading YAML");
    } else if (p->error == YAML_READER_ERROR) {
        int line, column;
        yt_offset_mark(st, p->problem_offset, &line, &column);
        stm_diag_add(st->diag, STM_SEV_ERROR, st->file, line, column, "YAML error: %s", problem);
    } else if (yt_char_at(st, p->problem_mark) == '\t') {
        stm_diag_add(st->diag, STM_SEV_ERROR, st->file, (int)p->problem_mark.line + 1,
                    (int)p->problem_mark.column + 1,
                    "YAML syntax error: %s (a tab: YAML indents with spaces only)", problem);
    } else if (p->context != NULL) {
        stm_diag_add(st->diag, STM_SEV_ERROR, st->file, (int)p->problem_mark.line + 1,
                    (int)p->problem_mark.column + 1, "YAML syntax error: %s (%s at line %d)",
                    problem, p->context, (int)p->context_mark.line + 1);
    } else {
        stm_diag_add(st->diag, STM_SEV_ERROR, st->file, (int)p->problem_mark.line + 1,
                    (int)p->problem_mark.column + 1, "YAML syntax error: %s", problem);
    }
}

/* Next event into EV; -1 (reported) on a parser error. */
static int
yt_next(yt_state *st, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&st->parser, ev)) {
        yt_parser_error(st);
        return -1;
    }
    return 0;
}

/* A new node of TYPE at MARK; NULL on memory exhaustion. */
static stm_yt_node *
yt_node_new(stm_yt_type type, yaml_mark_t mark)
{
    stm_yt_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->type = type;
    n->line = (int)mark.line + 1;
    n->column = (int)mark.column + 1;
    n->text_col_offset = -1;
    return n;
}

/* Refuse anchors and unknown tags of a node event. Returns true when the
 * tag forces a string ("!!str"). */
static bool
yt_check_props(yt_state *st, const yaml_event_t *ev, const yaml_char_t *anchor,
               const yaml_char_t *tag)
{
    if (anchor != NULL)
        yt_error(st, ev->start_mark, "YAML anchors (&%s) are not supported in a policy",
                 (const char *)anchor);
    if (tag == NULL || strcmp((const char *)tag, "!") == 0)
        return false;
    if (strcmp((const char *)tag, "tag:yaml.org,2002:str") == 0)
        return true;
    yt_error(st, ev->start_mark, "YAML tag '%s' is not supported in a policy", (const char *)tag);
    return false;
}

/* Is a plain scalar TEXT the YAML null? */
static bool
yt_is_null(const char *text)
{
    return text[0] == '\0' || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
           strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0;
}

/* A scalar node from EV; NULL on memory exhaustion. */
static stm_yt_node *
yt_scalar(yt_state *st, const yaml_event_t *ev)
{
    bool is_str = yt_check_props(st, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
    const char *value = (const char *)ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    stm_yt_node *n = yt_node_new(plain && !is_str && yt_is_null(value) ? STM_YT_NULL : STM_YT_SCALAR,
                                ev->start_mark);
    if (n == NULL)
        return NULL;
    n->quoted = !plain || is_str;
    n->text = malloc(len + 1);
    if (n->text == NULL) {
        free(n);
        return NULL;
    }
    if (n->type == STM_YT_SCALAR) {
        memcpy(n->text, value, len);
        n->len = len;
    }
    n->text[n->len] = '\0';
    if (memchr(n->text, '\0', n->len) != NULL) {
        yt_error(st, ev->start_mark, "a NUL character is not allowed in a string");
        n->len = strlen(n->text);
    }
    /* Do the characters map one to one onto the source? Then errors inside
     * the text can point at their own column. */
    if (ev->data.scalar.tag == NULL && ev->start_mark.line == ev->end_mark.line) {
        int width = (int)(ev->end_mark.column - ev->start_mark.column);
        int chars = yt_chars(n->text, n->len);
        if (plain && width == chars)
            n->text_col_offset = 0;
        else if ((ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                  ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) &&
                 width == chars + 2)
            n->text_col_offset = 1;
    }
    return n;
}

/* Does key A sort before key B (by text, then by position)? For qsort. */
static int
yt_pair_cmp(const void *a, const void *b)
{
    const stm_yt_pair *pa = *(stm_yt_pair *const *)a, *pb = *(stm_yt_pair *const *)b;
    int c = strcmp(pa->key->text, pb->key->text);
    if (c != 0)
        return c;
    return pa < pb ? -1 : pa > pb;
}

/* Report and drop duplicate keys of MAP, keeping the first occurrence.
 * Sorting keeps this O(n log n) for hostile files with huge maps. */
static int
yt_check_duplicates(yt_state *st, stm_yt_node *map)
{
    if (map->npairs < 2)
        return 0;
    stm_yt_pair **idx = malloc(map->npairs * sizeof *idx);
    /* For each duplicate, the line of the key's first occurrence (0: not a
     * duplicate). Lines, not pointers: the pairs move as duplicates go. */
    int *first_line = calloc(map->npairs, sizeof *first_line);
    if (idx == NULL || first_line == NULL) {
        free(idx);
        free(first_line);
        return -1;
    }
    for (size_t i = 0; i < map->npairs; i++)
        idx[i] = &map->pairs[i];
    qsort(idx, map->npairs, sizeof *idx, yt_pair_cmp);
    int line = 0; /* of the first occurrence of the current run of equal keys */
    for (size_t i = 0; i < map->npairs; i++) {
        if (i == 0 || strcmp(idx[i]->key->text, idx[i - 1]->key->text) != 0)
            line = idx[i]->key->line;
        else
            first_line[idx[i] - map->pairs] = line > 0 ? line : 1;
    }
    free(idx);
    size_t kept = 0;
    for (size_t i = 0; i < map->npairs; i++) {
        stm_yt_pair *p = &map->pairs[i];
        if (first_line[i] == 0) {
            map->pairs[kept++] = *p;
            continue;
        }
        stm_diag_add(st->diag, STM_SEV_ERROR, st->file, p->key->line, p->key->column,
                    "duplicate key '%s' (first given at line %d)", p->key->text, first_line[i]);
        stm_yt_free(p->key);
        stm_yt_free(p->value);
    }
    map->npairs = kept;
    free(first_line);
    return 0;
}

static int yt_node(yt_state *st, yaml_event_t *ev, int depth, stm_yt_node **out);

/* Append CHILD to a list node. */
static int
yt_seq_push(stm_yt_node *seq, stm_yt_node *child)
{
    if ((seq->nitems & (seq->nitems - 1)) == 0) { /* 0, 1, 2, 4, ...: grow */
        size_t ncap = seq->nitems ? seq->nitems * 2 : 4;
        stm_yt_node **ni = realloc(seq->items, ncap * sizeof *ni);
        if (ni == NULL)
            return -1;
        seq->items = ni;
    }
    seq->items[seq->nitems++] = child;
    return 0;
}

/* Append KEY: VALUE to a map node. */
static int
yt_map_push(stm_yt_node *map, stm_yt_node *key, stm_yt_node *value)
{
    if ((map->npairs & (map->npairs - 1)) == 0) {
        size_t ncap = map->npairs ? map->npairs * 2 : 4;
        stm_yt_pair *np = realloc(map->pairs, ncap * sizeof *np);
        if (np == NULL)
            return -1;
        map->pairs = np;
    }
    map->pairs[map->npairs].key = key;
    map->pairs[map->npairs].value = value;
    map->npairs++;
    return 0;
}

/* Build the node that starts with event EV (consumed here) at DEPTH.
 * Returns 0 with *OUT set (possibly NULL after a reported alias), -1 when
 * parsing must stop. */
static int
yt_node(yt_state *st, yaml_event_t *ev, int depth, stm_yt_node **out)
{
    *out = NULL;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        yt_error(st, ev->start_mark, "YAML aliases (*%s) are not supported in a policy",
                 (const char *)ev->data.alias.anchor);
        *out = yt_node_new(STM_YT_NULL, ev->start_mark);
        if (*out != NULL && (((*out)->text = calloc(1, 1)) == NULL)) {
            free(*out);
            *out = NULL;
        }
        yaml_event_delete(ev);
        return *out ? 0 : -1;
    case YAML_SCALAR_EVENT:
        *out = yt_scalar(st, ev);
        yaml_event_delete(ev);
        return *out ? 0 : -1;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        break;
    default:
        yt_error(st, ev->start_mark, "unexpected YAML event");
        yaml_event_delete(ev);
        return -1;
    }

    bool is_map = ev->type == YAML_MAPPING_START_EVENT;
    if (depth >= STM_YT_MAX_DEPTH) {
        stm_diag_add(st->diag, STM_SEV_ERROR, st->file, (int)ev->start_mark.line + 1,
                    (int)ev->start_mark.column + 1,
                    "nesting deeper than %d levels is not allowed in a policy", STM_YT_MAX_DEPTH);
        yaml_event_delete(ev);
        return -1;
    }
    if (is_map)
        yt_check_props(st, ev, ev->data.mapping_start.anchor, ev->data.mapping_start.tag);
    else
        yt_check_props(st, ev, ev->data.sequence_start.anchor, ev->data.sequence_start.tag);
    stm_yt_node *n = yt_node_new(is_map ? STM_YT_MAP : STM_YT_SEQ, ev->start_mark);
    yaml_event_delete(ev);
    if (n == NULL)
        return -1;

    for (;;) {
        yaml_event_t cev;
        if (yt_next(st, &cev) < 0)
            goto fail;
        if (cev.type == YAML_SEQUENCE_END_EVENT || cev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&cev);
            break;
        }
        stm_yt_node *child;
        if (yt_node(st, &cev, depth + 1, &child) < 0)
            goto fail;
        if (!is_map) {
            if (yt_seq_push(n, child) < 0) {
                stm_yt_free(child);
                goto fail;
            }
            continue;
        }
        /* A map: CHILD is the key, then comes its value. */
        yaml_event_t vev;
        stm_yt_node *value;
        if (yt_next(st, &vev) < 0) {
            stm_yt_free(child);
            goto fail;
        }
        if (yt_node(st, &vev, depth + 1, &value) < 0) {
            stm_yt_free(child);
            goto fail;
        }
        if (child->type != STM_YT_SCALAR) {
            stm_diag_add(st->diag, STM_SEV_ERROR, st->file, child->line, child->column,
                        "a key must be a string, not %s", stm_yt_type_name(child));
            stm_yt_free(child);
            stm_yt_free(value);
            continue;
        }
        if (yt_map_push(n, child, value) < 0) {
            stm_yt_free(child);
            stm_yt_free(value);
            goto fail;
        }
    }
    if (is_map && yt_check_duplicates(st, n) < 0)
        goto fail;
    *out = n;
    return 0;
fail:
    stm_yt_free(n);
    return -1;
}

/* Parse TEXT into a tree. */
int
stm_yt_parse(const char *text, size_t len, const char *file, stm_diag *diag, stm_yt_node **root)
{
    yt_state st = {.text = text, .len = len, .file = file, .diag = diag};
    stm_yt_node *doc = NULL;
    int rc = -1, ndocs = 0;
    yaml_event_t ev;

    *root = NULL;
    if (!yaml_parser_initialize(&st.parser)) {
        stm_diag_add(diag, STM_SEV_ERROR, file, 0, 0, "out of memory reading YAML");
        return -1;
    }
    yaml_parser_set_input_string(&st.parser, (const unsigned char *)text, len);
    for (;;) {
        if (yt_next(&st, &ev) < 0)
            goto done;
        yaml_event_type_t type = ev.type;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (type == YAML_DOCUMENT_START_EVENT && ++ndocs > 1) {
            yt_error(&st, ev.start_mark, "only one YAML document is allowed in a policy");
            yaml_event_delete(&ev);
            goto done;
        }
        if (type == YAML_STREAM_START_EVENT || type == YAML_DOCUMENT_START_EVENT ||
            type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        stm_yt_node *n;
        if (yt_node(&st, &ev, 0, &n) < 0)
            goto done;
        stm_yt_free(doc); /* cannot happen twice in one document; be safe */
        doc = n;
    }
    rc = 0;
done:
    yaml_parser_delete(&st.parser);
    if (rc == 0) {
        *root = doc;
    } else {
        stm_yt_free(doc);
    }
    return rc;
}
