/*
 * fuzz_authres.c - libFuzzer target: the Authentication-Results reader
 * (policy/match/authres.c, RFC 8601).
 *
 * Feeds: the whole input as one header value.
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - a refused value has a reason and leaves nothing in the result;
 *   - an accepted one has a non-empty authserv-id, at most
 *     STM_AUTHRES_MAX_RESULTS results of at most STM_AUTHRES_MAX_PROPS
 *     properties each, methods, results, ptypes and properties that are
 *     non-empty lower-case keywords, and stm_authres_prop_get finds every
 *     property it lists;
 *   - the reader does not depend on what follows the value: the same bytes
 *     in a larger buffer give the same answer.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "match/authres.h"

/* Is S a non-empty lower-case keyword? */
static bool
fuzz_ar_keyword(const char *s)
{
    if (s == NULL || *s == '\0')
        return false;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-' || *s == '_'))
            return false;
    return true;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stm_authres ar;
    const char *why = NULL;
    int rc = stm_authres_parse((const char *)data, size, &ar, &why);
    if (rc != 0) {
        FUZZ_CHECK(why != NULL);
        FUZZ_CHECK(ar.authserv_id == NULL && ar.results == NULL && ar.nresults == 0);
    } else {
        FUZZ_CHECK(ar.authserv_id != NULL);
        FUZZ_CHECK(ar.nresults <= STM_AUTHRES_MAX_RESULTS);
        for (size_t i = 0; i < ar.nresults; i++) {
            const stm_authres_result *r = &ar.results[i];
            FUZZ_CHECK(fuzz_ar_keyword(r->method) && fuzz_ar_keyword(r->result));
            FUZZ_CHECK(r->nprops <= STM_AUTHRES_MAX_PROPS);
            for (size_t j = 0; j < r->nprops; j++) {
                FUZZ_CHECK(fuzz_ar_keyword(r->props[j].ptype));
                FUZZ_CHECK(fuzz_ar_keyword(r->props[j].property));
                FUZZ_CHECK(r->props[j].value != NULL);
                FUZZ_CHECK(stm_authres_prop_get(r, r->props[j].ptype, r->props[j].property) !=
                           NULL);
            }
        }
    }
    /* The same bytes followed by more: the same answer. */
    char *more = malloc(size + 8);
    FUZZ_CHECK(more != NULL);
    memcpy(more, data, size);
    memcpy(more + size, "; x=y (\"", 8);
    stm_authres ar2;
    int rc2 = stm_authres_parse(more, size, &ar2, &why);
    FUZZ_CHECK(rc2 == rc);
    if (rc == 0) {
        FUZZ_CHECK(strcmp(ar.authserv_id, ar2.authserv_id) == 0);
        FUZZ_CHECK(ar.nresults == ar2.nresults);
    }
    free(more);
    stm_authres_clear(&ar2);
    stm_authres_clear(&ar);
    return 0;
}
