/*
 * test_log_json.c - unit tests of milter/report/log_json.c: a key=value
 * log line as one JSON object, valid whatever the bytes (checked with
 * jansson, which refuses invalid JSON and invalid UTF-8), with the same
 * fields as the text line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <cmocka.h>
#include <jansson.h>

#include "report/log_json.h"

/* LINE as JSON, parsed back; fails the test when it is not valid. */
static json_t *
roundtrip(const char *line, size_t outlen)
{
    char buf[STM_LOG_JSON_MAX + 1];
    assert_true(outlen <= sizeof buf);
    size_t n = stm_log_json(buf, outlen, LOG_NOTICE, line, 4242, 1700000000);
    assert_true(n < outlen);
    assert_int_equal(strlen(buf), n);
    json_error_t err;
    json_t *j = json_loads(buf, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL || !json_is_object(j))
        fail_msg("not a JSON object (%s at %d): %s", err.text, err.position, buf);
    return j;
}

static const char *
str(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_string(v))
        fail_msg("no string %s", key);
    return json_string_value(v);
}

/* The fields of a decision line, as the text line has them. */
static void
test_fields(void **state)
{
    (void)state;
    json_t *j = roundtrip("id=4QX1 stage=rcpt rule=\"no satan\" verdict=deny code=550 "
                          "enhanced=5.7.1 client=192.0.2.1 from=<alice@example.org> "
                          "rcpt=<devil@satan.org> text=\"go away\"",
                          STM_LOG_JSON_MAX);
    assert_string_equal(str(j, "id"), "4QX1");
    assert_string_equal(str(j, "stage"), "rcpt");
    assert_string_equal(str(j, "rule"), "no satan");
    assert_string_equal(str(j, "verdict"), "deny");
    assert_int_equal(json_integer_value(json_object_get(j, "code")), 550);
    assert_string_equal(str(j, "enhanced"), "5.7.1");
    assert_string_equal(str(j, "client"), "192.0.2.1");
    assert_string_equal(str(j, "from"), "alice@example.org");
    assert_string_equal(str(j, "rcpt"), "devil@satan.org");
    assert_string_equal(str(j, "text"), "go away");
    assert_string_equal(str(j, "level"), "notice");
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), 4242);
    assert_non_null(strstr(str(j, "time"), "T"));
    assert_null(json_object_get(j, "msg"));
    json_decref(j);

    /* Words that are not pairs are the message; a repeated key is numbered;
     * the null sender is "". */
    j = roundtrip("id=1.2 quarantine=q stored path=/x/y from=<> deleted=1 deleted=2 time=x "
                  "answering tempfail",
                  STM_LOG_JSON_MAX);
    assert_string_equal(str(j, "msg"), "stored answering tempfail");
    assert_string_equal(str(j, "path"), "/x/y");
    assert_string_equal(str(j, "from"), "");
    assert_int_equal(json_integer_value(json_object_get(j, "deleted")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "deleted_2")), 2);
    assert_string_equal(str(j, "time_2"), "x");
    /* "id=1.2" and "007" stay strings. */
    assert_string_equal(str(j, "id"), "1.2");
    json_decref(j);
    j = roundtrip("n=007 m=0 big=12345678901234567", STM_LOG_JSON_MAX);
    assert_string_equal(str(j, "n"), "007");
    assert_int_equal(json_integer_value(json_object_get(j, "m")), 0);
    assert_string_equal(str(j, "big"), "12345678901234567");
    json_decref(j);
}

/* Hostile bytes: quotes, backslashes, control bytes, DEL, 8-bit, invalid
 * UTF-8 (lone continuation, overlong, surrogate, past U+10FFFF, cut). */
static void
test_hostile(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "from=<a\"b\\c@example.org> text=\"x\\\"",
        "helo=\x01\x02\x1b[31m\x7f rule=\"\t\r\n\"",
        "subject=gr\xc3\xbc\xc3\x9f" "e bad=\xff\xfe lone=\x80 overlong=\xc0\xaf surrogate=\xed\xa0\x80",
        "past=\xf4\x90\x80\x80 cut=\xe2\x82",
        "\"=\"\"\" <>=<> ==== = \\ ",
        "a=<<<<>>> b=< c=\" d=<x> y>",
        "",
        "       ",
        "x=",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        json_decref(roundtrip(lines[i], STM_LOG_JSON_MAX));
    json_t *j = roundtrip("bad=a\xff" "b", STM_LOG_JSON_MAX);
    assert_string_equal(str(j, "bad"), "a\xef\xbf\xbd" "b"); /* U+FFFD */
    json_decref(j);
    j = roundtrip("q=\"say \\\"hi\\\"\"", STM_LOG_JSON_MAX);
    json_decref(j);
}

/* Random bytes, every buffer size down to the smallest: always one valid
 * object (a deterministic generator, so a failure repeats). */
static void
test_random(void **state)
{
    (void)state;
    uint32_t x = 2463534242u;
    char line[600];
    static const char alphabet[] = "ab=<>\" \\\x01\x7f\x80\xc3\xa4\xed\xf4\xff" "9_";
    for (int round = 0; round < 20000; round++) {
        size_t n = 0, len = (x % (sizeof line - 1));
        for (n = 0; n < len; n++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            line[n] = alphabet[x % (sizeof alphabet - 1)];
            if (line[n] == '\0')
                line[n] = 'z';
        }
        line[n] = '\0';
        size_t outlen = 128 + (x % 300) * (round % 3 == 0 ? 1 : 40);
        if (outlen > STM_LOG_JSON_MAX)
            outlen = STM_LOG_JSON_MAX;
        json_decref(roundtrip(line, outlen));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
