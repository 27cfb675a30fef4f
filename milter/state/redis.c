/*
 * redis.c - the `redis://HOST:PORT/DB` store: every MTA host pointing at one
 * Redis shares counters and greylist entries (state.h).
 *
 * Functions: stm_state_redis_open and the operations of its stm_state_ops.
 *
 * Keys are "stm:rate:KEY" and "stm:grey:KEY", Redis hashes. Each operation
 * is one Lua script (EVALSHA of a script loaded on each new connection):
 * Redis runs a script alone, so two hosts counting the same key never lose
 * a count. A rate window keeps one field per slot (PER/60 wide, as
 * record.h) and field "w", the slot width; a greylist entry the fields
 * "first" and "passed". Keys expire by themselves (PEXPIRE): a rate window
 * PER after its last slot, a greylist entry after its window or, once it
 * passed, EXPIRE after it was last seen.
 *
 * Connections: a pool of STM_REDIS_POOL hiredis contexts (a context is not
 * thread-safe; libmilter runs a thread per connection) guarded by one
 * mutex; a thread waits at most state.timeout for a free one. A context is
 * connected when first needed and thrown away after any I/O or protocol
 * error, so the next operation connects again: when Redis comes back,
 * service resumes without a restart. Connect and every command have the
 * deadline state.timeout. Going down and coming back are logged once each.
 *
 * Ownership: the store owns its contexts; stm_state_close() frees them.
 * Errors: -1 with "redis HOST:PORT: reason".
 */
#include <fnmatch.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "report/log.h"
#include "stagemilter/clock.h"
#include "state/record.h"
#include "state/state.h"

#define STM_REDIS_POOL 8

static const char redis_rate_lua[] =
    "local per = tonumber(ARGV[1]) local now = tonumber(ARGV[2]) local add = ARGV[3] == '1'\n"
    "local width = math.floor(per / 60) if width < 1 then width = 1 end\n"
    "local slot = math.floor(now / width)\n"
    "local w = redis.call('HGET', KEYS[1], 'w')\n"
    "local all = {}\n"
    "if w and tonumber(w) ~= width then\n"
    "  if add then redis.call('DEL', KEYS[1]) end\n"
    "else all = redis.call('HGETALL', KEYS[1]) end\n"
    "local sum = 0\n"
    "for i = 1, #all, 2 do\n"
    "  local f = all[i]\n"
    "  if f ~= 'w' then\n"
    "    local s = tonumber(f)\n"
    "    if s and s + 60 > slot and s <= slot then sum = sum + tonumber(all[i + 1])\n"
    "    elseif add then redis.call('HDEL', KEYS[1], f) end\n"
    "  end\n"
    "end\n"
    "if add then\n"
    "  redis.call('HSET', KEYS[1], 'w', string.format('%d', width))\n"
    "  redis.call('HINCRBY', KEYS[1], string.format('%d', slot), 1)\n"
    "  redis.call('PEXPIRE', KEYS[1], string.format('%d', (slot + 1) * width + per - now))\n"
    "end\n"
    "return sum + 1\n";

static const char redis_grey_lua[] =
    "local now = tonumber(ARGV[1]) local delay = tonumber(ARGV[2])\n"
    "local window = tonumber(ARGV[3]) local expire = ARGV[4] local write = ARGV[5] == '1'\n"
    "local v = redis.call('HMGET', KEYS[1], 'first', 'passed')\n"
    "local first = tonumber(v[1])\n"
    "if first and first <= now then\n"
    "  local age = now - first\n"
    "  if v[2] == '1' then\n"
    "    if write then redis.call('PEXPIRE', KEYS[1], expire) end\n"
    "    return {3, age}\n"
    "  end\n"
    "  if age < delay then return {1, age} end\n"
    "  if age <= window then\n"
    "    if write then redis.call('HSET', KEYS[1], 'passed', '1')\n"
    "      redis.call('PEXPIRE', KEYS[1], expire) end\n"
    "    return {2, age}\n"
    "  end\n"
    "end\n"
    "if write then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  redis.call('HSET', KEYS[1], 'first', ARGV[1], 'passed', '0')\n"
    "  redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "end\n"
    "return {0, 0}\n";

typedef struct redis_conn {
    redisContext *c; /* NULL: not connected */
    bool busy;
    char sha_rate[48];
    char sha_grey[48];
} redis_conn;

typedef struct redis_store {
    stm_state_store base;
    char *host, *port, *password;
    unsigned db;
    uint64_t timeout_ms;
    pthread_mutex_t lock; /* guards conns[].busy */
    pthread_cond_t freed; /* a connection was given back */
    redis_conn conns[STM_REDIS_POOL];
    atomic_bool down; /* the last attempt failed (for logging once) */
    bool logging;     /* set once opened: the opener reports the first failure */
} redis_store;

/* A failure of R: ERR gets the reason; logged when it is news. */
static void
redis_fail(redis_store *r, char *err, size_t errlen, const char *what, const char *why)
{
    snprintf(err, errlen, "redis %s:%s: %s: %s", r->host, r->port, what, why);
    if (!atomic_exchange(&r->down, true) && r->logging)
        stm_log(LOG_ERR, "state: %s", err);
}

/* A command's reply, or NULL with ERR set; an I/O error drops the context. */
static redisReply *
redis_cmd(redis_store *r, redis_conn *rc, char *err, size_t errlen, int argc, const char **argv,
          const size_t *lens)
{
    redisReply *rep = redisCommandArgv(rc->c, argc, argv, lens);
    if (rep == NULL) {
        redis_fail(r, err, errlen, argv[0], rc->c->errstr[0] ? rc->c->errstr : "no reply");
        redisFree(rc->c);
        rc->c = NULL;
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        char why[300];
        snprintf(why, sizeof why, "%.*s", (int)rep->len, rep->str);
        freeReplyObject(rep);
        snprintf(err, errlen, "redis %s:%s: %s: %s", r->host, r->port, argv[0], why);
        return NULL;
    }
    return rep;
}

/* One command of up to 4 words given as strings. */
static redisReply *
redis_cmd4(redis_store *r, redis_conn *rc, char *err, size_t errlen, const char *a,
           const char *b, const char *c, const char *d)
{
    const char *argv[4] = {a, b, c, d};
    size_t lens[4];
    int argc = 0;
    for (; argc < 4 && argv[argc] != NULL; argc++)
        lens[argc] = strlen(argv[argc]);
    return redis_cmd(r, rc, err, errlen, argc, argv, lens);
}

/* Connect RC: AUTH, SELECT, load the scripts. 0, or -1 with ERR. */
static int
redis_connect(redis_store *r, redis_conn *rc, char *err, size_t errlen)
{
    struct timeval tv = {(time_t)(r->timeout_ms / 1000), (suseconds_t)(r->timeout_ms % 1000) * 1000};
    rc->c = redisConnectWithTimeout(r->host, atoi(r->port), tv);
    if (rc->c == NULL || rc->c->err) {
        redis_fail(r, err, errlen, "connect", rc->c ? rc->c->errstr : "out of memory");
        if (rc->c != NULL)
            redisFree(rc->c);
        rc->c = NULL;
        return -1;
    }
    redisSetTimeout(rc->c, tv);
    redisReply *rep;
    char db[16];
    snprintf(db, sizeof db, "%u", r->db);
    if (r->password != NULL) {
        if ((rep = redis_cmd4(r, rc, err, errlen, "AUTH", r->password, NULL, NULL)) == NULL)
            goto fail;
        freeReplyObject(rep);
    }
    if ((rep = redis_cmd4(r, rc, err, errlen, "SELECT", db, NULL, NULL)) == NULL)
        goto fail;
    freeReplyObject(rep);
    if ((rep = redis_cmd4(r, rc, err, errlen, "SCRIPT", "LOAD", redis_rate_lua, NULL)) == NULL)
        goto fail;
    snprintf(rc->sha_rate, sizeof rc->sha_rate, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "");
    freeReplyObject(rep);
    if ((rep = redis_cmd4(r, rc, err, errlen, "SCRIPT", "LOAD", redis_grey_lua, NULL)) == NULL)
        goto fail;
    snprintf(rc->sha_grey, sizeof rc->sha_grey, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "");
    freeReplyObject(rep);
    if (atomic_exchange(&r->down, false) && r->logging)
        stm_log(LOG_NOTICE, "state: redis %s:%s is reachable again", r->host, r->port);
    return 0;
fail:
    if (rc->c != NULL) {
        redisFree(rc->c);
        rc->c = NULL;
    }
    if (!atomic_exchange(&r->down, true) && r->logging)
        stm_log(LOG_ERR, "state: %s", err);
    return -1;
}

/* A free, connected connection within state.timeout; NULL with ERR. */
static redis_conn *
redis_take(redis_store *r, char *err, size_t errlen)
{
    uint64_t deadline = stm_clock_ms() + r->timeout_ms;
    redis_conn *rc = NULL;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        for (size_t i = 0; i < STM_REDIS_POOL && rc == NULL; i++)
            if (!r->conns[i].busy)
                rc = &r->conns[i];
        if (rc != NULL)
            break;
        struct timespec ts = stm_clock_timespec(deadline);
        if (pthread_cond_timedwait(&r->freed, &r->lock, &ts) != 0 && stm_clock_ms() >= deadline)
            break;
    }
    if (rc != NULL)
        rc->busy = true;
    pthread_mutex_unlock(&r->lock);
    if (rc == NULL) {
        snprintf(err, errlen, "redis %s:%s: every connection busy for %llums", r->host, r->port,
                 (unsigned long long)r->timeout_ms);
        return NULL;
    }
    if (rc->c == NULL && redis_connect(r, rc, err, errlen) < 0) {
        pthread_mutex_lock(&r->lock);
        rc->busy = false;
        pthread_cond_signal(&r->freed);
        pthread_mutex_unlock(&r->lock);
        return NULL;
    }
    return rc;
}

/* Give RC back. */
static void
redis_give(redis_store *r, redis_conn *rc)
{
    pthread_mutex_lock(&r->lock);
    rc->busy = false;
    pthread_cond_signal(&r->freed);
    pthread_mutex_unlock(&r->lock);
}

/* EVALSHA SHA (or EVAL SCRIPT when Redis lost it) on KEY with ARGS. */
static redisReply *
redis_eval(redis_store *r, redis_conn *rc, const char *sha, const char *script, const char *key,
           const char *const *args, int nargs, char *err, size_t errlen)
{
    const char *argv[12];
    size_t lens[12];
    int argc = 0;
    argv[argc++] = "EVALSHA";
    argv[argc++] = sha;
    argv[argc++] = "1";
    argv[argc++] = key;
    for (int i = 0; i < nargs && argc < 12; i++)
        argv[argc++] = args[i];
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    redisReply *rep = redis_cmd(r, rc, err, errlen, argc, argv, lens);
    if (rep == NULL && rc->c != NULL && strstr(err, "NOSCRIPT") != NULL) {
        argv[0] = "EVAL";
        argv[1] = script;
        lens[0] = 4;
        lens[1] = strlen(script);
        rep = redis_cmd(r, rc, err, errlen, argc, argv, lens);
    }
    return rep;
}

/* "stm:" NAME for KIND and KEY; NULL on ENOMEM. */
static char *
redis_key(int kind, const char *key)
{
    char *name = stm_rec_name(kind, key);
    if (name == NULL)
        return NULL;
    size_t n = strlen(name) + 5;
    char *full = malloc(n);
    if (full != NULL)
        snprintf(full, n, "stm:%s", name);
    free(name);
    return full;
}

static int
redis_rate(stm_state_store *st, const char *key, uint64_t per_ms, uint64_t now, bool write,
           uint64_t *count, char *err, size_t errlen)
{
    redis_store *r = (redis_store *)st;
    char *name = redis_key(STM_REC_RATE, key);
    char per[24], nows[24];
    if (name == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(per, sizeof per, "%llu", (unsigned long long)per_ms);
    snprintf(nows, sizeof nows, "%llu", (unsigned long long)now);
    const char *args[] = {per, nows, write ? "1" : "0"};
    int ret = -1;
    redis_conn *rc = redis_take(r, err, errlen);
    if (rc != NULL) {
        redisReply *rep =
            redis_eval(r, rc, rc->sha_rate, redis_rate_lua, name, args, 3, err, errlen);
        if (rep != NULL && rep->type == REDIS_REPLY_INTEGER) {
            *count = (uint64_t)rep->integer;
            ret = 0;
        } else if (rep != NULL) {
            snprintf(err, errlen, "redis %s:%s: unexpected reply to the rate script", r->host,
                     r->port);
        }
        freeReplyObject(rep);
        redis_give(r, rc);
    }
    free(name);
    return ret;
}

static int
redis_greylist(stm_state_store *st, const char *key, const stm_greylist_params *gp, uint64_t now,
               bool write, stm_greylist_answer *out, char *err, size_t errlen)
{
    redis_store *r = (redis_store *)st;
    char *name = redis_key(STM_REC_GREY, key);
    char a[4][24];
    if (name == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(a[0], sizeof a[0], "%llu", (unsigned long long)now);
    snprintf(a[1], sizeof a[1], "%llu", (unsigned long long)gp->delay_ms);
    snprintf(a[2], sizeof a[2], "%llu", (unsigned long long)gp->window_ms);
    snprintf(a[3], sizeof a[3], "%llu", (unsigned long long)gp->expire_ms);
    const char *args[] = {a[0], a[1], a[2], a[3], write ? "1" : "0"};
    int ret = -1;
    redis_conn *rc = redis_take(r, err, errlen);
    if (rc != NULL) {
        redisReply *rep =
            redis_eval(r, rc, rc->sha_grey, redis_grey_lua, name, args, 5, err, errlen);
        if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
            rep->element[0]->type == REDIS_REPLY_INTEGER &&
            rep->element[1]->type == REDIS_REPLY_INTEGER && rep->element[0]->integer >= 0 &&
            rep->element[0]->integer <= STM_GREY_KNOWN) {
            out->state = (stm_greylist_state)rep->element[0]->integer;
            out->age_ms = (uint64_t)rep->element[1]->integer;
            ret = 0;
        } else if (rep != NULL) {
            snprintf(err, errlen, "redis %s:%s: unexpected reply to the greylist script", r->host,
                     r->port);
        }
        freeReplyObject(rep);
        redis_give(r, rc);
    }
    free(name);
    return ret;
}

/* Describe hash REP (HGETALL) of NAME ("rate:..."/"grey:...") into BUF. */
static void
redis_describe(const char *name, const redisReply *rep, uint64_t now, char *buf, size_t len)
{
    stm_rec rec;
    memset(&rec, 0, sizeof rec);
    uint64_t width = 0;
    for (size_t i = 0; i + 1 < rep->elements; i += 2)
        if (strcmp(rep->element[i]->str, "w") == 0)
            width = strtoull(rep->element[i + 1]->str, NULL, 10);
    if (strncmp(name, "rate:", 5) == 0 && width > 0) {
        uint64_t slot = now / width, sum = 0;
        for (size_t i = 0; i + 1 < rep->elements; i += 2) {
            uint64_t s = strtoull(rep->element[i]->str, NULL, 10);
            if (strcmp(rep->element[i]->str, "w") != 0 && s + STM_REC_SLOTS > slot && s <= slot)
                sum += strtoull(rep->element[i + 1]->str, NULL, 10);
        }
        snprintf(buf, len, "count=%llu per=%llums", (unsigned long long)sum,
                 (unsigned long long)(width * STM_REC_SLOTS));
        return;
    }
    rec.kind = STM_REC_GREY;
    for (size_t i = 0; i + 1 < rep->elements; i += 2) {
        if (strcmp(rep->element[i]->str, "first") == 0)
            rec.u.grey.first_ms = strtoull(rep->element[i + 1]->str, NULL, 10);
        else if (strcmp(rep->element[i]->str, "passed") == 0)
            rec.u.grey.passed = strcmp(rep->element[i + 1]->str, "1") == 0;
    }
    stm_rec_describe(&rec, now, buf, len);
}

/* Every key matching "stm:" PATTERN, by SCAN (state.h). */
static long
redis_each(stm_state_store *st, const char *pattern, bool delete, uint64_t now,
           stm_state_each_fn *each, void *ctx, char *err, size_t errlen)
{
    redis_store *r = (redis_store *)st;
    size_t n = strlen(pattern) + 5;
    char *match = malloc(n);
    if (match == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(match, n, "stm:%s", pattern);
    redis_conn *rc = redis_take(r, err, errlen);
    long count = 0;
    char cursor[32] = "0";
    bool stop = false;
    if (rc == NULL) {
        free(match);
        return -1;
    }
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", match, "COUNT", "200"};
        size_t lens[6];
        for (int i = 0; i < 6; i++)
            lens[i] = strlen(argv[i]);
        redisReply *rep = redis_cmd(r, rc, err, errlen, 6, argv, lens);
        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
            freeReplyObject(rep);
            count = -1;
            break;
        }
        snprintf(cursor, sizeof cursor, "%s", rep->element[0]->str ? rep->element[0]->str : "0");
        redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements && !stop; i++) {
            const char *full = keys->element[i]->str;
            if (full == NULL || strncmp(full, "stm:", 4) != 0 || fnmatch(pattern, full + 4, 0) != 0)
                continue;
            redisReply *h = redis_cmd4(r, rc, err, errlen, "HGETALL", full, NULL, NULL);
            redisReply *t = h != NULL ? redis_cmd4(r, rc, err, errlen, "PTTL", full, NULL, NULL)
                                      : NULL;
            if (h == NULL || t == NULL) {
                freeReplyObject(h);
                count = -1;
                stop = true;
                break;
            }
            char detail[200];
            redis_describe(full + 4, h, now, detail, sizeof detail);
            stm_state_entry ent = {full + 4, detail,
                                   t->type == REDIS_REPLY_INTEGER && t->integer > 0
                                       ? now + (uint64_t)t->integer
                                       : 0};
            freeReplyObject(h);
            freeReplyObject(t);
            count++;
            if (each != NULL && each(ctx, &ent) != 0) {
                stop = true;
                break;
            }
            if (delete) {
                redisReply *d = redis_cmd4(r, rc, err, errlen, "DEL", full, NULL, NULL);
                if (d == NULL) {
                    count = -1;
                    stop = true;
                    break;
                }
                freeReplyObject(d);
            }
        }
        freeReplyObject(rep);
    } while (!stop && strcmp(cursor, "0") != 0 && rc->c != NULL);
    redis_give(r, rc);
    free(match);
    return count;
}

static void
redis_close(stm_state_store *st)
{
    redis_store *r = (redis_store *)st;
    for (size_t i = 0; i < STM_REDIS_POOL; i++)
        if (r->conns[i].c != NULL)
            redisFree(r->conns[i].c);
    pthread_cond_destroy(&r->freed);
    pthread_mutex_destroy(&r->lock);
    free(r->host);
    free(r->port);
    free(r->password);
    free(r);
}

static const stm_state_ops redis_ops = {
    .name = "redis",
    .rate = redis_rate,
    .greylist = redis_greylist,
    .each = redis_each,
    .close = redis_close,
};

/* A store on C's Redis; connects once to say whether it is there. */
stm_state_store *
stm_state_redis_open(const stm_state_config *c, char *err, size_t errlen)
{
    redis_store *r = calloc(1, sizeof *r);
    if (r == NULL) {
        snprintf(err, errlen, "redis: out of memory");
        return NULL;
    }
    r->base.ops = &redis_ops;
    r->host = strdup(c->host ? c->host : "127.0.0.1");
    r->port = strdup(c->port ? c->port : "6379");
    r->password = c->password ? strdup(c->password) : NULL;
    r->db = c->db;
    r->timeout_ms = c->timeout_ms ? c->timeout_ms : 500;
    atomic_init(&r->down, false);
    pthread_mutex_init(&r->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->freed, &ca);
    pthread_condattr_destroy(&ca);
    if (r->host == NULL || r->port == NULL || (c->password && r->password == NULL)) {
        snprintf(err, errlen, "redis: out of memory");
        redis_close(&r->base);
        return NULL;
    }
    /* One connection now: a store that cannot be reached is refused. */
    redis_conn *rc = redis_take(r, err, errlen);
    if (rc == NULL) {
        redis_close(&r->base);
        return NULL;
    }
    redis_give(r, rc);
    r->logging = true;
    return &r->base;
}
