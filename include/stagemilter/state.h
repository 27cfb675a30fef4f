/*
 * state.h - what the rule engine remembers across connections, processes
 * and hosts (DESIGN.md "Remembering"): the store interface the engine calls
 * for `rate:` and `greylist`, and the `state:` section that chooses it.
 *
 * policy/ only declares and calls this interface; it opens no file and no
 * socket. The daemon (milter/state/) implements it three times: `memory`
 * (lost at restart), `lmdb:PATH` (the default, a file in the workdir) and
 * `redis://HOST:PORT/DB` (shared by every MTA host). It hands the store a
 * session uses to stm_session_set_state(); a session without one judges
 * `rate:` and `greylist` as a store failure.
 *
 * Every operation is atomic in its store: two threads, two processes or two
 * hosts counting the same key never lose a count. Times are wall-clock
 * milliseconds (the state outlives the process and is shared by hosts), from
 * stm_state_now_ms().
 *
 * Errors: an operation returns 0, or -1 with ERR (ERRLEN bytes) saying why;
 * the engine then applies state.on_failure.
 */
#ifndef STAGEMILTER_STATE_H
#define STAGEMILTER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stagemilter/types.h"

struct stm_policy;
struct stm_session;

/* state.on_failure: a store failure is a run-time failure (milter.on_error)
 * or is ignored (rate: does not hold, greylist passes). */
typedef enum stm_state_on_failure { STM_STATE_FAIL_ERROR, STM_STATE_FAIL_CONTINUE } stm_state_on_failure;

typedef enum stm_state_kind { STM_STATE_LMDB, STM_STATE_REDIS, STM_STATE_MEMORY } stm_state_kind;

/* The `state:` section, owned by its policy (config.h conventions). */
typedef struct stm_state_config {
    bool used;      /* a rate condition or a greylist verb exists */
    char *store;    /* as written (or the default "lmdb:WORKDIR/state.mdb") */
    stm_state_kind kind;
    char *path;     /* LMDB: the file */
    char *host;     /* Redis */
    char *port;
    unsigned db;
    char *password; /* Redis AUTH; NULL = none */
    uint64_t timeout_ms; /* Redis: connect and command deadline (500ms) */
    stm_state_on_failure on_failure;
    stm_srcpos pos; /* state.store as written, or the section, or the file */
} stm_state_config;

/* The state section of POLICY. Borrowed for the policy's lifetime. */
const stm_state_config *stm_policy_state(const struct stm_policy *policy);

/* Greylisting parameters (milliseconds). */
typedef struct stm_greylist_params {
    uint64_t delay_ms;  /* 5m: a retry earlier than this is refused again */
    uint64_t window_ms; /* 4h: a retry later than this starts over */
    uint64_t expire_ms; /* 35d: a passed triplet is remembered this long after it was last seen */
} stm_greylist_params;

/* What the store found for a greylist key. */
typedef enum stm_greylist_state {
    STM_GREY_NEW,   /* unknown (or its window passed): recorded now, refused */
    STM_GREY_EARLY, /* known, retried before the delay: refused */
    STM_GREY_PASS,  /* retried after the delay, within the window: passes, remembered */
    STM_GREY_KNOWN  /* passed before and still remembered: passes */
} stm_greylist_state;

typedef struct stm_greylist_answer {
    stm_greylist_state state;
    uint64_t age_ms; /* since the key was first seen (0 for NEW) */
} stm_greylist_answer;

typedef struct stm_state_store stm_state_store;

/* One entry as --state list shows it. */
typedef struct stm_state_entry {
    const char *name;   /* "rate:KEY" or "grey:KEY" */
    const char *detail; /* "count=3 per=60000ms" / "passed first=... " */
    uint64_t expires_ms; /* wall clock; 0 = unknown */
} stm_state_entry;

typedef int stm_state_each_fn(void *ctx, const stm_state_entry *e);

/* The operations of one kind of store. Every function is thread-safe. */
typedef struct stm_state_ops {
    const char *name; /* "lmdb", "redis", "memory" */
    /* Count one event for KEY (unless !WRITE: then only say what the count
     * would be) in a sliding window of PER_MS; *COUNT gets the events within
     * it, this one included. */
    int (*rate)(stm_state_store *st, const char *key, uint64_t per_ms, uint64_t now_ms, bool write,
                uint64_t *count, char *err, size_t errlen);
    /* Look KEY up for greylisting and (when WRITE) record what follows. */
    int (*greylist)(stm_state_store *st, const char *key, const stm_greylist_params *gp,
                    uint64_t now_ms, bool write, stm_greylist_answer *out, char *err,
                    size_t errlen);
    /* Every live entry whose name matches the glob PATTERN: call EACH (a
     * non-zero return stops); with DELETE, remove each one after. Returns
     * the number of entries, or -1. */
    long (*each)(stm_state_store *st, const char *pattern, bool delete, uint64_t now_ms,
                 stm_state_each_fn *each, void *ctx, char *err, size_t errlen);
    void (*close)(stm_state_store *st);
} stm_state_ops;

/* Every implementation starts with this. */
struct stm_state_store {
    const stm_state_ops *ops;
};

/* Wall-clock milliseconds (CLOCK_REALTIME). */
uint64_t stm_state_now_ms(void);

/* Give session S the store it uses (borrowed: it must outlive S; NULL =
 * none). READONLY: operations say what they would do and write nothing
 * (--trace). */
void stm_session_set_state(struct stm_session *s, stm_state_store *store, bool readonly);

#endif
