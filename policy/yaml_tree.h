/*
 * yaml_tree.h - a YAML document as a small tree of maps, lists and scalars,
 * each node with its 1-based line and column. Private to policy/.
 *
 * Built from libyaml events by sm_yt_parse(), which refuses what a policy
 * has no use for and libyaml lets through: duplicate keys, anchors and
 * aliases, non-scalar keys, several documents, unknown tags, NUL characters
 * in strings, and nesting deeper than SM_YT_MAX_DEPTH.
 */
#ifndef STAGEMILTER_YAML_TREE_H
#define STAGEMILTER_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "stagemilter/diag.h"

#define SM_YT_MAX_DEPTH 64

typedef enum sm_yt_type {
    SM_YT_NULL,   /* an empty plain scalar, "~" or "null" */
    SM_YT_SCALAR, /* everything else that is a scalar (numbers, booleans too) */
    SM_YT_MAP,
    SM_YT_SEQ
} sm_yt_type;

typedef struct sm_yt_node sm_yt_node;

typedef struct sm_yt_pair {
    sm_yt_node *key; /* always SM_YT_SCALAR or SM_YT_NULL */
    sm_yt_node *value;
} sm_yt_pair;

struct sm_yt_node {
    sm_yt_type type;
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
    sm_yt_pair *pairs; /* MAP, in document order */
    size_t npairs;
    sm_yt_node **items; /* SEQ */
    size_t nitems;
};

/* Parse TEXT (LEN bytes) named FILE. Problems go to DIAG as errors. Returns 0
 * with *ROOT set (NULL for an empty document) when the YAML could be read
 * (even if DIAG got errors about duplicates or anchors: the tree then holds
 * what could be kept), or -1 when the text is not YAML at all (syntax error,
 * nesting too deep, memory). Caller owns *ROOT: sm_yt_free(). */
int sm_yt_parse(const char *text, size_t len, const char *file, sm_diag *diag, sm_yt_node **root);
void sm_yt_free(sm_yt_node *node); /* accepts NULL */

/* "a mapping", "a list", "a string", "nothing": for messages. */
const char *sm_yt_type_name(const sm_yt_node *node);
/* The value under KEY in MAP, or NULL (also when MAP is not a map). */
sm_yt_node *sm_yt_get(const sm_yt_node *map, const char *key);
/* Column of byte OFFSET of a scalar's text, falling back to the node's own
 * column when the text does not map one to one onto the source. */
int sm_yt_column_at(const sm_yt_node *node, size_t offset);

#endif
