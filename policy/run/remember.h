/*
 * remember.h - asking the session's store (stagemilter/state.h) for the
 * `rate:` condition and the `greylist` verb: keys, state.on_failure, and
 * what --trace shows. Private to policy/.
 */
#ifndef STAGEMILTER_REMEMBER_H
#define STAGEMILTER_REMEMBER_H

#include "model.h"
#include "run/session_internal.h"
#include "run/state_spec.h"

/* Judge `rate:` C for S: count one event for its key (not with a read-only
 * store) and hold when more than its limit fell within its window; ${rate}
 * becomes the count. A store failure is an error (*ERR malloc'd) unless
 * state.on_failure is continue (then: does not hold). */
stm_cond_result stm_remember_rate(stm_session *s, const stm_cond *c, char **err);

/* The greylist verb G at STAGE (rcpt: the current recipient; data: every
 * accepted one must pass). Returns 1 when it passes (like next), 0 when it
 * refuses, -1 on a store failure (*ERR malloc'd) unless state.on_failure is
 * continue (then it passes). */
int stm_remember_greylist(stm_session *s, stm_stage stage, const stm_greylist_spec *g, char **err);

/* What the last judgment asked the store and found, "" when nothing; the
 * engine traces it and clears it with stm_remember_note_clear(). */
const char *stm_remember_note(const stm_session *s);
void stm_remember_note_clear(stm_session *s);
/* Does the note record a store failure that state.on_failure: continue let
 * by? (The engine logs those: nothing else would.) */
bool stm_remember_note_failed(const stm_session *s);

/* Maximum length of a store key: longer ones keep their head and end in a
 * hash of the whole. */
#define STM_STATE_KEY_MAX 400

#endif
