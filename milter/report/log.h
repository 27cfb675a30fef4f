/*
 * log.h - the daemon's log: one line per event, key=value pairs an
 * administrator can grep, stderr in the foreground, syslog (facility mail)
 * otherwise.
 *
 * The decision lines have one fixed shape (see log.c):
 *
 *     id=ID stage=STAGE rule="NAME" verdict=VERB [code=C enhanced=E]
 *        client=IP from=<ADDR> [rcpt=<ADDR>] [queue=Q] [text="..."] [error="..."]
 *
 * Everything that came from the network goes through stm_log_clean() first.
 */
#ifndef STAGEMILTER_MILTER_LOG_H
#define STAGEMILTER_MILTER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "stagemilter/engine.h"
#include "stagemilter/limits.h"

/* Longest piece of peer text that goes into one log line. */

/* Where lines go: FOREGROUND to stderr with a timestamp, else syslog(LOG_MAIL)
 * as "stagemilter" with the pid. VERBOSE: a line per stage decision, not
 * only per message. Call once at start-up, before threads exist. */
void stm_log_open(bool foreground, bool verbose);
void stm_log_close(void);
bool stm_log_verbose(void);
/* milter.log_format: JSON true writes each line as one JSON object
 * (log_json.h) instead of key=value text. Thread-safe; the daemon sets it
 * from the policy at start-up and after every reload. */
void stm_log_set_json(bool json);

/* One line at PRIORITY (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO). */
void stm_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copy SRC into DST (of DSTLEN bytes, >= 4) with control characters, '"'
 * and '\\' replaced by '?', truncated to STM_LOG_PEER_MAX bytes with "..."
 * appended when cut. NULL becomes "". Returns DST. */
char *stm_log_clean(char *dst, size_t dstlen, const char *src);

/* The decision line for V taken at STAGE in session S (RCPT: the recipient
 * it is about, or NULL). Logged at LOG_INFO, or LOG_NOTICE for refusals.
 * A decision by a rule (or a failing rule) is counted (stats.h). */
void stm_log_verdict(const stm_session *s, stm_stage stage, const stm_verdict *v, const char *rcpt);

/* The end-of-message line for V (at V's stage when a rule decided, else
 * postq), counted as a message with its delegations (stats.h). */
void stm_log_message(const stm_session *s, const stm_verdict *v);

/* The engine's log hook (stm_engine_hooks.log): `log` effects and notices. */
void stm_log_engine(void *ctx, const stm_session *s, stm_stage stage, const char *rule,
                   const char *text);

/* The id to put on a line about S: the queue id once known, else the
 * connection id. Borrowed from S. */
const char *stm_log_id(const stm_session *s);

#endif
