/*
 * template.h - texts with ${...} variables: reply texts, log lines, header
 * values, variable values.
 *
 * Variables: client_ip client_port client_name server_ip server_port
 * server_id id queue_id helo sender rcpt var.NAME reply. "$$" is a literal
 * "$". An unknown variable is a load-time error; an unset one expands to "".
 * Expanded values from the network have CR, LF and other control characters
 * replaced by spaces so they cannot break a header or a reply.
 */
#ifndef STAGEMILTER_TEMPLATE_H
#define STAGEMILTER_TEMPLATE_H

#include <stddef.h>

typedef struct stm_template stm_template;
struct stm_session;

/* Compile TEXT. On error returns NULL, sets *ERRMSG (malloc'd, caller frees)
 * and *ERROFFSET (0-based offset in TEXT). Caller owns the template. */
stm_template *stm_template_compile(const char *text, char **errmsg, size_t *erroffset);
void stm_template_free(stm_template *t); /* accepts NULL */
/* The text as written. Borrowed. */
const char *stm_template_source(const stm_template *t);
/* Does it contain any variable? */
int stm_template_is_constant(const stm_template *t);
/* Expand against a session (`${reply}` from the session's latest
 * delegation). Caller owns the result; NULL on memory exhaustion. */
char *stm_template_expand(const stm_template *t, const struct stm_session *s);

#endif
