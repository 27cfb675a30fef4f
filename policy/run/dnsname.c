/*
 * dnsname.c - names for DNS block lists and the meaning of their answers
 * (dnsname.h), and the two helpers of stagemilter/dns.h.
 *
 * Functions: stm_dnsname_zone_check, stm_dnsname_ip, stm_dnsname_domain,
 * stm_dnsname_returns_match, stm_dns_answer_add, stm_dns_query_clear,
 * stm_dns_status_name.
 *
 * Names follow RFC 5782 (DNS block lists): an IPv4 address a.b.c.d is asked
 * as d.c.b.a.ZONE, an IPv6 address as its 32 hexadecimal nibbles in reverse
 * order, each a label; a domain as DOMAIN.ZONE. A host name from the network
 * (HELO, the sender's domain) that is not a host name is not asked at all,
 * so nothing from a client can make stagemilter ask an arbitrary name.
 *
 * Ownership: results are written into the caller's buffer. Errors: -1,
 * nothing allocated.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/dnsname.h"
#include "stagemilter/dns.h"
#include "stagemilter/text.h"

/* Is the host name TEXT (LEN bytes, no final dot) well formed (LDH labels
 * of 1..63 characters; "_" allowed, as some lists and SPF use it)? */
static bool
dnsname_hostname_ok(const char *text, size_t len)
{
    size_t label = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_')
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0;
}

/* Is ZONE usable as a list's zone? */
const char *
stm_dnsname_zone_check(const char *zone)
{
    size_t len = strlen(zone);
    if (len > 0 && zone[len - 1] == '.')
        len--;
    if (len == 0)
        return "the zone is empty";
    if (len > STM_DNSNAME_MAX - 64)
        return "the zone is too long to hold a name below it";
    if (!dnsname_hostname_ok(zone, len))
        return "not a DNS name (labels of letters, digits, '-' and '_', 1 to 63 "
               "characters, separated by single dots)";
    if (memchr(zone, '.', len) == NULL)
        return "a zone of one label would ask a top-level domain";
    return NULL;
}

/* Append ZONE (without its final dot) after the LEN bytes already in BUF
 * (capacity CAP). 0 or -1. */
static int
dnsname_add_zone(char *buf, size_t cap, size_t len, const char *zone)
{
    size_t zl = strlen(zone);
    if (zl > 0 && zone[zl - 1] == '.')
        zl--;
    if (len + zl > STM_DNSNAME_MAX || len + zl + 1 > cap)
        return -1;
    memcpy(buf + len, zone, zl);
    buf[len + zl] = '\0';
    return 0;
}

/* The reversed form of IP under ZONE. */
int
stm_dnsname_ip(const char *ip, const char *zone, char *buf, size_t len)
{
    stm_ip a;
    char tmp[STM_DNSNAME_MAX + 2];
    size_t n = 0;
    if (ip == NULL || stm_ip_parse(ip, &a) != 0)
        return -1;
    if (stm_ip_is_v4(&a)) {
        n = (size_t)snprintf(tmp, sizeof tmp, "%u.%u.%u.%u.", a.b[15], a.b[14], a.b[13], a.b[12]);
    } else {
        static const char hex[] = "0123456789abcdef";
        for (int i = 15; i >= 0; i--) {
            tmp[n++] = hex[a.b[i] & 0xf];
            tmp[n++] = '.';
            tmp[n++] = hex[a.b[i] >> 4];
            tmp[n++] = '.';
        }
        tmp[n] = '\0';
    }
    if (dnsname_add_zone(tmp, sizeof tmp, n, zone) != 0 || strlen(tmp) + 1 > len)
        return -1;
    memcpy(buf, tmp, strlen(tmp) + 1);
    return 0;
}

/* DOMAIN under ZONE. */
int
stm_dnsname_domain(const char *domain, const char *zone, char *buf, size_t len)
{
    char tmp[STM_DNSNAME_MAX + 2];
    if (domain == NULL)
        return -1;
    size_t dl = strlen(domain);
    if (dl > 0 && domain[dl - 1] == '.')
        dl--;
    if (dl == 0 || dl > STM_DNSNAME_MAX || !dnsname_hostname_ok(domain, dl))
        return -1;
    for (size_t i = 0; i < dl; i++)
        tmp[i] = (char)tolower((unsigned char)domain[i]);
    tmp[dl] = '.';
    if (dnsname_add_zone(tmp, sizeof tmp, dl + 1, zone) != 0 || strlen(tmp) + 1 > len)
        return -1;
    memcpy(buf, tmp, strlen(tmp) + 1);
    return 0;
}

/* Does ADDRESS fall in RETURNS (or 127/8 when none)? */
bool
stm_dnsname_returns_match(const stm_cidr *returns, size_t n, const char *address)
{
    stm_ip a;
    if (address == NULL || stm_ip_parse(address, &a) != 0)
        return false;
    if (n == 0) {
        static const stm_cidr loop = {
            .addr = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 0}}, .prefix = 104};
        return stm_cidr_contains(&loop, &a);
    }
    for (size_t i = 0; i < n; i++)
        if (stm_cidr_contains(&returns[i], &a))
            return true;
    return false;
}

/* One record's rdata into Q's answers. */
int
stm_dns_answer_add(stm_dns_query *q, const unsigned char *data, size_t len)
{
    char text[STM_DNS_TXT_MAX + 1];
    size_t n = 0;
    if (q->nanswers >= STM_DNS_ANSWERS_MAX)
        return 0;
    if (q->rrtype == STM_DNS_A) {
        if (len != 4)
            return 0;
        snprintf(text, sizeof text, "%u.%u.%u.%u", data[0], data[1], data[2], data[3]);
    } else {
        /* <length><bytes>, repeated (RFC 1035 3.3.14): joined, as RFC 7208
         * reads them; a length past the end stops at the end. */
        for (size_t i = 0; i < len;) {
            size_t sl = data[i++];
            for (size_t j = 0; j < sl && i < len; j++, i++)
                if (n < STM_DNS_TXT_MAX)
                    text[n++] = data[i] == '\0' ? ' ' : (char)data[i];
        }
        text[n] = '\0';
        stm_text_clean_inplace(text, STM_TEXT_SPACE | STM_TEXT_UTF8);
    }
    char **grown = realloc(q->answers, (q->nanswers + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    q->answers = grown;
    if ((q->answers[q->nanswers] = strdup(text)) == NULL)
        return -1;
    q->nanswers++;
    return 0;
}

/* Free a query's answers; it is pending again. */
void
stm_dns_query_clear(stm_dns_query *q)
{
    for (size_t i = 0; i < q->nanswers; i++)
        free(q->answers[i]);
    free(q->answers);
    q->answers = NULL;
    q->nanswers = 0;
    q->status = STM_DNS_PENDING;
    q->rcode = -1;
    q->ttl = 0;
    q->elapsed_ms = 0;
    q->why = NULL;
}

/* The name of a status, for logs and --trace. */
const char *
stm_dns_status_name(stm_dns_status st)
{
    switch (st) {
    case STM_DNS_PENDING:
        return "pending";
    case STM_DNS_ANSWER:
        return "answer";
    case STM_DNS_NOTFOUND:
        return "not found";
    case STM_DNS_TIMEOUT:
        return "timeout";
    case STM_DNS_SERVFAIL:
        return "servfail";
    case STM_DNS_FAILED:
        return "failed";
    }
    return "?";
}
