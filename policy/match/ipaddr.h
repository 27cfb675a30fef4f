/*
 * ipaddr.h - IPv4/IPv6 addresses and CIDR prefixes, and the NAT64 decoding of
 * RFC 6052 (64:ff9b::/96).
 *
 * Addresses are held as 16 bytes; IPv4 as the IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d), so one prefix structure serves both families, and an
 * IPv4 CIDR a.b.c.d/n becomes ::ffff:a.b.c.d/(96+n). Pure functions.
 */
#ifndef STAGEMILTER_IPADDR_H
#define STAGEMILTER_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct stm_ip {
    uint8_t b[16];
} stm_ip;

typedef struct stm_cidr {
    stm_ip addr;      /* host bits cleared */
    unsigned prefix; /* 0..128, in the 16-byte form */
} stm_cidr;

/* Parse "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "IPv6:2001:db8::1"
 * (Postfix/Sendmail macro forms). Returns 0 or -1. */
int stm_ip_parse(const char *text, stm_ip *out);
/* Is it an IPv4(-mapped) address? */
bool stm_ip_is_v4(const stm_ip *ip);
/* Canonical text: dotted quad for IPv4, RFC 5952 for IPv6. BUF >= 46 bytes. */
void stm_ip_format(const stm_ip *ip, char *buf, size_t len);
/* Parse "192.0.2.0/24", "2001:db8::/32" or a bare address (a /32 or /128).
 * Host bits set beyond the prefix are an error ("192.0.2.1/24").
 * Returns 0, or -1 with *ERR set to a static description. */
int stm_cidr_parse(const char *text, stm_cidr *out, const char **err);
/* Like stm_cidr_parse, but on error write into BUF (LEN bytes) a complete
 * message naming TEXT, with the network probably meant when host bits are
 * set: "192.0.2.1/24: host bits set; did you mean 192.0.2.0/24?". */
int stm_cidr_parse_msg(const char *text, stm_cidr *out, char *buf, size_t len);
bool stm_cidr_contains(const stm_cidr *cidr, const stm_ip *ip);
/* RFC 6052: if IP is in 64:ff9b::/96, store the embedded IPv4 address in OUT
 * and return 0; otherwise return -1. */
int stm_ip_nat64_decode(const stm_ip *ip, stm_ip *out);
/* Does TEXT look like an attempt at an address or network (so that failing
 * to parse it is a mistake, not a name)? Names and e-mail addresses hold no
 * ":" or "/"; four dotted decimal numbers are an IPv4 address; anything with
 * an "@" is an e-mail address. */
bool stm_ip_looks_like(const char *text);

#endif
