/*
 * edit.h - the queue of message changes in a session (private to policy/):
 * what change_header, delete_header, prefix_subject, add_rcpt, delete_rcpt
 * and change_sender effects asked for, kept until the end of the message,
 * where stm_edit_resolve() (include/stagemilter/edit.h) turns them into
 * operations.
 *
 * Like add_header, changes asked for at connect or helo hold for every
 * message of the connection (a helo stage that runs again replaces its
 * own); the others for the current message only.
 */
#ifndef STAGEMILTER_RUN_EDIT_H
#define STAGEMILTER_RUN_EDIT_H

#include <stddef.h>

#include "stagemilter/edit.h"
#include "run/edit_types.h"

struct stm_session;
/* Queue a change asked for at STAGE (copies NAME and VALUE; either may be
 * NULL). 0, or -1 out of memory. */
int stm_session_add_edit(struct stm_session *s, stm_stage stage, stm_edit_kind kind,
                         const char *name, const char *value, int index,
                         const stm_pattern *pattern);
/* Session life cycle (session.c calls these): a transaction starts (the
 * connection's changes are copied in; 0 or -1), ends, a helo stage runs
 * again, the session is freed. */
int stm_session_edits_begin(struct stm_session *s);
void stm_session_edits_end(struct stm_session *s);
void stm_session_edits_restart_helo(struct stm_session *s);
void stm_session_edits_free(struct stm_session *s);

#endif
