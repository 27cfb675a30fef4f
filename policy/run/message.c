/*
 * message.c - a mail message as the engine sees it (message.h): ordered
 * headers, a size-limited body buffer, and a parser for .eml files.
 *
 * Functions: stm_message_init, stm_message_clear, stm_message_add_header,
 * stm_message_set_spool, stm_message_append_body, stm_message_spool_now,
 * stm_message_body_at,
 * stm_message_find_header, stm_message_parse.
 *
 * Ownership: a message owns every string it holds, its spool file and the
 * MIME parse cached on it (policy/mime); stm_message_clear() releases them.
 * Lookups return pointers borrowed until the next change.
 *
 * Spooling: the body moves to a spool file (spool.h) the moment it would
 * pass milter.spool.memory, and is written there with plain pwrite(): the
 * page cache holds what the readers will want next, and the daemon's own
 * memory stays that of one buffer whatever the message's size.
 *
 * Size accounting: a header counts as "Name: value\r\n" (what it takes on the
 * wire), body bytes count as given, even once the body outgrew its limit and
 * was dropped. stm_message_parse() sets the size to the length of the input.
 *
 * Errors: -1 on memory exhaustion (the message stays valid and unchanged),
 * and for stm_message_parse() a static description of the malformed input.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mime/mime.h"
#include "stagemilter/config.h"
#include "stagemilter/message.h"
#include "stagemilter/spool.h"

/* Set every field of MSG to the empty message. */
void
stm_message_init(stm_message *msg)
{
    memset(msg, 0, sizeof *msg);
}

/* Free what MSG owns and make it empty again. */
void
stm_message_clear(stm_message *msg)
{
    for (size_t i = 0; i < msg->nheaders; i++) {
        free(msg->headers[i].name);
        free(msg->headers[i].value);
    }
    free(msg->headers);
    free(msg->body);
    if (msg->spooled)
        close(msg->spool_fd);
    stm_mime_free(msg->mime);
    const stm_spool_config *spool = msg->spool;
    stm_message_init(msg);
    msg->spool = spool; /* a setting of whoever keeps the message, not its content */
}

/* Keep bodies past SPOOL->memory in SPOOL->directory. */
void
stm_message_set_spool(stm_message *msg, const stm_spool_config *spool)
{
    msg->spool = spool;
}

/* Move the body kept so far to a new spool file. 0 or -1 (errno). */
static int
message_spool_start(stm_message *msg)
{
    int fd = stm_spool_open(msg->spool->directory);
    if (fd < 0)
        return -1;
    if (stm_spool_write(fd, msg->body != NULL ? msg->body : "", msg->body_len, 0) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    free(msg->body);
    msg->body = NULL;
    msg->body_cap = 0;
    msg->spool_fd = fd;
    msg->spooled = true;
    return 0;
}

/* Append a copy of NAME: VALUE to the headers. */
static int
message_add_header_len(stm_message *msg, const char *name, size_t namelen, const char *value,
                       size_t valuelen)
{
    stm_mime_free(msg->mime); /* what it said is no longer the message */
    msg->mime = NULL;
    if (msg->nheaders == msg->headers_cap) {
        size_t cap = msg->headers_cap ? msg->headers_cap * 2 : 16;
        stm_header *h = realloc(msg->headers, cap * sizeof *h);
        if (h == NULL)
            return -1;
        msg->headers = h;
        msg->headers_cap = cap;
    }
    char *n = strndup(name, namelen);
    char *v = strndup(value, valuelen);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    msg->headers[msg->nheaders].name = n;
    msg->headers[msg->nheaders].value = v;
    msg->nheaders++;
    msg->size += namelen + valuelen + 4; /* ": " and CRLF */
    return 0;
}

/* Append a copy of the header NAME with VALUE. */
int
stm_message_add_header(stm_message *msg, const char *name, const char *value)
{
    return message_add_header_len(msg, name, strlen(name), value, strlen(value));
}

/* Append LEN body bytes, dropping the whole body once it would pass LIMIT. */
int
stm_message_append_body(stm_message *msg, const void *data, size_t len, uint64_t limit)
{
    stm_mime_free(msg->mime);
    msg->mime = NULL;
    msg->size += len;
    if (msg->truncated)
        return 0;
    if (limit != 0 && (uint64_t)msg->body_len + len > limit) {
        /* Keeping a prefix would let body conditions judge half a message:
         * drop it all and let them fail visibly instead. */
        free(msg->body);
        msg->body = NULL;
        msg->body_len = msg->body_cap = 0;
        if (msg->spooled)
            close(msg->spool_fd);
        msg->spooled = false;
        msg->truncated = true;
        return 0;
    }
    if (!msg->spooled && msg->spool != NULL && msg->body_len + len > msg->spool->memory &&
        message_spool_start(msg) != 0) {
        msg->size -= len;
        return -1;
    }
    if (msg->spooled) {
        /* At body_len: what a failed write left past it is never read. */
        if (stm_spool_write(msg->spool_fd, data, len, msg->body_len) != 0) {
            msg->size -= len;
            return -1;
        }
        msg->body_len += len;
        return 0;
    }
    if (msg->body_len + len + 1 > msg->body_cap) {
        size_t cap = msg->body_cap ? msg->body_cap : 4096;
        while (cap < msg->body_len + len + 1)
            cap *= 2;
        char *b = realloc(msg->body, cap);
        if (b == NULL) {
            msg->size -= len;
            errno = ENOMEM;
            return -1;
        }
        msg->body = b;
        msg->body_cap = cap;
    }
    if (len > 0)
        memcpy(msg->body + msg->body_len, data, len);
    msg->body_len += len;
    msg->body[msg->body_len] = '\0';
    return 0;
}

/* Move a large body kept in memory to the spool. */
int
stm_message_spool_now(stm_message *msg)
{
    if (msg->spooled || msg->truncated || msg->spool == NULL ||
        msg->body_len <= msg->spool->memory)
        return 0;
    return message_spool_start(msg);
}

/* Up to MAX body bytes from OFFSET, from memory or the spool file. */
ssize_t
stm_message_body_at(const stm_message *msg, uint64_t offset, char *buf, size_t max,
                    const char **p)
{
    if (offset >= msg->body_len)
        return 0;
    size_t n = msg->body_len - offset < max ? (size_t)(msg->body_len - offset) : max;
    if (!msg->spooled) {
        *p = msg->body + offset;
        return (ssize_t)n;
    }
    for (;;) {
        ssize_t got = pread(msg->spool_fd, buf, n, (off_t)offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got == 0) {
            errno = EIO; /* the file is shorter than what was written */
            return -1;
        }
        *p = buf;
        return got;
    }
}

/* The first header called NAME, ignoring case, or NULL. */
const stm_header *
stm_message_find_header(const stm_message *msg, const char *name)
{
    for (size_t i = 0; i < msg->nheaders; i++)
        if (strcasecmp(msg->headers[i].name, name) == 0)
            return &msg->headers[i];
    return NULL;
}

/* Length of the line at P (without its end) and, in *EOL, of its end (0-2). */
static size_t
message_line(const char *p, const char *end, size_t *eol)
{
    const char *q = memchr(p, '\n', (size_t)(end - p));
    if (q == NULL) {
        *eol = 0;
        return (size_t)(end - p);
    }
    if (q > p && q[-1] == '\r') {
        *eol = 2;
        return (size_t)(q - 1 - p);
    }
    *eol = 1;
    return (size_t)(q - p);
}

/* Add the header spanning HSTART..HEND (folded lines included) to MSG. */
static int
message_parse_flush(stm_message *msg, const char *hstart, const char *hend, const char **err)
{
    const char *colon = memchr(hstart, ':', (size_t)(hend - hstart));
    const char *nl = memchr(hstart, '\n', (size_t)(hend - hstart));
    if (colon == NULL || (nl != NULL && nl < colon)) {
        *err = "header line without a colon";
        return -1;
    }
    const char *name_end = colon;
    while (name_end > hstart && (name_end[-1] == ' ' || name_end[-1] == '\t'))
        name_end--; /* obsolete syntax allows "Name :" */
    if (name_end == hstart) {
        *err = "header with an empty name";
        return -1;
    }
    for (const char *q = hstart; q < name_end; q++)
        if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 127) {
            *err = "header name with a space or control character";
            return -1;
        }
    const char *v = colon + 1;
    if (v < hend && *v == ' ')
        v++; /* as libmilter hands values: without the space after the colon */
    if (message_add_header_len(msg, hstart, (size_t)(name_end - hstart), v, (size_t)(hend - v)) <
        0) {
        *err = "out of memory";
        return -1;
    }
    return 0;
}

/* Parse DATA (headers, an empty line, the body) into the empty MSG. */
int
stm_message_parse(stm_message *msg, const char *data, size_t len, const char **err)
{
    const char *p = data, *end = data + len;
    const char *hstart = NULL; /* the current header's first line */
    const char *hend = NULL;   /* end of its last line, line end excluded */
    size_t eol;

    /* An mbox "From " separator line is not a header: skip it. */
    if (len >= 5 && memcmp(p, "From ", 5) == 0) {
        size_t n = message_line(p, end, &eol);
        p += n + eol;
    }
    while (p < end) {
        size_t n = message_line(p, end, &eol);
        if (n == 0) { /* the empty line: the body follows */
            p += eol;
            break;
        }
        if (*p == ' ' || *p == '\t') {
            if (hstart == NULL) {
                *err = "continuation line before the first header";
                goto fail;
            }
            hend = p + n; /* joined with its line end and white space */
            p += n + eol;
            continue;
        }
        if (hstart != NULL && message_parse_flush(msg, hstart, hend, err) < 0)
            goto fail;
        hstart = p;
        hend = p + n;
        p += n + eol;
    }
    if (hstart != NULL && message_parse_flush(msg, hstart, hend, err) < 0)
        goto fail;
    if (p < end && stm_message_append_body(msg, p, (size_t)(end - p), 0) < 0) {
        *err = "out of memory";
        goto fail;
    }
    msg->size = len;
    return 0;
fail:
    stm_message_clear(msg);
    return -1;
}
