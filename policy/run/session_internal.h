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
    char *quarantine_queue; /* pending quarantine for this message */
    char *quarantine_rule;
    stm_stage quarantine_stage;

    /* Message changes queued by effects (run/edit.c). */
    stm_edits conn_edits; /* asked for at connect/helo: every message */
    stm_edits edits;      /* conn_edits copied in, then this transaction's */

    /* Engine state while a stage runs. */
    stm_stage stage;                 /* the stage being run (for ${rcpt}) */
    const stm_delegation *ctx_deleg; /* inside a delegate's rules: its result */
};

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
/* The latest delegation's reply text, or NULL. */
const char *stm_session_last_reply(const stm_session *s);
/* Template variables' values in the session CTX (a stm_template_lookup:
 * pass it with the session to stm_template_expand). Borrowed from it. */
const char *stm_session_lookup(const void *ctx, stm_template_var var, const char *name, size_t i);

#endif
