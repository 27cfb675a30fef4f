/*
 * smtp_client.c - send one message to a service over SMTP or LMTP
 * (smtp_client.h).
 *
 * Functions: stm_smtp_send, stm_smtp_result_clear, stm_smtp_parse_reply,
 * stm_smtp_stuff, stm_smtp_stuff_end.
 *
 * The dialogue is an explicit state machine, one phase per step:
 *
 *   CONNECT -> GREETING -> HELLO (EHLO/LHLO) -> [STARTTLS -> HELLO again]
 *   -> [AUTH] -> MAIL -> RCPT... -> DATA -> BODY -> FINAL reply(s) -> QUIT
 *
 * Deadlines: connect_timeout for the TCP connection (and the handshake of
 * implicit TLS); command_timeout for the greeting, each command's reply, the
 * STARTTLS handshake and each chunk of the body; submission_timeout for the
 * final reply(s) after the ".". Sockets are non-blocking, every wait is a
 * poll() bounded by the phase's deadline, and the progress callback runs
 * every progress_interval_ms while we wait.
 *
 * Targets are tried in order. A target that refuses, does not answer in
 * time, greets with something other than 220, or fails before MAIL FROM
 * (TLS, AUTH) is left for the next one. If the STARTTLS handshake fails,
 * the same target is tried again without STARTTLS, unless require_tls.
 * Once MAIL FROM was accepted the target is kept: a 4xx/5xx then is
 * REJECTED; a timeout or protocol error before the final "." moves on to the
 * next target (nothing was delivered), after it is FAILED (the scanner may
 * hold the message: sending it twice would duplicate it).
 *
 * Reuse (stm_smtp_request.reuse, the daemon): after an accepted message a
 * plain-text connection is kept idle in a small process-wide pool instead
 * of QUIT, and the next message to the same service and target starts at
 * MAIL FROM on it; a pooled connection is dropped after STM_SMTP_POOL_IDLE_MS.
 * Proxies such as clamsmtpd then keep their own connection onward open
 * too, which saves two TCP connections, two greetings and two EHLOs per
 * message. A pooled connection found closed (or closed by the peer while
 * we send MAIL FROM, or answering 421) is replaced by a fresh one to the
 * same target, so reuse never turns into a failure.
 *
 * LMTP: one reply per accepted recipient after the data. The result is
 * ACCEPTED when at least one recipient got 2xx (each recipient's reply is in
 * res->rcpts), REJECTED when all were refused.
 *
 * AUTH PLAIN is sent only over TLS, or to a loopback address where there is
 * no wire to sniff. AUTH EXTERNAL needs TLS with a client certificate.
 *
 * Ownership: RES owns every string in it; stm_smtp_result_clear() frees them.
 *
 * Signals: OpenSSL writes with write(2), which raises SIGPIPE on a closed
 * connection; stm_smtp_send() blocks SIGPIPE in the calling thread while it
 * runs and discards one it caused, so callers need not ignore it.
 *
 * Errors: every failure becomes RES->status FAILED with RES->error saying
 * which target and phase; -1 only on memory exhaustion.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "delegate/smtp/smtp_client.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"

typedef enum cl_phase {
    PH_CONNECT,
    PH_GREETING,
    PH_HELLO,
    PH_STARTTLS,
    PH_AUTH,
    PH_MAIL,
    PH_RCPT,
    PH_DATA,
    PH_BODY,
    PH_FINAL,
    PH_QUIT,
    PH_DONE
} cl_phase;

static const char *const cl_phase_names[] = {"connect", "greeting", "hello", "starttls",
                                             "auth",    "mail",     "rcpt",  "data",
                                             "body",    "final",    "quit",  "done"};

/* How an attempt on one target ended. */
typedef enum cl_outcome {
    CL_DONE,        /* res->status is final */
    CL_NEXT_TARGET, /* this target is unusable; res->error says why */
    CL_RETRY_PLAIN, /* STARTTLS handshake failed: same target without it */
    CL_NOMEM
} cl_outcome;

typedef struct cl_session {
    const stm_smtp_request *req;
    const stm_service *svc;
    const stm_target *target;
    stm_smtp_result *res;
    SSL_CTX *ssl_ctx; /* made on first use, kept across attempts */
    int fd;
    SSL *ssl;
    char in[8192]; /* received, not yet consumed: in[in_pos..in_len) */
    size_t in_pos, in_len;
    uint64_t next_progress;
    bool use_starttls; /* this attempt may use STARTTLS */
    bool reused;       /* the connection came from the pool */
    bool pool_tried;   /* this target's pooled connection failed: no more */
    bool tls;
    /* EHLO capabilities; forgotten after STARTTLS. */
    bool cap_starttls, cap_size, cap_8bitmime, cap_auth, cap_plain, cap_external;
    /* The last reply's lines (text after "ddd-"), for EHLO parsing. */
    char *lines[STM_SMTP_MAX_REPLY_LINES];
    size_t nlines;
    char err[512];
} cl_session;

/* Send one formatted line to the request's log callback. */
static void __attribute__((format(printf, 2, 3))) cl_log(cl_session *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (s->req->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    s->req->log(s->req->log_arg, line);
}

/* Record why the current attempt failed (sanitised, with target and phase). */
static void __attribute__((format(printf, 3, 4)))
cl_fail(cl_session *s, cl_phase phase, const char *fmt, ...)
{
    char text[400], clean[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    stm_text_clean(clean, sizeof clean, text, 0, STM_TEXT_ELLIPSIS);
    snprintf(s->err, sizeof s->err, "%s: %s: %s", s->target->text, cl_phase_names[phase], clean);
    cl_log(s, "service=%s %s", s->svc->name, s->err);
}

/* Wait until the socket is ready for EVENTS or DEADLINE; calls progress.
 * Returns 1 ready, 0 deadline passed, -1 poll error. */
static int
cl_wait(cl_session *s, short events, uint64_t deadline)
{
    const stm_smtp_request *req = s->req;
    uint64_t interval = req->progress_interval_ms ? req->progress_interval_ms : 10000;

    for (;;) {
        uint64_t now = stm_clock_ms();
        if (now >= deadline)
            return 0;
        if (req->progress != NULL && now >= s->next_progress) {
            req->progress(req->progress_arg);
            s->next_progress = stm_clock_ms() + interval;
            continue;
        }
        uint64_t until = deadline;
        if (req->progress != NULL && s->next_progress < until)
            until = s->next_progress;
        struct pollfd p = {.fd = s->fd, .events = events, .revents = 0};
        int rc = poll(&p, 1, (int)(until - now));
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0)
            return 1;
    }
}

/* Describe the OpenSSL error queue (and verification) into BUF. */
static const char *
cl_ssl_error(cl_session *s, char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    long vr = s->ssl != NULL ? SSL_get_verify_result(s->ssl) : X509_V_OK;

    if (vr != X509_V_OK)
        snprintf(buf, cap, "certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e != 0)
        ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "%s", errno ? strerror(errno) : "connection closed");
    ERR_clear_error();
    return buf;
}

/* Idle connections (see the top of the file). */

typedef struct cl_pooled {
    const stm_service *svc; /* identity only, never dereferenced while pooled */
    const stm_target *target;
    char key[256]; /* service name, target text, auth and user: a reload's
                    * new service at a recycled address must not match */
    int fd;
    uint64_t since;
    bool cap_size, cap_8bitmime, cap_auth;
} cl_pooled;

/* Guards cl_pool and cl_pool_n. */
static pthread_mutex_t cl_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static cl_pooled cl_pool[STM_SMTP_POOL_MAX];
static size_t cl_pool_n;

/* The pool key of S's service and target into KEY (size 256). */
static void
cl_pool_key(const cl_session *s, char *key)
{
    snprintf(key, 256, "%s %s %d %s", s->svc->name, s->target->text, (int)s->svc->auth,
             s->svc->username ? s->svc->username : "");
}

/* Remove entry I of the pool (under the lock); returns its fd. */
static int
cl_pool_remove(size_t i)
{
    int fd = cl_pool[i].fd;
    cl_pool[i] = cl_pool[--cl_pool_n];
    return fd;
}

/* Take an idle connection to S's target, most recent first, skipping (and
 * closing) expired ones and ones the peer has closed. true when S got one. */
static bool
cl_pool_take(cl_session *s)
{
    char key[256];
    int stale[STM_SMTP_POOL_MAX];
    size_t nstale = 0;
    bool got = false;
    uint64_t now = stm_clock_ms();

    cl_pool_key(s, key);
    pthread_mutex_lock(&cl_pool_lock);
    for (size_t i = cl_pool_n; i-- > 0;)
        if (now - cl_pool[i].since > STM_SMTP_POOL_IDLE_MS)
            stale[nstale++] = cl_pool_remove(i);
    for (size_t i = cl_pool_n; i-- > 0 && !got;) {
        cl_pooled *p = &cl_pool[i];
        if (p->svc != s->svc || p->target != s->target || strcmp(p->key, key) != 0)
            continue;
        /* Readable while idle: EOF, or a 421 before closing. Either way gone. */
        struct pollfd pfd = {.fd = p->fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) != 0) {
            stale[nstale++] = cl_pool_remove(i);
            continue;
        }
        s->fd = p->fd;
        s->cap_size = p->cap_size;
        s->cap_8bitmime = p->cap_8bitmime;
        s->cap_auth = p->cap_auth;
        cl_pool_remove(i);
        got = true;
    }
    pthread_mutex_unlock(&cl_pool_lock);
    for (size_t i = 0; i < nstale; i++)
        close(stale[i]);
    return got;
}

/* Keep S's connection idle in the pool (S no longer owns it). When the pool
 * is full the oldest connection makes room. */
static void
cl_pool_put(cl_session *s)
{
    int drop = -1;
    pthread_mutex_lock(&cl_pool_lock);
    if (cl_pool_n == STM_SMTP_POOL_MAX) {
        size_t oldest = 0;
        for (size_t i = 1; i < cl_pool_n; i++)
            if (cl_pool[i].since < cl_pool[oldest].since)
                oldest = i;
        drop = cl_pool_remove(oldest);
    }
    cl_pooled *p = &cl_pool[cl_pool_n++];
    p->svc = s->svc;
    p->target = s->target;
    cl_pool_key(s, p->key);
    p->fd = s->fd;
    p->since = stm_clock_ms();
    p->cap_size = s->cap_size;
    p->cap_8bitmime = s->cap_8bitmime;
    p->cap_auth = s->cap_auth;
    pthread_mutex_unlock(&cl_pool_lock);
    s->fd = -1;
    if (drop >= 0)
        close(drop);
}

/* Drop the connection, TLS state and buffered input. */
static void
cl_close(cl_session *s)
{
    if (s->ssl != NULL) {
        SSL_shutdown(s->ssl); /* one non-blocking try: we are leaving anyway */
        SSL_free(s->ssl);
        s->ssl = NULL;
    }
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->in_pos = s->in_len = 0;
    s->tls = false;
    ERR_clear_error();
}

/* Is the connected peer a loopback address? */
static bool
cl_peer_is_loopback(cl_session *s)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;

    if (getpeername(s->fd, (struct sockaddr *)&ss, &sl) != 0)
        return false;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* Connect to the target's addresses in turn before DEADLINE. 0 or -1. */
static int
cl_connect(cl_session *s, uint64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *ai = NULL;
    const char *why = "no address";

    /* Name resolution is bounded by the resolver's own timeouts. */
    int rc = getaddrinfo(s->target->host, s->target->port, &hints, &ai);
    if (rc != 0) {
        hints.ai_flags = 0; /* AI_ADDRCONFIG hides 127.0.0.1 when only lo is up */
        rc = getaddrinfo(s->target->host, s->target->port, &hints, &ai);
    }
    if (rc != 0) {
        cl_fail(s, PH_CONNECT, "cannot resolve: %s", gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
        int fd =
            socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            why = strerror(errno);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        s->fd = fd;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            freeaddrinfo(ai);
            return 0;
        }
        if (errno == EINPROGRESS) {
            int w = cl_wait(s, POLLOUT, deadline);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
                freeaddrinfo(ai);
                return 0;
            }
            why = w == 0 ? "timed out" : strerror(soerr ? soerr : errno);
        } else {
            why = strerror(errno);
        }
        close(fd);
        s->fd = -1;
    }
    freeaddrinfo(ai);
    cl_fail(s, PH_CONNECT, "%s", why);
    return -1;
}

/* Build the TLS client context of the service once. 0 or -1 (s->err set). */
static int
cl_tls_context(cl_session *s, cl_phase phase)
{
    const stm_tls_client *tc = &s->svc->tls_client;
    char ebuf[256];

    if (s->ssl_ctx != NULL)
        return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        cl_fail(s, phase, "TLS context: %s", cl_ssl_error(s, ebuf, sizeof ebuf));
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (tc->verify) {
        int ok = (tc->ca_file != NULL && tc->ca_file[0] != '\0')
                     ? SSL_CTX_load_verify_locations(ctx, tc->ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            cl_fail(s, phase, "CA file %s: %s", tc->ca_file ? tc->ca_file : "(default)",
                    cl_ssl_error(s, ebuf, sizeof ebuf));
            SSL_CTX_free(ctx);
            return -1;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (tc->cert_file != NULL && tc->cert_file[0] != '\0') {
        const char *key =
            (tc->key_file != NULL && tc->key_file[0] != '\0') ? tc->key_file : tc->cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, tc->cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            cl_fail(s, phase, "client certificate %s: %s", tc->cert_file,
                    cl_ssl_error(s, ebuf, sizeof ebuf));
            SSL_CTX_free(ctx);
            return -1;
        }
    }
    s->ssl_ctx = ctx;
    return 0;
}

/* Run the TLS handshake on the connected socket before DEADLINE. 0 or -1. */
static int
cl_tls_handshake(cl_session *s, cl_phase phase, uint64_t deadline)
{
    const stm_tls_client *tc = &s->svc->tls_client;
    const char *name =
        (tc->server_name != NULL && tc->server_name[0] != '\0') ? tc->server_name : s->target->host;
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    char ebuf[256];

    if (cl_tls_context(s, phase) != 0)
        return -1;
    s->ssl = SSL_new(s->ssl_ctx);
    if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
        cl_fail(s, phase, "TLS: %s", cl_ssl_error(s, ebuf, sizeof ebuf));
        return -1;
    }
    if (!is_ip)
        SSL_set_tlsext_host_name(s->ssl, name);
    if (tc->verify) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                       : X509_VERIFY_PARAM_set1_host(vp, name, 0);
        if (ok != 1) {
            cl_fail(s, phase, "TLS: cannot check the name %s", name);
            return -1;
        }
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_connect(s->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(s->ssl, r);
        int w;
        if (e == SSL_ERROR_WANT_READ)
            w = cl_wait(s, POLLIN, deadline);
        else if (e == SSL_ERROR_WANT_WRITE)
            w = cl_wait(s, POLLOUT, deadline);
        else {
            cl_fail(s, phase, "TLS handshake failed: %s", cl_ssl_error(s, ebuf, sizeof ebuf));
            return -1;
        }
        if (w != 1) {
            cl_fail(s, phase, "TLS handshake %s", w == 0 ? "timed out" : "poll failed");
            return -1;
        }
    }
    s->tls = true;
    s->res->tls = true;
    cl_log(s, "service=%s %s: TLS %s %s", s->svc->name, s->target->text, SSL_get_version(s->ssl),
           SSL_get_cipher_name(s->ssl));
    return 0;
}

/* Read more bytes into the input buffer. >0 bytes, 0 EOF, -1 error, -2 timeout. */
static int
cl_fill(cl_session *s, uint64_t deadline)
{
    if (s->in_pos > 0) {
        memmove(s->in, s->in + s->in_pos, s->in_len - s->in_pos);
        s->in_len -= s->in_pos;
        s->in_pos = 0;
    }
    size_t room = sizeof s->in - s->in_len;
    for (;;) {
        short ev = POLLIN;
        if (s->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_read(s->ssl, s->in + s->in_len, (int)room);
            if (r > 0) {
                s->in_len += (size_t)r;
                return r;
            }
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN)
                return 0;
            if (e == SSL_ERROR_WANT_WRITE)
                ev = POLLOUT;
            else if (e != SSL_ERROR_WANT_READ)
                return (e == SSL_ERROR_SYSCALL && errno == 0) ? 0 : -1;
        } else {
            ssize_t r = recv(s->fd, s->in + s->in_len, room, 0);
            if (r > 0) {
                /* ACK at once (see receiver.c: scanners without
                 * TCP_NODELAY otherwise stall on our delayed ACK). */
                int one = 1;
                setsockopt(s->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
                s->in_len += (size_t)r;
                return (int)r;
            }
            if (r == 0)
                return 0;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
        }
        int w = cl_wait(s, ev, deadline);
        if (w == 0)
            return -2;
        if (w < 0)
            return -1;
    }
}

/* Read one line (CRLF or LF stripped) into LINE (STM_SMTP_MAX_LINE + 1).
 * Returns its length, or -1 with the reason in s->err. */
static int
cl_read_line(cl_session *s, cl_phase phase, char *line, uint64_t deadline)
{
    for (;;) {
        char *start = s->in + s->in_pos;
        size_t avail = s->in_len - s->in_pos;
        char *nl = memchr(start, '\n', avail);
        if (nl != NULL) {
            size_t n = (size_t)(nl - start);
            s->in_pos += n + 1;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            if (n > STM_SMTP_MAX_LINE) {
                cl_fail(s, phase, "reply line longer than %d bytes", STM_SMTP_MAX_LINE);
                return -1;
            }
            memcpy(line, start, n);
            line[n] = '\0';
            return (int)n;
        }
        if (avail > STM_SMTP_MAX_LINE + 1) {
            cl_fail(s, phase, "reply line longer than %d bytes", STM_SMTP_MAX_LINE);
            return -1;
        }
        int r = cl_fill(s, deadline);
        if (r == -2) {
            cl_fail(s, phase, "timed out waiting for the reply");
            return -1;
        }
        if (r == 0) {
            cl_fail(s, phase, "connection closed by the server");
            return -1;
        }
        if (r < 0) {
            char ebuf[256];
            cl_fail(s, phase, "read failed: %s", cl_ssl_error(s, ebuf, sizeof ebuf));
            return -1;
        }
    }
}

/* Write all of DATA before DEADLINE. 0, or -1 with s->err set. */
static int
cl_write(cl_session *s, cl_phase phase, const char *data, size_t len, uint64_t deadline)
{
    size_t done = 0;
    char ebuf[256];

    while (done < len) {
        short ev = POLLOUT;
        if (s->ssl != NULL) {
            ERR_clear_error();
            int r = SSL_write(s->ssl, data + done, (int)(len - done > 65536 ? 65536 : len - done));
            if (r > 0) {
                done += (size_t)r;
                continue;
            }
            int e = SSL_get_error(s->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                ev = POLLIN;
            else if (e != SSL_ERROR_WANT_WRITE) {
                cl_fail(s, phase, "write failed: %s", cl_ssl_error(s, ebuf, sizeof ebuf));
                return -1;
            }
        } else {
            ssize_t r = send(s->fd, data + done, len - done, MSG_NOSIGNAL);
            if (r > 0) {
                done += (size_t)r;
                continue;
            }
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                cl_fail(s, phase, "write failed: %s", strerror(errno));
                return -1;
            }
        }
        int w = cl_wait(s, ev, deadline);
        if (w != 1) {
            cl_fail(s, phase, "write %s", w == 0 ? "timed out" : "poll failed");
            return -1;
        }
    }
    return 0;
}

/* Free the reply lines kept from the last reply. */
static void
cl_forget_lines(cl_session *s)
{
    for (size_t i = 0; i < s->nlines; i++)
        free(s->lines[i]);
    s->nlines = 0;
}

/* Free what a reply owns and empty it. */
static void
cl_reply_clear(stm_smtp_reply *r)
{
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* Parse an enhanced status code "C.SSS.DDD " at the start of TEXT for reply
 * class CLS. Returns its length including the space, or 0. */
static size_t
cl_enhanced_len(const char *text, char cls)
{
    size_t i = 0, parts = 0;

    if (text[0] != cls || text[1] != '.')
        return 0;
    i = 2;
    for (parts = 1; parts < 3; parts++) {
        size_t d = 0;
        while (text[i + d] >= '0' && text[i + d] <= '9' && d < 3)
            d++;
        if (d == 0)
            return 0;
        i += d;
        if (parts == 1) {
            if (text[i] != '.')
                return 0;
            i++;
        }
    }
    if (text[i] == '\0')
        return i;
    if (text[i] != ' ' || i > 15)
        return 0;
    return i + 1;
}

/* Parse reply LINES into R (see smtp_client.h). */
int
stm_smtp_parse_reply(const char *const *lines, size_t nlines, stm_smtp_reply *r)
{
    size_t total = 1;

    memset(r, 0, sizeof *r);
    if (nlines == 0)
        return -1;
    for (size_t i = 0; i < nlines; i++) {
        const char *l = lines[i];
        size_t n = strlen(l);
        if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
            l[2] > '9')
            return -1;
        if (strncmp(l, lines[0], 3) != 0)
            return -1;
        bool last = i + 1 == nlines;
        if (last ? (n > 3 && l[3] != ' ') : (n < 4 || l[3] != '-'))
            return -1;
        total += n + 1;
    }
    r->code = (lines[0][0] - '0') * 100 + (lines[0][1] - '0') * 10 + (lines[0][2] - '0');
    r->text = malloc(total);
    if (r->text == NULL)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < nlines; i++) {
        const char *t = strlen(lines[i]) > 4 ? lines[i] + 4 : "";
        size_t el = cl_enhanced_len(t, lines[0][0]);
        if (el > 0) {
            if (r->enhanced[0] == '\0') {
                size_t cl = el;
                while (cl > 0 && (t[cl - 1] == ' ' || t[cl - 1] == '\0'))
                    cl--;
                memcpy(r->enhanced, t, cl);
                r->enhanced[cl] = '\0';
            }
            t += el;
        }
        if (o > 0 && t[0] != '\0')
            r->text[o++] = ' ';
        size_t tl = strlen(t);
        memcpy(r->text + o, t, tl);
        o += tl;
    }
    r->text[o] = '\0';
    return 0;
}

/* Read one complete reply before DEADLINE into R (cleared first). Keeps the
 * lines for EHLO parsing. 0, or -1 with s->err set. */
static int
cl_reply(cl_session *s, cl_phase phase, uint64_t deadline, stm_smtp_reply *r)
{
    char line[STM_SMTP_MAX_LINE + 1];

    cl_reply_clear(r);
    cl_forget_lines(s);
    for (;;) {
        int n = cl_read_line(s, phase, line, deadline);
        if (n < 0)
            return -1;
        if (s->nlines == STM_SMTP_MAX_REPLY_LINES) {
            cl_fail(s, phase, "reply longer than %d lines", STM_SMTP_MAX_REPLY_LINES);
            return -1;
        }
        if (s->req->transcript) {
            char clean[300];
            stm_text_clean(clean, sizeof clean, line, 0, STM_TEXT_ELLIPSIS);
            cl_log(s, "< %s", clean);
        }
        s->lines[s->nlines] = strdup(line);
        if (s->lines[s->nlines] == NULL) {
            cl_fail(s, phase, "out of memory");
            return -1;
        }
        s->nlines++;
        if (n <= 3 || line[3] != '-')
            break;
    }
    if (stm_smtp_parse_reply((const char *const *)s->lines, s->nlines, r) != 0) {
        cl_fail(s, phase, "malformed reply \"%s\"", s->lines[s->nlines - 1]);
        return -1;
    }
    return 0;
}

/* Send a command line (CRLF added) and read its reply into R. SHOWN is what
 * the transcript shows instead of a secret, or NULL. 0 or -1. */
static int
cl_command(cl_session *s, cl_phase phase, const char *cmd, const char *shown, stm_smtp_reply *r)
{
    uint64_t deadline = stm_clock_ms() + s->svc->command_timeout_ms;
    size_t n = strlen(cmd);
    char *buf = malloc(n + 3);

    if (buf == NULL) {
        cl_fail(s, phase, "out of memory");
        return -1;
    }
    memcpy(buf, cmd, n);
    memcpy(buf + n, "\r\n", 3);
    if (s->req->transcript) {
        char clean[300];
        stm_text_clean(clean, sizeof clean, shown != NULL ? shown : cmd, 0, STM_TEXT_ELLIPSIS);
        cl_log(s, "> %s", clean);
    }
    int rc = cl_write(s, phase, buf, n + 2, deadline);
    OPENSSL_cleanse(buf, n + 2);
    free(buf);
    if (rc != 0)
        return -1;
    return cl_reply(s, phase, deadline, r);
}

/* Record the EHLO/LHLO capabilities from the last reply's lines. */
static void
cl_parse_caps(cl_session *s)
{
    s->cap_starttls = s->cap_size = s->cap_8bitmime = false;
    s->cap_auth = s->cap_plain = s->cap_external = false;
    for (size_t i = 1; i < s->nlines; i++) {
        const char *kw = strlen(s->lines[i]) > 4 ? s->lines[i] + 4 : "";
        if (strcasecmp(kw, "STARTTLS") == 0)
            s->cap_starttls = true;
        else if (strncasecmp(kw, "SIZE", 4) == 0 && (kw[4] == '\0' || kw[4] == ' '))
            s->cap_size = true;
        else if (strcasecmp(kw, "8BITMIME") == 0)
            s->cap_8bitmime = true;
        else if (strncasecmp(kw, "AUTH", 4) == 0 && (kw[4] == ' ' || kw[4] == '=')) {
            s->cap_auth = true;
            char mechs[STM_SMTP_MAX_LINE + 1];
            snprintf(mechs, sizeof mechs, " %s ", kw + 5);
            for (char *p = mechs; *p; p++)
                *p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
            if (strstr(mechs, " PLAIN ") != NULL)
                s->cap_plain = true;
            if (strstr(mechs, " EXTERNAL ") != NULL)
                s->cap_external = true;
        }
    }
}

/* Normalise line ends to CRLF and dot-stuff (see smtp_client.h). State bit 0:
 * at the start of a line; bit 1: a CR is pending. */
size_t
stm_smtp_stuff(const char *in, size_t len, char *out, int *state)
{
    size_t o = 0;
    int st = *state;

    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (st & 2) {
            out[o++] = '\r';
            out[o++] = '\n';
            st = 1;
            if (c == '\n')
                continue; /* CRLF: written */
        }
        if (c == '\r') {
            st |= 2;
            continue;
        }
        if (c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            st = 1;
            continue;
        }
        if ((st & 1) && c == '.')
            out[o++] = '.';
        out[o++] = c;
        st = 0;
    }
    *state = st;
    return o;
}

/* End the data: close an unfinished line, then ".". */
size_t
stm_smtp_stuff_end(char *out, int state)
{
    size_t o = 0;
    if ((state & 2) || !(state & 1)) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 3);
    return o + 3;
}

/* Stream the message pieces, stuffed, then ".". 0 or -1. */
static int
cl_send_body(cl_session *s)
{
    const stm_smtp_request *req = s->req;
    enum { CHUNK = 8192 };
    char *out = malloc(2 * CHUNK + 8);
    int state = 1;

    if (out == NULL) {
        cl_fail(s, PH_BODY, "out of memory");
        return -1;
    }
    for (size_t p = 0; p < req->npieces; p++) {
        for (size_t off = 0; off < req->pieces[p].len; off += CHUNK) {
            size_t n = req->pieces[p].len - off;
            if (n > CHUNK)
                n = CHUNK;
            size_t o = stm_smtp_stuff(req->pieces[p].data + off, n, out, &state);
            if (cl_write(s, PH_BODY, out, o, stm_clock_ms() + s->svc->command_timeout_ms) != 0) {
                free(out);
                return -1;
            }
        }
    }
    size_t o = stm_smtp_stuff_end(out, state);
    int rc = cl_write(s, PH_BODY, out, o, stm_clock_ms() + s->svc->command_timeout_ms);
    free(out);
    if (rc == 0 && req->transcript)
        cl_log(s, "> (message) .");
    return rc;
}

/* Does the message hold bytes outside ASCII? */
static bool
cl_is_8bit(const stm_smtp_request *req)
{
    for (size_t p = 0; p < req->npieces; p++)
        for (size_t i = 0; i < req->pieces[p].len; i++)
            if ((unsigned char)req->pieces[p].data[i] & 0x80)
                return true;
    return false;
}

/* Append xtext (RFC 3461) of IN to OUT (size CAP). */
static void
cl_xtext(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c < 33 || c > 126 || c == '+' || c == '=')
            o += (size_t)snprintf(out + o, cap - o, "+%02X", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

/* Copy REPLY into the result's deciding reply. 0 or -1. */
static int
cl_keep_reply(stm_smtp_reply *dst, const stm_smtp_reply *src)
{
    cl_reply_clear(dst);
    dst->code = src->code;
    memcpy(dst->enhanced, src->enhanced, sizeof dst->enhanced);
    dst->text = strdup(src->text ? src->text : "");
    return dst->text ? 0 : -1;
}

/* Reset the per-recipient results for a new attempt. 0 or -1. */
static int
cl_reset_rcpts(cl_session *s)
{
    stm_smtp_result *res = s->res;
    for (size_t i = 0; i < res->nrcpts; i++) {
        free(res->rcpts[i].rcpt);
        cl_reply_clear(&res->rcpts[i].reply);
    }
    free(res->rcpts);
    res->rcpts = calloc(s->req->nrcpts ? s->req->nrcpts : 1, sizeof *res->rcpts);
    res->nrcpts = 0;
    if (res->rcpts == NULL)
        return -1;
    for (size_t i = 0; i < s->req->nrcpts; i++) {
        res->rcpts[i].rcpt = strdup(s->req->rcpts[i]);
        if (res->rcpts[i].rcpt == NULL)
            return -1;
        res->nrcpts++;
    }
    return 0;
}

/* One attempt on s->target: the state machine. */
static cl_outcome
cl_attempt(cl_session *s)
{
    const stm_service *svc = s->svc;
    const stm_smtp_request *req = s->req;
    stm_smtp_result *res = s->res;
    bool lmtp = svc->protocol == STM_PROTO_LMTP;
    const char *helo = req->helo_name ? req->helo_name : "localhost";
    stm_smtp_reply r = {0};
    cl_phase phase = PH_CONNECT;
    cl_outcome out = CL_NEXT_TARGET;
    size_t accepted = 0;
    char cmd[STM_SMTP_MAX_LINE + 64];

    if (cl_reset_rcpts(s) != 0)
        return CL_NOMEM;
    res->tls = false;
    res->data_sent = false;
    while (phase != PH_DONE) {
        switch (phase) {
        case PH_CONNECT: {
            /* Pooled connections are plain: never for a service that
             * requires TLS (a reload may have made it require it). */
            if (req->reuse && !s->pool_tried && !s->target->implicit_tls && !svc->require_tls &&
                cl_pool_take(s)) {
                s->pool_tried = true;
                s->reused = true;
                cl_log(s, "service=%s reusing a connection to %s", svc->name, s->target->text);
                phase = PH_MAIL;
                break;
            }
            uint64_t deadline = stm_clock_ms() + svc->connect_timeout_ms;
            cl_log(s, "service=%s connecting to %s", svc->name, s->target->text);
            if (cl_connect(s, deadline) != 0)
                return CL_NEXT_TARGET;
            if (s->target->implicit_tls && cl_tls_handshake(s, PH_CONNECT, deadline) != 0)
                return CL_NEXT_TARGET;
            phase = PH_GREETING;
            break;
        }
        case PH_GREETING:
            if (cl_reply(s, phase, stm_clock_ms() + svc->command_timeout_ms, &r) != 0)
                goto next_target;
            if (r.code != 220) {
                cl_fail(s, phase, "greeting %d %s", r.code, r.text);
                phase = PH_QUIT;
                out = CL_NEXT_TARGET;
                break;
            }
            phase = PH_HELLO;
            break;
        case PH_HELLO:
            snprintf(cmd, sizeof cmd, "%s %s", lmtp ? "LHLO" : "EHLO", helo);
            if (cl_command(s, phase, cmd, NULL, &r) != 0)
                goto next_target;
            if (r.code == 250) {
                cl_parse_caps(s);
            } else if (!lmtp && r.code >= 500) {
                /* An old server: plain HELO, no extensions at all. */
                snprintf(cmd, sizeof cmd, "HELO %s", helo);
                if (cl_command(s, phase, cmd, NULL, &r) != 0)
                    goto next_target;
                if (r.code != 250) {
                    cl_fail(s, phase, "HELO refused: %d %s", r.code, r.text);
                    phase = PH_QUIT;
                    break;
                }
                cl_parse_caps(s);
                s->cap_starttls = s->cap_size = s->cap_8bitmime = s->cap_auth = false;
            } else {
                cl_fail(s, phase, "%s refused: %d %s", lmtp ? "LHLO" : "EHLO", r.code, r.text);
                phase = PH_QUIT;
                break;
            }
            if (!s->tls && s->use_starttls && (svc->attempt_starttls || svc->require_tls) &&
                s->cap_starttls)
                phase = PH_STARTTLS;
            else if (!s->tls && svc->require_tls) {
                cl_fail(s, phase, "TLS is required and STARTTLS is not offered");
                phase = PH_QUIT;
            } else
                phase = PH_AUTH;
            break;
        case PH_STARTTLS:
            if (cl_command(s, phase, "STARTTLS", NULL, &r) != 0)
                goto next_target;
            if (r.code != 220) {
                if (svc->require_tls) {
                    cl_fail(s, phase, "STARTTLS refused: %d %s", r.code, r.text);
                    phase = PH_QUIT;
                } else {
                    cl_log(s, "service=%s %s: STARTTLS refused (%d), going on in clear", svc->name,
                           s->target->text, r.code);
                    phase = PH_AUTH;
                }
                break;
            }
            if (s->in_pos != s->in_len) {
                /* Bytes after the 220 would be injected into the TLS session. */
                cl_fail(s, phase, "data received before the TLS handshake");
                goto next_target;
            }
            if (cl_tls_handshake(s, phase, stm_clock_ms() + svc->command_timeout_ms) != 0) {
                cl_reply_clear(&r);
                cl_forget_lines(s);
                return svc->require_tls ? CL_NEXT_TARGET : CL_RETRY_PLAIN;
            }
            /* Forget what was said in clear and ask again. */
            s->cap_starttls = s->cap_size = s->cap_8bitmime = false;
            s->cap_auth = s->cap_plain = s->cap_external = false;
            phase = PH_HELLO;
            break;
        case PH_AUTH:
            if (svc->auth == STM_AUTH_PLAIN) {
                if (!s->tls && !cl_peer_is_loopback(s)) {
                    cl_fail(s, phase, "AUTH PLAIN refused over a connection without TLS");
                    phase = PH_QUIT;
                    break;
                }
                if (!s->cap_plain) {
                    cl_fail(s, phase, "server does not offer AUTH PLAIN");
                    phase = PH_QUIT;
                    break;
                }
                const char *u = svc->username ? svc->username : "";
                const char *pw = svc->password ? svc->password : "";
                size_t ul = strlen(u), pl = strlen(pw), rl = ul + pl + 2;
                unsigned char raw[1024];
                char b64[1400];
                if (rl > sizeof raw) {
                    cl_fail(s, phase, "username and password too long");
                    phase = PH_QUIT;
                    break;
                }
                raw[0] = '\0';
                memcpy(raw + 1, u, ul);
                raw[1 + ul] = '\0';
                memcpy(raw + 2 + ul, pw, pl);
                EVP_EncodeBlock((unsigned char *)b64, raw, (int)rl);
                snprintf(cmd, sizeof cmd, "AUTH PLAIN %s", b64);
                OPENSSL_cleanse(raw, sizeof raw);
                OPENSSL_cleanse(b64, sizeof b64);
                int rc = cl_command(s, phase, cmd, "AUTH PLAIN (credentials)", &r);
                OPENSSL_cleanse(cmd, sizeof cmd);
                if (rc != 0)
                    goto next_target;
                if (r.code != 235) {
                    cl_fail(s, phase, "AUTH PLAIN failed: %d %s", r.code, r.text);
                    phase = PH_QUIT;
                    break;
                }
            } else if (svc->auth == STM_AUTH_EXTERNAL) {
                if (!s->tls || svc->tls_client.cert_file == NULL ||
                    svc->tls_client.cert_file[0] == '\0') {
                    cl_fail(s, phase, "AUTH EXTERNAL needs TLS with a client certificate");
                    phase = PH_QUIT;
                    break;
                }
                if (!s->cap_external) {
                    cl_fail(s, phase, "server does not offer AUTH EXTERNAL");
                    phase = PH_QUIT;
                    break;
                }
                if (cl_command(s, phase, "AUTH EXTERNAL =", NULL, &r) != 0)
                    goto next_target;
                if (r.code != 235) {
                    cl_fail(s, phase, "AUTH EXTERNAL failed: %d %s", r.code, r.text);
                    phase = PH_QUIT;
                    break;
                }
            }
            phase = PH_MAIL;
            break;
        case PH_MAIL: {
            size_t size = 0;
            for (size_t p = 0; p < req->npieces; p++)
                size += req->pieces[p].len;
            int n = snprintf(cmd, sizeof cmd, "MAIL FROM:<%s>", req->sender ? req->sender : "");
            if (n < 0 || (size_t)n >= sizeof cmd - 200) {
                cl_fail(s, phase, "sender address too long");
                phase = PH_QUIT;
                out = CL_DONE;
                res->status = STM_SMTP_FAILED;
                break;
            }
            if (s->cap_size)
                n += snprintf(cmd + n, sizeof cmd - (size_t)n, " SIZE=%zu", size);
            if (s->cap_8bitmime && cl_is_8bit(req))
                n += snprintf(cmd + n, sizeof cmd - (size_t)n, " BODY=8BITMIME");
            if (svc->auth == STM_AUTH_FORWARD && s->cap_auth) {
                char xt[160];
                cl_xtext(req->auth_forward ? req->auth_forward : "", xt, sizeof xt);
                snprintf(cmd + n, sizeof cmd - (size_t)n, " AUTH=%s", xt[0] ? xt : "<>");
            }
            int crc = cl_command(s, phase, cmd, NULL, &r);
            if (s->reused && (crc != 0 || r.code == 421)) {
                /* The pooled connection went away meanwhile: a fresh one. */
                cl_log(s, "service=%s %s: reused connection is gone, connecting again", svc->name,
                       s->target->text);
                cl_close(s);
                s->cap_size = s->cap_8bitmime = s->cap_auth = false;
                s->reused = false;
                phase = PH_CONNECT;
                break;
            }
            if (crc != 0)
                goto next_target;
            if (r.code / 100 != 2) {
                phase = PH_QUIT;
                out = CL_DONE;
                res->status = STM_SMTP_REJECTED;
                if (cl_keep_reply(&res->reply, &r) != 0)
                    out = CL_NOMEM;
                break;
            }
            phase = PH_RCPT;
            break;
        }
        case PH_RCPT:
            accepted = 0;
            for (size_t i = 0; i < req->nrcpts; i++) {
                int n = snprintf(cmd, sizeof cmd, "RCPT TO:<%s>", req->rcpts[i]);
                if (n < 0 || (size_t)n >= sizeof cmd) {
                    res->rcpts[i].reply.code = 0;
                    continue;
                }
                if (cl_command(s, phase, cmd, NULL, &r) != 0)
                    goto next_target;
                if (cl_keep_reply(&res->rcpts[i].reply, &r) != 0) {
                    out = CL_NOMEM;
                    goto next_target;
                }
                res->rcpts[i].accepted = r.code / 100 == 2;
                if (res->rcpts[i].accepted)
                    accepted++;
                else
                    cl_log(s, "service=%s %s: recipient <%s> refused: %d %s", svc->name,
                           s->target->text, req->rcpts[i], r.code, r.text);
            }
            if (accepted == 0) {
                phase = PH_QUIT;
                out = CL_DONE;
                res->status = STM_SMTP_REJECTED;
                if (r.code == 0) {
                    cl_fail(s, phase, "no recipient to send to");
                    res->status = STM_SMTP_FAILED;
                } else if (cl_keep_reply(&res->reply, &r) != 0)
                    out = CL_NOMEM;
                break;
            }
            phase = PH_DATA;
            break;
        case PH_DATA:
            if (cl_command(s, phase, "DATA", NULL, &r) != 0)
                goto next_target;
            if (r.code == 354) {
                phase = PH_BODY;
                break;
            }
            if (r.code / 100 == 4 || r.code / 100 == 5) {
                phase = PH_QUIT;
                out = CL_DONE;
                res->status = STM_SMTP_REJECTED;
                if (cl_keep_reply(&res->reply, &r) != 0)
                    out = CL_NOMEM;
                break;
            }
            cl_fail(s, phase, "unexpected reply %d to DATA", r.code);
            phase = PH_QUIT;
            break;
        case PH_BODY:
            if (cl_send_body(s) != 0)
                goto next_target;
            res->data_sent = true;
            phase = PH_FINAL;
            break;
        case PH_FINAL: {
            /* From here on the scanner may hold the message: never retry. */
            uint64_t deadline = stm_clock_ms() + svc->submission_timeout_ms;
            size_t want = lmtp ? accepted : 1, got_ok = 0, got = 0;
            out = CL_DONE;
            for (size_t i = 0; i < req->nrcpts && got < want; i++) {
                if (lmtp && !res->rcpts[i].accepted)
                    continue;
                if (cl_reply(s, phase, deadline, &r) != 0)
                    break;
                got++;
                if (r.code / 100 == 2)
                    got_ok++;
                if (lmtp) {
                    if (cl_keep_reply(&res->rcpts[i].reply, &r) != 0)
                        out = CL_NOMEM;
                    res->rcpts[i].accepted = r.code / 100 == 2;
                    if (!res->rcpts[i].accepted)
                        cl_log(s, "service=%s %s: LMTP recipient <%s> refused: %d %s", svc->name,
                               s->target->text, req->rcpts[i], r.code, r.text);
                }
                if (cl_keep_reply(&res->reply, &r) != 0)
                    out = CL_NOMEM;
            }
            res->final_ms = stm_clock_ms();
            if (got == 0) {
                res->status = STM_SMTP_FAILED; /* s->err says why */
                phase = PH_DONE;
                break;
            }
            if (got < want)
                cl_log(s, "service=%s %s: only %zu of %zu LMTP replies: %s", svc->name,
                       s->target->text, got, want, s->err);
            res->status = got_ok > 0 ? STM_SMTP_ACCEPTED : STM_SMTP_REJECTED;
            phase = got < want ? PH_DONE : PH_QUIT;
            if (req->reuse && got == want && got_ok == got && !s->tls && s->ssl == NULL &&
                s->in_pos == s->in_len) {
                cl_pool_put(s); /* instead of QUIT: the next message starts at MAIL */
                phase = PH_DONE;
            }
            break;
        }
        case PH_QUIT: {
            /* Politeness only: a short deadline, and the answer does not matter. */
            uint64_t limit = svc->command_timeout_ms < 2000 ? svc->command_timeout_ms : 2000;
            if (req->transcript)
                cl_log(s, "> QUIT");
            if (cl_write(s, phase, "QUIT\r\n", 6, stm_clock_ms() + limit) == 0) {
                char saved[sizeof s->err];
                memcpy(saved, s->err, sizeof saved);
                cl_reply(s, phase, stm_clock_ms() + limit, &r);
                memcpy(s->err, saved, sizeof saved);
            }
            phase = PH_DONE;
            break;
        }
        case PH_DONE:
            break;
        }
    }
    cl_reply_clear(&r);
    cl_forget_lines(s);
    return out;

next_target:
    cl_reply_clear(&r);
    cl_forget_lines(s);
    return out == CL_NOMEM ? CL_NOMEM : CL_NEXT_TARGET;
}

/* Send the message of REQ to the first usable target. */
int
stm_smtp_send(const stm_smtp_request *req, stm_smtp_result *res)
{
    cl_session *s = calloc(1, sizeof *s);
    int rc = 0;

    memset(res, 0, sizeof *res);
    res->status = STM_SMTP_FAILED;
    if (s == NULL)
        return -1;
    sigset_t pipe_set, old_mask;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
    s->req = req;
    s->svc = req->service;
    s->res = res;
    s->fd = -1;
    s->next_progress = stm_clock_ms() + (req->progress_interval_ms ? req->progress_interval_ms : 10000);
    snprintf(s->err, sizeof s->err, "service has no target");
    bool done = false;
    for (size_t t = 0; t < s->svc->ntargets && !done; t++) {
        s->target = &s->svc->targets[t];
        s->use_starttls = true;
        s->reused = s->pool_tried = false;
        free(res->target);
        res->target = strdup(s->target->text);
        for (;;) {
            cl_outcome o = cl_attempt(s);
            cl_close(s);
            if (o == CL_RETRY_PLAIN) {
                cl_log(s, "service=%s %s: retrying without STARTTLS", s->svc->name,
                       s->target->text);
                s->use_starttls = false;
                continue;
            }
            if (o == CL_NOMEM) {
                rc = -1;
                done = true;
            } else if (o == CL_DONE) {
                done = true;
            }
            break;
        }
    }
    if (!done || res->status == STM_SMTP_FAILED) {
        res->status = STM_SMTP_FAILED;
        free(res->error);
        res->error = strdup(s->err);
    }
    if (res->target == NULL && s->svc->ntargets > 0)
        rc = -1;
    SSL_CTX_free(s->ssl_ctx);
    free(s);
    if (!sigismember(&old_mask, SIGPIPE)) {
        /* A SIGPIPE our writes raised must not hit the caller on unblocking. */
        sigset_t pending;
        struct timespec zero = {0, 0};
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
            sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

/* Free what RES owns and empty it. */
void
stm_smtp_result_clear(stm_smtp_result *res)
{
    cl_reply_clear(&res->reply);
    free(res->error);
    free(res->target);
    for (size_t i = 0; i < res->nrcpts; i++) {
        free(res->rcpts[i].rcpt);
        cl_reply_clear(&res->rcpts[i].reply);
    }
    free(res->rcpts);
    memset(res, 0, sizeof *res);
}
