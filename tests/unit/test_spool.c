/*
 * test_spool.c - unit tests of what reads a spooled body (milter.spool):
 * the MIME parse of a spooled message (policy/mime) against the same
 * message parsed in memory over messages of tests/mime/corpus, the cap on
 * the text kept of a spooled message, and raw_body searched window by
 * window (policy/cond/cond_message.c) through the engine.
 */
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mime/mime.h"
#include "run/session_internal.h"
#include "stagemilter/limits.h"
#include "stagemilter/message.h"

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

/* The whole file tests/mime/corpus/NAME; *LEN its size. Caller frees. */
static char *
corpus_file(const char *name, size_t *len)
{
    const char *top = getenv("top_srcdir");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/mime/corpus/%s", top ? top : ".", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    data[n] = '\0';
    *len = (size_t)n;
    return data;
}

/* The same two strings, both NULL or equal. */
static void
same_str(const char *what, const char *a, const char *b)
{
    if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
        fail_msg("%s: in memory '%s', spooled '%s'", what, a ? a : "(null)", b ? b : "(null)");
}

/* Two parses that must say the same. */
static void
same_mime(const char *name, const stm_mime *a, const stm_mime *b)
{
    print_message("%s: %zu parts, %zu text bytes, %zu urls, defects %#x\n", name, a->nparts,
                  a->text_len, a->nurls, a->defects);
    same_str("subject", a->subject, b->subject);
    assert_int_equal(a->nparts, b->nparts);
    for (size_t i = 0; i < a->nparts; i++) {
        const stm_mime_part *p = &a->parts[i], *q = &b->parts[i];
        same_str("type", p->type, q->type);
        same_str("detected_type", p->detected_type, q->detected_type);
        same_str("name", p->name, q->name);
        if (p->size != q->size || p->parent != q->parent || p->depth != q->depth ||
            p->container != q->container || p->in_archive != q->in_archive ||
            p->encrypted != q->encrypted || p->defects != q->defects)
            fail_msg("%s part %zu (%s %s): size %llu/%llu parent %d/%d depth %u/%u container "
                     "%d/%d in_archive %d/%d encrypted %d/%d defects %#x/%#x",
                     name, i, p->type, p->name, (unsigned long long)p->size,
                     (unsigned long long)q->size, p->parent, q->parent, p->depth, q->depth,
                     p->container, q->container, p->in_archive, q->in_archive, p->encrypted,
                     q->encrypted, p->defects, q->defects);
    }
    assert_int_equal(a->text_len, b->text_len);
    assert_memory_equal(a->text, b->text, a->text_len);
    assert_int_equal(a->nurls, b->nurls);
    for (size_t i = 0; i < a->nurls; i++) {
        same_str("url", a->urls[i].url, b->urls[i].url);
        same_str("host", a->urls[i].host, b->urls[i].host);
        assert_int_equal(a->urls[i].part, b->urls[i].part);
    }
    assert_int_equal(a->defects, b->defects);
    assert_int_equal(a->archive_bytes, b->archive_bytes);
    assert_int_equal(a->archive_members, b->archive_members);
}

/* A message parsed from DATA, spooled past SPOOL's memory when SPOOL. */
static void
load_message(stm_message *msg, const char *data, size_t len, const stm_spool_config *spool)
{
    const char *err = NULL;
    stm_message_init(msg);
    stm_message_set_spool(msg, spool);
    assert_int_equal(stm_message_parse(msg, data, len, &err), 0);
}

/* A part of M declared TYPE, or NULL. */
static const stm_mime_part *
part_typed(const stm_mime *m, const char *type)
{
    for (size_t i = 0; i < m->nparts; i++)
        if (strcmp(m->parts[i].type, type) == 0)
            return &m->parts[i];
    return NULL;
}

/* Each corpus message parsed in memory and spooled (spool.memory 1 KiB:
 * the body and every larger part go to spool files) gives the same parse. */
static void
test_mime_same(void **state)
{
    static const char *const names[] = {
        "mutt-exe-in-zip.eml",   "mutt-nested-zip.eml",     "python-nested-rfc822.eml",
        "python-html-links.eml", "mutt-attachments.eml",    "mutt-encrypted-zip.eml",
        "mutt-7z.eml",           "mpack-pdf.eml",           "swaks-attach.eml",
        "mutt-zip-bomb.eml",     "hostile-broken-base64.eml", "hostile-missing-boundary.eml",
        "python-rfc2231-names.eml", "hostile-nul-bytes.eml",
    };
    char dir[] = "/tmp/stm-spool-XXXXXX";
    stm_spool_config sp = {mkdtemp(dir), 16};
    stm_mime_limits lim;
    (void)state;
    assert_non_null(sp.directory);
    stm_mime_limits_default(&lim);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t len;
        char *data = corpus_file(names[i], &len);
        stm_message mem, spooled;
        const char *err = NULL;
        load_message(&mem, data, len, NULL);
        load_message(&spooled, data, len, &sp);
        assert_false(mem.spooled);
        assert_true(spooled.spooled || mem.body_len <= sp.memory);
        const stm_mime *a = stm_mime_of_message(&mem, &lim, &err);
        const stm_mime *b = stm_mime_of_message(&spooled, &lim, &err);
        assert_non_null(a);
        assert_non_null(b);
        same_mime(names[i], a, b);
        assert_int_equal(dir_entries(dir), 0);
        stm_message_clear(&mem);
        stm_message_clear(&spooled);
        free(data);
    }
    /* What the comparison is about is there. */
    size_t len;
    char *data = corpus_file("mutt-exe-in-zip.eml", &len);
    stm_message m;
    const char *err = NULL;
    load_message(&m, data, len, &sp);
    const stm_mime *mm = stm_mime_of_message(&m, &lim, &err);
    bool exe = false;
    for (size_t i = 0; i < mm->nparts; i++)
        exe |= mm->parts[i].in_archive && strstr(mm->parts[i].name, ".exe") != NULL;
    assert_true(exe);
    stm_message_clear(&m);
    free(data);
    data = corpus_file("python-nested-rfc822.eml", &len);
    load_message(&m, data, len, &sp);
    mm = stm_mime_of_message(&m, &lim, &err);
    assert_non_null(part_typed(mm, "message/rfc822"));
    stm_message_clear(&m);
    free(data);
    data = corpus_file("python-html-links.eml", &len);
    load_message(&m, data, len, &sp);
    mm = stm_mime_of_message(&m, &lim, &err);
    assert_non_null(part_typed(mm, "text/html"));
    assert_true(mm->nurls > 0);
    stm_message_clear(&m);
    free(data);
    assert_int_equal(rmdir(dir), 0);
}

/* A message of one base64 text/plain part of TEXTLEN bytes: "w0 w1 ...",
 * then LAST at its very end. Caller frees. */
static char *
big_text_message(size_t textlen, const char *last, size_t *len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *text = malloc(textlen + 1);
    assert_non_null(text);
    size_t n = 0;
    for (unsigned w = 0; n < textlen - strlen(last); w++)
        n += (size_t)snprintf(text + n, textlen + 1 - n, w % 12 == 11 ? "w%u\n" : "w%u ", w);
    n = textlen - strlen(last);
    memcpy(text + n, last, strlen(last));
    static const char head[] = "From: a@example.net\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
                               "Content-Type: text/plain; charset=us-ascii\r\n"
                               "Content-Transfer-Encoding: base64\r\n\r\n";
    size_t cap = sizeof head + textlen / 57 * 78 + 200;
    char *out = malloc(cap);
    assert_non_null(out);
    size_t o = sizeof head - 1;
    memcpy(out, head, o);
    for (size_t i = 0; i < textlen; i += 57) {
        size_t k = textlen - i < 57 ? textlen - i : 57;
        for (size_t j = 0; j < k; j += 3) {
            unsigned v = (unsigned char)text[i + j] << 16;
            if (j + 1 < k)
                v |= (unsigned char)text[i + j + 1] << 8;
            if (j + 2 < k)
                v |= (unsigned char)text[i + j + 2];
            out[o++] = b64[v >> 18 & 63];
            out[o++] = b64[v >> 12 & 63];
            out[o++] = j + 1 < k ? b64[v >> 6 & 63] : '=';
            out[o++] = j + 2 < k ? b64[v & 63] : '=';
        }
        out[o++] = '\r';
        out[o++] = '\n';
    }
    assert_true(o < cap);
    free(text);
    *len = o;
    return out;
}

/* A spooled text part larger than the text kept (STM_MIME_SPOOLED_TEXT)
 * gives the defect limit; its size is still the whole part, and the text
 * kept is its start. The same part in memory is kept whole. */
static void
test_mime_text_cap(void **state)
{
    char dir[] = "/tmp/stm-spool-XXXXXX";
    stm_spool_config sp = {mkdtemp(dir), 64 * 1024};
    stm_mime_limits lim;
    size_t len;
    const char *err = NULL;
    (void)state;
    stm_mime_limits_default(&lim);
    char *data = big_text_message(3 * 1024 * 1024, "THEVERYLASTWORD\n", &len);
    stm_message m;
    load_message(&m, data, len, &sp);
    assert_true(m.spooled);
    const stm_mime *mm = stm_mime_of_message(&m, &lim, &err);
    assert_non_null(mm);
    assert_true(mm->defects & (1u << STM_MIME_DEFECT_LIMIT));
    assert_true(mm->text_len <= STM_MIME_SPOOLED_TEXT + 1);
    assert_true(mm->text_len >= STM_MIME_SPOOLED_TEXT - 16);
    assert_memory_equal(mm->text, "w0 w1 w2 ", 9);
    assert_null(strstr(mm->text, "THEVERYLASTWORD"));
    const stm_mime_part *p = part_typed(mm, "text/plain");
    assert_non_null(p);
    assert_int_equal(p->size, 3 * 1024 * 1024);
    assert_true(p->defects & (1u << STM_MIME_DEFECT_LIMIT));
    assert_int_equal(dir_entries(dir), 0);
    stm_message_clear(&m);
    /* In memory: no cap. */
    load_message(&m, data, len, NULL);
    mm = stm_mime_of_message(&m, &lim, &err);
    assert_false(mm->defects & (1u << STM_MIME_DEFECT_LIMIT));
    assert_non_null(strstr(mm->text, "THEVERYLASTWORD"));
    stm_message_clear(&m);
    /* Spooled, but below the cap: whole. */
    free(data);
    data = big_text_message(200 * 1024, "THEVERYLASTWORD\n", &len);
    load_message(&m, data, len, &sp);
    assert_true(m.spooled);
    mm = stm_mime_of_message(&m, &lim, &err);
    assert_false(mm->defects & (1u << STM_MIME_DEFECT_LIMIT));
    assert_non_null(strstr(mm->text, "THEVERYLASTWORD"));
    stm_message_clear(&m);
    free(data);
    assert_int_equal(rmdir(dir), 0);
}

/* A part that cannot be decoded into the spool whole (the file size limit
 * stands for a full disk) fails the parse with a reason, rather than
 * being judged on what was written. */
static void
test_mime_spool_write_fails(void **state)
{
    char dir[] = "/tmp/stm-spool-XXXXXX";
    stm_spool_config sp = {mkdtemp(dir), 64 * 1024};
    stm_mime_limits lim;
    size_t len;
    const char *err = NULL;
    (void)state;
    stm_mime_limits_default(&lim);
    char *data = big_text_message(3 * 1024 * 1024, "THEVERYLASTWORD\n", &len);
    stm_message m;
    load_message(&m, data, len, &sp);
    assert_true(m.spooled);
    struct rlimit old, small = {1024 * 1024, 0};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    const stm_mime *mm = stm_mime_of_message(&m, &lim, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    assert_null(mm);
    assert_non_null(err);
    assert_non_null(strstr(err, "milter.spool.directory"));
    stm_message_clear(&m);
    /* With room, the same message parses. */
    load_message(&m, data, len, &sp);
    assert_non_null(stm_mime_of_message(&m, &lim, &err));
    stm_message_clear(&m);
    free(data);
    assert_int_equal(dir_entries(dir), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* The engine's log hook: nothing kept. */
static void
h_log(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    (void)ctx, (void)s, (void)stage, (void)rule, (void)text;
}

/* The verb of rule "if: COND then: deny" over the message DATA under a
 * policy spooling past 64 KiB into DIR; *SPOOLED whether it was. */
static stm_verb
judge(const char *dir, const char *cond, const char *data, size_t len, bool *spooled)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "milter:\n  max_message_size: 100M\n  spool: {directory: %s, memory: 64K}\n"
             "stages:\n  preq:\n    - rule: r\n      if: %s\n      then: deny\n",
             dir, cond);
    stm_diag *diag = stm_diag_create();
    stm_policy *policy = stm_policy_load_text("test.yaml", yaml, strlen(yaml), diag);
    if (policy == NULL)
        stm_diag_print(diag, stderr);
    stm_diag_free(diag);
    assert_non_null(policy);
    stm_session *s = stm_session_create(policy, "T1");
    assert_non_null(s);
    stm_engine_hooks hooks = {.log = h_log};
    assert_int_equal(stm_session_set_client(s, "192.0.2.1", "40000", "mx.example.net"), 0);
    assert_int_equal(stm_session_set_helo(s, "helo.example.net"), 0);
    assert_int_equal(stm_session_begin_transaction(s, "alice@example.net"), 0);
    assert_int_equal(stm_session_set_rcpt(s, "bob@example.org"), 0);
    assert_int_equal(stm_session_accept_rcpt(s), 0);
    stm_message *m = stm_session_message(s);
    const char *err = NULL;
    assert_int_equal(stm_message_parse(m, data, len, &err), 0);
    *spooled = m->spooled;
    stm_verdict v;
    assert_int_equal(stm_engine_run_eom(s, &hooks, &v), 0);
    if (v.error != NULL)
        fail_msg("%s: %s", cond, v.error);
    stm_verb verb = v.verb;
    stm_verdict_clear(&v);
    stm_session_free(s);
    stm_policy_unref(policy);
    return verb;
}

/* raw_body over a spooled 3 MB body: a match at its very end, matches that
 * straddle a window boundary (the windows are 256 KiB, the next starting
 * at a line start at least 16 KiB before the end of the one before), and
 * no false match; decoded body sees the text (a word at the end of a text
 * part past the text cap is not seen: the defect limit says so). */
static void
test_raw_body_windows(void **state)
{
    enum { W = 256 * 1024, BODY = 3 * 1024 * 1024 };
    char dir[] = "/tmp/stm-spool-XXXXXX";
    (void)state;
    assert_non_null(mkdtemp(dir));
    static const char head[] = "Subject: big\r\n\r\n";
    size_t hl = sizeof head - 1;
    char *data = malloc(hl + BODY + 1);
    assert_non_null(data);
    memcpy(data, head, hl);
    char *body = data + hl;
    for (size_t i = 0; i < BODY; i++) /* lines of 76 'x' */
        body[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : 'x';
    memcpy(body + BODY - 11, "FINALWORD\r\n", 11);
    bool spooled;
    assert_int_equal(judge(dir, "{raw_body: \"/FINALWORD/\"}", data, hl + BODY, &spooled),
                     STM_VERB_DENY);
    assert_true(spooled);
    assert_int_equal(judge(dir, "{raw_body: \"/FINALWORD\\\\r\\\\n\\\\z/\"}", data, hl + BODY,
                           &spooled),
                     STM_VERB_DENY);
    assert_int_equal(judge(dir, "{raw_body: \"/NOWHERE/\"}", data, hl + BODY, &spooled),
                     STM_VERB_ACCEPT);
    /* A word across the end of the first window, 8 KiB into the overlap. */
    memcpy(body + W - 4, "STRADDLE", 8);
    assert_int_equal(judge(dir, "{raw_body: \"/STRADDLE/\"}", data, hl + BODY, &spooled),
                     STM_VERB_DENY);
    memcpy(body + W - 4, "xxxxxxxx", 8);
    /* One across a line end: the last line of the first window is 20000
     * bytes long and ends 10 bytes before the window does; a 60-byte match
     * from that line into the next is well inside the 16 KiB overlap. */
    memset(body + W - 20000, 'y', 20000 - 12);
    memcpy(body + W - 12, "\r\n", 2);
    memcpy(body + W - 40, "ACROSS-LINES", 12);
    memcpy(body + W - 10, "SECOND-HALF", 11);
    assert_int_equal(judge(dir, "{raw_body: \"/ACROSS-LINES[xy]*\\\\r\\\\nSECOND-HALF/\"}", data,
                           hl + BODY, &spooled),
                     STM_VERB_DENY);
    /* The second window starts 16 KiB or more before the first ends, not
     * at the line start 10 bytes before: ^ does not meet that line. */
    assert_int_equal(judge(dir, "{raw_body: \"/^SECOND-HALF/\"}", data, hl + BODY, &spooled),
                     STM_VERB_ACCEPT);
    /* Anchors answer as on the whole body: the second window starts at the
     * line after the last line end of [W - 32 KiB, W - 16 KiB); ^ (the
     * body's start) does not match there, a multi-line ^ does, and $ does
     * not match where the first window is cut. */
    size_t second = 0;
    for (size_t i = W - 32768; i < W - 16384; i++)
        if (body[i] == '\n')
            second = i + 1;
    assert_true(second > 0);
    memcpy(body + second, "ANCHORED", 8);
    assert_int_equal(judge(dir, "{raw_body: \"/^ANCHORED/\"}", data, hl + BODY, &spooled),
                     STM_VERB_ACCEPT);
    assert_int_equal(judge(dir, "{raw_body: \"/(?m)^ANCHORED/\"}", data, hl + BODY, &spooled),
                     STM_VERB_DENY);
    assert_int_equal(judge(dir, "{raw_body: \"/(?<=\\nxx)ANCHORED/\"}", data, hl + BODY,
                           &spooled),
                     STM_VERB_ACCEPT); /* the line before ends in "x\r\n" */
    assert_int_equal(judge(dir, "{raw_body: \"/(?<=\\n)ANCHORED/\"}", data, hl + BODY,
                           &spooled),
                     STM_VERB_DENY); /* the context before the window */
    memcpy(body + W - 3, "END", 3); /* "ENDxx..." in the body */
    assert_int_equal(judge(dir, "{raw_body: \"/END$/\"}", data, hl + BODY, &spooled),
                     STM_VERB_ACCEPT);
    /* Globs as their anchors allow, literals only on a whole body. */
    assert_int_equal(judge(dir, "{raw_body: \"*ANCHORED*\"}", data, hl + BODY, &spooled),
                     STM_VERB_DENY);
    assert_int_equal(judge(dir, "{raw_body: \"ANCHORED*\"}", data, hl + BODY, &spooled),
                     STM_VERB_ACCEPT);
    assert_int_equal(judge(dir, "{raw_body: \"*FINALWORD\\r\\n\"}", data, hl + BODY,
                           &spooled),
                     STM_VERB_DENY); /* anchored at the end: the last window */
    assert_int_equal(judge(dir, "{raw_body: \"*FINALWORD\"}", data, hl + BODY, &spooled),
                     STM_VERB_ACCEPT); /* the body ends in CR LF */
    assert_int_equal(judge(dir, "{raw_body: \"*FINALWORD*\"}", data, hl + BODY, &spooled),
                     STM_VERB_DENY);
    free(data);
    assert_int_equal(dir_entries(dir), 0);
    assert_int_equal(rmdir(dir), 0);
}

/* A decoded body rule on a 3 MB base64 text part: a word at the start is
 * found, one at the very end is past the text kept (defect limit). */
static void
test_body_text_cap(void **state)
{
    char dir[] = "/tmp/stm-spool-XXXXXX";
    size_t len;
    bool spooled;
    (void)state;
    assert_non_null(mkdtemp(dir));
    char *data = big_text_message(3 * 1024 * 1024, "THEVERYLASTWORD\n", &len);
    assert_int_equal(judge(dir, "{body: \"/w0 w1 w2 /\"}", data, len, &spooled), STM_VERB_DENY);
    assert_true(spooled);
    assert_int_equal(judge(dir, "{body: \"/THEVERYLASTWORD/\"}", data, len, &spooled),
                     STM_VERB_ACCEPT);
    assert_int_equal(judge(dir, "{mime_defect: limit}", data, len, &spooled), STM_VERB_DENY);
    free(data);
    assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mime_same),
        cmocka_unit_test(test_mime_text_cap),
        cmocka_unit_test(test_mime_spool_write_fails),
        cmocka_unit_test(test_raw_body_windows),
        cmocka_unit_test(test_body_text_cap),
    };
    return cmocka_run_group_tests_name("spool", tests, NULL, NULL);
}
