/*
 * stats.h - the daemon's counters: messages in flight, message outcomes per
 * verdict, decisions per stage and verb, per rule, delegations per service
 * and result with a latency histogram, reloads. Read as one key=value log
 * line (SIGUSR1) or as a Prometheus text-format file (-s FILE).
 *
 * Counting happens where decisions are logged (log.c), so the numbers and
 * the log lines cannot drift apart.
 */
#ifndef STAGEMILTER_MILTER_STATS_H
#define STAGEMILTER_MILTER_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stagemilter/engine.h"

/* A message (MAIL FROM) began on a connection; *IN_MESSAGE (the
 * connection's flag) makes a repeated call count once. Returns false, and
 * counts nothing, once stm_stats_drain() was called: the caller must then
 * refuse the message with a temporary failure. */
bool stm_stats_message_begin(bool *in_message);
/* The message ended (end of message, abort or close); no-op unless
 * *IN_MESSAGE was set by stm_stats_message_begin(). */
void stm_stats_message_end(bool *in_message);
/* Messages between MAIL FROM and their end, now. */
long stm_stats_in_flight(void);
/* The daemon is stopping: from now on stm_stats_message_begin() refuses new
 * messages, so that the count of messages in flight can only go down. */
void stm_stats_drain(void);

/* A decision line of STAGE: counts the verb per stage, and per rule when a
 * rule decided (V->rule). */
void stm_stats_decision(stm_stage stage, const stm_verdict *v);
/* The end-of-message verdict V of session S: counts the message per verb,
 * the rule when it decided at preq/postq, and S's delegations per service,
 * result and latency. */
void stm_stats_message(const stm_session *s, const stm_verdict *v);
/* One delegation to SERVICE with its RESULT and duration (what
 * stm_stats_message() does for each of a message's delegations). */
void stm_stats_delegation(const char *service, stm_delegation_result result, uint64_t elapsed_ms);
/* A policy reload: OK or refused. */
void stm_stats_reload(bool ok);

/* The counters as one line of key=value pairs (no newline) into BUF (LEN
 * bytes); cut at LEN with "..." when too long. Returns BUF. */
char *stm_stats_line(char *buf, size_t len);
/* Write the counters in Prometheus text format to PATH atomically (PATH.tmp,
 * fsync, rename; mode 0644). Returns 0, or -1 with ERR (ERRLEN bytes). */
int stm_stats_write(const char *path, char *err, size_t errlen);
/* The same text to an open stream (for tests and the writer). */
void stm_stats_print(FILE *out);

/* Forget every counter, free the tables, start the clock (at start-up,
 * at exit, in tests). */
void stm_stats_reset(void);

#endif
