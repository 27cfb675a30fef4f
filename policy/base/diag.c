/*
 * diag.c - collecting and printing configuration problems (diag.h).
 *
 * Functions: stm_diag_create, stm_diag_free, stm_diag_add, stm_diag_vadd,
 * stm_diag_error_at, stm_diag_warning_at, stm_diag_count, stm_diag_errors,
 * stm_diag_get, stm_diag_print, stm_diag_each_line.
 *
 * Ownership: a diag owns copies of every file name and message it holds;
 * entries returned by stm_diag_get() are borrowed until stm_diag_free().
 *
 * Errors: adding never fails visibly. When memory runs out the entry is
 * still counted (so a load still fails) but its text may read
 * "(out of memory)". Printing reads the named file again to show the
 * offending line; when that fails only the one-line form is printed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stagemilter/diag.h"

struct stm_diag {
    stm_diag_entry *entries;
    size_t n;
    size_t cap;
    size_t errors;
    size_t lost; /* entries counted but not stored (memory exhaustion) */
};

/* The message of an entry whose own text could not be allocated. Never
 * written (not const only because entries hold char *); never freed. */
static char oom_text[] = "(out of memory)";

/* A new, empty collection. */
stm_diag *
stm_diag_create(void)
{
    return calloc(1, sizeof(stm_diag));
}

/* Release DIAG and everything it holds. */
void
stm_diag_free(stm_diag *diag)
{
    if (diag == NULL)
        return;
    for (size_t i = 0; i < diag->n; i++) {
        free(diag->entries[i].file);
        if (diag->entries[i].message != oom_text)
            free(diag->entries[i].message);
    }
    free(diag->entries);
    free(diag);
}

/* Record a problem from a va_list. */
void
stm_diag_vadd(stm_diag *diag, stm_severity sev, const char *file, int line, int column,
             const char *fmt, va_list ap)
{
    if (diag == NULL)
        return;
    if (sev == STM_SEV_ERROR)
        diag->errors++;
    if (diag->n == diag->cap) {
        size_t ncap = diag->cap ? diag->cap * 2 : 16;
        stm_diag_entry *ne = realloc(diag->entries, ncap * sizeof *ne);
        if (ne == NULL) {
            diag->lost++;
            return;
        }
        diag->entries = ne;
        diag->cap = ncap;
    }
    stm_diag_entry *e = &diag->entries[diag->n++];
    e->severity = sev;
    e->line = line < 0 ? 0 : line;
    e->column = column < 0 ? 0 : column;
    e->file = strdup(file ? file : "-");
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    e->message = msg ? msg : oom_text;
}

/* Record a problem. */
void
stm_diag_add(stm_diag *diag, stm_severity sev, const char *file, int line, int column, const char *fmt,
            ...)
{
    va_list ap;
    va_start(ap, fmt);
    stm_diag_vadd(diag, sev, file, line, column, fmt, ap);
    va_end(ap);
}

/* Record an error at POS. */
void
stm_diag_error_at(stm_diag *diag, stm_srcpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stm_diag_vadd(diag, STM_SEV_ERROR, pos.file, pos.line, pos.column, fmt, ap);
    va_end(ap);
}

/* Record a warning at POS. */
void
stm_diag_warning_at(stm_diag *diag, stm_srcpos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stm_diag_vadd(diag, STM_SEV_WARNING, pos.file, pos.line, pos.column, fmt, ap);
    va_end(ap);
}

/* Number of entries, errors and warnings. */
size_t
stm_diag_count(const stm_diag *diag)
{
    return diag ? diag->n + diag->lost : 0;
}

/* Number of errors. */
size_t
stm_diag_errors(const stm_diag *diag)
{
    return diag ? diag->errors : 0;
}

/* Entry I (borrowed), or NULL when out of range. */
const stm_diag_entry *
stm_diag_get(const stm_diag *diag, size_t i)
{
    return diag && i < diag->n ? &diag->entries[i] : NULL;
}

/* The one-line form of E, malloc'd; NULL on memory exhaustion. */
static char *
diag_format_line(const stm_diag_entry *e)
{
    const char *sev = e->severity == STM_SEV_WARNING ? "warning: " : "";
    const char *msg = e->message ? e->message : "";
    const char *file = e->file ? e->file : "-";
    char *out = NULL;
    int r;
    if (e->line <= 0)
        r = asprintf(&out, "%s: %s%s", file, sev, msg);
    else if (e->column <= 0)
        r = asprintf(&out, "%s:%d: %s%s", file, e->line, sev, msg);
    else
        r = asprintf(&out, "%s:%d:%d: %s%s", file, e->line, e->column, sev, msg);
    return r < 0 ? NULL : out;
}

/* Read line LINENO (1-based) of FILE into a malloc'd string without its line
 * end, or NULL when the file or the line cannot be read. */
static char *
diag_read_line(const char *file, int lineno)
{
    FILE *f = fopen(file, "r");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len = -1;
    for (int i = 0; i < lineno; i++) {
        len = getline(&buf, &cap, f);
        if (len < 0)
            break;
    }
    fclose(f);
    if (len < 0) {
        free(buf);
        return NULL;
    }
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    return buf;
}

/* Print the source line and a caret under COLUMN (counted in characters, as
 * libyaml counts them; tabs before it are kept so the caret lines up). */
static void
diag_print_caret(FILE *out, const char *src, int column)
{
    fprintf(out, "%s\n", src);
    int col = 1;
    for (const unsigned char *p = (const unsigned char *)src; *p && col < column; p++) {
        if ((*p & 0xC0) == 0x80) /* UTF-8 continuation byte: same character */
            continue;
        fputc(*p == '\t' ? '\t' : ' ', out);
        col++;
    }
    for (; col < column; col++) /* column past the end of the line */
        fputc(' ', out);
    fputs("^\n", out);
}

/* Print every entry with its source line and caret. */
void
stm_diag_print(const stm_diag *diag, FILE *out)
{
    if (diag == NULL)
        return;
    for (size_t i = 0; i < diag->n; i++) {
        const stm_diag_entry *e = &diag->entries[i];
        char *line = diag_format_line(e);
        fprintf(out, "%s\n", line ? line : oom_text);
        free(line);
        if (e->line > 0 && e->file != NULL) {
            char *src = diag_read_line(e->file, e->line);
            if (src != NULL && e->column > 0)
                diag_print_caret(out, src, e->column);
            else if (src != NULL)
                fprintf(out, "%s\n", src);
            free(src);
        }
    }
    if (diag->lost)
        fprintf(out, "(%zu more problems lost: out of memory)\n", diag->lost);
}

/* Call FN with the one-line form of every entry. */
void
stm_diag_each_line(const stm_diag *diag, void (*fn)(void *ctx, stm_severity, const char *line),
                  void *ctx)
{
    if (diag == NULL)
        return;
    for (size_t i = 0; i < diag->n; i++) {
        char *line = diag_format_line(&diag->entries[i]);
        fn(ctx, diag->entries[i].severity, line ? line : oom_text);
        free(line);
    }
}
