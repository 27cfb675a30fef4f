/*
 * fuzz_template.c - libFuzzer target: templates (policy/run/template.c),
 * compiled and expanded with a lookup callback.
 *
 * Feeds: the input up to its first NUL as the template text for
 * stm_template_compile(); the bytes after it, split at NULs, as the values
 * the lookup gives (variable N takes value N modulo their number; ${rcpt}
 * gives up to three values, to be joined with ", "; with no values every
 * variable is unset).
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - a refused text has a message and an offset inside the text at a '$';
 *   - an accepted text keeps its source, is constant exactly when it names
 *     no variable, and its expansion equals a reference expansion written
 *     here from template.h's rules ("$$" is "$", ${name} the lookup's values
 *     joined with ", ", control characters become spaces), cut to
 *     STM_TEMPLATE_MAX bytes: when the reference is longer, the expansion is
 *     a prefix of it, at most STM_TEMPLATE_MAX bytes, cut before a lead
 *     byte with only continuation bytes dropped up to the cap;
 *   - the expansion never holds a control character.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "run/template.h"
#include "stagemilter/limits.h"

typedef struct fuzz_tpl_values {
    const char *v[16];
    size_t n;
} fuzz_tpl_values;

/* The lookup: deterministic values from the input. */
static const char *
fuzz_tpl_lookup(const void *ctx, stm_template_var var, const char *name, size_t i)
{
    const fuzz_tpl_values *vals = ctx;
    size_t max = var == STM_TPL_RCPT ? 3 : 1;

    FUZZ_CHECK((var == STM_TPL_VAR) == (name != NULL));
    if (vals->n == 0 || i >= max)
        return NULL;
    size_t k = ((size_t)var + i + (name ? strlen(name) : 0)) % vals->n;
    return vals->v[k];
}

/* A growing buffer for the reference expansion. */
typedef struct fuzz_buf {
    char *d;
    size_t len, cap;
} fuzz_buf;

static void
fuzz_buf_add(fuzz_buf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? 2 * b->cap : 256;
        b->d = realloc(b->d, b->cap);
        FUZZ_CHECK(b->d != NULL);
    }
    memcpy(b->d + b->len, p, n);
    b->len += n;
    b->d[b->len] = '\0';
}

/* The variable named NAME, or -1 (template.h's list). */
static int
fuzz_tpl_var(const char *name)
{
    static const char *const names[] = {
        [STM_TPL_CLIENT_IP] = "client_ip",     [STM_TPL_CLIENT_PORT] = "client_port",
        [STM_TPL_CLIENT_NAME] = "client_name", [STM_TPL_SERVER_IP] = "server_ip",
        [STM_TPL_SERVER_PORT] = "server_port", [STM_TPL_SERVER_ID] = "server_id",
        [STM_TPL_ID] = "id",                   [STM_TPL_QUEUE_ID] = "queue_id",
        [STM_TPL_HELO] = "helo",               [STM_TPL_SENDER] = "sender",
        [STM_TPL_RCPT] = "rcpt",               [STM_TPL_REPLY] = "reply",
        [STM_TPL_RATE] = "rate",
        [STM_TPL_DNSBL_ZONE] = "dnsbl_zone",   [STM_TPL_DNSBL_ADDRESS] = "dnsbl_address",
        [STM_TPL_DNSBL_TEXT] = "dnsbl_text",
        [STM_TPL_SUBJECT] = "subject",         [STM_TPL_ATTACHMENTS] = "attachments",
        [STM_TPL_URL_DOMAINS] = "url_domains",
        [STM_TPL_VIRUS] = "virus",             [STM_TPL_SPAM_SCORE] = "spam_score",
        [STM_TPL_SCORE] = "score"};
    if (strncmp(name, "var.", 4) == 0 && name[4] != '\0')
        return STM_TPL_VAR;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i] != NULL && strcmp(name, names[i]) == 0)
            return (int)i;
    return -1;
}

/* The reference expansion of the accepted TEXT (no cap, not sanitised);
 * *NVARS gets the number of variables. Caller frees. */
static char *
fuzz_tpl_reference(const char *text, const fuzz_tpl_values *vals, size_t *nvars, size_t *len)
{
    fuzz_buf b = {0};

    fuzz_buf_add(&b, "", 0);
    *nvars = 0;
    for (const char *p = text; *p != '\0';) {
        if (p[0] == '$' && p[1] == '$') {
            fuzz_buf_add(&b, "$", 1);
            p += 2;
            continue;
        }
        if (p[0] != '$') {
            fuzz_buf_add(&b, p++, 1);
            continue;
        }
        FUZZ_CHECK(p[1] == '{');
        const char *close = strchr(p + 2, '}');
        FUZZ_CHECK(close != NULL);
        char *name = strndup(p + 2, (size_t)(close - p - 2));
        FUZZ_CHECK(name != NULL);
        int var = fuzz_tpl_var(name);
        FUZZ_CHECK(var >= 0);
        const char *arg = var == STM_TPL_VAR ? name + 4 : NULL;
        const char *v;
        for (size_t i = 0; (v = fuzz_tpl_lookup(vals, (stm_template_var)var, arg, i)) != NULL;
             i++) {
            if (i > 0)
                fuzz_buf_add(&b, ", ", 2);
            fuzz_buf_add(&b, v, strlen(v));
        }
        free(name);
        (*nvars)++;
        p = close + 1;
    }
    for (size_t i = 0; i < b.len; i++)
        if ((unsigned char)b.d[i] < 0x20 || (unsigned char)b.d[i] == 0x7f)
            b.d[i] = ' ';
    *len = b.len;
    return b.d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One copy, NUL-terminated, split at its NULs. */
    char *buf = malloc(size + 1);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *text = buf;
    size_t tlen = strlen(text);
    fuzz_tpl_values vals = {.n = 0};
    for (size_t o = tlen + 1; o <= size && vals.n < 16; o += strlen(buf + o) + 1)
        vals.v[vals.n++] = buf + o;

    char *err = NULL;
    size_t off = 12345;
    stm_template *t = stm_template_compile(text, &err, &off);
    if (t == NULL) {
        FUZZ_CHECK(err != NULL && err[0] != '\0');
        FUZZ_CHECK(off < tlen && text[off] == '$');
        free(err);
        free(buf);
        return 0;
    }
    FUZZ_CHECK(err == NULL);
    FUZZ_CHECK(strcmp(stm_template_source(t), text) == 0);

    size_t nvars = 0, rlen = 0;
    char *ref = fuzz_tpl_reference(text, &vals, &nvars, &rlen);
    FUZZ_CHECK(stm_template_is_constant(t) == (nvars == 0));

    char *out = stm_template_expand(t, fuzz_tpl_lookup, &vals);
    FUZZ_CHECK(out != NULL);
    size_t olen = strlen(out);
    for (size_t i = 0; i < olen; i++)
        FUZZ_CHECK((unsigned char)out[i] >= 0x20 && (unsigned char)out[i] != 0x7f);
    if (rlen <= STM_TEMPLATE_MAX) {
        FUZZ_CHECK(olen == rlen && memcmp(out, ref, rlen) == 0);
    } else {
        FUZZ_CHECK(olen <= STM_TEMPLATE_MAX && memcmp(out, ref, olen) == 0);
        /* Cut at the cap, or, inside a character, before its lead byte: at
         * most 3 bytes back, only continuation bytes dropped between the
         * cut and the cap. (A longer run of continuation bytes is not UTF-8
         * and is cut at the cap.) */
        if (olen < STM_TEMPLATE_MAX) {
            FUZZ_CHECK(STM_TEMPLATE_MAX - olen <= 3);
            FUZZ_CHECK(((unsigned char)ref[olen] & 0xC0) == 0xC0);
            for (size_t k = olen + 1; k <= STM_TEMPLATE_MAX; k++)
                FUZZ_CHECK(((unsigned char)ref[k] & 0xC0) == 0x80);
        }
    }
    free(out);
    free(ref);
    stm_template_free(t);
    free(buf);
    return 0;
}
