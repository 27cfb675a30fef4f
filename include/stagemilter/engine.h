/*
 * engine.h - running a policy's rules for one stage of one session.
 *
 * The engine knows nothing of libmilter and opens no sockets: it evaluates
 * rules against a session and returns a verdict. Everything with side effects
 * outside the session (logging, tracing, delegation to a scanner) goes through
 * the hooks its caller passes in.
 *
 * Verdicts carry fully resolved replies: defaults of DESIGN.md applied,
 * custom texts interpolated, so the caller maps them to SMTP/milter replies in
 * one place without knowing the policy.
 */
#ifndef STAGEMILTER_ENGINE_H
#define STAGEMILTER_ENGINE_H

#include "stagemilter/dns.h"
#include "stagemilter/scan_result.h"
#include "stagemilter/session.h"

typedef struct stm_verdict {
    /* ACCEPT with rule == NULL: no rule decided (implicit accept). ACCEPT with
     * a rule: `accept` ended the stage. NEXT is never returned. */
    stm_verb verb;
    int code;          /* deny/info/reject/defer: the SMTP code; 0 otherwise */
    char enhanced[16]; /* "5.7.1"; "" when none */
    char *text;        /* reply text, interpolated; NULL when none. Owned. */
    char *queue;       /* QUARANTINE: queue name. Owned. */
    char *rule;        /* name of the deciding rule; NULL when none decided. Owned. */
    stm_stage stage;    /* the stage whose rule decided */
    char *error;       /* set when a rule failed at run time and milter.on_error
                        * decided; describes the failure. Owned. */
} stm_verdict;

void stm_verdict_init(stm_verdict *v);
void stm_verdict_clear(stm_verdict *v); /* frees what it owns, re-initialises */

/* What a delegation produced. Filled by the delegate hook; the engine keeps it
 * in the session for the delegate's rules (delegation:, reply:, and
 * has_header/header/body on the returned copy). */
typedef struct stm_delegation {
    stm_delegation_result result;
    int reply_code;       /* the scanner's last reply code, 0 if none */
    char enhanced[16];    /* its enhanced code, "" if none */
    char *reply;          /* its last reply text ("Virus Detected; ..."); owned */
    stm_message returned;  /* RETURNED: the copy that came back */
    uint64_t elapsed_ms;
    stm_scan_result scan; /* clamd/spamd/rspamd: what the scanner said (scan_result.h) */
} stm_delegation;

void stm_delegation_init(stm_delegation *d);
void stm_delegation_clear(stm_delegation *d);

typedef enum stm_trace_kind {
    STM_TRACE_STAGE,      /* a stage begins: stage */
    STM_TRACE_RULE,       /* a rule was evaluated: rule, depth, matched */
    STM_TRACE_SKIPPED,    /* a stage was skipped (faccept, quarantine): stage, detail */
    STM_TRACE_EFFECT,     /* an effect ran: rule, detail ("add_header X-Foo: bar") */
    STM_TRACE_DELEGATION, /* a delegation finished or was skipped: rule, detail, delegation */
    STM_TRACE_VERDICT,    /* the stage's verdict: verdict */
    STM_TRACE_LOOKUP      /* what a condition looked up (a DNS query and its answer or
                           * failure, the authentication results read): detail, which
                           * starts with what it is ("dns: ", "auth_results: ") */
} stm_trace_kind;

typedef struct stm_trace_event {
    stm_trace_kind kind;
    stm_stage stage;
    const char *rule;  /* borrowed; NULL when not about a rule */
    int depth;         /* 0 for stage rules, 1 inside a delegate's rules */
    bool matched;
    const char *detail; /* borrowed; may be NULL */
    const stm_verdict *verdict;       /* STM_TRACE_VERDICT */
    const stm_delegation *delegation; /* STM_TRACE_DELEGATION */
} stm_trace_event;

typedef struct stm_engine_hooks {
    void *ctx;
    /* A `log` effect, or an engine notice (rule failures). Required. */
    void (*log)(void *ctx, const stm_session *s, stm_stage stage, const char *rule,
                const char *text);
    /* Every step, for --trace. Optional. */
    void (*trace)(void *ctx, const stm_trace_event *ev);
    /* Deliver the session's message to SERVICE and wait for the result.
     * Optional: when NULL, delegate rules are skipped (traced as skipped).
     * Returns 0 with OUT filled; -1 on an internal failure (then treated as
     * a FAILED delegation). */
    int (*delegate)(void *ctx, stm_session *s, const stm_service *service, stm_delegation *out);
    /* Where conditions that ask DNS (dnsbl:) send their queries. Optional:
     * when NULL such a condition fails as a DNS failure would. */
    const stm_dns_resolver *dns;
    /* delegate: [a, b, c]: deliver to the N services at the same time,
     * each into its OUTS[i] (initialised), each within its own timeout.
     * Optional: when NULL, `delegate` is called for each in turn. 0, or -1
     * on an internal failure (then every result not filled is FAILED). */
    int (*delegate_many)(void *ctx, stm_session *s, const stm_service *const *services,
                         stm_delegation *const *outs, size_t n);
} stm_engine_hooks;

/* Run STAGE (one of connect, helo, mail, rcpt, data) for session S and fill
 * OUT (initialised by the callee). At rcpt the rules judge the recipient given
 * to stm_session_set_rcpt(); the caller then calls stm_session_accept_rcpt()
 * unless the verdict refused it. Stages after a faccept or a quarantine, and
 * stages with no rules, return the implicit accept at once.
 * Returns 0; -1 only when OUT could not be filled (memory), in which case the
 * caller must tempfail. */
int stm_engine_run(stm_session *s, stm_stage stage, const stm_engine_hooks *hooks, stm_verdict *out);

/* End of message: run preq, then postq unless preq decided something final
 * (deny/info/reject/defer/discard/quarantine/faccept), and fill OUT with the
 * verdict the MTA must get. A quarantine decided at an earlier stage comes
 * back here as the QUARANTINE verdict. */
int stm_engine_run_eom(stm_session *s, const stm_engine_hooks *hooks, stm_verdict *out);

/* A delegation made in this transaction and the service it went to. */
typedef struct stm_delegation_record {
    const stm_service *service; /* borrowed from the session's policy */
    stm_delegation delegation;
} stm_delegation_record;

/* Delegations made in this transaction, in order (for applying the scanner's
 * headers after the rules). Borrowed until the transaction ends. */
const stm_delegation_record *stm_session_delegations(const stm_session *s, size_t *count);

#endif
