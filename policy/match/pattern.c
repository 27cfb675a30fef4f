/*
 * pattern.c - the patterns of `if:` conditions (pattern.h).
 *
 * SYNOPSIS
 *     stm_pattern *stm_pattern_create(stm_pattern_kind kind);
 *     void stm_pattern_free(stm_pattern *p);
 *     int  stm_pattern_add(stm_pattern *p, const char *spec, char **errmsg, size_t *erroffset);
 *     int  stm_pattern_add_list(stm_pattern *p, const stm_list *list);
 *     stm_match stm_pattern_match(const stm_pattern *p, const char *value, char **err);
 *     stm_match stm_pattern_match_buf(const stm_pattern *p, const char *data, size_t len,
 *                                     char **err);
 *     stm_match stm_pattern_match_window(const stm_pattern *p, const char *data,
 *                                        size_t len, size_t start, bool more, char **err);
 *     const char *stm_pattern_text(const stm_pattern *p);
 *
 * DESCRIPTION
 *     A spec is classified once, when added:
 *       - "/body/" or "/body/i" (starts with "/", ends with "/" or "/i",
 *         at least two characters, the closing slash not the opening one):
 *         a PCRE2 regular expression, JIT-compiled when the library can
 *         (silently interpreted otherwise). It searches anywhere in the
 *         value. "/i" makes it caseless; so does a STM_PAT_NOCASE or
 *         STM_PAT_IP pattern, whose values compare without case anyway.
 *         UTF-8 mode with invalid input allowed, so raw 8-bit bytes in a
 *         value never make a match fail with an error.
 *       - in STM_PAT_IP patterns, an address or CIDR (stm_cidr_parse); text
 *         that looks like one but does not parse is an error;
 *       - a glob when it contains "*" (any run of bytes) or "?" (one byte);
 *         there is no escape, use a regex for a literal "*";
 *       - otherwise a literal, compared with the whole value ("" is a valid
 *         literal matching only the empty value).
 *     Literals and globs match the whole value, on strings and buffers
 *     alike. STM_PAT_IP values that parse as addresses are matched in their
 *     canonical form (stm_ip_format) by literals, globs and regexes, and by
 *     address against CIDRs and lists; a value that is not an address never
 *     matches a CIDR.
 *
 * OWNERSHIP
 *     The pattern owns its alternatives and compiled regexes; lists are
 *     borrowed. Error messages are malloc'd for the caller to free.
 *
 * THREADS
 *     Matching writes nothing shared: each regex match uses its own
 *     pcre2_match_data, and JIT matching runs on the caller's stack (a
 *     match that outgrows the JIT stack is redone by the interpreter).
 *
 * DIAGNOSTICS
 *     stm_pattern_add returns -1 with *ERRMSG (NULL if even that allocation
 *     failed) and *ERROFFSET, 0-based in SPEC: PCRE2's offset plus one for
 *     the leading "/", or 0 for a bad address. Matching is bounded: each
 *     regex match runs with a match limit (STM_PATTERN_MATCH_LIMIT steps)
 *     and a heap limit (STM_PATTERN_HEAP_LIMIT_KIB), which JIT code honours
 *     too; a match that fails for any reason other than "no match" (those
 *     limits, memory) is STM_MATCH_ERROR with PCRE2's reason, never "no
 *     match": a rule must not silently miss what an attacker made costly.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include "match/pattern.h"

typedef enum alt_type { ALT_LITERAL, ALT_GLOB, ALT_REGEX, ALT_CIDR, ALT_LIST } alt_type;

struct alt {
    alt_type type;
    char *text; /* LITERAL, GLOB: the bytes to compare; REGEX: as written,
                 * for errors (owned) */
    size_t len;
    pcre2_code *re;      /* REGEX (owned) */
    stm_cidr cidr;        /* CIDR */
    const stm_list *list; /* LIST (borrowed) */
};

struct stm_pattern {
    stm_pattern_kind kind;
    struct alt *alts;
    size_t n, cap;
    bool needs_cstr; /* some alternative needs a NUL-terminated value */
    char *text;      /* the specs joined by ", " */
};

/* ASCII lower case, independent of the locale. */
static inline unsigned char
pattern_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Compare two bytes, folding ASCII case when ICASE. */
static inline bool
pattern_eq(char a, char b, bool icase)
{
    return icase ? pattern_lower((unsigned char)a) == pattern_lower((unsigned char)b) : a == b;
}

/* Whole-value glob match: "*" any run of bytes, "?" one byte. Greedy with
 * one backtrack point, so O(len * plen) at worst, never exponential. */
static bool
pattern_glob(const char *pat, size_t plen, const char *s, size_t slen, bool icase)
{
    size_t p = 0, i = 0, star = (size_t)-1, mark = 0;

    while (i < slen) {
        if (p < plen && pat[p] == '*') {
            star = p++;
            mark = i;
        } else if (p < plen && (pat[p] == '?' || pattern_eq(pat[p], s[i], icase))) {
            p++;
            i++;
        } else if (star != (size_t)-1) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* A new pattern with no alternatives (it matches nothing). */
stm_pattern *
stm_pattern_create(stm_pattern_kind kind)
{
    stm_pattern *p = calloc(1, sizeof *p);

    if (p == NULL)
        return NULL;
    p->kind = kind;
    p->text = strdup("");
    if (p->text == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

/* Release P and its alternatives (not the lists). */
void
stm_pattern_free(stm_pattern *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->alts[i].text);
        pcre2_code_free(p->alts[i].re);
    }
    free(p->alts);
    free(p->text);
    free(p);
}

/* Set the caller's error outputs; MSG is copied. Returns -1. */
static int
pattern_error(char **errmsg, size_t *erroffset, size_t offset, const char *msg)
{
    if (errmsg != NULL)
        *errmsg = strdup(msg);
    if (erroffset != NULL)
        *erroffset = offset;
    return -1;
}

/* Append ALT to P, and its written form PREFIX SPEC to P's text. */
static int
pattern_append(stm_pattern *p, const struct alt *alt, const char *prefix, const char *spec)
{
    size_t old = strlen(p->text);
    size_t sep = p->n > 0 ? 2 : 0;
    size_t need = old + sep + strlen(prefix) + strlen(spec) + 1;
    char *text;

    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 4;
        struct alt *nalts = realloc(p->alts, ncap * sizeof *nalts);
        if (nalts == NULL)
            return -1;
        p->alts = nalts;
        p->cap = ncap;
    }
    text = realloc(p->text, need);
    if (text == NULL)
        return -1;
    snprintf(text + old, need - old, "%s%s%s", sep ? ", " : "", prefix, spec);
    p->text = text;
    p->alts[p->n++] = *alt;
    if (alt->type == ALT_CIDR || alt->type == ALT_LIST)
        p->needs_cstr = true;
    return 0;
}

/* Is SPEC (LEN bytes) written as "/body/" or "/body/i"? Sets *ICASE. */
static bool
pattern_is_regex(const char *spec, size_t len, bool *icase)
{
    if (len < 2 || spec[0] != '/')
        return false;
    if (spec[len - 1] == '/') {
        *icase = false;
        return true;
    }
    if (len >= 3 && spec[len - 2] == '/' && spec[len - 1] == 'i') {
        *icase = true;
        return true;
    }
    return false;
}

/* Compile the regex alternative "/BODY/" (BLEN bytes of body). */
static int
pattern_add_regex(stm_pattern *p, const char *spec, const char *body, size_t blen, bool icase,
                  char **errmsg, size_t *erroffset)
{
    uint32_t opts = 0;
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    struct alt alt = {.type = ALT_REGEX};

    if (icase || p->kind != STM_PAT_TEXT)
        opts |= PCRE2_CASELESS;
#ifdef PCRE2_MATCH_INVALID_UTF
    opts |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
#endif
    alt.re = pcre2_compile((PCRE2_SPTR)body, blen, opts, &errcode, &erroff, NULL);
    if (alt.re == NULL) {
        PCRE2_UCHAR why[256];
        char msg[320];
        if (pcre2_get_error_message(errcode, why, sizeof why) < 0)
            snprintf((char *)why, sizeof why, "error %d", errcode);
        snprintf(msg, sizeof msg, "invalid regular expression: %s", (const char *)why);
        return pattern_error(errmsg, erroffset, (size_t)erroff + 1, msg);
    }
    /* JIT is an optimisation: without it (not built, no executable memory)
     * pcre2_match interprets the same code. */
    (void)pcre2_jit_compile(alt.re, PCRE2_JIT_COMPLETE);
    alt.text = strdup(spec);
    if (alt.text == NULL || pattern_append(p, &alt, "", spec) != 0) {
        pcre2_code_free(alt.re);
        free(alt.text);
        return pattern_error(errmsg, erroffset, 0, "out of memory");
    }
    return 0;
}

/* Add one alternative written as SPEC. */
int
stm_pattern_add(stm_pattern *p, const char *spec, char **errmsg, size_t *erroffset)
{
    struct alt alt = {.type = ALT_LITERAL};
    size_t len;
    bool icase = false;

    if (errmsg != NULL)
        *errmsg = NULL;
    if (spec == NULL)
        return pattern_error(errmsg, erroffset, 0, "missing pattern");
    len = strlen(spec);
    if (pattern_is_regex(spec, len, &icase))
        return pattern_add_regex(p, spec, spec + 1, len - (icase ? 3 : 2), icase, errmsg,
                                 erroffset);
    if (p->kind == STM_PAT_IP && strpbrk(spec, "*?") == NULL && len > 0) {
        char msg[256];
        if (stm_cidr_parse_msg(spec, &alt.cidr, msg, sizeof msg) == 0) {
            alt.type = ALT_CIDR;
            if (pattern_append(p, &alt, "", spec) != 0)
                return pattern_error(errmsg, erroffset, 0, "out of memory");
            return 0;
        }
        if (stm_ip_looks_like(spec))
            return pattern_error(errmsg, erroffset, 0, msg);
    }
    alt.type = strpbrk(spec, "*?") != NULL ? ALT_GLOB : ALT_LITERAL;
    alt.text = strdup(spec);
    alt.len = len;
    if (alt.text == NULL || pattern_append(p, &alt, "", spec) != 0) {
        free(alt.text);
        return pattern_error(errmsg, erroffset, 0, "out of memory");
    }
    return 0;
}

/* Add a named list (borrowed) as an alternative. */
int
stm_pattern_add_list(stm_pattern *p, const stm_list *list)
{
    struct alt alt = {.type = ALT_LIST, .list = list};

    if (list == NULL)
        return -1;
    return pattern_append(p, &alt, "@", stm_list_name(list));
}

/* The match context with our limits, made once and shared read-only by
 * every thread (PCRE2 allows that for a context nobody changes). */
static pcre2_match_context *pattern_mctx;
static pthread_once_t pattern_mctx_once = PTHREAD_ONCE_INIT;

/* Make pattern_mctx (left NULL without memory: then every match fails). */
static void
pattern_mctx_init(void)
{
    pattern_mctx = pcre2_match_context_create(NULL);
    if (pattern_mctx != NULL) {
        pcre2_set_match_limit(pattern_mctx, STM_PATTERN_MATCH_LIMIT);
        pcre2_set_heap_limit(pattern_mctx, STM_PATTERN_HEAP_LIMIT_KIB);
    }
}

/* Set *ERR to "regex /TEXT/: REASON" for PCRE2 error RC. */
static void
pattern_match_error(char **err, const char *text, int rc)
{
    PCRE2_UCHAR reason[160];
    if (pcre2_get_error_message(rc, reason, sizeof reason) < 0)
        snprintf((char *)reason, sizeof reason, "error %d", rc);
    size_t n = strlen(text) + strlen((char *)reason) + 96;
    if ((*err = malloc(n)) != NULL)
        snprintf(*err, n, "regex %s: %s (limits: %u steps, %u KiB)", text, (char *)reason,
                 STM_PATTERN_MATCH_LIMIT, STM_PATTERN_HEAP_LIMIT_KIB);
}

/* Does the regex RE (written as TEXT) find a match anywhere in DATA from
 * START (the bytes before it are context: \A and ^ do not match at START,
 * lookbehinds see them)? With MORE, DATA is not the end of the value: $
 * does not match at its end (PCRE2_NOTEOL). */
static stm_match
pattern_regex(const pcre2_code *re, const char *text, const char *data, size_t len, size_t start,
              bool more, char **err)
{
    pthread_once(&pattern_mctx_once, pattern_mctx_init);
    /* One match block per call: many threads match the same code at once. */
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int rc;

    if (md == NULL || pattern_mctx == NULL) {
        pcre2_match_data_free(md);
        *err = strdup("regex: out of memory");
        return STM_MATCH_ERROR;
    }
    /* Not partial matching: PCRE2_PARTIAL_HARD stops at the first partial
     * match and would miss a complete one further on. */
    uint32_t opts = more ? PCRE2_NOTEOL : 0;
    rc = pcre2_match(re, (PCRE2_SPTR)data, len, start, opts, md, pattern_mctx);
    /* JIT code runs on a small fixed stack; a deeply backtracking match on
     * a large body can exhaust it where the interpreter (heap frames,
     * bounded by the same limits) still finds the answer. */
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
        rc = pcre2_match(re, (PCRE2_SPTR)data, len, start, opts | PCRE2_NO_JIT, md, pattern_mctx);
    pcre2_match_data_free(md);
    /* rc 0 means "matched, ovector too small": still a match. */
    if (rc >= 0)
        return STM_MATCH_YES;
    if (rc == PCRE2_ERROR_NOMATCH)
        return STM_MATCH_NO;
    pattern_match_error(err, text, rc);
    return STM_MATCH_ERROR;
}

/* A match: forget FAILED, the reason of an earlier alternative's failure. */
static stm_match
pattern_yes(char *failed)
{
    free(failed);
    return STM_MATCH_YES;
}

/* The common matcher. DATA/LEN is the value; CSTR the same value
 * NUL-terminated, or NULL when it holds a NUL (then it matches no CIDR or
 * list). An alternative that matches decides (whatever another one did);
 * otherwise an alternative that failed makes the answer an error, with its
 * reason, never "no match". A window of a longer value (stm_pattern_match_
 * window) starts at START of DATA (context before it) and, with MORE, ends
 * before the value does: what must match the whole value (literals,
 * globs, CIDRs, lists) is tried only where the window can tell. */
static stm_match
pattern_match_in(const stm_pattern *p, const char *data, size_t len, size_t start, bool more,
                 const char *cstr, char **err)
{
    char *failed = NULL; /* the first failure's reason */
    bool errored = false;
    bool icase = p->kind != STM_PAT_TEXT;
    bool is_ip = false;
    stm_ip ip;
    char canon[64];

    if (p->kind == STM_PAT_IP && cstr != NULL && stm_ip_parse(cstr, &ip) == 0) {
        is_ip = true;
        stm_ip_format(&ip, canon, sizeof canon);
        data = canon;
        len = strlen(canon);
    }
    bool whole = start == 0 && !more;
    const char *regex_data = data;
    size_t regex_len = len;
    data += start;
    len -= start;
    for (size_t i = 0; i < p->n; i++) {
        const struct alt *a = &p->alts[i];
        /* A glob decides on a window only as far as it is anchored: "*x*"
         * anywhere, "x*" on the first window, "*x" on the last. */
        if (!whole && a->type != ALT_REGEX &&
            (a->type != ALT_GLOB || (start > 0 && a->text[0] != '*') ||
             (more && a->text[a->len - 1] != '*')))
            continue;
        switch (a->type) {
        case ALT_LITERAL:
            if (a->len == len) {
                size_t k = 0;
                while (k < len && pattern_eq(a->text[k], data[k], icase))
                    k++;
                if (k == len)
                    return pattern_yes(failed);
            }
            break;
        case ALT_GLOB:
            if (pattern_glob(a->text, a->len, data, len, icase))
                return pattern_yes(failed);
            break;
        case ALT_REGEX: {
            char *why = NULL;
            stm_match m = pattern_regex(a->re, a->text, regex_data, regex_len, start, more, &why);
            if (m == STM_MATCH_YES)
                return pattern_yes(failed);
            if (m == STM_MATCH_ERROR && !errored) {
                failed = why; /* may be NULL: out of memory */
                errored = true;
            } else {
                free(why);
            }
            break;
        }
        case ALT_CIDR:
            if (is_ip && stm_cidr_contains(&a->cidr, &ip))
                return pattern_yes(failed);
            break;
        case ALT_LIST:
            if (p->kind == STM_PAT_IP && is_ip) {
                if (stm_list_match_ip(a->list, &ip))
                    return pattern_yes(failed);
            } else if (cstr != NULL && stm_list_match_string(a->list, cstr)) {
                return pattern_yes(failed);
            }
            break;
        }
    }
    if (!errored)
        return STM_MATCH_NO;
    *err = failed;
    return STM_MATCH_ERROR;
}

/* Does VALUE match any alternative? */
stm_match
stm_pattern_match(const stm_pattern *p, const char *value, char **err)
{
    if (p == NULL || value == NULL)
        return STM_MATCH_NO;
    return pattern_match_in(p, value, strlen(value), 0, false, value, err);
}

/* Does the buffer DATA (LEN bytes, NULs allowed) match any alternative? */
stm_match
stm_pattern_match_buf(const stm_pattern *p, const char *data, size_t len, char **err)
{
    char small[256];
    char *cstr = NULL;
    stm_match r;

    if (p == NULL || (data == NULL && len > 0))
        return STM_MATCH_NO;
    if (data == NULL)
        data = "";
    /* Addresses and lists need a C string; a buffer holding a NUL is none. */
    if ((p->needs_cstr || p->kind == STM_PAT_IP) && memchr(data, '\0', len) == NULL) {
        cstr = len < sizeof small ? small : malloc(len + 1);
        if (cstr != NULL) {
            memcpy(cstr, data, len);
            cstr[len] = '\0';
        }
    }
    r = pattern_match_in(p, data, len, 0, false, cstr, err);
    if (cstr != small)
        free(cstr);
    return r;
}

/* The pattern as written, alternatives joined by ", ". */
const char *
stm_pattern_text(const stm_pattern *p)
{
    return p->text;
}

/* A window of a longer buffer value: DATA's first START bytes are context,
 * MORE says the value goes on after LEN. */
stm_match
stm_pattern_match_window(const stm_pattern *p, const char *data, size_t len, size_t start,
                         bool more, char **err)
{
    if (p == NULL || data == NULL || start > len)
        return STM_MATCH_NO;
    return pattern_match_in(p, data, len, start, more, NULL, err);
}
