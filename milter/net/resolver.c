/*
 * resolver.c - the daemon's DNS resolver, on libunbound (resolver.h,
 * stagemilter/dns.h; README "Asking the network" says why libunbound).
 *
 * Functions: stm_resolver, stm_resolver_shutdown.
 *
 * One libunbound context per distinct `dns:` setting (its dns.key), shared
 * by every connection thread and kept across reloads that keep the
 * settings, so its cache (which honours TTLs, negative answers included)
 * survives a SIGHUP. A context is configured once: forwarders from
 * dns.servers (else /etc/resolv.conf), threads instead of a forked process
 * for asynchronous queries, and cache sizes from dns.cache: N entries give
 * msg-cache-size N * 512 bytes and rrset-cache-size N * 1024 bytes (a
 * negative or positive answer is one message entry plus its records);
 * cache: 0 keeps nothing (cache-max-ttl and cache-max-negative-ttl 0).
 *
 * Each context has one dispatcher thread that waits on ub_fd() and calls
 * ub_process(), which runs rs_callback for whichever query was answered.
 * A caller submits all its queries with ub_resolve_async() and waits on the
 * context's condition variable until they are answered or its deadline
 * (dns.timeout * dns.attempts) passes; a query still out then is abandoned
 * (the callback frees it when it comes) and cancelled. Several connections
 * therefore wait at once, each on its own deadline, and the queries of one
 * condition are all in flight together.
 *
 * Threads: rs_lock guards the list of contexts and their users counts;
 * each context's lock guards its slots' done/abandoned/result fields.
 * Ownership: answers written into a query are malloc'd (the caller frees
 * them with stm_dns_query_clear()); the records are read by
 * stm_dns_answer_add() (stagemilter/dns.h, in policy/run/dnsname.c: TXT text cleaned of control
 * bytes and cut, the number of records bounded), which a fuzz target
 * drives (tests/fuzz/fuzz_dns_answer.c). Errors: a context that cannot be made fails every
 * query (FAILED with the reason); nothing here exits.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>
#include <unistd.h>

#include "net/resolver.h"
#include "report/log.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"

#define RS_CONTEXTS_MAX 4 /* unused contexts beyond this are freed */

typedef struct rs_ctx rs_ctx;

/* One query in flight. */
typedef struct rs_slot {
    rs_ctx *ctx;
    int async_id;
    bool done;      /* the callback came */
    bool abandoned; /* the caller gave up: the callback frees the slot */
    int err;
    struct ub_result *res;
    uint64_t answered_ms;
} rs_slot;

struct rs_ctx {
    char *key;
    struct ub_ctx *ub;
    pthread_t thread;
    bool thread_started;
    int stop[2];
    pthread_mutex_t lock; /* guards the slots' done, abandoned, err, res */
    pthread_cond_t cond;  /* broadcast when a slot is done */
    unsigned users;       /* resolves under way (rs_lock) */
    rs_ctx *next;
};

static pthread_mutex_t rs_lock = PTHREAD_MUTEX_INITIALIZER; /* guards rs_list, users */
static rs_ctx *rs_list;

/* libunbound's callback: record the answer, or free an abandoned slot. */
static void
rs_callback(void *arg, int err, struct ub_result *res)
{
    rs_slot *sl = arg;
    rs_ctx *c = sl->ctx;
    pthread_mutex_lock(&c->lock);
    if (sl->abandoned) {
        pthread_mutex_unlock(&c->lock);
        if (res != NULL)
            ub_resolve_free(res);
        free(sl);
        return;
    }
    sl->err = err;
    sl->res = res;
    sl->done = true;
    sl->answered_ms = stm_clock_ms();
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* The dispatcher: deliver answers until told to stop. */
static void *
rs_dispatch(void *arg)
{
    rs_ctx *c = arg;
    struct pollfd p[2] = {{.fd = ub_fd(c->ub), .events = POLLIN},
                          {.fd = c->stop[0], .events = POLLIN}};
    for (;;) {
        /* Waits only for an answer or the stop; the callers keep deadlines. */
        int r = poll(p, 2, 1000);
        if (r < 0 && errno != EINTR)
            break;
        if (p[1].revents != 0)
            break;
        if (r > 0 && p[0].revents != 0)
            ub_process(c->ub);
    }
    return NULL;
}

/* Free C (its thread stopped first). */
static void
rs_ctx_free(rs_ctx *c)
{
    if (c == NULL)
        return;
    if (c->thread_started) {
        ssize_t w = write(c->stop[1], "x", 1);
        (void)w;
        pthread_join(c->thread, NULL);
    }
    if (c->ub != NULL)
        ub_ctx_delete(c->ub);
    if (c->stop[0] >= 0)
        close(c->stop[0]);
    if (c->stop[1] >= 0)
        close(c->stop[1]);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c->key);
    free(c);
}

/* Set libunbound option NAME to VALUE; 0 or -1 with *WHY. */
static int
rs_option(struct ub_ctx *ub, const char *name, const char *value, const char **why)
{
    int rc = ub_ctx_set_option(ub, name, value);
    if (rc != 0)
        *why = ub_strerror(rc);
    return rc != 0 ? -1 : 0;
}

/* Configure UB from CONFIG; 0 or -1 with *WHY (static). */
static int
rs_configure(struct ub_ctx *ub, const stm_dns_config *config, const char **why)
{
    char num[32];
    int rc;
    if ((rc = ub_ctx_async(ub, 1)) != 0) {
        *why = ub_strerror(rc);
        return -1;
    }
    /* Forwarders on loopback (a local caching resolver) are the usual case. */
    if (rs_option(ub, "do-not-query-localhost:", "no", why) < 0)
        return -1;
    if (config->nservers == 0) {
        if ((rc = ub_ctx_resolvconf(ub, NULL)) != 0) {
            *why = "cannot read /etc/resolv.conf";
            return -1;
        }
    }
    for (size_t i = 0; i < config->nservers; i++)
        if ((rc = ub_ctx_set_fwd(ub, config->servers[i])) != 0) {
            *why = ub_strerror(rc);
            return -1;
        }
    if (config->cache == 0) {
        if (rs_option(ub, "cache-max-ttl:", "0", why) < 0 ||
            rs_option(ub, "cache-max-negative-ttl:", "0", why) < 0)
            return -1;
    } else {
        snprintf(num, sizeof num, "%llu", (unsigned long long)config->cache * 512);
        if (rs_option(ub, "msg-cache-size:", num, why) < 0)
            return -1;
        snprintf(num, sizeof num, "%llu", (unsigned long long)config->cache * 1024);
        if (rs_option(ub, "rrset-cache-size:", num, why) < 0)
            return -1;
    }
    return 0;
}

/* A new context for CONFIG; NULL with *WHY. */
static rs_ctx *
rs_ctx_new(const stm_dns_config *config, const char **why)
{
    rs_ctx *c = calloc(1, sizeof *c);
    if (c == NULL) {
        *why = "out of memory";
        return NULL;
    }
    c->stop[0] = c->stop[1] = -1;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cond, &ca);
    pthread_condattr_destroy(&ca);
    *why = "out of memory";
    if ((c->key = strdup(config->key ? config->key : "")) == NULL ||
        (c->ub = ub_ctx_create()) == NULL)
        goto fail;
    if (rs_configure(c->ub, config, why) < 0)
        goto fail;
    if (pipe(c->stop) != 0) {
        *why = "cannot make a pipe";
        goto fail;
    }
    if (pthread_create(&c->thread, NULL, rs_dispatch, c) != 0) {
        *why = "cannot start a thread";
        goto fail;
    }
    c->thread_started = true;
    return c;
fail:
    rs_ctx_free(c);
    return NULL;
}

/* The context for CONFIG with one more user; NULL with *WHY. */
static rs_ctx *
rs_get(const stm_dns_config *config, const char **why)
{
    const char *key = config->key ? config->key : "";
    pthread_mutex_lock(&rs_lock);
    rs_ctx *c = rs_list;
    while (c != NULL && strcmp(c->key, key) != 0)
        c = c->next;
    if (c == NULL && (c = rs_ctx_new(config, why)) != NULL) {
        c->next = rs_list;
        rs_list = c;
        /* Settings changed by reloads leave unused contexts behind. */
        size_t n = 0;
        for (rs_ctx **pp = &rs_list; *pp != NULL;) {
            if (++n > RS_CONTEXTS_MAX && (*pp)->users == 0) {
                rs_ctx *old = *pp;
                *pp = old->next;
                rs_ctx_free(old);
                continue;
            }
            pp = &(*pp)->next;
        }
    }
    if (c != NULL)
        c->users++;
    pthread_mutex_unlock(&rs_lock);
    return c;
}

/* One fewer user of C. */
static void
rs_put(rs_ctx *c)
{
    pthread_mutex_lock(&rs_lock);
    c->users--;
    pthread_mutex_unlock(&rs_lock);
}

/* Fill Q from the answer of SL. */
static void
rs_fill(stm_dns_query *q, const rs_slot *sl, uint64_t start)
{
    const struct ub_result *res = sl->res;
    q->elapsed_ms = sl->answered_ms - start;
    if (sl->err != 0 || res == NULL) {
        q->status = STM_DNS_FAILED;
        q->why = ub_strerror(sl->err);
        return;
    }
    q->rcode = res->rcode;
    if (res->bogus) {
        q->status = STM_DNS_SERVFAIL;
        q->why = "bogus (DNSSEC)";
        return;
    }
    if (res->rcode == 3 || (res->rcode == 0 && !res->havedata)) {
        q->status = STM_DNS_NOTFOUND;
        q->why = res->rcode == 3 ? "NXDOMAIN" : "no record of that type";
        return;
    }
    if (res->rcode != 0) {
        q->status = STM_DNS_SERVFAIL;
        q->why = res->rcode == 2 ? "SERVFAIL" : res->rcode == 5 ? "REFUSED" : "error rcode";
        return;
    }
    for (size_t i = 0; res->data[i] != NULL; i++)
        if (stm_dns_answer_add(q, (const unsigned char *)res->data[i], (size_t)res->len[i]) != 0) {
            stm_dns_query_clear(q);
            q->status = STM_DNS_FAILED;
            q->why = "out of memory";
            return;
        }
    q->ttl = res->ttl > 0 ? (uint32_t)res->ttl : 0;
    q->status = q->nanswers > 0 ? STM_DNS_ANSWER : STM_DNS_NOTFOUND;
}

/* The resolver's resolve: every query at once, each with its deadline. */
static int
rs_resolve(void *unused, const stm_dns_config *config, stm_dns_query *qs, size_t n)
{
    (void)unused;
    const char *why = NULL;
    rs_ctx *c = rs_get(config, &why);
    uint64_t start = stm_clock_ms();
    if (c == NULL) {
        stm_log(LOG_ERR, "dns: cannot set up the resolver: %s", why);
        for (size_t i = 0; i < n; i++) {
            qs[i].status = STM_DNS_FAILED;
            qs[i].why = why;
        }
        return -1;
    }
    rs_slot **slots = calloc(n ? n : 1, sizeof *slots);
    rs_slot **gone = calloc(n ? n : 1, sizeof *gone);
    int *ids = calloc(n ? n : 1, sizeof *ids);
    if (slots == NULL || gone == NULL || ids == NULL) {
        free(slots);
        free(gone);
        free(ids);
        rs_put(c);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        qs[i].status = STM_DNS_PENDING;
        qs[i].rcode = -1;
        if ((slots[i] = calloc(1, sizeof *slots[i])) == NULL) {
            qs[i].status = STM_DNS_FAILED;
            qs[i].why = "out of memory";
            continue;
        }
        slots[i]->ctx = c;
        int rc = ub_resolve_async(c->ub, qs[i].name, (int)qs[i].rrtype, 1, slots[i], rs_callback,
                                  &slots[i]->async_id);
        if (rc != 0) {
            free(slots[i]);
            slots[i] = NULL;
            qs[i].status = STM_DNS_FAILED;
            qs[i].why = ub_strerror(rc);
        }
    }
    uint64_t deadline = start + config->timeout_ms * (config->attempts ? config->attempts : 1);
    struct timespec until = stm_clock_timespec(deadline);
    size_t abandoned = 0;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        bool pending = false;
        for (size_t i = 0; i < n && !pending; i++)
            pending = slots[i] != NULL && !slots[i]->done;
        if (!pending || stm_clock_ms() >= deadline)
            break;
        pthread_cond_timedwait(&c->cond, &c->lock, &until);
    }
    for (size_t i = 0; i < n; i++) {
        rs_slot *sl = slots[i];
        if (sl == NULL)
            continue;
        if (sl->done) {
            rs_fill(&qs[i], sl, start);
            if (sl->res != NULL)
                ub_resolve_free(sl->res);
            free(sl);
        } else {
            sl->abandoned = true; /* from here the callback owns it */
            gone[abandoned] = sl;
            ids[abandoned++] = sl->async_id;
            qs[i].status = STM_DNS_TIMEOUT;
            qs[i].why = "no answer before the deadline";
            qs[i].elapsed_ms = stm_clock_ms() - start;
        }
        slots[i] = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    /* A cancelled query's callback never comes, so its slot is still ours;
     * one that fails to cancel was delivered or is being delivered, and its
     * callback frees the slot, which is then not touched here. */
    for (size_t i = 0; i < abandoned; i++)
        if (ub_cancel(c->ub, ids[i]) == 0)
            free(gone[i]);
    rs_put(c);
    free(slots);
    free(gone);
    free(ids);
    return 0;
}

static const stm_dns_resolver rs_resolver = {.ctx = NULL, .resolve = rs_resolve};

/* The process-wide resolver. */
const stm_dns_resolver *
stm_resolver(void)
{
    return &rs_resolver;
}

/* Free every context. */
void
stm_resolver_shutdown(void)
{
    pthread_mutex_lock(&rs_lock);
    rs_ctx *c = rs_list;
    rs_list = NULL;
    pthread_mutex_unlock(&rs_lock);
    while (c != NULL) {
        rs_ctx *next = c->next;
        rs_ctx_free(c);
        c = next;
    }
}
