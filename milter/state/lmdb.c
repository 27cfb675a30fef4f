/*
 * lmdb.c - the `lmdb:PATH` store: records in one LMDB file, shared by the
 * processes of this host and kept across restarts (state.h, record.h).
 *
 * Functions: stm_state_lmdb_open and the operations of its stm_state_ops.
 *
 * The environment is one file (MDB_NOSUBDIR; LMDB adds PATH-lock) opened
 * once per process (LMDB's rule; the registry sees to it) with MDB_NOTLS,
 * since libmilter runs a thread per connection. An update is one write
 * transaction: LMDB serialises them across threads and processes, so no
 * count is lost. Commits are not flushed one by one (MDB_NOSYNC): the file
 * is flushed at most once a second, so a crash of the machine (not of the
 * process) can forget the last second of counts. Reading (--trace) takes a
 * read transaction.
 *
 * Expired records are removed a few at a time: each write transaction
 * looks at the next STM_LMDB_SWEEP records after where the last one
 * stopped, and deletes the dead ones. The map is 1 GiB (sparse); a full
 * map is a store failure like any other.
 *
 * Ownership: the store owns the environment; stm_state_close() closes it.
 * Errors: -1 with LMDB's reason, prefixed with the file name.
 */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "state/record.h"
#include "state/state.h"

#define STM_LMDB_SWEEP 4
#define STM_LMDB_MAPSIZE (1024ull * 1024 * 1024)
#define STM_LMDB_SYNC_MS 1000

typedef struct lmdb_store {
    stm_state_store base;
    MDB_env *env;
    bool opened; /* mdb_env_open succeeded */
    MDB_dbi dbi;
    char *path;
    pthread_mutex_t lock;    /* guards sweep_key */
    char sweep_key[512];     /* where the next sweep starts ("" = the beginning) */
    atomic_ullong last_sync; /* wall-clock ms of the last flush */
} lmdb_store;

/* ERR gets "lmdb PATH: WHAT: LMDB's reason". */
static void
lmdb_err(const lmdb_store *l, char *err, size_t errlen, const char *what, int rc)
{
    snprintf(err, errlen, "lmdb %s: %s: %s", l->path, what,
             rc == MDB_MAP_FULL ? "the store is full (1 GiB)" : mdb_strerror(rc));
}

/* Delete a few dead records after the last sweep's place (in TXN). */
static void
lmdb_sweep(lmdb_store *l, MDB_txn *txn, uint64_t now)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, l->dbi, &cur) != 0)
        return;
    pthread_mutex_lock(&l->lock);
    MDB_val k = {strlen(l->sweep_key), l->sweep_key}, v;
    int rc = k.mv_size > 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)
                           : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (int i = 0; i < STM_LMDB_SWEEP && rc == 0; i++) {
        stm_rec rec;
        if (v.mv_size == sizeof rec) {
            memcpy(&rec, v.mv_data, sizeof rec);
            if (!stm_rec_alive(&rec, now))
                mdb_cursor_del(cur, 0);
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && k.mv_size < sizeof l->sweep_key) {
        memcpy(l->sweep_key, k.mv_data, k.mv_size);
        l->sweep_key[k.mv_size] = '\0';
    } else {
        l->sweep_key[0] = '\0'; /* the end: start over next time */
    }
    pthread_mutex_unlock(&l->lock);
    mdb_cursor_close(cur);
}

/* Flush at most once a second. */
static void
lmdb_maybe_sync(lmdb_store *l, uint64_t now)
{
    unsigned long long last = atomic_load(&l->last_sync);
    if (now < last + STM_LMDB_SYNC_MS)
        return;
    if (atomic_compare_exchange_strong(&l->last_sync, &last, now))
        mdb_env_sync(l->env, 1);
}

/* Run STEP on NAME in one transaction (record.h stm_rec_update_fn). */
static int
lmdb_update(stm_state_store *st, const char *name, uint64_t now, bool write, stm_rec_step_fn *step,
            void *ctx, char *err, size_t errlen)
{
    lmdb_store *l = (lmdb_store *)st;
    MDB_txn *txn = NULL;
    int rc = mdb_txn_begin(l->env, NULL, write ? 0 : MDB_RDONLY, &txn);
    if (rc != 0) {
        lmdb_err(l, err, errlen, "begin", rc);
        return -1;
    }
    MDB_val k = {strlen(name), (void *)name}, v;
    stm_rec rec;
    memset(&rec, 0, sizeof rec);
    bool exists = false;
    rc = mdb_get(txn, l->dbi, &k, &v);
    if (rc == 0 && v.mv_size == sizeof rec) {
        memcpy(&rec, v.mv_data, sizeof rec);
        exists = stm_rec_alive(&rec, now);
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        lmdb_err(l, err, errlen, "get", rc);
        mdb_txn_abort(txn);
        return -1;
    }
    if (!exists)
        memset(&rec, 0, sizeof rec);
    bool changed = step(ctx, &rec, exists);
    if (!write) {
        mdb_txn_abort(txn);
        return 0;
    }
    if (changed) {
        v.mv_size = sizeof rec;
        v.mv_data = &rec;
        if ((rc = mdb_put(txn, l->dbi, &k, &v, 0)) != 0) {
            lmdb_err(l, err, errlen, "put", rc);
            mdb_txn_abort(txn);
            return -1;
        }
    }
    lmdb_sweep(l, txn, now);
    if ((rc = mdb_txn_commit(txn)) != 0) {
        lmdb_err(l, err, errlen, "commit", rc);
        return -1;
    }
    lmdb_maybe_sync(l, now);
    return 0;
}

static int
lmdb_rate(stm_state_store *st, const char *key, uint64_t per_ms, uint64_t now, bool write,
          uint64_t *count, char *err, size_t errlen)
{
    return stm_rec_store_rate(lmdb_update, st, key, per_ms, now, write, count, err, errlen);
}

static int
lmdb_greylist(stm_state_store *st, const char *key, const stm_greylist_params *gp, uint64_t now,
              bool write, stm_greylist_answer *out, char *err, size_t errlen)
{
    return stm_rec_store_grey(lmdb_update, st, key, gp, now, write, out, err, errlen);
}

/* Every live record matching PATTERN (state.h). */
static long
lmdb_each(stm_state_store *st, const char *pattern, bool delete, uint64_t now,
          stm_state_each_fn *each, void *ctx, char *err, size_t errlen)
{
    lmdb_store *l = (lmdb_store *)st;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    long n = 0;
    int rc = mdb_txn_begin(l->env, NULL, delete ? 0 : MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, l->dbi, &cur);
    if (rc != 0) {
        lmdb_err(l, err, errlen, "list", rc);
        if (txn != NULL)
            mdb_txn_abort(txn);
        return -1;
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        stm_rec rec;
        char name[512];
        if (v.mv_size != sizeof rec || k.mv_size >= sizeof name)
            continue;
        memcpy(&rec, v.mv_data, sizeof rec);
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        if (!stm_rec_alive(&rec, now) || fnmatch(pattern, name, 0) != 0)
            continue;
        char detail[200];
        stm_rec_describe(&rec, now, detail, sizeof detail);
        stm_state_entry ent = {name, detail, rec.expires_ms};
        n++;
        if (each != NULL && each(ctx, &ent) != 0)
            break;
        if (delete && (rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (delete) {
        if (rc != 0 && rc != MDB_NOTFOUND) {
            lmdb_err(l, err, errlen, "delete", rc);
            mdb_txn_abort(txn);
            return -1;
        }
        if ((rc = mdb_txn_commit(txn)) != 0) {
            lmdb_err(l, err, errlen, "commit", rc);
            return -1;
        }
        mdb_env_sync(l->env, 1);
    } else {
        mdb_txn_abort(txn);
    }
    return n;
}

static void
lmdb_close(stm_state_store *st)
{
    lmdb_store *l = (lmdb_store *)st;
    if (l->env != NULL) {
        if (l->opened)
            mdb_env_sync(l->env, 1);
        mdb_env_close(l->env);
    }
    pthread_mutex_destroy(&l->lock);
    free(l->path);
    free(l);
}

static const stm_state_ops lmdb_ops = {
    .name = "lmdb",
    .rate = lmdb_rate,
    .greylist = lmdb_greylist,
    .each = lmdb_each,
    .close = lmdb_close,
};

/* Open (creating it, mode 0600) the LMDB file PATH. */
stm_state_store *
stm_state_lmdb_open(const char *path, char *err, size_t errlen)
{
    lmdb_store *l = calloc(1, sizeof *l);
    if (l == NULL || (l->path = strdup(path)) == NULL) {
        free(l);
        snprintf(err, errlen, "lmdb %s: out of memory", path);
        return NULL;
    }
    l->base.ops = &lmdb_ops;
    pthread_mutex_init(&l->lock, NULL);
    MDB_txn *txn = NULL;
    int rc = mdb_env_create(&l->env);
    const char *what = "create";
    if (rc == 0 && (rc = mdb_env_set_mapsize(l->env, STM_LMDB_MAPSIZE)) != 0)
        what = "mapsize";
    if (rc == 0 && (rc = mdb_env_set_maxreaders(l->env, 1024)) != 0)
        what = "maxreaders";
    if (rc == 0 && (rc = mdb_env_open(l->env, path, MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC, 0600)) != 0)
        what = "open";
    if (rc == 0) {
        int dead = 0;
        l->opened = true;
        mdb_reader_check(l->env, &dead);
        if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
            what = "begin";
    }
    if (rc == 0 && (rc = mdb_dbi_open(txn, NULL, 0, &l->dbi)) != 0)
        what = "open the database";
    if (rc == 0 && (rc = mdb_txn_commit(txn)) != 0)
        what = "commit";
    else if (rc != 0 && txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0) {
        lmdb_err(l, err, errlen, what, rc);
        lmdb_close(&l->base);
        return NULL;
    }
    atomic_init(&l->last_sync, 0);
    return &l->base;
}
