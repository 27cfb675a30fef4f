/*
 * dns.c - the `dns:` section of a policy (DESIGN.md, "Asking the network"):
 * where DNS questions go, how long one may take and how many answers are
 * kept.
 *
 *   dns: { servers: ["127.0.0.1:53", "[::1]:53"], timeout: 2s, attempts: 2, cache: 10000 }
 *
 * Functions: stm_config_dns, stm_config_authserv_id (milter.authserv_id,
 * which names the trusted authentication results the same way).
 *
 * servers are addresses (a resolver is asked by address, never by name),
 * with an optional port (53); without `servers` the resolver reads
 * /etc/resolv.conf. timeout is one attempt's, 10ms to 1m; attempts 1 to 10;
 * the deadline of a query is their product. cache is a number of entries,
 * 0 to 10,000,000 (milter/net/resolver.c says how it maps to libunbound's
 * cache sizes). The settings are also folded into one string, dns.key, by
 * which the daemon shares a resolver (and its cache) across reloads that
 * keep them.
 *
 * Ownership: everything goes into policy->dns (freed by stm_model_free).
 * Errors: reported to the loader's diag at the offending node.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"
#include "match/ipaddr.h"
#include "model.h"

/* One server as written in NODE, appended to D->servers as "ADDR@PORT". */
static void
config_dns_server(stm_loader *ld, const stm_yt_node *node, stm_dns_config *d)
{
    char *text = NULL, *host = NULL, *port = NULL;
    stm_ip ip;
    if (stm_config_string(ld, node, "dns.servers", &text) != 0)
        return;
    if (stm_ip_parse(text, &ip) == 0 && strchr(text, '[') == NULL) {
        host = strdup(text);
        port = strdup("53");
    } else if (strchr(text, ':') == NULL) {
        stm_config_error(ld, node,
                         "dns.servers '%s' is not an address (a resolver is asked by address, "
                         "not by name)",
                         text);
        goto done;
    } else {
        const char *err = NULL;
        size_t off = 0;
        if (stm_config_hostport(text, &host, &port, &err, &off) < 0) {
            stm_config_error_in(ld, node, off,
                                "dns.servers '%s': %s (write ADDRESS, ADDRESS:PORT or "
                                "[IPV6]:PORT)",
                                text, err);
            goto done;
        }
        if (stm_ip_parse(host, &ip) != 0) {
            stm_config_error(ld, node,
                             "dns.servers '%s': '%s' is not an address (a resolver is asked by "
                             "address, not by name)",
                             text, host);
            goto done;
        }
    }
    char **ns = realloc(d->servers, (d->nservers + 1) * sizeof *ns);
    size_t len = (host ? strlen(host) : 0) + (port ? strlen(port) : 0) + 2;
    char *one = host && port ? malloc(len) : NULL;
    if (ns == NULL || one == NULL) {
        if (ns != NULL)
            d->servers = ns;
        free(one);
        stm_config_error(ld, node, "out of memory");
        goto done;
    }
    snprintf(one, len, "%s@%s", host, port);
    d->servers = ns;
    d->servers[d->nservers++] = one;
done:
    free(text);
    free(host);
    free(port);
}

/* A whole number in NODE between LO and HI into *OUT. 0 or -1 (reported). */
static int
config_dns_number(stm_loader *ld, const stm_yt_node *node, const char *what, uint64_t lo,
                  uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    if (stm_config_expect(ld, node, STM_YT_SCALAR, what) < 0)
        return -1;
    errno = 0;
    unsigned long long v = strtoull(node->text, &end, 10);
    if (node->text[0] < '0' || node->text[0] > '9' || *end != '\0' || errno != 0 || v < lo ||
        v > hi) {
        stm_config_error(ld, node, "%s must be a whole number from %llu to %llu, not '%s'", what,
                         (unsigned long long)lo, (unsigned long long)hi, node->text);
        return -1;
    }
    *out = v;
    return 0;
}

/* Fold every setting of D into D->key. */
static int
config_dns_key(stm_dns_config *d)
{
    size_t len = 96;
    for (size_t i = 0; i < d->nservers; i++)
        len += strlen(d->servers[i]) + 1;
    char *key = malloc(len);
    if (key == NULL)
        return -1;
    size_t n = (size_t)snprintf(
        key, len, "timeout=%llu attempts=%u cache=%llu servers=", (unsigned long long)d->timeout_ms,
        d->attempts, (unsigned long long)d->cache);
    if (d->nservers == 0)
        n += (size_t)snprintf(key + n, len - n, "resolv.conf");
    for (size_t i = 0; i < d->nservers; i++)
        n += (size_t)snprintf(key + n, len - n, "%s%s", i ? "," : "", d->servers[i]);
    free(d->key);
    d->key = key;
    return 0;
}

/* The dns section (NODE may be NULL: the defaults). */
void
stm_config_dns(stm_loader *ld, const stm_yt_node *node)
{
    static const char *const keys[] = {"servers", "timeout", "attempts", "cache", NULL};
    stm_dns_config *d = &ld->policy->dns;
    const stm_yt_node *v;
    uint64_t n;

    d->timeout_ms = 2000;
    d->attempts = 2;
    d->cache = 10000;
    if (node != NULL && node->type != STM_YT_NULL &&
        stm_config_expect(ld, node, STM_YT_MAP, "dns") == 0) {
        d->present = true;
        d->pos = stm_config_pos(ld, node);
        stm_config_check_keys(ld, node, "dns", keys);
        if ((v = stm_yt_get(node, "servers")) != NULL) {
            if (v->type == STM_YT_SEQ) {
                if (v->nitems == 0)
                    stm_config_error(ld, v,
                                     "dns.servers is empty (leave it out to use "
                                     "/etc/resolv.conf)");
                for (size_t i = 0; i < v->nitems; i++)
                    config_dns_server(ld, v->items[i], d);
            } else {
                config_dns_server(ld, v, d);
            }
        }
        if ((v = stm_yt_get(node, "timeout")) != NULL &&
            stm_config_duration(ld, v, "dns.timeout", &n) == 0) {
            if (n < 10 || n > 60000)
                stm_config_error(ld, v, "dns.timeout must be from 10ms to 1m (one attempt)");
            else
                d->timeout_ms = n;
        }
        if ((v = stm_yt_get(node, "attempts")) != NULL &&
            config_dns_number(ld, v, "dns.attempts", 1, 10, &n) == 0)
            d->attempts = (unsigned)n;
        if ((v = stm_yt_get(node, "cache")) != NULL &&
            config_dns_number(ld, v, "dns.cache", 0, 10000000, &n) == 0)
            d->cache = n;
    }
    if (config_dns_key(d) < 0)
        stm_config_error(ld, node, "out of memory");
}

/* milter.authserv_id: one name or a list, the authserv-ids whose
 * Authentication-Results headers auth_results: trusts. */
void
stm_config_authserv_id(stm_loader *ld, const stm_yt_node *node)
{
    stm_milter_config *m = &ld->policy->milter;
    const stm_yt_node *const *items = &node;
    size_t n = 1;
    if (node->type == STM_YT_SEQ) {
        items = (const stm_yt_node *const *)node->items;
        n = node->nitems;
        if (n == 0) {
            stm_config_error(ld, node,
                             "milter.authserv_id is empty (leave it out to trust the MTA's name, "
                             "macro j)");
            return;
        }
    }
    if ((m->authserv_ids = calloc(n, sizeof *m->authserv_ids)) == NULL) {
        stm_config_error(ld, node, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char *id = NULL;
        if (stm_config_string(ld, items[i], "milter.authserv_id", &id) != 0)
            continue;
        bool ok = id[0] != '\0';
        for (const char *c = id; ok && *c; c++)
            ok = *c > 32 && *c < 127 && strchr("()<>@,;:\\\"/[]?=", *c) == NULL;
        if (!ok) {
            stm_config_error(ld, items[i],
                             "milter.authserv_id '%s' is not a name an Authentication-Results "
                             "header can carry (a token: no spaces, no ';', no quotes)",
                             id);
            free(id);
            continue;
        }
        m->authserv_ids[m->nauthserv_ids++] = id;
    }
}
