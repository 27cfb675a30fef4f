/*
 * io.c - the connection of an SMTP/LMTP session: connect with a deadline,
 * read a line, write, wait; plain or over TLS (session.h).
 *
 * Functions: stm_smtp_log, stm_smtp_fail, stm_smtp_io_wait,
 * stm_smtp_io_connect, stm_smtp_io_close, stm_smtp_io_peer_is_loopback,
 * stm_smtp_io_read_line, stm_smtp_io_read_to, stm_smtp_io_read_n, stm_smtp_io_write.
 * Targets are TCP (host, port) or, for clamd, a local socket (unix:PATH).
 *
 * Sockets are non-blocking; every wait is a poll() bounded by the caller's
 * deadline for the phase, and the request's progress callback runs every
 * progress_interval_ms meanwhile. Lines are bounded by STM_SMTP_MAX_LINE.
 *
 * Ownership: the session owns its socket and SSL; stm_smtp_io_close() frees
 * both.
 *
 * Errors: -1 with the reason (target, phase, sanitised text) in s->err.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "delegate/smtp/session.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"

static const char *const io_phase_names[] = {
    [STM_SMTP_PH_CONNECT] = "connect", [STM_SMTP_PH_GREETING] = "greeting",
    [STM_SMTP_PH_HELLO] = "hello",     [STM_SMTP_PH_STARTTLS] = "starttls",
    [STM_SMTP_PH_AUTH] = "auth",       [STM_SMTP_PH_MAIL] = "mail",
    [STM_SMTP_PH_RCPT] = "rcpt",       [STM_SMTP_PH_DATA] = "data",
    [STM_SMTP_PH_BODY] = "body",       [STM_SMTP_PH_FINAL] = "final",
    [STM_SMTP_PH_QUIT] = "quit",       [STM_SMTP_PH_DONE] = "done"};

/* Send one formatted line, cleaned, to the request's log callback. */
void __attribute__((format(printf, 2, 3))) stm_smtp_log(stm_smtp_session *s, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (s->req->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Lines quote the scanner's replies: peer text, cleaned in this one
     * place whatever the caller formatted in. */
    stm_text_clean_inplace(line, 0);
    s->req->log(s->req->log_arg, line);
}

/* Record why the current attempt failed (sanitised, with target and phase). */
void __attribute__((format(printf, 3, 4)))
stm_smtp_fail(stm_smtp_session *s, stm_smtp_phase phase, const char *fmt, ...)
{
    char text[400], clean[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    stm_text_clean(clean, sizeof clean, text, 0, STM_TEXT_ELLIPSIS);
    snprintf(s->err, sizeof s->err, "%s: %s: %s", s->target->text, io_phase_names[phase], clean);
    stm_smtp_log(s, "service=%s %s", s->svc->name, s->err);
}

/* Wait until the socket is ready for EVENTS or DEADLINE; calls progress.
 * Returns 1 ready, 0 deadline passed, -1 poll error. */
int
stm_smtp_io_wait(stm_smtp_session *s, short events, uint64_t deadline)
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
        /* poll() takes an int: wait in slices of at most a minute, so no
         * deadline, however far, is cut to a negative (endless) timeout. */
        uint64_t slice = until - now < 60000 ? until - now : 60000;
        struct pollfd p = {.fd = s->fd, .events = events, .revents = 0};
        int rc = poll(&p, 1, (int)slice);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0)
            return 1;
    }
}

/* Drop the connection, TLS state and buffered input. */
void
stm_smtp_io_close(stm_smtp_session *s)
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
bool
stm_smtp_io_peer_is_loopback(stm_smtp_session *s)
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

/* Connect to the local socket at the target's path (unix:PATH). 0 or -1. */
static int
io_connect_unix(stm_smtp_session *s, uint64_t deadline)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    const char *why;

    if (strlen(s->target->host) >= sizeof sun.sun_path) {
        stm_smtp_fail(s, STM_SMTP_PH_CONNECT, "socket path too long");
        return -1;
    }
    memcpy(sun.sun_path, s->target->host, strlen(s->target->host) + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        stm_smtp_fail(s, STM_SMTP_PH_CONNECT, "%s", strerror(errno));
        return -1;
    }
    if (connect(s->fd, (struct sockaddr *)&sun, sizeof sun) == 0)
        return 0;
    why = strerror(errno);
    if (errno == EAGAIN || errno == EINPROGRESS) {
        /* A full listen queue: wait for room until the deadline. */
        int w = stm_smtp_io_wait(s, POLLOUT, deadline);
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (w == 1 && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
            return 0;
        why = w == 0 ? "timed out" : strerror(soerr ? soerr : errno);
    }
    close(s->fd);
    s->fd = -1;
    stm_smtp_fail(s, STM_SMTP_PH_CONNECT, "%s", why);
    return -1;
}

/* Connect to the target's addresses in turn before DEADLINE. 0 or -1. */
int
stm_smtp_io_connect(stm_smtp_session *s, uint64_t deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    const char *why = "no address";

    if (s->target->unix_socket)
        return io_connect_unix(s, deadline);

    /* An address (the usual target, 127.0.0.1) is read as it is: without
     * AI_ADDRCONFIG's netlink round trip, eight system calls a message. A
     * name goes to the resolver, bounded by its own timeouts. */
    int rc = getaddrinfo(s->target->host, s->target->port, &hints, &ai);
    if (rc != 0) {
        hints.ai_flags = AI_ADDRCONFIG;
        rc = getaddrinfo(s->target->host, s->target->port, &hints, &ai);
    }
    if (rc != 0) {
        hints.ai_flags = 0; /* AI_ADDRCONFIG hides 127.0.0.1 when only lo is up */
        rc = getaddrinfo(s->target->host, s->target->port, &hints, &ai);
    }
    if (rc != 0) {
        stm_smtp_fail(s, STM_SMTP_PH_CONNECT, "cannot resolve: %s", gai_strerror(rc));
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
            int w = stm_smtp_io_wait(s, POLLOUT, deadline);
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
    stm_smtp_fail(s, STM_SMTP_PH_CONNECT, "%s", why);
    return -1;
}

/* Read more bytes into the input buffer. >0 bytes, 0 EOF, -1 error, -2 timeout. */
static int
io_fill(stm_smtp_session *s, uint64_t deadline)
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
        int w = stm_smtp_io_wait(s, ev, deadline);
        if (w == 0)
            return -2;
        if (w < 0)
            return -1;
    }
}

/* io_fill() for a reply: a timeout, a close (CLOSED says what it cut
 * short; NULL: a close is the end of the reply, 0) or an error is recorded
 * in s->err as a failure of PHASE. >0 bytes read, 0 closed, -1 failed. */
static int
io_fill_reply(stm_smtp_session *s, stm_smtp_phase phase, uint64_t deadline, const char *closed)
{
    int r = io_fill(s, deadline);
    if (r == -2) {
        stm_smtp_fail(s, phase, "timed out waiting for the reply");
        return -1;
    }
    if (r == 0 && closed != NULL) {
        stm_smtp_fail(s, phase, "connection closed by the server%s", closed);
        return -1;
    }
    if (r < 0) {
        char ebuf[256];
        stm_smtp_fail(s, phase, "read failed: %s", stm_smtp_tls_error(s, ebuf, sizeof ebuf));
        return -1;
    }
    return r;
}

/* Read one line (CRLF or LF stripped) into LINE (STM_SMTP_MAX_LINE + 1).
 * Returns its length, or -1 with the reason in s->err. */
int
stm_smtp_io_read_line(stm_smtp_session *s, stm_smtp_phase phase, char *line, uint64_t deadline)
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
                stm_smtp_fail(s, phase, "reply line longer than %d bytes", STM_SMTP_MAX_LINE);
                return -1;
            }
            memcpy(line, start, n);
            line[n] = '\0';
            return (int)n;
        }
        if (avail > STM_SMTP_MAX_LINE + 1) {
            stm_smtp_fail(s, phase, "reply line longer than %d bytes", STM_SMTP_MAX_LINE);
            return -1;
        }
        if (io_fill_reply(s, phase, deadline, "") < 0)
            return -1;
    }
}

/* Read into OUT (capacity MAX + 1) up to the byte DELIM (not kept), or
 * with DELIM -1 up to the end of the connection; OUT is NUL-terminated.
 * Used by the scanner protocols that are not SMTP (clamd, spamd, HTTP).
 * Returns the length, or -1 with the reason in s->err: a reply longer than
 * MAX (nothing more is read: memory stays bounded), the connection closed
 * before DELIM, a timeout, a read error. */
long
stm_smtp_io_read_to(stm_smtp_session *s, stm_smtp_phase phase, int delim, char *out, size_t max,
                    uint64_t deadline)
{
    size_t n = 0;

    for (;;) {
        const char *start = s->in + s->in_pos;
        size_t avail = s->in_len - s->in_pos;
        const char *hit = delim >= 0 ? memchr(start, delim, avail) : NULL;
        size_t take = hit != NULL ? (size_t)(hit - start) : avail;
        if (n + take > max) {
            stm_smtp_fail(s, phase, "reply longer than %zu bytes", max);
            return -1;
        }
        memcpy(out + n, start, take);
        n += take;
        s->in_pos += take + (hit != NULL ? 1 : 0);
        out[n] = '\0';
        if (hit != NULL)
            return (long)n;
        int r = io_fill_reply(s, phase, deadline,
                              delim < 0 ? NULL : " in the middle of the reply");
        if (r < 0)
            return -1;
        if (r == 0)
            return (long)n; /* to the end of the connection: here it is */
    }
}

/* Read exactly LEN bytes into OUT before DEADLINE. 0, or -1 with s->err. */
int
stm_smtp_io_read_n(stm_smtp_session *s, stm_smtp_phase phase, char *out, size_t len,
                   uint64_t deadline)
{
    size_t n = 0;

    while (n < len) {
        size_t avail = s->in_len - s->in_pos;
        size_t take = avail < len - n ? avail : len - n;
        memcpy(out + n, s->in + s->in_pos, take);
        n += take;
        s->in_pos += take;
        if (n == len)
            break;
        if (io_fill_reply(s, phase, deadline, " in the middle of the reply") < 0)
            return -1;
    }
    return 0;
}

/* Write all of DATA before DEADLINE. 0, or -1 with s->err set. */
int
stm_smtp_io_write(stm_smtp_session *s, stm_smtp_phase phase, const char *data, size_t len,
                  uint64_t deadline)
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
                stm_smtp_fail(s, phase, "write failed: %s",
                              stm_smtp_tls_error(s, ebuf, sizeof ebuf));
                return -1;
            }
        } else {
            ssize_t r = send(s->fd, data + done, len - done, MSG_NOSIGNAL);
            if (r > 0) {
                done += (size_t)r;
                continue;
            }
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                stm_smtp_fail(s, phase, "write failed: %s", strerror(errno));
                return -1;
            }
        }
        int w = stm_smtp_io_wait(s, ev, deadline);
        if (w != 1) {
            stm_smtp_fail(s, phase, "write %s", w == 0 ? "timed out" : "poll failed");
            return -1;
        }
    }
    return 0;
}
