/*
 * callbacks.h - the libmilter callbacks and the policy they run.
 *
 * The daemon publishes one current policy; each connection takes its own
 * reference when libmilter negotiates with the MTA, so a later reload never
 * changes the rules under a running message.
 */
#ifndef STAGEMILTER_MILTER_CALLBACKS_H
#define STAGEMILTER_MILTER_CALLBACKS_H

#include "stagemilter/policy.h"

/* Publish POLICY as the current one. Takes over the caller's reference;
 * drops the reference on the previous policy (connections keep theirs). */
void stm_callbacks_set_policy(stm_policy *policy);
/* A new reference on the current policy (NULL if none); caller unrefs. */
stm_policy *stm_callbacks_policy(void);

/* Delegation's process-wide parts: the ticket registry and the receiver on
 * receiver.listen of the current policy. start does nothing unless the
 * policy delegates or when they run already (a reload never moves them: a
 * changed receiver.listen is logged and takes a restart). Call it after
 * detaching (its threads do not survive fork) and before smfi_main(); a
 * policy that delegates only after a reload starts them at its first
 * delegation. Returns 0, or -1 (logged: the port is taken, ...): the daemon
 * must not start. stop stops the receiver at exit. */
int stm_callbacks_delegation_start(void);
void stm_callbacks_delegation_stop(void);

/* smfi_register() the filter. Returns 0, or -1 (logged). */
int stm_callbacks_register(void);

#endif
