/*
 * test_loader.c - table-driven tests of the policy loader (policy.h,
 * model.h): YAML snippets in, the compiled model's properties or the first
 * diagnostic out. Uses the real pattern, list, units and template modules.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "model.h"

/* Match and insist there was no error (see test_regex_limits for errors). */
static bool
test_match(const stm_pattern *p, const char *value)
{
    char *err = NULL;
    stm_match m = stm_pattern_match(p, value, &err);
    if (m == STM_MATCH_ERROR)
        fail_msg("unexpected match error: %s", err ? err : "(no text)");
    return m == STM_MATCH_YES;
}
#define MATCH(p, v) test_match((p), (v))

/* Load TEXT as "t.yaml"; the diag is returned in *DIAG (caller frees). */
static stm_policy *
load(const char *text, stm_diag **diag)
{
    *diag = stm_diag_create();
    assert_non_null(*diag);
    return stm_policy_load_text("t.yaml", text, strlen(text), *diag);
}

/* Load TEXT and insist that it is valid without any diagnostic. */
static stm_policy *
load_ok(const char *text)
{
    stm_diag *diag;
    stm_policy *p = load(text, &diag);
    if (p == NULL || stm_diag_count(diag) != 0) {
        const stm_diag_entry *e = stm_diag_get(diag, 0);
        fail_msg("unexpected: %d:%d: %s\n---\n%s", e ? e->line : 0, e ? e->column : 0,
                 e ? e->message : "(no diag)", text);
    }
    stm_diag_free(diag);
    return p;
}

/* An empty file is the empty policy, with every default of DESIGN.md. */
static void
test_defaults(void **state)
{
    static const char *const texts[] = {"", "# nothing\n", "stages:\n", "milter:\nstages: {}\n"};
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        stm_policy *p = load_ok(texts[t]);
        const stm_milter_config *m = stm_policy_milter(p);
        assert_string_equal(m->socket, "inet:8891@127.0.0.1");
        assert_string_equal(m->workdir, "/var/lib/stagemilter");
        assert_int_equal(m->quarantine, STM_QUARANTINE_STORE);
        assert_int_equal(m->on_error, STM_ON_ERROR_TEMPFAIL);
        assert_int_equal(m->max_message_size, 50u * 1024 * 1024);
        const stm_receiver_config *r = stm_policy_receiver(p);
        assert_false(r->present);
        assert_string_equal(r->listen, "127.0.0.1:10025");
        assert_string_equal(r->host, "127.0.0.1");
        assert_string_equal(r->port, "10025");
        assert_int_equal(stm_policy_service_count(p), 0);
        for (int s = 0; s < STM_STAGE_COUNT; s++)
            assert_false(stm_policy_stage_used(p, (stm_stage)s));
        assert_false(stm_policy_needs_headers(p));
        assert_false(stm_policy_needs_body(p));
        assert_false(stm_policy_uses_quarantine(p));
        assert_false(stm_policy_uses_delegation(p));
        assert_false(stm_policy_uses_add_header(p));
        assert_string_equal(stm_policy_path(p), "t.yaml");
        stm_policy_unref(p);
    }
}

/* The milter and receiver sections, every key given. */
static void
test_milter_receiver(void **state)
{
    stm_policy *p = load_ok("milter:\n"
                           "  socket: unix:/run/stagemilter/sock\n"
                           "  workdir: /srv/q\n"
                           "  quarantine: store+hold\n"
                           "  on_error: reject\n"
                           "  max_message_size: 10k\n"
                           "receiver:\n"
                           "  listen: \"[::1]:2525\"\n");
    const stm_milter_config *m = stm_policy_milter(p);
    assert_string_equal(m->socket, "unix:/run/stagemilter/sock");
    assert_string_equal(m->workdir, "/srv/q");
    assert_int_equal(m->quarantine, STM_QUARANTINE_STORE_HOLD);
    assert_int_equal(m->on_error, STM_ON_ERROR_REJECT);
    assert_int_equal(m->max_message_size, 10240);
    const stm_receiver_config *r = stm_policy_receiver(p);
    assert_true(r->present);
    assert_string_equal(r->listen, "[::1]:2525");
    assert_string_equal(r->host, "::1");
    assert_string_equal(r->port, "2525");
    assert_int_equal(r->pos.line, 8);
    stm_policy_unref(p);

    /* `receiver:` alone is present, with the default address. */
    p = load_ok("receiver:\n");
    assert_true(stm_policy_receiver(p)->present);
    assert_string_equal(stm_policy_receiver(p)->port, "10025");
    stm_policy_unref(p);
}

/* A service: defaults, then every key converted. */
static void
test_services(void **state)
{
    stm_policy *p = load_ok("services:\n"
                           "  a:\n"
                           "    targets: [\"tcp://127.0.0.1:10026\"]\n"
                           "  b:\n"
                           "    protocol: lmtp\n"
                           "    targets: [\"tls://[2001:db8::1]:465\", \"tcp://scan.example:24\"]\n"
                           "    require_tls: true\n"
                           "    tls_client: { server_name: scan.example, verify: false }\n"
                           "    auth: plain\n"
                           "    username: u\n"
                           "    password: p\n"
                           "    connect_timeout: 500ms\n"
                           "    command_timeout: 30s\n"
                           "    submission_timeout: 1h\n"
                           "    timeout: 2m\n"
                           "    apply: message\n"
                           "    on_failure: continue\n"
                           "  c:\n"
                           "    protocol: lmtp\n"
                           "    attempt_starttls: true\n"
                           "    targets: \"tcp://127.0.0.1:24\"\n");
    assert_int_equal(stm_policy_service_count(p), 3);
    const stm_service *a = stm_policy_service(p, "a");
    assert_non_null(a);
    assert_int_equal(a->pos.line, 2);
    assert_int_equal(a->protocol, STM_PROTO_SMTP);
    assert_int_equal(a->ntargets, 1);
    assert_false(a->targets[0].implicit_tls);
    assert_string_equal(a->targets[0].host, "127.0.0.1");
    assert_string_equal(a->targets[0].port, "10026");
    assert_string_equal(a->targets[0].text, "tcp://127.0.0.1:10026");
    assert_true(a->attempt_starttls);
    assert_false(a->require_tls);
    assert_string_equal(a->tls_client.ca_file, "/etc/ssl/certs/ca-certificates.crt");
    assert_string_equal(a->tls_client.cert_file, "");
    assert_string_equal(a->tls_client.key_file, "");
    assert_string_equal(a->tls_client.server_name, "");
    assert_true(a->tls_client.verify);
    assert_int_equal(a->auth, STM_AUTH_OFF);
    assert_string_equal(a->username, "");
    assert_string_equal(a->password, "");
    assert_int_equal(a->connect_timeout_ms, 300000);
    assert_int_equal(a->command_timeout_ms, 300000);
    assert_int_equal(a->submission_timeout_ms, 720000);
    assert_int_equal(a->timeout_ms, 60000);
    assert_int_equal(a->drop_grace_ms, 2000);
    assert_int_equal(a->apply, STM_APPLY_HEADERS);
    assert_int_equal(a->on_failure, STM_ON_FAILURE_TEMPFAIL);

    const stm_service *b = stm_policy_service_at(p, 1);
    assert_string_equal(b->name, "b");
    assert_int_equal(b->protocol, STM_PROTO_LMTP);
    assert_false(b->attempt_starttls); /* lmtp default */
    assert_true(b->require_tls);
    assert_int_equal(b->ntargets, 2);
    assert_true(b->targets[0].implicit_tls);
    assert_string_equal(b->targets[0].host, "2001:db8::1");
    assert_string_equal(b->targets[0].port, "465");
    assert_string_equal(b->targets[1].host, "scan.example");
    assert_string_equal(b->tls_client.server_name, "scan.example");
    assert_false(b->tls_client.verify);
    assert_int_equal(b->auth, STM_AUTH_PLAIN);
    assert_string_equal(b->username, "u");
    assert_string_equal(b->password, "p");
    assert_int_equal(b->connect_timeout_ms, 500);
    assert_int_equal(b->command_timeout_ms, 30000);
    assert_int_equal(b->submission_timeout_ms, 3600000);
    assert_int_equal(b->timeout_ms, 120000);
    assert_int_equal(b->drop_grace_ms, 2000);
    assert_int_equal(b->apply, STM_APPLY_MESSAGE);
    assert_int_equal(b->on_failure, STM_ON_FAILURE_CONTINUE);

    const stm_service *c = stm_policy_service(p, "c");
    assert_true(c->attempt_starttls); /* given explicitly */
    assert_int_equal(c->ntargets, 1);
    assert_null(stm_policy_service(p, "d"));
    assert_null(stm_policy_service_at(p, 3));
    stm_policy_unref(p);

    /* drop_grace: any duration up to the service's timeout. */
    p = load_ok("services:\n  q:\n    targets: [\"tcp://127.0.0.1:10026\"]\n"
                "    timeout: 2m\n    drop_grace: 2m\n");
    assert_int_equal(stm_policy_service(p, "q")->drop_grace_ms, 120000);
    stm_policy_unref(p);
}

/* The first rule of STAGE. */
static const stm_rule *
first_rule(const stm_policy *p, stm_stage stage)
{
    assert_true(p->stages[stage].nrules > 0);
    return &p->stages[stage].rules[0];
}

struct verb_case {
    const char *then; /* YAML of the `then:` value */
    stm_verb verb;
    int code;
    const char *enhanced;
    const char *text; /* template source, NULL for none */
    const char *queue;
};

/* Verbs as bare words and one-key maps; defaults left to the engine. */
static void
test_verbs(void **state)
{
    static const struct verb_case cases[] = {
        {"next", STM_VERB_NEXT, 0, "", NULL, NULL},
        {"accept", STM_VERB_ACCEPT, 0, "", NULL, NULL},
        {"faccept", STM_VERB_FACCEPT, 0, "", NULL, NULL},
        {"deny", STM_VERB_DENY, 0, "", NULL, NULL},
        {"info", STM_VERB_INFO, 0, "", NULL, NULL},
        {"reject", STM_VERB_REJECT, 0, "", NULL, NULL},
        {"defer", STM_VERB_DEFER, 0, "", NULL, NULL},
        {"discard", STM_VERB_DISCARD, 0, "", NULL, NULL},
        {"{ deny: { code: 550, enhanced: \"5.7.1\", text: \"no ${sender}\" } }", STM_VERB_DENY, 550,
         "5.7.1", "no ${sender}", NULL},
        {"{ deny: { enhanced: \"5.123.999\" } }", STM_VERB_DENY, 0, "5.123.999", NULL, NULL},
        {"{ deny: {} }", STM_VERB_DENY, 0, "", NULL, NULL},
        {"{ info: { code: 452, text: full } }", STM_VERB_INFO, 452, "", "full", NULL},
        {"{ reject: \"go away\" }", STM_VERB_REJECT, 0, "", "go away", NULL},
        {"{ defer: \"later\" }", STM_VERB_DEFER, 0, "", "later", NULL},
        {"{ quarantine: virus_q }", STM_VERB_QUARANTINE, 0, "", NULL, "virus_q"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "milter: { workdir: /tmp }\nstages:\n  mail:\n    - rule: r\n      then: %s\n",
                 cases[i].then);
        stm_policy *p = load_ok(text);
        const stm_rule *r = first_rule(p, STM_STAGE_MAIL);
        assert_int_equal(r->kind, STM_RULE_RULE);
        assert_string_equal(r->name, "r");
        assert_null(r->cond);
        assert_int_equal(r->then.verb, cases[i].verb);
        assert_int_equal(r->then.code, cases[i].code);
        assert_string_equal(r->then.enhanced, cases[i].enhanced);
        if (cases[i].text == NULL)
            assert_null(r->then.text);
        else
            assert_string_equal(stm_template_source(r->then.text), cases[i].text);
        if (cases[i].queue == NULL)
            assert_null(r->then.queue);
        else
            assert_string_equal(r->then.queue, cases[i].queue);
        assert_int_equal(r->otherwise.verb, STM_VERB_NEXT); /* else defaults to next */
        assert_int_equal(r->then.pos.line, 5);
        stm_policy_unref(p);
    }
}

/* Rules, actions, effects and `else`. */
static void
test_rules_effects(void **state)
{
    stm_policy *p = load_ok("stages:\n"
                           "  connect:\n"
                           "    - action: tag\n"
                           "      do:\n"
                           "        - add_header: { name: X-Tag, value: \"${client_ip}\" }\n"
                           "        - set: { origin: local, zone: \"z1\" }\n"
                           "        - set_sender_ip: nat64\n"
                           "        - set_sender_ip: \"192.0.2.7\"\n"
                           "        - set_sender_ip: \"${var.real}\"\n"
                           "        - log: \"hello ${helo}\"\n"
                           "    - rule: two\n"
                           "      do: { log: single }\n"
                           "      then: accept\n"
                           "      else: { defer: \"not now\" }\n");
    const stm_rule *r = first_rule(p, STM_STAGE_CONNECT);
    assert_int_equal(r->kind, STM_RULE_ACTION);
    assert_string_equal(r->name, "tag");
    assert_int_equal(r->pos.line, 3);
    assert_int_equal(r->pos.column, 7);
    assert_int_equal(r->neffects, 7);
    assert_int_equal(r->effects[0].type, STM_EFFECT_ADD_HEADER);
    assert_string_equal(r->effects[0].name, "X-Tag");
    assert_string_equal(stm_template_source(r->effects[0].value), "${client_ip}");
    assert_int_equal(r->effects[1].type, STM_EFFECT_SET);
    assert_string_equal(r->effects[1].name, "origin");
    assert_string_equal(stm_template_source(r->effects[1].value), "local");
    assert_int_equal(r->effects[2].type, STM_EFFECT_SET);
    assert_string_equal(r->effects[2].name, "zone");
    assert_int_equal(r->effects[3].type, STM_EFFECT_SET_SENDER_IP);
    assert_true(r->effects[3].nat64);
    assert_null(r->effects[3].value);
    assert_false(r->effects[4].nat64);
    assert_string_equal(stm_template_source(r->effects[4].value), "192.0.2.7");
    assert_string_equal(stm_template_source(r->effects[5].value), "${var.real}");
    assert_int_equal(r->effects[6].type, STM_EFFECT_LOG);
    assert_string_equal(stm_template_source(r->effects[6].value), "hello ${helo}");
    assert_int_equal(r->effects[6].pos.line, 10);

    const stm_rule *two = &p->stages[STM_STAGE_CONNECT].rules[1];
    assert_int_equal(two->neffects, 1);
    assert_int_equal(two->then.verb, STM_VERB_ACCEPT);
    assert_int_equal(two->otherwise.verb, STM_VERB_DEFER);
    assert_string_equal(stm_template_source(two->otherwise.text), "not now");
    assert_true(stm_policy_uses_add_header(p));
    assert_true(stm_policy_stage_used(p, STM_STAGE_CONNECT));
    assert_false(stm_policy_stage_used(p, STM_STAGE_HELO));
    stm_policy_unref(p);
}

/* Conditions: types, patterns and their kinds, names, ops, masks. */
static void
test_conditions(void **state)
{
    stm_policy *p = load_ok(
        "lists:\n"
        "  trusted: [\"192.168.1.0/24\", \"2001:db8::/32\"]\n"
        "  domains: [example.org, .example.net]\n"
        "receiver:\n"
        "services:\n"
        "  s: { targets: [\"tcp://127.0.0.1:10026\"] }\n"
        "stages:\n"
        "  mail:\n"
        "    - rule: ip\n"
        "      if: { client_ip: [\"@trusted\", \"10.0.0.0/8\"] }\n"
        "      then: accept\n"
        "    - rule: null sender\n"
        "      if: { sender: \"<>\", auth: false, tls: true }\n"
        "      then: accept\n"
        "    - rule: combine\n"
        "      if: { any: [ { sender_domain: \"@domains\" }, { not: { auth: \"*@Ex.org\" } } ] }\n"
        "      then: accept\n"
        "    - rule: macros\n"
        "      if: { macro: { \"{auth_authen}\": bob, i: \"/^[A-F0-9]+$/\" }, var: { origin: local "
        "} }\n"
        "      then: accept\n"
        "  preq:\n"
        "    - rule: content\n"
        "      if: { header: { Subject: \"*money*\" }, has_header: X-Spam, size: \">= 10M\" }\n"
        "      then: accept\n"
        "    - rule: body\n"
        "      if: { body: \"/casino/i\", size: \"<1k\" }\n"
        "      then: accept\n"
        "    - rule: scan\n"
        "      delegate: s\n"
        "      rules:\n"
        "        - rule: res\n"
        "          if: { delegation: [dropped, failed], reply: \"*Virus*\" }\n"
        "          then: { quarantine: virus }\n");
    const stm_rule_list *mail = &p->stages[STM_STAGE_MAIL];
    assert_int_equal(mail->nrules, 4);

    const stm_cond *c = mail->rules[0].cond;
    assert_int_equal(c->type, STM_COND_CLIENT_IP);
    assert_int_equal(c->pos.line, 10);
    assert_int_equal(c->pos.column, 13);
    assert_true(MATCH(c->pattern, "192.168.1.77")); /* via @trusted */
    assert_true(MATCH(c->pattern, "2001:db8::25")); /* via @trusted */
    assert_true(MATCH(c->pattern, "10.1.2.3"));     /* literal CIDR */
    assert_false(MATCH(c->pattern, "192.168.2.1"));

    c = mail->rules[1].cond;
    assert_int_equal(c->type, STM_COND_ALL);
    assert_int_equal(c->nchildren, 3);
    assert_int_equal(c->children[0]->type, STM_COND_SENDER);
    assert_true(MATCH(c->children[0]->pattern, "")); /* "<>" is the null sender */
    assert_false(MATCH(c->children[0]->pattern, "a@example.org"));
    assert_int_equal(c->children[1]->type, STM_COND_AUTH);
    assert_true(c->children[1]->auth_is_bool);
    assert_false(c->children[1]->flag);
    assert_int_equal(c->children[2]->type, STM_COND_TLS);
    assert_true(c->children[2]->flag);

    c = mail->rules[2].cond;
    assert_int_equal(c->type, STM_COND_ANY);
    assert_int_equal(c->nchildren, 2);
    assert_int_equal(c->children[0]->type, STM_COND_SENDER_DOMAIN);
    assert_true(MATCH(c->children[0]->pattern, "EXAMPLE.org"));
    assert_true(MATCH(c->children[0]->pattern, "mx.example.net"));
    assert_int_equal(c->children[1]->type, STM_COND_NOT);
    assert_int_equal(c->children[1]->nchildren, 1);
    const stm_cond *auth = c->children[1]->children[0];
    assert_int_equal(auth->type, STM_COND_AUTH);
    assert_false(auth->auth_is_bool);
    assert_true(MATCH(auth->pattern, "joe@ex.ORG")); /* users: case-insensitive */

    c = mail->rules[3].cond;
    assert_int_equal(c->type, STM_COND_ALL);
    assert_int_equal(c->nchildren, 2);
    const stm_cond *macros = c->children[0];
    assert_int_equal(macros->type, STM_COND_ALL);
    assert_int_equal(macros->nchildren, 2);
    assert_int_equal(macros->children[0]->type, STM_COND_MACRO);
    assert_string_equal(macros->children[0]->name, "auth_authen");
    assert_true(MATCH(macros->children[0]->pattern, "bob"));
    assert_false(MATCH(macros->children[0]->pattern, "BOB")); /* text: exact */
    assert_string_equal(macros->children[1]->name, "i");
    assert_int_equal(c->children[1]->type, STM_COND_VAR);
    assert_string_equal(c->children[1]->name, "origin");

    const stm_rule_list *preq = &p->stages[STM_STAGE_PREQ];
    c = preq->rules[0].cond;
    assert_int_equal(c->nchildren, 3);
    assert_int_equal(c->children[0]->type, STM_COND_HEADER);
    assert_string_equal(c->children[0]->name, "Subject");
    assert_true(MATCH(c->children[0]->pattern, "make money fast"));
    assert_int_equal(c->children[1]->type, STM_COND_HAS_HEADER);
    assert_string_equal(c->children[1]->name, "X-Spam");
    assert_int_equal(c->children[2]->type, STM_COND_SIZE);
    assert_int_equal(c->children[2]->size_op, STM_SIZE_GE);
    assert_int_equal(c->children[2]->size, 10u * 1024 * 1024);
    c = preq->rules[1].cond;
    assert_int_equal(c->children[0]->type, STM_COND_BODY);
    assert_true(MATCH(c->children[0]->pattern, "Best CASINO online"));
    assert_int_equal(c->children[1]->size_op, STM_SIZE_LT);
    assert_int_equal(c->children[1]->size, 1024);

    const stm_rule *d = &preq->rules[2];
    assert_int_equal(d->kind, STM_RULE_DELEGATE);
    assert_string_equal(d->name, "scan");
    assert_ptr_equal(d->service, stm_policy_service(p, "s"));
    assert_int_equal(d->rules.nrules, 1);
    c = d->rules.rules[0].cond;
    assert_int_equal(c->children[0]->type, STM_COND_DELEGATION);
    assert_int_equal(c->children[0]->delegation_mask,
                     (1u << STM_DELEGATION_DROPPED) | (1u << STM_DELEGATION_FAILED));
    assert_int_equal(c->children[1]->type, STM_COND_REPLY);
    assert_true(MATCH(c->children[1]->pattern, "250 Virus Detected"));
    assert_int_equal(d->rules.rules[0].then.verb, STM_VERB_QUARANTINE);
    stm_policy_unref(p);
}

struct flags_case {
    const char *text;
    bool headers, body, quarantine, delegation, add_header;
};

/* Derived flags for the milter's negotiation. */
static void
test_flags(void **state)
{
    static const struct flags_case cases[] = {
        {"stages: { connect: [ { rule: a, if: { client_ip: \"::1\" }, then: reject } ] }", false,
         false, false, false, false},
        {"stages: { preq: [ { rule: a, if: { has_header: X-A }, then: reject } ] }", true, false,
         false, false, false},
        {"stages: { postq: [ { rule: a, if: { not: { header: { A: b } } }, then: reject } ] }",
         true, false, false, false, false},
        {"stages: { preq: [ { rule: a, if: { body: x }, then: reject } ] }", true, true, false,
         false, false},
        {"stages: { preq: [ { rule: a, if: { size: \">1\" }, then: reject } ] }", true, true, false,
         false, false},
        {"milter: { workdir: /tmp }\n"
         "stages: { mail: [ { rule: a, then: accept, else: { quarantine: q } } ] }",
         true, true, true, false, false},
        {"milter: { quarantine: hold }\n"
         "stages: { mail: [ { rule: a, then: { quarantine: q } } ] }",
         false, false, true, false, false},
        {"receiver:\nservices: { s: { targets: \"tcp://127.0.0.1:1\" } }\n"
         "stages: { preq: [ { rule: a, delegate: s } ] }",
         true, true, false, true, false},
        {"stages: { rcpt: [ { action: a, do: [ { add_header: { name: A, value: b } } ] } ] }",
         false, false, false, false, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_policy *p = load_ok(cases[i].text);
        if (stm_policy_needs_headers(p) != cases[i].headers ||
            stm_policy_needs_body(p) != cases[i].body ||
            stm_policy_uses_quarantine(p) != cases[i].quarantine ||
            stm_policy_uses_delegation(p) != cases[i].delegation ||
            stm_policy_uses_add_header(p) != cases[i].add_header)
            fail_msg("case %zu: flags %d%d%d%d%d", i, stm_policy_needs_headers(p),
                     stm_policy_needs_body(p), stm_policy_uses_quarantine(p),
                     stm_policy_uses_delegation(p), stm_policy_uses_add_header(p));
        stm_policy_unref(p);
    }
}

/* Only a delegate rule naming an smtp or lmtp service needs the receiver
 * (uses_receiver, and then the receiver section); clamd, spamd and rspamd
 * answer on their own connection. */
static void
test_uses_receiver(void **state)
{
    static const char svcs[] = "services:\n"
                               "  c: { protocol: clamd, targets: \"unix:/run/c.ctl\" }\n"
                               "  r: { protocol: rspamd, targets: \"http://127.0.0.1:1\" }\n"
                               "  m: { targets: \"tcp://127.0.0.1:2\" }\n";
    static const struct {
        const char *receiver, *delegate;
        bool uses;
    } cases[] = {
        {"", "c", false},
        {"", "[c, r]", false},
        {"receiver:\n", "[c, r]", false},
        {"receiver:\n", "m", true},
        {"receiver:\n", "[c, m]", true},
    };
    char text[600];
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(text, sizeof text, "%s%sstages: { preq: [ { rule: a, delegate: %s } ] }\n",
                 cases[i].receiver, svcs, cases[i].delegate);
        stm_policy *p = load_ok(text);
        assert_true(stm_policy_uses_delegation(p));
        if (stm_policy_uses_receiver(p) != cases[i].uses)
            fail_msg("case %zu: uses_receiver %d", i, stm_policy_uses_receiver(p));
        stm_policy_unref(p);
    }
    /* An smtp service without a receiver section is refused. */
    snprintf(text, sizeof text, "%sstages: { preq: [ { rule: a, delegate: [c, m] } ] }\n", svcs);
    stm_diag *d;
    assert_null(load(text, &d));
    const stm_diag_entry *e = stm_diag_get(d, 0);
    assert_non_null(e);
    assert_non_null(strstr(e->message, "needs a 'receiver' section"));
    stm_diag_free(d);
}

/* macro: conditions' names are collected once each, without braces, in
 * order of appearance, from every stage, `not`/`any` and delegate rules. */
static void
test_macro_names(void **state)
{
    static const struct {
        const char *text;
        const char *names; /* space-separated, "" for none */
    } cases[] = {
        {"", ""},
        {"stages: { mail: [ { rule: a, if: { auth: true }, then: reject } ] }", ""},
        {"stages: { mail: [ { rule: a, if: { macro: { \"{client_resolve}\": FORGED } }, "
         "then: reject } ] }",
         "client_resolve"},
        {"stages:\n"
         "  connect: [ { rule: a, if: { macro: { j: mx, \"{daemon_name}\": x } }, then: reject } "
         "]\n"
         "  rcpt: [ { rule: b, if: { not: { macro: { daemon_name: y } } }, then: reject },\n"
         "          { rule: c, if: { any: [ { macro: { auth_ssf: \"0\" } }, "
         "{ macro: { j: z } } ] }, then: reject } ]\n",
         "j daemon_name auth_ssf"},
        {"stages: { preq: [ { rule: a, if: { header: { X-A: b }, var: { v: c } }, then: reject } ] "
         "}",
         ""},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_policy *p = load_ok(cases[i].text);
        size_t n = 99;
        const char *const *names = stm_policy_macro_names(p, &n);
        char got[256] = "";
        for (size_t j = 0; j < n; j++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", j ? " " : "", names[j]);
        if (strcmp(got, cases[i].names) != 0)
            fail_msg("case %zu: names \"%s\", expected \"%s\"", i, got, cases[i].names);
        stm_policy_unref(p);
    }
}

/* Collects the first one-line diagnostic. */
static void
first_line(void *ctx, stm_severity sev, const char *line)
{
    char **out = ctx;
    if (*out == NULL)
        *out = strdup(line);
}

struct error_case {
    const char *text;
    const char *want; /* the start of the first diagnostic line */
    size_t nerrors;   /* how many errors in all (0: don't check) */
};

/* Each duplicate key names the line of its first occurrence, also when
 * earlier duplicates were dropped from the same mapping before it. */
static void
test_duplicate_lines(void **state)
{
    static const char text[] = "milter: {}\n"  /* 1 */
                               "milter: {}\n"  /* 2: dup of 1 */
                               "stages: {}\n"  /* 3 */
                               "lists: {}\n"   /* 4 */
                               "stages: {}\n"  /* 5: dup of 3 */
                               "lists: {}\n"   /* 6: dup of 4 */
                               "milter: {}\n"; /* 7: dup of 1 */
    static const struct {
        int line;
        const char *message;
    } want[] = {
        {2, "duplicate key 'milter' (first given at line 1)"},
        {5, "duplicate key 'stages' (first given at line 3)"},
        {6, "duplicate key 'lists' (first given at line 4)"},
        {7, "duplicate key 'milter' (first given at line 1)"},
    };
    stm_diag *diag = stm_diag_create();
    assert_null(stm_policy_load_text("t.yaml", text, strlen(text), diag));
    assert_int_equal(stm_diag_count(diag), 4);
    for (size_t i = 0; i < 4; i++) {
        const stm_diag_entry *e = stm_diag_get(diag, i);
        assert_int_equal(e->line, want[i].line);
        assert_string_equal(e->message, want[i].message);
    }
    stm_diag_free(diag);
}

/* Every refusal, with its position: the first line of the diagnostics. */
static void
test_errors(void **state)
{
    static const struct error_case cases[] = {
        {"a: [", "t.yaml:2:1: YAML syntax error: did not find expected node content", 1},
        {"milter: { sockett: x }",
         "t.yaml:1:11: unknown key 'sockett' in milter; allowed: socket, ", 1},
        {"stages: {}\nstages: {}\n", "t.yaml:2:1: duplicate key 'stages' (first given at line 1)",
         1},
        {"milter: []", "t.yaml:1:9: milter must be a mapping, not a list", 1},
        {"- a", "t.yaml:1:1: a policy must be a mapping of sections", 1},
        {"lists: { a: &x [b], c: *x }", "t.yaml:1:13: YAML anchors (&x) are not supported", 2},
        {"services: { s: { targets: \"tcp://h:1\", require_tls: 2 } }",
         "t.yaml:1:53: services.s.require_tls must be true or false, not '2'", 1},
        {"services: { s: { targets: \"tcp://h:1\", timeout: 60 } }",
         "t.yaml:1:49: services.s.timeout: bad duration '60': ", 1},
        {"milter: { max_message_size: 1T }", "t.yaml:1:29: milter.max_message_size: bad size '1T'",
         1},
        {"milter: { max_message_size: 0 }",
         "t.yaml:1:29: milter.max_message_size must be at least 1 byte", 1},
        {"milter: { socket: \"inet:x@h\" }", "t.yaml:1:25: milter.socket 'inet:x@h': the port", 1},
        {"milter: { socket: \"tcp:25\" }", "t.yaml:1:20: milter.socket 'tcp:25': unknown socket",
         1},
        {"milter: { socket: \"inet6:25@::1\", workdir: var }",
         "t.yaml:1:44: milter.workdir must be an absolute path", 1},
        {"receiver: { listen: \"127.0.0.1\" }",
         "t.yaml:1:31: receiver.listen '127.0.0.1': missing ':PORT'", 1},
        {"services: { s: { targets: [\"tcp://h:0\"] } }",
         "t.yaml:1:37: services.s.targets 'tcp://h:0': the port must be", 1},
        {"services: { s: { } }", "t.yaml:1:13: services.s needs targets", 1},
        {"services: { s: { targets: \"tls://h:1\", auth: forward } }",
         "t.yaml:1:46: services.s.auth: forward is not possible: a milter never sees", 1},
        {"services: { s: { targets: \"tls://h:1\", auth: plain } }",
         "t.yaml:1:46: services.s.auth: plain needs a username", 1},
        {"services: { s: { targets: \"tls://h:1\", auth: external } }",
         "t.yaml:1:46: services.s.auth: external needs tls_client.cert_file", 1},
        {"lists: { a: [\"10.0.0.1/8\"] }", "t.yaml:1:14: lists.a: bad entry '10.0.0.1/8'", 1},
        {"lists: { a: { file: /nonexistent/list } }", "t.yaml:1:21: cannot read list file", 1},
        {"lists: { \"a b\": [x] }", "t.yaml:1:10: list name 'a b' may hold only", 1},
        {"stages: { connect: [ { rule: a, if: { client_ip: \"@nope\" }, then: reject } ] }",
         "t.yaml:1:50: client_ip: unknown list '@nope' (no lists are defined)", 1},
        {"stages: { connect: [ { rule: a, if: { client_ip: \"10.0.0.300\" }, then: reject } ] }",
         "t.yaml:1:51: client_ip: ", 1},
        {"stages: { helo: [ { rule: a, if: { helo: \"/a(/\" }, then: reject } ] }",
         "t.yaml:1:46: helo: ", 1},
        {"stages: { helo: [ { rule: a, then: { deny: { code: 451 } } } ] }",
         "t.yaml:1:52: deny needs a 5xx code, not 451", 1},
        {"stages: { helo: [ { rule: a, then: { info: { code: 554 } } } ] }",
         "t.yaml:1:52: info needs a 4xx code, not 554", 1},
        {"stages: { helo: [ { rule: a, then: { deny: { code: 5500 } } } ] }",
         "t.yaml:1:52: deny: code must be 3 digits", 1},
        {"stages: { helo: [ { rule: a, then: { deny: { enhanced: \"5.7.1.1\" } } } ] }",
         "t.yaml:1:56: deny: enhanced must be an enhanced status code like 5.7.1", 1},
        {"stages: { helo: [ { rule: a, then: { deny: { code: 550, enhanced: \"4.7.1\" } } } ] }",
         "t.yaml:1:67: deny: enhanced code 4.7.1 does not match the 5xx reply code", 1},
        {"stages: { helo: [ { rule: a, then: { deny: { text: \"${nope}\" } } } ] }",
         "t.yaml:1:53: deny text: ", 1},
        {"stages: { helo: [ { rule: a, then: { deny: { colour: red } } } ] }",
         "t.yaml:1:46: unknown key 'colour' in deny; allowed: code, enhanced, text", 1},
        {"milter: { workdir: /tmp }\nstages: { helo: [ { rule: a, then: { quarantine: a/b } } ] }",
         "t.yaml:2:50: quarantine queue 'a/b' is not a valid name: it contains '/'", 1},
        {"milter: { workdir: /tmp }\nstages: { helo: [ { rule: a, then: { quarantine: .. } } ] }",
         "t.yaml:2:50: quarantine queue '..' is not a valid name: it contains '..'", 1},
        {"milter: { workdir: /tmp }\nstages: { helo: [ { rule: a, then: { quarantine: } } ] }",
         "t.yaml:2:", 1},
        {"milter: { workdir: /tmp }\nstages: { helo: [ { rule: a, then: quarantine } ] }",
         "t.yaml:2:36: then: quarantine needs a queue", 1},
        {"milter: { workdir: /dev/null/x }\nstages: { helo: [ { rule: a, then: { quarantine: q } } "
         "] }",
         "t.yaml:1:20: milter.workdir '/dev/null/x' is not writable", 1},
        {"stages: { helo: [ { rule: a, then: { quarantine: q } } ], mail: [] }\n"
         "milter: { quarantine: hold, workdir: /dev/null/x }",
         NULL, 0}, /* hold only: the workdir is not used */
        {"stages: { helo: [ { rule: a, then: rejectt } ] }",
         "t.yaml:1:36: then: unknown verb 'rejectt'", 1},
        {"stages: { helo: [ { rule: a, then: { deny: {}, info: {} } } ] }",
         "t.yaml:1:36: then must be a verb", 1},
        {"stages: { helo: [ { rule: a } ] }", "t.yaml:1:19: rule 'a' has no then:", 1},
        {"stages: { helo: [ { then: accept } ] }", "t.yaml:1:19: a rule needs a name", 1},
        {"stages: { helo: [ { rule: \"\", then: accept } ] }",
         "t.yaml:1:27: rule needs a non-empty name", 1},
        {"stages: { helo: [ { rule: a, action: b } ] }",
         "t.yaml:1:19: an item is either rule: NAME or action: NAME", 1},
        {"stages: { helo: [ { action: a, then: accept } ] }",
         "t.yaml:1:32: action 'a' has no then:", 1},
        {"stages: { helo: [ { action: a, else: accept } ] }",
         "t.yaml:1:32: action 'a' has no else:", 1},
        {"stages: { helo: [ { rule: a, rules: [], then: accept } ] }",
         "t.yaml:1:30: rules: belongs to a delegate rule", 1},
        {"stages: { helo: [ { rule: a, when: x, then: accept } ] }",
         "t.yaml:1:30: unknown key 'when' in rule 'a'; allowed: rule, if, do, then, else", 1},
        {"stages: { hello: [] }", "t.yaml:1:11: unknown key 'hello' in stages; allowed: connect,",
         1},
        {"receiver:\nservices: { s: { targets: \"tcp://h:1\" } }\n"
         "stages: { data: [ { rule: a, delegate: s } ] }",
         "t.yaml:3:40: delegate is possible only at preq or postq", 1},
        {"receiver:\nservices: { s: { targets: \"tcp://h:1\" } }\n"
         "stages: { preq: [ { rule: a, delegate: t } ] }",
         "t.yaml:3:40: unknown service 't'; defined services: s", 1},
        {"receiver:\nstages: { preq: [ { rule: a, delegate: t } ] }",
         "t.yaml:2:40: unknown service 't': the policy defines no services", 1},
        {"services: { s: { targets: \"tcp://h:1\" } }\nstages: { preq: [ { rule: a, delegate: s } "
         "] }",
         "t.yaml:2:40: delegating to an smtp or lmtp service needs a 'receiver' section", 1},
        {"receiver:\nservices: { s: { targets: \"tcp://h:1\" } }\n"
         "stages: { preq: [ { rule: a, delegate: s, then: accept } ] }",
         "t.yaml:3:43: delegate rule 'a' has no then: its rules: decide", 1},
        {"receiver:\nservices: { s: { targets: \"tcp://h:1\" } }\n"
         "stages: { preq: [ { rule: a, delegate: s, rules: [ { rule: b, delegate: s } ] } ] }",
         "t.yaml:3:73: a delegate rule cannot be inside another delegate's rules", 1},
        {"stages: { rcpt: [ { rule: a, if: { header: { A: b } }, then: deny } ] }",
         "t.yaml:1:36: header is known only at preq and postq", 1},
        {"stages: { data: [ { rule: a, if: { size: \">1k\" }, then: deny } ] }",
         "t.yaml:1:36: size is known only at preq and postq", 1},
        {"stages: { mail: [ { rule: a, if: { rcpt: x }, then: deny } ] }",
         "t.yaml:1:36: rcpt is known from the rcpt stage on, not at mail", 1},
        {"stages: { helo: [ { rule: a, if: { sender_domain: x }, then: deny } ] }",
         "t.yaml:1:36: sender_domain is known from the mail stage on, not at helo", 1},
        {"stages: { connect: [ { rule: a, if: { helo: x }, then: deny } ] }",
         "t.yaml:1:39: helo is known from the helo stage on, not at connect", 1},
        {"stages: { preq: [ { rule: a, if: { delegation: failed }, then: deny } ] }",
         "t.yaml:1:36: delegation is known only inside a delegate rule's rules:", 1},
        {"stages: { preq: [ { rule: a, if: { size: \"10M\" }, then: deny } ] }",
         "t.yaml:1:42: size must be a comparison like \">10M\"", 1},
        {"stages: { preq: [ { rule: a, if: {}, then: deny } ] }", "t.yaml:1:34: an empty condition",
         1},
        {"stages: { preq: [ { rule: a, if: { any: [] }, then: deny } ] }",
         "t.yaml:1:41: any needs at least one condition", 1},
        {"stages: { preq: [ { rule: a, if: { tls: maybe }, then: deny } ] }",
         "t.yaml:1:41: tls must be true or false, not 'maybe'", 1},
        {"stages: { preq: [ { rule: a, if: { has_header: \"A:B\" }, then: deny } ] }",
         "t.yaml:1:48: has_header: 'A:B' is not a valid header field name", 1},
        {"stages: { preq: [ { rule: a, if: { helo: { a: b } }, then: deny } ] }",
         "t.yaml:1:42: helo must be a pattern or a list of patterns", 1},
        {"stages: { mail: [ { action: a, do: [ { add_header: { name: \"A B\", value: x } } ] } ] }",
         "t.yaml:1:60: add_header name 'A B' is not a valid header field name", 1},
        {"stages: { mail: [ { action: a, do: [ { add_header: { name: A } } ] } ] }",
         "t.yaml:1:52: add_header needs both name and value", 1},
        {"stages: { mail: [ { action: a, do: [ { set_sender_ip: \"1.2.3\" } ] } ] }",
         "t.yaml:1:55: set_sender_ip: '1.2.3' is not an IP address", 1},
        {"stages: { mail: [ { action: a, do: [ { set: { \"a b\": x } } ] } ] }",
         "t.yaml:1:47: variable name 'a b' may hold only", 1},
        {"stages: { mail: [ { action: a, do: [ { log: \"${x}\" } ] } ] }", "t.yaml:1:46: log: ", 1},
        {"stages: { mail: [ { action: a, do: [ { shout: x } ] } ] }",
         "t.yaml:1:40: unknown effect 'shout'", 1},
        {"stages: { mail: [ { action: a, do: [ { log: x, set: { a: b } } ] } ] }",
         "t.yaml:1:38: an effect must be a mapping of one key", 1},
        {"a: \"x\\0y\"", "t.yaml:1:4: a NUL character is not allowed in a string", 2},
        {"a: !!binary eA==", "t.yaml:1:4: YAML tag 'tag:yaml.org,2002:binary' is not supported", 2},
        {"a: 1\n---\nb: 2\n", "t.yaml:2:1: only one YAML document is allowed", 1},
        {"a:\n\t- b\n", "t.yaml:2:1: YAML syntax error: ", 1},
        {"a: \"\xff\"\n", "t.yaml:1:5: YAML error: invalid leading UTF-8 octet", 1},
        /* Several problems in one run, in the order they were found. */
        {"milter: { on_error: x, quarantine: y }\nstages: { nope: [] }\n",
         "t.yaml:1:36: milter.quarantine must be one of store, hold, store+hold", 3},
    };
    int failures = 0;
#define FAILED(...) (print_error(__VA_ARGS__), print_error("\n"), failures++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_diag *diag;
        stm_policy *p = load(cases[i].text, &diag);
        char *line = NULL;
        stm_diag_each_line(diag, first_line, &line);
        if (cases[i].want == NULL) {
            if (p == NULL || line != NULL)
                FAILED("case %zu: expected valid, got %s", i, line ? line : "NULL policy");
        } else {
            if (p != NULL || stm_diag_errors(diag) == 0)
                FAILED("case %zu: expected an error: %s", i, cases[i].text);
            if (line == NULL || strncmp(line, cases[i].want, strlen(cases[i].want)) != 0)
                FAILED("case %zu:\n  want %s\n  got  %s", i, cases[i].want,
                       line ? line : "(nothing)");
            if (cases[i].nerrors && stm_diag_errors(diag) != cases[i].nerrors)
                FAILED("case %zu: %zu errors, expected %zu (first: %s)", i, stm_diag_errors(diag),
                       cases[i].nerrors, line);
        }
        free(line);
        stm_policy_unref(p);
        stm_diag_free(diag);
    }
    if (failures)
        fail_msg("%d of the cases failed", failures);
#undef FAILED
}

/* auth: plain over a cleartext target is a warning, not an error. */
static void
test_warning(void **state)
{
    stm_diag *diag;
    stm_policy *p = load("services:\n"
                        "  s:\n"
                        "    targets: [\"tls://h:465\", \"tcp://h:25\"]\n"
                        "    auth: plain\n"
                        "    username: u\n",
                        &diag);
    assert_non_null(p);
    assert_int_equal(stm_diag_count(diag), 1);
    assert_int_equal(stm_diag_errors(diag), 0);
    const stm_diag_entry *e = stm_diag_get(diag, 0);
    assert_int_equal(e->severity, STM_SEV_WARNING);
    assert_int_equal(e->line, 4);
    assert_int_equal(e->column, 11);
    assert_non_null(strstr(e->message, "tcp://h:25"));
    stm_policy_unref(p);
    stm_diag_free(diag);

    /* require_tls silences it. */
    p = load_ok("services:\n"
                "  s:\n"
                "    targets: [\"tcp://h:25\"]\n"
                "    require_tls: true\n"
                "    auth: plain\n"
                "    username: u\n");
    stm_policy_unref(p);
}

/* stm_policy_load: a file, relative list files next to it, references. */
static void
test_load_file(void **state)
{
    char dir[] = "/tmp/test_loader.XXXXXX";
    char path[256], list[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/policy.yaml", dir);
    snprintf(list, sizeof list, "%s/domains.txt", dir);
    FILE *f = fopen(list, "w");
    assert_non_null(f);
    fputs("# bad senders\nexample.org\n\n  .spam.example  \n", f);
    fclose(f);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("lists:\n  bad: { file: domains.txt }\n"
          "stages:\n  mail:\n    - rule: bad\n      if: { sender_domain: \"@bad\" }\n"
          "      then: deny\n",
          f);
    fclose(f);

    stm_diag *diag = stm_diag_create();
    stm_policy *p = stm_policy_load(path, diag);
    assert_non_null(p);
    assert_int_equal(stm_diag_count(diag), 0);
    assert_string_equal(stm_policy_path(p), path);
    assert_int_equal(p->nlists, 1);
    assert_int_equal(stm_list_size(p->lists[0]), 2);
    const stm_cond *c = first_rule(p, STM_STAGE_MAIL)->cond;
    assert_string_equal(c->pos.file, path);
    assert_true(MATCH(c->pattern, "a.spam.example"));
    assert_true(MATCH(c->pattern, "example.org"));
    assert_false(MATCH(c->pattern, "example.com"));
    /* References: the policy lives as long as someone holds it. */
    stm_policy *again = stm_policy_ref(p);
    assert_ptr_equal(again, p);
    stm_policy_unref(p);
    assert_string_equal(stm_policy_path(again), path);
    stm_policy_unref(again);
    stm_diag_free(diag);

    /* A missing file is reported for the file as a whole. */
    diag = stm_diag_create();
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_null(stm_policy_load(path, diag));
    const stm_diag_entry *e = stm_diag_get(diag, 0);
    assert_non_null(e);
    assert_int_equal(e->line, 0);
    assert_non_null(strstr(e->message, "No such file"));
    stm_diag_free(diag);

    unlink(list);
    snprintf(path, sizeof path, "%s/policy.yaml", dir);
    unlink(path);
    rmdir(dir);
}

/* stm_diag_print: one-line forms, the source line and a caret that keeps
 * the tabs before the column. */
static void
test_diag_print(void **state)
{
    char path[] = "/tmp/test_diag.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *src = "first\n\tx:\ty\n";
    assert_int_equal(write(fd, src, strlen(src)), (ssize_t)strlen(src));
    close(fd);

    stm_diag *diag = stm_diag_create();
    stm_diag_add(diag, STM_SEV_ERROR, path, 2, 5, "bad %s", "y");
    stm_diag_add(diag, STM_SEV_WARNING, path, 1, 3, "careful");
    stm_diag_add(diag, STM_SEV_ERROR, path, 0, 0, "whole file");
    stm_diag_add(diag, STM_SEV_ERROR, NULL, 7, 0, "no file");
    stm_srcpos pos = {path, 9, 1};
    stm_diag_error_at(diag, pos, "past the end");
    stm_diag_warning_at(diag, pos, "w");
    assert_int_equal(stm_diag_count(diag), 6);
    assert_int_equal(stm_diag_errors(diag), 4);
    assert_null(stm_diag_get(diag, 6));

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    stm_diag_print(diag, out);
    fclose(out);
    char *want = NULL;
    assert_true(asprintf(&want,
                         "%s:2:5: bad y\n\tx:\ty\n\t  \t^\n"
                         "%s:1:3: warning: careful\nfirst\n  ^\n"
                         "%s: whole file\n"
                         "-:7: no file\n"
                         "%s:9:1: past the end\n"
                         "%s:9:1: warning: w\n",
                         path, path, path, path, path) > 0);
    assert_string_equal(buf, want);
    free(buf);
    free(want);
    stm_diag_free(diag);
    stm_diag_free(NULL);
    unlink(path);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_milter_receiver),
        cmocka_unit_test(test_services),      cmocka_unit_test(test_verbs),
        cmocka_unit_test(test_rules_effects), cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_flags),         cmocka_unit_test(test_macro_names),
        cmocka_unit_test(test_uses_receiver),
        cmocka_unit_test(test_errors),        cmocka_unit_test(test_duplicate_lines),
        cmocka_unit_test(test_warning),       cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_diag_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
