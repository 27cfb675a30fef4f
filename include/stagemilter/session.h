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
 * next setter call for that field or stm_session_free(). Setters return 0, or
 * -1 on memory exhaustion. A session is used by one thread at a time.
 */
#ifndef STAGEMILTER_SESSION_H
#define STAGEMILTER_SESSION_H

#include "stagemilter/message.h"
#include "stagemilter/policy.h"

typedef struct stm_session stm_session;

/* A new session on POLICY (takes its own reference). ID is the connection's
 * log id (copied). Caller owns; NULL on memory exhaustion. */
stm_session *stm_session_create(stm_policy *policy, const char *id);
void stm_session_free(stm_session *s); /* accepts NULL; drops the policy reference */
stm_policy *stm_session_policy(const stm_session *s); /* borrowed */
const char *stm_session_id(const stm_session *s);

/* Connection facts; any argument may be NULL (unknown). */
int stm_session_set_client(stm_session *s, const char *ip, const char *port, const char *name);
int stm_session_set_server(stm_session *s, const char *ip, const char *port, const char *server_id);
int stm_session_set_helo(stm_session *s, const char *helo);
/* An MTA macro. NAME may be given as "{auth_authen}" or "auth_authen"; both
 * are stored as "auth_authen" (single letters as "i", "j"). A later value
 * replaces an earlier one. `tls` is true when {tls_version} or {cipher} is set
 * and non-empty; `auth` is the value of {auth_authen}. */
int stm_session_set_macro(stm_session *s, const char *name, const char *value);
const char *stm_session_macro(const stm_session *s, const char *name); /* NULL if unset */

/* Transactions. begin resets the envelope, the message, the pending headers
 * and the per-message decisions; connection facts and variables persist.
 * SENDER is the address without angle brackets; "" is the null sender. */
int stm_session_begin_transaction(stm_session *s, const char *sender);
/* Copy ADDR ("<a@b>" as the MTA or a trace gives it; NULL is "") without
 * its angle brackets into BUF of LEN > 0 bytes, cut to fit; returns BUF. */
const char *stm_session_strip_brackets(char *buf, size_t len, const char *addr);
/* The recipient the rcpt stage is about to judge (without angle brackets). */
int stm_session_set_rcpt(stm_session *s, const char *rcpt);
/* The current recipient was not refused: remember it as accepted. */
int stm_session_accept_rcpt(stm_session *s);
int stm_session_set_queue_id(stm_session *s, const char *queue_id);
/* The MTA's copy of the message, for the caller to fill. Borrowed. */
stm_message *stm_session_message(stm_session *s);
/* Forget the transaction (after end of message, or on abort). */
void stm_session_end_transaction(stm_session *s);

/* Read back. Strings borrowed as said above; NULL when unknown. */
const char *stm_session_client_ip(const stm_session *s); /* after set_sender_ip, the new one */
const char *stm_session_client_port(const stm_session *s);
const char *stm_session_client_name(const stm_session *s);
const char *stm_session_server_ip(const stm_session *s);
const char *stm_session_server_port(const stm_session *s);
const char *stm_session_server_id(const stm_session *s);
const char *stm_session_helo(const stm_session *s);
const char *stm_session_sender(const stm_session *s);
const char *stm_session_queue_id(const stm_session *s);
size_t stm_session_rcpt_count(const stm_session *s);               /* accepted ones */
const char *stm_session_rcpt_at(const stm_session *s, size_t i);   /* accepted ones */
const char *stm_session_current_rcpt(const stm_session *s);
const char *stm_session_var(const stm_session *s, const char *name);

/* Headers that add_header effects asked for in this transaction, in order.
 * The milter applies them at end of message. Borrowed. */
const stm_header *stm_session_added_headers(const stm_session *s, size_t *count);

/* For --trace (policy/run/session_mime.c): the message's MIME tree as the
 * rules saw it, and the part that made the last condition hold (forgotten
 * once asked for). Malloc'd text, or NULL when no rule parsed the message
 * (or no part matched). */
char *stm_session_mime_tree(const stm_session *s);
char *stm_session_mime_match(stm_session *s);

#endif
