/*
 * privileges.h - running as root only as long as needed: the user to become
 * (-u USER[:GROUP]), the private workdir, the switch itself, and the warning
 * about a configuration file that holds a password and is world-readable.
 */
#ifndef STAGEMILTER_MILTER_PRIVILEGES_H
#define STAGEMILTER_MILTER_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "stagemilter/policy.h"

/* Who -u names. */
typedef struct stm_privileges_user {
    char name[256]; /* the user's name, for initgroups() and logs */
    uid_t uid;
    gid_t gid; /* GROUP's, or the user's primary group */
} stm_privileges_user;

/* Resolve SPEC ("USER" or "USER:GROUP"; names or numeric ids) into OUT.
 * Returns 0, or -1 with a description in ERR (ERRLEN bytes). */
int stm_privileges_lookup(const char *spec, stm_privileges_user *out, char *err, size_t errlen);

/* Create WORKDIR (mode 0700) unless it exists, make it mode 0700, and when
 * USER is not NULL owned by USER. A workdir that was open to group or others
 * is closed and logged. Returns 0, or -1 (logged). */
int stm_privileges_workdir(const char *workdir, const stm_privileges_user *user);
/* The same for milter.spool.directory of MC, and first for the workdir when
 * the spool is inside it (the default, WORKDIR/spool). */
int stm_privileges_spool(const stm_milter_config *mc, const stm_privileges_user *user);

/* Become USER: supplementary groups, gid, uid; then check that root cannot
 * be regained. Returns 0, or -1 (logged). */
int stm_privileges_drop(const stm_privileges_user *user);

/* Does POLICY hold a service password while its file PATH is readable by
 * others? Then fill MSG (MSGLEN bytes) with a warning "PATH: warning: ..."
 * and return true. */
bool stm_privileges_secret_exposed(const stm_policy *policy, const char *path, char *msg,
                                  size_t msglen);

#endif
