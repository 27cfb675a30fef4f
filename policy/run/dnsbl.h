/*
 * dnsbl.h - what a rule's DNS block list conditions ask, and asking it:
 * the names of a dnsbl node, the resolver the engine's caller installed,
 * and the answers fetched for a whole rule at once. Private to policy/.
 */
#ifndef STAGEMILTER_RUN_DNSBL_H
#define STAGEMILTER_RUN_DNSBL_H

#include "model.h"
#include "run/dnsname.h"
#include "run/session_internal.h"

/* Most names one rule's dnsbl conditions ask (url_domains may list many). */
#define STM_DNSBL_MAX_QUERIES 64

/* A name to ask, and the list it belongs to. */
typedef struct stm_dnsbl_ask {
    char name[STM_DNSNAME_MAX + 2];
    const stm_dnsbl *list;
} stm_dnsbl_ask;

/* Answers fetched for the rule being judged (stm_dnsbl_prefetch). */
typedef struct stm_dnsbl_fetched {
    stm_dns_query *qs; /* names owned (cast away from const in the query) */
    size_t n;
} stm_dnsbl_fetched;

/* Append the names the lists of dnsbl node C ask in S to ASKS (*N of them,
 * at most STM_DNSBL_MAX_QUERIES; a name already there is not repeated). */
void stm_dnsbl_names(const stm_cond *c, const stm_session *s, stm_dnsbl_ask *asks, size_t *n);
/* The hosts of the URLs in the message's text parts (policy/mime, parsed
 * once per message), for `of: url_domains`; none before the message is
 * there. Sets *N; borrowed from the message's parse. */
const char *const *stm_dnsbl_url_domains(const stm_session *s, size_t *n);
/* Ask QS (N) in S: answers fetched for the rule are copied, the rest go to
 * the resolver of S's hooks together (or fail: no resolver). */
void stm_dnsbl_resolve(const stm_session *s, stm_dns_query *qs, size_t n);
/* When COND (a rule's condition) holds two or more dnsbl conditions, ask
 * every name they may need at once and keep the answers in S until
 * stm_dnsbl_forget(). Nothing is traced here: each condition traces what it
 * uses. */
void stm_dnsbl_prefetch(const stm_session *s, const stm_cond *cond);
void stm_dnsbl_forget(const stm_session *s);

#endif
