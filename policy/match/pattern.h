/*
 * pattern.h - the patterns of `if:` conditions, compiled once, matched often.
 *
 * One pattern is a set of alternatives, matching when any does:
 *   - a literal ("example.com"),
 *   - a glob with * and ? ("*.example.com"),
 *   - a regular expression "/regex/" or "/regex/i" (PCRE2, JIT when available):
 *     a spec of at least two characters that starts with "/" and ends with
 *     "/" or "/i"; anything else ("/", "/abc") is a literal. A regex
 *     searches anywhere in the value; literals and globs match it whole,
 *     "" being the literal that matches only the empty value,
 *   - for STM_PAT_IP patterns, an address or CIDR ("192.0.2.0/24"),
 *   - a named list ("@trusted"), resolved by the loader and added by pointer.
 * STM_PAT_NOCASE and STM_PAT_IP literals and globs compare case-insensitively
 * (domains, addresses, host names), and so do their regexes; STM_PAT_TEXT ones
 * exactly (use "/regex/i" there).
 *
 * Thread-safe for matching: no shared scratch state.
 */
#ifndef STAGEMILTER_PATTERN_H
#define STAGEMILTER_PATTERN_H

#include "match/list.h"

typedef enum stm_pattern_kind {
    STM_PAT_TEXT,   /* header values, macros, variables, replies, body */
    STM_PAT_NOCASE, /* host names, domains, addresses, auth users */
    STM_PAT_IP      /* client_ip: CIDRs and addresses, plus globs/regex on the text */
} stm_pattern_kind;

typedef struct stm_pattern stm_pattern;

/* Caller owns; NULL on memory exhaustion. */
stm_pattern *stm_pattern_create(stm_pattern_kind kind);
void stm_pattern_free(stm_pattern *p); /* accepts NULL; does not free lists */

/* Add one alternative written as SPEC. On error returns -1, sets *ERRMSG to a
 * malloc'd description (caller frees; PCRE2's own words for bad regexes) and
 * *ERROFFSET to the 0-based offset in SPEC where the problem is. */
int stm_pattern_add(stm_pattern *p, const char *spec, char **errmsg, size_t *erroffset);
/* Add a named list as an alternative (borrowed: must outlive the pattern). */
int stm_pattern_add_list(stm_pattern *p, const stm_list *list);

/* What matching gives. An error (a regex that hit its match or heap limit,
 * memory) is never "no match": the caller fails at run time and
 * milter.on_error decides, so an attacker cannot make a rule not match by
 * making it expensive. */
typedef enum stm_match { STM_MATCH_ERROR = -1, STM_MATCH_NO = 0, STM_MATCH_YES = 1 } stm_match;

/* The bounds of one regex match (fixed, documented in stagemilter.yaml(5)):
 * backtracking steps, and the heap the interpreter may use for it. */
#define STM_PATTERN_MATCH_LIMIT 1000000u
#define STM_PATTERN_HEAP_LIMIT_KIB 65536u

/* Does VALUE (NUL-terminated) match any alternative? NULL never matches.
 * On STM_MATCH_ERROR *ERR is a malloc'd reason (caller frees; NULL when even
 * that failed); otherwise *ERR is left alone. */
stm_match stm_pattern_match(const stm_pattern *p, const char *value, char **err);
/* Same for a buffer that may hold NULs (bodies). Body conditions are meant
 * for regexes, which search the buffer; a literal or glob must match the
 * whole buffer, as on strings. CIDRs and lists never match a buffer that
 * holds a NUL. */
stm_match stm_pattern_match_buf(const stm_pattern *p, const char *data, size_t len, char **err);
/* Does a value too long to hold at once match, judged a window at a time?
 * DATA holds the window from byte START (the START bytes before it are the
 * value's bytes just before the window: context, so \A and ^ do not match
 * there and lookbehinds see them; 0 for the first window); MORE says the
 * value goes on past LEN (then $ does not match at LEN; \z, \b and
 * lookaheads there still take it for the end). Literals,
 * CIDRs and lists, which match the whole value, are tried only on a window
 * that is the whole value; a glob where its anchoring allows ("*x*" in any
 * window, "x*" in the first, "*x" in the last). Windows must overlap by at
 * least the longest match looked for. */
stm_match stm_pattern_match_window(const stm_pattern *p, const char *data, size_t len,
                                   size_t start, bool more, char **err);
/* For --trace: the pattern as written, alternatives joined by ", ". Borrowed. */
const char *stm_pattern_text(const stm_pattern *p);

#endif
