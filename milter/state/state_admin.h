/*
 * state_admin.h - `stagemilter --state list|delete KEY-PATTERN`
 * (state_admin.c): what the administrator sees of the store.
 */
#ifndef STAGEMILTER_MILTER_STATE_ADMIN_H
#define STAGEMILTER_MILTER_STATE_ADMIN_H

#include <stdio.h>

#include "stagemilter/state.h"

/* Run ACTION ("list" or "delete") on the entries of the store C names whose
 * names ("rate:KEY", "grey:KEY") match the glob PATTERN (NULL: "*" for
 * list; delete needs one). Prints to OUT, errors to ERR. Exit status: 0,
 * 1 on an error (a delete that matched nothing is 1 too). */
int stm_state_admin_main(const stm_state_config *c, const char *action, const char *pattern,
                         FILE *out, FILE *err);

#endif
