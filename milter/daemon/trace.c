/*
 * trace.c - `stagemilter --trace` (trace.h).
 *
 * FUNCTIONS
 *      stm_trace_main()    load, parse, run every stage, print
 *
 * DESCRIPTION
 *      Builds a session from the command line's envelope, runs connect,
 *      helo, mail, rcpt (once per --rcpt), data and end of message (preq,
 *      postq) as an MTA would, and stops where an MTA would stop (a refused
 *      connection, sender or message, every recipient refused, a discard).
 *      The message file is parsed (stm_message_parse) before anything runs
 *      and handed to the session at end of message, when a milter sees it.
 *      Output, for people (the golden files in tests/trace/ pin it):
 *
 *          == STAGE [details]
 *             match     "RULE"             (one line per rule evaluated;
 *             no match  "RULE"              delegate rules indented deeper)
 *                       effect: DETAIL
 *                       log: "TEXT"
 *             skipped   DETAIL
 *             => VERB [CODE ENHANCED] ["TEXT"] (rule "RULE")
 *          ...
 *          == outcome
 *             connect      accept
 *             rcpt <ADDR>  deny 550 5.7.1 TEXT
 *             message      quarantine QUEUE (rule "RULE" at STAGE)
 *             header       NAME: VALUE            (one per add_header)
 *
 *      Nothing is written anywhere: a quarantine is reported, not stored.
 *      Delegation is performed for real unless --no-delegate: a receiver
 *      of our own listens on receiver.listen (so a running daemon on the
 *      same port makes --trace fail with a clear message: stop it, or trace
 *      with a copy of the policy that names another port), the scanner's
 *      dialogue is printed as it happens ("> " we sent, "< " it replied),
 *      then the result, and the outcome lists the headers the scanner's
 *      copy would bring into the MTA's copy. With --no-delegate the engine
 *      gets no delegate hook and traces each delegate rule as skipped.
 *
 * DIAGNOSTICS
 *      Unreadable or unparsable files and invalid policies are reported on
 *      ERR and return 1; the verdict itself never changes the exit status.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delegate/delegate.h"
#include "delegate/receiver.h"
#include "net/resolver.h"
#include "stagemilter/edit.h"
#include "stagemilter/engine.h"
#include "stagemilter/policy.h"
#include "stagemilter/verbs.h"
#include "daemon/trace.h"
#include "state/state.h"
#include "stagemilter/text.h"

#define TRACE_FILE_MAX (256u * 1024 * 1024)

typedef struct trace_state {
    FILE *out;
    const stm_policy *policy;
    int printed;                /* the stage whose header was printed last, -1 none */
    bool verdict_seen;          /* the engine traced a verdict during this run */
    stm_delegate_ctx *delegate; /* the delegation's context, NULL with --no-delegate */
    stm_session *session;       /* for the part that made a rule match */
} trace_state;

/* Print TEXT quoted, with control characters shown as '?'. */
static void
trace_quoted(FILE *out, const char *text)
{
    char *clean = strdup(text ? text : "");
    if (clean == NULL) {
        fputs("\"(out of memory)\"", out);
        return;
    }
    fprintf(out, "\"%s\"", stm_text_clean_inplace(clean, STM_TEXT_UTF8));
    free(clean);
}

/* "== STAGE" once per stage. */
static void
trace_header(trace_state *t, stm_stage stage)
{
    if (t->printed == (int)stage)
        return;
    fprintf(t->out, "== %s\n", stm_stage_name(stage));
    t->printed = (int)stage;
    if (!stm_policy_stage_used(t->policy, stage))
        fprintf(t->out, "   (no rules)\n");
}

/* Indentation for rules at DEPTH. */
static void
trace_indent(FILE *out, int depth)
{
    fprintf(out, "%*s", 3 + 4 * depth, "");
}

/* One verdict: VERB [CODE ENHANCED] ["TEXT"] [QUEUE] (rule "NAME") [error]. */
static void
trace_verdict_text(FILE *out, const stm_verdict *v)
{
    fputs(stm_verb_name(v->verb), out);
    if (v->code != 0)
        fprintf(out, " %d", v->code);
    if (v->enhanced[0] != '\0')
        fprintf(out, " %s", v->enhanced);
    if (v->queue != NULL)
        fprintf(out, " %s", v->queue);
    if (v->text != NULL) {
        fputc(' ', out);
        trace_quoted(out, v->text);
    }
    if (v->rule != NULL) {
        fputs(" (rule ", out);
        trace_quoted(out, v->rule);
        fprintf(out, " at %s)", stm_stage_name(v->stage));
    } else {
        fputs(" (no rule decided)", out);
    }
    if (v->error != NULL) {
        fputs(" [rule failed: ", out);
        fputs(v->error, out);
        fputs("; milter.on_error decided]", out);
    }
}

/* Under a rule's line: the MIME part that made it match, if one did. */
static void
trace_mime_match(trace_state *t, const stm_trace_event *ev)
{
    char *part = t->session != NULL ? stm_session_mime_match(t->session) : NULL;
    if (part == NULL)
        return;
    if (ev->matched) {
        trace_indent(t->out, ev->depth);
        fprintf(t->out, "          %s\n", part);
    }
    free(part);
}

/* The engine's trace hook. */
static void
trace_event(void *ctx, const stm_trace_event *ev)
{
    trace_state *t = ctx;
    FILE *out = t->out;
    trace_header(t, ev->stage);
    switch (ev->kind) {
    case STM_TRACE_STAGE:
        break;
    case STM_TRACE_RULE:
        trace_indent(out, ev->depth);
        fputs(ev->matched ? "match     " : "no match  ", out);
        trace_quoted(out, ev->rule);
        if (ev->detail != NULL)
            fprintf(out, "  (%s)", ev->detail);
        fputc('\n', out);
        trace_mime_match(t, ev);
        break;
    case STM_TRACE_SKIPPED:
        trace_indent(out, ev->depth);
        fprintf(out, "skipped   %s\n", ev->detail ? ev->detail : "");
        break;
    case STM_TRACE_EFFECT:
        /* A `log` effect was printed already by the log hook. */
        if (ev->detail != NULL && strncmp(ev->detail, "log ", 4) == 0)
            break;
        trace_indent(out, ev->depth);
        fprintf(out, "          effect: %s\n", ev->detail ? ev->detail : "");
        break;
    case STM_TRACE_LOOKUP:
        trace_indent(out, ev->depth);
        fputs("          ", out);
        fputs(ev->detail ? ev->detail : "", out);
        fputc('\n', out);
        break;
    case STM_TRACE_DELEGATION:
        trace_indent(out, ev->depth);
        fprintf(out, "          delegation: %s", ev->detail ? ev->detail : "");
        if (ev->delegation != NULL && ev->delegation->result != STM_DELEGATION_NONE)
            fprintf(out, " result=%s", stm_delegation_result_name(ev->delegation->result));
        fputc('\n', out);
        break;
    case STM_TRACE_VERDICT:
        if (ev->verdict != NULL) {
            trace_indent(out, 0);
            fputs("=> ", out);
            trace_verdict_text(out, ev->verdict);
            fputc('\n', out);
            t->verdict_seen = true;
        }
        break;
    }
}

/* The engine's log hook: `log` effects and notices, inline. */
static void
trace_log(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    trace_state *t = ctx;
    trace_header(t, stage);
    trace_indent(t->out, 0);
    fputs("          log: ", t->out);
    trace_quoted(t->out, text);
    fputc('\n', t->out);
}

/* Serialises lines of the delegation (main thread) and of the receiver
 * (its threads) on the output. */
static pthread_mutex_t trace_out_lock = PTHREAD_MUTEX_INITIALIZER;

/* The delegation's log and dialogue, indented under the delegate rule. */
static void
trace_delegate_line(void *ctx, const char *line)
{
    trace_state *t = ctx;
    pthread_mutex_lock(&trace_out_lock);
    fprintf(t->out, "             | %s\n", line);
    fflush(t->out);
    pthread_mutex_unlock(&trace_out_lock);
}

/* The engine's delegate hook: CTX is the trace_state. */
static int
trace_delegate(void *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    trace_state *t = ctx;
    fflush(t->out);
    return stm_delegate_run(t->delegate, s, svc, out);
}

/* Read PATH whole; caller frees. NULL with ERR printed on failure. */
static char *
trace_read(const char *path, size_t *len, FILE *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(err, "stagemilter: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            char *nb = cap < TRACE_FILE_MAX ? realloc(buf, cap * 2) : NULL;
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (buf == NULL || ferror(f)) {
        fprintf(err, "stagemilter: %s: %s\n", path,
                buf == NULL ? "too large or out of memory" : strerror(errno));
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Does V stop the SMTP conversation or the message (an MTA goes no further)? */
static bool
trace_final(const stm_verdict *v)
{
    return stm_verb_is_refusal(v->verb) || v->verb == STM_VERB_DISCARD;
}

/* Run STAGE, print its verdict if the engine did not; 0 or -1. */
static int
trace_run(stm_session *s, stm_stage stage, const stm_engine_hooks *hooks, trace_state *t,
          stm_verdict *v)
{
    t->verdict_seen = false;
    trace_header(t, stage);
    if (stm_engine_run(s, stage, hooks, v) != 0) {
        fprintf(t->out, "   => internal error (the milter would tempfail)\n");
        return -1;
    }
    if (!t->verdict_seen) {
        trace_indent(t->out, 0);
        fputs("=> ", t->out);
        trace_verdict_text(t->out, v);
        fputc('\n', t->out);
    }
    return 0;
}

/* One line of the outcome: LABEL padded to WIDTH, then the verdict. */
static void
trace_outcome(FILE *out, int width, const char *label, const stm_verdict *v)
{
    fprintf(out, "   %-*s  ", width, label);
    trace_verdict_text(out, v);
    fputc('\n', out);
}

/* Is V a refusal of what it judged (deny/info/reject/defer)? */
static bool
trace_refused(const stm_verdict *v)
{
    return stm_verb_is_refusal(v->verb);
}

enum { TV_CONNECT, TV_HELO, TV_MAIL, TV_DATA, TV_EOM, TV_COUNT };

/* Run the stages in MTA order; fill V[] and RV[] (per recipient). Returns
 * 0, or -1 on an internal error (already printed). */
static int
trace_stages(const stm_trace_args *a, stm_session *s, const stm_engine_hooks *hooks, trace_state *t,
             stm_message *parsed, stm_verdict *v, bool *ran, stm_verdict *rv, bool *rran)
{
    char addr[1024];
    static const stm_stage first[] = {STM_STAGE_CONNECT, STM_STAGE_HELO};
    for (int i = 0; i < 2; i++) {
        if (trace_run(s, first[i], hooks, t, &v[i]) != 0)
            return -1;
        ran[i] = true;
        if (trace_final(&v[i]))
            return 0;
    }
    if (stm_session_begin_transaction(s, stm_session_strip_brackets(addr, sizeof addr, a->from)) !=
        0)
        return -1;
    if (trace_run(s, STM_STAGE_MAIL, hooks, t, &v[TV_MAIL]) != 0)
        return -1;
    ran[TV_MAIL] = true;
    if (trace_final(&v[TV_MAIL]))
        return 0;

    size_t accepted = 0;
    for (size_t i = 0; i < a->nrcpts; i++) {
        stm_session_strip_brackets(addr, sizeof addr, a->rcpts[i]);
        fprintf(t->out, "== rcpt <%s>\n", addr);
        t->printed = STM_STAGE_RCPT;
        if (!stm_policy_stage_used(t->policy, STM_STAGE_RCPT))
            fprintf(t->out, "   (no rules)\n");
        if (stm_session_set_rcpt(s, addr) != 0 ||
            trace_run(s, STM_STAGE_RCPT, hooks, t, &rv[i]) != 0)
            return -1;
        rran[i] = true;
        if (!trace_refused(&rv[i])) {
            if (stm_session_accept_rcpt(s) != 0)
                return -1;
            accepted++;
        }
        if (rv[i].verb == STM_VERB_DISCARD)
            return 0;
    }
    if (accepted == 0)
        return 0; /* the MTA refuses DATA without a recipient */

    if (trace_run(s, STM_STAGE_DATA, hooks, t, &v[TV_DATA]) != 0)
        return -1;
    ran[TV_DATA] = true;
    if (trace_final(&v[TV_DATA]))
        return 0;

    /* The message reaches the milter now; the session takes it over. */
    stm_message *msg = stm_session_message(s);
    stm_message_clear(msg);
    const struct stm_spool_config *spool = msg->spool;
    *msg = *parsed;
    stm_message_init(parsed);
    /* A body the daemon would spool is judged spooled here too (the text
     * kept, raw_body's windows). */
    stm_message_set_spool(msg, spool);
    if (stm_policy_needs_body(stm_session_policy(s)) && stm_message_spool_now(msg) != 0)
        fprintf(t->out, "   (milter.spool.directory %s: %s: the message is judged in memory)\n",
                spool->directory, strerror(errno));

    t->verdict_seen = false;
    t->printed = -1;
    if (stm_engine_run_eom(s, hooks, &v[TV_EOM]) != 0) {
        fprintf(t->out, "   => internal error (the milter would tempfail)\n");
        return -1;
    }
    ran[TV_EOM] = true;
    /* The parts the rules looked into (the parse is made only when a rule
     * needs it, so a policy without such rules shows none). */
    char *tree = stm_session_mime_tree(s);
    if (tree != NULL) {
        fprintf(t->out, "== mime (parsed for the rules above)\n%s", tree);
        free(tree);
    }
    return 0;
}

/* The changes effects queued, as the milter would carry them out
 * (stagemilter/edit.h), one outcome line each. */
static void
trace_edits(stm_session *s, int width, FILE *out)
{
    static const char *const what[] = {"change", "delete", "add", "add", "delete", "change"};
    stm_edit_ops ops;
    char *err = NULL;
    if (!stm_edit_pending(s))
        return;
    if (stm_edit_resolve(s, &ops, &err) != 0) {
        fprintf(out, "   %-*s  failed: %s\n", width, "changes", err ? err : "out of memory");
        free(err);
        return;
    }
    for (size_t i = 0; i < ops.n; i++) {
        const stm_edit_op *op = &ops.ops[i];
        bool header = op->kind <= STM_EDIT_OP_HEADER_ADD;
        fprintf(out, "   %-*s  %s ", width,
                header                               ? "header"
                : op->kind == STM_EDIT_OP_SENDER ? "sender"
                                                     : "rcpt",
                what[op->kind]);
        if (header && op->index != 0)
            fprintf(out, "%s[%d]", op->name, op->index);
        else if (header)
            fputs(op->name, out);
        if (header && op->value != NULL)
            fputs(": ", out);
        else if (!header)
            fputc('<', out);
        /* Folded values on one line; no control character reaches the
         * terminal. */
        for (const char *p = op->value ? op->value : ""; *p; p++)
            if (*p != '\r')
                fputc(*p == '\n' ? ' ' : (unsigned char)*p < 0x20 && *p != '\t' ? '?' : *p, out);
        fputs(header ? "\n" : ">\n", out);
    }
    stm_edit_ops_clear(&ops);
}

/* The outcome section: what the MTA would have been told. */
static void
trace_summary(const stm_trace_args *a, stm_session *s, const stm_verdict *v, const bool *ran,
              const stm_verdict *rv, const bool *rran, FILE *out)
{
    static const char *const labels[TV_COUNT] = {"connect", "helo", "mail", "data", "message"};
    char addr[1024], label[1100];
    int width = 7; /* "message" */
    for (size_t i = 0; i < a->nrcpts; i++) {
        int w = snprintf(label, sizeof label, "rcpt <%s>",
                         stm_session_strip_brackets(addr, sizeof addr, a->rcpts[i]));
        if (rran[i] && w > width)
            width = w;
    }
    fprintf(out, "\n== outcome\n");
    for (int i = TV_CONNECT; i <= TV_MAIL; i++)
        if (ran[i])
            trace_outcome(out, width, labels[i], &v[i]);
    for (size_t i = 0; i < a->nrcpts; i++) {
        if (!rran[i])
            continue;
        snprintf(label, sizeof label, "rcpt <%s>",
                 stm_session_strip_brackets(addr, sizeof addr, a->rcpts[i]));
        trace_outcome(out, width, label, &rv[i]);
    }
    if (ran[TV_DATA])
        trace_outcome(out, width, labels[TV_DATA], &v[TV_DATA]);
    if (!ran[TV_EOM]) {
        fprintf(out, "   %-*s  not received\n", width, labels[TV_EOM]);
        return;
    }
    /* After an earlier faccept, that is what let the message through. */
    const stm_verdict *final = &v[TV_EOM];
    for (int i = TV_CONNECT; i <= TV_DATA && final->rule == NULL; i++)
        if (ran[i] && v[i].verb == STM_VERB_FACCEPT)
            final = &v[i];
    for (size_t i = 0; i < a->nrcpts && final->rule == NULL; i++)
        if (rran[i] && rv[i].verb == STM_VERB_FACCEPT)
            final = &rv[i];
    trace_outcome(out, width, labels[TV_EOM], final);
    if (v[TV_EOM].verb == STM_VERB_QUARANTINE) {
        const stm_milter_config *mc = stm_policy_milter(stm_session_policy(s));
        bool lmtp =
            mc->quarantine == STM_QUARANTINE_LMTP || mc->quarantine == STM_QUARANTINE_LMTP_HOLD;
        bool store = mc->quarantine != STM_QUARANTINE_HOLD && !lmtp;
        bool hold = mc->quarantine != STM_QUARANTINE_STORE && mc->quarantine != STM_QUARANTINE_LMTP;
        if (lmtp)
            fprintf(out, "   %-*s  deliver over LMTP to %s (queue %s)%s\n", width, "quarantine",
                    mc->quarantine_lmtp_rcpt, v[TV_EOM].queue,
                    hold ? ", then hold in the MTA" : ", then discard from the MTA");
        else
            fprintf(out, "   %-*s  %s%s%s%s%s\n", width, "quarantine", store ? "store in " : "",
                store ? mc->workdir : "", store ? "/" : "", store ? v[TV_EOM].queue : "",
                hold ? (store ? ", then hold in the MTA" : "hold in the MTA")
                     : ", then discard from the MTA");
    }
    if (trace_final(&v[TV_EOM]) || v[TV_EOM].verb == STM_VERB_QUARANTINE)
        return;
    size_t nd = 0;
    const stm_delegation_record *d = stm_session_delegations(s, &nd);
    for (size_t i = 0; i < nd; i++) {
        if (d[i].delegation.result != STM_DELEGATION_RETURNED)
            continue;
        stm_header_edit *e = NULL;
        bool whole = d[i].service->apply == STM_APPLY_MESSAGE;
        long ne = stm_delegate_edits(d[i].service, stm_session_message(s), &d[i].delegation, &e);
        for (long j = 0; j < ne; j++) {
            fprintf(out, "   %-*s  %s %s", width, "header",
                    e[j].kind == STM_HEADER_ADD      ? "add"
                    : e[j].kind == STM_HEADER_CHANGE ? "change"
                                                     : "delete",
                    e[j].name);
            if (e[j].index != 0)
                fprintf(out, "[%d]", e[j].index);
            if (e[j].value != NULL) {
                fputs(": ", out);
                for (const char *p = e[j].value; *p; p++)
                    if (*p != '\r')
                        fputc(*p == '\n'                               ? ' '
                              : (unsigned char)*p < 0x20 && *p != '\t' ? '?'
                                                                       : *p,
                              out);
            }
            fprintf(out, " (from %s)\n", d[i].service->name);
        }
        free(e);
        if (whole)
            fprintf(out, "   %-*s  replaced by %s's (%zu bytes)\n", width, "body",
                    d[i].service->name, d[i].delegation.returned.body_len);
    }
    trace_edits(s, width, out);
    size_t n = 0;
    const stm_header *h = stm_session_added_headers(s, &n);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "   %-*s  %s: %s\n", width, "header", h[i].name, h[i].value);
}

/* Load the policy into *P and the message into *DATA (caller frees both),
 * parsed into PARSED (which borrows *DATA). 0, or -1 reported to ERR. */
static int
trace_load(const stm_trace_args *a, stm_policy **p, char **data, stm_message *parsed, FILE *err)
{
    size_t len = 0;
    const char *perr = NULL;
    stm_diag *diag = stm_diag_create();
    if (diag == NULL)
        return -1;
    *p = stm_policy_load(a->config, diag);
    stm_diag_print(diag, err);
    stm_diag_free(diag);
    if (*p == NULL)
        return -1;
    if ((*data = trace_read(a->message, &len, err)) == NULL)
        return -1;
    if (stm_message_parse(parsed, *data, len, &perr) != 0) {
        fprintf(err, "stagemilter: %s: %s\n", a->message, perr ? perr : "cannot parse");
        return -1;
    }
    return 0;
}

/* The lines above the trace: what is traced, against which policy. */
static void
trace_preamble(const stm_trace_args *a, stm_policy *p, const stm_message *parsed, const char *name,
               FILE *out)
{
    char addr[1024];
    fprintf(out, "policy   %s\n", a->config);
    fprintf(out, "message  %s (%zu header%s, %zu body bytes)\n", a->message, parsed->nheaders,
            parsed->nheaders == 1 ? "" : "s", parsed->body_len);
    fprintf(out, "client   %s [%s]%s%s\n", a->client_ip, name, a->helo ? " helo " : "",
            a->helo ? a->helo : "");
    fprintf(out, "from     <%s>\n", stm_session_strip_brackets(addr, sizeof addr, a->from));
    if (stm_policy_uses_delegation(p))
        fprintf(out, "note     %s%s\n",
                a->no_delegate ? "--no-delegate: delegate rules are skipped"
                : stm_policy_uses_receiver(p)
                    ? "delegation for real; receiver on "
                    : "delegation for real; no receiver (no smtp or lmtp service)",
                a->no_delegate || !stm_policy_uses_receiver(p) ? ""
                                                               : stm_policy_receiver(p)->listen);
    fputc('\n', out);
    fflush(out);
}

/* Start the receiver the scanners pass messages back to, into *REG and
 * *RCV (stm_trace_main stops them). 0; -1 out of memory; 1 it cannot
 * listen (reported to ERR). */
static int
trace_receiver(stm_policy *p, trace_state *t, stm_ticket_registry **reg, stm_receiver **rcv,
               FILE *err)
{
    const stm_receiver_config *rc = stm_policy_receiver(p);
    stm_receiver_options ro = {
        .host = rc->host,
        .port = rc->port,
        .max_message_size = stm_policy_milter(p)->max_message_size,
        .hostname = "localhost",
        .config = rc,
        .log = trace_delegate_line,
        .log_arg = t,
    };
    char rerr[512];
    if ((*reg = stm_ticket_registry_create()) == NULL)
        return -1;
    if ((*rcv = stm_receiver_start(&ro, *reg, rerr, sizeof rerr)) == NULL) {
        fprintf(err,
                "stagemilter: --trace cannot start its receiver on receiver.listen %s: %s\n"
                "stagemilter: (a running stagemilter daemon listens there? stop it, trace "
                "with a copy of the policy whose receiver.listen is free, or use "
                "--no-delegate)\n",
                rc->listen, rerr);
        return 1;
    }
    return 0;
}

/* The whole trace. */
int
stm_trace_main(const stm_trace_args *a, FILE *out, FILE *err)
{
    int status = 1;
    char *data = NULL;
    stm_policy *p = NULL;
    stm_session *s = NULL;
    stm_verdict v[TV_COUNT];
    bool ran[TV_COUNT] = {false};
    stm_verdict *rv = NULL; /* one per recipient */
    bool *rran = NULL;
    stm_message parsed;
    stm_ticket_registry *reg = NULL;
    stm_receiver *rcv = NULL;
    stm_state_store *store = NULL;

    for (int i = 0; i < TV_COUNT; i++)
        stm_verdict_init(&v[i]);
    stm_message_init(&parsed);
    if (trace_load(a, &p, &data, &parsed, err) != 0)
        goto done;
    rv = calloc(a->nrcpts, sizeof *rv);
    rran = calloc(a->nrcpts, sizeof *rran);
    s = stm_session_create(p, "trace");
    if (rv == NULL || rran == NULL || s == NULL)
        goto oom;
    for (size_t i = 0; i < a->nrcpts; i++)
        stm_verdict_init(&rv[i]);

    trace_state t = {.out = out, .policy = p, .printed = -1, .verdict_seen = false, .session = s};
    stm_engine_hooks hooks = {
        .ctx = &t, .log = trace_log, .trace = trace_event, .delegate = NULL, .dns = stm_resolver()};
    stm_delegate_ctx dc = {
        .helo_name = "localhost",
        .log = trace_delegate_line,
        .log_arg = &t,
        .transcript = true,
    };
    const char *name = a->client_name != NULL ? a->client_name : "unknown";

    trace_preamble(a, p, &parsed, name, out);
    /* The store is read, never written: the trace says what the daemon
     * would count and decide. An LMDB file not created yet knows nothing. */
    const stm_state_config *sc = stm_policy_state(p);
    if (sc->used) {
        char why[600];
        if (sc->kind == STM_STATE_LMDB && access(sc->path, F_OK) != 0)
            store = stm_state_memory_open(why, sizeof why);
        else
            store = stm_state_open(sc, why, sizeof why);
        if (store == NULL)
            fprintf(out, "state    %s: %s\n", sc->store, why);
        else
            fprintf(out, "state    %s (read only)\n", sc->store);
        stm_session_set_state(s, store, true);
    }
    if (stm_policy_uses_delegation(p) && !a->no_delegate) {
        /* Only smtp and lmtp services pass a copy back to a receiver. */
        int rc = stm_policy_uses_receiver(p) ? trace_receiver(p, &t, &reg, &rcv, err) : 0;
        if (rc < 0)
            goto oom;
        if (rc > 0)
            goto done;
        dc.tickets = reg;
        t.delegate = &dc;
        hooks.delegate = trace_delegate;
    }

    if (stm_session_set_client(s, a->client_ip, NULL, name) != 0 ||
        (a->helo != NULL && stm_session_set_helo(s, a->helo) != 0))
        goto oom;
    if (trace_stages(a, s, &hooks, &t, &parsed, v, ran, rv, rran) != 0)
        goto oom;
    trace_summary(a, s, v, ran, rv, rran, out);
    status = 0;
    goto done;
oom:
    fprintf(err, "stagemilter: out of memory or internal error\n");
done:
    for (size_t i = 0; rv != NULL && i < a->nrcpts; i++)
        stm_verdict_clear(&rv[i]);
    free(rv);
    free(rran);
    for (int i = 0; i < TV_COUNT; i++)
        stm_verdict_clear(&v[i]);
    stm_message_clear(&parsed);
    stm_session_free(s);
    stm_state_close(store);
    stm_resolver_shutdown();
    stm_receiver_stop(rcv);
    stm_ticket_registry_free(reg);
    stm_policy_unref(p);
    free(data);
    return status;
}
