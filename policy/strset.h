/*
 * strset.h - an open-addressing hash set of strings compared without regard
 * to ASCII case. Private to policy/ (the string part of lists).
 *
 * Keys are looked up by pointer and length, so a caller can probe suffixes
 * of a value ("a.example.com" -> ".example.com") without copying. Built
 * once, then read by many threads without locks (lookups do not write).
 */
#ifndef STAGEMILTER_STRSET_H
#define STAGEMILTER_STRSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct sm_strset sm_strset;

/* Caller owns; NULL on memory exhaustion. */
sm_strset *sm_strset_create(void);
void sm_strset_free(sm_strset *set); /* accepts NULL */
/* Add a copy of KEY (LEN bytes, may not be NUL-terminated). Returns 1 when
 * added, 0 when already present (in any case), -1 on memory exhaustion. */
int sm_strset_add(sm_strset *set, const char *key, size_t len);
/* Is KEY (LEN bytes) in the set, ignoring ASCII case? */
bool sm_strset_contains(const sm_strset *set, const char *key, size_t len);
size_t sm_strset_size(const sm_strset *set);

#endif
