/*
 * authres.c - an RFC 8601 Authentication-Results reader (authres.h).
 *
 * Functions: stm_authres_parse, stm_authres_clear, stm_authres_prop_get.
 *
 * Grammar (RFC 8601 2.2, with RFC 5322's CFWS, quoted strings and nested
 * comments):
 *   value    = [CFWS] authserv-id [CFWS version] ( [CFWS] ";" [CFWS] "none"
 *              / 1*resinfo ) [CFWS]
 *   resinfo  = [CFWS] ";" method ["/" version] [CFWS] "=" [CFWS] result
 *              [CFWS "reason" [CFWS] "=" [CFWS] value] *(CFWS ptype "."
 *              property [CFWS] "=" [CFWS] pvalue)
 * A value is a token or a quoted string; a pvalue may also be an address
 * or a domain ("user@example.org", "@example.org"). Comments, however
 * deep (up to STM_AUTHRES_MAX_NESTING), are skipped anywhere CFWS may be,
 * and quoted pairs are honoured in both comments and quoted strings. Keys
 * (methods, results, ptypes, properties) are folded to lower case.
 *
 * Anything else (an unterminated comment or quoted string, a result
 * without "=", a stray character, a bound of authres.h exceeded) refuses
 * the whole header: a reader that guessed could be led to see a "pass"
 * that is not there.
 *
 * Ownership: OUT owns every string; stm_authres_clear frees them. Errors:
 * -1 with a static reason; nothing is left allocated.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/authres.h"

typedef struct ar_in {
    const char *p, *end;
    const char *why;
} ar_in;

/* Skip white space (folding included) and comments. false on a broken comment. */
static bool
ar_cfws(ar_in *in)
{
    while (in->p < in->end) {
        unsigned char c = (unsigned char)*in->p;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            in->p++;
            continue;
        }
        if (c != '(')
            break;
        int depth = 0;
        do {
            if (in->p >= in->end) {
                in->why = "unterminated comment";
                return false;
            }
            c = (unsigned char)*in->p++;
            if (c == '\\') {
                if (in->p >= in->end) {
                    in->why = "unterminated comment";
                    return false;
                }
                in->p++;
            } else if (c == '(') {
                if (++depth > STM_AUTHRES_MAX_NESTING) {
                    in->why = "comments nested too deep";
                    return false;
                }
            } else if (c == ')') {
                depth--;
            }
        } while (depth > 0);
    }
    return true;
}

/* Is C a character of a MIME token (RFC 2045: no specials, no space)? */
static bool
ar_token_char(unsigned char c)
{
    return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Is C a character of a keyword (letters, digits, '-', '_')? */
static bool
ar_keyword_char(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_';
}

/* A copy of [B, E), folded to lower case when LOWER. */
static char *
ar_dup(const char *b, const char *e, bool lower)
{
    char *s = malloc((size_t)(e - b) + 1);
    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < (size_t)(e - b); i++)
        s[i] = lower ? (char)tolower((unsigned char)b[i]) : b[i];
    s[e - b] = '\0';
    return s;
}

/* A keyword (lower case), or NULL. */
static char *
ar_keyword(ar_in *in)
{
    const char *b = in->p;
    while (in->p < in->end && ar_keyword_char((unsigned char)*in->p))
        in->p++;
    if (in->p == b) {
        in->why = "a keyword was expected";
        return NULL;
    }
    char *k = ar_dup(b, in->p, true);
    if (k == NULL)
        in->why = "out of memory";
    return k;
}

/* A quoted string's content (the opening quote at in->p), or NULL. */
static char *
ar_quoted(ar_in *in)
{
    char *out = malloc((size_t)(in->end - in->p) + 1);
    size_t n = 0;
    if (out == NULL) {
        in->why = "out of memory";
        return NULL;
    }
    in->p++;
    while (in->p < in->end && *in->p != '"') {
        if (*in->p == '\\' && in->p + 1 < in->end)
            in->p++;
        out[n++] = *in->p++;
    }
    if (in->p >= in->end) {
        free(out);
        in->why = "unterminated quoted string";
        return NULL;
    }
    in->p++;
    out[n] = '\0';
    return out;
}

/* A value: a quoted string or a token; with ADDRESS also "@" and "." as
 * in local-part@domain and @domain (RFC 8601 pvalue). NULL on error. */
static char *
ar_value(ar_in *in, bool address)
{
    if (in->p < in->end && *in->p == '"')
        return ar_quoted(in);
    const char *b = in->p;
    while (in->p < in->end) {
        unsigned char c = (unsigned char)*in->p;
        if (ar_token_char(c) ||
            (address && (c == '@' || c == '/' || c == ':' || c == '[' || c == ']')))
            in->p++;
        else
            break;
    }
    if (in->p == b) {
        in->why = "a value was expected";
        return NULL;
    }
    char *v = ar_dup(b, in->p, false);
    if (v == NULL)
        in->why = "out of memory";
    return v;
}

/* Expect character C (after CFWS). */
static bool
ar_expect(ar_in *in, char c, const char *why)
{
    if (!ar_cfws(in))
        return false;
    if (in->p >= in->end || *in->p != c) {
        in->why = why;
        return false;
    }
    in->p++;
    return ar_cfws(in);
}

static void
ar_result_clear(stm_authres_result *r)
{
    free(r->method);
    free(r->result);
    free(r->reason);
    for (size_t i = 0; i < r->nprops; i++) {
        free(r->props[i].ptype);
        free(r->props[i].property);
        free(r->props[i].value);
    }
    free(r->props);
    memset(r, 0, sizeof *r);
}

/* One resinfo after its ";" into R. */
static bool
ar_resinfo(ar_in *in, stm_authres_result *r)
{
    if ((r->method = ar_keyword(in)) == NULL)
        return false;
    if (!ar_cfws(in))
        return false;
    if (in->p < in->end && *in->p == '/') { /* method-version */
        in->p++;
        if (!ar_cfws(in))
            return false;
        const char *b = in->p;
        while (in->p < in->end && isdigit((unsigned char)*in->p))
            in->p++;
        if (in->p == b) {
            in->why = "a method version was expected";
            return false;
        }
    }
    if (!ar_expect(in, '=', "'=' was expected after the method"))
        return false;
    if ((r->result = ar_keyword(in)) == NULL)
        return false;
    for (;;) {
        if (!ar_cfws(in))
            return false;
        if (in->p >= in->end || *in->p == ';')
            return true;
        char *k = ar_keyword(in);
        if (k == NULL)
            return false;
        if (!ar_cfws(in)) {
            free(k);
            return false;
        }
        if (strcmp(k, "reason") == 0 && in->p < in->end && *in->p == '=') {
            free(k);
            in->p++;
            if (!ar_cfws(in))
                return false;
            free(r->reason);
            if ((r->reason = ar_value(in, false)) == NULL)
                return false;
            continue;
        }
        if (in->p >= in->end || *in->p != '.') {
            free(k);
            in->why = "a property (ptype.property=value) was expected";
            return false;
        }
        in->p++;
        if (r->nprops >= STM_AUTHRES_MAX_PROPS) {
            free(k);
            in->why = "too many properties";
            return false;
        }
        stm_authres_prop *np = realloc(r->props, (r->nprops + 1) * sizeof *np);
        if (np == NULL) {
            free(k);
            in->why = "out of memory";
            return false;
        }
        r->props = np;
        stm_authres_prop *pr = &r->props[r->nprops++];
        memset(pr, 0, sizeof *pr);
        pr->ptype = k;
        if (!ar_cfws(in) || (pr->property = ar_keyword(in)) == NULL ||
            !ar_expect(in, '=', "'=' was expected after the property") ||
            (pr->value = ar_value(in, true)) == NULL)
            return false;
    }
}

/* Parse an Authentication-Results value. */
int
stm_authres_parse(const char *value, size_t len, stm_authres *out, const char **why)
{
    ar_in in = {.p = value, .end = value + len, .why = NULL};
    memset(out, 0, sizeof *out);
    if (len > STM_AUTHRES_MAX_LEN) {
        in.why = "too long";
        goto fail;
    }
    if (!ar_cfws(&in))
        goto fail;
    if ((out->authserv_id = ar_value(&in, false)) == NULL)
        goto fail;
    if (!ar_cfws(&in))
        goto fail;
    /* authres-version: digits before the first ";" */
    while (in.p < in.end && isdigit((unsigned char)*in.p))
        in.p++;
    bool first = true, none = false;
    for (;;) {
        if (!ar_cfws(&in))
            goto fail;
        if (in.p >= in.end)
            break;
        if (*in.p != ';') {
            in.why = "';' was expected";
            goto fail;
        }
        in.p++;
        if (!ar_cfws(&in))
            goto fail;
        /* no-result: "; none" alone. */
        if (first && in.end - in.p >= 4 && strncasecmp(in.p, "none", 4) == 0) {
            const char *save = in.p;
            in.p += 4;
            if (ar_cfws(&in) && in.p >= in.end) {
                none = true;
                break;
            }
            in.p = save;
        }
        first = false;
        if (out->nresults >= STM_AUTHRES_MAX_RESULTS) {
            in.why = "too many results";
            goto fail;
        }
        stm_authres_result *nr = realloc(out->results, (out->nresults + 1) * sizeof *nr);
        if (nr == NULL) {
            in.why = "out of memory";
            goto fail;
        }
        out->results = nr;
        stm_authres_result *r = &out->results[out->nresults++];
        memset(r, 0, sizeof *r);
        if (!ar_resinfo(&in, r))
            goto fail;
    }
    if (out->nresults == 0 && !none) {
        in.why = "no result";
        goto fail;
    }
    return 0;
fail:
    *why = in.why ? in.why : "malformed";
    stm_authres_clear(out);
    return -1;
}

/* Free what AR owns. */
void
stm_authres_clear(stm_authres *ar)
{
    free(ar->authserv_id);
    for (size_t i = 0; i < ar->nresults; i++)
        ar_result_clear(&ar->results[i]);
    free(ar->results);
    memset(ar, 0, sizeof *ar);
}

/* PTYPE.PROPERTY of R. */
const char *
stm_authres_prop_get(const stm_authres_result *r, const char *ptype, const char *property)
{
    for (size_t i = 0; i < r->nprops; i++)
        if (strcmp(r->props[i].ptype, ptype) == 0 && strcmp(r->props[i].property, property) == 0)
            return r->props[i].value;
    return NULL;
}
