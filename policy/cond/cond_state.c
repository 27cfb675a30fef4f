/*
 * cond_state.c - the condition that remembers across connections:
 * `rate: {key, limit, per}` (cond_table.h; DESIGN.md "Remembering").
 *
 * Functions: stm_cond_state_parse_rate, stm_cond_state_rate,
 * stm_cond_state_duration (also read by load/state.c for the greylist verb).
 *
 * Semantics: each time the condition is judged it counts one event for its
 * key (interpolated: at rcpt once per recipient, elsewhere once per message
 * or connection) in the session's store, and holds when more than `limit`
 * events fell within the last `per` (a sliding window; stagemilter.yaml(5)
 * says how it slides). ${rate} is the count. The store is asked through
 * run/remember.c, which also applies state.on_failure.
 *
 * Ownership: the caller owns the parsed condition (stm_cond_free()).
 * Errors: parse errors go to the loader's diag; judging fails (on_error)
 * when the store fails, unless state.on_failure is continue.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cond/cond_table.h"
#include "match/units.h"
#include "read/reader.h"
#include "run/remember.h"

/* The longest state duration: ten years, in milliseconds. */
#define COND_STATE_DURATION_MAX (3650ull * 24 * 3600 * 1000)

/* A duration of state (ms, s, m, h, or d for days; up to ten years). */
int
stm_cond_state_duration(stm_loader *ld, const stm_yt_node *node, const char *what, uint64_t *out)
{
    const char *err = "invalid";
    uint64_t v = 0;
    if (stm_config_expect(ld, node, STM_YT_SCALAR, what) < 0)
        return -1;
    size_t n = strlen(node->text);
    int rc;
    if (n > 1 && node->text[n - 1] == 'd' && node->text[0] >= '0' && node->text[0] <= '9') {
        char *end = NULL;
        errno = 0;
        unsigned long long days = strtoull(node->text, &end, 10);
        rc = (errno == 0 && end == node->text + n - 1 && days <= 3650) ? 0 : -1;
        v = days * 24 * 3600 * 1000;
        err = "write a number of days such as 35d, at most 3650d";
    } else {
        rc = stm_units_duration_ms(node->text, &v, &err);
    }
    if (rc < 0 || v > COND_STATE_DURATION_MAX) {
        (void)err; /* the units' own hint knows no days */
        stm_config_error(ld, node,
                         "%s: bad duration '%s' (write a whole number followed by ms, s, m, h "
                         "or d, e.g. 5m or 35d; at most ten years)",
                         what, node->text);
        return -1;
    }
    if (v == 0) {
        stm_config_error(ld, node, "%s: a duration of 0 leaves nothing to remember", what);
        return -1;
    }
    *out = v;
    return 0;
}

/* rate: { key: TEXT, limit: N, per: DURATION }. */
stm_cond *
stm_cond_state_parse_rate(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                          const stm_yt_node *key, const stm_yt_node *v,
                          const stm_config_scope *scope)
{
    static const char *const keys[] = {"key", "limit", "per", NULL};
    (void)row;
    (void)scope;
    if (stm_config_expect(ld, v, STM_YT_MAP, "rate") < 0)
        return NULL;
    stm_config_check_keys(ld, v, "rate", keys);
    const stm_yt_node *k = stm_yt_get(v, "key"), *l = stm_yt_get(v, "limit"),
                      *p = stm_yt_get(v, "per");
    if (k == NULL || l == NULL || p == NULL) {
        stm_config_error(ld, v, "rate needs key, limit and per, e.g. { key: \"${client_ip}\", "
                                "limit: 100, per: 1h }");
        return NULL;
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c == NULL)
        return NULL;
    c->key = stm_config_template(ld, k, "rate key");
    if (stm_config_expect(ld, l, STM_YT_SCALAR, "rate limit") == 0) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(l->text, &end, 10);
        if (l->text[0] < '0' || l->text[0] > '9' || *end != '\0' || errno != 0 ||
            n > 1000000000ull)
            stm_config_error(ld, l,
                             "rate limit must be a whole number of events from 0 to "
                             "1000000000, not '%s'",
                             l->text);
        else
            c->limit = n;
    }
    stm_cond_state_duration(ld, p, "rate per", &c->per_ms);
    ld->policy->state.used = true;
    return c;
}

/* rate: count this event and compare. The session is the one thread's
 * (session.h): ${rate} and the trace note are written in it. */
stm_cond_result
stm_cond_state_rate(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_remember_rate((stm_session *)ctx->s, c, err);
}
