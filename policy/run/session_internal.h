/*
 * session_internal.h - the session struct, for the engine modules of policy/
 * (session.c, delegation.c, engine.c, cond.c). Private to policy/.
 *
 * Fields prefixed conn_ live for the connection; the others for the current
 * transaction and are reset by stm_session_begin/end_transaction().
 */
#ifndef STAGEMILTER_SESSION_INTERNAL_H
#define STAGEMILTER_SESSION_INTERNAL_H

#include "stagemilter/engine.h"
#include "stagemilter/session.h"
#include "stagemilter/state.h"
#include "run/template.h"
#include "run/edit_types.h"

typedef struct stm_kv {
    char *name;
    char *value;
} stm_kv;

typedef struct stm_kvs {
    stm_kv *items;
    size_t n;
    size_t cap;
} stm_kvs;

struct stm_session {
    stm_policy *policy; /* our own reference */
    char *id;

    /* Connection facts. */
    char *client_ip; /* replaced by set_sender_ip */
    char *client_port;
    char *client_name;
    char *server_ip;
    char *server_port;
    char *server_id;
    char *helo;
    stm_kvs macros;
    stm_kvs vars; /* `set` effects: survive transactions */

    /* Decisions that hold for the whole connection (made at connect/helo). */
    bool conn_faccepted;
    char *conn_quarantine_queue; /* pending quarantine for every message */
    char *conn_quarantine_rule;
    stm_stage conn_quarantine_stage;
    stm_header *conn_added; /* add_header effects run at connect/helo */
    size_t conn_nadded;
    size_t conn_nadded_connect; /* the first ones, from connect; helo's follow */

    /* The transaction. */
    bool in_transaction;
    char *sender; /* "" null sender; NULL outside a transaction */
    char *current_rcpt;
    char **rcpts; /* accepted ones */
    size_t nrcpts;
    size_t rcpts_cap;
    char *queue_id;
    stm_message message;
    stm_header *added; /* conn_added copied in, then this transaction's */
    size_t nadded;
    size_t added_cap;
    stm_delegation_record *delegations;
    size_t ndelegations;
    size_t delegations_cap;
    bool msg_faccepted;
    /* add_score / score (effect_score.c): the message's score, starting
     * from what connect and helo rules added to the connection's. */
    double conn_score;
    double score;
    char score_text[32]; /* ${score} */
    char *quarantine_queue; /* pending quarantine for this message */
    char *quarantine_rule;
    stm_stage quarantine_stage;

    /* Message changes queued by effects (run/edit.c). */
    stm_edits conn_edits; /* asked for at connect/helo: every message */
    stm_edits edits;      /* conn_edits copied in, then this transaction's */

    /* Engine state while a stage runs. */
    stm_stage stage;                 /* the stage being run (for ${rcpt}) */
    const stm_delegation *ctx_deleg; /* inside a delegate's rules: its result */

    /* Remembering (run/remember.c). */
    stm_state_store *state; /* borrowed from the daemon; NULL = none */
    bool state_readonly;    /* --trace: say, do not write */
    char rate_text[24];     /* ${rate}: the last count, "" before any */
    char state_note[600];   /* what the last judgment asked the store, for --trace */
    bool state_failed;      /* the note records a failure that on_failure: continue let by */
    /* Asking the network (cond_dns.c, run/dnsbl.c). */
    const stm_engine_hooks *ctx_hooks;     /* while a stage runs: the caller's hooks */
    struct stm_dnsbl_hit *dnsbl;           /* the last dnsbl hit (${dnsbl_*}); owned, never NULL */
    struct stm_dnsbl_fetched *dns_fetched; /* the rule's DNS answers (run/dnsbl.c); never NULL */
};

/* What ${dnsbl_zone}, ${dnsbl_address} and ${dnsbl_text} say: the last
 * dnsbl condition that found its item listed, for the connection. Written
 * by that condition (through the session's pointer), read by templates. */
typedef struct stm_dnsbl_hit {
    char *zone;
    char *address;
    char *text;
} stm_dnsbl_hit;

/* Replace *FIELD by a copy of VALUE (NULL allowed). 0, or -1 on ENOMEM. */
int stm_session_set_str(char **field, const char *value);
/* Set variable NAME to VALUE (copies both). */
int stm_session_set_var(stm_session *s, const char *name, const char *value);
/* Record an add_header effect: per connection at connect/helo, else per message. */
int stm_session_add_header(stm_session *s, stm_stage stage, const char *name, const char *value);
/* The helo stage runs again (a new EHLO): forget the headers the earlier
 * helo asked for, keep those from connect. */
void stm_session_restart_helo(stm_session *s);
/* Append an empty delegation record for SERVICE; returns its index or -1. */
long stm_session_new_delegation(stm_session *s, const stm_service *service);
/* Record a pending quarantine decided at STAGE by RULE into QUEUE. */
int stm_session_set_quarantine(stm_session *s, stm_stage stage, const char *queue,
                               const char *rule);
/* The pending quarantine (message's, else connection's), or NULL. */
const char *stm_session_quarantine(const stm_session *s, const char **rule, stm_stage *stage);
/* Free every delegation record of the transaction (delegation.c). */
void stm_session_clear_delegations(stm_session *s);
/* The text of a scanner fact VAR (STM_TPL_VIRUS, ...; template.h) for a
 * template: the current delegation's inside its rules, else the latest one
 * that has it. NULL when none (delegation.c). */
const char *stm_session_scan_text(const stm_session *s, int var);
/* Add N to the message's score (at connect or helo also to the
 * connection's, which every message starts from). */
void stm_session_add_score(stm_session *s, stm_stage stage, double n);
/* The latest delegation's reply text, or NULL. */
const char *stm_session_last_reply(const stm_session *s);
/* Template variables' values in the session CTX (a stm_template_lookup:
 * pass it with the session to stm_template_expand). Borrowed from it. */
const char *stm_session_lookup(const void *ctx, stm_template_var var, const char *name, size_t i);

#endif
