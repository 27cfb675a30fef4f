/*
 * test_template.c - unit tests of policy/run/template.c: every variable, "$$",
 * compile errors with their offsets, sanitising and the length cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "run/session_internal.h"
#include "run/template.h"

/* A session with every fact set, in a transaction with two accepted recipients. */
static stm_session *
full_session(void)
{
    stm_session *s = stm_session_create(NULL, "c1");
    assert_non_null(s);
    assert_int_equal(stm_session_set_client(s, "192.0.2.1", "40000", "mx.example.net"), 0);
    assert_int_equal(stm_session_set_server(s, "198.51.100.7", "25", "mail.example.org"), 0);
    assert_int_equal(stm_session_set_helo(s, "helo.example.net"), 0);
    assert_int_equal(stm_session_begin_transaction(s, "alice@example.net"), 0);
    assert_int_equal(stm_session_set_queue_id(s, "4QX1"), 0);
    assert_int_equal(stm_session_set_rcpt(s, "bob@example.org"), 0);
    assert_int_equal(stm_session_accept_rcpt(s), 0);
    assert_int_equal(stm_session_set_rcpt(s, "carol@example.org"), 0);
    assert_int_equal(stm_session_accept_rcpt(s), 0);
    assert_int_equal(stm_session_set_rcpt(s, "dave@example.org"), 0); /* being judged */
    assert_int_equal(stm_session_set_var(s, "score", "7"), 0);
    s->stage = STM_STAGE_DATA;
    return s;
}

struct expand_case {
    const char *text;
    const char *want;
    int constant;
};

static const struct expand_case expand_cases[] = {
    {"plain text", "plain text", 1},
    {"", "", 1},
    {"${client_ip}", "192.0.2.1", 0},
    {"${client_port}", "40000", 0},
    {"${client_name}", "mx.example.net", 0},
    {"${server_ip}", "198.51.100.7", 0},
    {"${server_port}", "25", 0},
    {"${server_id}", "mail.example.org", 0},
    {"${id}", "c1", 0},
    {"${queue_id}", "4QX1", 0},
    {"${helo}", "helo.example.net", 0},
    {"${sender}", "alice@example.net", 0},
    {"${rcpt}", "bob@example.org, carol@example.org", 0},
    {"${var.score}", "7", 0},
    {"${var.unset}", "", 0},
    {"${reply}", "", 0},
    {"cost: $$5", "cost: $5", 1},
    {"$$$$", "$$", 1},
    {"$${client_ip}", "${client_ip}", 1},
    {"from ${client_ip} (${client_name}) id=${id}.", "from 192.0.2.1 (mx.example.net) id=c1.", 0},
    {"${helo}${helo}", "helo.example.nethelo.example.net", 0},
};

/* Every variable expands to its value; literals and "$$" stay as written. */
static void
test_expand(void **state)
{
    stm_session *s = full_session();
    for (size_t i = 0; i < sizeof expand_cases / sizeof expand_cases[0]; i++) {
        const struct expand_case *c = &expand_cases[i];
        char *err = NULL;
        size_t off = 99;
        stm_template *t = stm_template_compile(c->text, &err, &off);
        assert_non_null(t);
        assert_null(err);
        assert_string_equal(stm_template_source(t), c->text);
        assert_int_equal(stm_template_is_constant(t), c->constant);
        char *out = stm_template_expand(t, stm_session_lookup, s);
        assert_non_null(out);
        assert_string_equal(out, c->want);
        free(out);
        stm_template_free(t);
    }
    stm_session_free(s);
}

/* Expand TEXT against S; caller frees. */
static char *
expand(const char *text, const stm_session *s)
{
    char *err = NULL;
    size_t off;
    stm_template *t = stm_template_compile(text, &err, &off);
    assert_non_null(t);
    char *out = stm_template_expand(t, stm_session_lookup, s);
    assert_non_null(out);
    stm_template_free(t);
    return out;
}

/* ${rcpt} at the rcpt stage is the recipient being judged. */
static void
test_rcpt_stage(void **state)
{
    stm_session *s = full_session();
    s->stage = STM_STAGE_RCPT;
    char *out = expand("to ${rcpt}", s);
    assert_string_equal(out, "to dave@example.org");
    free(out);
    stm_session_free(s);
}

/* The null sender reads "<>", no transaction reads "", unknown facts "". */
static void
test_unset(void **state)
{
    stm_session *s = stm_session_create(NULL, "c2");
    char *out = expand("[${sender}|${client_ip}|${helo}|${rcpt}|${queue_id}|${reply}]", s);
    assert_string_equal(out, "[|||||]");
    free(out);
    assert_int_equal(stm_session_begin_transaction(s, ""), 0);
    out = expand("from ${sender}", s);
    assert_string_equal(out, "from <>");
    free(out);
    stm_session_free(s);
}

/* ${reply} is the latest delegation's reply. */
static void
test_reply(void **state)
{
    stm_session *s = full_session();
    long i = stm_session_new_delegation(s, NULL);
    assert_int_equal(i, 0);
    s->delegations[0].delegation.reply = strdup("Virus Detected; Content Rejected");
    i = stm_session_new_delegation(s, NULL);
    assert_int_equal(i, 1);
    s->delegations[1].delegation.reply = strdup("Ok: queued");
    char *out = expand("scanner said: ${reply}", s);
    assert_string_equal(out, "scanner said: Ok: queued");
    free(out);
    /* Inside a delegate's rules, that delegation's reply. */
    s->ctx_deleg = &s->delegations[0].delegation;
    out = expand("${reply}", s);
    assert_string_equal(out, "Virus Detected; Content Rejected");
    free(out);
    stm_session_free(s);
}

/* Control characters from the network become spaces. */
static void
test_sanitise(void **state)
{
    stm_session *s = full_session();
    assert_int_equal(stm_session_set_helo(s, "evil\r\nX-Injected: yes\t\x7f"), 0);
    char *out = expand("helo=${helo}", s);
    assert_string_equal(out, "helo=evil  X-Injected: yes  ");
    free(out);
    stm_session_free(s);
}

/* The result is capped at 998 bytes, never inside a UTF-8 character. */
static void
test_cap(void **state)
{
    stm_session *s = full_session();
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(stm_session_set_var(s, "big", big), 0);
    char *out = expand("${var.big}", s);
    assert_int_equal(strlen(out), 998);
    free(out);
    /* 997 ASCII bytes then "é" (2 bytes): the é would straddle the cap. */
    char utf[1100];
    memset(utf, 'y', 997);
    strcpy(utf + 997, "\xc3\xa9zzzz");
    assert_int_equal(stm_session_set_var(s, "big", utf), 0);
    out = expand("${var.big}", s);
    assert_int_equal(strlen(out), 997);
    free(out);
    /* Stray continuation bytes around the cap are not UTF-8: the text is cut
     * at the cap, not backed over (it once lost everything back to the last
     * non-continuation byte). */
    char stray[1100];
    memset(stray, 'a', 10);
    memset(stray + 10, 0x80, 1000);
    stray[1010] = '\0';
    assert_int_equal(stm_session_set_var(s, "big", stray), 0);
    out = expand("${var.big}", s);
    assert_int_equal(strlen(out), 998);
    free(out);
    /* A 4-byte character straddling the cap is cut before its lead byte. */
    memset(utf, 'y', 996);
    strcpy(utf + 996, "\xf0\x9f\x98\x80zz");
    assert_int_equal(stm_session_set_var(s, "big", utf), 0);
    out = expand("${var.big}", s);
    assert_int_equal(strlen(out), 996);
    free(out);
    stm_session_free(s);
}

struct error_case {
    const char *text;
    size_t offset;
    const char *msg;
};

static const struct error_case error_cases[] = {
    {"${nope}", 0, "unknown variable ${nope}"},
    {"hello ${client}", 6, "unknown variable ${client}"},
    {"a ${client_ip", 2, "unterminated ${...}"},
    {"cost $5", 5, "'$' must start ${variable}; write $$ for a literal '$'"},
    {"end $", 4, "'$' must start ${variable}; write $$ for a literal '$'"},
    {"$client_ip", 0, "'$' must start ${variable}; write $$ for a literal '$'"},
    {"x ${var.}", 2, "bad variable name in ${var.}"},
    {"x ${var.a b}", 2, "bad variable name in ${var.a b}"},
    {"${}", 0, "unknown variable ${}"},
    {"ok ${id} ${CLIENT_IP}", 9, "unknown variable ${CLIENT_IP}"},
};

/* Bad templates are refused with a message and the offset of the problem. */
static void
test_compile_errors(void **state)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *c = &error_cases[i];
        char *err = NULL;
        size_t off = 1234;
        assert_null(stm_template_compile(c->text, &err, &off));
        assert_non_null(err);
        assert_string_equal(err, c->msg);
        assert_int_equal(off, c->offset);
        free(err);
    }
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand),         cmocka_unit_test(test_rcpt_stage),
        cmocka_unit_test(test_unset),          cmocka_unit_test(test_reply),
        cmocka_unit_test(test_sanitise),       cmocka_unit_test(test_cap),
        cmocka_unit_test(test_compile_errors),
    };
    return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
