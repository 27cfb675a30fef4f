/*
 * dnsbl.c - asking what a rule's dnsbl conditions need (dnsbl.h): the names
 * of a node, the resolver of the engine's hooks, and one batch of queries
 * for a whole rule.
 *
 * Functions: stm_dnsbl_names, stm_dnsbl_url_domains, stm_dnsbl_resolve,
 * stm_dnsbl_prefetch, stm_dnsbl_forget.
 *
 * A rule whose condition holds several dnsbl conditions (any: [{dnsbl: a},
 * {dnsbl: b}], or dnsbl beside other keys) would ask them one after the
 * other as the tree is judged; stm_cond_eval() calls stm_dnsbl_prefetch()
 * first, which asks every name of every dnsbl node of the tree in one batch
 * (in parallel, each with its deadline) and keeps the answers in the
 * session for the conditions to take; stm_dnsbl_forget() drops them once
 * the rule is judged. A branch that the judging then skips has still been
 * asked: the price of one round trip instead of several.
 *
 * Ownership: the fetched answers belong to the session (s->dns_fetched)
 * until forgotten; copies handed to a condition are its own. Errors:
 * memory exhaustion or a missing resolver leave queries FAILED.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "run/dnsbl.h"

/* Add the name of ITEM under L to ASKS. */
static void
dnsbl_add(stm_dnsbl_ask *asks, size_t *n, const stm_dnsbl *l, const char *item)
{
    if (item == NULL || *n >= STM_DNSBL_MAX_QUERIES)
        return;
    int rc = l->of == STM_DNSBL_CLIENT_IP
                 ? stm_dnsname_ip(item, l->zone, asks[*n].name, sizeof asks[*n].name)
                 : stm_dnsname_domain(item, l->zone, asks[*n].name, sizeof asks[*n].name);
    if (rc != 0)
        return; /* not an address or a host name: nothing to ask */
    for (size_t i = 0; i < *n; i++)
        if (strcmp(asks[i].name, asks[*n].name) == 0)
            return;
    asks[*n].list = l;
    (*n)++;
}

/* The URL hosts of the message, from its one MIME parse. */
const char *const *
stm_dnsbl_url_domains(const stm_session *s, size_t *n)
{
    *n = 0;
    if (s->message.nheaders == 0)
        return NULL;
    const char *err = NULL;
    const stm_mime *m = stm_mime_of_message(&s->message, &s->policy->milter.mime, &err);
    if (m == NULL)
        return NULL;
    *n = m->nhosts;
    return m->hosts;
}

/* The names of the lists of node C. */
void
stm_dnsbl_names(const stm_cond *c, const stm_session *s, stm_dnsbl_ask *asks, size_t *n)
{
    for (size_t i = 0; i < c->ndnsbl; i++) {
        const stm_dnsbl *l = &c->dnsbl[i];
        switch (l->of) {
        case STM_DNSBL_CLIENT_IP:
            dnsbl_add(asks, n, l, s->client_ip);
            break;
        case STM_DNSBL_HELO:
            dnsbl_add(asks, n, l, s->helo);
            break;
        case STM_DNSBL_SENDER_DOMAIN: {
            const char *at = s->sender != NULL ? strrchr(s->sender, '@') : NULL;
            dnsbl_add(asks, n, l, at != NULL ? at + 1 : NULL);
            break;
        }
        case STM_DNSBL_URL_DOMAINS: {
            size_t nd = 0;
            const char *const *d = stm_dnsbl_url_domains(s, &nd);
            for (size_t j = 0; j < nd; j++)
                dnsbl_add(asks, n, l, d[j]);
            break;
        }
        }
    }
}

/* Copy the fetched answer F into Q. 0, or -1 on memory exhaustion. */
static int
dnsbl_copy(stm_dns_query *q, const stm_dns_query *f)
{
    q->status = f->status;
    q->rcode = f->rcode;
    q->ttl = f->ttl;
    q->elapsed_ms = f->elapsed_ms;
    q->why = f->why;
    q->nanswers = 0;
    q->answers = f->nanswers ? calloc(f->nanswers, sizeof *q->answers) : NULL;
    for (size_t i = 0; i < f->nanswers; i++) {
        if (q->answers == NULL || (q->answers[i] = strdup(f->answers[i])) == NULL) {
            stm_dns_query_clear(q);
            q->status = STM_DNS_FAILED;
            q->why = "out of memory";
            return -1;
        }
        q->nanswers++;
    }
    return 0;
}

/* Ask QS through the session's resolver, or fail them all. */
static void
dnsbl_ask_resolver(const stm_session *s, stm_dns_query *qs, size_t n)
{
    const stm_engine_hooks *h = s->ctx_hooks;
    const stm_dns_resolver *r = h != NULL ? h->dns : NULL;
    if (n == 0)
        return;
    if (r != NULL && s->policy != NULL && r->resolve(r->ctx, &s->policy->dns, qs, n) == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (qs[i].status != STM_DNS_PENDING)
            continue;
        qs[i].status = STM_DNS_FAILED;
        qs[i].why = r == NULL ? "no resolver" : "the resolver could not ask";
    }
}

/* Ask QS: fetched answers first, then the rest together. */
void
stm_dnsbl_resolve(const stm_session *s, stm_dns_query *qs, size_t n)
{
    const stm_dnsbl_fetched *f = s->dns_fetched;
    stm_dns_query *rest = calloc(n ? n : 1, sizeof *rest);
    size_t *where = calloc(n ? n : 1, sizeof *where);
    size_t nrest = 0;
    if (rest == NULL || where == NULL) {
        free(rest);
        free(where);
        for (size_t i = 0; i < n; i++) {
            qs[i].status = STM_DNS_FAILED;
            qs[i].why = "out of memory";
        }
        return;
    }
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; !found && j < f->n; j++)
            if (f->qs[j].rrtype == qs[i].rrtype && strcmp(f->qs[j].name, qs[i].name) == 0) {
                dnsbl_copy(&qs[i], &f->qs[j]);
                found = true;
            }
        if (!found) {
            rest[nrest] = qs[i];
            where[nrest++] = i;
        }
    }
    dnsbl_ask_resolver(s, rest, nrest);
    for (size_t k = 0; k < nrest; k++)
        qs[where[k]] = rest[k];
    free(rest);
    free(where);
}

/* Count the dnsbl nodes of C and collect their names into ASKS. */
static size_t
dnsbl_walk(const stm_cond *c, const stm_session *s, stm_dnsbl_ask *asks, size_t *n)
{
    if (c == NULL)
        return 0;
    size_t nodes = 0;
    if (c->type == STM_COND_DNSBL) {
        stm_dnsbl_names(c, s, asks, n);
        nodes++;
    }
    for (size_t i = 0; i < c->nchildren; i++)
        nodes += dnsbl_walk(c->children[i], s, asks, n);
    return nodes;
}

/* Ask every name of the rule's dnsbl nodes at once (two nodes or more). */
void
stm_dnsbl_prefetch(const stm_session *s, const stm_cond *cond)
{
    stm_dnsbl_fetched *f = s->dns_fetched;
    stm_dnsbl_forget(s);
    if (cond == NULL ||
        (cond->type != STM_COND_ALL && cond->type != STM_COND_ANY && cond->type != STM_COND_NOT))
        return; /* one node at most: it asks its own names together */
    stm_dnsbl_ask *asks = calloc(STM_DNSBL_MAX_QUERIES, sizeof *asks);
    size_t n = 0;
    if (asks == NULL || dnsbl_walk(cond, s, asks, &n) < 2 || n == 0 ||
        (f->qs = calloc(n, sizeof *f->qs)) == NULL) {
        free(asks);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        f->qs[i] = (stm_dns_query){.name = strdup(asks[i].name), .rrtype = STM_DNS_A, .rcode = -1};
        if (f->qs[i].name == NULL) {
            f->n = i;
            stm_dnsbl_forget(s);
            free(asks);
            return;
        }
    }
    f->n = n;
    free(asks);
    dnsbl_ask_resolver(s, f->qs, n);
}

/* Drop what stm_dnsbl_prefetch fetched. */
void
stm_dnsbl_forget(const stm_session *s)
{
    stm_dnsbl_fetched *f = s->dns_fetched;
    for (size_t i = 0; i < f->n; i++) {
        free((char *)f->qs[i].name);
        stm_dns_query_clear(&f->qs[i]);
    }
    free(f->qs);
    f->qs = NULL;
    f->n = 0;
}
