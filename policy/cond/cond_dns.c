/*
 * cond_dns.c - conditions that ask the network: dnsbl (cond_table.h;
 * DESIGN.md, "Asking the network").
 *
 *   dnsbl: { zone: zen.example, of: client_ip, returns: 127.0.0.2, on_failure: continue }
 *   dnsbl: [ {zone: a.example}, {zone: b.example, of: helo} ]    # any of them
 *
 * Functions: stm_cond_dns_parse_dnsbl, stm_cond_dns_dnsbl. The names asked
 * and the resolver are run/dnsbl.c's.
 *
 * Judging: the names of every list of the condition (the client's address
 * reversed, the HELO name, the sender's domain, each URL domain, under the
 * list's zone; dnsname.c) are asked for A records all at once through the
 * resolver the engine's caller installed, each query with the deadline of
 * `dns:` (when the rule holds several dnsbl conditions, run/dnsbl.c has
 * already asked the names of all of them in one batch). An item is listed when an A record falls in
 * `returns` (any of 127.0.0.0/8 when not given). The condition holds when any item of any list is
 * listed; the first hit's TXT record is then asked, and ${dnsbl_zone},
 * ${dnsbl_address} and ${dnsbl_text} describe it. A query that failed
 * (timeout, SERVFAIL, no resolver) counts as not listed and is logged, unless
 * its list says `on_failure: error`: then, when no other item is listed, the
 * condition fails at run time and milter.on_error decides. Every query, its
 * answer or failure and its time go to --trace (STM_TRACE_LOOKUP).
 *
 * Ownership: parsed conditions belong to the caller (stm_cond_free()); the
 * queries live on this function's heap and are freed before it returns; the
 * hit is copied into the session. Errors: parse errors go to the loader's
 * diag; judging fails only as said above or on memory exhaustion.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond/cond_table.h"
#include "read/reader.h"
#include "run/dnsbl.h"

/* Where an `of:` can be known first. */
static const struct {
    const char *name;
    stm_dnsbl_of of;
    stm_stage earliest;
} dnsbl_ofs[] = {
    {"client_ip", STM_DNSBL_CLIENT_IP, STM_STAGE_CONNECT},
    {"helo", STM_DNSBL_HELO, STM_STAGE_HELO},
    {"sender_domain", STM_DNSBL_SENDER_DOMAIN, STM_STAGE_MAIL},
    {"url_domains", STM_DNSBL_URL_DOMAINS, STM_STAGE_PREQ},
};

/* `returns:` in NODE (an address, a CIDR, or a list) into L. 0 or -1. */
static int
dnsbl_parse_returns(stm_loader *ld, const stm_yt_node *node, stm_dnsbl *l)
{
    const stm_yt_node *const *items = &node;
    size_t n = 1;
    if (node->type == STM_YT_SEQ) {
        items = (const stm_yt_node *const *)node->items;
        n = node->nitems;
        if (n == 0) {
            stm_config_error(ld, node, "dnsbl.returns is empty (leave it out: any 127.0.0.0/8)");
            return -1;
        }
    }
    if ((l->returns = calloc(n, sizeof *l->returns)) == NULL) {
        stm_config_error(ld, node, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char msg[256];
        if (stm_config_expect(ld, items[i], STM_YT_SCALAR, "dnsbl.returns") < 0) {
            rc = -1;
            continue;
        }
        if (stm_cidr_parse_msg(items[i]->text, &l->returns[l->nreturns], msg, sizeof msg) != 0) {
            stm_config_error(ld, items[i],
                             "dnsbl.returns: %s (write an address such as 127.0.0.2 or a "
                             "network such as 127.0.0.0/24)",
                             msg);
            rc = -1;
            continue;
        }
        l->nreturns++;
    }
    return rc;
}

/* One list, the map NODE, into L at SCOPE. 0 or -1 (reported). */
static int
dnsbl_parse_one(stm_loader *ld, const stm_yt_node *node, const stm_config_scope *scope,
                stm_dnsbl *l)
{
    static const char *const keys[] = {"zone", "of", "returns", "on_failure", NULL};
    static const char *const failures[] = {"continue", "error", NULL};
    const stm_yt_node *v;
    int rc = 0, i;

    if (stm_config_expect(ld, node, STM_YT_MAP, "dnsbl") < 0)
        return -1;
    if (stm_config_check_keys(ld, node, "dnsbl", keys) != 0)
        rc = -1;
    if ((v = stm_yt_get(node, "zone")) == NULL) {
        stm_config_error(ld, node, "dnsbl needs a zone, e.g. { zone: zen.spamhaus.org }");
        rc = -1;
    } else if (stm_config_string(ld, v, "dnsbl.zone", &l->zone) != 0) {
        rc = -1;
    } else {
        const char *why = stm_dnsname_zone_check(l->zone);
        if (why != NULL) {
            stm_config_error(ld, v, "dnsbl.zone '%s': %s", l->zone, why);
            rc = -1;
        } else if (l->zone[strlen(l->zone) - 1] == '.') {
            l->zone[strlen(l->zone) - 1] = '\0';
        }
    }
    l->of = STM_DNSBL_CLIENT_IP;
    if ((v = stm_yt_get(node, "of")) != NULL) {
        static const char *const names[] = {"client_ip", "helo", "sender_domain", "url_domains",
                                            NULL};
        if (stm_config_enum(ld, v, "dnsbl.of", names, &i) != 0) {
            rc = -1;
        } else {
            l->of = dnsbl_ofs[i].of;
            if (scope->stage < dnsbl_ofs[i].earliest) {
                stm_config_error(ld, v, "dnsbl of %s is not known at the %s stage (from %s on)",
                                 names[i], stm_stage_name(scope->stage),
                                 stm_stage_name(dnsbl_ofs[i].earliest));
                rc = -1;
            }
        }
    }
    if ((v = stm_yt_get(node, "returns")) != NULL && dnsbl_parse_returns(ld, v, l) != 0)
        rc = -1;
    if ((v = stm_yt_get(node, "on_failure")) != NULL) {
        if (stm_config_enum(ld, v, "dnsbl.on_failure", failures, &i) != 0)
            rc = -1;
        else
            l->on_failure_error = i == 1;
    }
    return rc;
}

/* dnsbl: a map, or a list of maps (any of them). */
stm_cond *
stm_cond_dns_parse_dnsbl(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                         const stm_yt_node *key, const stm_yt_node *v,
                         const stm_config_scope *scope)
{
    const stm_yt_node *const *items = &v;
    size_t n = 1;
    if (v->type == STM_YT_SEQ) {
        items = (const stm_yt_node *const *)v->items;
        n = v->nitems;
        if (n == 0) {
            stm_config_error(ld, v, "%s needs at least one list", row->key);
            return NULL;
        }
    }
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c == NULL)
        return NULL;
    if ((c->dnsbl = calloc(n, sizeof *c->dnsbl)) == NULL) {
        stm_config_error(ld, v, "out of memory");
        stm_cond_free(c);
        return NULL;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++, c->ndnsbl++)
        if (dnsbl_parse_one(ld, items[i], scope, &c->dnsbl[i]) != 0)
            rc = -1;
    if (rc != 0) {
        stm_cond_free(c);
        return NULL;
    }
    return c;
}

/* Describe Q in BUF: "A NAME: 127.0.0.2 ttl=300 (3 ms)". */
static void
dnsbl_describe(const stm_dns_query *q, char *buf, size_t len)
{
    size_t o =
        (size_t)snprintf(buf, len, "%s %s: ", q->rrtype == STM_DNS_TXT ? "TXT" : "A", q->name);
    if (q->status == STM_DNS_ANSWER) {
        for (size_t i = 0; i < q->nanswers && o < len; i++)
            o += (size_t)snprintf(buf + o, len - o, q->rrtype == STM_DNS_TXT ? "%s\"%s\"" : "%s%s",
                                  i ? ", " : "", q->answers[i]);
        if (o < len)
            o += (size_t)snprintf(buf + o, len - o, " ttl=%u", (unsigned)q->ttl);
    } else {
        o += (size_t)snprintf(buf + o, len - o, "%s", stm_dns_status_name(q->status));
        if (q->why != NULL && o < len)
            o += (size_t)snprintf(buf + o, len - o, " (%s)", q->why);
    }
    if (o < len)
        snprintf(buf + o, len - o, " [%llu ms]", (unsigned long long)q->elapsed_ms);
}

/* Tell --trace about Q. */
static void
dnsbl_trace(const stm_cond_ctx *ctx, const stm_dns_query *q)
{
    const stm_engine_hooks *h = ctx->s->ctx_hooks;
    if (h == NULL || h->trace == NULL)
        return;
    char detail[1024];
    memcpy(detail, "dns: ", 5);
    dnsbl_describe(q, detail + 5, sizeof detail - 5);
    stm_trace_event ev = {.kind = STM_TRACE_LOOKUP, .stage = ctx->stage, .detail = detail};
    h->trace(h->ctx, &ev);
}

/* Log TEXT through the engine's log hook. */
static void
dnsbl_log(const stm_cond_ctx *ctx, const char *text)
{
    const stm_engine_hooks *h = ctx->s->ctx_hooks;
    if (h != NULL && h->log != NULL)
        h->log(h->ctx, ctx->s, ctx->stage, NULL, text);
}

/* Is Q a failure (not an answer, not "not found")? */
static bool
dnsbl_failed(const stm_dns_query *q)
{
    return q->status != STM_DNS_ANSWER && q->status != STM_DNS_NOTFOUND;
}

/* Record the hit NAME (list L, address ADDR) in the session, with its TXT. */
static void
dnsbl_hit(const stm_cond_ctx *ctx, const stm_dnsbl *l, const char *name, const char *addr)
{
    stm_dns_query q = {.name = name, .rrtype = STM_DNS_TXT, .rcode = -1};
    stm_dnsbl_resolve(ctx->s, &q, 1);
    dnsbl_trace(ctx, &q);
    stm_dnsbl_hit *hit = ctx->s->dnsbl;
    stm_session_set_str(&hit->zone, l->zone);
    stm_session_set_str(&hit->address, addr);
    stm_session_set_str(&hit->text,
                        q.status == STM_DNS_ANSWER && q.nanswers > 0 ? q.answers[0] : "");
    stm_dns_query_clear(&q);
}

/* dnsbl: any item of any list is listed. */
stm_cond_result
stm_cond_dns_dnsbl(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    stm_dnsbl_ask *asks = calloc(STM_DNSBL_MAX_QUERIES, sizeof *asks);
    stm_dns_query *qs = calloc(STM_DNSBL_MAX_QUERIES, sizeof *qs);
    stm_cond_result res = STM_COND_FALSE;
    if (asks == NULL || qs == NULL) {
        res = stm_cond_eval_error(err, "out of memory");
        goto done;
    }
    size_t n = 0;
    stm_dnsbl_names(c, ctx->s, asks, &n);
    for (size_t i = 0; i < n; i++)
        qs[i] = (stm_dns_query){.name = asks[i].name, .rrtype = STM_DNS_A, .rcode = -1};
    if (n > 0)
        stm_dnsbl_resolve(ctx->s, qs, n);
    long hit = -1, hit_answer = -1, failure = -1;
    for (size_t i = 0; i < n; i++) {
        const stm_dns_query *q = &qs[i];
        const stm_dnsbl *l = asks[i].list;
        dnsbl_trace(ctx, q);
        if (dnsbl_failed(q)) {
            char line[512];
            snprintf(line, sizeof line, "dnsbl %s: %s %s%s%s", l->zone, q->name,
                     stm_dns_status_name(q->status), q->why ? ": " : "", q->why ? q->why : "");
            if (l->on_failure_error) {
                if (failure < 0)
                    failure = (long)i;
            } else {
                dnsbl_log(ctx, line);
                dnsbl_log(ctx, "dnsbl: the failed query counts as not listed");
            }
            continue;
        }
        for (size_t j = 0; hit < 0 && q->status == STM_DNS_ANSWER && j < q->nanswers; j++)
            if (stm_dnsname_returns_match(l->returns, l->nreturns, q->answers[j])) {
                hit = (long)i;
                hit_answer = (long)j;
            }
    }
    if (hit >= 0) {
        dnsbl_hit(ctx, asks[hit].list, asks[hit].name, qs[hit].answers[hit_answer]);
        res = STM_COND_TRUE;
    } else if (failure >= 0) {
        char text[512];
        snprintf(text, sizeof text, "dnsbl %s: %s %s%s%s", asks[failure].list->zone,
                 qs[failure].name, stm_dns_status_name(qs[failure].status),
                 qs[failure].why ? ": " : "", qs[failure].why ? qs[failure].why : "");
        res = stm_cond_eval_error(err, text);
    }
    for (size_t i = 0; i < n; i++)
        stm_dns_query_clear(&qs[i]);
done:
    free(asks);
    free(qs);
    return res;
}
