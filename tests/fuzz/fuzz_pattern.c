/*
 * fuzz_pattern.c - libFuzzer target: condition patterns
 * (policy/match/pattern.c): literals, globs, /regex/ (PCRE2) and CIDRs.
 *
 * Feeds: the first byte chooses the kind (STM_PAT_TEXT, STM_PAT_NOCASE,
 * STM_PAT_IP); the rest is split at NULs: every piece but the last is a
 * spec given to stm_pattern_add(), the last is the subject matched with
 * stm_pattern_match() and stm_pattern_match_buf(). With a single piece it
 * is both the one spec and the subject. The subject with its NULs (the
 * rest of the input from the last spec on) is also matched as a buffer.
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - stm_pattern_add refuses only regexes and, for STM_PAT_IP, text that
 *     looks like an address; a refusal has a message and an offset within
 *     the spec;
 *   - stm_pattern_text() is the accepted specs joined by ", ";
 *   - a string and the same bytes as a buffer match alike;
 *   - for STM_PAT_TEXT and STM_PAT_NOCASE, every accepted literal or glob
 *     spec matches its own text (a glob's "*" and "?" match themselves),
 *     and with no regex among the specs a STM_PAT_NOCASE match does not
 *     change when the subject's ASCII letters change case.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "match/pattern.h"

#define FUZZ_PAT_MAX_SPECS 8

/* Is SPEC written as a regex, by pattern.h's rule? */
static bool
fuzz_pat_is_regex(const char *spec)
{
    size_t n = strlen(spec);
    return n >= 2 && spec[0] == '/' &&
           (spec[n - 1] == '/' || (n >= 3 && spec[n - 2] == '/' && spec[n - 1] == 'i'));
}

/* S with ASCII letters in upper case (UPPER) or lower case. Caller frees. */
static char *
fuzz_pat_case(const char *s, bool upper)
{
    char *c = strdup(s);
    FUZZ_CHECK(c != NULL);
    for (char *p = c; *p != '\0'; p++) {
        if (upper && *p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
        else if (!upper && *p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    return c;
}

/* Match VALUE; an error must come with its reason (freed here). */
static stm_match
fuzz_pat_match(const stm_pattern *p, const char *value)
{
    char *err = NULL;
    stm_match m = stm_pattern_match(p, value, &err);
    FUZZ_CHECK(m == STM_MATCH_ERROR ? err != NULL : err == NULL);
    free(err);
    return m;
}

/* The same for a buffer. */
static stm_match
fuzz_pat_match_buf(const stm_pattern *p, const char *data, size_t len)
{
    char *err = NULL;
    stm_match m = stm_pattern_match_buf(p, data, len, &err);
    FUZZ_CHECK(m == STM_MATCH_ERROR ? err != NULL : err == NULL);
    free(err);
    return m;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    stm_pattern_kind kind = (stm_pattern_kind)(data[0] % 3);
    size_t len = size - 1;
    char *buf = malloc(len + 1);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data + 1, len);
    buf[len] = '\0';

    /* Pieces at NULs. */
    const char *pieces[FUZZ_PAT_MAX_SPECS + 1];
    size_t starts[FUZZ_PAT_MAX_SPECS + 1];
    size_t npieces = 0;
    for (size_t o = 0; o <= len && npieces < FUZZ_PAT_MAX_SPECS + 1; o += strlen(buf + o) + 1) {
        starts[npieces] = o;
        pieces[npieces++] = buf + o;
    }
    size_t nspecs = npieces > 1 ? npieces - 1 : 1;
    const char *subject = pieces[npieces - 1];
    size_t rawoff = npieces > 1 ? starts[npieces - 1] : 0;

    stm_pattern *p = stm_pattern_create(kind);
    FUZZ_CHECK(p != NULL);
    FUZZ_CHECK(strcmp(stm_pattern_text(p), "") == 0);
    const char *accepted[FUZZ_PAT_MAX_SPECS];
    size_t naccepted = 0;
    bool any_regex = false;
    size_t textlen = 0;
    for (size_t i = 0; i < nspecs; i++) {
        const char *spec = pieces[i];
        char *err = NULL;
        size_t off = 0;
        bool regex = fuzz_pat_is_regex(spec);
        if (stm_pattern_add(p, spec, &err, &off) != 0) {
            FUZZ_CHECK(err != NULL && err[0] != '\0');
            FUZZ_CHECK(off <= strlen(spec));
            FUZZ_CHECK(regex || kind == STM_PAT_IP);
            free(err);
            continue;
        }
        FUZZ_CHECK(err == NULL);
        any_regex = any_regex || regex;
        accepted[naccepted++] = spec;
        textlen += strlen(spec) + 2;
    }

    /* The written form. */
    char *want = malloc(textlen + 1);
    FUZZ_CHECK(want != NULL);
    want[0] = '\0';
    for (size_t i = 0; i < naccepted; i++) {
        if (i > 0)
            strcat(want, ", ");
        strcat(want, accepted[i]);
    }
    FUZZ_CHECK(strcmp(stm_pattern_text(p), want) == 0);
    free(want);

    /* String and buffer alike (an error on one is an error on the other:
     * the same regexes run on the same bytes). */
    stm_match m = fuzz_pat_match(p, subject);
    FUZZ_CHECK(m == fuzz_pat_match_buf(p, subject, strlen(subject)));
    (void)fuzz_pat_match_buf(p, buf + rawoff, len - rawoff);
    FUZZ_CHECK(fuzz_pat_match(p, NULL) == STM_MATCH_NO);

    if (kind != STM_PAT_IP) {
        for (size_t i = 0; i < naccepted; i++)
            if (!fuzz_pat_is_regex(accepted[i]))
                FUZZ_CHECK(fuzz_pat_match(p, accepted[i]) == STM_MATCH_YES);
    }
    if (kind == STM_PAT_NOCASE && !any_regex) {
        char *up = fuzz_pat_case(subject, true), *low = fuzz_pat_case(subject, false);
        FUZZ_CHECK(fuzz_pat_match(p, up) == m);
        FUZZ_CHECK(fuzz_pat_match(p, low) == m);
        free(up);
        free(low);
    }
    stm_pattern_free(p);
    free(buf);
    return 0;
}
