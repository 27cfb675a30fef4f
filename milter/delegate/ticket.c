/*
 * ticket.c - the registry of pending delegations (ticket.h).
 *
 * Functions: stm_ticket_registry_create, stm_ticket_registry_ref,
 * stm_ticket_registry_free, stm_ticket_registry_open_count, stm_ticket_open,
 * stm_ticket_token, stm_ticket_close, stm_ticket_wait, stm_ticket_deliver,
 * stm_ticket_delivery_clear, stm_ticket_find_tokens, stm_ticket_strip_lines.
 *
 * Ownership: the registry owns nothing but its list; each ticket belongs to
 * the delegation that opened it until stm_ticket_close(). A delivery moves
 * from the receiver into the ticket and from the ticket to the waiter.
 * The registry itself is reference-counted (ticket.h): its creator, every
 * holder of stm_ticket_registry_ref() and every open ticket own one
 * reference; the last stm_ticket_registry_free() frees it.
 *
 * Threads: one mutex per registry guards the list and every field of its
 * tickets; each ticket has a condition variable on CLOCK_MONOTONIC so a wait
 * has a deadline that wall-clock changes cannot stretch.
 *
 * Errors: stm_ticket_open() returns NULL when RAND_bytes fails (no token is
 * better than a guessable one) or memory runs out.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "delegate/ticket.h"
#include "stagemilter/clock.h"

struct stm_ticket {
    stm_ticket_registry *reg;
    struct stm_ticket *next;
    char token[STM_TICKET_TOKEN_LEN + 1];
    bool delivered;          /* a delivery was taken (single use) */
    stm_ticket_delivery got; /* valid while delivered and not yet handed out */
    pthread_cond_t cond;     /* signalled when delivered becomes true */
};

struct stm_ticket_registry {
    /* Guards `refs`, `open`, `count` and every field of every ticket on the
     * list. */
    pthread_mutex_t lock;
    /* References: the creator's, stm_ticket_registry_ref()'s, one per open
     * ticket. The registry is freed when the last is dropped, so no thread
     * that holds one can meet freed memory (the daemon drops its own at
     * shutdown while end-of-message threads may still run). */
    size_t refs;
    stm_ticket *open;
    size_t count;
};

/* A new empty registry. */
stm_ticket_registry *
stm_ticket_registry_create(void)
{
    stm_ticket_registry *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return NULL;
    if (pthread_mutex_init(&reg->lock, NULL) != 0) {
        free(reg);
        return NULL;
    }
    reg->refs = 1;
    return reg;
}

/* Another reference on REG. */
stm_ticket_registry *
stm_ticket_registry_ref(stm_ticket_registry *reg)
{
    if (reg == NULL)
        return NULL;
    pthread_mutex_lock(&reg->lock);
    reg->refs++;
    pthread_mutex_unlock(&reg->lock);
    return reg;
}

/* Drop a reference; the last frees the registry. */
void
stm_ticket_registry_free(stm_ticket_registry *reg)
{
    if (reg == NULL)
        return;
    pthread_mutex_lock(&reg->lock);
    bool last = --reg->refs == 0;
    pthread_mutex_unlock(&reg->lock);
    if (!last)
        return;
    /* No reference is left, so no ticket is open and no other thread can
     * reach the registry. */
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

/* How many tickets are open. */
size_t
stm_ticket_registry_open_count(stm_ticket_registry *reg)
{
    pthread_mutex_lock(&reg->lock);
    size_t n = reg->count;
    pthread_mutex_unlock(&reg->lock);
    return n;
}

/* Open a ticket with a fresh random token and put it on the list. */
stm_ticket *
stm_ticket_open(stm_ticket_registry *reg)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[STM_TICKET_TOKEN_LEN / 2];
    pthread_condattr_t attr;

    if (RAND_bytes(raw, (int)sizeof raw) != 1)
        return NULL;
    stm_ticket *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof raw; i++) {
        t->token[2 * i] = hex[raw[i] >> 4];
        t->token[2 * i + 1] = hex[raw[i] & 15];
    }
    t->token[STM_TICKET_TOKEN_LEN] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    if (pthread_condattr_init(&attr) != 0) {
        free(t);
        return NULL;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&t->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (rc != 0) {
        free(t);
        return NULL;
    }
    t->reg = reg;
    pthread_mutex_lock(&reg->lock);
    reg->refs++; /* the ticket's, dropped by stm_ticket_close() */
    t->next = reg->open;
    reg->open = t;
    reg->count++;
    pthread_mutex_unlock(&reg->lock);
    return t;
}

/* The ticket's token. */
const char *
stm_ticket_token(const stm_ticket *t)
{
    return t->token;
}

/* Take T off its registry's list and free it with any untaken delivery. */
void
stm_ticket_close(stm_ticket *t)
{
    if (t == NULL)
        return;
    stm_ticket_registry *reg = t->reg;
    pthread_mutex_lock(&reg->lock);
    for (stm_ticket **pp = &reg->open; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            reg->count--;
            break;
        }
    }
    pthread_mutex_unlock(&reg->lock);
    stm_ticket_delivery_clear(&t->got);
    pthread_cond_destroy(&t->cond);
    OPENSSL_cleanse(t->token, sizeof t->token);
    free(t);
    stm_ticket_registry_free(reg); /* the ticket's reference */
}

/* Block until T has its delivery or the deadline passes, calling PROGRESS. */
bool
stm_ticket_wait(stm_ticket *t, uint64_t deadline_ms, void (*progress)(void *arg), void *arg,
                uint64_t interval_ms, stm_ticket_delivery *out)
{
    stm_ticket_registry *reg = t->reg;
    bool got = false;

    if (interval_ms == 0)
        interval_ms = 10000;
    uint64_t next_progress = stm_clock_ms() + interval_ms;
    pthread_mutex_lock(&reg->lock);
    for (;;) {
        if (t->delivered && t->got.data != NULL) {
            *out = t->got;
            memset(&t->got, 0, sizeof t->got);
            got = true;
            break;
        }
        uint64_t now = stm_clock_ms();
        if (now >= deadline_ms)
            break;
        if (progress != NULL && now >= next_progress) {
            /* Never call out with the lock held: the callback talks to the MTA. */
            pthread_mutex_unlock(&reg->lock);
            progress(arg);
            pthread_mutex_lock(&reg->lock);
            next_progress = stm_clock_ms() + interval_ms;
            continue;
        }
        uint64_t until = deadline_ms;
        if (progress != NULL && next_progress < until)
            until = next_progress;
        struct timespec ts = stm_clock_timespec(until);
        int rc = pthread_cond_timedwait(&t->cond, &reg->lock, &ts);
        if (rc != 0 && rc != ETIMEDOUT && rc != EINTR)
            break;
    }
    pthread_mutex_unlock(&reg->lock);
    return got;
}

/* Is C a hexadecimal digit? */
static bool
ticket_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Scan DATA for "X-Stagemilter-Ticket:" and collect the tokens after it. */
size_t
stm_ticket_find_tokens(const char *data, size_t len, char tokens[][STM_TICKET_TOKEN_LEN + 1],
                       size_t max)
{
    static const char name[] = STM_TICKET_HEADER ":";
    const size_t nlen = sizeof name - 1;
    size_t found = 0;

    for (size_t i = 0; i + nlen <= len && found < max; i++) {
        /* Two bytes before the full comparison: text full of x's (a
         * generated body, a base64 part) must not cost a call per byte. */
        if ((data[i] != 'x' && data[i] != 'X') || data[i + 1] != '-')
            continue;
        if (strncasecmp(data + i, name, nlen) != 0)
            continue;
        size_t p = i + nlen;
        /* Folded headers and quoting: skip white space, line ends, a "<". */
        while (p < len && (data[p] == ' ' || data[p] == '\t' || data[p] == '\r' || data[p] == '\n'))
            p++;
        if (p < len && data[p] == '<')
            p++;
        size_t h = 0;
        while (p + h < len && h <= STM_TICKET_TOKEN_LEN && ticket_is_hex(data[p + h]))
            h++;
        if (h != STM_TICKET_TOKEN_LEN)
            continue;
        char tok[STM_TICKET_TOKEN_LEN + 1];
        for (size_t k = 0; k < STM_TICKET_TOKEN_LEN; k++) {
            char c = data[p + k];
            tok[k] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
        }
        tok[STM_TICKET_TOKEN_LEN] = '\0';
        bool dup = false;
        for (size_t k = 0; k < found; k++)
            dup = dup || memcmp(tokens[k], tok, sizeof tok) == 0;
        if (!dup)
            memcpy(tokens[found++], tok, sizeof tok);
        i = p + STM_TICKET_TOKEN_LEN - 1;
    }
    return found;
}

/* Hand D to the open, not yet delivered ticket whose token it carries. */
int
stm_ticket_deliver(stm_ticket_registry *reg, stm_ticket_delivery *d)
{
    char tokens[8][STM_TICKET_TOKEN_LEN + 1];
    size_t n = stm_ticket_find_tokens(d->data, d->len, tokens, 8);
    int rc = -1;

    if (n == 0)
        return -1;
    pthread_mutex_lock(&reg->lock);
    for (stm_ticket *t = reg->open; t != NULL && rc != 0; t = t->next) {
        if (t->delivered)
            continue;
        for (size_t k = 0; k < n; k++) {
            if (CRYPTO_memcmp(t->token, tokens[k], STM_TICKET_TOKEN_LEN) == 0) {
                t->got = *d;
                memset(d, 0, sizeof *d);
                t->delivered = true;
                pthread_cond_signal(&t->cond);
                rc = 0;
                break;
            }
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return rc;
}

/* Free what a delivery owns. */
void
stm_ticket_delivery_clear(stm_ticket_delivery *d)
{
    free(d->data);
    free(d->mail_from);
    for (size_t i = 0; i < d->nrcpts; i++)
        free(d->rcpts[i]);
    free(d->rcpts);
    free(d->peer);
    memset(d, 0, sizeof *d);
}

/* Drop every ticket line (and its continuations) from DATA, in place. */
size_t
stm_ticket_strip_lines(char *data, size_t len)
{
    static const char name[] = STM_TICKET_HEADER ":";
    const size_t nlen = sizeof name - 1;
    size_t in = 0, out = 0;
    bool dropping = false;
    while (in < len) {
        size_t end = in;
        while (end < len && data[end] != '\n')
            end++;
        if (end < len)
            end++; /* the line with its LF */
        bool cont = data[in] == ' ' || data[in] == '\t';
        if (!(dropping && cont))
            dropping = end - in >= nlen && strncasecmp(data + in, name, nlen) == 0;
        if (!dropping) {
            memmove(data + out, data + in, end - in);
            out += end - in;
        }
        in = end;
    }
    if (out < len)
        data[out] = '\0';
    return out;
}

