/*
 * engine.c - running a policy's rules for one stage of a session (engine.h).
 *
 * Functions: stm_verdict_init, stm_verdict_clear, stm_engine_run,
 * stm_engine_run_eom.
 *
 * A stage runs its rules in order. A rule's condition (cond.c) is evaluated;
 * when it holds the rule's effects run in order and its `then` verb is taken,
 * otherwise its `else` verb (default next). `action:` rules run effects and
 * never decide. A delegate rule (preq/postq) hands the message to the
 * delegate hook and runs its nested rules with the result as context. The
 * first verb other than next ends the stage; when none decides, the verdict
 * is the implicit accept (verb ACCEPT, rule NULL).
 *
 * Verdicts are fully resolved here, and only here (DESIGN.md, Status verbs):
 *   deny    554 5.7.1 "Access denied"
 *   info    451 4.7.1 "Try again later"
 *   reject  521 5.7.1 at connect, 550 5.7.1 elsewhere, "Rejected by policy"
 *   defer   421 4.7.0 at connect, 451 4.7.1 elsewhere, "Try again later"
 * A custom code without an enhanced code gets "<first digit>.7.1". Texts are
 * interpolated (template.c: control characters become spaces) and capped at
 * STM_REPLY_TEXT_MAX bytes so that code, enhanced code and text fit one
 * 512-byte SMTP reply line.
 *
 * faccept and quarantine decided at connect or helo hold for the whole
 * connection; decided later, for the current message. A client may say EHLO
 * again (it must after STARTTLS): the helo rules run again and the headers
 * they add replace those of the previous helo. While either holds,
 * every stage returns the implicit accept without running a rule (traced as
 * SKIPPED), and stm_engine_run_eom() returns the pending QUARANTINE.
 *
 * Errors: a rule that fails at run time (a body condition on a body too large
 * to keep, a set_sender_ip that is not an address, a delegation of a message
 * too large to keep, memory exhaustion) stops the stage; the failure is
 * logged through hooks->log and milter.on_error decides:
 *   tempfail  DEFER 451 4.3.0 (421 4.3.0 at connect)
 *   accept    ACCEPT
 *   reject    REJECT 550 5.3.0 (521 5.3.0 at connect, as the reject verb)
 * with verdict.error describing the failure and verdict.rule naming the rule.
 * A failed delegation (none of the nested rules decided) follows the
 * service's on_failure instead: tempfail DEFER 451 4.3.0, accept ACCEPT,
 * reject REJECT 550 5.7.1, continue with the next rule.
 *
 * Ownership: the verdict owns its strings (stm_verdict_clear frees them); trace
 * events borrow everything for the duration of the hook call. The policy is
 * only read, so sessions on the same policy may run in parallel threads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/cond.h"
#include "run/effect.h"
#include "model.h"
#include "run/remember.h"
#include "run/session_internal.h"
#include "run/template.h"
#include "stagemilter/limits.h"
#include "stagemilter/verbs.h"

/* Longest reply text: "550 5.7.1 " + text + CRLF within 512 bytes. */

/* How running a list of rules ended. */
typedef enum engine_status {
    ENGINE_NONE,    /* no rule decided */
    ENGINE_DECIDED, /* a verb other than next: the verdict is filled */
    ENGINE_FAILED   /* a rule failed at run time: run->error says why */
} engine_status;

/* One stage being run. */
typedef struct engine_run {
    stm_session *s;
    stm_stage stage;
    const stm_engine_hooks *hooks;
    stm_verdict *out;
    char *error;                /* run-time failure, malloc'd */
    const stm_rule *error_rule; /* the rule that failed */
} engine_run;

/* Make V an empty verdict (implicit accept). */
void
stm_verdict_init(stm_verdict *v)
{
    memset(v, 0, sizeof *v);
    v->verb = STM_VERB_ACCEPT;
}

/* Free what V owns and make it empty again. */
void
stm_verdict_clear(stm_verdict *v)
{
    free(v->text);
    free(v->queue);
    free(v->rule);
    free(v->error);
    stm_verdict_init(v);
}

/* Send one trace event, when someone listens. */
static void
engine_trace(const engine_run *run, stm_trace_kind kind, const char *rule, int depth, bool matched,
             const char *detail, const stm_delegation *deleg)
{
    if (run->hooks->trace == NULL)
        return;
    stm_trace_event ev = {
        .kind = kind,
        .stage = run->stage,
        .rule = rule,
        .depth = depth,
        .matched = matched,
        .detail = detail,
        .verdict = kind == STM_TRACE_VERDICT ? run->out : NULL,
        .delegation = deleg,
    };
    run->hooks->trace(run->hooks->ctx, &ev);
}

/* Log a notice about RULE through the log hook. */
static void __attribute__((format(printf, 3, 4)))
engine_log(const engine_run *run, const char *rule, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    run->hooks->log(run->hooks->ctx, run->s, run->stage, rule, line);
}

/* Record a run-time failure of RULE (printf-style description). */
static engine_status __attribute__((format(printf, 3, 4)))
engine_fail(engine_run *run, const stm_rule *rule, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    free(run->error);
    run->error = strdup(text); /* NULL is tolerated: the verdict is still made */
    run->error_rule = rule;
    return ENGINE_FAILED;
}

/* Cut TEXT to at most MAX bytes, not inside a UTF-8 character. */
static void
engine_cap(char *text, size_t max)
{
    size_t n = strlen(text);
    if (n <= max)
        return;
    n = max;
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    text[n] = '\0';
}

/* Fill the verdict's reply: CODE, ENHANCED and TEXT (copied). */
static int
engine_reply(engine_run *run, int code, const char *enhanced, const char *text)
{
    stm_verdict *v = run->out;
    v->code = code;
    snprintf(v->enhanced, sizeof v->enhanced, "%s", enhanced);
    free(v->text);
    v->text = strdup(text);
    if (v->text == NULL)
        return -1;
    engine_cap(v->text, STM_REPLY_TEXT_MAX);
    return 0;
}

/* Make the verdict VERB decided by rule NAME at this stage. */
static int
engine_decide(engine_run *run, stm_verb verb, const char *name)
{
    stm_verdict_clear(run->out);
    run->out->verb = verb;
    run->out->stage = run->stage;
    if (name != NULL && (run->out->rule = strdup(name)) == NULL)
        return -1;
    return 0;
}

/* Turn ST, taken by RULE, into the verdict; record faccept/quarantine. */
static engine_status
engine_status_verdict(engine_run *run, const stm_rule *rule, const stm_status *st)
{
    stm_session *s = run->s;
    if (engine_decide(run, st->verb, rule->name) < 0)
        return engine_fail(run, rule, "out of memory");
    switch (st->verb) {
    case STM_VERB_FACCEPT:
        if (run->stage == STM_STAGE_CONNECT || run->stage == STM_STAGE_HELO)
            s->conn_faccepted = true;
        else
            s->msg_faccepted = true;
        return ENGINE_DECIDED;
    case STM_VERB_QUARANTINE:
        if ((run->out->queue = strdup(st->queue ? st->queue : "")) == NULL ||
            stm_session_set_quarantine(s, run->stage, st->queue, rule->name) < 0)
            return engine_fail(run, rule, "out of memory");
        return ENGINE_DECIDED;
    default:
        break;
    }
    if (stm_verb_is_refusal(st->verb)) {
        /* Defaults of the verb table, then the rule's own code and text. */
        const stm_verb_reply *dflt = stm_verb_default(st->verb, run->stage);
        int code = dflt->code;
        const char *enhanced = dflt->enhanced, *deftext = dflt->text;
        char derived[16];
        if (st->code != 0) {
            code = st->code;
            /* A custom code keeps its class in the enhanced code. */
            snprintf(derived, sizeof derived, "%d.7.1", code / 100);
            enhanced = derived;
        }
        if (st->enhanced[0] != '\0')
            enhanced = st->enhanced;
        char *text = NULL;
        if (st->text != NULL &&
            (text = stm_template_expand(st->text, stm_session_lookup, s)) == NULL)
            return engine_fail(run, rule, "out of memory");
        int rc = engine_reply(run, code, enhanced, text ? text : deftext);
        free(text);
        if (rc < 0)
            return engine_fail(run, rule, "out of memory");
    }
    return ENGINE_DECIDED; /* no reply: accept, discard */
}

/* Run RULE's effects in order, each by the run function it carries. */
static engine_status
engine_effects(engine_run *run, const stm_rule *rule, int depth)
{
    for (size_t i = 0; i < rule->neffects; i++) {
        const stm_effect *e = &rule->effects[i];
        char detail[1200];
        stm_effect_ctx ctx = {
            .s = run->s, .stage = run->stage, .hooks = run->hooks, .rule = rule->name};
        if (e->run(e, &ctx, detail, sizeof detail) < 0) {
            engine_fail(run, rule, "%s", ctx.error ? ctx.error : "out of memory");
            free(ctx.error);
            return ENGINE_FAILED;
        }
        engine_trace(run, STM_TRACE_EFFECT, rule->name, depth, true, detail, NULL);
    }
    return ENGINE_NONE;
}

static engine_status engine_rules(engine_run *run, const stm_rule_list *list, int depth,
                                  const stm_delegation_record *recs, size_t nrecs);

/* Trace what the last judgment asked the store (rate:, greylist), once. */
static void
engine_state_note(engine_run *run, const stm_rule *rule, int depth)
{
    const char *note = stm_remember_note(run->s);
    if (note[0] == '\0')
        return;
    char detail[700];
    snprintf(detail, sizeof detail, "state: %s", note);
    if (stm_remember_note_failed(run->s))
        engine_log(run, rule->name, "%s", detail);
    stm_remember_note_clear(run->s);
    engine_trace(run, STM_TRACE_EFFECT, rule->name, depth, true, detail, NULL);
}

/* The greylist verb ST taken by RULE: a key that passed goes on like next
 * (ENGINE_NONE); else the verb's 451 (run/remember.c). */
static engine_status
engine_greylist(engine_run *run, const stm_rule *rule, const stm_status *st, int depth)
{
    char *err = NULL;
    int rc = stm_remember_greylist(run->s, run->stage, st->greylist, &err);
    engine_state_note(run, rule, depth);
    if (rc < 0) {
        engine_fail(run, rule, "%s", err ? err : "out of memory");
        free(err);
        return ENGINE_FAILED;
    }
    return rc > 0 ? ENGINE_NONE : engine_status_verdict(run, rule, st);
}

/* Describe delegation D to SERVICE for logs and traces. */
static void
engine_deleg_detail(char *buf, size_t len, const stm_service *service, const stm_delegation *d)
{
    int n;
    if (d->reply_code != 0)
        n = snprintf(buf, len, "%s: %s (%d%s%s %s) in %llu ms", service->name,
                     stm_delegation_result_name(d->result), d->reply_code,
                     d->enhanced[0] ? " " : "", d->enhanced, d->reply ? d->reply : "",
                     (unsigned long long)d->elapsed_ms);
    else if (d->reply != NULL)
        /* clamd, spamd, rspamd: their answer, or why there was none. */
        n = snprintf(buf, len, "%s: %s (%s) in %llu ms", service->name,
                     stm_delegation_result_name(d->result), d->reply,
                     (unsigned long long)d->elapsed_ms);
    else
        n = snprintf(buf, len, "%s: %s in %llu ms", service->name,
                     stm_delegation_result_name(d->result), (unsigned long long)d->elapsed_ms);
    const stm_scan_result *r = &d->scan;
    if (n >= 0 && (size_t)n < len && r->virus != NULL)
        n += snprintf(buf + n, len - (size_t)n, "; virus %s", r->virus);
    if (n >= 0 && (size_t)n < len && r->has_score)
        n += snprintf(buf + n, len - (size_t)n, "; %sspam, score %.2f of %.2f",
                      r->has_spam && !r->spam ? "not " : "", r->score, r->required);
    if (n >= 0 && (size_t)n < len && r->action != NULL)
        n += snprintf(buf + n, len - (size_t)n, "; action %s", r->action);
    if (n >= 0 && (size_t)n < len && r->nsymbols > 0)
        snprintf(buf + n, len - (size_t)n, "; %zu symbols", r->nsymbols);
}

/* Apply the on_failure of SVC, whose delegation failed; ENGINE_NONE means continue. */
static engine_status
engine_on_failure(engine_run *run, const stm_rule *rule, const stm_service *svc)
{
    char text[256];
    switch (svc->on_failure) {
    case STM_ON_FAILURE_CONTINUE:
        return ENGINE_NONE;
    case STM_ON_FAILURE_ACCEPT:
        if (engine_decide(run, STM_VERB_ACCEPT, rule->name) < 0)
            return engine_fail(run, rule, "out of memory");
        return ENGINE_DECIDED;
    case STM_ON_FAILURE_REJECT:
        snprintf(text, sizeof text, "Content scanner %s failed, message rejected", svc->name);
        if (engine_decide(run, STM_VERB_REJECT, rule->name) < 0 ||
            engine_reply(run, 550, "5.7.1", text) < 0)
            return engine_fail(run, rule, "out of memory");
        return ENGINE_DECIDED;
    case STM_ON_FAILURE_TEMPFAIL:
    default:
        snprintf(text, sizeof text, "Content scanner %s unavailable, try again later", svc->name);
        if (engine_decide(run, STM_VERB_DEFER, rule->name) < 0 ||
            engine_reply(run, 451, "4.3.0", text) < 0)
            return engine_fail(run, rule, "out of memory");
        return ENGINE_DECIDED;
    }
}

/* A delegate rule whose condition held and whose effects ran: its services
 * (several at the same time through hooks->delegate_many, when given),
 * then its rules with every result as context, then the on_failure of each
 * service that failed, in order, when no rule decided. */
static engine_status
engine_delegate(engine_run *run, const stm_rule *rule, int depth)
{
    stm_session *s = run->s;
    size_t n = rule->nservices ? rule->nservices : 1;
    const stm_service *const *svcs = rule->nservices ? rule->services : &rule->service;
    char detail[1024];
    if (run->hooks->delegate == NULL) {
        engine_trace(run, STM_TRACE_DELEGATION, rule->name, depth, true, "skipped (--no-delegate)",
                     NULL);
        return ENGINE_NONE;
    }
    if (s->message.truncated)
        return engine_fail(run, rule,
                           "cannot delegate to %s: message larger than "
                           "milter.max_message_size (%llu bytes)",
                           rule->service->name, (unsigned long long)s->message.size);
    long first = -1;
    for (size_t i = 0; i < n; i++) {
        long idx = stm_session_new_delegation(s, svcs[i]);
        if (idx < 0)
            return engine_fail(run, rule, "out of memory");
        if (first < 0)
            first = idx;
    }
    /* The records stay where they are until the transaction ends: nothing
     * appends to the array while the rules below run (delegates do not nest). */
    stm_delegation_record *recs = &s->delegations[first];
    stm_delegation *outs[64];
    int rc = 0;
    if (n > 1 && n <= sizeof outs / sizeof outs[0] && run->hooks->delegate_many != NULL) {
        for (size_t i = 0; i < n; i++)
            outs[i] = &recs[i].delegation;
        rc = run->hooks->delegate_many(run->hooks->ctx, s, svcs, outs, n);
    } else {
        for (size_t i = 0; i < n; i++)
            if (run->hooks->delegate(run->hooks->ctx, s, svcs[i], &recs[i].delegation) < 0) {
                uint64_t elapsed = recs[i].delegation.elapsed_ms;
                stm_delegation_clear(&recs[i].delegation);
                recs[i].delegation.result = STM_DELEGATION_FAILED;
                recs[i].delegation.elapsed_ms = elapsed;
            }
    }
    for (size_t i = 0; i < n; i++) {
        stm_delegation *d = &recs[i].delegation;
        if (rc < 0 || d->result == STM_DELEGATION_NONE)
            d->result = STM_DELEGATION_FAILED;
        engine_deleg_detail(detail, sizeof detail, svcs[i], d);
        engine_trace(run, STM_TRACE_DELEGATION, rule->name, depth, true, detail, d);
    }

    const stm_delegation *saved = s->ctx_deleg;
    s->ctx_deleg = n == 1 ? &recs[0].delegation : NULL;
    engine_status st = engine_rules(run, &rule->rules, depth + 1, recs, n);
    s->ctx_deleg = saved;
    if (st != ENGINE_NONE)
        return st;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].delegation.result != STM_DELEGATION_FAILED)
            continue;
        engine_deleg_detail(detail, sizeof detail, svcs[i], &recs[i].delegation);
        engine_log(run, rule->name, "delegation failed: %s", detail);
        st = engine_on_failure(run, rule, svcs[i]);
        if (st != ENGINE_NONE)
            return st;
    }
    return ENGINE_NONE;
}

/* Run LIST in order at DEPTH; RECS (NRECS) are the delegations of the
 * enclosing delegate rule (NULL, 0 at a stage's top). */
static engine_status
engine_rules(engine_run *run, const stm_rule_list *list, int depth,
             const stm_delegation_record *recs, size_t nrecs)
{
    for (size_t i = 0; i < list->nrules; i++) {
        const stm_rule *rule = &list->rules[i];
        char *err = NULL;
        stm_cond_result r = stm_cond_eval(rule->cond, run->s, run->stage, recs, nrecs, &err);
        if (r == STM_COND_ERROR) {
            engine_fail(run, rule, "%s", err ? err : "out of memory");
            free(err);
            engine_trace(run, STM_TRACE_RULE, rule->name, depth, false, run->error, NULL);
            engine_state_note(run, rule, depth);
            return ENGINE_FAILED;
        }
        bool matched = r == STM_COND_TRUE;
        engine_trace(run, STM_TRACE_RULE, rule->name, depth, matched, NULL, NULL);
        engine_state_note(run, rule, depth);
        const stm_status *st = NULL;
        if (matched) {
            if (engine_effects(run, rule, depth) == ENGINE_FAILED)
                return ENGINE_FAILED;
            if (rule->kind == STM_RULE_DELEGATE) {
                engine_status ds = engine_delegate(run, rule, depth);
                if (ds != ENGINE_NONE)
                    return ds;
                continue;
            }
            if (rule->kind == STM_RULE_RULE)
                st = &rule->then;
        } else if (rule->kind == STM_RULE_RULE) {
            st = &rule->otherwise;
        }
        if (st == NULL || !stm_verb_row(st->verb)->decides)
            continue;
        if (st->verb == STM_VERB_GREYLIST) {
            engine_status gs = engine_greylist(run, rule, st, depth);
            if (gs == ENGINE_NONE)
                continue;
            return gs;
        }
        return engine_status_verdict(run, rule, st);
    }
    return ENGINE_NONE;
}

/* Fill the verdict milter.on_error asks for after a run-time failure. */
static int
engine_on_error(engine_run *run)
{
    const char *rule = run->error_rule ? run->error_rule->name : NULL;
    const char *error = run->error ? run->error : "out of memory";
    stm_on_error on_error =
        run->s->policy ? run->s->policy->milter.on_error : STM_ON_ERROR_TEMPFAIL;
    engine_log(run, rule, "rule failed: %s", error);
    int rc = 0;
    switch (on_error) {
    case STM_ON_ERROR_ACCEPT:
        rc = engine_decide(run, STM_VERB_ACCEPT, rule);
        break;
    case STM_ON_ERROR_REJECT:
        rc = engine_decide(run, STM_VERB_REJECT, rule);
        if (rc == 0)
            rc = engine_reply(run, stm_verb_default(STM_VERB_REJECT, run->stage)->code, "5.3.0",
                              "Message rejected after a local error");
        break;
    case STM_ON_ERROR_TEMPFAIL:
    default:
        rc = engine_decide(run, STM_VERB_DEFER, rule);
        if (rc == 0)
            rc = engine_reply(run, stm_verb_default(STM_VERB_DEFER, run->stage)->code, "4.3.0",
                              "Temporary local error, try again later");
        break;
    }
    run->out->error = run->error;
    run->error = NULL;
    if (rc < 0 || run->out->error == NULL) {
        /* Even the description could not be kept: the caller must tempfail. */
        return -1;
    }
    return 0;
}

/* Why STAGE is skipped for S (a detail for the trace), or NULL. */
static const char *
engine_skip_reason(const stm_session *s)
{
    const char *rule;
    stm_stage stage;
    if (s->conn_faccepted)
        return "faccept for the connection";
    if (s->msg_faccepted)
        return "faccept for the message";
    if (stm_session_quarantine(s, &rule, &stage) != NULL)
        return "quarantine pending";
    return NULL;
}

/* Run STAGE for S (see engine.h). */
int
stm_engine_run(stm_session *s, stm_stage stage, const stm_engine_hooks *hooks, stm_verdict *out)
{
    engine_run run = {.s = s, .stage = stage, .hooks = hooks, .out = out};
    int rc = 0;
    stm_verdict_init(out);
    out->stage = stage;
    s->stage = stage;
    s->ctx_hooks = hooks;
    engine_trace(&run, STM_TRACE_STAGE, NULL, 0, false, NULL, NULL);
    const char *skip = engine_skip_reason(s);
    if (skip != NULL) {
        engine_trace(&run, STM_TRACE_SKIPPED, NULL, 0, false, skip, NULL);
    } else if (s->policy != NULL && (unsigned)stage < STM_STAGE_COUNT) {
        /* EHLO again (after STARTTLS, say): its headers replace the last
         * helo's instead of piling up in every message. */
        if (stage == STM_STAGE_HELO)
            stm_session_restart_helo(s);
        switch (engine_rules(&run, &s->policy->stages[stage], 0, NULL, 0)) {
        case ENGINE_NONE:
            stm_verdict_clear(out);
            out->stage = stage;
            break;
        case ENGINE_DECIDED:
            break;
        case ENGINE_FAILED:
            rc = engine_on_error(&run);
            break;
        }
    }
    free(run.error);
    s->ctx_deleg = NULL;
    s->ctx_hooks = NULL;
    engine_trace(&run, STM_TRACE_VERDICT, NULL, 0, false, NULL, NULL);
    return rc;
}

/* End of message: pending quarantine, else preq then postq (see engine.h). */
int
stm_engine_run_eom(stm_session *s, const stm_engine_hooks *hooks, stm_verdict *out)
{
    const char *rule;
    stm_stage qstage;
    const char *queue = stm_session_quarantine(s, &rule, &qstage);
    if (queue != NULL) {
        /* Decided earlier: every later rule is skipped. */
        engine_run run = {.s = s, .stage = STM_STAGE_PREQ, .hooks = hooks, .out = out};
        stm_verdict_init(out);
        engine_trace(&run, STM_TRACE_STAGE, NULL, 0, false, NULL, NULL);
        engine_trace(&run, STM_TRACE_SKIPPED, NULL, 0, false, "quarantine pending", NULL);
        out->verb = STM_VERB_QUARANTINE;
        out->stage = qstage;
        out->queue = strdup(queue);
        out->rule = strdup(rule);
        engine_trace(&run, STM_TRACE_VERDICT, NULL, 0, false, NULL, NULL);
        return out->queue && out->rule ? 0 : -1;
    }
    if (stm_engine_run(s, STM_STAGE_PREQ, hooks, out) < 0)
        return -1;
    if (out->verb != STM_VERB_ACCEPT)
        return 0;
    stm_verdict_clear(out);
    return stm_engine_run(s, STM_STAGE_POSTQ, hooks, out);
}
