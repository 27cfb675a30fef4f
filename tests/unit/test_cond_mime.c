/*
 * test_cond_mime.c - unit tests of the conditions on what is inside the
 * message (policy/cond/cond_mime.c) through the engine, with policies in
 * YAML: subject, decoded header against raw_header, decoded body against
 * raw_body, attachment keys, url, url_domain with a @list, mime_defect, the
 * variables ${subject}, ${attachments}, ${url_domains}, and a message that
 * was not kept failing closed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "run/session_internal.h"

static const char message[] =
    "From: =?UTF-8?Q?Caf=C3=A9?= <cafe@example.net>\r\n"
    "Subject: =?UTF-8?B?RmFjdHVyZSBpbXBhecOpZQ==?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"
    "\r\n"
    "--XX\r\n"
    "Content-Type: text/html; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "<p>Votre <b>factur=E9</b> : <a href=3D\"https://Login.Phish.Example/x\">ici</a></p>\r\n"
    "--XX\r\n"
    "Content-Type: application/octet-stream; name=\"=?UTF-8?Q?r=C3=A9sum=C3=A9=2Eexe?=\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
    "--XX--\r\n";

/* A session at the end of MESSAGE (TEXT) under the policy YAML. */
typedef struct harness {
    stm_policy *policy;
    stm_session *s;
    stm_engine_hooks hooks;
} harness;

/* Log hook: the engine logs a failed rule; nothing to keep here. */
static void
h_log(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    (void)ctx;
    (void)s;
    (void)stage;
    (void)rule;
    (void)text;
}

static void
h_load(harness *h, const char *yaml, const char *text)
{
    memset(h, 0, sizeof *h);
    stm_diag *diag = stm_diag_create();
    h->policy = stm_policy_load_text("test.yaml", yaml, strlen(yaml), diag);
    if (h->policy == NULL) {
        stm_diag_print(diag, stderr);
        fprintf(stderr, "policy was:\n%s\n", yaml);
    }
    stm_diag_free(diag);
    assert_non_null(h->policy);
    h->s = stm_session_create(h->policy, "T1");
    assert_non_null(h->s);
    h->hooks.log = h_log;
    assert_int_equal(stm_session_set_client(h->s, "192.0.2.1", "40000", "mx.example.net"), 0);
    assert_int_equal(stm_session_set_helo(h->s, "helo.example.net"), 0);
    assert_int_equal(stm_session_begin_transaction(h->s, "alice@example.net"), 0);
    assert_int_equal(stm_session_set_rcpt(h->s, "bob@example.org"), 0);
    assert_int_equal(stm_session_accept_rcpt(h->s), 0);
    stm_message *m = stm_session_message(h->s);
    const char *err = NULL;
    assert_int_equal(stm_message_parse(m, text, strlen(text), &err), 0);
}

static void
h_free(harness *h)
{
    stm_session_free(h->s);
    stm_policy_unref(h->policy);
}

struct cond_case {
    const char *cond;
    bool holds;
};

/* Each condition against the message: decoded by default, raw_* as received. */
static const struct cond_case cond_cases[] = {
    {"{subject: \"Facture impay\xc3\xa9" "e\"}", true},
    {"{subject: \"/^facture/i\"}", true},
    {"{subject: \"*RmFjdHVyZS*\"}", false},
    {"{raw_header: {Subject: \"*RmFjdHVyZS*\"}}", true},
    {"{header: {Subject: \"Facture*\"}}", true},
    {"{header: {From: \"Caf\xc3\xa9 <cafe@example.net>\"}}", true},
    {"{raw_header: {From: \"Caf\xc3\xa9*\"}}", false},
    {"{body: \"/Votre factur\xc3\xa9 : ici/\"}", true},
    {"{body: \"/<b>/\"}", false},
    {"{raw_body: \"/factur=E9/\"}", true},
    {"{raw_body: \"/Votre factur\xc3\xa9/\"}", false},
    {"{attachment: {name: \"*.EXE\"}}", true},
    {"{attachment: {name: \"r\xc3\xa9sum\xc3\xa9.exe\", type: \"application/octet-stream\"}}", true},
    {"{attachment: {name: \"*.exe\", in_archive: true}}", false},
    {"{attachment: {detected_type: \"application/octet-stream\", name: \"*.exe\"}}", true},
    {"{attachment: {detected_type: \"text/*\", name: \"*.exe\"}}", false},
    {"{attachment: {name: \"*.exe\", size: \">1k\"}}", false},
    {"{attachment: {name: \"*.exe\", size: \"<1k\", encrypted: false}}", true},
    {"{attachment: {type: \"multipart/*\"}}", false},
    {"{url: \"https://login.phish.example/*\"}", true},
    {"{url_domain: \"@bad\"}", true},
    {"{url_domain: \"example\"}", false},
    {"{mime_defect: true}", false},
    {"{mime_defect: false}", true},
    {"{mime_defect: [limit, missing_boundary]}", false},
};

static void
test_conditions(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cond_cases / sizeof cond_cases[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "lists:\n  bad: [\"phish.example\", \".phish.example\"]\n"
                 "stages:\n  preq:\n    - rule: r\n      if: %s\n      then: deny\n",
                 cond_cases[i].cond);
        harness h;
        h_load(&h, yaml, message);
        stm_verdict v;
        assert_int_equal(stm_engine_run_eom(h.s, &h.hooks, &v), 0);
        if ((v.verb == STM_VERB_DENY) != cond_cases[i].holds)
            fail_msg("%s: expected %s", cond_cases[i].cond, cond_cases[i].holds ? "a match" : "none");
        assert_null(v.error);
        stm_verdict_clear(&v);
        h_free(&h);
    }
}

/* The variables, in a reply text. */
static void
test_variables(void **state)
{
    (void)state;
    harness h;
    h_load(&h,
           "stages:\n  preq:\n    - rule: r\n"
           "      then: {reject: \"${subject} / ${attachments} / ${url_domains}\"}\n",
           message);
    stm_verdict v;
    assert_int_equal(stm_engine_run_eom(h.s, &h.hooks, &v), 0);
    assert_int_equal(v.verb, STM_VERB_REJECT);
    assert_string_equal(v.text, "Facture impay\xc3\xa9" "e / r\xc3\xa9sum\xc3\xa9.exe / login.phish.example");
    stm_verdict_clear(&v);
    h_free(&h);
}

/* Defects match by name; a message whose body was not kept fails closed
 * (on_error: tempfail), never "no match". */
static void
test_defects_and_truncation(void **state)
{
    static const char broken[] = "Subject: x\r\nMIME-Version: 1.0\r\n"
                                 "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
                                 "--B\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n";
    (void)state;
    harness h;
    h_load(&h, "stages:\n  preq:\n    - rule: r\n      if: {mime_defect: \"/bad_enc|missing/\"}\n"
               "      then: deny\n",
           broken);
    stm_verdict v;
    assert_int_equal(stm_engine_run_eom(h.s, &h.hooks, &v), 0);
    assert_int_equal(v.verb, STM_VERB_DENY);
    stm_verdict_clear(&v);
    h_free(&h);

    static const char *const conds[] = {"{body: x}", "{attachment: {name: x}}", "{url: x}",
                                        "{mime_defect: true}"};
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        char yaml[256];
        snprintf(yaml, sizeof yaml, "stages:\n  preq:\n    - rule: r\n      if: %s\n      then: deny\n",
                 conds[i]);
        h_load(&h, yaml, message);
        stm_session_message(h.s)->truncated = true;
        assert_int_equal(stm_engine_run_eom(h.s, &h.hooks, &v), 0);
        assert_int_equal(v.verb, STM_VERB_DEFER);
        assert_non_null(v.error);
        assert_non_null(strstr(v.error, "max_message_size"));
        stm_verdict_clear(&v);
        h_free(&h);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_defects_and_truncation),
    };
    return cmocka_run_group_tests_name("cond_mime", tests, NULL, NULL);
}
