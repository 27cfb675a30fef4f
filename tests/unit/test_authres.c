/*
 * test_authres.c - the RFC 8601 reader (match/authres.c) on the shapes of
 * the RFC's own examples, OpenDKIM's and OpenDMARC's headers, comments,
 * quoting and broken input; and the auth_results condition: only trusted
 * authserv-ids count, several headers and several results, dkim and
 * dkim_domain on one and the same signature, a trusted header that cannot
 * be read fails the rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "match/authres.h"
#include "stagemilter/diag.h"
#include "stagemilter/engine.h"

static int
parse(const char *v, stm_authres *ar)
{
    const char *why = NULL;
    return stm_authres_parse(v, strlen(v), ar, &why);
}

static void
test_parse_opendkim(void **state)
{
    (void)state;
    stm_authres ar;
    assert_int_equal(parse(" host.test.example; dkim=pass (2048-bit key; unprotected)\r\n\t"
                           "header.d=example.org header.i=@example.org header.b=\"abc/def+\"",
                           &ar),
                     0);
    assert_string_equal(ar.authserv_id, "host.test.example");
    assert_int_equal(ar.nresults, 1);
    assert_string_equal(ar.results[0].method, "dkim");
    assert_string_equal(ar.results[0].result, "pass");
    assert_string_equal(stm_authres_prop_get(&ar.results[0], "header", "d"), "example.org");
    assert_string_equal(stm_authres_prop_get(&ar.results[0], "header", "i"), "@example.org");
    assert_string_equal(stm_authres_prop_get(&ar.results[0], "header", "b"), "abc/def+");
    stm_authres_clear(&ar);
}

static void
test_parse_rfc_examples(void **state)
{
    (void)state;
    stm_authres ar;
    /* RFC 8601 B.2, B.4, B.5, B.6 shapes. */
    assert_int_equal(parse("example.org 1; none", &ar), 0);
    assert_int_equal(ar.nresults, 0);
    stm_authres_clear(&ar);
    assert_int_equal(parse("example.com; spf=pass smtp.mailfrom=example.net", &ar), 0);
    assert_string_equal(stm_authres_prop_get(&ar.results[0], "smtp", "mailfrom"), "example.net");
    stm_authres_clear(&ar);
    assert_int_equal(parse("example.com;\n auth=pass (cram-md5) smtp.auth=sender@example.net;\n"
                           " spf=pass smtp.mailfrom=example.net",
                           &ar),
                     0);
    assert_int_equal(ar.nresults, 2);
    assert_string_equal(ar.results[1].method, "spf");
    assert_string_equal(stm_authres_prop_get(&ar.results[0], "smtp", "auth"), "sender@example.net");
    stm_authres_clear(&ar);
    assert_int_equal(
        parse("example.com;\n dkim=pass reason=\"good signature\"\n"
              " header.i=@mail-router.example.net;\n dkim=fail reason=\"bad signature\"\n"
              " header.i=@newyork.example.com",
              &ar),
        0);
    assert_int_equal(ar.nresults, 2);
    assert_string_equal(ar.results[0].reason, "good signature");
    assert_string_equal(ar.results[1].result, "fail");
    stm_authres_clear(&ar);
    /* Comments anywhere, nested, with quoted pairs; a method version; case. */
    assert_int_equal(parse("(c) \"quoted id\" (x (nested \\) y)) ;(a)DKIM/1 (b)=(c)PASS (d)"
                           " header (e) . (f) d (g) = (h) Example.ORG (i)",
                           &ar),
                     0);
    assert_string_equal(ar.authserv_id, "quoted id");
    assert_string_equal(ar.results[0].method, "dkim");
    assert_string_equal(ar.results[0].result, "pass");
    assert_string_equal(stm_authres_prop_get(&ar.results[0], "header", "d"), "Example.ORG");
    stm_authres_clear(&ar);
    /* OpenDMARC's shape. */
    assert_int_equal(
        parse("host.test.example; dmarc=fail (p=reject dis=none) header.from=example.org", &ar), 0);
    assert_string_equal(ar.results[0].method, "dmarc");
    assert_string_equal(ar.results[0].result, "fail");
    stm_authres_clear(&ar);
}

static void
test_parse_refused(void **state)
{
    (void)state;
    stm_authres ar;
    const char *bad[] = {
        "",
        "   ",
        "example.org",                         /* no result */
        "example.org; dkim",                   /* no = */
        "example.org; dkim=",                  /* no result keyword */
        "example.org; dkim=pass (open",        /* unterminated comment */
        "example.org; dkim=pass header.d=\"x", /* unterminated quoted string */
        "example.org; dkim=pass header.d",     /* property without = */
        "example.org; dkim=pass junk",         /* a stray word */
        "example.org dkim=pass",               /* no ; */
        "example.org; dkim=pass; ; spf=pass",  /* empty resinfo */
        "((((((((((((((((((x))))))))))))))))))example.org; dkim=pass", /* too deep */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = NULL;
        if (stm_authres_parse(bad[i], strlen(bad[i]), &ar, &why) == 0)
            fail_msg("accepted: '%s'", bad[i]);
        assert_non_null(why);
        assert_null(ar.authserv_id);
    }
    char *many = malloc(70 * 12 + 32);
    strcpy(many, "example.org");
    for (int i = 0; i < 70; i++)
        strcat(many, "; spf=pass");
    assert_int_equal(parse(many, &ar), -1);
    free(many);
}

/* ---- the condition ---- */

static void
nolog(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    (void)ctx, (void)s, (void)stage, (void)rule, (void)text;
}

static stm_verdict
judge(const char *yaml, const char *j, const char *const *headers)
{
    stm_diag *diag = stm_diag_create();
    stm_policy *p = stm_policy_load_text("t.yaml", yaml, strlen(yaml), diag);
    if (p == NULL)
        stm_diag_print(diag, stderr);
    assert_non_null(p);
    stm_diag_free(diag);
    stm_session *s = stm_session_create(p, "t");
    if (j != NULL)
        stm_session_set_macro(s, "j", j);
    stm_session_set_client(s, "192.0.2.1", NULL, NULL);
    stm_session_begin_transaction(s, "a@example.org");
    stm_session_set_rcpt(s, "b@example.net");
    stm_session_accept_rcpt(s);
    for (size_t i = 0; headers[i] != NULL; i += 2)
        stm_message_add_header(stm_session_message(s), headers[i], headers[i + 1]);
    stm_engine_hooks h = {.log = nolog};
    stm_verdict v;
    assert_int_equal(stm_engine_run_eom(s, &h, &v), 0);
    stm_session_free(s);
    stm_policy_unref(p);
    return v;
}

#define RULE(COND)                                                                                 \
    "stages:\n  preq:\n    - rule: r\n      if: { auth_results: " COND " }\n      then: deny\n"

static void
test_condition(void **state)
{
    (void)state;
    const char *forged[] = {"Authentication-Results",
                            "evil.example; dkim=pass header.d=example.org", NULL};
    const char *mine[] = {"Authentication-Results",
                          "evil.example; dkim=pass header.d=example.org",
                          "Authentication-Results",
                          "mx.example.net; dkim=pass header.d=attacker.example;"
                          " dkim=fail header.d=example.org",
                          "Authentication-Results",
                          "mx.example.net; spf=pass smtp.mailfrom=example.org",
                          "Authentication-Results",
                          "mx.example.net; dmarc=fail header.from=example.org",
                          NULL};
    stm_verdict v;
    /* A header of another authserv-id is ignored. */
    v = judge(RULE("{ dkim: pass }"), "mx.example.net", forged);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    /* The same id trusted explicitly. */
    v = judge("milter: { authserv_id: [other.example, evil.example] }\n" RULE("{ dkim: pass }"),
              "mx.example.net", forged);
    assert_int_equal(v.verb, STM_VERB_DENY);
    stm_verdict_clear(&v);
    /* Several headers, several results; keys together. */
    v = judge(RULE("{ dkim: pass, spf: pass, dmarc: fail }"), "mx.example.net", mine);
    assert_int_equal(v.verb, STM_VERB_DENY);
    stm_verdict_clear(&v);
    v = judge(RULE("{ dkim: pass, dkim_domain: attacker.example }"), "MX.example.NET", mine);
    assert_int_equal(v.verb, STM_VERB_DENY);
    stm_verdict_clear(&v);
    /* One signature passes for attacker.example, another fails for
     * example.org: no pass for example.org (the forged one does not count). */
    v = judge(RULE("{ dkim: pass, dkim_domain: example.org }"), "mx.example.net", mine);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    v = judge(RULE("{ dkim: fail, dkim_domain: \"*.org\" }"), "mx.example.net", mine);
    assert_int_equal(v.verb, STM_VERB_DENY);
    stm_verdict_clear(&v);
    v = judge(RULE("{ arc: pass }"), "mx.example.net", mine);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    /* A trusted header that cannot be read fails the rule (on_error). */
    const char *broken[] = {"Authentication-Results", "mx.example.net; dkim=pass (oops", NULL};
    v = judge(RULE("{ dkim: pass }"), "mx.example.net", broken);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    assert_non_null(strstr(v.error, "cannot be read"));
    stm_verdict_clear(&v);
    /* Another id's broken header is ignored. */
    const char *broken2[] = {"Authentication-Results", "evil.example; dkim=pass (oops", NULL};
    v = judge(RULE("{ dkim: pass }"), "mx.example.net", broken2);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    /* No id at all to trust. */
    v = judge(RULE("{ dkim: pass }"), NULL, mine);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    stm_verdict_clear(&v);
}

static void
test_check(void **state)
{
    (void)state;
    const char *bad[] = {
        RULE("{ dkim: pass, spam: yes }"),
        RULE("pass"),
        "stages:\n  mail:\n    - rule: r\n      if: { auth_results: { spf: pass } }\n      then: "
        "deny\n",
        "milter: { authserv_id: \"two words\" }\n",
        "milter: { authserv_id: [] }\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        stm_diag *diag = stm_diag_create();
        stm_policy *p = stm_policy_load_text("t.yaml", bad[i], strlen(bad[i]), diag);
        if (p != NULL)
            fail_msg("accepted: %s", bad[i]);
        stm_diag_free(diag);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_opendkim), cmocka_unit_test(test_parse_rfc_examples),
        cmocka_unit_test(test_parse_refused),  cmocka_unit_test(test_condition),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
