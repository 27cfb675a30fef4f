/*
 * test_engine.c - unit tests of the rule engine (policy/run/engine.c, cond.c)
 * driven by policies written in YAML and loaded with stm_policy_load_text():
 * every verb's reply, per-recipient decisions, accept/faccept/quarantine
 * flow, on_error, effects, every condition, delegation and the trace.
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

/* What a test hook records, and how the delegate hook answers. */
typedef struct harness {
    stm_policy *policy;
    stm_session *s;
    stm_engine_hooks hooks;
    char trace[16384];
    char log[8192];
    int nlogs;
    /* The delegate hook's answer. */
    int deleg_calls;
    int deleg_rc;
    stm_delegation_result deleg_result;
    int deleg_code;
    const char *deleg_reply;
    const char *deleg_header; /* "Name: value" in the returned copy */
    const char *deleg_body;
    char deleg_seen_rcpts[256]; /* what the hook saw */
} harness;

/* Append a printf-style line to BUF (of SIZE bytes). */
static void __attribute__((format(printf, 3, 4)))
append(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

/* Log hook: "stage rule: text" lines. */
static void
h_log(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    harness *h = ctx;
    assert_ptr_equal(s, h->s);
    h->nlogs++;
    append(h->log, sizeof h->log, "%s %s: %s\n", stm_stage_name(stage), rule ? rule : "-", text);
}

/* Trace hook: one compact line per event. */
static void
h_trace(void *ctx, const stm_trace_event *ev)
{
    harness *h = ctx;
    const char *ind = ev->depth ? "  " : "";
    switch (ev->kind) {
    case STM_TRACE_STAGE:
        append(h->trace, sizeof h->trace, "stage %s\n", stm_stage_name(ev->stage));
        break;
    case STM_TRACE_RULE:
        append(h->trace, sizeof h->trace, "%srule %s %s\n", ind, ev->rule,
               ev->matched ? "matched" : "no");
        break;
    case STM_TRACE_SKIPPED:
        append(h->trace, sizeof h->trace, "skipped %s\n", ev->detail);
        break;
    case STM_TRACE_EFFECT:
        append(h->trace, sizeof h->trace, "%seffect %s\n", ind, ev->detail);
        break;
    case STM_TRACE_DELEGATION:
        append(h->trace, sizeof h->trace, "delegation %s: %s\n", ev->rule, ev->detail);
        break;
    case STM_TRACE_LOOKUP:
        append(h->trace, sizeof h->trace, "lookup %s\n", ev->detail);
        break;
    case STM_TRACE_VERDICT:
        append(h->trace, sizeof h->trace, "verdict %s %d %s %s\n", stm_verb_name(ev->verdict->verb),
               ev->verdict->code, ev->verdict->enhanced[0] ? ev->verdict->enhanced : "-",
               ev->verdict->rule ? ev->verdict->rule : "-");
        break;
    }
}

/* Delegate hook: answers as the harness says. */
static int
h_delegate(void *ctx, stm_session *s, const stm_service *service, stm_delegation *out)
{
    harness *h = ctx;
    h->deleg_calls++;
    h->deleg_seen_rcpts[0] = '\0';
    for (size_t i = 0; i < stm_session_rcpt_count(s); i++)
        append(h->deleg_seen_rcpts, sizeof h->deleg_seen_rcpts, "%s%s", i ? "," : "",
               stm_session_rcpt_at(s, i));
    out->elapsed_ms = 12;
    if (h->deleg_rc < 0)
        return -1;
    out->result = h->deleg_result;
    out->reply_code = h->deleg_code;
    if (h->deleg_reply != NULL)
        out->reply = strdup(h->deleg_reply);
    if (h->deleg_result == STM_DELEGATION_RETURNED) {
        if (h->deleg_header != NULL) {
            char name[64];
            const char *colon = strchr(h->deleg_header, ':');
            snprintf(name, sizeof name, "%.*s", (int)(colon - h->deleg_header), h->deleg_header);
            assert_int_equal(stm_message_add_header(&out->returned, name, colon + 2), 0);
        }
        if (h->deleg_body != NULL)
            stm_message_append_body(&out->returned, h->deleg_body, strlen(h->deleg_body), 0);
    }
    return 0;
}

/* Load YAML into H and open a session with the usual connection facts. */
static void
h_load(harness *h, const char *yaml)
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
    assert_int_equal(stm_session_set_client(h->s, "192.0.2.1", "40000", "mx.example.net"), 0);
    assert_int_equal(stm_session_set_server(h->s, "198.51.100.7", "25", "mail.example.org"), 0);
    h->hooks.ctx = h;
    h->hooks.log = h_log;
    h->hooks.trace = h_trace;
    h->hooks.delegate = h_delegate;
    h->deleg_result = STM_DELEGATION_RETURNED;
    h->deleg_code = 250;
    h->deleg_reply = "2.0.0 Ok: queued";
}

/* Release what H holds. */
static void
h_free(harness *h)
{
    stm_session_free(h->s);
    stm_policy_unref(h->policy);
}

/* Run STAGE (preq/postq: the end of message) into V. */
static void
h_run(harness *h, stm_stage stage, stm_verdict *v)
{
    int rc = stage >= STM_STAGE_PREQ ? stm_engine_run_eom(h->s, &h->hooks, v)
                                     : stm_engine_run(h->s, stage, &h->hooks, v);
    assert_int_equal(rc, 0);
}

/* Walk a session through the stages before STAGE (helo, one transaction, one
 * accepted recipient, a small message), without running rules. */
static void
h_prepare(harness *h, stm_stage stage)
{
    if (stage >= STM_STAGE_HELO)
        assert_int_equal(stm_session_set_helo(h->s, "helo.example.net"), 0);
    if (stage >= STM_STAGE_MAIL)
        assert_int_equal(stm_session_begin_transaction(h->s, "alice@example.net"), 0);
    if (stage >= STM_STAGE_RCPT)
        assert_int_equal(stm_session_set_rcpt(h->s, "bob@example.org"), 0);
    if (stage >= STM_STAGE_DATA) {
        assert_int_equal(stm_session_accept_rcpt(h->s), 0);
        assert_int_equal(stm_session_set_queue_id(h->s, "4QX1"), 0);
    }
    if (stage >= STM_STAGE_PREQ) {
        stm_message *m = stm_session_message(h->s);
        assert_int_equal(stm_message_add_header(m, "Subject", "hello world"), 0);
        assert_int_equal(stm_message_add_header(m, "X-Spam-Score", "7.5"), 0);
        assert_int_equal(stm_message_append_body(m, "Hi Bob,\r\nbuy cheap pills\r\n", 27, 0), 0);
    }
}

/* V must be VERB with reply CODE, ENHANCED and TEXT (NULL: no text). */
static void
assert_reply(const stm_verdict *v, stm_verb verb, int code, const char *enhanced, const char *text)
{
    assert_int_equal(v->verb, verb);
    assert_int_equal(v->code, code);
    assert_string_equal(v->enhanced, enhanced);
    if (text == NULL)
        assert_null(v->text);
    else
        assert_string_equal(v->text, text);
}

struct verb_case {
    stm_stage stage;
    const char *then;
    stm_verb verb;
    int code;
    const char *enhanced;
    const char *text;
};

static const struct verb_case verb_cases[] = {
    {STM_STAGE_CONNECT, "deny", STM_VERB_DENY, 554, "5.7.1", "Access denied"},
    {STM_STAGE_MAIL, "deny", STM_VERB_DENY, 554, "5.7.1", "Access denied"},
    {STM_STAGE_PREQ, "deny", STM_VERB_DENY, 554, "5.7.1", "Access denied"},
    {STM_STAGE_HELO, "info", STM_VERB_INFO, 451, "4.7.1", "Try again later"},
    {STM_STAGE_CONNECT, "info", STM_VERB_INFO, 451, "4.7.1", "Try again later"},
    {STM_STAGE_CONNECT, "reject", STM_VERB_REJECT, 521, "5.7.1", "Rejected by policy"},
    {STM_STAGE_RCPT, "reject", STM_VERB_REJECT, 550, "5.7.1", "Rejected by policy"},
    {STM_STAGE_CONNECT, "{ reject: \"go away\" }", STM_VERB_REJECT, 521, "5.7.1", "go away"},
    {STM_STAGE_POSTQ, "{ reject: \"spam from ${client_ip}\" }", STM_VERB_REJECT, 550, "5.7.1",
     "spam from 192.0.2.1"},
    {STM_STAGE_CONNECT, "defer", STM_VERB_DEFER, 421, "4.7.0", "Try again later"},
    {STM_STAGE_HELO, "defer", STM_VERB_DEFER, 451, "4.7.1", "Try again later"},
    {STM_STAGE_DATA, "{ defer: \"busy\" }", STM_VERB_DEFER, 451, "4.7.1", "busy"},
    {STM_STAGE_RCPT,
     "{ deny: { code: 550, enhanced: \"5.7.2\", text: \"no ${rcpt} from ${sender}\" } }",
     STM_VERB_DENY, 550, "5.7.2", "no bob@example.org from alice@example.net"},
    {STM_STAGE_MAIL, "{ deny: { code: 553 } }", STM_VERB_DENY, 553, "5.7.1", "Access denied"},
    {STM_STAGE_MAIL, "{ deny: { text: \"nope\" } }", STM_VERB_DENY, 554, "5.7.1", "nope"},
    {STM_STAGE_MAIL, "{ deny: { enhanced: \"5.1.8\" } }", STM_VERB_DENY, 554, "5.1.8",
     "Access denied"},
    {STM_STAGE_DATA, "{ info: { code: 450, text: \"slow down, ${helo}\" } }", STM_VERB_INFO, 450,
     "4.7.1", "slow down, helo.example.net"},
    {STM_STAGE_CONNECT, "{ info: { code: 421, enhanced: \"4.3.2\" } }", STM_VERB_INFO, 421, "4.3.2",
     "Try again later"},
    {STM_STAGE_DATA, "discard", STM_VERB_DISCARD, 0, "", NULL},
    {STM_STAGE_CONNECT, "accept", STM_VERB_ACCEPT, 0, "", NULL},
    {STM_STAGE_RCPT, "faccept", STM_VERB_FACCEPT, 0, "", NULL},
};

/* Every verb gives its reply, with defaults per stage and custom parts. */
static void
test_verbs(void **state)
{
    for (size_t i = 0; i < sizeof verb_cases / sizeof verb_cases[0]; i++) {
        const struct verb_case *c = &verb_cases[i];
        char yaml[1024];
        snprintf(yaml, sizeof yaml, "stages:\n  %s:\n    - rule: r%zu\n      then: %s\n",
                 stm_stage_name(c->stage), i, c->then);
        print_message("case %zu: %s at %s\n", i, c->then, stm_stage_name(c->stage));
        harness h;
        h_load(&h, yaml);
        h_prepare(&h, c->stage);
        stm_verdict v;
        h_run(&h, c->stage, &v);
        assert_reply(&v, c->verb, c->code, c->enhanced, c->text);
        char name[16];
        snprintf(name, sizeof name, "r%zu", i);
        assert_string_equal(v.rule, name);
        assert_int_equal(v.stage, c->stage);
        assert_null(v.error);
        stm_verdict_clear(&v);
        h_free(&h);
    }
}

/* Rules that do not decide: implicit accept (rule NULL); an empty stage too. */
static void
test_implicit_accept(void **state)
{
    harness h;
    h_load(&h, "stages:\n"
               "  connect:\n"
               "    - rule: not me\n"
               "      if: { client_ip: 10.0.0.0/8 }\n"
               "      then: deny\n"
               "    - rule: next explicitly\n"
               "      then: next\n"
               "    - action: tag\n"
               "      do: [ { set: { tagged: \"yes\" } } ]\n");
    h.hooks.trace = NULL; /* optional */
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_null(v.rule);
    assert_null(v.text);
    assert_int_equal(v.code, 0);
    assert_string_equal(stm_session_var(h.s, "tagged"), "yes");
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_HELO, &v); /* no rules at helo */
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_null(v.rule);
    stm_verdict_clear(&v);
    h_free(&h);
}

/* `else` is taken when the condition does not hold. */
static void
test_else(void **state)
{
    harness h;
    h_load(&h, "stages:\n"
               "  connect:\n"
               "    - rule: trusted or not\n"
               "      if: { client_ip: 10.0.0.0/8 }\n"
               "      then: accept\n"
               "      else: { defer: \"who are you, ${client_name}?\" }\n");
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    assert_int_equal(v.code, 421);
    assert_string_equal(v.text, "who are you, mx.example.net?");
    assert_string_equal(v.rule, "trusted or not");
    stm_verdict_clear(&v);
    h_free(&h);
}

/* deny at rcpt refuses one recipient; the next is judged afresh. */
static void
test_rcpt_per_recipient(void **state)
{
    static const struct {
        const char *rcpt;
        stm_verb verb;
    } rcpts[] = {
        {"bob@example.org", STM_VERB_ACCEPT},
        {"lucifer@satan.org", STM_VERB_DENY},
        {"carol@EXAMPLE.org", STM_VERB_ACCEPT},
        {"x@SATAN.ORG", STM_VERB_DENY},
    };
    harness h;
    h_load(&h, "stages:\n"
               "  rcpt:\n"
               "    - rule: check for satan\n"
               "      if: { rcpt_domain: satan.org }\n"
               "      then: { deny: { code: 550, enhanced: \"5.7.1\", text: \"${rcpt} is not "
               "welcome here.\" } }\n"
               "  data:\n"
               "    - rule: list\n"
               "      then: { defer: \"rcpts ${rcpt}\" }\n");
    h_prepare(&h, STM_STAGE_MAIL);
    for (size_t i = 0; i < sizeof rcpts / sizeof rcpts[0]; i++) {
        stm_verdict v;
        assert_int_equal(stm_session_set_rcpt(h.s, rcpts[i].rcpt), 0);
        h_run(&h, STM_STAGE_RCPT, &v);
        assert_int_equal(v.verb, rcpts[i].verb);
        if (v.verb == STM_VERB_DENY) {
            char want[128];
            snprintf(want, sizeof want, "%s is not welcome here.", rcpts[i].rcpt);
            assert_string_equal(v.text, want);
            assert_int_equal(v.code, 550);
        } else {
            assert_int_equal(stm_session_accept_rcpt(h.s), 0);
        }
        stm_verdict_clear(&v);
    }
    assert_int_equal(stm_session_rcpt_count(h.s), 2);
    assert_string_equal(stm_session_rcpt_at(h.s, 0), "bob@example.org");
    assert_string_equal(stm_session_rcpt_at(h.s, 1), "carol@EXAMPLE.org");
    stm_verdict v;
    h_run(&h, STM_STAGE_DATA, &v);
    assert_string_equal(v.text, "rcpts bob@example.org, carol@EXAMPLE.org");
    stm_verdict_clear(&v);
    h_free(&h);
}

/* accept ends its stage only: the next stage's rules run. */
static void
test_accept_ends_stage(void **state)
{
    harness h;
    h_load(&h, "stages:\n"
               "  mail:\n"
               "    - rule: ok\n"
               "      then: accept\n"
               "    - rule: never\n"
               "      then: deny\n"
               "  rcpt:\n"
               "    - rule: later\n"
               "      then: deny\n"
               "  preq:\n"
               "    - rule: preq ok\n"
               "      then: accept\n"
               "    - rule: preq never\n"
               "      then: deny\n"
               "  postq:\n"
               "    - rule: postq\n"
               "      then: { reject: \"postq ran\" }\n");
    stm_verdict v;
    h_prepare(&h, STM_STAGE_MAIL);
    h_run(&h, STM_STAGE_MAIL, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_string_equal(v.rule, "ok");
    stm_verdict_clear(&v);
    assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
    h_run(&h, STM_STAGE_RCPT, &v);
    assert_int_equal(v.verb, STM_VERB_DENY);
    assert_string_equal(v.rule, "later");
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(v.verb, STM_VERB_REJECT);
    assert_string_equal(v.rule, "postq");
    assert_int_equal(v.stage, STM_STAGE_POSTQ);
    assert_string_equal(v.text, "postq ran");
    stm_verdict_clear(&v);
    assert_null(strstr(h.trace, "preq never"));
    assert_null(strstr(h.trace, "rule never"));
    h_free(&h);
}

static const char *const all_stages_yaml = "stages:\n"
                                           "  connect:\n"
                                           "    - rule: c\n"
                                           "      if: { client_name: \"*.trusted.example\" }\n"
                                           "      then: faccept\n"
                                           "  helo:\n    - rule: h\n      then: deny\n"
                                           "  mail:\n"
                                           "    - rule: m\n"
                                           "      if: { sender: \"vip@example.net\" }\n"
                                           "      then: faccept\n"
                                           "    - rule: m2\n"
                                           "      then: next\n"
                                           "  rcpt:\n    - rule: r\n      then: deny\n"
                                           "  data:\n    - rule: d\n      then: deny\n"
                                           "  preq:\n    - rule: p\n      then: deny\n"
                                           "  postq:\n    - rule: q\n      then: deny\n";

/* faccept at connect skips every later rule of the connection. */
static void
test_faccept_connection(void **state)
{
    harness h;
    h_load(&h, all_stages_yaml);
    assert_int_equal(stm_session_set_client(h.s, "192.0.2.9", "1", "a.trusted.example"), 0);
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_int_equal(v.verb, STM_VERB_FACCEPT);
    assert_string_equal(v.rule, "c");
    stm_verdict_clear(&v);
    for (int t = 0; t < 2; t++) { /* two transactions */
        assert_int_equal(stm_session_begin_transaction(h.s, "x@example.net"), 0);
        for (stm_stage st = STM_STAGE_HELO; st <= STM_STAGE_PREQ; st++) {
            if (st == STM_STAGE_RCPT)
                assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
            h_run(&h, st, &v);
            assert_int_equal(v.verb, STM_VERB_ACCEPT);
            assert_null(v.rule);
            stm_verdict_clear(&v);
        }
        stm_session_end_transaction(h.s);
    }
    assert_non_null(strstr(h.trace, "skipped faccept for the connection"));
    assert_null(strstr(h.trace, "rule h "));
    assert_null(strstr(h.trace, "rule p "));
    h_free(&h);
}

/* faccept at mail holds for that message only. */
static void
test_faccept_message(void **state)
{
    harness h;
    h_load(&h, all_stages_yaml);
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    assert_int_equal(stm_session_begin_transaction(h.s, "vip@example.net"), 0);
    h_run(&h, STM_STAGE_MAIL, &v);
    assert_int_equal(v.verb, STM_VERB_FACCEPT);
    assert_string_equal(v.rule, "m");
    stm_verdict_clear(&v);
    assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
    h_run(&h, STM_STAGE_RCPT, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_null(v.rule);
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    assert_non_null(strstr(h.trace, "skipped faccept for the message"));
    /* The next message is judged again. */
    assert_int_equal(stm_session_begin_transaction(h.s, "other@example.net"), 0);
    h_run(&h, STM_STAGE_MAIL, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_null(v.rule);
    stm_verdict_clear(&v);
    assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
    h_run(&h, STM_STAGE_RCPT, &v);
    assert_int_equal(v.verb, STM_VERB_DENY);
    stm_verdict_clear(&v);
    h_free(&h);
}

/* quarantine at rcpt: later stages skipped, QUARANTINE at end of message. */
static void
test_quarantine(void **state)
{
    harness h;
    h_load(&h, "milter:\n  workdir: /tmp\n"
               "stages:\n"
               "  rcpt:\n"
               "    - rule: spamtrap\n"
               "      if: { rcpt: trap@example.org }\n"
               "      then: { quarantine: traps }\n"
               "    - rule: after\n"
               "      then: deny\n"
               "  data:\n    - rule: d\n      then: deny\n"
               "  preq:\n"
               "    - rule: big\n"
               "      if: { size: \">1M\" }\n"
               "      then: { quarantine: big }\n"
               "  postq:\n    - rule: q\n      then: deny\n");
    stm_verdict v;
    h_prepare(&h, STM_STAGE_MAIL);
    assert_int_equal(stm_session_set_rcpt(h.s, "trap@example.org"), 0);
    h_run(&h, STM_STAGE_RCPT, &v);
    assert_int_equal(v.verb, STM_VERB_QUARANTINE);
    assert_string_equal(v.queue, "traps");
    assert_string_equal(v.rule, "spamtrap");
    stm_verdict_clear(&v);
    assert_int_equal(stm_session_accept_rcpt(h.s), 0);
    assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
    h_run(&h, STM_STAGE_RCPT, &v); /* "after" would deny: skipped */
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_null(v.rule);
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_DATA, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(v.verb, STM_VERB_QUARANTINE);
    assert_string_equal(v.queue, "traps");
    assert_string_equal(v.rule, "spamtrap");
    assert_int_equal(v.stage, STM_STAGE_RCPT);
    stm_verdict_clear(&v);
    assert_null(strstr(h.trace, "rule after"));
    assert_null(strstr(h.trace, "rule big"));
    assert_null(strstr(h.trace, "rule q "));

    /* A new message: nothing pending; a quarantine at preq skips postq. */
    assert_int_equal(stm_session_begin_transaction(h.s, "a@example.net"), 0);
    assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
    assert_int_equal(stm_session_accept_rcpt(h.s), 0);
    static char big[2 * 1024 * 1024];
    memset(big, 'x', sizeof big);
    /* In memory: this policy's spool directory (its workdir's) is not made. */
    stm_message_set_spool(stm_session_message(h.s), NULL);
    stm_message_append_body(stm_session_message(h.s), big, sizeof big, 0);
    h.trace[0] = '\0';
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(v.verb, STM_VERB_QUARANTINE);
    assert_string_equal(v.queue, "big");
    assert_string_equal(v.rule, "big");
    assert_int_equal(v.stage, STM_STAGE_PREQ);
    stm_verdict_clear(&v);
    assert_null(strstr(h.trace, "rule q "));
    h_free(&h);
}

struct on_error_case {
    const char *on_error;
    stm_verb verb;
    int code;
    const char *enhanced;
    const char *text;
};

static const struct on_error_case on_error_cases[] = {
    {"tempfail", STM_VERB_DEFER, 451, "4.3.0", "Temporary local error, try again later"},
    {"accept", STM_VERB_ACCEPT, 0, "", NULL},
    {"reject", STM_VERB_REJECT, 550, "5.3.0", "Message rejected after a local error"},
};

/* A body condition on a body too large to keep fails: on_error decides.
 * (At postq, the last stage, so its verdict is the one returned.) */
static void
test_on_error(void **state)
{
    for (size_t i = 0; i < sizeof on_error_cases / sizeof on_error_cases[0]; i++) {
        const struct on_error_case *c = &on_error_cases[i];
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "milter:\n  on_error: %s\n  max_message_size: 10\n"
                 "stages:\n"
                 "  postq:\n"
                 "    - rule: pills\n"
                 "      if: { body: \"/pills/\" }\n"
                 "      then: deny\n"
                 "    - rule: after\n"
                 "      then: deny\n",
                 c->on_error);
        harness h;
        h_load(&h, yaml);
        h_prepare(&h, STM_STAGE_DATA);
        stm_message *m = stm_session_message(h.s);
        const uint64_t limit = stm_policy_milter(h.policy)->max_message_size;
        assert_int_equal(limit, 10);
        assert_int_equal(stm_message_append_body(m, "buy cheap pills now", 19, limit), 0);
        assert_true(m->truncated);
        stm_verdict v;
        h_run(&h, STM_STAGE_PREQ, &v);
        assert_reply(&v, c->verb, c->code, c->enhanced, c->text);
        assert_string_equal(v.rule, "pills");
        assert_non_null(v.error);
        assert_non_null(strstr(v.error, "max_message_size"));
        assert_non_null(strstr(h.log, "postq pills: rule failed:"));
        assert_null(strstr(h.trace, "rule after")); /* the stage stopped */
        stm_verdict_clear(&v);
        h_free(&h);
    }
}

/* A regex that hits its match limit on an attacker's input is a run-time
 * failure (on_error: tempfail here), never "no match": the body rule, a
 * header rule and a rule over the recipients each fail; a second
 * alternative that matches still decides. */
static void
test_on_error_regex_limit(void **state)
{
    (void)state;
    static const char *const conds[] = {
        "{ body: \"/(a+)+$/\" }",
        "{ header: { Subject: \"/(a+)+$/\" } }",
        "{ rcpt: \"/(a+)+$/\" }",
    };
    char evil[64];
    memset(evil, 'a', 40);
    memcpy(evil + 40, "b", 2);
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "stages:\n"
                 "  postq:\n"
                 "    - rule: evil\n"
                 "      if: %s\n"
                 "      then: deny\n",
                 conds[i]);
        harness h;
        h_load(&h, yaml);
        h_prepare(&h, STM_STAGE_DATA);
        stm_message *m = stm_session_message(h.s);
        assert_int_equal(stm_message_add_header(m, "Subject", evil), 0);
        assert_int_equal(stm_message_append_body(m, evil, strlen(evil), 0), 0);
        assert_int_equal(stm_session_set_rcpt(h.s, evil), 0);
        assert_int_equal(stm_session_accept_rcpt(h.s), 0);
        stm_verdict v;
        h_run(&h, STM_STAGE_PREQ, &v);
        assert_reply(&v, STM_VERB_DEFER, 451, "4.3.0", "Temporary local error, try again later");
        assert_non_null(v.error);
        if (strstr(v.error, "match limit") == NULL)
            fail_msg("case %zu: error \"%s\" does not name the match limit", i, v.error);
        stm_verdict_clear(&v);
        h_free(&h);
    }
    /* Another alternative that matches decides: the answer is known. */
    harness h;
    h_load(&h, "stages:\n  postq:\n    - rule: evil\n"
               "      if: { body: [\"/(a+)+$/\", \"/aaab/\"] }\n      then: deny\n");
    h_prepare(&h, STM_STAGE_DATA);
    assert_int_equal(stm_message_append_body(stm_session_message(h.s), evil, strlen(evil), 0), 0);
    stm_verdict v;
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(v.verb, STM_VERB_DENY);
    assert_null(v.error);
    stm_verdict_clear(&v);
    h_free(&h);
}

/* header and has_header on a message whose header outgrew the limit fail at
 * run time: judging the fields that were kept could miss the one that
 * matters. A body cut alone leaves header conditions answerable. */
static void
test_on_error_headers_cut(void **state)
{
    (void)state;
    static const char *const conds[] = {"{ has_header: X-Spam }", "{ header: { X-Spam: yes } }"};
    for (size_t i = 0; i < 2; i++) {
        for (int cut = 0; cut < 2; cut++) {
            char yaml[512];
            snprintf(yaml, sizeof yaml,
                     "stages:\n  postq:\n    - rule: tagged\n      if: %s\n      then: deny\n",
                     conds[i]);
            harness h;
            h_load(&h, yaml);
            h_prepare(&h, STM_STAGE_DATA);
            stm_message *m = stm_session_message(h.s);
            assert_int_equal(stm_message_add_header(m, "X-Spam", "yes"), 0);
            m->truncated = true; /* the body was not kept either way */
            m->headers_truncated = cut;
            stm_verdict v;
            h_run(&h, STM_STAGE_PREQ, &v);
            if (cut) {
                assert_int_equal(v.verb, STM_VERB_DEFER);
                assert_non_null(v.error);
                assert_non_null(strstr(v.error, "header"));
            } else {
                assert_int_equal(v.verb, STM_VERB_DENY);
                assert_null(v.error);
            }
            stm_verdict_clear(&v);
            h_free(&h);
        }
    }
}

/* A set_sender_ip that is not an address fails; 421 at connect, 451 later. */
static void
test_on_error_set_sender_ip(void **state)
{
    harness h;
    h_load(&h, "stages:\n"
               "  connect:\n"
               "    - action: from name\n"
               "      do: [ { set_sender_ip: \"${client_name}\" } ]\n");
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    assert_int_equal(v.code, 421);
    assert_string_equal(v.enhanced, "4.3.0");
    assert_string_equal(v.rule, "from name");
    assert_string_equal(v.error, "set_sender_ip: \"mx.example.net\" is not an IP address");
    assert_string_equal(stm_session_client_ip(h.s), "192.0.2.1"); /* unchanged */
    stm_verdict_clear(&v);
    h_free(&h);

    h_load(&h, "stages:\n"
               "  helo:\n"
               "    - rule: from helo\n"
               "      do: [ { set_sender_ip: \"${helo}\" } ]\n"
               "      then: deny\n");
    assert_int_equal(stm_session_set_helo(h.s, "not an address"), 0);
    h_run(&h, STM_STAGE_HELO, &v);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    assert_int_equal(v.code, 451);
    stm_verdict_clear(&v);
    h_free(&h);

    /* on_error: reject follows the reject verb: 521 at connect, 550 later. */
    static const char reject_policy[] = "milter: { on_error: reject }\n"
                                        "stages:\n"
                                        "  connect:\n"
                                        "    - action: from name\n"
                                        "      do: [ { set_sender_ip: \"${client_name}\" } ]\n"
                                        "  helo:\n"
                                        "    - action: from helo\n"
                                        "      do: [ { set_sender_ip: \"${helo}\" } ]\n";
    h_load(&h, reject_policy);
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_reply(&v, STM_VERB_REJECT, 521, "5.3.0", "Message rejected after a local error");
    stm_verdict_clear(&v);
    assert_int_equal(stm_session_set_client(h.s, "192.0.2.1", "1", "192.0.2.9"), 0);
    assert_int_equal(stm_session_set_helo(h.s, "not an address"), 0);
    h_run(&h, STM_STAGE_HELO, &v);
    assert_reply(&v, STM_VERB_REJECT, 550, "5.3.0", "Message rejected after a local error");
    stm_verdict_clear(&v);
    h_free(&h);
}

/* Effects: add_header, set, log, set_sender_ip literal and nat64. */
static void
test_effects(void **state)
{
    harness h;
    h_load(
        &h,
        "stages:\n"
        "  connect:\n"
        "    - action: nat64\n"
        "      do: [ { set_sender_ip: nat64 } ]\n"
        "    - action: tag\n"
        "      do:\n"
        "        - add_header: { name: X-Client, value: \"${client_ip}\" }\n"
        "        - set: { origin: \"${client_ip}\" }\n"
        "        - log: \"connect from ${client_ip} port ${client_port}\"\n"
        "  mail:\n"
        "    - action: tag mail\n"
        "      do: [ { add_header: { name: X-Sender, value: \"${sender} via ${var.origin}\" } } ]\n"
        "    - rule: relay\n"
        "      if: { client_ip: 203.0.113.0/24 }\n"
        "      then: deny\n"
        "  rcpt:\n"
        "    - action: literal\n"
        "      do: [ { set_sender_ip: \"203.0.113.${var.n}\" } ]\n");
    /* 64:ff9b::c000:201 is 192.0.2.1 behind NAT64. */
    assert_int_equal(stm_session_set_client(h.s, "64:ff9b::c000:201", "5", NULL), 0);
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    assert_string_equal(stm_session_client_ip(h.s), "192.0.2.1");
    assert_string_equal(stm_session_var(h.s, "origin"), "192.0.2.1");
    assert_string_equal(h.log, "connect tag: connect from 192.0.2.1 port 5\n");
    assert_non_null(strstr(h.trace, "effect set_sender_ip 192.0.2.1\n"));
    assert_non_null(strstr(h.trace, "effect add_header X-Client: 192.0.2.1\n"));
    assert_non_null(strstr(h.trace, "effect set origin=192.0.2.1\n"));

    assert_int_equal(stm_session_begin_transaction(h.s, ""), 0);
    h_run(&h, STM_STAGE_MAIL, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    size_t n;
    const stm_header *hd = stm_session_added_headers(h.s, &n);
    assert_int_equal(n, 2);
    assert_string_equal(hd[0].name, "X-Client");
    assert_string_equal(hd[0].value, "192.0.2.1");
    assert_string_equal(hd[1].name, "X-Sender");
    assert_string_equal(hd[1].value, "<> via 192.0.2.1");

    /* A literal (interpolated) address; later rules see it. */
    assert_int_equal(stm_session_set_var(h.s, "n", "7"), 0);
    assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
    h_run(&h, STM_STAGE_RCPT, &v);
    stm_verdict_clear(&v);
    assert_string_equal(stm_session_client_ip(h.s), "203.0.113.7");
    assert_int_equal(stm_session_begin_transaction(h.s, "a@b.example"), 0);
    h_run(&h, STM_STAGE_MAIL, &v);
    assert_int_equal(v.verb, STM_VERB_DENY);
    assert_string_equal(v.rule, "relay");
    stm_verdict_clear(&v);
    h_free(&h);

    /* nat64 on an address outside 64:ff9b::/96: unchanged, nothing logged. */
    h_load(&h,
           "stages:\n  connect:\n    - action: nat64\n      do: [ { set_sender_ip: nat64 } ]\n");
    assert_int_equal(stm_session_set_client(h.s, "2001:db8::1", "5", NULL), 0);
    h_run(&h, STM_STAGE_CONNECT, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    assert_null(v.error);
    stm_verdict_clear(&v);
    assert_string_equal(stm_session_client_ip(h.s), "2001:db8::1");
    assert_int_equal(h.nlogs, 0);
    h_free(&h);
}

/* A client says EHLO again (after STARTTLS, or just because): the helo
 * stage runs again and its headers replace the earlier helo's, once per
 * message; headers from connect stay. */
static void
test_helo_again(void **state)
{
    harness h;
    h_load(&h, "stages:\n"
               "  connect:\n"
               "    - action: conn\n"
               "      do: [ { add_header: { name: X-Conn, value: \"${client_ip}\" } } ]\n"
               "  helo:\n"
               "    - action: greet\n"
               "      do: [ { add_header: { name: X-Helo, value: \"${helo}\" } } ]\n");
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    stm_verdict_clear(&v);
    static const char *const helos[] = {"first.example", "second.example", "third.example"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(stm_session_set_helo(h.s, helos[i]), 0);
        h_run(&h, STM_STAGE_HELO, &v);
        assert_int_equal(v.verb, STM_VERB_ACCEPT);
        stm_verdict_clear(&v);
    }
    for (int msg = 0; msg < 2; msg++) {
        assert_int_equal(stm_session_begin_transaction(h.s, "a@b.example"), 0);
        size_t n;
        const stm_header *hd = stm_session_added_headers(h.s, &n);
        assert_int_equal(n, 2);
        assert_string_equal(hd[0].name, "X-Conn");
        assert_string_equal(hd[0].value, "192.0.2.1");
        assert_string_equal(hd[1].name, "X-Helo");
        assert_string_equal(hd[1].value, "third.example");
        stm_session_end_transaction(h.s);
    }
    h_free(&h);
}

/* Variables set in one transaction are seen in the next. */
static void
test_vars_across_transactions(void **state)
{
    harness h;
    h_load(&h, "stages:\n"
               "  mail:\n"
               "    - rule: second message\n"
               "      if: { var: { seen: \"yes\" } }\n"
               "      then: { defer: \"one at a time, ${sender}\" }\n"
               "    - action: remember\n"
               "      do: [ { set: { seen: \"yes\" } } ]\n");
    stm_verdict v;
    assert_int_equal(stm_session_begin_transaction(h.s, "a@example.net"), 0);
    h_run(&h, STM_STAGE_MAIL, &v);
    assert_int_equal(v.verb, STM_VERB_ACCEPT);
    stm_verdict_clear(&v);
    stm_session_end_transaction(h.s);
    assert_int_equal(stm_session_begin_transaction(h.s, "b@example.net"), 0);
    h_run(&h, STM_STAGE_MAIL, &v);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    assert_string_equal(v.text, "one at a time, b@example.net");
    stm_verdict_clear(&v);
    h_free(&h);
}

/* Every template variable in a reply text. */
static void
test_interpolation(void **state)
{
    harness h;
    h_load(&h, "stages:\n"
               "  preq:\n"
               "    - rule: all\n"
               "      then: { deny: { text: \"${client_ip}|${client_port}|${client_name}|"
               "${server_ip}|${server_port}|${server_id}|${id}|${queue_id}|${helo}|${sender}|"
               "${rcpt}|${var.v}|${reply}|$$\" } }\n");
    h_prepare(&h, STM_STAGE_PREQ);
    assert_int_equal(stm_session_set_var(h.s, "v", "val"), 0);
    stm_verdict v;
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_string_equal(v.text, "192.0.2.1|40000|mx.example.net|198.51.100.7|25|"
                                "mail.example.org|T1|4QX1|helo.example.net|alice@example.net|"
                                "bob@example.org|val||$");
    stm_verdict_clear(&v);
    h_free(&h);

    /* A reply text is one line: control characters become spaces, and it is
     * capped at 450 bytes so code, enhanced code and text fit 512. */
    h_load(&h, "stages:\n  helo:\n    - rule: r\n      then: { defer: \"[${helo}]\" }\n");
    assert_int_equal(stm_session_set_helo(h.s, "a\r\nb"), 0);
    h_run(&h, STM_STAGE_HELO, &v);
    assert_string_equal(v.text, "[a  b]");
    stm_verdict_clear(&v);
    char big[2000];
    memset(big, 'h', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(stm_session_set_helo(h.s, big), 0);
    h_run(&h, STM_STAGE_HELO, &v);
    assert_int_equal(strlen(v.text), 450);
    assert_int_equal(v.text[0], '[');
    stm_verdict_clear(&v);
    h_free(&h);
}

struct cond_case {
    const char *cond; /* YAML flow map */
    bool match;
};

/* Evaluated at preq after h_prepare(): client 192.0.2.1 mx.example.net, helo
 * helo.example.net, sender alice@example.net, rcpt bob@example.org + carol at
 * other.example, Subject "hello world", X-Spam-Score 7.5, body with "pills",
 * macros auth_authen=alice, tls_version=TLSv1.3, var v=val. */
static const struct cond_case cond_cases[] = {
    {"{ client_ip: 192.0.2.0/24 }", true},
    {"{ client_ip: 192.0.3.0/24 }", false},
    {"{ client_ip: \"192.0.2.1\" }", true},
    {"{ client_ip: [10.0.0.0/8, 192.0.2.0/28] }", true},
    {"{ client_name: \"*.example.net\" }", true},
    {"{ client_name: \"MX.EXAMPLE.NET\" }", true},
    {"{ client_name: \"/^mx\\\\./\" }", true},
    {"{ helo: helo.example.net }", true},
    {"{ helo: other.example }", false},
    {"{ sender: alice@example.net }", true},
    {"{ sender: \"<>\" }", false},
    {"{ sender_domain: example.net }", true},
    {"{ sender_domain: \"*.net\" }", true},
    {"{ sender_domain: alice }", false},
    {"{ rcpt: carol@other.example }", true},
    {"{ rcpt: dave@other.example }", false},
    {"{ rcpt_domain: example.org }", true},
    {"{ rcpt_domain: other.example }", true},
    {"{ rcpt_domain: nowhere.example }", false},
    {"{ auth: true }", true},
    {"{ auth: false }", false},
    {"{ auth: alice }", true},
    {"{ auth: \"b*\" }", false},
    {"{ tls: true }", true},
    {"{ tls: false }", false},
    {"{ header: { Subject: \"*world\" } }", true},
    {"{ header: { subject: \"/^hello/\" } }", true},
    {"{ header: { Subject: \"bye\" } }", false},
    {"{ header: { X-Missing: \"*\" } }", false},
    {"{ has_header: x-spam-score }", true},
    {"{ has_header: X-Virus-Infected }", false},
    {"{ body: \"/cheap\\\\s+pills/\" }", true},
    {"{ body: \"/CHEAP/i\" }", true},
    {"{ body: \"/viagra/\" }", false},
    {"{ size: \">10\" }", true},
    {"{ size: \">1k\" }", false},
    {"{ size: \"<1k\" }", true},
    {"{ macro: { auth_authen: alice } }", true},
    {"{ macro: { \"{tls_version}\": \"TLSv1.*\" } }", true},
    {"{ macro: { j: \"*\" } }", false},
    {"{ var: { v: val } }", true},
    {"{ var: { v: other } }", false},
    {"{ var: { unset: \"*\" } }", false},
    {"{ helo: helo.example.net, sender_domain: example.net }", true},
    {"{ helo: helo.example.net, sender_domain: example.com }", false},
    {"{ any: [ { helo: x }, { sender: alice@example.net } ] }", true},
    {"{ any: [ { helo: x }, { sender: y } ] }", false},
    {"{ all: [ { tls: true }, { auth: alice } ] }", true},
    {"{ all: [ { tls: true }, { auth: bob } ] }", false},
    {"{ not: { tls: true } }", false},
    {"{ not: { helo: x } }", true},
    {"{ not: { any: [ { helo: x }, { not: { auth: true } } ] } }", true},
};

/* Every condition type, alone and combined. */
static void
test_conditions(void **state)
{
    for (size_t i = 0; i < sizeof cond_cases / sizeof cond_cases[0]; i++) {
        const struct cond_case *c = &cond_cases[i];
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "stages:\n  preq:\n    - rule: c\n      if: %s\n      then: deny\n", c->cond);
        print_message("case %zu: %s\n", i, c->cond);
        harness h;
        h_load(&h, yaml);
        h_prepare(&h, STM_STAGE_PREQ);
        assert_int_equal(stm_session_set_rcpt(h.s, "carol@other.example"), 0);
        assert_int_equal(stm_session_accept_rcpt(h.s), 0);
        assert_int_equal(stm_session_set_macro(h.s, "{auth_authen}", "alice"), 0);
        assert_int_equal(stm_session_set_macro(h.s, "{tls_version}", "TLSv1.3"), 0);
        assert_int_equal(stm_session_set_var(h.s, "v", "val"), 0);
        stm_verdict v;
        h_run(&h, STM_STAGE_PREQ, &v);
        assert_int_equal(v.verb, c->match ? STM_VERB_DENY : STM_VERB_ACCEPT);
        stm_verdict_clear(&v);
        h_free(&h);
    }
}

/* Conditions on a bare session: null sender, no auth, no TLS, rcpt at rcpt. */
static void
test_conditions_edges(void **state)
{
    static const struct cond_case cases[] = {
        {"{ sender: \"<>\" }", true},
        {"{ sender_domain: \"*\" }", false},
        {"{ auth: false }", true},
        {"{ auth: true }", false},
        {"{ tls: false }", true},
        {"{ rcpt: bob@example.org }", false},  /* the current one is carol */
        {"{ rcpt: carol@example.org }", true}, /* at rcpt: only the current one */
        {"{ rcpt_domain: EXAMPLE.ORG }", true},
        {"{ helo: \"*\" }", false}, /* no HELO given */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml,
                 "stages:\n  rcpt:\n    - rule: c\n      if: %s\n      then: deny\n",
                 cases[i].cond);
        print_message("case %zu: %s\n", i, cases[i].cond);
        harness h;
        h_load(&h, yaml);
        assert_int_equal(stm_session_begin_transaction(h.s, ""), 0);
        assert_int_equal(stm_session_set_macro(h.s, "auth_authen", ""), 0);
        assert_int_equal(stm_session_set_macro(h.s, "cipher", ""), 0);
        assert_int_equal(stm_session_set_rcpt(h.s, "bob@example.org"), 0);
        assert_int_equal(stm_session_accept_rcpt(h.s), 0);
        assert_int_equal(stm_session_set_rcpt(h.s, "carol@example.org"), 0);
        stm_verdict v;
        h_run(&h, STM_STAGE_RCPT, &v);
        assert_int_equal(v.verb, cases[i].match ? STM_VERB_DENY : STM_VERB_ACCEPT);
        stm_verdict_clear(&v);
        h_free(&h);
    }
}

/* A delegate rule; %s is the service's on_failure. */
#define DELEGATE_YAML                                                                              \
    "receiver:\n  listen: \"127.0.0.1:10025\"\n"                                                   \
    "milter:\n  workdir: /tmp\n"                                                                   \
    "services:\n"                                                                                  \
    "  scan:\n"                                                                                    \
    "    targets: [\"tcp://127.0.0.1:10026\"]\n"                                                   \
    "    on_failure: %s\n"                                                                         \
    "stages:\n"                                                                                    \
    "  preq:\n"                                                                                    \
    "    - rule: check email for virus\n"                                                          \
    "      delegate: scan\n"                                                                       \
    "      rules:\n"                                                                               \
    "        - rule: infected\n"                                                                   \
    "          if: { any: [ { has_header: X-Virus-Infected }, { delegation: dropped } ] }\n"       \
    "          then: { quarantine: virus_q }\n"                                                    \
    "        - rule: scanner refused\n"                                                            \
    "          if: { delegation: rejected }\n"                                                     \
    "          then: { deny: { code: 550, enhanced: \"5.7.1\", text: \"${reply}\" } }\n"           \
    "        - rule: spammy\n"                                                                     \
    "          if: { body: \"/SPAM REPORT/\" }\n"                                                  \
    "          then: { reject: \"spam\" }\n"                                                       \
    "        - action: queued\n"                                                                   \
    "          if: { reply: \"*queued*\", delegation: returned }\n"                                \
    "          do: [ { log: \"scanned: ${reply}\" } ]\n"                                           \
    "    - rule: after scan\n"                                                                     \
    "      if: { has_header: X-Virus-Infected }\n"                                                 \
    "      then: { defer: \"outer rules see the MTA copy\" }\n"                                    \
    "  postq:\n"                                                                                   \
    "    - rule: postq\n"                                                                          \
    "      then: { defer: \"postq ran\" }\n"

struct delegate_case {
    const char *on_failure;
    int rc;
    stm_delegation_result result;
    const char *reply;
    const char *header;
    const char *body;
    stm_verb verb;
    const char *rule;
    int code;
    const char *enhanced;
    const char *text;
};

static const struct delegate_case delegate_cases[] = {
    /* Returned clean: no nested decision, on to postq. */
    {"tempfail", 0, STM_DELEGATION_RETURNED, "2.0.0 Ok: queued", "X-Virus-Scanned: ClamAV", NULL,
     STM_VERB_DEFER, "postq", 451, "4.7.1", "postq ran"},
    /* Returned infected: the nested rule sees the returned copy. */
    {"tempfail", 0, STM_DELEGATION_RETURNED, "Ok", "X-Virus-Infected: Virus Detected!", NULL,
     STM_VERB_QUARANTINE, "infected", 0, "", NULL},
    /* The returned body is what body conditions see. */
    {"tempfail", 0, STM_DELEGATION_RETURNED, "Ok", NULL, "SPAM REPORT\r\n", STM_VERB_REJECT,
     "spammy", 550, "5.7.1", "spam"},
    {"tempfail", 0, STM_DELEGATION_DROPPED, "Virus Detected; Discarded Email", NULL, NULL,
     STM_VERB_QUARANTINE, "infected", 0, "", NULL},
    {"tempfail", 0, STM_DELEGATION_REJECTED, "Virus Detected; Content Rejected", NULL, NULL,
     STM_VERB_DENY, "scanner refused", 550, "5.7.1", "Virus Detected; Content Rejected"},
    /* Failed: on_failure decides. */
    {"tempfail", 0, STM_DELEGATION_FAILED, NULL, NULL, NULL, STM_VERB_DEFER,
     "check email for virus", 451, "4.3.0", "Content scanner scan unavailable, try again later"},
    {"tempfail", -1, STM_DELEGATION_NONE, NULL, NULL, NULL, STM_VERB_DEFER, "check email for virus",
     451, "4.3.0", "Content scanner scan unavailable, try again later"},
    {"accept", 0, STM_DELEGATION_FAILED, NULL, NULL, NULL, STM_VERB_DEFER, "postq", 451, "4.7.1",
     "postq ran"}, /* accept ends preq; postq still runs */
    {"reject", 0, STM_DELEGATION_FAILED, NULL, NULL, NULL, STM_VERB_REJECT, "check email for virus",
     550, "5.7.1", "Content scanner scan failed, message rejected"},
    {"continue", 0, STM_DELEGATION_FAILED, NULL, NULL, NULL, STM_VERB_DEFER, "postq", 451, "4.7.1",
     "postq ran"},
};

/* A delegate rule with each result and each on_failure. */
static void
test_delegate(void **state)
{
    for (size_t i = 0; i < sizeof delegate_cases / sizeof delegate_cases[0]; i++) {
        const struct delegate_case *c = &delegate_cases[i];
        char yaml[4096];
        snprintf(yaml, sizeof yaml, DELEGATE_YAML, c->on_failure);
        print_message("case %zu\n", i);
        harness h;
        h_load(&h, yaml);
        h_prepare(&h, STM_STAGE_PREQ);
        h.deleg_rc = c->rc;
        h.deleg_result = c->result;
        h.deleg_reply = c->reply;
        h.deleg_header = c->header;
        h.deleg_body = c->body;
        stm_verdict v;
        h_run(&h, STM_STAGE_PREQ, &v);
        assert_int_equal(h.deleg_calls, 1);
        assert_string_equal(h.deleg_seen_rcpts, "bob@example.org");
        assert_reply(&v, c->verb, c->code, c->enhanced, c->text);
        assert_string_equal(v.rule, c->rule);
        if (c->verb == STM_VERB_QUARANTINE)
            assert_string_equal(v.queue, "virus_q");
        size_t n;
        const stm_delegation_record *r = stm_session_delegations(h.s, &n);
        assert_int_equal(n, 1);
        assert_string_equal(r[0].service->name, "scan");
        assert_int_equal(r[0].delegation.result, c->rc < 0 ? STM_DELEGATION_FAILED : c->result);
        if (c->result == STM_DELEGATION_RETURNED && c->header && strstr(c->header, "Scanned"))
            assert_string_equal(h.log, "preq queued: scanned: 2.0.0 Ok: queued\n");
        if (c->result == STM_DELEGATION_FAILED || c->rc < 0)
            assert_non_null(strstr(h.log, "delegation failed"));
        stm_verdict_clear(&v);
        h_free(&h);
    }
}

/* A message too large to keep cannot be delegated: milter.on_error decides. */
static void
test_delegate_too_large(void **state)
{
    harness h;
    h_load(&h, "milter:\n  max_message_size: 10\n"
               "receiver:\n  listen: \"127.0.0.1:10025\"\n"
               "services:\n  scan:\n    targets: [\"tcp://127.0.0.1:10026\"]\n"
               "stages:\n"
               "  preq:\n"
               "    - rule: scan\n"
               "      delegate: scan\n"
               "      rules:\n"
               "        - rule: any\n"
               "          then: deny\n");
    h_prepare(&h, STM_STAGE_DATA);
    stm_message *m = stm_session_message(h.s);
    assert_int_equal(stm_message_append_body(m, "0123456789abc", 13, 10), 0);
    stm_verdict v;
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(h.deleg_calls, 0);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    assert_int_equal(v.code, 451);
    assert_string_equal(v.enhanced, "4.3.0");
    assert_string_equal(v.rule, "scan");
    assert_non_null(strstr(v.error, "cannot delegate to scan"));
    stm_verdict_clear(&v);
    h_free(&h);
}

/* A failure deep inside any/not still stops the stage. */
static void
test_error_in_combination(void **state)
{
    harness h;
    h_load(&h, "milter:\n  max_message_size: 10\n  on_error: reject\n"
               "stages:\n"
               "  preq:\n"
               "    - rule: combo\n"
               "      if: { any: [ { helo: nope }, { not: { body: \"/x/\" } } ] }\n"
               "      then: accept\n");
    h_prepare(&h, STM_STAGE_DATA);
    assert_int_equal(stm_message_append_body(stm_session_message(h.s), "0123456789abc", 13, 10), 0);
    stm_verdict v;
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(v.verb, STM_VERB_REJECT);
    assert_int_equal(v.code, 550);
    assert_string_equal(v.enhanced, "5.3.0");
    assert_string_equal(v.rule, "combo");
    assert_non_null(v.error);
    stm_verdict_clear(&v);
    h_free(&h);
}

/* Without a delegate hook (--no-delegate) the rule is skipped and traced. */
static void
test_no_delegate(void **state)
{
    harness h;
    char yaml[4096];
    snprintf(yaml, sizeof yaml, DELEGATE_YAML, "tempfail");
    h_load(&h, yaml);
    h.hooks.delegate = NULL;
    h_prepare(&h, STM_STAGE_PREQ);
    stm_verdict v;
    h_run(&h, STM_STAGE_PREQ, &v);
    assert_int_equal(v.verb, STM_VERB_DEFER);
    assert_string_equal(v.rule, "postq");
    assert_non_null(strstr(h.trace, "delegation check email for virus: skipped (--no-delegate)\n"));
    assert_null(strstr(h.trace, "rule infected"));
    size_t n;
    stm_session_delegations(h.s, &n);
    assert_int_equal(n, 0);
    stm_verdict_clear(&v);
    h_free(&h);
}

/* The trace of a small policy, event by event. */
static void
test_trace(void **state)
{
    harness h;
    char yaml[4096];
    snprintf(yaml, sizeof yaml, "%s",
             "receiver:\n  listen: \"127.0.0.1:10025\"\n"
             "services:\n  scan:\n    targets: [\"tcp://127.0.0.1:10026\"]\n"
             "stages:\n"
             "  connect:\n"
             "    - action: tag\n"
             "      do: [ { set: { a: \"1\" } } ]\n"
             "    - rule: local\n"
             "      if: { client_ip: 127.0.0.1 }\n"
             "      then: faccept\n"
             "  preq:\n"
             "    - rule: scan it\n"
             "      delegate: scan\n"
             "      rules:\n"
             "        - rule: infected\n"
             "          if: { has_header: X-Virus-Infected }\n"
             "          then: { quarantine: virus }\n"
             "    - rule: last\n"
             "      then: { deny: { text: \"bye\" } }\n");
    h_load(&h, yaml);
    h_prepare(&h, STM_STAGE_PREQ);
    h.deleg_header = "X-Virus-Scanned: yes";
    stm_verdict v;
    h_run(&h, STM_STAGE_CONNECT, &v);
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_PREQ, &v);
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_MAIL, &v);
    stm_verdict_clear(&v);
    assert_string_equal(h.trace,
                        "stage connect\n"
                        "rule tag matched\n"
                        "effect set a=1\n"
                        "rule local no\n"
                        "verdict accept 0 - -\n"
                        "stage preq\n"
                        "rule scan it matched\n"
                        "delegation scan it: scan: returned (250 2.0.0 Ok: queued) in 12 ms\n"
                        "  rule infected no\n"
                        "rule last matched\n"
                        "verdict deny 554 5.7.1 last\n"
                        "stage mail\n"
                        "verdict accept 0 - -\n");

    /* faccept at connect: later stages are traced as skipped. */
    stm_session_end_transaction(h.s);
    h.trace[0] = '\0';
    assert_int_equal(stm_session_set_client(h.s, "127.0.0.1", "1", "localhost"), 0);
    h_run(&h, STM_STAGE_CONNECT, &v);
    stm_verdict_clear(&v);
    assert_int_equal(stm_session_begin_transaction(h.s, "a@example.net"), 0);
    h_run(&h, STM_STAGE_MAIL, &v);
    stm_verdict_clear(&v);
    h_run(&h, STM_STAGE_PREQ, &v);
    stm_verdict_clear(&v);
    assert_string_equal(h.trace, "stage connect\n"
                                 "rule tag matched\n"
                                 "effect set a=1\n"
                                 "rule local matched\n"
                                 "verdict faccept 0 - local\n"
                                 "stage mail\n"
                                 "skipped faccept for the connection\n"
                                 "verdict accept 0 - -\n"
                                 "stage preq\n"
                                 "skipped faccept for the connection\n"
                                 "verdict accept 0 - -\n"
                                 "stage postq\n"
                                 "skipped faccept for the connection\n"
                                 "verdict accept 0 - -\n");
    assert_int_equal(h.deleg_calls, 1); /* only the first message was scanned */
    h_free(&h);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verbs),
        cmocka_unit_test(test_implicit_accept),
        cmocka_unit_test(test_else),
        cmocka_unit_test(test_rcpt_per_recipient),
        cmocka_unit_test(test_accept_ends_stage),
        cmocka_unit_test(test_faccept_connection),
        cmocka_unit_test(test_faccept_message),
        cmocka_unit_test(test_quarantine),
        cmocka_unit_test(test_on_error),
        cmocka_unit_test(test_on_error_set_sender_ip),
        cmocka_unit_test(test_on_error_regex_limit),
        cmocka_unit_test(test_on_error_headers_cut),
        cmocka_unit_test(test_effects),
        cmocka_unit_test(test_helo_again),
        cmocka_unit_test(test_vars_across_transactions),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_conditions_edges),
        cmocka_unit_test(test_delegate),
        cmocka_unit_test(test_delegate_too_large),
        cmocka_unit_test(test_error_in_combination),
        cmocka_unit_test(test_no_delegate),
        cmocka_unit_test(test_trace),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
