/*
 * names.h - the one rule for quarantine queue names, used by the policy
 * loader (--check), the quarantine store and the --quarantine admin
 * commands, so a name the policy accepts is one the store can write and the
 * administrator can list, release and delete.
 *
 * A queue name is 1 to 255 bytes of ASCII letters, digits, '.', '_', '-',
 * '+' and '=', does not start with '.' or '-', and holds no "..". It is one
 * folder name under milter.workdir, safe on a command line and in a shell.
 */
#ifndef STAGEMILTER_NAMES_H
#define STAGEMILTER_NAMES_H

#include <stddef.h>

/* NULL when NAME is a valid queue name; else why not, as a phrase for an
 * error message ("it contains '/'"), in BUF (LEN bytes) or a static text. */
const char *stm_queue_name_problem(const char *name, char *buf, size_t len);

#endif
