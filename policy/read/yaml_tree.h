/*
 * yaml_tree.h - a YAML document as a small tree of maps, lists and scalars,
 * each node with its 1-based line and column. Private to policy/.
 *
 * Built from libyaml events by stm_yt_parse(), which refuses what a policy
 * has no use for and libyaml lets through: duplicate keys, anchors and
 * aliases, non-scalar keys, several documents, unknown tags, NUL characters
 * in strings, and nesting deeper than STM_YT_MAX_DEPTH.
 */
#ifndef STAGEMILTER_YAML_TREE_H
#define STAGEMILTER_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "stagemilter/diag.h"
#include "stagemilter/limits.h"


typedef enum stm_yt_type {
    STM_YT_NULL,   /* an empty plain scalar, "~" or "null" */
    STM_YT_SCALAR, /* everything else that is a scalar (numbers, booleans too) */
    STM_YT_MAP,
    STM_YT_SEQ
} stm_yt_type;

typedef struct stm_yt_node stm_yt_node;

typedef struct stm_yt_pair {
    stm_yt_node *key; /* always STM_YT_SCALAR or STM_YT_NULL */
    stm_yt_node *value;
} stm_yt_pair;

struct stm_yt_node {
    stm_yt_type type;
    int line;   /* 1-based start of the node */
    int column; /* 1-based */
    /* SCALAR/NULL: the text (NUL-terminated, "" for NULL nodes). */
    char *text;
    size_t len;
    bool quoted; /* not a plain scalar: "true" in quotes is still a string */
    /* Offset of the text's first character from the node's column, or -1
     * when characters in the text do not map one to one onto the source
     * (escapes, folding, several lines). */
    int text_col_offset;
    stm_yt_pair *pairs; /* MAP, in document order */
    size_t npairs;
    stm_yt_node **items; /* SEQ */
    size_t nitems;
};

/* Parse TEXT (LEN bytes) named FILE. Problems go to DIAG as errors. Returns 0
 * with *ROOT set (NULL for an empty document) when the YAML could be read
 * (even if DIAG got errors about duplicates or anchors: the tree then holds
 * what could be kept), or -1 when the text is not YAML at all (syntax error,
 * nesting too deep, memory). Caller owns *ROOT: stm_yt_free(). */
int stm_yt_parse(const char *text, size_t len, const char *file, stm_diag *diag, stm_yt_node **root);
void stm_yt_free(stm_yt_node *node); /* accepts NULL */

/* "a mapping", "a list", "a string", "nothing": for messages. */
const char *stm_yt_type_name(const stm_yt_node *node);
/* The value under KEY in MAP, or NULL (also when MAP is not a map). */
stm_yt_node *stm_yt_get(const stm_yt_node *map, const char *key);
/* Column of byte OFFSET of a scalar's text, falling back to the node's own
 * column when the text does not map one to one onto the source. */
int stm_yt_column_at(const stm_yt_node *node, size_t offset);

#endif
