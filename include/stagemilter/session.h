/*
 * session.h - one SMTP connection as the rule engine sees it.
 *
 * The milter (or --trace) fills a session with what the MTA tells it:
 * connection facts, macros, the envelope, headers and body; the engine reads
 * it and records what rules asked for (variables, headers to add, a pending
 * quarantine). A session holds its own reference on the policy it was created
 * with, so a reload never changes the rules under it.
 *
 * All setters copy their arguments; getters return strings borrowed until the
 * next setter call for that field or sm_session_free(). Setters return 0, or
 * -1 on memory exhaustion. A session is used by one thread at a time.
 */
#ifndef STAGEMILTER_SESSION_H
#define STAGEMILTER_SESSION_H

#include "stagemilter/message.h"
#include "stagemilter/policy.h"

typedef struct sm_session sm_session;

/* A new session on POLICY (takes its own reference). ID is the connection's
 * log id (copied). Caller owns; NULL on memory exhaustion. */
sm_session *sm_session_create(sm_policy *policy, const char *id);
void sm_session_free(sm_session *s); /* accepts NULL; drops the policy reference */
sm_policy *sm_session_policy(const sm_session *s); /* borrowed */
const char *sm_session_id(const sm_session *s);

/* Connection facts; any argument may be NULL (unknown). */
int sm_session_set_client(sm_session *s, const char *ip, const char *port, const char *name);
int sm_session_set_server(sm_session *s, const char *ip, const char *port, const char *server_id);
int sm_session_set_helo(sm_session *s, const char *helo);
/* An MTA macro. NAME may be given as "{auth_authen}" or "auth_authen"; both
 * are stored as "auth_authen" (single letters as "i", "j"). A later value
 * replaces an earlier one. `tls` is true when {tls_version} or {cipher} is set
 * and non-empty; `auth` is the value of {auth_authen}. */
int sm_session_set_macro(sm_session *s, const char *name, const char *value);
const char *sm_session_macro(const sm_session *s, const char *name); /* NULL if unset */

/* Transactions. begin resets the envelope, the message, the pending headers
 * and the per-message decisions; connection facts and variables persist.
 * SENDER is the address without angle brackets; "" is the null sender. */
int sm_session_begin_transaction(sm_session *s, const char *sender);
/* Copy ADDR ("<a@b>" as the MTA or a trace gives it; NULL is "") without
 * its angle brackets into BUF of LEN > 0 bytes, cut to fit; returns BUF. */
const char *sm_session_strip_brackets(char *buf, size_t len, const char *addr);
/* The recipient the rcpt stage is about to judge (without angle brackets). */
int sm_session_set_rcpt(sm_session *s, const char *rcpt);
/* The current recipient was not refused: remember it as accepted. */
int sm_session_accept_rcpt(sm_session *s);
int sm_session_set_queue_id(sm_session *s, const char *queue_id);
/* The MTA's copy of the message, for the caller to fill. Borrowed. */
sm_message *sm_session_message(sm_session *s);
/* Forget the transaction (after end of message, or on abort). */
void sm_session_end_transaction(sm_session *s);

/* Read back. Strings borrowed as said above; NULL when unknown. */
const char *sm_session_client_ip(const sm_session *s); /* after set_sender_ip, the new one */
const char *sm_session_client_port(const sm_session *s);
const char *sm_session_client_name(const sm_session *s);
const char *sm_session_server_ip(const sm_session *s);
const char *sm_session_server_port(const sm_session *s);
const char *sm_session_server_id(const sm_session *s);
const char *sm_session_helo(const sm_session *s);
const char *sm_session_sender(const sm_session *s);
const char *sm_session_queue_id(const sm_session *s);
size_t sm_session_rcpt_count(const sm_session *s);               /* accepted ones */
const char *sm_session_rcpt_at(const sm_session *s, size_t i);   /* accepted ones */
const char *sm_session_current_rcpt(const sm_session *s);
const char *sm_session_var(const sm_session *s, const char *name);

/* Headers that add_header effects asked for in this transaction, in order.
 * The milter applies them at end of message. Borrowed. */
const sm_header *sm_session_added_headers(const sm_session *s, size_t *count);

#endif
