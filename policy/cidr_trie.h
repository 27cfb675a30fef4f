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

#include "ipaddr.h"

typedef struct sm_cidr_trie sm_cidr_trie;

/* Caller owns; NULL on memory exhaustion. */
sm_cidr_trie *sm_cidr_trie_create(void);
void sm_cidr_trie_free(sm_cidr_trie *trie); /* accepts NULL */
/* Add CIDR (host bits must be clear, as sm_cidr_parse leaves them). Returns
 * 1 when added, 0 when that exact prefix was there, -1 on memory
 * exhaustion. */
int sm_cidr_trie_add(sm_cidr_trie *trie, const sm_cidr *cidr);
/* Is IP inside any prefix of the trie? */
bool sm_cidr_trie_contains(const sm_cidr_trie *trie, const sm_ip *ip);
/* Number of distinct prefixes added. */
size_t sm_cidr_trie_size(const sm_cidr_trie *trie);

#endif
