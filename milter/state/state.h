/*
 * state.h - the daemon's stores (stagemilter/state.h implemented) and the
 * registry that opens them for a policy.
 *
 * FUNCTIONS
 *      stm_state_memory_open, stm_state_lmdb_open, stm_state_redis_open
 *              one store of each kind (memory.c, lmdb.c, redis.c)
 *      stm_state_open      the store a state section names
 *      stm_state_check     can that store be opened? (--check; opens nothing
 *                          on disk, connects to Redis)
 *      stm_state_close     close any store (accepts NULL)
 *
 * Ownership: an opened store is the caller's until stm_state_close().
 * Errors: NULL / -1 with ERR (ERRLEN bytes) saying why.
 */
#ifndef STAGEMILTER_MILTER_STATE_H
#define STAGEMILTER_MILTER_STATE_H

#include "stagemilter/state.h"

stm_state_store *stm_state_memory_open(char *err, size_t errlen);
stm_state_store *stm_state_lmdb_open(const char *path, char *err, size_t errlen);
stm_state_store *stm_state_redis_open(const stm_state_config *c, char *err, size_t errlen);

stm_state_store *stm_state_open(const stm_state_config *c, char *err, size_t errlen);
int stm_state_check(const stm_state_config *c, char *err, size_t errlen);
void stm_state_close(stm_state_store *st);

#endif
