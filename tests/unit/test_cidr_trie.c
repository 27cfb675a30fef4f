/*
 * test_cidr_trie.c - tests of the CIDR prefix trie (cidr_trie.h), checked
 * against a plain linear scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "match/cidr_trie.h"

/* Parse TEXT, which must be a valid CIDR. */
static stm_cidr
must_cidr(const char *text)
{
    stm_cidr c;
    const char *err = NULL;
    if (stm_cidr_parse(text, &c, &err) != 0)
        fail_msg("%s: %s", text, err);
    return c;
}

/* Parse TEXT, which must be a valid address. */
static stm_ip
must_ip(const char *text)
{
    stm_ip ip;
    if (stm_ip_parse(text, &ip) != 0)
        fail_msg("'%s' did not parse", text);
    return ip;
}

/* Hand-picked prefixes, nested and overlapping, in an order that exercises
 * every insertion case (empty, below, above, split). */
static void
test_table(void **state)
{
    static const char *const prefixes[] = {
        "192.0.2.128/25", "192.0.2.0/24", /* parent inserted after child */
        "198.51.100.7",   "198.51.100.9", /* split at the last bits */
        "10.0.0.0/8",     "10.1.0.0/16",  /* child under an entry */
        "2001:db8::/32",  "2001:db8:1::/48", "2001:db8::1", "fe80::/10", "::1",
    };
    static const struct {
        const char *ip;
        bool want;
    } cases[] = {
        {"192.0.2.1", true},      {"192.0.2.200", true},
        {"192.0.3.1", false},     {"198.51.100.7", true},
        {"198.51.100.9", true},   {"198.51.100.8", false},
        {"198.51.100.6", false},  {"10.200.1.1", true},
        {"11.0.0.0", false},      {"::ffff:10.9.9.9", true},
        {"2001:db8:5::1", true},  {"2001:db9::", false},
        {"fe80::abcd", true},     {"febf:ffff::1", true},
        {"fec0::", false},        {"::1", true},
        {"::2", false},           {"::", false},
        {"9.255.255.255", false}, {"0.0.0.0", false},
    };
    stm_cidr_trie *t = stm_cidr_trie_create();
    assert_non_null(t);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        stm_cidr c = must_cidr(prefixes[i]);
        assert_int_equal(stm_cidr_trie_add(t, &c), 1);
        assert_int_equal(stm_cidr_trie_add(t, &c), 0);
    }
    assert_int_equal(stm_cidr_trie_size(t), sizeof prefixes / sizeof prefixes[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_ip ip = must_ip(cases[i].ip);
        if (stm_cidr_trie_contains(t, &ip) != cases[i].want)
            fail_msg("%s: want %d", cases[i].ip, cases[i].want);
    }
    stm_cidr_trie_free(t);
    stm_cidr_trie_free(NULL);
}

/* The "everything" prefixes and an empty trie. */
static void
test_edges(void **state)
{
    stm_cidr_trie *t = stm_cidr_trie_create();
    stm_ip v4 = must_ip("203.0.113.5"), v6 = must_ip("2001:db8::5");
    assert_false(stm_cidr_trie_contains(t, &v4));

    stm_cidr all4 = must_cidr("0.0.0.0/0");
    assert_int_equal(stm_cidr_trie_add(t, &all4), 1);
    assert_true(stm_cidr_trie_contains(t, &v4));
    assert_false(stm_cidr_trie_contains(t, &v6));

    stm_cidr host = must_cidr("2001:db8::5/128");
    assert_int_equal(stm_cidr_trie_add(t, &host), 1);
    assert_true(stm_cidr_trie_contains(t, &v6));
    stm_ip v6b = must_ip("2001:db8::4");
    assert_false(stm_cidr_trie_contains(t, &v6b));

    stm_cidr all6 = must_cidr("::/0");
    assert_int_equal(stm_cidr_trie_add(t, &all6), 1);
    assert_true(stm_cidr_trie_contains(t, &v6b));
    assert_int_equal(stm_cidr_trie_size(t), 3);
    stm_cidr_trie_free(t);
}

/* A small deterministic generator (xorshift64*). */
static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

/* A random address near a few clusters, so prefixes nest and collide. */
static stm_ip
rand_ip(uint64_t *s)
{
    stm_ip ip;
    uint64_t r = next_rand(s);
    memset(&ip, 0, sizeof ip);
    if (r & 1) {
        ip.b[10] = ip.b[11] = 0xff;
        ip.b[12] = (uint8_t)(10 + (r >> 8) % 3);
        ip.b[13] = (uint8_t)((r >> 16) % 4);
        ip.b[14] = (uint8_t)(r >> 24);
        ip.b[15] = (uint8_t)(r >> 32);
    } else {
        ip.b[0] = 0x20;
        ip.b[1] = 0x01;
        ip.b[2] = 0x0d;
        ip.b[3] = 0xb8;
        ip.b[4] = (uint8_t)((r >> 8) % 3);
        ip.b[8] = (uint8_t)((r >> 24) % 5);
        ip.b[13] = (uint8_t)(r >> 32);
        ip.b[14] = (uint8_t)((r >> 40) % 4);
        ip.b[15] = (uint8_t)(r >> 48);
    }
    return ip;
}

/* Random prefixes: the trie agrees with a linear scan on random addresses. */
static void
test_random_against_scan(void **state)
{
    enum { NPREFIX = 3000, NPROBE = 20000 };
    uint64_t seed = UINT64_C(0x9e3779b97f4a7c15);
    stm_cidr *all = calloc(NPREFIX, sizeof *all);
    stm_cidr_trie *t = stm_cidr_trie_create();
    size_t distinct = 0;
    assert_non_null(all);

    for (int i = 0; i < NPREFIX; i++) {
        stm_ip ip = rand_ip(&seed);
        /* Mostly long prefixes, a few short ones covering many of them. */
        uint64_t r = next_rand(&seed);
        unsigned span = r % 100 == 0 ? 20 : 14;
        unsigned prefix = 128 - (unsigned)((r >> 8) % (span + 1));
        for (unsigned b = prefix; b < 128; b++)
            ip.b[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        all[i].addr = ip;
        all[i].prefix = prefix;
        bool dup = false;
        for (int j = 0; j < i && !dup; j++)
            dup = all[j].prefix == prefix && memcmp(all[j].addr.b, ip.b, 16) == 0;
        int rc = stm_cidr_trie_add(t, &all[i]);
        assert_int_equal(rc, dup ? 0 : 1);
        distinct += !dup;
    }
    assert_int_equal(stm_cidr_trie_size(t), distinct);
    int hits = 0;
    for (int k = 0; k < NPROBE; k++) {
        stm_ip ip = rand_ip(&seed);
        bool want = false;
        for (int j = 0; j < NPREFIX && !want; j++)
            want = stm_cidr_contains(&all[j], &ip);
        if (stm_cidr_trie_contains(t, &ip) != want) {
            char buf[64];
            stm_ip_format(&ip, buf, sizeof buf);
            fail_msg("%s: trie says %d", buf, !want);
        }
        hits += want;
    }
    print_message("# %d of %d probes inside\n", hits, NPROBE);
    /* The generator must give both answers often, or the test proves little. */
    assert_true(hits > NPROBE / 20);
    assert_true(hits < NPROBE - NPROBE / 20);
    /* Every added network's own address is found. */
    for (int j = 0; j < NPREFIX; j++)
        assert_true(stm_cidr_trie_contains(t, &all[j].addr));
    stm_cidr_trie_free(t);
    free(all);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_random_against_scan),
    };
    return cmocka_run_group_tests_name("cidr_trie", tests, NULL, NULL);
}
