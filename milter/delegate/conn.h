/*
 * conn.h - the connection of a scanner protocol that is not SMTP (clamd,
 * spamd, rspamd) to one target at a time, made of the SMTP client's I/O
 * (smtp/io.c, smtp/tls.c: non-blocking sockets, deadlines, progress, TLS
 * with the cached context) so that there is one connection code.
 *
 *     stm_scan_conn c;
 *     stm_scan_conn_init(&c, req);           -1: memory
 *     stm_scan_conn_open(&c, target, tls)    connect (+ handshake), 0 or -1
 *     ... stm_smtp_io_write(c.ss, ...), stm_smtp_io_read_to(c.ss, ...) ...
 *     stm_scan_conn_free(&c);
 *
 * Errors are in c.ss->err ("TARGET: PHASE: reason"), also logged.
 */
#ifndef STAGEMILTER_DELEGATE_CONN_H
#define STAGEMILTER_DELEGATE_CONN_H

#include <signal.h>
#include <stdbool.h>

#include "delegate/service.h"
#include "delegate/smtp/session.h"

typedef struct stm_scan_conn {
    stm_smtp_request sreq; /* progress, log, transcript of the scan's context */
    stm_smtp_result sres;  /* holds whether TLS was used */
    stm_smtp_session *ss;  /* owned; ss->fd -1 when closed */
    sigset_t old_mask;     /* SIGPIPE blocked while the scan writes */
    bool reuse;            /* the context reuses connections (the daemon) */
} stm_scan_conn;

/* Prepare C for REQ (borrowed until stm_scan_conn_free). 0 or -1. */
int stm_scan_conn_init(stm_scan_conn *c, const stm_scan_request *req);
/* Connect to target T (connect_timeout), with the TLS handshake first when
 * TLS. 0, or -1 with the reason in c->ss->err (closed again). */
int stm_scan_conn_open(stm_scan_conn *c, const stm_target *t, bool tls);
/* Like stm_scan_conn_open, but first an idle connection to T kept by
 * stm_scan_conn_keep() when the context reuses connections (the daemon)
 * and T is plain; *REUSED says which. A reused connection the scanner
 * closed meanwhile shows as a failed write or an empty reply: the caller
 * then opens a fresh one (stm_scan_conn_open) and tries once more. */
int stm_scan_conn_open_reuse(stm_scan_conn *c, const stm_target *t, bool tls, bool *reused);
/* Keep the connection idle for the next message to the same service and
 * target (smtp/pool.c; plain connections only, else it is closed). */
void stm_scan_conn_keep(stm_scan_conn *c);
/* Close the connection (C stays usable for another open). */
void stm_scan_conn_close(stm_scan_conn *c);
/* Close and free. Accepts an initialised or zeroed C. */
void stm_scan_conn_free(stm_scan_conn *c);
/* Block SIGPIPE in this thread while writing (a scanner that closes early
 * must not kill the daemon); _end discards one raised meanwhile. */
void stm_scan_conn_nopipe_begin(stm_scan_conn *c);
void stm_scan_conn_nopipe_end(stm_scan_conn *c);

/* Write the body of MSG (in memory or spooled) to C's connection, each
 * piece within TIMEOUT_MS of its start. 0, or -1 with the reason in
 * c->ss->err (the connection is then in no state to be kept). */
int stm_scan_conn_write_body(stm_scan_conn *c, const stm_message *msg, uint64_t timeout_ms);

/* The shape of a reply made of header lines up to an empty one, then a
 * body of Content-Length bytes (or, without one, up to the close): spamd's
 * and HTTP's (rspamd). */
typedef struct stm_scan_reply_shape {
    size_t max_lines;   /* header lines at most */
    size_t max_body;    /* body bytes at most, whatever Content-Length says */
    const char *status; /* the first line's prefix ("SPAMD/", "HTTP/1.") */
    /* Optional: is the first line a success? When not (or without the
     * prefix), nothing more is read: the caller's parser says what it was. */
    bool (*status_ok)(const char *line);
} stm_scan_reply_shape;

typedef struct stm_scan_reply_info {
    bool conn_close;    /* a "Connection: close" header line */
    bool to_close;      /* no Content-Length: the body ended with the connection */
} stm_scan_reply_info;

/* Read one reply of SHAPE from C within DEADLINE into a buffer (CRLF line
 * ends, NUL-terminated; caller frees), its length in *LEN. NULL with the
 * reason in c->ss->err (a body over max_body is such a failure, never cut). */
char *stm_scan_conn_read_reply(stm_scan_conn *c, const stm_scan_reply_shape *shape,
                               uint64_t deadline, size_t *len, stm_scan_reply_info *info);

/* Put a copy of TEXT into OUT's reply. 0, or -1 on memory exhaustion. */
int stm_scan_set_reply(stm_delegation *out, const char *text);

#endif
