/*
 * record.h - what the memory and LMDB stores keep per key, and the rules
 * that update it: one fixed-size record, a rate window or a greylist entry.
 * The Redis store keeps the same facts in hashes and applies the same
 * rules in Lua (redis.c), so every store answers alike.
 *
 * A rate window is a sliding window of PER in STM_REC_SLOTS steps: events
 * are counted in slots PER/60 wide, and the count is the sum of the last 60
 * slots, so an event is forgotten between PER and PER + PER/60 after it
 * happened. A greylist entry holds when the key was first seen and whether
 * it passed.
 */
#ifndef STAGEMILTER_STATE_RECORD_H
#define STAGEMILTER_STATE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stagemilter/state.h"

#define STM_REC_SLOTS 60

enum { STM_REC_RATE = 1, STM_REC_GREY = 2 };

typedef struct stm_rec {
    uint32_t kind;       /* STM_REC_RATE or STM_REC_GREY */
    uint32_t version;    /* 1 */
    uint64_t expires_ms; /* wall clock; the record is dead after it */
    union {
        struct {
            uint64_t width_ms;  /* one slot: PER / 60, at least 1 */
            uint64_t last_slot; /* now / width_ms when last counted */
            uint32_t counts[STM_REC_SLOTS];
        } rate;
        struct {
            uint64_t first_ms; /* first seen (this window) */
            uint64_t passed;   /* 1 once retried after the delay */
        } grey;
    } u;
} stm_rec;

/* Count one event (when ADD) for PER_MS at NOW in REC (EXISTS: it held a
 * live record of this kind); *COUNT gets the events in the window. REC is
 * updated in place (write it back when ADD). */
void stm_rec_rate(stm_rec *rec, bool exists, uint64_t per_ms, uint64_t now, bool add,
                  uint64_t *count);

/* Greylist step for GP at NOW on REC: *OUT gets the answer; returns true
 * when REC changed and must be written back. */
bool stm_rec_grey(stm_rec *rec, bool exists, const stm_greylist_params *gp, uint64_t now,
                  stm_greylist_answer *out);

/* "count=3 per=60s" / "passed first=2026-12-06T01:02:03Z" into BUF. */
void stm_rec_describe(const stm_rec *rec, uint64_t now, char *buf, size_t len);

/* The store name of KEY of KIND: "rate:KEY" / "grey:KEY" into a malloc'd
 * string (NULL on ENOMEM). */
char *stm_rec_name(int kind, const char *key);


/* The stores built on records (memory, LMDB) share the rate and greylist
 * operations: each gives a function that runs STEP on the record called
 * NAME atomically (its lock, its transaction) and writes it back when STEP
 * returns true and WRITE is set. */
typedef bool stm_rec_step_fn(void *ctx, stm_rec *rec, bool exists);
typedef int stm_rec_update_fn(stm_state_store *st, const char *name, uint64_t now, bool write,
                              stm_rec_step_fn *step, void *ctx, char *err, size_t errlen);
int stm_rec_store_rate(stm_rec_update_fn *update, stm_state_store *st, const char *key,
                       uint64_t per_ms, uint64_t now, bool write, uint64_t *count, char *err,
                       size_t errlen);
int stm_rec_store_grey(stm_rec_update_fn *update, stm_state_store *st, const char *key,
                       const stm_greylist_params *gp, uint64_t now, bool write,
                       stm_greylist_answer *out, char *err, size_t errlen);
/* Does record REC at NOW still live? */
bool stm_rec_alive(const stm_rec *rec, uint64_t now);

#endif
