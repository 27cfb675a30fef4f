/*
 * test_mime.c - unit tests of policy/mime: decoded header values (RFC 2047
 * in UTF-8, ISO-8859-1, ISO-2022-JP), decoded text (base64, quoted-printable,
 * charsets, HTML without markup), URLs and their hosts, parts at any depth
 * with RFC 2231 names, archives (members, encryption, nesting, the byte
 * limit of a bomb), the limits and the defects of hostile input, and the
 * cache on a message.
 */
#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mime/mime.h"
#include "stagemilter/message.h"

/* Parse TEXT as a message within LIMITS (NULL: the defaults) into MSG. */
static const stm_mime *
parse(stm_message *msg, const char *text, size_t len, const stm_mime_limits *limits)
{
    static stm_mime_limits def;
    const char *err = NULL;
    stm_mime_limits_default(&def);
    stm_message_init(msg);
    assert_int_equal(stm_message_parse(msg, text, len, &err), 0);
    const stm_mime *m = stm_mime_of_message(msg, limits ? limits : &def, &err);
    assert_non_null(m);
    return m;
}

/* The first part named NAME, or NULL. */
static const stm_mime_part *
part_named(const stm_mime *m, const char *name)
{
    for (size_t i = 0; i < m->nparts; i++)
        if (strcmp(m->parts[i].name, name) == 0)
            return &m->parts[i];
    return NULL;
}

static bool
has_defect(const stm_mime *m, stm_mime_defect d)
{
    return (m->defects & (1u << d)) != 0;
}

/* RFC 2047 in three charsets, unfolded; 8-bit UTF-8 kept; raw text as is. */
static void
test_decode_header(void **state)
{
    static const struct {
        const char *raw, *want;
    } cases[] = {
        {"=?UTF-8?B?RmFjdHVyZSBpbXBhecOpZQ==?=", "Facture impay\xc3\xa9" "e"},
        {"=?ISO-8859-1?Q?Fa=E7ade_r=E9nov=E9e?=", "Fa\xc3\xa7" "ade r\xc3\xa9nov\xc3\xa9" "e"},
        {"=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=", "\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf"},
        {"Your =?UTF-8?Q?invoice?=\r\n =?UTF-8?Q?_is_due?=", "Your invoice is due"},
        {"plain\r\n\tfolded", "plain\tfolded"},
        {"caf\xc3\xa9 8-bit", "caf\xc3\xa9 8-bit"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *d = stm_mime_decode_header(cases[i].raw);
        assert_non_null(d);
        assert_string_equal(d, cases[i].want);
        free(d);
    }
}

static const char alt_msg[] =
    "From: a@example.org\r\n"
    "Subject: =?UTF-8?Q?caf=C3=A9?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/alternative; boundary=\"AA\"\r\n"
    "\r\n"
    "--AA\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Pay the factur=E9 at http://Pay.Example.COM./x?y=3D1, today=\r\n"
    " please.\r\n"
    "--AA\r\n"
    "Content-Type: text/html; charset=utf-8\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "PGh0bWw+PGJvZHk+PHA+Q2xpY2sgPGEgaHJlZj0iaHR0cHM6Ly91c2VyQFBoaXNoLkV4YW1w\r\n"
    "bGUubmV0OjgwODAvbG9naW4/YT0xJmFtcDtiPTIiPmhlcmU8L2E+ICZhbXA7IDxiPkluPC9i\r\n"
    "PnZvaWNlPC9wPjxzY3JpcHQ+dmFyIGhpZGRlbj0xOzwvc2NyaXB0PjxpbWcgc3JjPSdodHRw\r\n"
    "Oi8vY2RuLmV4YW1wbGUuY29tL3QucG5nJz48L2JvZHk+PC9odG1sPg==\r\n"
    "--AA--\r\n";

/* Text parts decoded and converted; HTML without markup; URLs from text and
 * from href/src, with their hosts. */
static void
test_text_and_urls(void **state)
{
    stm_message msg;
    (void)state;
    const stm_mime *m = parse(&msg, alt_msg, sizeof alt_msg - 1, NULL);
    assert_int_equal(m->nparts, 3);
    assert_string_equal(m->parts[0].type, "multipart/alternative");
    assert_true(m->parts[0].container);
    assert_string_equal(m->parts[1].type, "text/plain");
    assert_string_equal(m->parts[2].type, "text/html");
    assert_non_null(strstr(m->text, "Pay the factur\xc3\xa9 at"));
    assert_non_null(strstr(m->text, "today please."));
    assert_non_null(strstr(m->text, "Click here & Invoice"));
    assert_null(strstr(m->text, "hidden"));
    assert_null(strstr(m->text, "<b>"));
    assert_int_equal(m->nurls, 3);
    assert_string_equal(m->urls[0].url, "http://Pay.Example.COM./x?y=1");
    assert_string_equal(m->urls[0].host, "pay.example.com");
    assert_string_equal(m->urls[1].url, "https://user@Phish.Example.net:8080/login?a=1&b=2");
    assert_string_equal(m->urls[1].host, "phish.example.net");
    assert_int_equal(m->urls[1].part, 2);
    assert_string_equal(m->urls[2].host, "cdn.example.com");
    assert_int_equal(m->defects, 0);
    /* The second call gives the cached parse. */
    const char *err = NULL;
    stm_mime_limits l;
    stm_mime_limits_default(&l);
    assert_ptr_equal(stm_mime_of_message(&msg, &l, &err), m);
    /* A change to the message drops it. */
    assert_int_equal(stm_message_add_header(&msg, "X-New", "1"), 0);
    assert_null(msg.mime);
    stm_message_clear(&msg);
}

static const char nested_msg[] =
    "From: a@example.org\n"
    "Subject: nested\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\n"
    "\n"
    "--outer\n"
    "Content-Type: text/plain\n"
    "\n"
    "see the forwarded message\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: b@example.net\n"
    "Subject: inner\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/mixed; boundary=\"inner\"\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner text\n"
    "--inner\n"
    "Content-Type: application/octet-stream\n"
    "Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCg==\n"
    "--inner\n"
    "Content-Type: application/octet-stream; name=\"=?UTF-8?B?0YTQsNC50LsuZXhl?=\"\n"
    "Content-Transfer-Encoding: base64\n"
    "\n"
    "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
    "--inner--\n"
    "--outer--\n";

/* Parts at any depth (message/rfc822 too), RFC 2231 and RFC 2047 names,
 * decoded sizes, the type found from the content. */
static void
test_nested_parts(void **state)
{
    stm_message msg;
    (void)state;
    const stm_mime *m = parse(&msg, nested_msg, sizeof nested_msg - 1, NULL);
    assert_int_equal(m->nparts, 7);
    assert_string_equal(m->parts[2].type, "message/rfc822");
    assert_string_equal(m->parts[3].type, "multipart/mixed");
    assert_int_equal(m->parts[3].depth, 2);
    const stm_mime_part *pdf = part_named(m, "r\xc3\xa9sum\xc3\xa9.pdf");
    assert_non_null(pdf);
    assert_int_equal(pdf->depth, 3);
    assert_string_equal(pdf->detected_type, "application/pdf");
    assert_int_equal(pdf->size, 52);
    const stm_mime_part *exe = part_named(m, "\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.exe");
    assert_non_null(exe);
    assert_string_equal(exe->type, "application/octet-stream");
    assert_non_null(strstr(m->text, "inner text"));
    assert_false(m->parts[0].in_archive);
    stm_message_clear(&msg);
}

/* Hostile structure: a missing closing boundary, broken base64, broken
 * quoted-printable, an unknown charset (in text and in a file name), NUL
 * bytes, a long line: each is a defect, and what was readable counts. */
static void
test_defects(void **state)
{
    static const char text[] =
        "From: a@example.org\n"
        "Subject: broken\n"
        "X-Long: %s\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"BB\"\n"
        "\n"
        "--BB\n"
        "Content-Type: text/plain\n"
        "Content-Transfer-Encoding: base64\n"
        "\n"
        "SGVsbG8gd29y!!bGQ=\n"
        "--BB\n"
        "Content-Type: text/plain; charset=x-no-such-charset\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
        "caf=E9 =ZZ bad\n"
        "--BB\n"
        "Content-Type: application/octet-stream\n"
        "Content-Disposition: attachment; filename*=x-no-such-charset''%%E9t%%E9.txt\n"
        "\n"
        "a\n";
    char *long_value = malloc(2001);
    assert_non_null(long_value);
    memset(long_value, 'x', 2000);
    long_value[2000] = '\0';
    size_t n = sizeof text + 2000 + 8;
    char *buf = malloc(n);
    assert_non_null(buf);
    int len = snprintf(buf, n, text, long_value);
    buf[len - 2] = '\0'; /* a NUL byte in the last part */
    stm_message msg;
    (void)state;
    const stm_mime *m = parse(&msg, buf, (size_t)len, NULL);
    assert_true(has_defect(m, STM_MIME_DEFECT_MISSING_BOUNDARY));
    assert_true(has_defect(m, STM_MIME_DEFECT_BAD_ENCODING));
    assert_true(has_defect(m, STM_MIME_DEFECT_BAD_CHARSET));
    assert_true(has_defect(m, STM_MIME_DEFECT_NUL));
    assert_true(has_defect(m, STM_MIME_DEFECT_LONG_LINE));
    assert_true(m->parts[1].defects & (1u << STM_MIME_DEFECT_BAD_ENCODING));
    assert_true(m->parts[2].defects & (1u << STM_MIME_DEFECT_BAD_ENCODING));
    assert_true(m->parts[2].defects & (1u << STM_MIME_DEFECT_BAD_CHARSET));
    assert_true(m->parts[3].defects & (1u << STM_MIME_DEFECT_BAD_CHARSET));
    assert_non_null(strstr(m->text, "Hello wor"));
    assert_non_null(strstr(m->text, "caf\xc3\xa9"));
    assert_string_equal(stm_mime_defect_name(STM_MIME_DEFECT_MISSING_BOUNDARY),
                        "missing_boundary");
    stm_message_clear(&msg);
    free(buf);
    free(long_value);
}

/* A message of N parts (one multipart), or nested N deep when DEEP. */
static char *
many_parts(size_t n, bool deep, size_t *len)
{
    size_t cap = 200 + n * 100;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t at = (size_t)snprintf(s, cap, "Subject: many\nMIME-Version: 1.0\n"
                                         "Content-Type: multipart/mixed; boundary=\"b0\"\n\n");
    for (size_t i = 1; i <= n; i++) {
        if (deep && i < n)
            at += (size_t)snprintf(s + at, cap - at,
                                   "--b%zu\nContent-Type: multipart/mixed; boundary=\"b%zu\"\n\n",
                                   i - 1, i);
        else
            at += (size_t)snprintf(s + at, cap - at, "--b%zu\n\nx\n", deep ? i - 1 : 0);
        if (!deep && i == n)
            at += (size_t)snprintf(s + at, cap - at, "--b0--\n");
    }
    for (size_t i = n; deep && i-- > 0;)
        at += (size_t)snprintf(s + at, cap - at, "--b%zu--\n", i);
    *len = at;
    return s;
}

/* max_parts and max_depth: defect limit, what came before still counts;
 * 100,000 parts and 5,000 levels parse (quickly, within bounded memory:
 * tests/mime covers the figures). */
static void
test_limits(void **state)
{
    stm_message msg;
    size_t len;
    stm_mime_limits l;
    (void)state;
    stm_mime_limits_default(&l);
    l.max_parts = 10;
    char *s = many_parts(50, false, &len);
    const stm_mime *m = parse(&msg, s, len, &l);
    assert_int_equal(m->nparts, 10);
    assert_true(has_defect(m, STM_MIME_DEFECT_LIMIT));
    assert_true(m->parts[0].defects & (1u << STM_MIME_DEFECT_LIMIT));
    stm_message_clear(&msg);
    free(s);

    s = many_parts(100000, false, &len);
    m = parse(&msg, s, len, NULL);
    assert_int_equal(m->nparts, 1000);
    assert_true(has_defect(m, STM_MIME_DEFECT_LIMIT));
    stm_message_clear(&msg);
    free(s);

    l.max_parts = 1000;
    l.max_depth = 5;
    s = many_parts(30, true, &len);
    m = parse(&msg, s, len, &l);
    assert_int_equal(m->nparts, 6); /* depths 0 to 5 */
    assert_true(has_defect(m, STM_MIME_DEFECT_LIMIT));
    stm_message_clear(&msg);
    free(s);

    s = many_parts(5000, true, &len);
    m = parse(&msg, s, len, NULL);
    assert_true(has_defect(m, STM_MIME_DEFECT_LIMIT));
    assert_true(m->nparts <= 21);
    stm_message_clear(&msg);
    free(s);
}

/* An archive in memory: members NAMES with contents DATA (SIZES bytes),
 * in FORMAT ("zip", "7zip", "tar"), with PASSWORD (zip) when not NULL. */
static unsigned char *
make_archive(const char *format, const char *password, const char *const *names,
             const void *const *data, const size_t *sizes, size_t n, size_t *len)
{
    size_t cap = 1024 * 1024;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_set_format_by_name(a, format), ARCHIVE_OK);
    if (password != NULL) {
        assert_int_equal(archive_write_set_options(a, "zip:encryption=traditional"), ARCHIVE_OK);
        assert_int_equal(archive_write_set_passphrase(a, password), ARCHIVE_OK);
    }
    assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, names[i]);
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, (la_int64_t)sizes[i]);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        size_t done = 0;
        while (done < sizes[i]) { /* DATA NULL: zeros, for a bomb */
            static const char zeros[65536];
            size_t chunk = sizes[i] - done < sizeof zeros ? sizes[i] - done : sizeof zeros;
            const void *src = data[i] != NULL ? (const char *)data[i] + done : zeros;
            assert_true(archive_write_data(a, src, chunk) == (la_ssize_t)chunk);
            done += chunk;
        }
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return buf;
}

/* A message with ARCHIVE (LEN bytes) attached as NAME, base64. */
static char *
archive_message(const char *name, const unsigned char *archive, size_t len, size_t *out_len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t cap = 512 + len * 2;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t at = (size_t)snprintf(s, cap,
                                 "Subject: archive\nMIME-Version: 1.0\n"
                                 "Content-Type: multipart/mixed; boundary=\"x\"\n\n--x\n"
                                 "Content-Type: text/plain\n\nsee attached\n--x\n"
                                 "Content-Type: application/octet-stream\n"
                                 "Content-Disposition: attachment; filename=\"%s\"\n"
                                 "Content-Transfer-Encoding: base64\n\n",
                                 name);
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)archive[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)archive[i + 1] << 8;
        if (i + 2 < len)
            v |= archive[i + 2];
        s[at++] = b64[(v >> 18) & 63];
        s[at++] = b64[(v >> 12) & 63];
        s[at++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        s[at++] = i + 2 < len ? b64[v & 63] : '=';
        if ((i / 3) % 19 == 18)
            s[at++] = '\n';
    }
    at += (size_t)snprintf(s + at, cap - at, "\n--x--\n");
    *out_len = at;
    return s;
}

/* Members of a zip become parts (in_archive), an encrypted one is marked,
 * a zip inside a zip is opened, one more level is the defect limit. */
static void
test_archives(void **state)
{
    static const char exe[] = "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff";
    (void)state;
    const char *inner_names[] = {"payload.exe"};
    const void *inner_data[] = {exe};
    size_t inner_sizes[] = {sizeof exe - 1};
    size_t inner_len, enc_len, outer_len, mlen;
    unsigned char *inner = make_archive("zip", NULL, inner_names, inner_data, inner_sizes, 1,
                                        &inner_len);
    unsigned char *enc = make_archive("zip", "secret", inner_names, inner_data, inner_sizes, 1,
                                      &enc_len);
    const char *outer_names[] = {"readme.txt", "inner.zip", "locked.zip"};
    const void *outer_data[] = {"hello\n", inner, enc};
    size_t outer_sizes[] = {6, inner_len, enc_len};
    unsigned char *outer = make_archive("zip", NULL, outer_names, outer_data, outer_sizes, 3,
                                        &outer_len);
    char *text = archive_message("bundle.zip", outer, outer_len, &mlen);
    stm_message msg;
    const stm_mime *m = parse(&msg, text, mlen, NULL);
    const stm_mime_part *zip = part_named(m, "bundle.zip");
    assert_non_null(zip);
    assert_string_equal(zip->detected_type, "application/zip");
    assert_true(zip->container);
    const stm_mime_part *readme = part_named(m, "readme.txt");
    assert_non_null(readme);
    assert_true(readme->in_archive);
    assert_int_equal(readme->size, 6);
    assert_int_equal(readme->depth, zip->depth + 1);
    const stm_mime_part *payload = part_named(m, "payload.exe");
    assert_non_null(payload);
    assert_true(payload->in_archive);
    assert_false(payload->encrypted);
    assert_int_equal(payload->depth, zip->depth + 2);
    /* locked.zip is opened too: its member is listed, encrypted. */
    size_t encrypted = 0;
    for (size_t i = 0; i < m->nparts; i++)
        encrypted += m->parts[i].encrypted;
    assert_int_equal(encrypted, 1);
    assert_int_equal(m->defects, 0);
    stm_message_clear(&msg);

    /* archive_depth 1: the outer zip is opened, the inner ones are not. */
    stm_mime_limits l;
    stm_mime_limits_default(&l);
    l.archive_depth = 1;
    m = parse(&msg, text, mlen, &l);
    assert_non_null(part_named(m, "inner.zip"));
    assert_null(part_named(m, "payload.exe"));
    assert_true(has_defect(m, STM_MIME_DEFECT_LIMIT));
    stm_message_clear(&msg);
    free(text);
    free(outer);
    free(inner);
    free(enc);
}

/* A zip bomb: 64 MB of zeros in a small zip; with archive_bytes 4M the
 * reading stops there (defect limit), never expands it all. */
static void
test_zip_bomb(void **state)
{
    const char *names[] = {"zeros.bin"};
    const void *data[] = {NULL};
    size_t sizes[] = {64u * 1024 * 1024};
    size_t zlen, mlen;
    (void)state;
    unsigned char *zip = make_archive("zip", NULL, names, data, sizes, 1, &zlen);
    assert_true(zlen < 200 * 1024);
    char *text = archive_message("bomb.zip", zip, zlen, &mlen);
    stm_mime_limits l;
    stm_mime_limits_default(&l);
    l.archive_bytes = 4u * 1024 * 1024;
    stm_message msg;
    const stm_mime *m = parse(&msg, text, mlen, &l);
    const stm_mime_part *z = part_named(m, "zeros.bin");
    assert_non_null(z);
    assert_true(z->defects & (1u << STM_MIME_DEFECT_LIMIT));
    assert_true(m->archive_bytes <= l.archive_bytes + 64 * 1024);
    assert_true(z->size <= l.archive_bytes + 64 * 1024);
    stm_message_clear(&msg);
    free(text);
    free(zip);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_header), cmocka_unit_test(test_text_and_urls),
        cmocka_unit_test(test_nested_parts),  cmocka_unit_test(test_defects),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_archives),
        cmocka_unit_test(test_zip_bomb),
    };
    return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
