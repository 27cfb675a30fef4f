/*
 * record.c - the rate window and greylist entry rules of the memory and
 * LMDB stores (record.h).
 *
 * Functions: stm_rec_rate, stm_rec_grey, stm_rec_describe, stm_rec_name.
 * Pure functions: no allocation except stm_rec_name's result, no errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "state/record.h"

/* Count one event (record.h). */
void
stm_rec_rate(stm_rec *rec, bool exists, uint64_t per_ms, uint64_t now, bool add, uint64_t *count)
{
    uint64_t width = per_ms / STM_REC_SLOTS > 0 ? per_ms / STM_REC_SLOTS : 1;
    uint64_t slot = now / width;
    /* A new key, another kind, or a window of another size: start over. */
    if (!exists || rec->kind != STM_REC_RATE || rec->u.rate.width_ms != width ||
        rec->u.rate.last_slot > slot) {
        memset(rec, 0, sizeof *rec);
        rec->kind = STM_REC_RATE;
        rec->version = 1;
        rec->u.rate.width_ms = width;
        rec->u.rate.last_slot = slot;
    }
    /* Zero the slots that passed since the last count. */
    uint64_t gap = slot - rec->u.rate.last_slot;
    if (gap >= STM_REC_SLOTS) {
        memset(rec->u.rate.counts, 0, sizeof rec->u.rate.counts);
    } else {
        for (uint64_t i = 1; i <= gap; i++)
            rec->u.rate.counts[(rec->u.rate.last_slot + i) % STM_REC_SLOTS] = 0;
    }
    rec->u.rate.last_slot = slot;
    uint64_t sum = 0;
    for (size_t i = 0; i < STM_REC_SLOTS; i++)
        sum += rec->u.rate.counts[i];
    if (add) {
        if (rec->u.rate.counts[slot % STM_REC_SLOTS] < UINT32_MAX)
            rec->u.rate.counts[slot % STM_REC_SLOTS]++;
    }
    sum++; /* this event, counted or (read only) as it would be */
    *count = sum;
    rec->expires_ms = (slot + 1) * width + per_ms;
}

/* Greylist step (record.h). */
bool
stm_rec_grey(stm_rec *rec, bool exists, const stm_greylist_params *gp, uint64_t now,
             stm_greylist_answer *out)
{
    if (exists && rec->kind == STM_REC_GREY && rec->u.grey.first_ms <= now) {
        uint64_t age = now - rec->u.grey.first_ms;
        out->age_ms = age;
        if (rec->u.grey.passed) {
            out->state = STM_GREY_KNOWN;
            rec->expires_ms = now + gp->expire_ms;
            return true;
        }
        if (age < gp->delay_ms) {
            out->state = STM_GREY_EARLY;
            return false;
        }
        if (age <= gp->window_ms) {
            out->state = STM_GREY_PASS;
            rec->u.grey.passed = 1;
            rec->expires_ms = now + gp->expire_ms;
            return true;
        }
    }
    /* Unknown, or its window passed: record it now. */
    memset(rec, 0, sizeof *rec);
    rec->kind = STM_REC_GREY;
    rec->version = 1;
    rec->u.grey.first_ms = now;
    rec->expires_ms = now + gp->window_ms;
    out->state = STM_GREY_NEW;
    out->age_ms = 0;
    return true;
}

/* A UTC time stamp of MS into BUF. */
static void
rec_time(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%llu", (unsigned long long)ms);
}

/* Describe REC (record.h). */
void
stm_rec_describe(const stm_rec *rec, uint64_t now, char *buf, size_t len)
{
    char t[40];
    if (rec->kind == STM_REC_RATE) {
        uint64_t sum = 0, last = rec->u.rate.last_slot;
        uint64_t slot = now / (rec->u.rate.width_ms ? rec->u.rate.width_ms : 1);
        for (uint64_t i = 0; i < STM_REC_SLOTS && i <= last; i++)
            if (last - i + STM_REC_SLOTS > slot)
                sum += rec->u.rate.counts[(last - i) % STM_REC_SLOTS];
        snprintf(buf, len, "count=%llu per=%llums", (unsigned long long)sum,
                 (unsigned long long)(rec->u.rate.width_ms * STM_REC_SLOTS));
    } else if (rec->kind == STM_REC_GREY) {
        rec_time(rec->u.grey.first_ms, t, sizeof t);
        snprintf(buf, len, "%s first=%s", rec->u.grey.passed ? "passed" : "pending", t);
    } else {
        snprintf(buf, len, "unknown record");
    }
}

/* "rate:KEY" / "grey:KEY". */
char *
stm_rec_name(int kind, const char *key)
{
    size_t n = strlen(key) + 6;
    char *name = malloc(n);
    if (name != NULL)
        snprintf(name, n, "%s:%s", kind == STM_REC_RATE ? "rate" : "grey", key);
    return name;
}

/* Is REC alive at NOW? */
bool
stm_rec_alive(const stm_rec *rec, uint64_t now)
{
    return rec->expires_ms > now;
}

typedef struct rec_rate_ctx {
    uint64_t per_ms, now, count;
    bool add;
} rec_rate_ctx;

static bool
rec_rate_step(void *ctx, stm_rec *rec, bool exists)
{
    rec_rate_ctx *c = ctx;
    stm_rec_rate(rec, exists, c->per_ms, c->now, c->add, &c->count);
    return c->add;
}

/* rate through UPDATE (record.h). */
int
stm_rec_store_rate(stm_rec_update_fn *update, stm_state_store *st, const char *key, uint64_t per_ms,
                   uint64_t now, bool write, uint64_t *count, char *err, size_t errlen)
{
    char *name = stm_rec_name(STM_REC_RATE, key);
    if (name == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rec_rate_ctx c = {per_ms, now, 0, write};
    int rc = update(st, name, now, write, rec_rate_step, &c, err, errlen);
    free(name);
    *count = c.count;
    return rc;
}

typedef struct rec_grey_ctx {
    const stm_greylist_params *gp;
    uint64_t now;
    stm_greylist_answer out;
} rec_grey_ctx;

static bool
rec_grey_step(void *ctx, stm_rec *rec, bool exists)
{
    rec_grey_ctx *c = ctx;
    return stm_rec_grey(rec, exists, c->gp, c->now, &c->out);
}

/* greylist through UPDATE (record.h). */
int
stm_rec_store_grey(stm_rec_update_fn *update, stm_state_store *st, const char *key,
                   const stm_greylist_params *gp, uint64_t now, bool write,
                   stm_greylist_answer *out, char *err, size_t errlen)
{
    char *name = stm_rec_name(STM_REC_GREY, key);
    if (name == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rec_grey_ctx c = {gp, now, {STM_GREY_NEW, 0}};
    int rc = update(st, name, now, write, rec_grey_step, &c, err, errlen);
    free(name);
    *out = c.out;
    return rc;
}
