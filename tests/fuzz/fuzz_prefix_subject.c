/*
 * fuzz_prefix_subject.c - libFuzzer target: prefix_subject's RFC 2047
 * handling of a Subject from the network (stm_edit_prefix_subject in
 * policy/run/edit.c: an encoded-word decoder with iconv, and the encoder).
 *
 * Feeds: the input up to its first NUL as the prefix (skipped when empty
 * or holding a control character: the loader refuses those), the rest,
 * up to the next NUL, as the raw Subject value.
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - the result is 0 (no change, nothing returned) or 1 (a new value);
 *   - a new value ends with the subject (leading white space aside): the
 *     old text is never altered;
 *   - every encoded word written is at most 75 characters (RFC 2047);
 *   - prefixing the new value again changes nothing (the tag goes in once).
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "stagemilter/edit.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    const char *prefix = buf;
    size_t plen = strlen(prefix);
    const char *raw = plen < size ? buf + plen + 1 : "";
    bool ok = plen > 0;
    for (size_t i = 0; i < plen; i++)
        if (((unsigned char)prefix[i] < 32 && prefix[i] != '\t') || prefix[i] == 127)
            ok = false;
    if (!ok) {
        free(buf);
        return 0;
    }
    char *out = NULL;
    int rc = stm_edit_prefix_subject(raw, prefix, &out);
    FUZZ_CHECK(rc == 0 || rc == 1);
    if (rc == 0) {
        FUZZ_CHECK(out == NULL);
        free(buf);
        return 0;
    }
    FUZZ_CHECK(out != NULL);
    const char *r = raw;
    while (*r == ' ' || *r == '\t')
        r++;
    size_t olen = strlen(out), rlen = strlen(r);
    FUZZ_CHECK(olen >= rlen && memcmp(out + olen - rlen, r, rlen) == 0);
    /* The encoded words this wrote (before the subject; a prefix written
     * as it is may hold anything). */
    const char *p = prefix;
    while (*p == ' ' || *p == '\t')
        p++;
    bool verbatim = strncmp(out, p, strlen(p)) == 0;
    for (const char *w = out;
         !verbatim && (w = strstr(w, "=?UTF-8?B?")) != NULL && w < out + olen - rlen; w++) {
        const char *end = strstr(w + 10, "?=");
        FUZZ_CHECK(end != NULL && end + 2 - w <= 75);
    }
    char *again = NULL;
    FUZZ_CHECK(stm_edit_prefix_subject(out, prefix, &again) == 0 && again == NULL);
    free(out);
    free(buf);
    return 0;
}
