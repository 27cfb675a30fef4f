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
void sm_callbacks_set_policy(sm_policy *policy);
/* A new reference on the current policy (NULL if none); caller unrefs. */
sm_policy *sm_callbacks_policy(void);

/* smfi_register() the filter. Returns 0, or -1 (logged). */
int sm_callbacks_register(void);

#endif
