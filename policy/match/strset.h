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

typedef struct stm_strset stm_strset;

/* Caller owns; NULL on memory exhaustion. */
stm_strset *stm_strset_create(void);
void stm_strset_free(stm_strset *set); /* accepts NULL */
/* Add a copy of KEY (LEN bytes, may not be NUL-terminated). Returns 1 when
 * added, 0 when already present (in any case), -1 on memory exhaustion. */
int stm_strset_add(stm_strset *set, const char *key, size_t len);
/* Is KEY (LEN bytes) in the set, ignoring ASCII case? */
bool stm_strset_contains(const stm_strset *set, const char *key, size_t len);
size_t stm_strset_size(const stm_strset *set);

#endif
