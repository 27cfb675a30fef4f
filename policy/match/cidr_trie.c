/*
 * cidr_trie.c - path-compressed binary prefix trie of CIDRs (cidr_trie.h).
 *
 * SYNOPSIS
 *     stm_cidr_trie *stm_cidr_trie_create(void);
 *     void stm_cidr_trie_free(stm_cidr_trie *trie);
 *     int  stm_cidr_trie_add(stm_cidr_trie *trie, const stm_cidr *cidr);
 *     bool stm_cidr_trie_contains(const stm_cidr_trie *trie, const stm_ip *ip);
 *     size_t stm_cidr_trie_size(const stm_cidr_trie *trie);
 *
 * DESCRIPTION
 *     Each node is a prefix (address, length). A child's prefix is longer
 *     than its parent's and extends it; child[b] continues with bit b at
 *     position parent->prefix. Nodes are either entries (prefixes that were
 *     added) or glue nodes created where two entries diverge, so there are
 *     fewer than two nodes per entry. A lookup descends while the node's
 *     prefix contains the address and answers yes at the first entry on the
 *     way: with only a yes/no answer needed, the shortest match will do.
 *
 * OWNERSHIP
 *     The trie owns its nodes. Lookups never write.
 *
 * DIAGNOSTICS
 *     Only memory exhaustion: create returns NULL, add returns -1 and leaves
 *     the trie as it was.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match/cidr_trie.h"

struct node {
    stm_cidr key;
    bool entry; /* an added prefix, not only a branching point */
    struct node *child[2];
};

struct stm_cidr_trie {
    struct node *root;
    size_t count;
};

/* Bit number I (0 = most significant) of IP. */
static inline unsigned
trie_bit(const stm_ip *ip, unsigned i)
{
    return (ip->b[i / 8] >> (7 - i % 8)) & 1u;
}

/* Number of leading bits A and B share, at most LIMIT. */
static unsigned
trie_common(const stm_ip *a, const stm_ip *b, unsigned limit)
{
    unsigned n = 0;

    for (unsigned i = 0; i < 16 && n < limit; i++) {
        uint8_t x = a->b[i] ^ b->b[i];
        if (x == 0) {
            n += 8;
            continue;
        }
        n += (unsigned)__builtin_clz((unsigned)x) - (sizeof(unsigned) * 8 - 8);
        break;
    }
    return n < limit ? n : limit;
}

/* A new node for prefix KEY. */
static struct node *
trie_node(const stm_cidr *key, bool entry)
{
    struct node *n = calloc(1, sizeof *n);

    if (n == NULL)
        return NULL;
    n->key = *key;
    n->entry = entry;
    return n;
}

/* A new empty trie. */
stm_cidr_trie *
stm_cidr_trie_create(void)
{
    return calloc(1, sizeof(stm_cidr_trie));
}

/* Free N and everything below it; depth is bounded by 129. */
static void
trie_free_nodes(struct node *n)
{
    if (n == NULL)
        return;
    trie_free_nodes(n->child[0]);
    trie_free_nodes(n->child[1]);
    free(n);
}

/* Release TRIE and its nodes. */
void
stm_cidr_trie_free(stm_cidr_trie *trie)
{
    if (trie == NULL)
        return;
    trie_free_nodes(trie->root);
    free(trie);
}

/* Insert CIDR, splitting a compressed edge where needed. */
int
stm_cidr_trie_add(stm_cidr_trie *trie, const stm_cidr *cidr)
{
    struct node **slot = &trie->root;

    if (cidr->prefix > 128)
        return -1;
    while (*slot != NULL) {
        struct node *n = *slot;
        unsigned limit = n->key.prefix < cidr->prefix ? n->key.prefix : cidr->prefix;
        unsigned common = trie_common(&n->key.addr, &cidr->addr, limit);

        if (common == n->key.prefix) {
            /* N's prefix contains CIDR: same node, or go down. */
            if (cidr->prefix == n->key.prefix) {
                if (n->entry)
                    return 0;
                n->entry = true;
                trie->count++;
                return 1;
            }
            slot = &n->child[trie_bit(&cidr->addr, n->key.prefix)];
            continue;
        }
        if (common == cidr->prefix) {
            /* CIDR contains N: it becomes N's parent. */
            struct node *up = trie_node(cidr, true);
            if (up == NULL)
                return -1;
            up->child[trie_bit(&n->key.addr, cidr->prefix)] = n;
            *slot = up;
            trie->count++;
            return 1;
        }
        /* They diverge at bit COMMON: a glue node holds both. */
        stm_cidr g = {.addr = cidr->addr, .prefix = common};
        for (unsigned i = common; i < 128; i++)
            g.addr.b[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
        struct node *glue = trie_node(&g, false);
        struct node *leaf = trie_node(cidr, true);
        if (glue == NULL || leaf == NULL) {
            free(glue);
            free(leaf);
            return -1;
        }
        glue->child[trie_bit(&cidr->addr, common)] = leaf;
        glue->child[trie_bit(&n->key.addr, common)] = n;
        *slot = glue;
        trie->count++;
        return 1;
    }
    *slot = trie_node(cidr, true);
    if (*slot == NULL)
        return -1;
    trie->count++;
    return 1;
}

/* Is IP inside any added prefix? */
bool
stm_cidr_trie_contains(const stm_cidr_trie *trie, const stm_ip *ip)
{
    const struct node *n = trie->root;

    while (n != NULL) {
        if (!stm_cidr_contains(&n->key, ip))
            return false;
        if (n->entry)
            return true;
        if (n->key.prefix >= 128)
            return false;
        n = n->child[trie_bit(ip, n->key.prefix)];
    }
    return false;
}

/* Number of distinct prefixes added. */
size_t
stm_cidr_trie_size(const stm_cidr_trie *trie)
{
    return trie->count;
}
