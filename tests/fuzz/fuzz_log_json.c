/*
 * fuzz_log_json.c - libFuzzer target: milter.log_format: json
 * (milter/report/log_json.c), the parser of a key=value log line that
 * holds peer text, and its JSON encoder.
 *
 * Feeds: the input up to its first NUL as the line; its first byte also
 * picks the output buffer's size (128 bytes up to STM_LOG_JSON_MAX).
 *
 * Asserts, beyond not crashing or tripping a sanitizer: the output is one
 * complete JSON object of strings and numbers, with no duplicate key,
 * checked by the strict validator below (RFC 8259: no raw control byte,
 * only the defined escapes, every raw byte valid UTF-8), and the length
 * returned is the string's.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "fuzz.h"
#include "report/log_json.c" /* the milter's file, not in the fuzz libraries */

/* The length of the valid JSON string at S ('"' ... '"'), or 0. */
static size_t
fz_string(const unsigned char *s)
{
    size_t i = 1;
    if (s[0] != '"')
        return 0;
    for (;;) {
        unsigned c = s[i];
        if (c == '"')
            return i + 1;
        if (c < 0x20)
            return 0;
        if (c == '\\') {
            c = s[i + 1];
            if (c == 'u') {
                for (int k = 2; k < 6; k++)
                    if (!strchr("0123456789abcdefABCDEF", s[i + k]) || s[i + k] == '\0')
                        return 0;
                i += 6;
            } else if (c != '\0' && strchr("\"\\/bfnrt", (int)c)) {
                i += 2;
            } else {
                return 0;
            }
            continue;
        }
        size_t l = json_utf8_len(s + i, strlen((const char *)s + i));
        if (l == 0)
            return 0;
        i += l;
    }
}

/* Is S exactly one object {"k":"v"|N,...} with distinct keys? */
static bool
fz_object(const unsigned char *s)
{
    /* The line's keys and the four fixed fields ("time", "level", "pid",
     * "msg"). */
    enum { FZ_KEYS_MAX = JSON_KEYS_MAX + 4 };
    const unsigned char *keys[FZ_KEYS_MAX];
    size_t klen[FZ_KEYS_MAX], nkeys = 0;
    if (*s++ != '{')
        return false;
    if (*s == '}')
        return s[1] == '\0';
    for (;;) {
        size_t k = fz_string(s);
        if (k == 0 || nkeys == FZ_KEYS_MAX)
            return false;
        for (size_t i = 0; i < nkeys; i++)
            if (klen[i] == k && memcmp(keys[i], s, k) == 0)
                return false;
        keys[nkeys] = s, klen[nkeys++] = k;
        s += k;
        if (*s++ != ':')
            return false;
        if (*s == '"') {
            size_t v = fz_string(s);
            if (v == 0)
                return false;
            s += v;
        } else {
            if (*s < '0' || *s > '9')
                return false;
            while (*s >= '0' && *s <= '9')
                s++;
        }
        if (*s == '}')
            return s[1] == '\0';
        if (*s++ != ',')
            return false;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    FUZZ_CHECK(line != NULL);
    memcpy(line, data, size);
    line[size] = '\0';
    static char out[STM_LOG_JSON_MAX + 1];
    size_t outlen = size > 0 ? 128 + (size_t)data[0] * 48 : sizeof out;
    if (outlen > sizeof out)
        outlen = sizeof out;
    size_t n = stm_log_json(out, outlen, LOG_INFO, line, 1, 0);
    FUZZ_CHECK(n < outlen && strlen(out) == n);
    FUZZ_CHECK(fz_object((const unsigned char *)out));
    free(line);
    return 0;
}
