/*
 * wire.h - a message as the scanners that are not SMTP read it (clamd's
 * INSTREAM, spamd's PROCESS/SYMBOLS/HEADERS, rspamd's /checkv2): the header
 * block rebuilt from the MTA's fields, then the body as it came. Shared by
 * clamd.c, spamd.c and rspamd.c; the SMTP scanner adds its ticket header and
 * dot-stuffs (smtp/scanner.c, smtp/data.c).
 */
#ifndef STAGEMILTER_DELEGATE_WIRE_H
#define STAGEMILTER_DELEGATE_WIRE_H

#include <stddef.h>

#include "stagemilter/message.h"

/* The header block of MSG: "Name: value\r\n" per field (a value that starts
 * with white space is written as is), then the empty line. Caller frees;
 * NULL on memory exhaustion. Its length in *LEN. */
char *stm_wire_head(const stm_message *msg, size_t *len);

#endif
