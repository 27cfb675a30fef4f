/*
 * test_dnsbl.c - the dnsbl condition without a network: the names asked
 * (reversed IPv4 octets, IPv6 nibbles, domains under a zone), `returns:`
 * matching, the `dns:` section and --check's refusals, and the engine with
 * a stand-in resolver installed in its hooks (listed, not listed, TXT in
 * ${dnsbl_text}, a failure counted as not listed and logged, on_failure:
 * error giving milter.on_error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model.h"
#include "run/dnsname.h"
#include "run/session_internal.h"
#include "stagemilter/diag.h"
#include "stagemilter/engine.h"

static void
test_names_ipv4(void **state)
{
    (void)state;
    char b[300];
    assert_int_equal(stm_dnsname_ip("127.0.0.2", "zen.example", b, sizeof b), 0);
    assert_string_equal(b, "2.0.0.127.zen.example");
    assert_int_equal(stm_dnsname_ip("192.0.2.99", "zen.example.", b, sizeof b), 0);
    assert_string_equal(b, "99.2.0.192.zen.example");
    /* Sendmail's and Postfix's macro forms. */
    assert_int_equal(stm_dnsname_ip("[192.0.2.1]", "bl.example", b, sizeof b), 0);
    assert_string_equal(b, "1.2.0.192.bl.example");
    assert_int_equal(stm_dnsname_ip("not an address", "bl.example", b, sizeof b), -1);
    assert_int_equal(stm_dnsname_ip(NULL, "bl.example", b, sizeof b), -1);
    assert_int_equal(stm_dnsname_ip("127.0.0.2", "bl.example", b, 10), -1);
}

static void
test_names_ipv6(void **state)
{
    (void)state;
    char b[300];
    /* RFC 5782 2.4's example. */
    assert_int_equal(stm_dnsname_ip("2001:db8:1:2:3:4:567:89ab", "ugly.example", b, sizeof b), 0);
    assert_string_equal(
        b, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example");
    assert_int_equal(stm_dnsname_ip("IPv6:::1", "bl.example", b, sizeof b), 0);
    assert_string_equal(
        b, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example");
}

static void
test_names_domain(void **state)
{
    (void)state;
    char b[300];
    assert_int_equal(stm_dnsname_domain("Mail.Example.COM.", "dbl.example", b, sizeof b), 0);
    assert_string_equal(b, "mail.example.com.dbl.example");
    assert_int_equal(stm_dnsname_domain("[192.0.2.1]", "dbl.example", b, sizeof b), -1);
    assert_int_equal(stm_dnsname_domain("", "dbl.example", b, sizeof b), -1);
    assert_int_equal(stm_dnsname_domain("a..b", "dbl.example", b, sizeof b), -1);
    assert_int_equal(stm_dnsname_domain("a b.example", "dbl.example", b, sizeof b), -1);
    char label[80];
    memset(label, 'a', 64);
    strcpy(label + 64, ".example");
    assert_int_equal(stm_dnsname_domain(label, "dbl.example", b, sizeof b), -1);
    char longname[260];
    for (int i = 0; i < 50; i++)
        memcpy(longname + i * 5, "abcd.", 5);
    strcpy(longname + 250, "com");
    assert_int_equal(stm_dnsname_domain(longname, "dbl.example", b, sizeof b), -1);
}

static void
test_zone_check(void **state)
{
    (void)state;
    assert_null(stm_dnsname_zone_check("zen.spamhaus.org"));
    assert_null(stm_dnsname_zone_check("zen.spamhaus.org."));
    assert_null(stm_dnsname_zone_check("_x.bl.example"));
    assert_non_null(stm_dnsname_zone_check(""));
    assert_non_null(stm_dnsname_zone_check("org"));
    assert_non_null(stm_dnsname_zone_check("bad zone.example"));
    assert_non_null(stm_dnsname_zone_check(".bl.example"));
    assert_non_null(stm_dnsname_zone_check("bl..example"));
}

static void
test_returns(void **state)
{
    (void)state;
    stm_cidr r[2];
    const char *err;
    assert_int_equal(stm_cidr_parse("127.0.0.2", &r[0], &err), 0);
    assert_int_equal(stm_cidr_parse("127.0.1.0/24", &r[1], &err), 0);
    assert_true(stm_dnsname_returns_match(r, 2, "127.0.0.2"));
    assert_true(stm_dnsname_returns_match(r, 2, "127.0.1.77"));
    assert_false(stm_dnsname_returns_match(r, 2, "127.0.0.3"));
    assert_false(stm_dnsname_returns_match(r, 2, "garbage"));
    /* None given: any of 127/8, nothing else (a list answering 0.0.0.0 or
     * a public address is broken, not listing). */
    assert_true(stm_dnsname_returns_match(NULL, 0, "127.0.0.4"));
    assert_false(stm_dnsname_returns_match(NULL, 0, "192.0.2.1"));
    assert_false(stm_dnsname_returns_match(NULL, 0, "0.0.0.0"));
}

/* ---- the engine with a stand-in resolver ---- */

typedef struct fake {
    int calls;
    size_t asked;
    char log[2048];
} fake;

static fake F;

/* Answers: *.bl.example A 127.0.0.2 for 2.0.0.127, TXT "why"; *.slow.example
 * times out; *.fail.example SERVFAIL; everything else NXDOMAIN. */
static int
fake_resolve(void *ctx, const stm_dns_config *cfg, stm_dns_query *qs, size_t n)
{
    (void)ctx;
    assert_non_null(cfg);
    F.calls++;
    F.asked += n;
    for (size_t i = 0; i < n; i++) {
        stm_dns_query *q = &qs[i];
        if (strstr(q->name, ".slow.example") != NULL) {
            q->status = STM_DNS_TIMEOUT;
            q->why = "no answer";
        } else if (strstr(q->name, ".fail.example") != NULL) {
            q->status = STM_DNS_SERVFAIL;
            q->why = "SERVFAIL";
        } else if (strcmp(q->name, "2.0.0.127.bl.example") == 0) {
            q->status = STM_DNS_ANSWER;
            q->answers = calloc(1, sizeof *q->answers);
            q->answers[0] = strdup(q->rrtype == STM_DNS_TXT ? "why" : "127.0.0.2");
            q->nanswers = 1;
        } else {
            q->status = STM_DNS_NOTFOUND;
        }
    }
    return 0;
}

static const stm_dns_resolver fake_resolver = {.ctx = NULL, .resolve = fake_resolve};

static void
fake_log(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    (void)ctx, (void)s, (void)stage, (void)rule;
    strncat(F.log, text, sizeof F.log - strlen(F.log) - 2);
    strcat(F.log, "\n");
}

/* Run connect for CLIENT on POLICY (YAML); the verdict into V. */
static void
run_connect(const char *yaml, const char *client, stm_verdict *v)
{
    stm_diag *diag = stm_diag_create();
    stm_policy *p = stm_policy_load_text("t.yaml", yaml, strlen(yaml), diag);
    if (p == NULL)
        stm_diag_print(diag, stderr);
    assert_non_null(p);
    stm_diag_free(diag);
    stm_session *s = stm_session_create(p, "t");
    assert_int_equal(stm_session_set_client(s, client, "25", "client.example"), 0);
    stm_engine_hooks h = {.log = fake_log, .dns = &fake_resolver};
    assert_int_equal(stm_engine_run(s, STM_STAGE_CONNECT, &h, v), 0);
    stm_session_free(s);
    stm_policy_unref(p);
}

static const char *const listed_policy =
    "stages:\n"
    "  connect:\n"
    "    - rule: bl\n"
    "      if: { dnsbl: [ {zone: other.example}, {zone: bl.example, returns: 127.0.0.2} ] }\n"
    "      then: { deny: { text: \"${dnsbl_zone} ${dnsbl_address} ${dnsbl_text}\" } }\n";

static void
test_engine_listed(void **state)
{
    (void)state;
    stm_verdict v;
    memset(&F, 0, sizeof F);
    run_connect(listed_policy, "127.0.0.2", &v);
    assert_int_equal(v.verb, STM_VERB_DENY);
    assert_string_equal(v.text, "bl.example 127.0.0.2 why");
    assert_int_equal(F.calls, 2); /* the A queries together, then the TXT */
    assert_int_equal(F.asked, 3);
    stm_verdict_clear(&v);

    memset(&F, 0, sizeof F);
    run_connect(listed_policy, "127.0.0.1", &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_null(v.rule);
    assert_int_equal(F.calls, 1);
    stm_verdict_clear(&v);
}

/* Several dnsbl conditions in one rule: their queries go out in one batch. */
static void
test_engine_one_batch_per_rule(void **state)
{
    (void)state;
    stm_verdict v;
    memset(&F, 0, sizeof F);
    run_connect(
        "stages:\n  connect:\n    - rule: bl\n"
        "      if: { any: [ { dnsbl: {zone: a.example} }, { not: { dnsbl: {zone: b.example} } },\n"
        "                   { all: [ { client_ip: 127.0.0.2 }, { dnsbl: {zone: bl.example} } ] } ] "
        "}\n"
        "      then: { deny: { text: \"${dnsbl_zone}\" } }\n",
        "127.0.0.2", &v);
    /* not b.example holds, so any: stops there: listed only in the sense of not. */
    assert_int_equal(v.verb, STM_VERB_DENY);
    assert_int_equal(F.calls, 1);
    assert_int_equal(F.asked, 3);
    stm_verdict_clear(&v);

    memset(&F, 0, sizeof F);
    run_connect(
        "stages:\n  connect:\n    - rule: bl\n"
        "      if: { all: [ { dnsbl: {zone: a.example} }, { dnsbl: {zone: bl.example} } ] }\n"
        "      then: deny\n"
        "    - rule: bl2\n"
        "      if: { any: [ { dnsbl: {zone: a.example} }, { dnsbl: {zone: bl.example} } ] }\n"
        "      then: { deny: { text: \"${dnsbl_zone} ${dnsbl_text}\" } }\n",
        "127.0.0.2", &v);
    assert_int_equal(v.verb, STM_VERB_DENY);
    assert_string_equal(v.text, "bl.example why");
    /* Rule 1: one batch of two (a.example is not listed: all stops); rule
     * 2: one batch of two, then the TXT of the hit. */
    assert_int_equal(F.calls, 3);
    assert_int_equal(F.asked, 5);
    stm_verdict_clear(&v);
}

static void
test_engine_returns_mismatch(void **state)
{
    (void)state;
    stm_verdict v;
    run_connect("stages:\n  connect:\n    - rule: bl\n"
                "      if: { dnsbl: {zone: bl.example, returns: 127.0.0.4} }\n"
                "      then: deny\n",
                "127.0.0.2", &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
}

static void
test_engine_failures(void **state)
{
    (void)state;
    stm_verdict v;
    memset(&F, 0, sizeof F);
    run_connect("stages:\n  connect:\n    - rule: bl\n"
                "      if: { dnsbl: [ {zone: slow.example}, {zone: fail.example} ] }\n"
                "      then: deny\n",
                "127.0.0.9", &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT); /* counted as not listed */
    assert_non_null(strstr(F.log, "dnsbl slow.example: 9.0.0.127.slow.example timeout"));
    assert_non_null(strstr(F.log, "dnsbl fail.example: 9.0.0.127.fail.example servfail"));
    stm_verdict_clear(&v);

    memset(&F, 0, sizeof F);
    run_connect("stages:\n  connect:\n    - rule: bl\n"
                "      if: { dnsbl: {zone: slow.example, on_failure: error} }\n"
                "      then: deny\n",
                "127.0.0.9", &v);
    assert_int_equal(v.verb, STM_VERB_DEFER); /* milter.on_error: tempfail */
    assert_int_equal(v.code, 421);
    assert_non_null(v.error);
    assert_non_null(strstr(v.error, "timeout"));
    stm_verdict_clear(&v);

    /* A hit elsewhere decides even when a list that fails says error. */
    run_connect(
        "stages:\n  connect:\n    - rule: bl\n"
        "      if: { dnsbl: [ {zone: slow.example, on_failure: error}, {zone: bl.example} ] }\n"
        "      then: deny\n",
        "127.0.0.2", &v);
    assert_int_equal(v.verb, STM_VERB_DENY);
    stm_verdict_clear(&v);
}

static void
test_engine_no_resolver(void **state)
{
    (void)state;
    const char *yaml = "stages:\n  connect:\n    - rule: bl\n"
                       "      if: { dnsbl: {zone: bl.example, on_failure: error} }\n"
                       "      then: deny\n";
    stm_diag *diag = stm_diag_create();
    stm_policy *p = stm_policy_load_text("t.yaml", yaml, strlen(yaml), diag);
    assert_non_null(p);
    stm_diag_free(diag);
    stm_session *s = stm_session_create(p, "t");
    stm_session_set_client(s, "127.0.0.2", NULL, NULL);
    stm_engine_hooks h = {.log = fake_log};
    stm_verdict v;
    assert_int_equal(stm_engine_run(s, STM_STAGE_CONNECT, &h, &v), 0);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    stm_verdict_clear(&v);
    stm_session_free(s);
    stm_policy_unref(p);
}

/* Load YAML; the number of errors and the first one's text in MSG. */
static size_t
load_errors(const char *yaml, char *msg, size_t len)
{
    stm_diag *diag = stm_diag_create();
    stm_policy *p = stm_policy_load_text("t.yaml", yaml, strlen(yaml), diag);
    size_t n = stm_diag_errors(diag);
    msg[0] = '\0';
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    stm_diag_print(diag, f);
    fclose(f);
    snprintf(msg, len, "%s", buf ? buf : "");
    free(buf);
    stm_diag_free(diag);
    stm_policy_unref(p);
    return n;
}

static void
test_check(void **state)
{
    (void)state;
    char m[2048];
    assert_int_equal(load_errors("dns: { servers: [\"127.0.0.1:5353\", \"::1\"], timeout: 500ms, "
                                 "attempts: 3, cache: 0 }\n",
                                 m, sizeof m),
                     0);
    assert_int_equal(load_errors("dns: { servers: [\"ns.example\"] }\n", m, sizeof m), 1);
    assert_non_null(strstr(m, "t.yaml:1:18: dns.servers 'ns.example' is not an address"));
    assert_int_equal(
        load_errors("dns: { timeout: 5ms, attempts: 0, cache: -1, bogus: 1 }\n", m, sizeof m), 4);
    assert_int_equal(
        load_errors("stages:\n  connect:\n    - rule: r\n"
                    "      if: { dnsbl: { zone: \"bad zone\", returns: 127.0.0.256 } }\n"
                    "      then: deny\n",
                    m, sizeof m),
        2);
    assert_non_null(strstr(m, "dnsbl.zone 'bad zone': not a DNS name"));
    assert_non_null(strstr(m, "dnsbl.returns"));
    assert_int_equal(load_errors("stages:\n  connect:\n    - rule: r\n"
                                 "      if: { dnsbl: { zone: bl.example, of: helo } }\n"
                                 "      then: deny\n",
                                 m, sizeof m),
                     1);
    assert_non_null(strstr(m, "not known at the connect stage"));
    assert_int_equal(load_errors("stages:\n  mail:\n    - rule: r\n"
                                 "      if: { dnsbl: { of: sender_domain, on_failure: maybe } }\n"
                                 "      then: deny\n",
                                 m, sizeof m),
                     2);
    /* url_domains: accepted at the end of the message. */
    assert_int_equal(load_errors("stages:\n  preq:\n    - rule: r\n"
                                 "      if: { dnsbl: { zone: dbl.example, of: url_domains } }\n"
                                 "      then: deny\n",
                                 m, sizeof m),
                     0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_ipv4),
        cmocka_unit_test(test_names_ipv6),
        cmocka_unit_test(test_names_domain),
        cmocka_unit_test(test_zone_check),
        cmocka_unit_test(test_returns),
        cmocka_unit_test(test_engine_listed),
        cmocka_unit_test(test_engine_one_batch_per_rule),
        cmocka_unit_test(test_engine_returns_mismatch),
        cmocka_unit_test(test_engine_failures),
        cmocka_unit_test(test_engine_no_resolver),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
