/*
 * test_session.c - unit tests of policy/run/session.c: connection facts, macros,
 * variables across transactions, recipients, added headers, delegation
 * records and pending quarantines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "run/session_internal.h"

/* Facts are copied, replaced and read back; NULL means unknown. */
static void
test_facts(void **state)
{
    char ip[] = "192.0.2.1";
    stm_session *s = stm_session_create(NULL, "conn-1");
    assert_non_null(s);
    assert_string_equal(stm_session_id(s), "conn-1");
    assert_null(stm_session_client_ip(s));
    assert_int_equal(stm_session_set_client(s, ip, "4000", NULL), 0);
    ip[0] = '9'; /* copied, not borrowed */
    assert_string_equal(stm_session_client_ip(s), "192.0.2.1");
    assert_string_equal(stm_session_client_port(s), "4000");
    assert_null(stm_session_client_name(s));
    assert_int_equal(stm_session_set_server(s, "::1", "25", "mx.example.org"), 0);
    assert_string_equal(stm_session_server_ip(s), "::1");
    assert_string_equal(stm_session_server_port(s), "25");
    assert_string_equal(stm_session_server_id(s), "mx.example.org");
    assert_int_equal(stm_session_set_helo(s, "a.example"), 0);
    assert_int_equal(stm_session_set_helo(s, "b.example"), 0);
    assert_string_equal(stm_session_helo(s), "b.example");
    assert_null(stm_session_policy(s));
    stm_session_free(s);
    stm_session_free(NULL);
}

struct macro_case {
    const char *set_as;
    const char *value;
    const char *get_as;
};

static const struct macro_case macro_cases[] = {
    {"{auth_authen}", "alice", "auth_authen"},
    {"auth_authen", "bob", "{auth_authen}"}, /* replaces the previous one */
    {"i", "4QX1", "i"},
    {"{i}", "4QX2", "i"},
    {"{tls_version}", "TLSv1.3", "tls_version"},
    {"j", "mx.example.org", "{j}"},
};

/* Macros are stored without braces; a later value replaces an earlier one. */
static void
test_macros(void **state)
{
    stm_session *s = stm_session_create(NULL, "m");
    for (size_t i = 0; i < sizeof macro_cases / sizeof macro_cases[0]; i++) {
        assert_int_equal(stm_session_set_macro(s, macro_cases[i].set_as, macro_cases[i].value), 0);
        assert_string_equal(stm_session_macro(s, macro_cases[i].get_as), macro_cases[i].value);
    }
    assert_string_equal(stm_session_macro(s, "auth_authen"), "bob");
    assert_string_equal(stm_session_macro(s, "{i}"), "4QX2");
    assert_null(stm_session_macro(s, "auth_type"));
    assert_null(stm_session_macro(s, "{}"));
    assert_int_equal(s->macros.n, 4);
    stm_session_free(s);
}

/* Variables survive transactions; the envelope does not. */
static void
test_transactions(void **state)
{
    stm_session *s = stm_session_create(NULL, "t");
    assert_null(stm_session_sender(s));
    assert_int_equal(stm_session_set_var(s, "seen", "1"), 0);
    assert_int_equal(stm_session_begin_transaction(s, "a@example.net"), 0);
    assert_string_equal(stm_session_sender(s), "a@example.net");
    assert_int_equal(stm_session_set_rcpt(s, "r1@example.org"), 0);
    assert_int_equal(stm_session_accept_rcpt(s), 0);
    assert_int_equal(stm_session_set_rcpt(s, "r2@example.org"), 0); /* refused: not accepted */
    assert_int_equal(stm_session_set_rcpt(s, "r3@example.org"), 0);
    assert_int_equal(stm_session_accept_rcpt(s), 0);
    for (int i = 0; i < 10; i++) { /* growth */
        assert_int_equal(stm_session_set_rcpt(s, "many@example.org"), 0);
        assert_int_equal(stm_session_accept_rcpt(s), 0);
    }
    assert_int_equal(stm_session_rcpt_count(s), 12);
    assert_string_equal(stm_session_rcpt_at(s, 0), "r1@example.org");
    assert_string_equal(stm_session_rcpt_at(s, 1), "r3@example.org");
    assert_null(stm_session_rcpt_at(s, 12));
    assert_string_equal(stm_session_current_rcpt(s), "many@example.org");
    assert_int_equal(stm_session_set_queue_id(s, "QID"), 0);
    assert_string_equal(stm_session_queue_id(s), "QID");
    stm_message *m = stm_session_message(s);
    assert_int_equal(stm_message_add_header(m, "Subject", "x"), 0);
    assert_int_equal(stm_session_add_header(s, STM_STAGE_PREQ, "X-A", "1"), 0);
    assert_int_equal(stm_session_set_var(s, "seen", "2"), 0);

    /* A second transaction: envelope, message, headers gone; variables stay. */
    assert_int_equal(stm_session_begin_transaction(s, ""), 0);
    assert_string_equal(stm_session_sender(s), "");
    assert_int_equal(stm_session_rcpt_count(s), 0);
    assert_null(stm_session_current_rcpt(s));
    assert_null(stm_session_queue_id(s));
    assert_int_equal(stm_session_message(s)->nheaders, 0);
    size_t n = 99;
    stm_session_added_headers(s, &n);
    assert_int_equal(n, 0);
    assert_string_equal(stm_session_var(s, "seen"), "2");
    assert_null(stm_session_var(s, "other"));

    stm_session_end_transaction(s);
    assert_null(stm_session_sender(s));
    assert_string_equal(stm_session_var(s, "seen"), "2");
    stm_session_free(s);
}

/* Headers added at connect/helo go into every transaction; later ones into one. */
static void
test_added_headers(void **state)
{
    stm_session *s = stm_session_create(NULL, "h");
    size_t n;
    assert_int_equal(stm_session_add_header(s, STM_STAGE_CONNECT, "X-Conn", "c"), 0);
    assert_int_equal(stm_session_add_header(s, STM_STAGE_HELO, "X-Helo", "h"), 0);
    for (int t = 0; t < 2; t++) {
        assert_int_equal(stm_session_begin_transaction(s, "a@b"), 0);
        assert_int_equal(stm_session_add_header(s, STM_STAGE_MAIL, "X-Mail", t ? "2" : "1"), 0);
        const stm_header *h = stm_session_added_headers(s, &n);
        assert_int_equal(n, 3);
        assert_string_equal(h[0].name, "X-Conn");
        assert_string_equal(h[1].name, "X-Helo");
        assert_string_equal(h[2].name, "X-Mail");
        assert_string_equal(h[2].value, t ? "2" : "1");
        stm_session_end_transaction(s);
    }
    stm_session_free(s);
}

/* Delegation records belong to the transaction; the last reply is found. */
static void
test_delegations(void **state)
{
    stm_session *s = stm_session_create(NULL, "d");
    size_t n = 9;
    assert_int_equal(stm_session_begin_transaction(s, "a@b"), 0);
    assert_null(stm_session_delegations(s, &n));
    assert_int_equal(n, 0);
    assert_null(stm_session_last_reply(s));
    for (long i = 0; i < 5; i++) {
        assert_int_equal(stm_session_new_delegation(s, NULL), i);
        stm_delegation *d = &s->delegations[i].delegation;
        d->result = STM_DELEGATION_RETURNED;
        d->reply = strdup(i == 4 ? "last" : "earlier");
        assert_int_equal(stm_message_add_header(&d->returned, "X-Virus-Scanned", "yes"), 0);
    }
    const stm_delegation_record *r = stm_session_delegations(s, &n);
    assert_int_equal(n, 5);
    assert_int_equal(r[4].delegation.result, STM_DELEGATION_RETURNED);
    assert_string_equal(stm_session_last_reply(s), "last");
    stm_session_end_transaction(s);
    stm_session_delegations(s, &n);
    assert_int_equal(n, 0);
    stm_session_free(s);
}

/* A quarantine at connect/helo holds for the connection, later ones for one message. */
static void
test_quarantine(void **state)
{
    stm_session *s = stm_session_create(NULL, "q");
    const char *rule = NULL;
    stm_stage stage;
    assert_int_equal(stm_session_begin_transaction(s, "a@b"), 0);
    assert_null(stm_session_quarantine(s, &rule, &stage));
    assert_int_equal(stm_session_set_quarantine(s, STM_STAGE_RCPT, "spam", "r1"), 0);
    assert_string_equal(stm_session_quarantine(s, &rule, &stage), "spam");
    assert_string_equal(rule, "r1");
    assert_int_equal(stage, STM_STAGE_RCPT);
    assert_int_equal(stm_session_begin_transaction(s, "a@b"), 0);
    assert_null(stm_session_quarantine(s, &rule, &stage));
    assert_int_equal(stm_session_set_quarantine(s, STM_STAGE_CONNECT, "all", "r0"), 0);
    assert_int_equal(stm_session_begin_transaction(s, "a@b"), 0);
    assert_string_equal(stm_session_quarantine(s, &rule, &stage), "all");
    assert_int_equal(stage, STM_STAGE_CONNECT);
    stm_session_free(s);
}

/* Angle brackets come off a whole <...> only; NULL is ""; a small buffer cuts. */
static void
test_strip_brackets(void **state)
{
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"<a@b.example>", 64, "a@b.example"},
        {"a@b.example", 64, "a@b.example"},
        {"<>", 64, ""},
        {"<", 64, "<"},
        {"<a@b", 64, "<a@b"},
        {NULL, 64, ""},
        {"<abcdef>", 4, "abc"},
        {"<abcdef>", 1, ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        const char *r = stm_session_strip_brackets(buf, cases[i].len, cases[i].in);
        assert_ptr_equal(r, buf);
        assert_string_equal(buf, cases[i].out);
    }
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_facts),          cmocka_unit_test(test_macros),
        cmocka_unit_test(test_transactions),   cmocka_unit_test(test_added_headers),
        cmocka_unit_test(test_delegations),    cmocka_unit_test(test_quarantine),
        cmocka_unit_test(test_strip_brackets),
    };
    return cmocka_run_group_tests_name("session", tests, NULL, NULL);
}
