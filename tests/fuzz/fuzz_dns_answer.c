/*
 * fuzz_dns_answer.c - libFuzzer target: what stagemilter makes of DNS
 * answers and of the names it asks (policy/run/dnsname.c): the records a
 * resolver hands over (stm_dns_answer_add, as milter/net/resolver.c calls
 * it), `returns:` matching on them, and the names built from a client's
 * HELO, sender domain or address.
 *
 * Feeds: byte 0 picks the record type (even: A, odd: TXT); then records as
 * <length byte><rdata>, up to the end; the first record's bytes (up to a
 * NUL) are also used as an item (address or host name) for the names.
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - at most STM_DNS_ANSWERS_MAX answers; an A answer is a dotted quad
 *     that parses back; a TXT answer holds no control byte and at most
 *     STM_DNS_TXT_MAX bytes;
 *   - a built name is at most 253 characters and ends in ".ZONE"; an
 *     accepted host name gives a name of lower-case letters, digits, '-',
 *     '_' and dots only.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "run/dnsname.h"
#include "stagemilter/dns.h"

/* Does NAME end with ".ZONE" and stay within 253 characters? */
static void
fuzz_dns_name_ok(const char *name, const char *zone)
{
    size_t n = strlen(name), z = strlen(zone);
    FUZZ_CHECK(n <= STM_DNSNAME_MAX);
    FUZZ_CHECK(n > z + 1 && name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    stm_dns_query q = {
        .name = "x.bl.example", .rrtype = (data[0] & 1) ? STM_DNS_TXT : STM_DNS_A, .rcode = -1};
    size_t i = 1;
    char item[300] = "";
    bool first = true;
    while (i < size) {
        size_t len = data[i++];
        if (len > size - i)
            len = size - i;
        if (first) {
            size_t k = 0;
            while (k < len && k < sizeof item - 1 && data[i + k] != 0) {
                item[k] = (char)data[i + k];
                k++;
            }
            item[k] = '\0';
            first = false;
        }
        FUZZ_CHECK(stm_dns_answer_add(&q, data + i, len) == 0);
        i += len;
    }
    FUZZ_CHECK(q.nanswers <= STM_DNS_ANSWERS_MAX);
    stm_cidr net;
    const char *err = NULL;
    FUZZ_CHECK(stm_cidr_parse("127.0.0.0/24", &net, &err) == 0);
    for (size_t k = 0; k < q.nanswers; k++) {
        const char *a = q.answers[k];
        FUZZ_CHECK(a != NULL);
        if (q.rrtype == STM_DNS_A) {
            stm_ip ip;
            FUZZ_CHECK(stm_ip_parse(a, &ip) == 0 && stm_ip_is_v4(&ip));
            bool in = stm_dnsname_returns_match(&net, 1, a);
            FUZZ_CHECK(in == (strncmp(a, "127.0.0.", 8) == 0));
        } else {
            FUZZ_CHECK(strlen(a) <= STM_DNS_TXT_MAX);
            for (const unsigned char *c = (const unsigned char *)a; *c; c++)
                FUZZ_CHECK(*c >= 32 && *c != 127);
            (void)stm_dnsname_returns_match(NULL, 0, a);
        }
    }
    stm_dns_query_clear(&q);
    FUZZ_CHECK(q.answers == NULL && q.nanswers == 0);

    char name[STM_DNSNAME_MAX + 2];
    const char *zone = "bl.example";
    if (stm_dnsname_ip(item, zone, name, sizeof name) == 0)
        fuzz_dns_name_ok(name, zone);
    if (stm_dnsname_domain(item, zone, name, sizeof name) == 0) {
        fuzz_dns_name_ok(name, zone);
        for (const char *c = name; *c; c++)
            FUZZ_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                       *c == '_' || *c == '.');
    }
    (void)stm_dnsname_zone_check(item);
    return 0;
}
