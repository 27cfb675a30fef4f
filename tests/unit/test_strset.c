/*
 * test_strset.c - tests of the case-insensitive string hash set (strset.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "match/strset.h"

/* Lookups ignore ASCII case, compare lengths, and accept unterminated keys. */
static void
test_basic(void **state)
{
    stm_strset *s = stm_strset_create();
    assert_non_null(s);
    assert_false(stm_strset_contains(s, "", 0));
    assert_false(stm_strset_contains(s, "x", 1));

    static const struct {
        const char *key;
        int want; /* return of add */
    } adds[] = {
        {"example.com", 1},
        {"EXAMPLE.COM", 0},
        {"Example.Com", 0},
        {".example.org", 1},
        {"user@Example.NET", 1},
        {"", 1},
        {"", 0},
        {"\xc3\x89t\xc3\xa9.fr", 1},
        {"\xc3\x89T\xc3\xa9.FR", 0},
    };
    for (size_t i = 0; i < sizeof adds / sizeof adds[0]; i++)
        if (stm_strset_add(s, adds[i].key, strlen(adds[i].key)) != adds[i].want)
            fail_msg("add %s: want %d", adds[i].key, adds[i].want);
    assert_int_equal(stm_strset_size(s), 5);

    static const struct {
        const char *key;
        bool want;
    } looks[] = {
        {"example.com", true},
        {"eXaMpLe.CoM", true},
        {"example.co", false},
        {"example.comm", false},
        {"xample.com", false},
        {".example.org", true},
        {"example.org", false},
        {"USER@example.net", true},
        {"@example.net", false},
        {"", true},
        {"\xc3\x89t\xc3\xa9.fr", true},
        {"\xc3\xa9t\xc3\xa9.fr", false}, /* non-ASCII bytes compare exactly */
    };
    for (size_t i = 0; i < sizeof looks / sizeof looks[0]; i++)
        if (stm_strset_contains(s, looks[i].key, strlen(looks[i].key)) != looks[i].want)
            fail_msg("contains %s: want %d", looks[i].key, looks[i].want);

    /* By pointer and length: a suffix of a longer value, not NUL-terminated. */
    const char *value = "mail.example.com.evil";
    assert_true(stm_strset_contains(s, value + 5, 11));
    assert_false(stm_strset_contains(s, value + 5, 12));
    assert_true(stm_strset_add(s, value, 4) == 1);
    assert_true(stm_strset_contains(s, "MAIL", 4));
    assert_false(stm_strset_contains(s, "mail.", 5));
    stm_strset_free(s);
    stm_strset_free(NULL);
}

/* Growth keeps every key findable; absent keys stay absent. */
static void
test_many(void **state)
{
    stm_strset *s = stm_strset_create();
    char key[64];
    const int n = 100000;

    assert_non_null(s);
    for (int i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "host%d.Domain%d.example", i, i % 97);
        assert_int_equal(stm_strset_add(s, key, (size_t)len), 1);
    }
    assert_int_equal(stm_strset_size(s), n);
    for (int i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "HOST%d.domain%d.EXAMPLE", i, i % 97);
        if (!stm_strset_contains(s, key, (size_t)len))
            fail_msg("lost %s", key);
        len = snprintf(key, sizeof key, "host%d.domain%d.example", i, (i + 1) % 97);
        if (stm_strset_contains(s, key, (size_t)len))
            fail_msg("found absent %s", key);
    }
    stm_strset_free(s);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests_name("strset", tests, NULL, NULL);
}
