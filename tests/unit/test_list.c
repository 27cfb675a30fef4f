/*
 * test_list.c - table-driven tests of named lists (list.h): classification
 * of entries, lookups of names, addresses and IPs, list files with their
 * diagnostics, and a 100,000-entry list.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "match/list.h"

/* A list holding ENTRIES, each of which must be accepted. */
static stm_list *
must_list(const char *const *entries, size_t n)
{
    stm_list *l = stm_list_create("test");
    assert_non_null(l);
    for (size_t i = 0; i < n; i++) {
        const char *err = NULL;
        if (stm_list_add(l, entries[i], &err) != 0)
            fail_msg("entry '%s' refused: %s", entries[i], err);
    }
    return l;
}

/* Write TEXT to a new temporary file; caller frees the returned path. */
static char *
write_temp(const char *text)
{
    char *path = strdup("/tmp/test_list.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* Which entries are accepted, and with which message the others are refused. */
static void
test_add(void **state)
{
    static const struct {
        const char *entry;
        const char *err; /* NULL: accepted; else a substring of the message */
    } cases[] = {
        {"192.0.2.1", NULL},
        {"192.0.2.0/24", NULL},
        {"2001:db8::/32", NULL},
        {"[2001:db8::1]", NULL},
        {"IPv6:2001:db8::2", NULL},
        {"::/0", NULL},
        {"example.com", NULL},
        {".example.com", NULL},
        {"user@example.com", NULL},
        {"@example.org", NULL},
        {"localhost", NULL},
        {"xn--bcher-kva.example", NULL},
        {"b\xc3\xbc"
         "cher.example",
         NULL},
        {"10.1", NULL}, /* a (numeric) name, not an address */
        {"example.net.", NULL},
        {"", "empty list entry"},
        {"192.0.2.1/24", "host bits set"},
        {"192.0.2.300", "not an IP address"},
        {"2001:db8::g", "not an IP address"},
        {"example.com/24", "not an IP network"},
        {"host:25", "not an IP address"},
        {"1.2.3.4.5", NULL},
        {"user:x@example.com", NULL},
        {"192.0.2.0/33", "IPv4 allows /0 to /32"},
        {"*.example.com", "use a pattern in the rule for globs"},
        {"mail?.example.com", "use a pattern in the rule for globs"},
        {"/spam/", "list entries are addresses, networks, domains or e-mail addresses"},
        {"/spam/i", "use a pattern in the rule"},
        {"exa mple.com", "spaces or control characters"},
        {"example.com\t", "spaces or control characters"},
        {"user@", "without a domain"},
        {"@", "without a domain"},
        {".", "needs a name"},
    };
    stm_list *l = stm_list_create("t");
    assert_non_null(l);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *err = NULL;
        int rc = stm_list_add(l, cases[i].entry, &err);
        if (cases[i].err == NULL && rc != 0)
            fail_msg("'%s' refused: %s", cases[i].entry, err);
        if (cases[i].err != NULL) {
            if (rc != -1)
                fail_msg("'%s' accepted", cases[i].entry);
            if (err == NULL || strstr(err, cases[i].err) == NULL)
                fail_msg("'%s': '%s' lacks '%s'", cases[i].entry, err, cases[i].err);
        }
    }
    assert_int_equal(stm_list_size(l), 17);
    /* Duplicates, in any case or spelling, count once. */
    const char *err = NULL;
    assert_int_equal(stm_list_add(l, "EXAMPLE.COM", &err), 0);
    assert_int_equal(stm_list_add(l, "192.0.2.0/24", &err), 0);
    assert_int_equal(stm_list_add(l, "::ffff:192.0.2.1", &err), 0);
    assert_int_equal(stm_list_size(l), 17);
    assert_string_equal(stm_list_name(l), "t");
    stm_list_free(l);
    stm_list_free(NULL);
}

/* Name and e-mail lookups: exact, subdomains, domains of addresses, case. */
static void
test_match_string(void **state)
{
    static const char *const entries[] = {
        "example.com",        ".sub.example.org", "user@example.net", "@example.edu",
        "Mixed.Case.Example", "192.0.2.0/24",     "host.example.",
    };
    static const struct {
        const char *value;
        bool want;
    } cases[] = {
        {"example.com", true},
        {"EXAMPLE.COM", true},
        {"Example.Com.", true},     /* trailing dot of a fully qualified name */
        {"www.example.com", false}, /* "example.com" is that name only */
        {"xexample.com", false},
        {"example.co", false},
        {"sub.example.org", false}, /* ".sub.example.org" is below it only */
        {"a.sub.example.org", true},
        {"A.B.SUB.EXAMPLE.ORG", true},
        {"a.sub.example.org.evil", false},
        {"asub.example.org", false},
        {"user@example.net", true},
        {"USER@Example.NET", true},
        {"<user@example.net>", true},
        {"other@example.net", false},
        {"user@sub.example.net", false},
        {"anyone@example.edu", true},
        {"ANYONE@EXAMPLE.EDU", true},
        {"a@b@example.edu", true}, /* the domain is after the last "@" */
        {"x@mail.example.edu", false},
        {"example.edu", false},      /* "@example.edu" is about addresses */
        {"user@example.com", false}, /* a domain entry is not an address entry */
        {"mixed.case.example", true},
        {"host.example", true},
        {"192.0.2.77", true}, /* an address value also consults the networks */
        {"[192.0.2.77]", true},
        {"192.0.3.1", false},
        {"", false},
        {"<>", false},
        {".", false},
        {"@", false},
    };
    stm_list *l = must_list(entries, sizeof entries / sizeof entries[0]);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (stm_list_match_string(l, cases[i].value) != cases[i].want)
            fail_msg("'%s': want %d", cases[i].value, cases[i].want);
    assert_false(stm_list_match_string(l, NULL));
    stm_list_free(l);

    /* A list of names only never matches an address-shaped value by accident. */
    static const char *const only_names[] = {"example.com"};
    l = must_list(only_names, 1);
    assert_false(stm_list_match_string(l, "192.0.2.1"));
    stm_list_free(l);
}

/* IP lookups across families, at the edges of networks. */
static void
test_match_ip(void **state)
{
    static const struct {
        const char *entry; /* one entry per case, in a fresh list */
        const char *ip;
        bool want;
    } cases[] = {
        {"192.0.2.0/24", "192.0.2.9", true},
        {"192.0.2.0/24", "::ffff:192.0.2.9", true}, /* IPv4-mapped value */
        {"192.0.2.0/24", "IPv6:::ffff:192.0.2.9", true},
        {"192.0.2.0/24", "192.0.3.9", false},
        {"0.0.0.0/0", "198.51.100.1", true},
        {"0.0.0.0/0", "2001:db8::1", false},
        {"::/0", "2001:db8::1", true},
        {"::/0", "198.51.100.1", true},
        {"2001:db8::1/128", "2001:db8::1", true},
        {"2001:db8::1/128", "2001:db8::", false},
        {"2001:db8::/32", "2001:db8:ffff::1", true},
        {"192.0.2.7", "192.0.2.7", true},
        {"192.0.2.7", "192.0.2.6", false},
        {"example.com", "192.0.2.7", false}, /* no network entries at all */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_list *l = must_list(&cases[i].entry, 1);
        stm_ip ip;
        if (stm_ip_parse(cases[i].ip, &ip) != 0)
            fail_msg("bad test address %s", cases[i].ip);
        if (stm_list_match_ip(l, &ip) != cases[i].want)
            fail_msg("%s in [%s]: want %d", cases[i].ip, cases[i].entry, cases[i].want);
        stm_list_free(l);
    }
    /* String entries never match an IP lookup. */
    static const char *const names[] = {"192.0.2.1.example", "example.com"};
    stm_list *l = must_list(names, 2);
    stm_ip ip;
    assert_int_equal(stm_ip_parse("192.0.2.1", &ip), 0);
    assert_false(stm_list_match_ip(l, &ip));
    assert_false(stm_list_match_ip(l, NULL));
    stm_list_free(l);
}

/* A list file: comments, blank lines, trimming, and errors at FILE:LINE:COLUMN. */
static void
test_load_file(void **state)
{
    char *path = write_temp("# bad domains, one a line\n"
                            "\n"
                            "spam.example\n"
                            "   .bulk.example   \n"
                            "\tuser@phish.example\t# the usual suspect\n"
                            "192.0.2.0/24 # a network\n"
                            "evil#hash.example\n"
                            "  *.glob.example\n"
                            "   \t  \n"
                            "    # indented comment\n"
                            "10.0.0.1/8\n"
                            "crlf.example\r\n"
                            "last.example");
    stm_list *l = stm_list_create("bad");
    stm_diag *d = stm_diag_create();
    stm_srcpos pos = {"policy.yaml", 12, 18};

    int errors = stm_list_load_file(l, path, pos, d);
    assert_int_equal(errors, 2);
    assert_int_equal(stm_diag_errors(d), 2);
    const stm_diag_entry *e = stm_diag_get(d, 0);
    assert_string_equal(e->file, path);
    assert_int_equal(e->line, 8);
    assert_int_equal(e->column, 3);
    assert_non_null(strstr(e->message, "use a pattern in the rule for globs"));
    e = stm_diag_get(d, 1);
    assert_int_equal(e->line, 11);
    assert_int_equal(e->column, 1);
    assert_string_equal(e->message, "10.0.0.1/8: host bits set; did you mean 10.0.0.0/8?");

    assert_int_equal(stm_list_size(l), 7);
    static const struct {
        const char *value;
        bool want;
    } cases[] = {
        {"spam.example", true},  {"x.bulk.example", true},
        {"bulk.example", false}, {"user@phish.example", true},
        {"192.0.2.200", true},   {"evil#hash.example", true}, /* "#" inside a word */
        {"evil", false},         {"crlf.example", true},
        {"last.example", true},  {"a.glob.example", false},
        {"10.0.0.1", false},     {"# the usual suspect", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (stm_list_match_string(l, cases[i].value) != cases[i].want)
            fail_msg("'%s': want %d", cases[i].value, cases[i].want);
    unlink(path);
    free(path);
    stm_list_free(l);
    stm_diag_free(d);
}

/* An unreadable file is reported where the policy names it, with the reason. */
static void
test_load_missing(void **state)
{
    stm_list *l = stm_list_create("gone");
    stm_diag *d = stm_diag_create();
    stm_srcpos pos = {"policy.yaml", 7, 22};

    assert_int_equal(stm_list_load_file(l, "/nonexistent/list.txt", pos, d), 1);
    assert_int_equal(stm_diag_errors(d), 1);
    const stm_diag_entry *e = stm_diag_get(d, 0);
    assert_string_equal(e->file, "policy.yaml");
    assert_int_equal(e->line, 7);
    assert_int_equal(e->column, 22);
    assert_string_equal(e->message,
                        "cannot read list file /nonexistent/list.txt: No such file or directory");
    assert_int_equal(stm_list_size(l), 0);

    /* An empty file is an empty list, not an error. */
    char *path = write_temp("");
    assert_int_equal(stm_list_load_file(l, path, pos, d), 0);
    assert_int_equal(stm_diag_count(d), 1);
    unlink(path);
    free(path);
    stm_list_free(l);
    stm_diag_free(d);
}

/* Seconds since an arbitrary point. */
static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 100,000 domains and 20,000 networks from a file: load time, then lookups. */
static void
test_big(void **state)
{
    enum { NDOM = 100000, NNET = 20000 };
    char *path = strdup("/tmp/test_list_big.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fprintf(f, "# generated\n");
    for (int i = 0; i < NDOM; i++)
        fprintf(f, "%sd%d-%x.example%d.test\n", i % 10 == 0 ? "." : "", i, i * 7919, i % 13);
    for (int i = 0; i < NNET; i++)
        fprintf(f, "10.%d.%d.0/24\n", i / 256, i % 256);
    assert_int_equal(fclose(f), 0);

    stm_list *l = stm_list_create("big");
    stm_diag *d = stm_diag_create();
    stm_srcpos pos = {"policy.yaml", 1, 1};
    double t0 = now();
    assert_int_equal(stm_list_load_file(l, path, pos, d), 0);
    double t1 = now();
    assert_int_equal(stm_list_size(l), NDOM + NNET);
    print_message("# loaded %d entries in %.3f s\n", NDOM + NNET, t1 - t0);
    /* A loose bound (valgrind runs this too): catches quadratic behaviour,
     * which would take minutes; the real figure is printed above. */
    assert_true(t1 - t0 < 5.0);

    char value[96];
    int found = 0;
    for (int i = 0; i < NDOM; i++) {
        snprintf(value, sizeof value, "%sD%d-%x.Example%d.TEST", i % 10 == 0 ? "www.mail." : "", i,
                 i * 7919, i % 13);
        found += stm_list_match_string(l, value);
        snprintf(value, sizeof value, "d%d-%x.example%d.test", i, i * 7919, (i + 1) % 13);
        if (stm_list_match_string(l, value))
            fail_msg("absent %s found", value);
    }
    assert_int_equal(found, NDOM);
    for (int i = 0; i < NNET; i++) {
        stm_ip ip;
        snprintf(value, sizeof value, "10.%d.%d.%d", i / 256, i % 256, i % 250 + 1);
        assert_int_equal(stm_ip_parse(value, &ip), 0);
        assert_true(stm_list_match_ip(l, &ip));
    }
    stm_ip ip;
    assert_int_equal(stm_ip_parse("10.200.0.1", &ip), 0);
    assert_false(stm_list_match_ip(l, &ip));
    unlink(path);
    free(path);
    stm_list_free(l);
    stm_diag_free(d);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add),          cmocka_unit_test(test_match_string),
        cmocka_unit_test(test_match_ip),     cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_load_missing), cmocka_unit_test(test_big),
    };
    return cmocka_run_group_tests_name("list", tests, NULL, NULL);
}
