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

typedef enum stm_severity { STM_SEV_ERROR, STM_SEV_WARNING } stm_severity;

typedef struct stm_diag_entry {
    stm_severity severity;
    char *file; /* owned by the diag */
    int line;   /* 1-based; 0 when the problem is about the file as a whole */
    int column; /* 1-based; 0 when unknown */
    char *message;
} stm_diag_entry;

typedef struct stm_diag stm_diag;

/* A new, empty collection; caller owns, release with stm_diag_free(). */
stm_diag *stm_diag_create(void);
void stm_diag_free(stm_diag *diag); /* accepts NULL */

/* Record a problem. FILE may be NULL (then "-"). Never fails visibly: on
 * memory exhaustion the entry is counted but its text may be lost. */
void stm_diag_add(stm_diag *diag, stm_severity sev, const char *file, int line, int column,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void stm_diag_vadd(stm_diag *diag, stm_severity sev, const char *file, int line, int column,
                   const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
/* Shorthand for an error at a source position. */
void stm_diag_error_at(stm_diag *diag, stm_srcpos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void stm_diag_warning_at(stm_diag *diag, stm_srcpos pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

size_t stm_diag_count(const stm_diag *diag);                    /* all entries */
size_t stm_diag_errors(const stm_diag *diag);                   /* errors only */
const stm_diag_entry *stm_diag_get(const stm_diag *diag, size_t i); /* borrowed */

/* Print every entry, with the source line and a caret, to OUT. */
void stm_diag_print(const stm_diag *diag, FILE *out);
/* Call FN once per entry with the one-line form "FILE:LINE:COLUMN: ..."
 * (for logging to syslog, where carets make no sense). */
void stm_diag_each_line(const stm_diag *diag, void (*fn)(void *ctx, stm_severity, const char *line),
                       void *ctx);

#endif
