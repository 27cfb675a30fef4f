/*
 * registry.h - the stores the daemon opened, one per store spelling, for
 * the policies that name them (registry.c).
 */
#ifndef STAGEMILTER_MILTER_STATE_REGISTRY_H
#define STAGEMILTER_MILTER_STATE_REGISTRY_H

#include "stagemilter/policy.h"
#include "state/state.h"

/* Open the store POLICY's state section names unless it is open already
 * (nothing when the policy remembers nothing). 0, or -1 with ERR. */
int stm_state_registry_use(const stm_policy *policy, char *err, size_t errlen);
/* The open store of POLICY (borrowed until close_all), or NULL. */
stm_state_store *stm_state_registry_get(const stm_policy *policy);
/* Close every store (at exit, after the last connection). */
void stm_state_registry_close_all(void);

#endif
