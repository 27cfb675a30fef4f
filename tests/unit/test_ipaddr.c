/*
 * test_ipaddr.c - table-driven tests of addresses, CIDRs and NAT64 (ipaddr.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "match/ipaddr.h"

/* Parse TEXT, which must be valid, and return the address. */
static stm_ip
must_ip(const char *text)
{
    stm_ip ip;
    if (stm_ip_parse(text, &ip) != 0)
        fail_msg("'%s' did not parse", text);
    return ip;
}

/* Accepted forms parse, are classified and format canonically. */
static void
test_parse_format(void **state)
{
    static const struct {
        const char *text;
        bool v4;
        const char *canon;
    } cases[] = {
        {"192.0.2.1", true, "192.0.2.1"},
        {"0.0.0.0", true, "0.0.0.0"},
        {"255.255.255.255", true, "255.255.255.255"},
        {"[192.0.2.1]", true, "192.0.2.1"},
        {"::ffff:192.0.2.1", true, "192.0.2.1"},
        {"::FFFF:c000:0201", true, "192.0.2.1"},
        {"2001:db8::1", false, "2001:db8::1"},
        {"2001:DB8:0:0:0:0:0:1", false, "2001:db8::1"},
        {"2001:0db8:0000:0000:0001:0000:0000:0001", false, "2001:db8::1:0:0:1"},
        {"[2001:db8::1]", false, "2001:db8::1"},
        {"IPv6:2001:db8::1", false, "2001:db8::1"},
        {"ipv6:2001:db8::1", false, "2001:db8::1"},
        {"[IPv6:2001:db8::1]", false, "2001:db8::1"},
        {"::", false, "::"},
        {"::1", false, "::1"},
        {"64:ff9b::192.0.2.33", false, "64:ff9b::c000:221"},
        {"fe80::1:2:3:4", false, "fe80::1:2:3:4"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_ip ip = must_ip(cases[i].text);
        char buf[46];
        if (stm_ip_is_v4(&ip) != cases[i].v4)
            fail_msg("%s: wrong family", cases[i].text);
        stm_ip_format(&ip, buf, sizeof buf);
        if (strcmp(buf, cases[i].canon) != 0)
            fail_msg("%s formatted as %s, want %s", cases[i].text, buf, cases[i].canon);
        /* The canonical form parses back to the same address. */
        stm_ip again = must_ip(buf);
        assert_memory_equal(again.b, ip.b, 16);
    }
    /* The 16-byte form of an IPv4 address is IPv4-mapped. */
    stm_ip ip = must_ip("192.0.2.1");
    static const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    assert_memory_equal(ip.b, want, 16);
}

/* Anything else is refused. */
static void
test_parse_bad(void **state)
{
    static const char *const cases[] = {
        "",
        "192.0.2",
        "192.0.2.256",
        "192.0.2.1.5",
        "10.1",
        "01.2.3.4",
        " 192.0.2.1",
        "192.0.2.1 ",
        "192.0.2.1/32",
        "2001:db8::1::2",
        "2001:db8::g",
        "[2001:db8::1",
        "2001:db8::1]",
        "IPv6:",
        "IPv6:192.0.2.1x",
        "[]",
        "example.com",
        "fe80::1%eth0",
        "unknown",
        "0x7f.0.0.1",
        "::ffff:1.2.3",
        "1:2:3:4:5:6:7:8:9",
        "1111111111111111111111111111111111111111111111111111111111111111111111111",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_ip ip;
        if (stm_ip_parse(cases[i], &ip) == 0)
            fail_msg("'%s' parsed", cases[i]);
    }
    stm_ip ip;
    assert_int_equal(stm_ip_parse(NULL, &ip), -1);
}

/* Formatting into a short buffer truncates to "" rather than overflowing. */
static void
test_format_short(void **state)
{
    stm_ip ip = must_ip("2001:db8:1234:5678:9abc:def0:1234:5678");
    char buf[8];
    memset(buf, 'x', sizeof buf);
    stm_ip_format(&ip, buf, sizeof buf);
    assert_string_equal(buf, "");
    stm_ip_format(&ip, buf, 0); /* must not write anything */
}

/* Valid networks: the stored prefix is in the 16-byte form. */
static void
test_cidr_good(void **state)
{
    static const struct {
        const char *text;
        const char *addr;
        unsigned prefix;
    } cases[] = {
        {"192.0.2.0/24", "192.0.2.0", 120},
        {"192.0.2.1", "192.0.2.1", 128},
        {"192.0.2.1/32", "192.0.2.1", 128},
        {"0.0.0.0/0", "0.0.0.0", 96},
        {"10.0.0.0/8", "10.0.0.0", 104},
        {"2001:db8::/32", "2001:db8::", 32},
        {"2001:db8::1/128", "2001:db8::1", 128},
        {"2001:db8::1", "2001:db8::1", 128},
        {"::/0", "::", 0},
        {"[2001:db8::]/48", "2001:db8::", 48},
        {"IPv6:2001:db8::/64", "2001:db8::", 64},
        {"2001:db8::/032", "2001:db8::", 32},
        {"::ffff:0:0/96", "0.0.0.0", 96},
        {"::ffff:192.0.2.0/120", "192.0.2.0", 120},
        {"64:ff9b::/96", "64:ff9b::", 96},
        {"192.0.2.128/25", "192.0.2.128", 121},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_cidr c;
        const char *err = NULL;
        if (stm_cidr_parse(cases[i].text, &c, &err) != 0)
            fail_msg("%s: %s", cases[i].text, err);
        stm_ip want = must_ip(cases[i].addr);
        assert_memory_equal(c.addr.b, want.b, 16);
        if (c.prefix != cases[i].prefix)
            fail_msg("%s: prefix %u, want %u", cases[i].text, c.prefix, cases[i].prefix);
        char buf[128];
        assert_int_equal(stm_cidr_parse_msg(cases[i].text, &c, buf, sizeof buf), 0);
    }
}

/* Invalid networks: static message, and the full message naming the text. */
static void
test_cidr_bad(void **state)
{
    static const struct {
        const char *text;
        const char *err;  /* substring of the static message */
        const char *full; /* the whole stm_cidr_parse_msg text */
    } cases[] = {
        {"192.0.2.1/24", "host bits set",
         "192.0.2.1/24: host bits set; did you mean 192.0.2.0/24?"},
        {"10.1.2.3/8", "host bits set", "10.1.2.3/8: host bits set; did you mean 10.0.0.0/8?"},
        {"192.0.2.1/0", "host bits set", "192.0.2.1/0: host bits set; did you mean 0.0.0.0/0?"},
        {"2001:db8::1/32", "host bits set",
         "2001:db8::1/32: host bits set; did you mean 2001:db8::/32?"},
        {"::1/0", "host bits set", "::1/0: host bits set; did you mean ::/0?"},
        {"::ffff:192.0.2.1/120", "host bits set",
         "::ffff:192.0.2.1/120: host bits set; did you mean 192.0.2.0/24?"},
        {"192.0.2.0/33", "IPv4 allows /0 to /32",
         "192.0.2.0/33: prefix length out of range: IPv4 allows /0 to /32"},
        {"2001:db8::/129", "IPv6 allows /0 to /128", NULL},
        {"2001:db8::/99999999999999999999", "IPv6 allows /0 to /128", NULL},
        {"192.0.2.0/", "prefix length missing", NULL},
        {"192.0.2.0/-1", "decimal number", NULL},
        {"192.0.2.0/+8", "decimal number", NULL},
        {"192.0.2.0/24/", "decimal number", NULL},
        {"192.0.2.0/ 24", "decimal number", NULL},
        {"192.0.2.0/2x", "decimal number", NULL},
        {"192.0.2/24", "not an IP network",
         "192.0.2/24: not an IP network (expected ADDRESS/PREFIX, e.g. 192.0.2.0/24)"},
        {"/24", "not an IP network", NULL},
        {"example.com", "not an IP address", "example.com: not an IP address"},
        {"", "empty address", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_cidr c = {.prefix = 7};
        const char *err = NULL;
        char buf[200];
        if (stm_cidr_parse(cases[i].text, &c, &err) == 0)
            fail_msg("'%s' accepted", cases[i].text);
        assert_non_null(err);
        if (strstr(err, cases[i].err) == NULL)
            fail_msg("'%s': '%s' lacks '%s'", cases[i].text, err, cases[i].err);
        assert_int_equal(c.prefix, 7);
        assert_int_equal(stm_cidr_parse_msg(cases[i].text, &c, buf, sizeof buf), -1);
        if (cases[i].full != NULL && strcmp(buf, cases[i].full) != 0)
            fail_msg("'%s': full message '%s', want '%s'", cases[i].text, buf, cases[i].full);
        if (cases[i].full == NULL && strstr(buf, cases[i].err) == NULL)
            fail_msg("'%s': full message '%s' lacks '%s'", cases[i].text, buf, cases[i].err);
    }
    /* A tiny buffer is truncated, never overflowed. */
    stm_cidr c;
    char small[6];
    assert_int_equal(stm_cidr_parse_msg("192.0.2.1/24", &c, small, sizeof small), -1);
    assert_string_equal(small, "192.0");
}

/* Containment across families and at the edges. */
static void
test_contains(void **state)
{
    static const struct {
        const char *cidr;
        const char *ip;
        bool want;
    } cases[] = {
        {"192.0.2.0/24", "192.0.2.1", true},
        {"192.0.2.0/24", "192.0.2.255", true},
        {"192.0.2.0/24", "192.0.3.0", false},
        {"192.0.2.0/24", "192.0.1.255", false},
        {"192.0.2.0/24", "::ffff:192.0.2.7", true}, /* IPv4-mapped IPv6 value */
        {"192.0.2.0/24", "[IPv6:::ffff:192.0.2.7]", true},
        {"192.0.2.0/24", "2001:db8::1", false},
        {"192.0.2.128/25", "192.0.2.127", false},
        {"192.0.2.128/25", "192.0.2.128", true},
        {"192.0.2.5/32", "192.0.2.5", true},
        {"192.0.2.5/32", "192.0.2.4", false},
        {"0.0.0.0/0", "203.0.113.9", true},
        {"0.0.0.0/0", "0.0.0.0", true},
        {"0.0.0.0/0", "2001:db8::1", false}, /* IPv4 "everything" is IPv4 only */
        {"0.0.0.0/0", "::1", false},
        {"::/0", "2001:db8::1", true},
        {"::/0", "192.0.2.1", true}, /* IPv6 "everything" includes mapped IPv4 */
        {"::/0", "::", true},
        {"2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true},
        {"2001:db8::/32", "2001:db9::", false},
        {"2001:db8::/33", "2001:db8:7fff::1", true},
        {"2001:db8::/33", "2001:db8:8000::1", false},
        {"2001:db8::1/128", "2001:db8::1", true},
        {"2001:db8::1/128", "2001:db8::2", false},
        {"2001:db8::1", "[2001:db8::1]", true},
        {"::1/128", "::1", true},
        {"::1/128", "127.0.0.1", false},
        {"127.0.0.0/8", "127.255.0.1", true},
        {"64:ff9b::/96", "64:ff9b::192.0.2.1", true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_cidr c;
        const char *err = NULL;
        if (stm_cidr_parse(cases[i].cidr, &c, &err) != 0)
            fail_msg("%s: %s", cases[i].cidr, err);
        stm_ip ip = must_ip(cases[i].ip);
        if (stm_cidr_contains(&c, &ip) != cases[i].want)
            fail_msg("%s contains %s: want %d", cases[i].cidr, cases[i].ip, cases[i].want);
    }
}

/* RFC 6052 well-known prefix: the IPv4 address is the last 32 bits. */
static void
test_nat64(void **state)
{
    static const struct {
        const char *in;
        const char *out; /* NULL: not a NAT64 address */
    } cases[] = {
        {"64:ff9b::192.0.2.33", "192.0.2.33"},
        {"64:ff9b::c000:221", "192.0.2.33"},
        {"64:ff9b::", "0.0.0.0"},
        {"64:ff9b::ffff:ffff", "255.255.255.255"},
        {"64:ff9b::1:c000:221", NULL}, /* bits 64-95 must be zero for /96 */
        {"64:ff9b:1::c000:221", NULL}, /* 64:ff9b:1::/48 is the local-use prefix */
        {"2001:db8::c000:221", NULL},
        {"192.0.2.33", NULL},
        {"::ffff:192.0.2.33", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_ip in = must_ip(cases[i].in), out = must_ip("::1");
        int rc = stm_ip_nat64_decode(&in, &out);
        if (cases[i].out == NULL) {
            if (rc != -1)
                fail_msg("%s decoded", cases[i].in);
            stm_ip untouched = must_ip("::1");
            assert_memory_equal(out.b, untouched.b, 16);
            continue;
        }
        if (rc != 0)
            fail_msg("%s not decoded", cases[i].in);
        stm_ip want = must_ip(cases[i].out);
        assert_memory_equal(out.b, want.b, 16);
        assert_true(stm_ip_is_v4(&out));
    }
    /* OUT may alias IN. */
    stm_ip ip = must_ip("64:ff9b::10.1.2.3");
    assert_int_equal(stm_ip_nat64_decode(&ip, &ip), 0);
    stm_ip want = must_ip("10.1.2.3");
    assert_memory_equal(ip.b, want.b, 16);
}

/* Text that looks like an address or network (a mistake when it does not
 * parse) against names and e-mail addresses. */
static void
test_looks_like(void **state)
{
    static const struct {
        const char *text;
        bool want;
    } cases[] = {
        {"192.0.2.300", true},  {"10.0.0.1/24", true},  {"2001:db8::g", true}, {"1.2.3.4", true},
        {"/8", true},           {"example.com", false}, {"1.2.3", false},      {"1.2.3.4.5", false},
        {"mx1.example", false}, {"a@1.2.3.4", false},   {"user@[::1]", false}, {"", false},
        {"1.2.3.a", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (stm_ip_looks_like(cases[i].text) != cases[i].want)
            fail_msg("'%s': expected %s", cases[i].text, cases[i].want ? "true" : "false");
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_format), cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_format_short), cmocka_unit_test(test_cidr_good),
        cmocka_unit_test(test_cidr_bad),     cmocka_unit_test(test_contains),
        cmocka_unit_test(test_nat64),        cmocka_unit_test(test_looks_like),
    };
    return cmocka_run_group_tests_name("ipaddr", tests, NULL, NULL);
}
