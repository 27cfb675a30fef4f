/*
 * smtp_client.h - send one message to a service over SMTP or LMTP.
 *
 * One call, one message: the targets of the service are tried in order with
 * STARTTLS, implicit TLS and AUTH as configured, the envelope and the message
 * are sent, and the server's answer is classified. Every phase has a deadline
 * (connect_timeout, command_timeout, submission_timeout of the service);
 * sockets are non-blocking and waited on with poll().
 *
 * Implemented by the files of milter/delegate/smtp/ (session.h lists them);
 * protocol.c holds stm_smtp_send().
 */
#ifndef STAGEMILTER_SMTP_CLIENT_H
#define STAGEMILTER_SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stagemilter/config.h"
#include "stagemilter/limits.h"
#include "stagemilter/message.h"

typedef enum stm_smtp_status {
    STM_SMTP_ACCEPTED, /* final reply 2xx; LMTP: at least one recipient got 2xx */
    STM_SMTP_REJECTED, /* 4xx/5xx to MAIL, to every RCPT, to DATA, or as final reply(s) */
    STM_SMTP_FAILED    /* no target usable, TLS/AUTH/protocol failure, timeout */
} stm_smtp_status;

/* A parsed server reply. */
typedef struct stm_smtp_reply {
    int code;          /* 0 when none */
    char enhanced[16]; /* "2.0.0" when the server sent one, else "" */
    char *text;        /* lines joined with " ", enhanced codes removed; owned */
} stm_smtp_reply;

/* What became of one recipient. */
typedef struct stm_smtp_rcpt_result {
    char *rcpt;           /* owned copy */
    stm_smtp_reply reply; /* RCPT reply, or (LMTP) its reply after the data */
    bool accepted;        /* 2xx in the end */
} stm_smtp_rcpt_result;

typedef struct stm_smtp_result {
    stm_smtp_status status;
    stm_smtp_reply reply; /* the reply that decided (the last one read) */
    char *error;          /* FAILED: what went wrong, for logs; owned */
    char *target;         /* text of the target that was used last; owned */
    bool tls;             /* the message went over TLS */
    bool data_sent;       /* the final "." was sent (the scanner may have it) */
    uint64_t final_ms;    /* stm_clock_ms() when the final reply came in */
    stm_smtp_rcpt_result *rcpts;
    size_t nrcpts;
} stm_smtp_result;

/* A piece of the message; the pieces are sent back to back, line ends
 * normalised to CRLF and lines starting with "." stuffed on the way. A
 * piece is DATA (LEN bytes) or, when BODY is set, that message's body,
 * maybe spooled (len then is its body_len). */
typedef struct stm_smtp_piece {
    const char *data;
    size_t len;
    const stm_message *body;
} stm_smtp_piece;

/* The body of MSG as a piece. */
stm_smtp_piece stm_smtp_piece_body(const stm_message *msg);
/* Up to MAX bytes of PIECE from OFFSET: *P points at them, in BUF (MAX
 * bytes) when read from a spool file. The count, 0 at the end, or -1 with
 * errno (a spool read failed). */
ssize_t stm_smtp_piece_at(const stm_smtp_piece *piece, uint64_t offset, char *buf, size_t max,
                          const char **p);

typedef struct stm_smtp_request {
    const stm_service *service; /* borrowed */
    const char *helo_name;      /* EHLO/LHLO argument; NULL: "localhost" */
    const char *sender;         /* without brackets; "" for the null sender */
    const char *const *rcpts;
    size_t nrcpts;
    const stm_smtp_piece *pieces;
    size_t npieces;
    const char *auth_forward; /* auth: forward: the MTA client's login (AUTH= on MAIL) */
    /* Keep the connection after an accepted message for the next one to
     * the same service and target (plain connections only; see
     * smtp_client.c). The daemon sets it; tools leave it false. */
    bool reuse;
    /* Called every progress_interval_ms (0: 10 s) while blocked. Optional. */
    void (*progress)(void *arg);
    void *progress_arg;
    uint64_t progress_interval_ms;
    /* One line per event ("connect tcp://...: refused") and, when
     * transcript is true, the dialogue ("> MAIL FROM:<>", "< 250 ok").
     * Peer text is sanitised. Optional. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
    bool transcript;
} stm_smtp_request;

/* Send the message of REQ and fill RES (zeroed by the callee; clear with
 * stm_smtp_result_clear()). Returns 0, or -1 on memory exhaustion (RES then
 * says FAILED when it could). */
int stm_smtp_send(const stm_smtp_request *req, stm_smtp_result *res);
void stm_smtp_result_clear(stm_smtp_result *res);

/* Drop the cached TLS client contexts (tls.c; done at exit anyway).
 * Connections in progress keep theirs. */
void stm_smtp_tls_cache_clear(void);

/* Helpers exposed for unit tests. */

/* Parse reply lines (each without CRLF) into R; returns 0, or -1 when they
 * do not form one valid reply. */
int stm_smtp_parse_reply(const char *const *lines, size_t nlines, stm_smtp_reply *r);
/* Normalise and dot-stuff IN into OUT (capacity at least 2*len+2). STATE
 * carries line-start and pending-CR between calls: start it at 1; finish
 * with stm_smtp_stuff_end(). Returns the bytes written. */
size_t stm_smtp_stuff(const char *in, size_t len, char *out, int *state);
/* The bytes that end the data (line end if needed, then ".\r\n"). OUT has
 * room for 6. Returns the bytes written. */
size_t stm_smtp_stuff_end(char *out, int state);

#endif
