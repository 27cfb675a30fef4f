/*
 * test_message.c - unit tests of policy/run/message.c: header order and lookup,
 * the size-limited body, the spooled body (milter.spool), and the .eml
 * parser (LF, CRLF, folding, errors).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stagemilter/config.h"
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

/* How many descriptors this process has open (/proc/self/fd). */
static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    assert_non_null(d);
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* How many names DIR holds besides . and .. */
static int
dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

/* A new spool directory under /tmp of MEMORY bytes into SP. */
static void
spool_setup(stm_spool_config *sp, char *dir, uint64_t memory)
{
    assert_non_null(mkdtemp(dir));
    sp->directory = dir;
    sp->memory = memory;
}

/* Byte I of the test body: every value, no period shorter than 251. */
static char
body_byte(size_t i)
{
    return (char)((i * 7 + i / 251) & 0xff);
}

/* Append LEN test bytes from offset FROM, in pieces of PIECE. */
static void
append_test_body(stm_message *m, size_t from, size_t len, size_t piece, uint64_t limit)
{
    char *buf = malloc(piece);
    assert_non_null(buf);
    for (size_t off = from; off < from + len; off += piece) {
        size_t n = from + len - off < piece ? from + len - off : piece;
        for (size_t i = 0; i < n; i++)
            buf[i] = body_byte(off + i);
        assert_int_equal(stm_message_append_body(m, buf, n, limit), 0);
    }
    free(buf);
}

/* Every byte of the body read back with stm_message_body_at in pieces of MAX. */
static void
check_body_at(const stm_message *m, size_t len, size_t max)
{
    char *buf = malloc(max);
    const char *p;
    ssize_t n;
    uint64_t off = 0;
    assert_non_null(buf);
    while ((n = stm_message_body_at(m, off, buf, max, &p)) > 0) {
        assert_true((size_t)n <= max);
        for (ssize_t i = 0; i < n; i++)
            if (p[i] != body_byte(off + (size_t)i))
                fail_msg("byte %llu differs", (unsigned long long)(off + (size_t)i));
        off += (uint64_t)n;
    }
    assert_int_equal(n, 0);
    assert_int_equal(off, len);
    free(buf);
}

/* Below spool.memory the body stays in memory; past it, it moves to an
 * unlinked spool file read back by stm_message_body_at, the directory
 * stays empty, and clearing the message closes the file. */
static void
test_spool_body(void **state)
{
    char dir[] = "/tmp/stm-spool-XXXXXX";
    stm_spool_config sp;
    stm_message m;
    int fds = open_fds();

    spool_setup(&sp, dir, 64 * 1024);
    stm_message_init(&m);
    stm_message_set_spool(&m, &sp);
    append_test_body(&m, 0, 64 * 1024, 1000, 0); /* exactly memory: in memory */
    assert_false(m.spooled);
    assert_non_null(m.body);
    assert_int_equal(m.body_len, 64 * 1024);
    check_body_at(&m, 64 * 1024, 3000);
    assert_int_equal(open_fds(), fds);
    append_test_body(&m, 64 * 1024, 1, 1, 0); /* one byte more: spooled */
    assert_true(m.spooled);
    assert_null(m.body);
    assert_int_equal(open_fds(), fds + 1);
    append_test_body(&m, 64 * 1024 + 1, 3 * 1024 * 1024, 65536 + 3, 0);
    size_t len = 64 * 1024 + 1 + 3 * 1024 * 1024;
    assert_int_equal(m.body_len, len);
    assert_int_equal(m.size, len);
    struct stat st;
    assert_int_equal(fstat(m.spool_fd, &st), 0);
    assert_int_equal(st.st_size, len);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(dir_entries(dir), 0); /* unlinked */
    check_body_at(&m, len, 4096);
    check_body_at(&m, len, 1 << 20);
    check_body_at(&m, len, 7);
    stm_message_clear(&m);
    assert_int_equal(open_fds(), fds);
    assert_false(m.spooled);
    assert_ptr_equal(m.spool, &sp); /* the setting stays for the next message */
    /* The next message of the session spools again. */
    append_test_body(&m, 0, 200 * 1024, 50000, 0);
    assert_true(m.spooled);
    check_body_at(&m, 200 * 1024, 65536);
    stm_message_clear(&m);
    assert_int_equal(open_fds(), fds);
    assert_int_equal(rmdir(dir), 0);
}

/* max_message_size past a spooled body drops it and closes the file. */
static void
test_spool_truncate(void **state)
{
    char dir[] = "/tmp/stm-spool-XXXXXX";
    stm_spool_config sp;
    stm_message m;
    int fds = open_fds();

    spool_setup(&sp, dir, 1000);
    stm_message_init(&m);
    stm_message_set_spool(&m, &sp);
    append_test_body(&m, 0, 5000, 999, 10000);
    assert_true(m.spooled);
    assert_int_equal(open_fds(), fds + 1);
    append_test_body(&m, 5000, 5001, 5001, 10000); /* 10001 > 10000 */
    assert_true(m.truncated);
    assert_false(m.spooled);
    assert_null(m.body);
    assert_int_equal(m.body_len, 0);
    assert_int_equal(m.size, 10001);
    assert_int_equal(open_fds(), fds);
    append_test_body(&m, 0, 5000, 5000, 10000); /* counted, never kept */
    assert_int_equal(m.size, 15001);
    assert_int_equal(open_fds(), fds);
    const char *p;
    char buf[16];
    assert_int_equal(stm_message_body_at(&m, 0, buf, sizeof buf, &p), 0);
    stm_message_clear(&m);
    assert_int_equal(open_fds(), fds);
    assert_int_equal(rmdir(dir), 0);
}

/* A spool directory that is missing: the append that needs it fails with
 * -1 and errno, and the message is as it was. */
static void
test_spool_missing_dir(void **state)
{
    char dir[] = "/tmp/stm-spool-XXXXXX";
    stm_spool_config sp;
    stm_message m;
    int fds = open_fds();

    spool_setup(&sp, dir, 100);
    assert_int_equal(rmdir(dir), 0);
    stm_message_init(&m);
    stm_message_set_spool(&m, &sp);
    append_test_body(&m, 0, 100, 100, 0);
    char more[50];
    for (size_t i = 0; i < sizeof more; i++)
        more[i] = body_byte(100 + i);
    errno = 0;
    assert_int_equal(stm_message_append_body(&m, more, sizeof more, 0), -1);
    assert_int_equal(errno, ENOENT);
    assert_false(m.spooled);
    assert_int_equal(m.body_len, 100);
    assert_int_equal(m.size, 100);
    check_body_at(&m, 100, 64);
    assert_int_equal(open_fds(), fds);
    stm_message_clear(&m);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers),      cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_body_binary),  cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_spool_body),
        cmocka_unit_test(test_spool_truncate), cmocka_unit_test(test_spool_missing_dir),
    };
    return cmocka_run_group_tests_name("message", tests, NULL, NULL);
}
