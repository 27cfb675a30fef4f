/*
 * strset.c - case-insensitive open-addressing hash set of strings (strset.h).
 *
 * SYNOPSIS
 *     stm_strset *stm_strset_create(void);
 *     void stm_strset_free(stm_strset *set);
 *     int  stm_strset_add(stm_strset *set, const char *key, size_t len);
 *     bool stm_strset_contains(const stm_strset *set, const char *key, size_t len);
 *     size_t stm_strset_size(const stm_strset *set);
 *
 * DESCRIPTION
 *     Linear probing in a power-of-two table kept at most half full, so a
 *     lookup costs one hash of the key and, on average, one or two probes.
 *     Keys are stored lower-cased (ASCII only; other bytes as they are) with
 *     their full 64-bit hash, which filters almost every mismatch before a
 *     byte comparison. The hash is FNV-1a over the lower-cased bytes.
 *
 * OWNERSHIP
 *     The set owns copies of its keys. Lookups never write, so a set that
 *     is no longer modified may be read by any number of threads.
 *
 * DIAGNOSTICS
 *     Only memory exhaustion: create returns NULL, add returns -1 and leaves
 *     the set as it was.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "match/strset.h"

struct slot {
    uint64_t hash;
    char *key; /* NULL: empty slot */
    size_t len;
};

struct stm_strset {
    struct slot *slots;
    size_t cap; /* a power of two */
    size_t count;
};

/* ASCII lower case, independent of the locale. */
static inline unsigned char
strset_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* FNV-1a of the lower-cased bytes of KEY. */
static uint64_t
strset_hash(const char *key, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);

    for (size_t i = 0; i < len; i++) {
        h ^= strset_lower((unsigned char)key[i]);
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* Does the stored (lower-case) key S equal KEY, ignoring case? */
static bool
strset_equal(const struct slot *s, const char *key, size_t len)
{
    if (s->len != len)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s->key[i] != strset_lower((unsigned char)key[i]))
            return false;
    return true;
}

/* The slot holding KEY, or the empty slot where it would go. */
static struct slot *
strset_find(const stm_strset *set, uint64_t hash, const char *key, size_t len)
{
    size_t mask = set->cap - 1;

    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        struct slot *s = &set->slots[i];
        if (s->key == NULL || (s->hash == hash && strset_equal(s, key, len)))
            return s;
    }
}

/* A new empty set. */
stm_strset *
stm_strset_create(void)
{
    stm_strset *set = calloc(1, sizeof *set);

    if (set == NULL)
        return NULL;
    set->cap = 16;
    set->slots = calloc(set->cap, sizeof *set->slots);
    if (set->slots == NULL) {
        free(set);
        return NULL;
    }
    return set;
}

/* Release SET and its keys. */
void
stm_strset_free(stm_strset *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->cap; i++)
        free(set->slots[i].key);
    free(set->slots);
    free(set);
}

/* Move every key into a table twice as large. */
static int
strset_grow(stm_strset *set)
{
    size_t ncap = set->cap * 2;
    struct slot *nslots = calloc(ncap, sizeof *nslots);

    if (nslots == NULL)
        return -1;
    for (size_t i = 0; i < set->cap; i++) {
        struct slot *s = &set->slots[i];
        if (s->key == NULL)
            continue;
        size_t j = (size_t)s->hash & (ncap - 1);
        while (nslots[j].key != NULL)
            j = (j + 1) & (ncap - 1);
        nslots[j] = *s;
    }
    free(set->slots);
    set->slots = nslots;
    set->cap = ncap;
    return 0;
}

/* Add a lower-cased copy of KEY unless it is there already. */
int
stm_strset_add(stm_strset *set, const char *key, size_t len)
{
    uint64_t hash = strset_hash(key, len);
    struct slot *s = strset_find(set, hash, key, len);
    char *copy;

    if (s->key != NULL)
        return 0;
    /* Keep the load factor at most 1/2 so probe runs stay short. */
    if ((set->count + 1) * 2 > set->cap) {
        if (strset_grow(set) != 0)
            return -1;
        s = strset_find(set, hash, key, len);
    }
    copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    for (size_t i = 0; i < len; i++)
        copy[i] = (char)strset_lower((unsigned char)key[i]);
    copy[len] = '\0';
    s->hash = hash;
    s->key = copy;
    s->len = len;
    set->count++;
    return 1;
}

/* Is KEY in SET? */
bool
stm_strset_contains(const stm_strset *set, const char *key, size_t len)
{
    if (set->count == 0)
        return false;
    return strset_find(set, strset_hash(key, len), key, len)->key != NULL;
}

/* Number of distinct keys. */
size_t
stm_strset_size(const stm_strset *set)
{
    return set->count;
}
