/*
 * dnsname.h - the names a DNS block list is asked about, and what its
 * answers mean: reversed IPv4 octets, IPv6 nibbles, domains under a zone,
 * `returns:` matching. Pure functions, no I/O. Private to policy/.
 */
#ifndef STAGEMILTER_DNSNAME_H
#define STAGEMILTER_DNSNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "match/ipaddr.h"
#include "stagemilter/dns.h"

/* Longest name asked (RFC 1035: 253 characters without the final dot). */
#define STM_DNSNAME_MAX 253

/* Is ZONE a name a list can be asked under ("zen.spamhaus.org", no final
 * dot needed)? NULL when it is, else a static reason. */
const char *stm_dnsname_zone_check(const char *zone);
/* "2.0.0.127.ZONE" for IPv4 IP, the 32 nibbles reversed then ZONE for IPv6
 * (RFC 5782), into BUF of LEN bytes. 0, or -1 when IP is not an address or
 * the name does not fit. */
int stm_dnsname_ip(const char *ip, const char *zone, char *buf, size_t len);
/* "DOMAIN.ZONE" (DOMAIN's final dot dropped, folded to lower case) into BUF.
 * 0, or -1 when DOMAIN is not a host name (empty, an address literal, a
 * label over 63 characters or a character a host name cannot hold) or the
 * name does not fit. */
int stm_dnsname_domain(const char *domain, const char *zone, char *buf, size_t len);
/* Does ADDRESS (a dotted quad from an A record) fall in one of the N
 * networks of RETURNS? N == 0: any address of 127.0.0.0/8 counts (RFC 5782
 * 2.1: list entries are in 127/8; anything else is an error of the list). */
bool stm_dnsname_returns_match(const stm_cidr *returns, size_t n, const char *address);

#endif
