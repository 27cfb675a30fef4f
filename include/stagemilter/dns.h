/*
 * dns.h - asking the network: the `dns:` settings of a policy and the
 * interface through which the engine asks DNS questions (DESIGN.md, "Asking
 * the network").
 *
 * policy/ opens no sockets: a condition that needs DNS (dnsbl:) fills an
 * array of stm_dns_query and hands it to the resolver the caller of the
 * engine installed (stm_engine_hooks.dns). The daemon's implementation is
 * milter/net/resolver.c (libunbound); a unit test may install its own.
 *
 * Ownership: a query's NAME is borrowed from the caller for the call; what
 * the resolver writes into a query (answers) is malloc'd and released by
 * stm_dns_query_clear() (policy/run/dnsname.c). The settings are owned by
 * the policy they came from (config.h's rule).
 */
#ifndef STAGEMILTER_DNS_H
#define STAGEMILTER_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stagemilter/types.h"

/* The `dns:` section. With no `servers`, /etc/resolv.conf is read. */
typedef struct stm_dns_config {
    bool present;   /* the section was given */
    char **servers; /* "ADDRESS@PORT" as libunbound takes a forwarder; owned */
    size_t nservers;
    uint64_t timeout_ms; /* 2s: one attempt */
    unsigned attempts;   /* 2: a query's deadline is timeout_ms * attempts */
    uint64_t cache;      /* 10000 entries (0: answers are not kept) */
    char *key;           /* every setting in one string: equal keys, one cache */
    stm_srcpos pos;
} stm_dns_config;

/* Record types a condition asks for. */
typedef enum stm_dns_rrtype { STM_DNS_A = 1, STM_DNS_TXT = 16 } stm_dns_rrtype;

/* How a query ended. */
typedef enum stm_dns_status {
    STM_DNS_PENDING,  /* not answered (the resolver sets one of the others) */
    STM_DNS_ANSWER,   /* records of the type asked: ANSWERS */
    STM_DNS_NOTFOUND, /* NXDOMAIN, or the name has no record of that type */
    STM_DNS_TIMEOUT,  /* no answer within the deadline */
    STM_DNS_SERVFAIL, /* the server failed (SERVFAIL, REFUSED, a bogus answer) */
    STM_DNS_FAILED    /* the query could not be made (WHY says why) */
} stm_dns_status;

typedef struct stm_dns_query {
    const char *name;      /* in: the name asked, borrowed */
    stm_dns_rrtype rrtype; /* in */
    stm_dns_status status; /* out */
    char **answers;        /* out: A as dotted quads, TXT as the record's text; owned */
    size_t nanswers;
    int rcode;           /* out: the DNS rcode, -1 when none came */
    uint32_t ttl;        /* out: of the answer, when there was one */
    uint64_t elapsed_ms; /* out: from the call to the answer */
    const char *why;     /* out: a static text for TIMEOUT, SERVFAIL and FAILED */
} stm_dns_query;

/* A resolver. RESOLVE asks every query of QS (N of them) at once, each with
 * the deadline CONFIG gives, and returns when all are answered or past their
 * deadline; it fills the out fields of each and returns 0, or -1 when it
 * could not ask at all (then each status is FAILED). Thread-safe. */
typedef struct stm_dns_resolver {
    void *ctx;
    int (*resolve)(void *ctx, const stm_dns_config *config, stm_dns_query *qs, size_t n);
} stm_dns_resolver;

/* Bounds on what one answer keeps. */
#define STM_DNS_ANSWERS_MAX 16 /* records */
#define STM_DNS_TXT_MAX 512    /* bytes of one TXT record's text */
/* Append one record's rdata (DATA, LEN bytes, as a resolver hands it) of
 * Q's type to Q's answers: an A record as a dotted quad (not 4 bytes:
 * skipped), a TXT record's strings joined, every control byte a space, cut
 * at STM_DNS_TXT_MAX; past STM_DNS_ANSWERS_MAX records nothing more is
 * kept. 0, or -1 on memory exhaustion. */
int stm_dns_answer_add(stm_dns_query *q, const unsigned char *data, size_t len);

/* Free what a resolver wrote into Q and make it pending again. */
void stm_dns_query_clear(stm_dns_query *q);
/* "answer", "not found", "timeout", "servfail", "failed" (static). */
const char *stm_dns_status_name(stm_dns_status st);

#endif
