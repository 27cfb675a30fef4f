/*
 * message.h - a mail message as the engine sees it: ordered headers and a body.
 *
 * Used for the MTA's copy (filled header by header from the milter callbacks,
 * or parsed from an .eml file by --trace) and for the copy a scanner returns.
 * A message owns all its strings, and its spool file.
 *
 * Spooling (milter.spool): once a spool is set and the body outgrows its
 * `memory` bytes, the body moves to an unlinked file in the spool directory
 * (`body` is then NULL and `spool_fd` holds all `body_len` bytes), so a
 * message takes the same memory whatever its size. Readers that may meet a
 * spooled body read it with stm_message_body_at(), never `body` directly. Header values are kept as the MTA hands them
 * (folded lines joined with their CRLF/LF and leading white space intact);
 * header names compare case-insensitively.
 */
#ifndef STAGEMILTER_MESSAGE_H
#define STAGEMILTER_MESSAGE_H

#include <sys/types.h>

#include "stagemilter/types.h"

typedef struct stm_header {
    char *name;
    char *value;
} stm_header;

struct stm_mime;
struct stm_spool_config;

typedef struct stm_message {
    stm_header *headers;
    size_t nheaders;
    size_t headers_cap;
    char *body; /* NUL-terminated for convenience; may hold NULs before body_len;
                 * NULL when spooled */
    size_t body_len;
    size_t body_cap;
    bool spooled; /* the body is in spool_fd, not in body */
    int spool_fd; /* an unlinked file holding the body; valid when spooled */
    const struct stm_spool_config *spool; /* borrowed; NULL: never spool */
    uint64_t size;  /* bytes seen: headers + body, even past a truncated body */
    bool truncated; /* the body outgrew the limit and was not kept */
    bool headers_truncated; /* the header outgrew the limit: not every field
                             * is in headers[] (truncated is set too) */
    struct stm_mime *mime;  /* policy/mime's parse, made when a rule first needs it;
                             * dropped when the message changes */
} stm_message;

void stm_message_init(stm_message *msg);
/* Release everything the message owns and re-initialise it. */
void stm_message_clear(stm_message *msg);
/* Append a header (copies both). Returns 0, or -1 on memory exhaustion. */
int stm_message_add_header(stm_message *msg, const char *name, const char *value);
/* Keep bodies larger than SPOOL->memory in a file of SPOOL->directory
 * (borrowed: it must outlive the message's body). NULL: always in memory. */
void stm_message_set_spool(stm_message *msg, const struct stm_spool_config *spool);
/* Append body bytes; past LIMIT bytes (0 = no limit) the body is dropped and
 * `truncated` set, but `size` keeps counting. Returns 0, or -1 with errno
 * (ENOMEM, or the spool file could not be made or written; the message
 * then stays valid, without those bytes). */
int stm_message_append_body(stm_message *msg, const void *data, size_t len, uint64_t limit);
/* Move a body kept in memory that is larger than the spool's memory into a
 * spool file now, as appending it would have (--trace, which reads a whole
 * file first). 0 (also when there is nothing to move), or -1 with errno
 * (the body stays in memory). */
int stm_message_spool_now(stm_message *msg);
/* Up to MAX body bytes from OFFSET: *P points at them, inside the message
 * when the body is in memory, else in BUF (MAX bytes), read from the spool.
 * Returns the count, 0 at the end, or -1 with errno (a spool read failed).
 * Loop:  for (off = 0; (n = stm_message_body_at(m, off, buf, sz, &p)) > 0; off += n) */
ssize_t stm_message_body_at(const stm_message *msg, uint64_t offset, char *buf, size_t max,
                            const char **p);
/* First header named NAME (case-insensitive), or NULL. Borrowed. */
const stm_header *stm_message_find_header(const stm_message *msg, const char *name);
/* Parse an RFC 5322 message (LF or CRLF line ends) into MSG, which must be
 * initialised and empty. Continuation lines are joined into the value.
 * Returns 0, or -1 with *ERR set to a static description. */
int stm_message_parse(stm_message *msg, const char *data, size_t len, const char **err);

#endif
