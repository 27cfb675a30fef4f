/*
 * cidr_trie.h - a path-compressed binary prefix trie of CIDRs on the 16-byte
 * address form. Private to policy/ (the address part of lists).
 *
 * A lookup walks at most 129 nodes whatever the number of prefixes, and the
 * trie holds at most two nodes per prefix. Built once, then read by many
 * threads without locks (lookups do not write).
 */
#ifndef STAGEMILTER_CIDR_TRIE_H
#define STAGEMILTER_CIDR_TRIE_H

#include <stdbool.h>
#include <stddef.h>

#include "match/ipaddr.h"

typedef struct stm_cidr_trie stm_cidr_trie;

/* Caller owns; NULL on memory exhaustion. */
stm_cidr_trie *stm_cidr_trie_create(void);
void stm_cidr_trie_free(stm_cidr_trie *trie); /* accepts NULL */
/* Add CIDR (host bits must be clear, as stm_cidr_parse leaves them). Returns
 * 1 when added, 0 when that exact prefix was there, -1 on memory
 * exhaustion. */
int stm_cidr_trie_add(stm_cidr_trie *trie, const stm_cidr *cidr);
/* Is IP inside any prefix of the trie? */
bool stm_cidr_trie_contains(const stm_cidr_trie *trie, const stm_ip *ip);
/* Number of distinct prefixes added. */
size_t stm_cidr_trie_size(const stm_cidr_trie *trie);

#endif
