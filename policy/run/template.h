/*
 * template.h - texts with ${...} variables: reply texts, log lines, header
 * values, variable values.
 *
 * Variables: client_ip client_port client_name server_ip server_port
 * server_id id queue_id helo sender rcpt var.NAME reply rate dnsbl_zone
 * dnsbl_address dnsbl_text subject attachments url_domains. "$$" is a literal
 * "$". An unknown variable is a load-time error; an unset one expands to "".
 * Expanded values from the network have CR, LF and other control characters
 * replaced by spaces so they cannot break a header or a reply.
 */
#ifndef STAGEMILTER_TEMPLATE_H
#define STAGEMILTER_TEMPLATE_H

#include <stddef.h>

typedef struct stm_template stm_template;

/* The variables a template may name. */
typedef enum stm_template_var {
    STM_TPL_CLIENT_IP,
    STM_TPL_CLIENT_PORT,
    STM_TPL_CLIENT_NAME,
    STM_TPL_SERVER_IP,
    STM_TPL_SERVER_PORT,
    STM_TPL_SERVER_ID,
    STM_TPL_ID,
    STM_TPL_QUEUE_ID,
    STM_TPL_HELO,
    STM_TPL_SENDER,
    STM_TPL_RCPT,
    STM_TPL_VAR, /* var.NAME */
    STM_TPL_REPLY,
    STM_TPL_RATE, /* the count of the last rate: condition judged */
    STM_TPL_DNSBL_ZONE,    /* the last dnsbl hit: its zone */
    STM_TPL_DNSBL_ADDRESS, /* its A record */
    STM_TPL_DNSBL_TEXT,    /* its TXT record */
    STM_TPL_SUBJECT,     /* the decoded Subject (policy/mime) */
    STM_TPL_ATTACHMENTS, /* the decoded names of the message's parts */
    STM_TPL_URL_DOMAINS, /* each host of the URLs in its text, once */
    STM_TPL_VIRUS,     /* the virus a scanner named (scan_result.h) */
    STM_TPL_SPAM_SCORE, /* the spam score a scanner gave */
    STM_TPL_SCORE       /* the message's score (add_score) */
} stm_template_var;

/* The I-th value (I from 0) of VAR in CTX; NAME is the NAME of var.NAME,
 * else NULL. Returns NULL when there is no I-th value (an unset variable has
 * none; values after the first are joined with ", "). Borrowed until the
 * expansion returns. */
typedef const char *stm_template_lookup(const void *ctx, stm_template_var var, const char *name,
                                        size_t i);

/* Compile TEXT. On error returns NULL, sets *ERRMSG (malloc'd, caller frees)
 * and *ERROFFSET (0-based offset in TEXT). Caller owns the template. */
stm_template *stm_template_compile(const char *text, char **errmsg, size_t *erroffset);
void stm_template_free(stm_template *t); /* accepts NULL */
/* The text as written. Borrowed. */
const char *stm_template_source(const stm_template *t);
/* Does it contain any variable? */
int stm_template_is_constant(const stm_template *t);
/* Expand with the values LOOKUP gives for CTX. Caller owns the result; NULL
 * on memory exhaustion. */
char *stm_template_expand(const stm_template *t, stm_template_lookup *lookup, const void *ctx);

#endif
