/*
 * test_pattern.c - table-driven tests of condition patterns (pattern.h):
 * literals, globs, regexes, CIDRs, lists, case rules, buffers, errors, and
 * matching from several threads at once.
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "match/pattern.h"

/* Match and insist there was no error (see test_regex_limits for errors). */
static bool
test_match(const stm_pattern *p, const char *value)
{
    char *err = NULL;
    stm_match m = stm_pattern_match(p, value, &err);
    if (m == STM_MATCH_ERROR)
        fail_msg("unexpected match error: %s", err ? err : "(no text)");
    return m == STM_MATCH_YES;
}
static bool
test_match_buf(const stm_pattern *p, const char *data, size_t len)
{
    char *err = NULL;
    stm_match m = stm_pattern_match_buf(p, data, len, &err);
    if (m == STM_MATCH_ERROR)
        fail_msg("unexpected match error: %s", err ? err : "(no text)");
    return m == STM_MATCH_YES;
}
#define MATCH(p, v) test_match((p), (v))
#define MATCH_BUF(p, d, n) test_match_buf((p), (d), (n))

/* A pattern of KIND with the alternatives SPECS (NULL-terminated). */
static stm_pattern *
must_pattern(stm_pattern_kind kind, const char *const *specs)
{
    stm_pattern *p = stm_pattern_create(kind);
    assert_non_null(p);
    for (size_t i = 0; i < 4 && specs[i] != NULL; i++) {
        char *msg = NULL;
        size_t off = 99;
        if (stm_pattern_add(p, specs[i], &msg, &off) != 0)
            fail_msg("'%s' refused at %zu: %s", specs[i], off, msg);
        assert_null(msg);
    }
    return p;
}

struct match_case {
    stm_pattern_kind kind;
    const char *specs[4];
    const char *value;
    bool want;
};

static const struct match_case match_cases[] = {
    /* literals: whole value; case per kind */
    {STM_PAT_NOCASE, {"example.com"}, "example.com", true},
    {STM_PAT_NOCASE, {"example.com"}, "EXAMPLE.Com", true},
    {STM_PAT_NOCASE, {"example.com"}, "www.example.com", false},
    {STM_PAT_NOCASE, {"example.com"}, "example.co", false},
    {STM_PAT_TEXT, {"Yes"}, "Yes", true},
    {STM_PAT_TEXT, {"Yes"}, "yes", false},
    {STM_PAT_TEXT, {"Yes"}, "Yes ", false},
    {STM_PAT_TEXT, {""}, "", true}, /* the empty literal (null sender) */
    {STM_PAT_TEXT, {""}, " ", false},
    {STM_PAT_NOCASE, {"<>"}, "<>", true},
    {STM_PAT_TEXT, {"/"}, "/", true},       /* "/" alone is a literal */
    {STM_PAT_TEXT, {"/abc"}, "/abc", true}, /* no closing slash: literal */
    {STM_PAT_TEXT, {"/abc"}, "abc", false},
    {STM_PAT_TEXT, {"/i"}, "/i", true},
    {STM_PAT_TEXT, {"a/b/"}, "a/b/", true},
    /* globs */
    {STM_PAT_NOCASE, {"*.example.com"}, "mail.example.com", true},
    {STM_PAT_NOCASE, {"*.example.com"}, "a.b.EXAMPLE.COM", true},
    {STM_PAT_NOCASE, {"*.example.com"}, "example.com", false},
    {STM_PAT_NOCASE, {"*.example.com"}, "mail.example.com.evil", false},
    {STM_PAT_NOCASE, {"mx?.example.com"}, "mx1.example.com", true},
    {STM_PAT_NOCASE, {"mx?.example.com"}, "mx12.example.com", false},
    {STM_PAT_NOCASE, {"mx?.example.com"}, "mx.example.com", false},
    {STM_PAT_NOCASE, {"*"}, "", true},
    {STM_PAT_NOCASE, {"*"}, "anything", true},
    {STM_PAT_NOCASE, {"?"}, "", false},
    {STM_PAT_NOCASE, {"a*b*c"}, "aXXbYYbZZc", true},
    {STM_PAT_NOCASE, {"a*b*c"}, "aXXbYYcZZ", false},
    {STM_PAT_NOCASE, {"**a**"}, "bab", true},
    {STM_PAT_NOCASE, {"*@example.com"}, "User@Example.COM", true},
    {STM_PAT_TEXT, {"*Spam*"}, "this is spam", false},
    {STM_PAT_TEXT, {"*Spam*"}, "this is Spam!", true},
    {STM_PAT_TEXT,
     {"a*a*a*a*a*a*a*a*b"},
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     false},
    /* regexes: search anywhere; /i; caseless for NOCASE and IP kinds */
    {STM_PAT_TEXT, {"/spam/"}, "this is spam!", true},
    {STM_PAT_TEXT, {"/spam/"}, "this is SPAM!", false},
    {STM_PAT_TEXT, {"/spam/i"}, "this is SPAM!", true},
    {STM_PAT_TEXT, {"/^X-Spam: yes$/"}, "X-Spam: yes", true},
    {STM_PAT_TEXT, {"/^yes$/"}, "yes!", false},
    {STM_PAT_TEXT, {"//"}, "anything", true},
    {STM_PAT_TEXT, {"//i"}, "", true},
    {STM_PAT_NOCASE, {"/\\.example\\.com$/"}, "MAIL.EXAMPLE.COM", true},
    {STM_PAT_TEXT, {"/a/i/"}, "xa/i", true},                 /* ends in "/": body is "a/i" */
    {STM_PAT_TEXT, {"/caf\xc3\xa9/i"}, "CAF\xc3\x89", true}, /* UTF-8 case folding */
    {STM_PAT_TEXT, {"/^.$/"}, "\xc3\xa9", true},             /* one UTF-8 character */
    {STM_PAT_TEXT,
     {"/b/"},
     "\xff\xfe"
     "b\xc0",
     true}, /* invalid UTF-8 value */
    /* (catastrophic backtracking is an error, not a row here: test_regex_limits) */
    /* several alternatives: any */
    {STM_PAT_NOCASE, {"a.example", "*.b.example", "/^c\\./"}, "x.b.example", true},
    {STM_PAT_NOCASE, {"a.example", "*.b.example", "/^c\\./"}, "c.other", true},
    {STM_PAT_NOCASE, {"a.example", "*.b.example", "/^c\\./"}, "d.example", false},
    /* addresses and networks */
    {STM_PAT_IP, {"192.0.2.0/24"}, "192.0.2.10", true},
    {STM_PAT_IP, {"192.0.2.0/24"}, "192.0.3.10", false},
    {STM_PAT_IP, {"192.0.2.0/24"}, "::ffff:192.0.2.10", true}, /* IPv4-mapped value */
    {STM_PAT_IP, {"192.0.2.0/24"}, "IPv6:::ffff:192.0.2.10", true},
    {STM_PAT_IP, {"192.0.2.0/24"}, "[192.0.2.10]", true},
    {STM_PAT_IP, {"192.0.2.0/24"}, "unknown", false}, /* not an address */
    {STM_PAT_IP, {"192.0.2.0/24"}, "", false},
    {STM_PAT_IP, {"0.0.0.0/0"}, "203.0.113.1", true},
    {STM_PAT_IP, {"0.0.0.0/0"}, "2001:db8::1", false},
    {STM_PAT_IP, {"::/0"}, "2001:db8::1", true},
    {STM_PAT_IP, {"::/0"}, "203.0.113.1", true},
    {STM_PAT_IP, {"2001:db8::1/128"}, "2001:db8::1", true},
    {STM_PAT_IP, {"2001:db8::1/128"}, "IPv6:2001:DB8::1", true},
    {STM_PAT_IP, {"2001:db8::1/128"}, "2001:db8::2", false},
    {STM_PAT_IP, {"192.0.2.1"}, "192.0.2.1", true},
    {STM_PAT_IP, {"192.0.2.1"}, "192.0.2.2", false},
    {STM_PAT_IP, {"[2001:db8::1]"}, "2001:0db8:0:0::1", true},
    /* text alternatives of IP patterns see the canonical form */
    {STM_PAT_IP, {"192.0.2.*"}, "192.0.2.77", true},
    {STM_PAT_IP, {"192.0.2.*"}, "::ffff:192.0.2.77", true},
    {STM_PAT_IP, {"2001:db8:*"}, "IPv6:2001:DB8::7", true},
    {STM_PAT_IP, {"/^10\\./"}, "[10.1.2.3]", true},
    {STM_PAT_IP, {"unknown"}, "UNKNOWN", true},
    {STM_PAT_IP, {"10.0.0.0/8", "unknown"}, "unknown", true},
    /* a NOCASE pattern does not treat addresses as networks */
    {STM_PAT_NOCASE, {"192.0.2.0"}, "192.0.2.0", true},
    {STM_PAT_NOCASE, {"192.0.2.0"}, "::ffff:192.0.2.0", false},
};

/* Every case of the table, through stm_pattern_match and stm_pattern_match_buf. */
static void
test_match_table(void **state)
{
    for (size_t i = 0; i < sizeof match_cases / sizeof match_cases[0]; i++) {
        const struct match_case *c = &match_cases[i];
        stm_pattern *p = must_pattern(c->kind, c->specs);
        if (MATCH(p, c->value) != c->want)
            fail_msg("case %zu: [%s] on '%s': want %d", i, stm_pattern_text(p), c->value, c->want);
        if (MATCH_BUF(p, c->value, strlen(c->value)) != c->want)
            fail_msg("case %zu (buf): [%s] on '%s': want %d", i, stm_pattern_text(p), c->value,
                     c->want);
        assert_false(MATCH(p, NULL));
        stm_pattern_free(p);
    }
    stm_pattern_free(NULL);
}

/* The written form, joined by ", ", with lists as "@name". */
static void
test_text(void **state)
{
    stm_pattern *p = stm_pattern_create(STM_PAT_IP);
    assert_string_equal(stm_pattern_text(p), "");
    assert_false(MATCH(p, "192.0.2.1")); /* no alternative: nothing */
    stm_list *l = stm_list_create("trusted");
    char *msg = NULL;
    size_t off = 0;
    assert_int_equal(stm_pattern_add(p, "192.0.2.0/24", &msg, &off), 0);
    assert_int_equal(stm_pattern_add_list(p, l), 0);
    assert_int_equal(stm_pattern_add(p, "/^10\\./i", &msg, &off), 0);
    assert_int_equal(stm_pattern_add(p, "", &msg, &off), 0);
    assert_string_equal(stm_pattern_text(p), "192.0.2.0/24, @trusted, /^10\\./i, ");
    assert_int_equal(stm_pattern_add_list(p, NULL), -1);
    stm_pattern_free(p);
    stm_list_free(l);
}

/* Bad specs: PCRE2's words, offsets in the spec, address messages. */
static void
test_errors(void **state)
{
    static const struct {
        stm_pattern_kind kind;
        const char *spec;
        const char *msg; /* substring */
        size_t offset;
    } cases[] = {
        {STM_PAT_TEXT, "/(abc/", "invalid regular expression: missing closing parenthesis", 5},
        {STM_PAT_TEXT, "/abc)/i", "invalid regular expression: unmatched closing parenthesis", 4},
        {STM_PAT_TEXT, "/[a-/", "invalid regular expression: missing terminating ]", 4},
        {STM_PAT_NOCASE, "/a{2,1}/", "invalid regular expression: numbers out of order", 6},
        {STM_PAT_TEXT, "/*x/", "invalid regular expression: quantifier does not follow", 1},
        {STM_PAT_TEXT, "/\\/", "invalid regular expression: \\ at end of pattern", 2},
        {STM_PAT_TEXT, "/\xff/", "invalid regular expression: UTF-8 error", 1},
        {STM_PAT_IP, "192.0.2.1/24", "192.0.2.1/24: host bits set; did you mean 192.0.2.0/24?", 0},
        {STM_PAT_IP, "192.0.2.0/33", "IPv4 allows /0 to /32", 0},
        {STM_PAT_IP, "192.0.2.256", "not an IP address", 0},
        {STM_PAT_IP, "2001:db8::/129", "IPv6 allows /0 to /128", 0},
        {STM_PAT_IP, "2001:zz8::", "not an IP address", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_pattern *p = stm_pattern_create(cases[i].kind);
        char *msg = NULL;
        size_t off = 12345;
        if (stm_pattern_add(p, cases[i].spec, &msg, &off) != -1)
            fail_msg("'%s' accepted", cases[i].spec);
        assert_non_null(msg);
        if (strstr(msg, cases[i].msg) == NULL)
            fail_msg("'%s': '%s' lacks '%s'", cases[i].spec, msg, cases[i].msg);
        if (off != cases[i].offset)
            fail_msg("'%s': offset %zu, want %zu", cases[i].spec, off, cases[i].offset);
        assert_string_equal(stm_pattern_text(p), ""); /* nothing was added */
        free(msg);
        stm_pattern_free(p);
    }
    stm_pattern *p = stm_pattern_create(STM_PAT_TEXT);
    char *msg = NULL;
    size_t off = 1;
    assert_int_equal(stm_pattern_add(p, NULL, &msg, &off), -1);
    assert_non_null(msg);
    free(msg);
    stm_pattern_free(p);
}

/* Lists: by address for IP patterns, by name or e-mail address otherwise. */
static void
test_lists(void **state)
{
    stm_list *nets = stm_list_create("trusted");
    stm_list *names = stm_list_create("bad");
    const char *err = NULL;
    static const char *const net_entries[] = {"192.0.2.0/24", "2001:db8::/32", "relay.example"};
    static const char *const name_entries[] = {".spam.example", "@phish.example",
                                               "boss@example.com", "exact.example"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(stm_list_add(nets, net_entries[i], &err), 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(stm_list_add(names, name_entries[i], &err), 0);

    stm_pattern *ip = stm_pattern_create(STM_PAT_IP);
    stm_pattern *nc = stm_pattern_create(STM_PAT_NOCASE);
    stm_pattern *tx = stm_pattern_create(STM_PAT_TEXT);
    assert_int_equal(stm_pattern_add_list(ip, nets), 0);
    assert_int_equal(stm_pattern_add_list(nc, names), 0);
    assert_int_equal(stm_pattern_add_list(tx, nets), 0);

    static const struct {
        int which; /* 0 ip, 1 nc, 2 tx */
        const char *value;
        bool want;
    } cases[] = {
        {0, "192.0.2.5", true},
        {0, "::ffff:192.0.2.5", true},
        {0, "IPv6:2001:db8:1::5", true},
        {0, "198.51.100.1", false},
        {0, "relay.example", true}, /* not an address: looked up as a name */
        {0, "unknown", false},
        {1, "a.spam.example", true},
        {1, "A.B.SPAM.EXAMPLE", true},
        {1, "spam.example", false},
        {1, "anyone@phish.example", true},
        {1, "<Anyone@Phish.Example>", true},
        {1, "boss@example.com", true},
        {1, "Boss@Example.Com", true},
        {1, "intern@example.com", false},
        {1, "exact.example", true},
        {1, "sub.exact.example", false},
        {2, "192.0.2.9", true}, /* a list of networks still works on text */
        {2, "RELAY.example", true},
        {2, "10.0.0.1", false},
    };
    stm_pattern *ps[] = {ip, nc, tx};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const stm_pattern *p = ps[cases[i].which];
        if (MATCH(p, cases[i].value) != cases[i].want)
            fail_msg("[%s] on '%s': want %d", stm_pattern_text(p), cases[i].value, cases[i].want);
        if (MATCH_BUF(p, cases[i].value, strlen(cases[i].value)) != cases[i].want)
            fail_msg("buf [%s] on '%s': want %d", stm_pattern_text(p), cases[i].value,
                     cases[i].want);
    }
    /* A buffer with a NUL in it never matches a list or a network. */
    assert_false(MATCH_BUF(ip, "192.0.2.5\0x", 11));
    assert_true(MATCH_BUF(ip, "192.0.2.5\0x", 9));
    stm_pattern_free(ip);
    stm_pattern_free(nc);
    stm_pattern_free(tx);
    stm_list_free(nets);
    stm_list_free(names);
}

/* Bodies: regexes search bytes past NULs; literals and globs are whole-buffer. */
static void
test_buffers(void **state)
{
    static const char body[] = "Subject: hi\r\n\r\nline one\0binary\xff\r\nVIAGRA here\r\n";
    size_t len = sizeof body - 1;
    static const char *const re[] = {"/viagra/i", NULL};
    static const char *const re_cs[] = {"/viagra/", NULL};
    static const char *const anchored[] = {"/^VIAGRA/m", NULL};
    static const char *const lit[] = {"line one", NULL};
    static const char *const glob[] = {"Subject:*here\r\n", NULL};
    stm_pattern *p = must_pattern(STM_PAT_TEXT, re);
    assert_true(MATCH_BUF(p, body, len));
    assert_false(MATCH(p, body)); /* as a C string it stops at the NUL */
    assert_false(MATCH_BUF(p, body, 20));
    assert_false(MATCH_BUF(p, NULL, 0));
    assert_false(MATCH_BUF(p, NULL, 5));
    stm_pattern_free(p);
    p = must_pattern(STM_PAT_TEXT, re_cs);
    assert_false(MATCH_BUF(p, body, len));
    stm_pattern_free(p);
    /* "/^VIAGRA/m" is a literal: "m" is not a flag we know. */
    p = must_pattern(STM_PAT_TEXT, anchored);
    assert_false(MATCH_BUF(p, body, len));
    assert_true(MATCH(p, "/^VIAGRA/m"));
    stm_pattern_free(p);
    p = must_pattern(STM_PAT_TEXT, lit);
    assert_false(MATCH_BUF(p, body, len)); /* not a substring search */
    assert_true(MATCH_BUF(p, "line one", 8));
    stm_pattern_free(p);
    p = must_pattern(STM_PAT_TEXT, glob);
    assert_true(MATCH_BUF(p, body, len)); /* "*" runs over the NUL */
    stm_pattern_free(p);

    /* A large buffer (over the on-stack copy) with an IP pattern. */
    static const char *const any_ip[] = {"0.0.0.0/0", "/needle/", NULL};
    p = must_pattern(STM_PAT_IP, any_ip);
    size_t big = 1 << 20;
    char *buf = malloc(big);
    assert_non_null(buf);
    memset(buf, 'x', big);
    assert_false(MATCH_BUF(p, buf, big));
    memcpy(buf + big - 6, "needle", 6);
    assert_true(MATCH_BUF(p, buf, big));
    free(buf);
    stm_pattern_free(p);

    /* A match too deep for the JIT stack still gets the right answer. */
    static const char *const deep[] = {"/^(a|b)*c$/", NULL};
    p = must_pattern(STM_PAT_TEXT, deep);
    size_t n = 100000;
    buf = malloc(n);
    assert_non_null(buf);
    memset(buf, 'a', n);
    buf[n - 1] = 'c';
    assert_true(MATCH_BUF(p, buf, n));
    buf[n - 1] = 'd';
    assert_false(MATCH_BUF(p, buf, n));
    free(buf);
    stm_pattern_free(p);
}

struct thread_arg {
    const stm_pattern *p;
    int hits;
};

/* Match a shared pattern many times; count the hits. */
static void *
thread_run(void *opaque)
{
    struct thread_arg *a = opaque;
    char value[64];
    for (int i = 0; i < 20000; i++) {
        snprintf(value, sizeof value, "host%d.%s.example", i, i % 2 ? "spam" : "ham");
        a->hits += MATCH(a->p, value);
    }
    return NULL;
}

/* Eight threads share one compiled pattern and all get the right answers. */
static void
test_threads(void **state)
{
    static const char *const specs[] = {"/\\.spam\\.example$/", "*.nothing", NULL};
    stm_pattern *p = must_pattern(STM_PAT_NOCASE, specs);
    pthread_t t[8];
    struct thread_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i].p = p;
        args[i].hits = 0;
        assert_int_equal(pthread_create(&t[i], NULL, thread_run, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(args[i].hits, 10000);
    }
    stm_pattern_free(p);
}

/* Run the group (one plan in TAP output). */
/* Catastrophic backtracking hits the match limit: an error with PCRE2's
 * reason, on strings and buffers, never "no match"; a large body that a
 * sane regex searches stays well within the limits. */
static void
test_regex_limits(void **state)
{
    (void)state;
    char evil[64], *err = NULL;
    memset(evil, 'a', 40);
    memcpy(evil + 40, "b", 2);
    stm_pattern *p = stm_pattern_create(STM_PAT_TEXT);
    assert_non_null(p);
    assert_int_equal(stm_pattern_add(p, "/(a+)+$/", &err, NULL), 0);
    assert_int_equal(stm_pattern_match(p, evil, &err), STM_MATCH_ERROR);
    assert_non_null(err);
    assert_non_null(strstr(err, "match limit"));
    assert_non_null(strstr(err, "/(a+)+$/"));
    free(err);
    err = NULL;
    assert_int_equal(stm_pattern_match_buf(p, evil, strlen(evil), &err), STM_MATCH_ERROR);
    free(err);
    err = NULL;
    assert_int_equal(stm_pattern_match(p, "aaa", &err), STM_MATCH_YES);
    assert_null(err);
    stm_pattern_free(p);

    size_t big = 8u << 20;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, 'x', big);
    memcpy(body + big - 6, "pills", 5);
    p = stm_pattern_create(STM_PAT_TEXT);
    assert_int_equal(stm_pattern_add(p, "/p[i1]lls/", &err, NULL), 0);
    assert_int_equal(stm_pattern_match_buf(p, body, big, &err), STM_MATCH_YES);
    assert_null(err);
    stm_pattern_free(p);
    free(body);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),  cmocka_unit_test(test_text),
        cmocka_unit_test(test_errors),       cmocka_unit_test(test_lists),
        cmocka_unit_test(test_buffers),      cmocka_unit_test(test_threads),
        cmocka_unit_test(test_regex_limits),
    };
    return cmocka_run_group_tests_name("pattern", tests, NULL, NULL);
}
