/*
 * quarantine_admin.h - `stagemilter --quarantine list|release|delete`: the
 * administrator's side of the quarantine store (quarantine.c writes it).
 */
#ifndef STAGEMILTER_MILTER_QUARANTINE_ADMIN_H
#define STAGEMILTER_MILTER_QUARANTINE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct stm_quarantine_admin_args {
    const char *workdir;     /* milter.workdir of the policy */
    const char *action;      /* "list", "release" or "delete" */
    const char *const *args; /* list: [QUEUE]; release/delete: ID... */
    size_t nargs;
    const char *sendmail; /* release: the MTA's sendmail(1) */
} stm_quarantine_admin_args;

/* Run the action; results on OUT, problems on ERR. Returns the exit status:
 * 0 when everything asked for was done, 1 otherwise (each failure named). */
int stm_quarantine_admin_main(const stm_quarantine_admin_args *a, FILE *out, FILE *err);

/* Is NAME acceptable as a queue name or a message id given on the command
 * line: one path component of safe characters, not "." or "..", not
 * starting with '.' or '-'? */
bool stm_quarantine_admin_name_ok(const char *name);

/* What the store recorded at the top of a quarantined file. */
typedef struct stm_quarantine_entry {
    char *sender; /* without angle brackets; "" for the null sender */
    char **rcpts; /* without angle brackets */
    size_t nrcpts;
    char *rule;  /* the rule="..." of X-Stagemilter-Quarantine */
    char *queue; /* its queue= */
    long offset; /* where the message as received begins */
} stm_quarantine_entry;

/* Read the envelope block of the open file F into E (caller frees with
 * stm_quarantine_entry_clear()). Returns 0, or -1 with ERR filled when F
 * does not start like a file the store wrote. */
int stm_quarantine_entry_read(FILE *f, stm_quarantine_entry *e, char *err, size_t errlen);
void stm_quarantine_entry_clear(stm_quarantine_entry *e);

#endif
