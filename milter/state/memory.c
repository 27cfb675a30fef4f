/*
 * memory.c - the `memory` store: records in a hash table of this process,
 * lost at restart (state.h, record.h).
 *
 * Functions: stm_state_memory_open and the operations of its stm_state_ops.
 *
 * One mutex guards the table. Each update also sweeps one bucket for
 * expired records, so they go away a little at a time, never in a pause.
 * The table doubles when it holds twice as many records as buckets.
 *
 * Ownership: the store owns every record; stm_state_close() frees all.
 * Errors: only memory exhaustion (-1 with the reason).
 */
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/record.h"
#include "state/state.h"

typedef struct mem_entry {
    struct mem_entry *next;
    char *name;
    stm_rec rec;
} mem_entry;

typedef struct mem_store {
    stm_state_store base;
    pthread_mutex_t lock; /* guards buckets, nbuckets, count, sweep */
    mem_entry **buckets;
    size_t nbuckets;
    size_t count;
    size_t sweep; /* the next bucket to sweep */
} mem_store;

/* FNV-1a of NAME. */
static size_t
mem_hash(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return (size_t)h;
}

static void
mem_entry_free(mem_entry *e)
{
    free(e->name);
    free(e);
}

/* Remove the dead records of one bucket (lock held). */
static void
mem_sweep(mem_store *m, uint64_t now)
{
    mem_entry **pp = &m->buckets[m->sweep % m->nbuckets];
    while (*pp != NULL) {
        mem_entry *e = *pp;
        if (!stm_rec_alive(&e->rec, now)) {
            *pp = e->next;
            mem_entry_free(e);
            m->count--;
        } else {
            pp = &e->next;
        }
    }
    m->sweep = (m->sweep + 1) % m->nbuckets;
}

/* Double the table (lock held); stays as it is when memory is short. */
static void
mem_grow(mem_store *m)
{
    size_t n = m->nbuckets * 2;
    mem_entry **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        mem_entry *e = m->buckets[i];
        while (e != NULL) {
            mem_entry *next = e->next;
            size_t h = mem_hash(e->name) % n;
            e->next = b[h];
            b[h] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
    m->sweep = 0;
}

/* Run STEP on NAME under the lock (record.h stm_rec_update_fn). */
static int
mem_update(stm_state_store *st, const char *name, uint64_t now, bool write, stm_rec_step_fn *step,
           void *ctx, char *err, size_t errlen)
{
    mem_store *m = (mem_store *)st;
    int rc = 0;
    pthread_mutex_lock(&m->lock);
    mem_sweep(m, now);
    size_t h = mem_hash(name) % m->nbuckets;
    mem_entry *e = m->buckets[h];
    while (e != NULL && strcmp(e->name, name) != 0)
        e = e->next;
    bool exists = e != NULL && stm_rec_alive(&e->rec, now);
    stm_rec rec;
    if (exists)
        rec = e->rec;
    else
        memset(&rec, 0, sizeof rec);
    bool changed = step(ctx, &rec, exists);
    if (write && changed) {
        if (e == NULL) {
            if ((e = calloc(1, sizeof *e)) == NULL || (e->name = strdup(name)) == NULL) {
                free(e);
                snprintf(err, errlen, "memory store: out of memory");
                rc = -1;
                goto done;
            }
            e->next = m->buckets[h];
            m->buckets[h] = e;
            if (++m->count > 2 * m->nbuckets)
                mem_grow(m);
        }
        e->rec = rec;
    }
done:
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static int
mem_rate(stm_state_store *st, const char *key, uint64_t per_ms, uint64_t now, bool write,
         uint64_t *count, char *err, size_t errlen)
{
    return stm_rec_store_rate(mem_update, st, key, per_ms, now, write, count, err, errlen);
}

static int
mem_greylist(stm_state_store *st, const char *key, const stm_greylist_params *gp, uint64_t now,
             bool write, stm_greylist_answer *out, char *err, size_t errlen)
{
    return stm_rec_store_grey(mem_update, st, key, gp, now, write, out, err, errlen);
}

/* Every live record whose name matches PATTERN (state.h). */
static long
mem_each(stm_state_store *st, const char *pattern, bool delete, uint64_t now,
         stm_state_each_fn *each, void *ctx, char *err, size_t errlen)
{
    mem_store *m = (mem_store *)st;
    long n = 0;
    (void)err;
    (void)errlen;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->nbuckets; i++) {
        mem_entry **pp = &m->buckets[i];
        while (*pp != NULL) {
            mem_entry *e = *pp;
            if (stm_rec_alive(&e->rec, now) && fnmatch(pattern, e->name, 0) == 0) {
                char detail[200];
                stm_rec_describe(&e->rec, now, detail, sizeof detail);
                stm_state_entry ent = {e->name, detail, e->rec.expires_ms};
                n++;
                if (each != NULL && each(ctx, &ent) != 0)
                    goto done;
                if (delete) {
                    *pp = e->next;
                    mem_entry_free(e);
                    m->count--;
                    continue;
                }
            }
            pp = &e->next;
        }
    }
done:
    pthread_mutex_unlock(&m->lock);
    return n;
}

static void
mem_close(stm_state_store *st)
{
    mem_store *m = (mem_store *)st;
    for (size_t i = 0; i < m->nbuckets; i++) {
        mem_entry *e = m->buckets[i];
        while (e != NULL) {
            mem_entry *next = e->next;
            mem_entry_free(e);
            e = next;
        }
    }
    free(m->buckets);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const stm_state_ops mem_ops = {
    .name = "memory",
    .rate = mem_rate,
    .greylist = mem_greylist,
    .each = mem_each,
    .close = mem_close,
};

/* A new, empty memory store. */
stm_state_store *
stm_state_memory_open(char *err, size_t errlen)
{
    mem_store *m = calloc(1, sizeof *m);
    if (m == NULL || (m->buckets = calloc(1024, sizeof *m->buckets)) == NULL) {
        free(m);
        snprintf(err, errlen, "memory store: out of memory");
        return NULL;
    }
    m->nbuckets = 1024;
    m->base.ops = &mem_ops;
    pthread_mutex_init(&m->lock, NULL);
    return &m->base;
}
