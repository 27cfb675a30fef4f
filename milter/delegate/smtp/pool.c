/*
 * pool.c - idle plain SMTP/LMTP connections kept for the next message to the
 * same service and target (session.h; see protocol.c for when).
 *
 * Functions: stm_smtp_pool_take, stm_smtp_pool_put.
 *
 * A process-wide table of at most STM_SMTP_POOL_MAX connections, each
 * dropped after STM_SMTP_POOL_IDLE_MS. Entries are keyed by the service's
 * identity and a text key (service name, target, auth, user), so a reload's
 * new service at a recycled address never matches an old connection.
 *
 * Ownership: a pooled socket belongs to the pool; take() hands it to the
 * session, put() takes it from the session.
 *
 * Errors: none; a connection found closed or expired is closed and skipped.
 */
#include "config.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "delegate/smtp/session.h"
#include "stagemilter/clock.h"

typedef struct pool_entry {
    const stm_service *svc; /* identity only, never dereferenced while pooled */
    const stm_target *target;
    char key[256]; /* service name, target text, auth and user: a reload's
                    * new service at a recycled address must not match */
    int fd;
    uint64_t since;
    bool cap_size, cap_8bitmime, cap_auth;
} pool_entry;

/* Guards pool_slots and pool_n. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_entry pool_slots[STM_SMTP_POOL_MAX];
static size_t pool_n;

/* The pool key of S's service and target into KEY (size 256). */
static void
pool_key(const stm_smtp_session *s, char *key)
{
    snprintf(key, 256, "%s %s %d %s", s->svc->name, s->target->text, (int)s->svc->auth,
             s->svc->username ? s->svc->username : "");
}

/* Remove entry I of the pool (under the lock); returns its fd. */
static int
pool_remove(size_t i)
{
    int fd = pool_slots[i].fd;
    pool_slots[i] = pool_slots[--pool_n];
    return fd;
}

/* Take an idle connection to S's target, most recent first, skipping (and
 * closing) expired ones and ones the peer has closed. true when S got one. */
bool
stm_smtp_pool_take(stm_smtp_session *s)
{
    char key[256];
    int stale[STM_SMTP_POOL_MAX];
    size_t nstale = 0;
    bool got = false;
    uint64_t now = stm_clock_ms();

    pool_key(s, key);
    pthread_mutex_lock(&pool_lock);
    for (size_t i = pool_n; i-- > 0;)
        if (now - pool_slots[i].since > STM_SMTP_POOL_IDLE_MS)
            stale[nstale++] = pool_remove(i);
    for (size_t i = pool_n; i-- > 0 && !got;) {
        pool_entry *p = &pool_slots[i];
        if (p->svc != s->svc || p->target != s->target || strcmp(p->key, key) != 0)
            continue;
        /* Readable while idle: EOF, or a 421 before closing. Either way gone. */
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) != 0) {
            stale[nstale++] = pool_remove(i);
            continue;
        }
        s->fd = p->fd;
        s->cap_size = p->cap_size;
        s->cap_8bitmime = p->cap_8bitmime;
        s->cap_auth = p->cap_auth;
        pool_remove(i);
        got = true;
    }
    pthread_mutex_unlock(&pool_lock);
    for (size_t i = 0; i < nstale; i++)
        close(stale[i]);
    return got;
}

/* Keep S's connection idle in the pool (S no longer owns it). When the pool
 * is full the oldest connection makes room. */
void
stm_smtp_pool_put(stm_smtp_session *s)
{
    int drop = -1;
    pthread_mutex_lock(&pool_lock);
    if (pool_n == STM_SMTP_POOL_MAX) {
        size_t oldest = 0;
        for (size_t i = 1; i < pool_n; i++)
            if (pool_slots[i].since < pool_slots[oldest].since)
                oldest = i;
        drop = pool_remove(oldest);
    }
    pool_entry *p = &pool_slots[pool_n++];
    p->svc = s->svc;
    p->target = s->target;
    pool_key(s, p->key);
    p->fd = s->fd;
    p->since = stm_clock_ms();
    p->cap_size = s->cap_size;
    p->cap_8bitmime = s->cap_8bitmime;
    p->cap_auth = s->cap_auth;
    pthread_mutex_unlock(&pool_lock);
    s->fd = -1;
    if (drop >= 0)
        close(drop);
}
