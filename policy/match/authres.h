/*
 * authres.h - reading an Authentication-Results header field (RFC 8601):
 * the authserv-id and every result it reports, with their properties.
 * A pure parser of outside input (the header's value as received), no I/O.
 */
#ifndef STAGEMILTER_AUTHRES_H
#define STAGEMILTER_AUTHRES_H

#include <stddef.h>

/* Bounds on what one header may hold; past them it is refused whole. */
#define STM_AUTHRES_MAX_LEN 65536  /* bytes of one header value */
#define STM_AUTHRES_MAX_RESULTS 64 /* resinfo entries */
#define STM_AUTHRES_MAX_PROPS 16   /* properties of one entry */
#define STM_AUTHRES_MAX_NESTING 16 /* comments inside comments */

/* One "ptype.property=value", e.g. header.d=example.org. */
typedef struct stm_authres_prop {
    char *ptype;    /* "header", "smtp", "body", "policy": lower case */
    char *property; /* "d", "i", "mailfrom", "from": lower case */
    char *value;    /* as written, quotes and comments removed */
} stm_authres_prop;

/* One result: "dkim=pass (comment) header.d=example.org". */
typedef struct stm_authres_result {
    char *method; /* "spf", "dkim", "dmarc", "arc", ...: lower case, no version */
    char *result; /* "pass", "fail", ...: lower case */
    char *reason; /* reason="...", or NULL */
    stm_authres_prop *props;
    size_t nprops;
} stm_authres_result;

typedef struct stm_authres {
    char *authserv_id;           /* as written (compare case-insensitively) */
    stm_authres_result *results; /* none for "id; none" */
    size_t nresults;
} stm_authres;

/* Parse VALUE (LEN bytes, the field's value without its name) into OUT.
 * Returns 0, or -1 when it is not a well-formed header within the bounds
 * above (then OUT holds nothing and *WHY a static reason). The caller owns
 * OUT and frees it with stm_authres_clear(). */
int stm_authres_parse(const char *value, size_t len, stm_authres *out, const char **why);
void stm_authres_clear(stm_authres *ar);
/* The value of PTYPE.PROPERTY in R, or NULL. Borrowed. */
const char *stm_authres_prop_get(const stm_authres_result *r, const char *ptype,
                                 const char *property);

#endif
