/*
 * fuzz_scanners.c - libFuzzer target: what clamd, spamd and rspamd answer,
 * through their reply parsers (milter/delegate/clamd.c, spamd.c, rspamd.c:
 * stm_clamd_parse_reply, stm_spamd_parse_reply, stm_rspamd_parse_reply;
 * the last with jansson).
 *
 * Feeds: the first byte picks the parser (its value modulo 3: 0 clamd, 1
 * spamd, 2 rspamd); the rest is the whole reply as the protocol file
 * hands it over (already bounded by its size limit; inputs beyond it are
 * cut there).
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - the result is one the parser documents (clamd 1/0/-1, the others
 *     0/-1; -2 only on memory exhaustion, which the fuzzer does not cause);
 *   - a failure leaves a reason, and a clean clamd answer names no virus;
 *   - clamd's "found" names a virus without NUL or line end; spamd's
 *     success knows spam and a score; rspamd's knows an action and a score;
 *   - the symbols and header edits stay within STM_SCAN_MAX_SYMBOLS and
 *     STM_SCAN_MAX_HEADERS, every one a string (a header edit with a name).
 */
#include "config.h"

#include <string.h>

#include "delegate/scanners.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t limits[3] = {STM_CLAMD_MAX_REPLY, STM_SPAMD_MAX_REPLY + 8192,
                                     STM_RSPAMD_MAX_REPLY + 8192};
    stm_scan_result r = {0};
    char why[300] = "";
    if (size == 0)
        return 0;
    int which = data[0] % 3;
    const char *reply = (const char *)data + 1;
    size_t len = size - 1 < limits[which] ? size - 1 : limits[which];
    int rc;

    switch (which) {
    case 0:
        rc = stm_clamd_parse_reply(reply, len, &r, why, sizeof why);
        FUZZ_CHECK(rc >= -1 && rc <= 1);
        FUZZ_CHECK((rc == 1) == (r.virus != NULL));
        if (rc == 1) {
            FUZZ_CHECK(r.virus[0] != '\0');
            FUZZ_CHECK(strpbrk(r.virus, "\r\n") == NULL);
        }
        break;
    case 1:
        rc = stm_spamd_parse_reply(reply, len, &r, why, sizeof why);
        FUZZ_CHECK(rc == 0 || rc == -1);
        if (rc == 0)
            FUZZ_CHECK(r.has_spam && r.has_score && r.score_text[0] != '\0');
        break;
    default:
        rc = stm_rspamd_parse_reply(reply, len, &r, why, sizeof why);
        FUZZ_CHECK(rc == 0 || rc == -1);
        if (rc == 0)
            FUZZ_CHECK(r.action != NULL && r.has_score && r.has_spam);
        break;
    }
    if (rc < 0)
        FUZZ_CHECK(why[0] != '\0');
    FUZZ_CHECK(r.nsymbols <= STM_SCAN_MAX_SYMBOLS);
    FUZZ_CHECK(r.nadd <= STM_SCAN_MAX_HEADERS && r.nremove <= STM_SCAN_MAX_HEADERS);
    for (size_t i = 0; i < r.nsymbols; i++)
        FUZZ_CHECK(r.symbols[i] != NULL);
    for (size_t i = 0; i < r.nadd; i++)
        FUZZ_CHECK(r.add[i].name != NULL && r.add[i].value != NULL);
    for (size_t i = 0; i < r.nremove; i++)
        FUZZ_CHECK(r.remove[i].name != NULL && r.remove[i].value == NULL);
    stm_scan_result_clear(&r);
    return 0;
}
