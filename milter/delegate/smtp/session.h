/*
 * session.h - what the files of the SMTP/LMTP client share (private to
 * milter/delegate/smtp/): one message's session with one target, and the
 * functions each file lends the dialogue in protocol.c.
 *
 *   io.c        connect with a deadline, read a line, write, wait (plain or TLS)
 *   tls.c       the cached client SSL_CTX of a service, the handshake
 *   reply.c     replies: read, parse (code, enhanced code, text), copy
 *   data.c      the message: dot-stuffing, CRLF, streaming it
 *   auth.c      AUTH PLAIN / EXTERNAL, xtext for AUTH=
 *   pool.c      idle plain connections kept for the next message
 *   protocol.c  the dialogue (one named step per phase), stm_smtp_send()
 *
 * A session belongs to the thread of one stm_smtp_send() call; nothing in it
 * is shared. Functions that fail record why in s->err (stm_smtp_fail()).
 */
#ifndef STAGEMILTER_SMTP_SESSION_H
#define STAGEMILTER_SMTP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "delegate/smtp/smtp_client.h"

/* The phases of the dialogue, in order (names in io.c for messages). */
typedef enum stm_smtp_phase {
    STM_SMTP_PH_CONNECT,
    STM_SMTP_PH_GREETING,
    STM_SMTP_PH_HELLO,
    STM_SMTP_PH_STARTTLS,
    STM_SMTP_PH_AUTH,
    STM_SMTP_PH_MAIL,
    STM_SMTP_PH_RCPT,
    STM_SMTP_PH_DATA,
    STM_SMTP_PH_BODY,
    STM_SMTP_PH_FINAL,
    STM_SMTP_PH_QUIT,
    STM_SMTP_PH_DONE
} stm_smtp_phase;

/* How an attempt on one target ended. */
typedef enum stm_smtp_outcome {
    STM_SMTP_DONE,        /* res->status is final */
    STM_SMTP_NEXT_TARGET, /* this target is unusable; s->err says why */
    STM_SMTP_NOMEM
} stm_smtp_outcome;

typedef struct stm_smtp_session {
    const stm_smtp_request *req;
    const stm_service *svc;
    const stm_target *target;
    stm_smtp_result *res;
    int fd;
    SSL *ssl;
    char in[8192]; /* received, not yet consumed: in[in_pos..in_len) */
    size_t in_pos, in_len;
    uint64_t next_progress;
    bool reused;       /* the connection came from the pool */
    bool pool_tried;   /* this target's pooled connection failed: no more */
    bool tls;
    /* EHLO capabilities; forgotten after STARTTLS. */
    bool cap_starttls, cap_size, cap_8bitmime, cap_auth, cap_plain, cap_external;
    /* The last reply's lines (text after "ddd-"), for EHLO parsing. */
    char *lines[STM_SMTP_MAX_REPLY_LINES];
    size_t nlines;
    /* The attempt in protocol.c: its outcome so far, recipients accepted. */
    stm_smtp_outcome outcome;
    size_t accepted;
    char err[512];
} stm_smtp_session;

/* io.c */
void stm_smtp_log(stm_smtp_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void stm_smtp_fail(stm_smtp_session *s, stm_smtp_phase phase, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int stm_smtp_io_wait(stm_smtp_session *s, short events, uint64_t deadline);
int stm_smtp_io_connect(stm_smtp_session *s, uint64_t deadline);
void stm_smtp_io_close(stm_smtp_session *s);
bool stm_smtp_io_peer_is_loopback(stm_smtp_session *s);
int stm_smtp_io_read_line(stm_smtp_session *s, stm_smtp_phase phase, char *line, uint64_t deadline);
long stm_smtp_io_read_to(stm_smtp_session *s, stm_smtp_phase phase, int delim, char *out, size_t max,
                         uint64_t deadline);
int stm_smtp_io_read_n(stm_smtp_session *s, stm_smtp_phase phase, char *out, size_t len,
                       uint64_t deadline);
int stm_smtp_io_write(stm_smtp_session *s, stm_smtp_phase phase, const char *data, size_t len,
                      uint64_t deadline);

/* tls.c */
const char *stm_smtp_tls_error(stm_smtp_session *s, char *buf, size_t cap);
int stm_smtp_tls_handshake(stm_smtp_session *s, stm_smtp_phase phase, uint64_t deadline);

/* reply.c */
void stm_smtp_reply_forget(stm_smtp_session *s);
void stm_smtp_reply_clear(stm_smtp_reply *r);
int stm_smtp_reply_read(stm_smtp_session *s, stm_smtp_phase phase, uint64_t deadline,
                        stm_smtp_reply *r);
int stm_smtp_reply_command(stm_smtp_session *s, stm_smtp_phase phase, const char *cmd,
                           const char *shown, stm_smtp_reply *r);
int stm_smtp_reply_copy(stm_smtp_reply *dst, const stm_smtp_reply *src);

/* data.c */
int stm_smtp_data_send(stm_smtp_session *s);
bool stm_smtp_data_is_8bit(const stm_smtp_request *req);

/* auth.c: 0 authenticated (or no auth configured), 1 refused or impossible
 * (s->err says why: QUIT and give up the target), -1 the connection broke. */
int stm_smtp_auth(stm_smtp_session *s, stm_smtp_reply *r);
void stm_smtp_auth_xtext(const char *in, char *out, size_t cap);

/* pool.c */
bool stm_smtp_pool_take(stm_smtp_session *s);
void stm_smtp_pool_put(stm_smtp_session *s);

#endif
