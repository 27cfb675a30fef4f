/*
 * test_message.c - unit tests of policy/run/message.c: header order and lookup,
 * the size-limited body, and the .eml parser (LF, CRLF, folding, errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stagemilter/message.h"

/* Headers keep their order, lookups ignore case and find the first one. */
static void
test_headers(void **state)
{
    stm_message m;
    stm_message_init(&m);
    assert_int_equal(stm_message_add_header(&m, "Subject", "hello"), 0);
    assert_int_equal(stm_message_add_header(&m, "X-Tag", "one"), 0);
    assert_int_equal(stm_message_add_header(&m, "x-tag", "two"), 0);
    for (int i = 0; i < 40; i++) /* past the initial capacity */
        assert_int_equal(stm_message_add_header(&m, "Received", "from x"), 0);
    assert_int_equal(m.nheaders, 43);
    assert_string_equal(m.headers[0].name, "Subject");
    assert_string_equal(m.headers[2].value, "two");
    const stm_header *h = stm_message_find_header(&m, "X-TAG");
    assert_non_null(h);
    assert_string_equal(h->value, "one");
    assert_null(stm_message_find_header(&m, "X-Missing"));
    /* "Subject: hello\r\n" = 16 bytes, "X-Tag: one\r\n" = 12 ... */
    assert_int_equal(m.size, 16 + 12 + 12 + 40 * 18);
    stm_message_clear(&m);
    assert_int_equal(m.nheaders, 0);
    assert_null(m.headers);
    stm_message_clear(&m); /* clearing twice is harmless */
}

struct body_case {
    uint64_t limit;
    size_t chunks[4];
    bool truncated;
    size_t kept;
};

static const struct body_case body_cases[] = {
    {0, {10, 5000, 3, 0}, false, 5013},     /* no limit */
    {100, {50, 50, 0, 0}, false, 100},      /* exactly the limit */
    {100, {50, 51, 10, 0}, true, 0},        /* one byte over: dropped */
    {10, {0, 0, 0, 0}, false, 0},           /* nothing */
    {4096, {4000, 97, 1, 0}, true, 0},      /* over at the second chunk */
    {8192, {4095, 1, 4096, 0}, false, 8192} /* buffer growth */
};

/* The body is kept up to the limit; past it, dropped, but size counts on. */
static void
test_body_limit(void **state)
{
    static char buf[8192];
    memset(buf, 'a', sizeof buf);
    for (size_t i = 0; i < sizeof body_cases / sizeof body_cases[0]; i++) {
        const struct body_case *c = &body_cases[i];
        stm_message m;
        stm_message_init(&m);
        size_t total = 0;
        for (int j = 0; j < 4; j++) {
            assert_int_equal(stm_message_append_body(&m, buf, c->chunks[j], c->limit), 0);
            total += c->chunks[j];
        }
        assert_int_equal(m.truncated, c->truncated);
        assert_int_equal(m.body_len, c->kept);
        assert_int_equal(m.size, total);
        if (c->kept > 0) {
            assert_int_equal(m.body[c->kept], '\0');
            assert_int_equal(m.body[c->kept - 1], 'a');
        }
        if (c->truncated)
            assert_null(m.body);
        stm_message_clear(&m);
    }
}

/* The body may hold NUL bytes. */
static void
test_body_binary(void **state)
{
    stm_message m;
    stm_message_init(&m);
    assert_int_equal(stm_message_append_body(&m, "a\0b", 3, 0), 0);
    assert_int_equal(m.body_len, 3);
    assert_memory_equal(m.body, "a\0b", 4);
    stm_message_clear(&m);
}

struct parse_case {
    const char *name;
    const char *text;
    size_t nheaders;
    const char *hname[3];
    const char *hvalue[3];
    const char *body; /* NULL: no body */
};

static const struct parse_case parse_cases[] = {
    {"lf", "Subject: hi\nFrom: a@b\n\nbody\n", 2, {"Subject", "From"}, {"hi", "a@b"}, "body\n"},
    {"crlf",
     "Subject: hi\r\nFrom: a@b\r\n\r\nline1\r\nline2\r\n",
     2,
     {"Subject", "From"},
     {"hi", "a@b"},
     "line1\r\nline2\r\n"},
    {"folded lf",
     "Subject: one\n two\n\tthree\nX: y\n\nb",
     2,
     {"Subject", "X"},
     {"one\n two\n\tthree", "y"},
     "b"},
    {"folded crlf", "Subject: one\r\n  two\r\n\r\n", 1, {"Subject"}, {"one\r\n  two"}, NULL},
    {"only one space stripped",
     "X-A:   spaced\nX-B:tight\n\n",
     2,
     {"X-A", "X-B"},
     {"  spaced", "tight"},
     NULL},
    {"empty value", "X-Empty:\n\nb\n", 1, {"X-Empty"}, {""}, "b\n"},
    {"obsolete name space", "Subject : x\n\n", 1, {"Subject"}, {"x"}, NULL},
    {"colon in value", "X-Url: http://a:b/\n\n", 1, {"X-Url"}, {"http://a:b/"}, NULL},
    {"no body, no empty line", "Subject: x\n", 1, {"Subject"}, {"x"}, NULL},
    {"no final newline", "Subject: x", 1, {"Subject"}, {"x"}, NULL},
    {"mbox From line",
     "From a@b Mon Jan 1 00:00:00 2024\nSubject: x\n\nb",
     1,
     {"Subject"},
     {"x"},
     "b"},
    {"empty message", "", 0, {NULL}, {NULL}, NULL},
    {"body only", "\nbody", 0, {NULL}, {NULL}, "body"},
    {"empty line inside body kept", "A: 1\n\nx\n\ny\n", 1, {"A"}, {"1"}, "x\n\ny\n"},
};

/* Parse well-formed messages: headers, values, body, size. */
static void
test_parse(void **state)
{
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const struct parse_case *c = &parse_cases[i];
        stm_message m;
        const char *err = NULL;
        stm_message_init(&m);
        print_message("case %s\n", c->name);
        assert_int_equal(stm_message_parse(&m, c->text, strlen(c->text), &err), 0);
        assert_int_equal(m.nheaders, c->nheaders);
        for (size_t j = 0; j < c->nheaders; j++) {
            assert_string_equal(m.headers[j].name, c->hname[j]);
            assert_string_equal(m.headers[j].value, c->hvalue[j]);
        }
        if (c->body == NULL) {
            assert_int_equal(m.body_len, 0);
        } else {
            assert_int_equal(m.body_len, strlen(c->body));
            assert_memory_equal(m.body, c->body, m.body_len);
        }
        assert_int_equal(m.size, strlen(c->text));
        assert_false(m.truncated);
        stm_message_clear(&m);
    }
}

struct parse_error_case {
    const char *text;
    const char *err;
};

static const struct parse_error_case parse_error_cases[] = {
    {" leading continuation\n\n", "continuation line before the first header"},
    {"Subject: ok\nno colon here\n\nbody", "header line without a colon"},
    {": no name\n\n", "header with an empty name"},
    {"Bad Name: x\n\n", "header name with a space or control character"},
};

/* Malformed headers are refused with a description; the message stays empty. */
static void
test_parse_errors(void **state)
{
    for (size_t i = 0; i < sizeof parse_error_cases / sizeof parse_error_cases[0]; i++) {
        const struct parse_error_case *c = &parse_error_cases[i];
        stm_message m;
        const char *err = NULL;
        stm_message_init(&m);
        assert_int_equal(stm_message_parse(&m, c->text, strlen(c->text), &err), -1);
        assert_non_null(err);
        assert_string_equal(err, c->err);
        assert_int_equal(m.nheaders, 0);
        assert_null(m.body);
    }
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),      cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_body_binary),  cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests_name("message", tests, NULL, NULL);
}
