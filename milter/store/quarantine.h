/*
 * quarantine.h - the quarantine store: a copy of a message kept as a Maildir
 * under WORKDIR/QUEUE, written and fsync'ed before the MTA is told to discard.
 *
 * No libmilter here: it takes what the session holds, so it can be tested on
 * its own.
 */
#ifndef STAGEMILTER_MILTER_QUARANTINE_H
#define STAGEMILTER_MILTER_QUARANTINE_H

#include <stddef.h>

#include "stagemilter/engine.h"

/* Store the current message of S (its envelope, its headers and body as
 * received, the headers add_header effects asked for) in the Maildir
 * WORKDIR/QUEUE (V->queue; V also gives the rule and stage for the
 * X-Stagemilter-Quarantine header). Creates WORKDIR, WORKDIR/QUEUE and its
 * tmp/ new/ cur/ (mode 0700) as needed; the file is mode 0600, written to
 * tmp/, fsync'ed, renamed into new/, and new/ is fsync'ed.
 * Returns 0 and the file's final path in PATH (PATHLEN bytes); -1 with a
 * description in ERR (ERRLEN bytes) when anything failed (nothing is left
 * behind in tmp/), including a truncated body or an unsafe queue name. */
int stm_quarantine_store(const char *workdir, stm_session *s, const stm_verdict *v, char *path,
                        size_t pathlen, char *err, size_t errlen);

/* Remove the unfinished copies that a process of this host left in
 * WORKDIR/QUEUE/tmp/ when it died (killed while storing): files named
 * "...P<pid>Q<n>.<this host>" whose PID no longer runs. A copy in tmp/ was
 * never renamed into new/, so the MTA was never told to discard it: the
 * message is still the MTA's (or its client's), nothing is lost. Folders and
 * links are never followed. Returns the number of files removed, or -1 with
 * a description in ERR (ERRLEN bytes); a missing WORKDIR is 0. */
long stm_quarantine_sweep(const char *workdir, char *err, size_t errlen);

/* The header block of the copy stm_quarantine_store() would write,
 * without its Return-Path (the mailbox server adds its own from the
 * envelope), and the empty line, in memory: *DATA (LF line ends, *LEN
 * bytes; caller frees; the body follows it as the message's own, maybe
 * spooled: stm_smtp_piece_body()) and *SENDER, the envelope
 * sender as the message's changes leave it (caller frees), for delivery
 * into a mailbox server (milter.quarantine: lmtp). 0, or -1 with ERR as
 * stm_quarantine_store() says (nothing to free then). */
int stm_quarantine_render(stm_session *s, const stm_verdict *v, char **data, size_t *len,
                          char **sender, char *err, size_t errlen);

#endif
