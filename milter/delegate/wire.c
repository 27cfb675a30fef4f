/*
 * wire.c - the header block of a message for the scanners that are not
 * SMTP (wire.h).
 *
 * Functions: stm_wire_head.
 *
 * Ownership: the caller frees the block. Errors: NULL on memory exhaustion.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "delegate/wire.h"

/* The header block of MSG. */
char *
stm_wire_head(const stm_message *msg, size_t *len)
{
    size_t need = 3;
    for (size_t i = 0; i < msg->nheaders; i++)
        need += strlen(msg->headers[i].name) +
                (msg->headers[i].value ? strlen(msg->headers[i].value) : 0) + 5;
    char *head = malloc(need);
    size_t n = 0;
    if (head == NULL)
        return NULL;
    for (size_t i = 0; i < msg->nheaders; i++) {
        const char *name = msg->headers[i].name;
        const char *value = msg->headers[i].value ? msg->headers[i].value : "";
        size_t nl = strlen(name), vl = strlen(value);
        memcpy(head + n, name, nl);
        n += nl;
        head[n++] = ':';
        /* libmilter hands values without the space after the colon. */
        if (vl == 0 || (value[0] != ' ' && value[0] != '\t'))
            head[n++] = ' ';
        memcpy(head + n, value, vl);
        n += vl;
        head[n++] = '\r';
        head[n++] = '\n';
    }
    head[n++] = '\r';
    head[n++] = '\n';
    head[n] = '\0';
    *len = n;
    return head;
}
