/*
 * quarantine_lmtp.h - milter.quarantine: lmtp | lmtp+hold: the quarantined
 * message into a mailbox server over LMTP (quarantine_lmtp.c).
 */
#ifndef STAGEMILTER_MILTER_QUARANTINE_LMTP_H
#define STAGEMILTER_MILTER_QUARANTINE_LMTP_H

#include <stddef.h>

#include "stagemilter/config.h"
#include "stagemilter/engine.h"

/* Deliver the message of S, quarantined by V, over LMTP as MC's
 * quarantine_lmtp says (HELO the LHLO name; PROGRESS, when not NULL, is
 * called while the server works). 0 once the server accepted it for the
 * recipient, with a description for the log in INFO; -1 with the reason
 * in ERR otherwise (the caller tempfails). */
int stm_quarantine_lmtp(const stm_milter_config *mc, stm_session *s, const stm_verdict *v,
                        const char *helo, void (*progress)(void *), void *progress_arg,
                        char *info, size_t infolen, char *err, size_t errlen);

#endif
