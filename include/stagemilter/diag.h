/*
 * diag.h - the one way problems in a configuration are reported.
 *
 * A diag collects every problem found while loading a policy (not just the
 * first), each with FILE, LINE and COLUMN. It is printed as
 *
 *     FILE:LINE:COLUMN: message                (errors)
 *     FILE:LINE:COLUMN: warning: message       (warnings)
 *
 * followed, when the file can be read, by the offending line and a caret
 * under the column. Entries are kept in the order they were added.
 */
#ifndef STAGEMILTER_DIAG_H
#define STAGEMILTER_DIAG_H

#include <stdarg.h>
#include <stdio.h>
#include "stagemilter/types.h"

typedef enum sm_severity { SM_SEV_ERROR, SM_SEV_WARNING } sm_severity;

typedef struct sm_diag_entry {
    sm_severity severity;
    char *file; /* owned by the diag */
    int line;   /* 1-based; 0 when the problem is about the file as a whole */
    int column; /* 1-based; 0 when unknown */
    char *message;
} sm_diag_entry;

typedef struct sm_diag sm_diag;

/* A new, empty collection; caller owns, release with sm_diag_free(). */
sm_diag *sm_diag_create(void);
void sm_diag_free(sm_diag *diag); /* accepts NULL */

/* Record a problem. FILE may be NULL (then "-"). Never fails visibly: on
 * memory exhaustion the entry is counted but its text may be lost. */
void sm_diag_add(sm_diag *diag, sm_severity sev, const char *file, int line, int column,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void sm_diag_vadd(sm_diag *diag, sm_severity sev, const char *file, int line, int column,
                  const char *fmt, va_list ap);
/* Shorthand for an error at a source position. */
void sm_diag_error_at(sm_diag *diag, sm_srcpos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sm_diag_warning_at(sm_diag *diag, sm_srcpos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

size_t sm_diag_count(const sm_diag *diag);                    /* all entries */
size_t sm_diag_errors(const sm_diag *diag);                   /* errors only */
const sm_diag_entry *sm_diag_get(const sm_diag *diag, size_t i); /* borrowed */

/* Print every entry, with the source line and a caret, to OUT. */
void sm_diag_print(const sm_diag *diag, FILE *out);
/* Call FN once per entry with the one-line form "FILE:LINE:COLUMN: ..."
 * (for logging to syslog, where carets make no sense). */
void sm_diag_each_line(const sm_diag *diag, void (*fn)(void *ctx, sm_severity, const char *line),
                       void *ctx);

#endif
