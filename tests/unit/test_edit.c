/*
 * test_edit.c - unit tests of the message-changing effects: their parse
 * (policy/effect/effect_{change_header,delete_header,prefix_subject,
 * add_rcpt,delete_rcpt,change_sender}.c), prefix_subject's RFC 2047
 * handling and the resolution of queued changes into operations
 * (policy/run/edit.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "run/edit.h"
#include "run/session_internal.h"
#include "stagemilter/edit.h"

/* ---- prefix_subject ---- */

struct prefix_case {
    const char *raw, *prefix;
    int rc;
    const char *want; /* when rc is 1 */
};

static const struct prefix_case prefix_cases[] = {
    {"hello", "[SPAM] ", 1, "[SPAM] hello"},
    {"  hello", "[SPAM] ", 1, "[SPAM] hello"},           /* leading white space goes */
    {"[SPAM] hello", "[SPAM] ", 0, NULL},                 /* once */
    {"[SPAM]", "[SPAM]", 0, NULL},
    {"", "[SPAM] ", 1, "[SPAM] "},
    /* Encoded words: the decoded text counts. */
    {"=?UTF-8?B?W1NQQU1dIGhlbGxv?=", "[SPAM] ", 0, NULL}, /* "[SPAM] hello" encoded */
    {"=?utf-8?q?=5BSPAM=5D_hello?=", "[SPAM] ", 0, NULL},
    {"=?ISO-8859-1?Q?=5BSPAM=5D_gr=FC=DFe?=", "[SPAM] ", 0, NULL},
    /* ASCII prefix ending in a space before an encoded word: as text. */
    {"=?UTF-8?B?w6TDtsO8?=", "[SPAM] ", 1, "[SPAM] =?UTF-8?B?w6TDtsO8?="},
    /* Without the space it would touch the word: encoded, and a decoder
     * drops the space between two encoded words. */
    {"=?UTF-8?B?w6TDtsO8?=", "[SPAM]", 1, "=?UTF-8?B?W1NQQU1d?= =?UTF-8?B?w6TDtsO8?="},
    /* Non-ASCII prefix before an encoded word keeps its space inside. */
    {"=?UTF-8?B?w6TDtsO8?=", "\xc3\xa4 ", 1, "=?UTF-8?B?w6Qg?= =?UTF-8?B?w6TDtsO8?="},
    /* Non-ASCII prefix before ASCII text: encoded, its space the separator. */
    {"hello", "\xc3\xa4 ", 1, "=?UTF-8?B?w6Q=?= hello"},
    /* Non-ASCII prefix before an 8-bit subject: UTF-8 as it is. */
    {"gr\xc3\xbc\xc3\x9f" "e", "\xc3\xa4 ", 1, "\xc3\xa4 gr\xc3\xbc\xc3\x9f" "e"},
    /* A decoded subject that already starts with a UTF-8 prefix. */
    {"=?UTF-8?B?w6QgaGk=?=", "\xc3\xa4 ", 0, NULL},
    /* Text, then an encoded word later: text in front. */
    {"Re: =?UTF-8?B?w6TDtsO8?=", "[SPAM] ", 1, "[SPAM] Re: =?UTF-8?B?w6TDtsO8?="},
    /* Not an encoded word (no closing ?=): plain text. */
    {"=?UTF-8?B?broken", "[SPAM] ", 1, "[SPAM] =?UTF-8?B?broken"},
};

static void
test_prefix_subject(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof prefix_cases / sizeof prefix_cases[0]; i++) {
        const struct prefix_case *c = &prefix_cases[i];
        char *out = NULL;
        int rc = stm_edit_prefix_subject(c->raw, c->prefix, &out);
        if (rc != c->rc || (c->want != NULL && (out == NULL || strcmp(out, c->want) != 0)))
            fail_msg("case %zu (%s + %s): rc %d out '%s', expected rc %d '%s'", i, c->prefix,
                     c->raw, rc, out ? out : "(null)", c->rc, c->want ? c->want : "(null)");
        if (rc == 0)
            assert_null(out);
        free(out);
    }
}

/* A long non-ASCII prefix is cut into encoded words of at most 75
 * characters, between UTF-8 characters. */
static void
test_prefix_long(void **state)
{
    (void)state;
    char prefix[200] = "";
    for (int i = 0; i < 30; i++)
        strcat(prefix, "\xc3\xa4"); /* 60 bytes */
    strcat(prefix, " ");
    char *out = NULL;
    assert_int_equal(stm_edit_prefix_subject("=?UTF-8?Q?x?=", prefix, &out), 1);
    int words = 0;
    for (char *w = out; (w = strstr(w, "=?UTF-8?B?")) != NULL; w++) {
        char *end = strstr(w, "?=");
        assert_non_null(end);
        assert_true(end + 2 - w <= 75);
        words++;
    }
    assert_int_equal(words, 2); /* 44 and 16 bytes; the subject is a Q word */
    /* Prefixing again sees the tag already there. */
    char *again = NULL;
    assert_int_equal(stm_edit_prefix_subject(out, prefix, &again), 0);
    free(out);
}

/* ---- parse ---- */

static stm_policy *
load(const char *effects, stm_diag **diag)
{
    char text[2048];
    snprintf(text, sizeof text,
             "lists:\n  archive: [\"old@example.org\"]\n"
             "stages:\n  mail:\n    - action: a\n      do:\n%s",
             effects);
    *diag = stm_diag_create();
    return stm_policy_load_text("t.yaml", text, strlen(text), *diag);
}

static const char *const parse_ok[] = {
    "        - { change_header: { name: X-A, value: \"b ${client_ip}\" } }\n",
    "        - { change_header: { name: X-A, value: \"\", index: 3 } }\n",
    "        - { delete_header: X-Spam-Flag }\n",
    "        - { prefix_subject: \"[SPAM ${client_ip}] \" }\n",
    "        - { add_rcpt: \"<archive@example.org>\" }\n",
    "        - { add_rcpt: \"archive+${client_ip}@example.org\" }\n",
    "        - { delete_rcpt: \"/^bob@/\" }\n",
    "        - { delete_rcpt: [\"@archive\", \"*@old.example\"] }\n",
    "        - { change_sender: \"<>\" }\n",
    "        - { change_sender: \"bounces@example.org\" }\n",
};

struct parse_bad {
    const char *effects;
    const char *message; /* a part of the error */
    int line, column;
};

static const struct parse_bad parse_bad[] = {
    {"        - { change_header: { name: X-A } }\n", "needs name and value", 7, 28},
    {"        - { change_header: { name: \"X A\", value: b } }\n", "not a valid header field name", 7, 36},
    {"        - { change_header: { name: X-A, value: b, index: 0 } }\n", "whole number", 7, 58},
    {"        - { change_header: { name: X-A, value: b, index: x } }\n", "whole number", 7, 58},
    {"        - { change_header: { name: X-A, value: b, idx: 2 } }\n", "idx", 7, 51},
    {"        - { delete_header: \"Subject:\" }\n", "not a valid header field name", 7, 28},
    {"        - { prefix_subject: \"\" }\n", "needs a text", 7, 29},
    {"        - { add_rcpt: \"a b@example.org\" }\n", "not an address", 7, 23},
    {"        - { add_rcpt: \"\" }\n", "not an address", 7, 23},
    {"        - { change_sender: \"<a<b@x>\" }\n", "not an address", 7, 28},
    {"        - { delete_rcpt: \"/(/\" }\n", "delete_rcpt", 7, 29},
    {"        - { delete_rcpt: \"@nolist\" }\n", "unknown list", 7, 26},
    {"        - { delete_rcpt: {a: b} }\n", "pattern", 7, 26},
};

static void
test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_ok / sizeof parse_ok[0]; i++) {
        stm_diag *diag;
        stm_policy *p = load(parse_ok[i], &diag);
        if (p == NULL || stm_diag_count(diag) != 0) {
            const stm_diag_entry *e = stm_diag_get(diag, 0);
            fail_msg("ok case %zu: %s", i, e ? e->message : "no policy");
        }
        stm_policy_unref(p);
        stm_diag_free(diag);
    }
    for (size_t i = 0; i < sizeof parse_bad / sizeof parse_bad[0]; i++) {
        stm_diag *diag;
        stm_policy *p = load(parse_bad[i].effects, &diag);
        const stm_diag_entry *e = stm_diag_get(diag, 0);
        if (p != NULL || e == NULL || strstr(e->message, parse_bad[i].message) == NULL ||
            e->line != parse_bad[i].line || e->column != parse_bad[i].column)
            fail_msg("bad case %zu: %s at %d:%d", i, e ? e->message : "accepted",
                     e ? e->line : 0, e ? e->column : 0);
        stm_policy_unref(p);
        stm_diag_free(diag);
    }
}

/* ---- resolution through the engine ---- */

static void
nolog(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    (void)ctx, (void)s, (void)stage, (void)rule, (void)text;
}

static const char resolve_policy[] =
    "stages:\n"
    "  mail:\n"
    "    - action: early\n"
    "      do: [ { prefix_subject: \"[T] \" }, { change_sender: \"first@example.org\" },\n"
    "            { delete_rcpt: \"carol@example.org\" } ]\n"
    "  preq:\n"
    "    - action: late\n"
    "      do:\n"
    "        - { prefix_subject: \"[T] \" }\n"
    "        - { change_header: { name: X-Two, value: \"2nd\", index: 2 } }\n"
    "        - { change_header: { name: X-Two, value: \"\", index: 1 } }\n"
    "        - { change_header: { name: X-New, value: \"added\", index: 4 } }\n"
    "        - { delete_header: X-Gone }\n"
    "        - { add_rcpt: \"<archive@example.org>\" }\n"
    "        - { add_rcpt: \"ARCHIVE@example.org\" }\n"
    "        - { add_rcpt: \"bob@example.org\" }\n"
    "        - { change_sender: \"<last@example.org>\" }\n";

static void
test_resolve(void **state)
{
    (void)state;
    stm_diag *diag = stm_diag_create();
    stm_policy *p = stm_policy_load_text("t.yaml", resolve_policy, strlen(resolve_policy), diag);
    if (p == NULL)
        stm_diag_print(diag, stderr);
    assert_non_null(p);
    stm_diag_free(diag);
    stm_session *s = stm_session_create(p, "T");
    stm_engine_hooks hooks = {.log = nolog};
    stm_verdict v;
    assert_int_equal(stm_session_begin_transaction(s, "alice@example.net"), 0);
    assert_int_equal(stm_engine_run(s, STM_STAGE_MAIL, &hooks, &v), 0);
    stm_verdict_clear(&v);
    assert_true(stm_edit_pending(s));
    const char *rcpts[] = {"bob@example.org", "carol@example.org", "dave@example.org"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(stm_session_set_rcpt(s, rcpts[i]), 0);
        assert_int_equal(stm_session_accept_rcpt(s), 0);
    }
    stm_message *m = stm_session_message(s);
    const char *hdr[][2] = {{"X-Two", "a"}, {"Subject", "hi"}, {"x-two", "b"},
                            {"X-Gone", "1"}, {"X-Keep", "k"},  {"X-GONE", "2"}};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(stm_message_add_header(m, hdr[i][0], hdr[i][1]), 0);
    assert_int_equal(stm_engine_run_eom(s, &hooks, &v), 0);
    stm_verdict_clear(&v);

    stm_edit_ops ops;
    char *err = NULL;
    assert_int_equal(stm_edit_resolve(s, &ops, &err), 0);
    char got[1024] = "";
    static const char *const kinds[] = {"chg", "del", "add", "rcpt+", "rcpt-", "from"};
    for (size_t i = 0; i < ops.n; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s %s[%d]=%s|", kinds[ops.ops[i].kind],
                 ops.ops[i].name ? ops.ops[i].name : "", ops.ops[i].index,
                 ops.ops[i].value ? ops.ops[i].value : "-");
    /* Last field first; the subject tagged once; X-New past the last
     * occurrence is added; ARCHIVE added once, bob is there already;
     * carol deleted; the last sender wins. */
    assert_string_equal(got, "del X-GONE[2]=-|del X-Gone[1]=-|chg x-two[2]=2nd|"
                             "chg Subject[1]=[T] hi|del X-Two[1]=-|add X-New[0]=added|"
                             "rcpt+ [0]=archive@example.org|rcpt- [0]=carol@example.org|"
                             "from [0]=last@example.org|");
    assert_non_null(stm_edit_ops_header(&ops, "X-TWO", 2));
    assert_null(stm_edit_ops_header(&ops, "X-Keep", 1));
    assert_true(stm_edit_ops_rcpt_deleted(&ops, "carol@example.org"));
    assert_false(stm_edit_ops_rcpt_deleted(&ops, "bob@example.org"));
    assert_string_equal(stm_edit_ops_sender(&ops), "last@example.org");
    stm_edit_ops_clear(&ops);

    /* A header that outgrew the limit: header changes fail closed. */
    m->headers_truncated = true;
    assert_int_equal(stm_edit_resolve(s, &ops, &err), -1);
    assert_non_null(err);
    assert_non_null(strstr(err, "max_message_size"));
    free(err);

    /* The next transaction starts without them. */
    stm_session_end_transaction(s);
    assert_int_equal(stm_session_begin_transaction(s, "x@example.net"), 0);
    assert_false(stm_edit_pending(s));
    stm_session_free(s);
    stm_policy_unref(p);
}

/* Changes asked at connect hold for every message; helo's are replaced
 * when helo runs again. */
static void
test_connection_edits(void **state)
{
    (void)state;
    stm_session *s = stm_session_create(NULL, "T");
    assert_int_equal(stm_session_add_edit(s, STM_STAGE_CONNECT, STM_EDIT_ADD_RCPT, NULL,
                                          "a@example.org", 0, NULL), 0);
    assert_int_equal(stm_session_add_edit(s, STM_STAGE_HELO, STM_EDIT_ADD_RCPT, NULL,
                                          "h1@example.org", 0, NULL), 0);
    stm_session_restart_helo(s);
    assert_int_equal(stm_session_add_edit(s, STM_STAGE_HELO, STM_EDIT_ADD_RCPT, NULL,
                                          "h2@example.org", 0, NULL), 0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(stm_session_begin_transaction(s, "x@example.net"), 0);
        stm_edit_ops ops;
        char *err = NULL;
        assert_int_equal(stm_edit_resolve(s, &ops, &err), 0);
        assert_int_equal(ops.n, 2);
        assert_string_equal(ops.ops[0].value, "a@example.org");
        assert_string_equal(ops.ops[1].value, "h2@example.org");
        stm_edit_ops_clear(&ops);
        stm_session_end_transaction(s);
    }
    stm_session_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_subject), cmocka_unit_test(test_prefix_long),
        cmocka_unit_test(test_parse),          cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_connection_edits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
