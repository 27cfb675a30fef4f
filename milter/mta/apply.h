/*
 * apply.h - the message changes effects queued, carried out through
 * libmilter at the end of the message (apply.c).
 */
#ifndef STAGEMILTER_MILTER_APPLY_H
#define STAGEMILTER_MILTER_APPLY_H

#include <libmilter/mfapi.h>

#include "stagemilter/session.h"

/* Carry out in the MTA's copy the changes queued in S (nothing when none
 * are). Call from xxfi_eom only. 0, or -1 (logged): answer tempfail. */
int stm_apply_edits(SMFICTX *ctx, stm_session *s);

/* VALUE as libmilter takes it: no leading white space, folded lines joined
 * with a bare LF (the MTA adds the CR). Caller frees; NULL on ENOMEM. */
char *stm_apply_milter_value(const char *value);

#endif
