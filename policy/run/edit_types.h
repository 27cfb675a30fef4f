/*
 * edit_types.h - the queue of message changes a session holds (the types
 * only, so that session_internal.h can hold them without depending on
 * edit.c's functions; run/edit.h declares those). Private to policy/.
 */
#ifndef STAGEMILTER_RUN_EDIT_TYPES_H
#define STAGEMILTER_RUN_EDIT_TYPES_H

#include <stddef.h>

#include "match/pattern.h"

typedef enum stm_edit_kind {
    STM_EDIT_CHANGE_HEADER, /* name, index, value ("" deletes) */
    STM_EDIT_DELETE_HEADER, /* name */
    STM_EDIT_PREFIX_SUBJECT, /* value */
    STM_EDIT_ADD_RCPT,      /* value */
    STM_EDIT_DELETE_RCPT,   /* pattern */
    STM_EDIT_CHANGE_SENDER  /* value */
} stm_edit_kind;

typedef struct stm_edit {
    stm_edit_kind kind;
    char *name;                 /* owned */
    char *value;                /* owned */
    int index;
    const stm_pattern *pattern; /* borrowed from the policy the session holds */
} stm_edit;

typedef struct stm_edits {
    stm_edit *items;
    size_t n;
    size_t cap;
    size_t n_connect; /* conn_edits: the first ones, from connect; helo's follow */
} stm_edits;

#endif
