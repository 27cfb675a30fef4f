/*
 * test_units.c - table-driven tests of durations and sizes (units.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "match/units.h"

struct good_case {
    const char *text;
    uint64_t want;
};

struct bad_case {
    const char *text;
    const char *want_err; /* a substring of the message */
};

/* A parser under test: stm_units_duration_ms or stm_units_size. */
typedef int (*units_parser)(const char *text, uint64_t *out, const char **err);

/* Every case of CASES (N of them) parses to its value. */
static void
check_good(units_parser parse, const struct good_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t out = 12345;
        const char *err = NULL;
        if (parse(cases[i].text, &out, &err) != 0)
            fail_msg("%s: unexpected error %s", cases[i].text, err);
        assert_int_equal(out, cases[i].want);
    }
}

/* Every case of CASES (N of them) is refused with its message, *OUT untouched. */
static void
check_bad(units_parser parse, const struct bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t out = 12345;
        const char *err = NULL;
        int rc = parse(cases[i].text, &out, &err);
        if (rc != -1)
            fail_msg("'%s' accepted as %llu", cases[i].text, (unsigned long long)out);
        assert_non_null(err);
        if (strstr(err, cases[i].want_err) == NULL)
            fail_msg("'%s': message '%s' lacks '%s'", cases[i].text, err, cases[i].want_err);
        assert_int_equal(out, 12345);
    }
}

/* Every well-formed duration gives its value in milliseconds. */
static void
test_duration_good(void **state)
{
    static const struct good_case cases[] = {
        {"0s", 0},
        {"0ms", 0},
        {"500ms", 500},
        {"1ms", 1},
        {"30s", 30000},
        {"5m", 300000},
        {"12m", 720000},
        {"1h", 3600000},
        {"24h", 86400000},
        {"007s", 7000},
        {"18446744073709551615ms", UINT64_MAX},
        {"18446744073709551s", UINT64_C(18446744073709551000)},
    };
    check_good(stm_units_duration_ms, cases, sizeof cases / sizeof cases[0]);
}

/* Every malformed duration is refused with a clear message, *OUT untouched. */
static void
test_duration_bad(void **state)
{
    static const struct bad_case cases[] = {
        {"", "empty duration"},
        {"30", "duration needs a unit: ms, s, m or h"},
        {"0", "duration needs a unit"},
        {"-5s", "cannot be negative"},
        {"+5s", "whole number"},
        {"s", "whole number"},
        {"ms", "whole number"},
        {" 5s", "whole number"},
        {"1.5s", "unknown duration unit"},
        {"5sec", "unknown duration unit"},
        {"5 s", "unknown duration unit"},
        {"5s ", "unknown duration unit"},
        {"5S", "unknown duration unit"},
        {"5d", "unknown duration unit"},
        {"5mss", "unknown duration unit"},
        {"5k", "unknown duration unit"},
        {"18446744073709551616ms", "too large"},
        {"18446744073709552s", "too large"},
        {"99999999999999999999999999h", "too large"},
        {"5124095576030432h", "too large"},
    };
    check_bad(stm_units_duration_ms, cases, sizeof cases / sizeof cases[0]);
    {
        uint64_t out = 1;
        const char *err = NULL;
        assert_int_equal(stm_units_duration_ms(NULL, &out, &err), -1);
        assert_non_null(err);
    }
}

/* Every well-formed size gives its value in bytes (powers of 1024). */
static void
test_size_good(void **state)
{
    static const struct good_case cases[] = {
        {"0", 0},
        {"512", 512},
        {"10k", 10240},
        {"10K", 10240},
        {"25M", 25u * 1048576u},
        {"25m", 25u * 1048576u},
        {"1G", 1073741824u},
        {"1g", 1073741824u},
        {"50M", 52428800u},
        {"0k", 0},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183G", UINT64_C(17179869183) << 30},
    };
    check_good(stm_units_size, cases, sizeof cases / sizeof cases[0]);
}

/* Every malformed size is refused with a clear message, *OUT untouched. */
static void
test_size_bad(void **state)
{
    static const struct bad_case cases[] = {
        {"", "empty size"},
        {"-1", "cannot be negative"},
        {"-1k", "cannot be negative"},
        {"k", "whole number"},
        {"M", "whole number"},
        {" 10k", "whole number"},
        {"0x10", "unknown size unit"},
        {"1.5M", "unknown size unit"},
        {"10kb", "unexpected text after the size unit"},
        {"10KB", "unexpected text after the size unit"},
        {"10MiB", "unexpected text after the size unit"},
        {"10k ", "unexpected text after the size unit"},
        {"10 k", "unknown size unit"},
        {"10T", "unknown size unit"},
        {"10b", "unknown size unit"},
        {"18446744073709551616", "too large"},
        {"17179869184G", "too large"},
        {"18014398509481984k", "too large"},
    };
    check_bad(stm_units_size, cases, sizeof cases / sizeof cases[0]);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_good),
        cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_size_good),
        cmocka_unit_test(test_size_bad),
    };
    return cmocka_run_group_tests_name("units", tests, NULL, NULL);
}
