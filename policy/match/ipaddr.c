/*
 * ipaddr.c - IPv4/IPv6 addresses, CIDR prefixes and NAT64 decoding (ipaddr.h).
 *
 * SYNOPSIS
 *     int  stm_ip_parse(const char *text, stm_ip *out);
 *     bool stm_ip_is_v4(const stm_ip *ip);
 *     void stm_ip_format(const stm_ip *ip, char *buf, size_t len);
 *     int  stm_cidr_parse(const char *text, stm_cidr *out, const char **err);
 *     int  stm_cidr_parse_msg(const char *text, stm_cidr *out, char *buf, size_t len);
 *     bool stm_cidr_contains(const stm_cidr *cidr, const stm_ip *ip);
 *     int  stm_ip_nat64_decode(const stm_ip *ip, stm_ip *out);
 *     bool stm_ip_looks_like(const char *text);
 *
 * DESCRIPTION
 *     Every address is 16 bytes; IPv4 is stored IPv4-mapped (::ffff:a.b.c.d)
 *     and an IPv4 prefix length n becomes 96 + n, so one comparison serves
 *     both families and an IPv4-mapped IPv6 value matches an IPv4 network.
 *     Accepted address forms: "192.0.2.1", "2001:db8::1", "[2001:db8::1]",
 *     "IPv6:2001:db8::1" and "[IPv6:2001:db8::1]" (what Postfix and Sendmail
 *     put in their macros). Parsing is inet_pton's: no zone ids, no
 *     shorthand IPv4 ("10.1"), no leading zeros in IPv4 octets.
 *
 * OWNERSHIP
 *     Nothing is allocated; error texts are static (stm_cidr_parse) or
 *     written into the caller's buffer (stm_cidr_parse_msg).
 *
 * DIAGNOSTICS
 *     Parsers return 0 or -1. stm_cidr_parse refuses host bits set beyond
 *     the prefix ("192.0.2.1/24"), a missing, non-numeric or out-of-range
 *     prefix length, and text that is not an address.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "match/ipaddr.h"

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t nat64_prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

/* Parse TEXT (LEN bytes, not necessarily NUL-terminated) after stripping
 * the bracket and "IPv6:" decorations. *DOTTED tells whether it was written
 * as an IPv4 dotted quad (a prefix length then counts IPv4 bits). */
static int
ip_parse_n(const char *text, size_t len, stm_ip *out, bool *dotted)
{
    char buf[64];
    struct in_addr a4;

    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (len > 5 && strncasecmp(text, "IPv6:", 5) == 0) {
        text += 5;
        len -= 5;
    }
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        memcpy(out->b, v4_mapped_prefix, sizeof v4_mapped_prefix);
        memcpy(out->b + 12, &a4.s_addr, 4);
        *dotted = true;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out->b) == 1) {
        *dotted = false;
        return 0;
    }
    return -1;
}

/* Parse an address in any of the accepted forms. */
int
stm_ip_parse(const char *text, stm_ip *out)
{
    bool dotted;

    if (text == NULL)
        return -1;
    return ip_parse_n(text, strlen(text), out, &dotted);
}

/* Is IP in ::ffff:0:0/96? */
bool
stm_ip_is_v4(const stm_ip *ip)
{
    return memcmp(ip->b, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0;
}

/* Canonical text of IP into BUF: dotted quad, or RFC 5952 via inet_ntop. */
void
stm_ip_format(const stm_ip *ip, char *buf, size_t len)
{
    const char *r;

    if (len == 0)
        return;
    if (stm_ip_is_v4(ip))
        r = inet_ntop(AF_INET, ip->b + 12, buf, (socklen_t)len);
    else
        r = inet_ntop(AF_INET6, ip->b, buf, (socklen_t)len);
    if (r == NULL)
        buf[0] = '\0';
}

/* Clear every bit of IP beyond the first PREFIX bits. */
static void
ip_mask(stm_ip *ip, unsigned prefix)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
        if (bits >= 8)
            continue;
        ip->b[i] &= (uint8_t)(0xff00u >> bits);
    }
}

/* Parse TEXT into OUT; on error set *ERR, and *MASKED to the network TEXT
 * probably meant when only host bits were wrong (then return -2). */
static int
cidr_parse(const char *text, stm_cidr *out, const char **err, stm_cidr *masked)
{
    const char *slash;
    stm_ip ip;
    unsigned prefix = 0, max;
    size_t alen;
    bool dotted;

    if (text == NULL || *text == '\0') {
        *err = "empty address";
        return -1;
    }
    slash = strchr(text, '/');
    alen = slash ? (size_t)(slash - text) : strlen(text);
    if (ip_parse_n(text, alen, &ip, &dotted) != 0) {
        *err = slash ? "not an IP network (expected ADDRESS/PREFIX, e.g. 192.0.2.0/24)"
                     : "not an IP address";
        return -1;
    }
    max = dotted ? 32 : 128;
    if (slash == NULL) {
        out->addr = ip;
        out->prefix = 128;
        return 0;
    }
    const char *p = slash + 1;
    if (*p == '\0') {
        *err = "prefix length missing after \"/\"";
        return -1;
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            *err = "prefix length must be a decimal number";
            return -1;
        }
        prefix = prefix * 10 + (unsigned)(*p - '0');
        if (prefix > 128)
            break;
    }
    if (prefix > max) {
        *err = max == 32 ? "prefix length out of range: IPv4 allows /0 to /32"
                         : "prefix length out of range: IPv6 allows /0 to /128";
        return -1;
    }
    if (max == 32)
        prefix += 96;
    masked->addr = ip;
    masked->prefix = prefix;
    ip_mask(&masked->addr, prefix);
    if (memcmp(masked->addr.b, ip.b, sizeof ip.b) != 0) {
        *err = "host bits set beyond the prefix length; write the network address "
               "(e.g. 192.0.2.0/24, not 192.0.2.1/24)";
        return -2;
    }
    *out = *masked;
    return 0;
}

/* Parse a CIDR or a bare address (a /128 in the 16-byte form). */
int
stm_cidr_parse(const char *text, stm_cidr *out, const char **err)
{
    stm_cidr masked;

    return cidr_parse(text, out, err, &masked) == 0 ? 0 : -1;
}

/* Like stm_cidr_parse, with a complete message naming TEXT in BUF. */
int
stm_cidr_parse_msg(const char *text, stm_cidr *out, char *buf, size_t len)
{
    stm_cidr masked;
    const char *err = NULL;
    char net[INET6_ADDRSTRLEN];
    int rc = cidr_parse(text, out, &err, &masked);

    if (rc == 0)
        return 0;
    if (len == 0)
        return -1;
    if (rc == -2) {
        stm_ip_format(&masked.addr, net, sizeof net);
        snprintf(buf, len, "%s: host bits set; did you mean %s/%u?", text, net,
                 stm_ip_is_v4(&masked.addr) && masked.prefix >= 96 ? masked.prefix - 96
                                                                  : masked.prefix);
    } else {
        snprintf(buf, len, "%s: %s", text ? text : "", err);
    }
    return -1;
}

/* Is IP inside CIDR? Compare whole bytes, then the remaining bits. */
bool
stm_cidr_contains(const stm_cidr *cidr, const stm_ip *ip)
{
    unsigned full = cidr->prefix / 8, rest = cidr->prefix % 8;

    if (cidr->prefix > 128)
        return false;
    if (memcmp(cidr->addr.b, ip->b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (cidr->addr.b[full] & mask) == (ip->b[full] & mask);
}

/* RFC 6052 with the well-known prefix 64:ff9b::/96: the IPv4 address is the
 * last 32 bits. */
int
stm_ip_nat64_decode(const stm_ip *ip, stm_ip *out)
{
    if (memcmp(ip->b, nat64_prefix, sizeof nat64_prefix) != 0)
        return -1;
    stm_ip v4;
    memcpy(v4.b, v4_mapped_prefix, sizeof v4_mapped_prefix);
    memcpy(v4.b + 12, ip->b + 12, 4);
    *out = v4;
    return 0;
}

/* Does TEXT look like an attempt at an address or network? */
bool
stm_ip_looks_like(const char *text)
{
    size_t dots = 0;
    bool only_dec = true;

    if (strchr(text, '@') != NULL)
        return false;
    if (strpbrk(text, ":/") != NULL)
        return true;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '.')
            dots++;
        else if (*p < '0' || *p > '9')
            only_dec = false;
    }
    return only_dec && dots == 3;
}
