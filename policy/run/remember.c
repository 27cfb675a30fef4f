/*
 * remember.c - the engine's side of remembering (remember.h): the store a
 * session uses, the keys it asks about, state.on_failure, and the notes
 * --trace prints.
 *
 * Functions: stm_session_set_state, stm_state_now_ms (state.h),
 * stm_remember_rate, stm_remember_greylist, stm_remember_note,
 * stm_remember_note_clear.
 *
 * Keys: a `key:` text is interpolated with the session's variables; the
 * greylist default is "NET/SENDER/RCPT" with NET the client's /24 (IPv4) or
 * /64 (IPv6) and both addresses in lower case. A key longer than
 * STM_STATE_KEY_MAX bytes keeps its head and ends in "#" and a 128-bit FNV-1a
 * hash of the whole, so keys of any length fit every store (LMDB's limit is
 * 511 bytes) and still differ.
 *
 * With a read-only store (--trace) the store says what it would count or
 * decide and writes nothing.
 *
 * Ownership: notes live in the session; error texts are malloc'd for the
 * caller. Errors: a store failure, a session without a store, or memory
 * exhaustion is an error unless state.on_failure is continue.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match/ipaddr.h"
#include "run/remember.h"

/* Wall-clock milliseconds. */
uint64_t
stm_state_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Give S its store. */
void
stm_session_set_state(stm_session *s, stm_state_store *store, bool readonly)
{
    s->state = store;
    s->state_readonly = readonly;
}

/* The note of the last judgment. */
const char *
stm_remember_note(const stm_session *s)
{
    return s->state_note;
}

void
stm_remember_note_clear(stm_session *s)
{
    s->state_note[0] = '\0';
    s->state_failed = false;
}

/* A failure let by? */
bool
stm_remember_note_failed(const stm_session *s)
{
    return s->state_failed;
}

/* Append a printf-style line to S's note ("; " between two). */
static void __attribute__((format(printf, 2, 3)))
remember_note(stm_session *s, const char *fmt, ...)
{
    size_t used = strlen(s->state_note);
    if (used > 0 && used + 2 < sizeof s->state_note) {
        memcpy(s->state_note + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->state_note + used, sizeof s->state_note - used, fmt, ap);
    va_end(ap);
}

/* Cut KEY (malloc'd) to STM_STATE_KEY_MAX bytes with a hash of the whole. */
static char *
remember_cap_key(char *key)
{
    size_t n = strlen(key);
    if (n <= STM_STATE_KEY_MAX)
        return key;
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
    for (size_t i = 0; i < n; i++) {
        h1 = (h1 ^ (unsigned char)key[i]) * 0x100000001b3ull;
        h2 = (h2 ^ (unsigned char)key[n - 1 - i]) * 0x100000001b3ull;
    }
    /* "#" + 32 hex digits after the head. */
    snprintf(key + STM_STATE_KEY_MAX - 33, 34, "#%016llx%016llx", (unsigned long long)h1,
             (unsigned long long)h2);
    return key;
}

/* Lower-case copy of TEXT (NULL: ""); NULL on ENOMEM. */
static char *
remember_lower(const char *text)
{
    char *out = strdup(text != NULL ? text : "");
    if (out != NULL)
        for (char *p = out; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return out;
}

/* The client's network for the default greylist key: a /24 or a /64, or
 * the address as given when it is none. Into BUF (>= 64 bytes). */
static void
remember_client_net(const stm_session *s, char *buf, size_t len)
{
    stm_ip ip;
    const char *text = s->client_ip != NULL ? s->client_ip : "";
    if (stm_ip_parse(text, &ip) != 0) {
        snprintf(buf, len, "%s", text);
        return;
    }
    bool v4 = stm_ip_is_v4(&ip);
    /* IPv4 keeps 96 + 24 bits of the mapped form; IPv6 the first 64. */
    size_t keep = v4 ? 15 : 8;
    memset(ip.b + keep, 0, sizeof ip.b - keep);
    char addr[64];
    stm_ip_format(&ip, addr, sizeof addr);
    snprintf(buf, len, "%s/%d", addr, v4 ? 24 : 64);
}

/* The default greylist key for recipient RCPT; malloc'd, NULL on ENOMEM. */
static char *
remember_default_key(const stm_session *s, const char *rcpt)
{
    char net[80];
    remember_client_net(s, net, sizeof net);
    char *sender = remember_lower(s->sender != NULL && s->sender[0] ? s->sender : "<>");
    char *r = remember_lower(rcpt);
    char *key = NULL;
    if (sender != NULL && r != NULL) {
        size_t n = strlen(net) + strlen(sender) + strlen(r) + 3;
        if ((key = malloc(n)) != NULL)
            snprintf(key, n, "%s/%s/%s", net, sender, r);
    }
    free(sender);
    free(r);
    return key != NULL ? remember_cap_key(key) : NULL;
}

/* Interpolate T for S into a capped key; NULL on ENOMEM. */
static char *
remember_key(const stm_session *s, const stm_template *t)
{
    char *key = stm_template_expand(t, stm_session_lookup, s);
    return key != NULL ? remember_cap_key(key) : NULL;
}

/* A store failure WHY about KEY: an error, or with on_failure: continue a
 * note and 0. Returns -1 for an error (*ERR set). */
static int
remember_failed(stm_session *s, const char *what, const char *key, const char *why, char **err)
{
    const stm_state_config *cfg = s->policy != NULL ? &s->policy->state : NULL;
    if (cfg != NULL && cfg->on_failure == STM_STATE_FAIL_CONTINUE) {
        remember_note(s, "%s key=%s: store failed: %s (state.on_failure: continue)", what,
                      key ? key : "", why);
        s->state_failed = true;
        return 0;
    }
    char text[600];
    snprintf(text, sizeof text, "%s: state store failed: %s", what, why);
    *err = strdup(text);
    return -1;
}

/* rate: (see remember.h). */
stm_cond_result
stm_remember_rate(stm_session *s, const stm_cond *c, char **err)
{
    char why[300] = "no state store";
    char *key = remember_key(s, c->key);
    if (key == NULL) {
        *err = strdup("out of memory");
        return STM_COND_ERROR;
    }
    uint64_t count = 0;
    int rc = -1;
    if (s->state != NULL)
        rc = s->state->ops->rate(s->state, key, c->per_ms, stm_state_now_ms(), !s->state_readonly,
                                 &count, why, sizeof why);
    stm_cond_result res;
    if (rc < 0) {
        res = remember_failed(s, "rate", key, why, err) < 0 ? STM_COND_ERROR : STM_COND_FALSE;
    } else {
        snprintf(s->rate_text, sizeof s->rate_text, "%llu", (unsigned long long)count);
        res = count > c->limit ? STM_COND_TRUE : STM_COND_FALSE;
        remember_note(s, "rate key=%s count=%llu limit=%llu per=%llums%s: %s", key,
                      (unsigned long long)count, (unsigned long long)c->limit,
                      (unsigned long long)c->per_ms, s->state_readonly ? " (read only)" : "",
                      res == STM_COND_TRUE ? "over the limit" : "within the limit");
    }
    free(key);
    return res;
}

static const char *const grey_names[] = {
    [STM_GREY_NEW] = "new, recorded",
    [STM_GREY_EARLY] = "retried too early",
    [STM_GREY_PASS] = "retried after the delay, passes",
    [STM_GREY_KNOWN] = "known, passes",
};

/* One greylist KEY: 1 passes, 0 refused, -1 failure (*ERR). */
static int
remember_grey_one(stm_session *s, const char *key, const stm_greylist_spec *g, char **err)
{
    char why[300] = "no state store";
    stm_greylist_answer a = {STM_GREY_NEW, 0};
    int rc = -1;
    if (s->state != NULL)
        rc = s->state->ops->greylist(s->state, key, &g->params, stm_state_now_ms(),
                                     !s->state_readonly, &a, why, sizeof why);
    if (rc < 0)
        return remember_failed(s, "greylist", key, why, err) < 0 ? -1 : 1;
    bool pass = a.state == STM_GREY_PASS || a.state == STM_GREY_KNOWN;
    remember_note(s, "greylist key=%s age=%llus delay=%llus%s: %s", key,
                  (unsigned long long)(a.age_ms / 1000),
                  (unsigned long long)(g->params.delay_ms / 1000),
                  s->state_readonly ? " (read only)" : "",
                  a.state == STM_GREY_NEW && s->state_readonly ? "new (would be recorded)"
                  : (unsigned)a.state <= STM_GREY_KNOWN       ? grey_names[a.state]
                                                               : "?");
    return pass ? 1 : 0;
}

/* greylist (see remember.h). */
int
stm_remember_greylist(stm_session *s, stm_stage stage, const stm_greylist_spec *g, char **err)
{
    if (g->key != NULL || stage == STM_STAGE_RCPT) {
        char *key = g->key != NULL ? remember_key(s, g->key)
                                   : remember_default_key(s, s->current_rcpt);
        if (key == NULL) {
            *err = strdup("out of memory");
            return -1;
        }
        int rc = remember_grey_one(s, key, g, err);
        free(key);
        return rc;
    }
    /* At data, every recipient's triplet: each is recorded, all must pass. */
    int result = 1;
    for (size_t i = 0; i < s->nrcpts; i++) {
        char *key = remember_default_key(s, s->rcpts[i]);
        if (key == NULL) {
            *err = strdup("out of memory");
            return -1;
        }
        int rc = remember_grey_one(s, key, g, err);
        free(key);
        if (rc < 0)
            return -1;
        if (rc == 0)
            result = 0;
    }
    return result;
}
