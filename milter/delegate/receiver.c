/*
 * receiver.c - the SMTP listener where delegated messages come back
 * (receiver.h).
 *
 * Functions: stm_receiver_start, stm_receiver_port,
 * stm_receiver_message_limit, stm_receiver_get_stats, stm_receiver_stop.
 *
 * Dialogue per connection: a client outside receiver.allow gets "554" and
 * is closed; others a 220 greeting; EHLO/HELO; MAIL and RCPT always 250 (at
 * most 1000 recipients); DATA 354, then the data is read in blocks with
 * dot-unstuffing up to the message limit (max_message_size plus the margin
 * of limits.h; beyond it, or beyond the memory budget shared by every
 * connection, the buffer is freed, the rest is read and dropped, answer 552
 * or 452); the message is handed to the ticket registry: 250 when a pending
 * delegation took it, 550 otherwise. RSET, NOOP, QUIT, VRFY as RFC 5321
 * wants; anything else 502. Command lines longer than 2048 bytes get 500;
 * ten errors in a row end the connection with 421, and so does one error
 * with more input already sent behind it (PIPELINING is not offered). The session and the DATA
 * phase each have an absolute deadline (receiver.session_timeout,
 * receiver.data_timeout): a client trickling bytes is cut with 421 there.
 *
 * Threads: the accept thread and the connection threads all poll a "stop"
 * pipe besides their socket, so stm_receiver_stop() wakes them at once.
 * Connection threads are detached and counted; stop waits (with a deadline)
 * until the count is zero before freeing.
 *
 * Ownership: a message being received belongs to its connection thread
 * until stm_ticket_deliver() takes it.
 *
 * Errors: start-up problems are returned as text; a failure on a
 * connection closes that connection only.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "delegate/receiver.h"
#include "stagemilter/clock.h"
#include "stagemilter/text.h"
#include "stagemilter/limits.h"

struct stm_receiver {
    stm_receiver_options opt; /* copied; strings below are owned copies */
    char *hostname;
    stm_receiver_network *allow; /* owned copy of receiver.allow */
    size_t nallow;
    uint64_t session_ms, data_ms; /* the absolute deadlines' lengths */
    uint64_t limit;               /* largest message taken (with the margin) */
    uint64_t budget;              /* message bytes all connections may hold */
    stm_ticket_registry *reg;
    int listen_fd;
    int wake[2]; /* written once on stop, never read: wakes every poll */
    unsigned port;
    pthread_t acceptor;
    /* Guards `active`, `stats`, `stopping` and `held`; `idle` is
     * signalled when `active` drops. */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned active;
    bool stopping;
    uint64_t held; /* bytes allocated to messages being received, <= budget */
    stm_receiver_stats stats;
};

typedef struct rcv_conn {
    stm_receiver *rcv;
    int fd;
    char peer[80];
    char in[16384]; /* received, not yet consumed: in[pos..len) */
    size_t pos, len;
    uint64_t deadline; /* the session's, or the data phase's while in DATA */
    size_t cap;        /* bytes allocated to d.data, counted in rcv->held */
    /* The transaction. */
    bool have_mail;
    stm_ticket_delivery d;
    size_t rcpt_cap;
} rcv_conn;

/* Log one formatted line through the options' callback. */
static void __attribute__((format(printf, 2, 3))) rcv_log(stm_receiver *rcv, const char *fmt, ...)
{
    char line[600];
    va_list ap;

    if (rcv->opt.log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    stm_text_clean_inplace(line, 0);
    rcv->opt.log(rcv->opt.log_arg, line);
}

/* Add N to one counter under the lock. */
static void
rcv_count(stm_receiver *rcv, uint64_t *counter)
{
    pthread_mutex_lock(&rcv->lock);
    (*counter)++;
    pthread_mutex_unlock(&rcv->lock);
}

/* Wait for EVENTS on FD or the stop pipe until DEADLINE. 1 ready, 0 timeout,
 * -1 stop or error. */
static int
rcv_wait(stm_receiver *rcv, int fd, short events, uint64_t deadline)
{
    for (;;) {
        uint64_t now = stm_clock_ms();
        if (now >= deadline)
            return 0;
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = rcv->wake[0], .events = POLLIN}};
        int rc = poll(p, 2, (int)(deadline - now));
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0)
            return p[1].revents ? -1 : 1;
    }
}

/* Write all of TEXT to the client. 0 or -1. */
static int
rcv_write(rcv_conn *c, const char *text)
{
    size_t len = strlen(text), done = 0;
    uint64_t deadline = stm_clock_ms() + c->rcv->opt.idle_timeout_ms;

    while (done < len) {
        ssize_t r = send(c->fd, text + done, len - done, MSG_NOSIGNAL);
        if (r > 0) {
            done += (size_t)r;
            continue;
        }
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        if (rcv_wait(c->rcv, c->fd, POLLOUT, deadline) != 1)
            return -1;
    }
    return 0;
}

/* Read a block of input. >0 bytes, 0 EOF, -1 error/stop, -2 a deadline. */
static int
rcv_fill(rcv_conn *c)
{
    if (c->pos > 0) {
        memmove(c->in, c->in + c->pos, c->len - c->pos);
        c->len -= c->pos;
        c->pos = 0;
    }
    uint64_t now = stm_clock_ms(), deadline = now + c->rcv->opt.idle_timeout_ms;
    /* Absolute: neither trickling bytes nor a flood that is always ready
     * to read extends it. */
    if (now >= c->deadline)
        return -2;
    if (deadline > c->deadline)
        deadline = c->deadline;
    for (;;) {
        ssize_t r = recv(c->fd, c->in + c->len, sizeof c->in - c->len, 0);
        if (r > 0) {
            /* ACK at once: a scanner that writes a command in pieces without
             * TCP_NODELAY (clamsmtpd) would otherwise wait for our delayed
             * ACK (~40 ms on Linux) before sending the rest. The kernel
             * forgets the setting, so it is renewed after every read. */
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
            c->len += (size_t)r;
            return (int)r;
        }
        if (r == 0)
            return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return -1;
        int w = rcv_wait(c->rcv, c->fd, POLLIN, deadline);
        if (w == 0)
            return -2;
        if (w < 0)
            return -1;
    }
}

/* Read a command line into LINE (STM_SMTP_MAX_LINE + 1). Returns its length,
 * -3 when it was too long (and was skipped), -4 at EOF, -1 on error or
 * stop, -2 at a deadline. */
static int
rcv_read_line(rcv_conn *c, char *line)
{
    bool skipping = false;
    for (;;) {
        char *start = c->in + c->pos;
        size_t avail = c->len - c->pos;
        char *nl = memchr(start, '\n', avail);
        if (nl != NULL) {
            size_t n = (size_t)(nl - start);
            c->pos += n + 1;
            if (skipping)
                return -3;
            if (n > 0 && start[n - 1] == '\r')
                n--;
            if (n > STM_SMTP_MAX_LINE)
                return -3;
            memcpy(line, start, n);
            line[n] = '\0';
            return (int)n;
        }
        if (avail > STM_SMTP_MAX_LINE + 1) {
            skipping = true;
            c->pos = c->len;
        }
        int r = rcv_fill(c);
        if (r == 0)
            return -4; /* EOF: distinct from an empty line */
        if (r < 0)
            return r;
    }
}

/* Take N bytes of the memory budget: 0, or -1 when it is used up. */
static int
rcv_reserve(stm_receiver *rcv, uint64_t n)
{
    pthread_mutex_lock(&rcv->lock);
    int rc = rcv->held + n <= rcv->budget ? 0 : -1;
    if (rc == 0)
        rcv->held += n;
    pthread_mutex_unlock(&rcv->lock);
    return rc;
}

/* Free the message buffer and give its bytes back to the budget. */
static void
rcv_drop_data(rcv_conn *c)
{
    free(c->d.data);
    c->d.data = NULL;
    c->d.len = 0;
    pthread_mutex_lock(&c->rcv->lock);
    c->rcv->held -= c->cap;
    pthread_mutex_unlock(&c->rcv->lock);
    c->cap = 0;
}

/* Forget the transaction. */
static void
rcv_reset(rcv_conn *c)
{
    rcv_drop_data(c);
    stm_ticket_delivery_clear(&c->d);
    c->have_mail = false;
    c->rcpt_cap = 0;
}

/* The address inside <...> after "FROM:"/"TO:" in ARG, copied; NULL if bad. */
static char *
rcv_address(const char *arg)
{
    while (*arg == ' ')
        arg++;
    if (*arg != '<')
        return NULL;
    const char *end = strchr(arg, '>');
    if (end == NULL)
        return NULL;
    return strndup(arg + 1, (size_t)(end - arg - 1));
}

/* What became of a message being read. */
typedef enum rcv_data_state { RCV_DATA_OK, RCV_DATA_TOO_BIG, RCV_DATA_NO_MEMORY } rcv_data_state;

/* Append N bytes at P to the message while it is within the limit and the
 * budget; otherwise free it and set *ST. 0, or -1 out of memory. */
static int
rcv_append(rcv_conn *c, const char *p, size_t n, rcv_data_state *st)
{
    stm_receiver *rcv = c->rcv;

    if (*st != RCV_DATA_OK || n == 0)
        return 0;
    if ((uint64_t)c->d.len + n > rcv->limit) {
        *st = RCV_DATA_TOO_BIG;
        rcv_drop_data(c);
        rcv_count(rcv, &rcv->stats.too_big);
        rcv_log(rcv,
                "receiver: peer=%s refused: message larger than %llu bytes "
                "(max_message_size and the margin for what scanners add)",
                c->peer, (unsigned long long)rcv->limit);
        return 0;
    }
    size_t need = c->d.len + n + 1; /* and the NUL */
    if (need > c->cap) {
        /* Grow by doubling, but at most by a step: the budget counts what
         * is allocated, so it must stay close to what was received. */
        size_t grow = c->cap < STM_RECEIVER_GROW_STEP ? c->cap : STM_RECEIVER_GROW_STEP;
        size_t ncap = c->cap + (grow > 65536 ? grow : 65536);
        if (ncap < need)
            ncap = need;
        if (ncap > rcv->limit + 1)
            ncap = (size_t)rcv->limit + 1;
        if (rcv_reserve(rcv, ncap - c->cap) != 0) {
            *st = RCV_DATA_NO_MEMORY;
            uint64_t had = c->d.len;
            rcv_drop_data(c);
            rcv_count(rcv, &rcv->stats.no_memory);
            rcv_log(rcv,
                    "receiver: peer=%s refused after %llu bytes: the receiver's memory budget "
                    "of %llu bytes is in use by other connections",
                    c->peer, (unsigned long long)had, (unsigned long long)rcv->budget);
            return 0;
        }
        char *nd = realloc(c->d.data, ncap);
        if (nd == NULL) {
            pthread_mutex_lock(&rcv->lock);
            rcv->held -= ncap - c->cap;
            pthread_mutex_unlock(&rcv->lock);
            return -1;
        }
        c->d.data = nd;
        c->cap = ncap;
    }
    memcpy(c->d.data + c->d.len, p, n);
    c->d.len += n;
    return 0;
}

/* Read the data up to the lone "." with unstuffing, whole lines at a time.
 * 0 complete (*ST says whether it was kept), -1 lost the connection, out
 * of memory or -2 the data deadline passed. */
static int
rcv_read_data(rcv_conn *c, rcv_data_state *st)
{
    enum { LS, DOT, DOTCR, MID } at = LS;

    *st = RCV_DATA_OK;
    rcv_drop_data(c);
    for (;;) {
        while (c->pos < c->len) {
            const char *p = c->in + c->pos;
            size_t avail = c->len - c->pos;
            int rc = 0;
            if (at == MID) {
                /* The rest of a line in one copy. */
                const char *nl = memchr(p, '\n', avail);
                size_t n = nl != NULL ? (size_t)(nl - p) + 1 : avail;
                rc = rcv_append(c, p, n, st);
                c->pos += n;
                if (nl != NULL)
                    at = LS;
            } else {
                char ch = *p;
                c->pos++;
                switch (at) {
                case LS:
                    if (ch == '.') {
                        at = DOT;
                        break;
                    }
                    c->pos--; /* the line goes in whole */
                    at = MID;
                    break;
                case DOT:
                    if (ch == '\r') {
                        at = DOTCR;
                        break;
                    }
                    if (ch == '\n')
                        goto end;
                    c->pos--; /* ".." -> ".": the rest of the line from the second dot */
                    at = MID;
                    break;
                case DOTCR:
                    if (ch == '\n')
                        goto end;
                    rc = rcv_append(c, "\r", 1, st);
                    c->pos--;
                    at = MID;
                    break;
                case MID:
                    break;
                }
            }
            if (rc != 0)
                return -1;
        }
        int r = rcv_fill(c);
        if (r == -2)
            return -2;
        if (r <= 0)
            return -1;
    }
end:
    if (*st == RCV_DATA_OK && c->d.data != NULL)
        c->d.data[c->d.len] = '\0'; /* room was kept: for the token search */
    return 0;
}

/* The message is in: hand it to its delegation or refuse it. */
static int
rcv_finish_data(rcv_conn *c, rcv_data_state st)
{
    stm_receiver *rcv = c->rcv;
    size_t len = c->d.len;

    if (st == RCV_DATA_TOO_BIG) { /* counted and logged when it happened */
        rcv_reset(c);
        return rcv_write(c, "552 5.3.4 Message too big\r\n");
    }
    if (st == RCV_DATA_NO_MEMORY) {
        rcv_reset(c);
        return rcv_write(c, "452 4.3.1 Insufficient system storage, try again later\r\n");
    }
    if (c->d.data == NULL) {
        c->d.data = strdup("");
        if (c->d.data == NULL)
            return -1;
    }
    c->d.peer = strdup(c->peer);
    if (stm_ticket_deliver(rcv->reg, &c->d) == 0) {
        /* The waiting delegation owns the bytes now, not this connection. */
        pthread_mutex_lock(&rcv->lock);
        rcv->held -= c->cap;
        pthread_mutex_unlock(&rcv->lock);
        c->cap = 0;
        rcv_count(rcv, &rcv->stats.delivered);
        rcv_log(rcv, "receiver: peer=%s size=%zu delivered to its pending delegation", c->peer,
                len);
        rcv_reset(c);
        return rcv_write(c, "250 2.0.0 Ok: delivered to its pending delegation\r\n");
    }
    rcv_count(rcv, &rcv->stats.refused);
    rcv_log(rcv, "receiver: peer=%s size=%zu refused: no pending delegation matches", c->peer, len);
    rcv_reset(c);
    return rcv_write(c, "550 5.7.1 No pending delegation for this message\r\n");
}

/* Does LINE start with command CMD (case-insensitive, then end or space/colon)? */
static bool
rcv_is(const char *line, const char *cmd)
{
    size_t n = strlen(cmd);
    return strncasecmp(line, cmd, n) == 0 && (line[n] == '\0' || line[n] == ' ' || line[n] == ':');
}

/* MAIL FROM in LINE: the reply; *ERROR set when it counts as an error. */
static const char *
rcv_mail(rcv_conn *c, const char *line, bool *error)
{
    char *a = strncasecmp(line, "MAIL FROM:", 10) == 0 ? rcv_address(line + 10) : NULL;
    const char *r;
    if (c->have_mail) {
        r = "503 5.5.1 Nested MAIL command\r\n";
        *error = true;
    } else if (a == NULL) {
        r = "501 5.5.4 Syntax: MAIL FROM:<address>\r\n";
        *error = true;
    } else {
        c->d.mail_from = a;
        a = NULL;
        c->have_mail = true;
        r = "250 2.1.0 Ok\r\n";
    }
    free(a);
    return r;
}

/* RCPT TO in LINE: the reply; *ERROR set when it counts as an error. NULL
 * when out of memory: "421" is sent then, and the connection ends. */
static const char *
rcv_rcpt(rcv_conn *c, const char *line, bool *error)
{
    char *a = strncasecmp(line, "RCPT TO:", 8) == 0 ? rcv_address(line + 8) : NULL;
    const char *r;
    if (!c->have_mail) {
        r = "503 5.5.1 Need MAIL first\r\n";
        *error = true;
    } else if (a == NULL) {
        r = "501 5.5.4 Syntax: RCPT TO:<address>\r\n";
        *error = true;
    } else if (c->d.nrcpts >= STM_RECEIVER_MAX_RCPTS) {
        r = "452 4.5.3 Too many recipients\r\n";
    } else {
        if (c->d.nrcpts == c->rcpt_cap) {
            size_t ncap = c->rcpt_cap ? c->rcpt_cap * 2 : 4;
            char **nr = realloc(c->d.rcpts, ncap * sizeof *nr);
            if (nr == NULL) {
                free(a);
                rcv_write(c, "421 4.3.0 Out of memory\r\n");
                return NULL;
            }
            c->d.rcpts = nr;
            c->rcpt_cap = ncap;
        }
        c->d.rcpts[c->d.nrcpts++] = a;
        a = NULL;
        r = "250 2.1.5 Ok\r\n";
    }
    free(a);
    return r;
}

/* Serve one connection until QUIT, EOF, timeout or stop. */
static void
rcv_serve(rcv_conn *c)
{
    stm_receiver *rcv = c->rcv;
    char line[STM_SMTP_MAX_LINE + 1];
    char reply[STM_SMTP_MAX_LINE + 64];
    int errors = 0;
    uint64_t session_deadline = stm_clock_ms() + rcv->session_ms;

    c->deadline = session_deadline;
    snprintf(reply, sizeof reply, "220 %s ESMTP stagemilter receiver\r\n", rcv->hostname);
    if (rcv_write(c, reply) != 0)
        return;
    for (;;) {
        int n = rcv_read_line(c, line);
        if (n == -2) {
            bool whole = stm_clock_ms() >= session_deadline;
            rcv_count(rcv, &rcv->stats.timed_out);
            rcv_log(rcv, "receiver: peer=%s closed: %s", c->peer,
                    whole ? "receiver.session_timeout passed" : "idle timeout");
            rcv_write(c, whole ? "421 4.4.2 Session too long, closing\r\n"
                               : "421 4.4.2 Idle timeout, closing\r\n");
            return;
        }
        if (n == -1) {
            rcv_write(c, "421 4.3.0 Shutting down\r\n");
            return;
        }
        const char *r = NULL;
        bool error = false;
        if (n == -3) {
            r = "500 5.5.2 Line too long\r\n";
            error = true;
        } else if (n < 0) {
            return; /* EOF */
        } else if (rcv_is(line, "EHLO")) {
            rcv_reset(c);
            snprintf(reply, sizeof reply,
                     "250-%s\r\n250-SIZE %llu\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
                     rcv->hostname, (unsigned long long)rcv->limit);
            r = reply;
        } else if (rcv_is(line, "HELO") || rcv_is(line, "LHLO")) {
            rcv_reset(c);
            snprintf(reply, sizeof reply, "250 %s\r\n", rcv->hostname);
            r = reply;
        } else if (rcv_is(line, "MAIL")) {
            r = rcv_mail(c, line, &error);
        } else if (rcv_is(line, "RCPT")) {
            if ((r = rcv_rcpt(c, line, &error)) == NULL)
                return;
        } else if (rcv_is(line, "DATA")) {
            if (!c->have_mail || c->d.nrcpts == 0) {
                r = "503 5.5.1 Need RCPT first\r\n";
                error = true;
            } else {
                rcv_data_state st;
                if (rcv_write(c, "354 End data with <CR><LF>.<CR><LF>\r\n") != 0)
                    return;
                uint64_t data_deadline = stm_clock_ms() + rcv->data_ms;
                c->deadline = data_deadline < session_deadline ? data_deadline : session_deadline;
                int rc = rcv_read_data(c, &st);
                c->deadline = session_deadline;
                if (rc == -2) {
                    rcv_count(rcv, &rcv->stats.timed_out);
                    rcv_log(rcv, "receiver: peer=%s closed in DATA after %zu bytes: %s passed",
                            c->peer, c->d.len,
                            stm_clock_ms() >= session_deadline ? "receiver.session_timeout"
                            : stm_clock_ms() >= data_deadline  ? "receiver.data_timeout"
                                                               : "the idle timeout");
                    rcv_reset(c);
                    rcv_write(c, "421 4.4.2 Timeout in DATA, closing\r\n");
                    return;
                }
                if (rc != 0 || rcv_finish_data(c, st) != 0)
                    return;
                errors = 0;
                continue;
            }
        } else if (rcv_is(line, "RSET")) {
            rcv_reset(c);
            r = "250 2.0.0 Ok\r\n";
        } else if (rcv_is(line, "NOOP")) {
            r = "250 2.0.0 Ok\r\n";
        } else if (rcv_is(line, "VRFY")) {
            r = "252 2.5.2 Cannot verify\r\n";
        } else if (rcv_is(line, "QUIT")) {
            rcv_write(c, "221 2.0.0 Bye\r\n");
            return;
        } else {
            r = "502 5.5.2 Command not recognised\r\n";
            error = true;
        }
        errors = error ? errors + 1 : 0;
        if (errors >= STM_RECEIVER_MAX_ERRORS) {
            rcv_write(c, "421 4.7.0 Too many errors\r\n");
            return;
        }
        if (rcv_write(c, r) != 0)
            return;
        if (error && c->pos < c->len) {
            /* A refused command and more already sent behind it: the
             * client does not wait for replies (no PIPELINING is offered),
             * so what follows is garbage too. Do not read it. */
            rcv_log(rcv, "receiver: peer=%s closed: pipelined input after a refused command",
                    c->peer);
            rcv_write(c, "421 4.5.0 Pipelined input after an error, closing\r\n");
            return;
        }
    }
}

/* Connection thread: serve, then close and uncount. */
static void *
rcv_conn_main(void *arg)
{
    rcv_conn *c = arg;
    stm_receiver *rcv = c->rcv;

    rcv_serve(c);
    rcv_reset(c);
    close(c->fd);
    free(c);
    pthread_mutex_lock(&rcv->lock);
    rcv->active--;
    pthread_cond_broadcast(&rcv->idle);
    pthread_mutex_unlock(&rcv->lock);
    return NULL;
}

/* Is the peer at SS inside receiver.allow? */
static bool
rcv_allowed(const stm_receiver *rcv, const struct sockaddr_storage *ss)
{
    uint8_t a[16] = {0};

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        a[10] = a[11] = 0xff; /* ::ffff:a.b.c.d, as the policy holds IPv4 */
        memcpy(a + 12, &in->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        memcpy(a, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    } else {
        return false;
    }
    for (size_t i = 0; i < rcv->nallow; i++) {
        const stm_receiver_network *n = &rcv->allow[i];
        unsigned bits = n->prefix, k = 0;
        for (; bits >= 8 && a[k] == n->addr[k]; k++, bits -= 8)
            ;
        if (bits == 0 || (bits < 8 && ((a[k] ^ n->addr[k]) & (0xff00u >> bits) & 0xff) == 0))
            return true;
    }
    return false;
}

/* Accept thread: take connections until stopped. */
static void *
rcv_accept_main(void *arg)
{
    stm_receiver *rcv = arg;

    for (;;) {
        struct pollfd p[2] = {{.fd = rcv->listen_fd, .events = POLLIN},
                              {.fd = rcv->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(rcv->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char host[64] = "?", port[16] = "?";
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV);
        if (!rcv_allowed(rcv, &ss)) {
            static const char msg[] = "554 5.7.1 Not a scanner of this host, go away\r\n";
            ssize_t ignored = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)ignored;
            close(fd);
            rcv_count(rcv, &rcv->stats.denied);
            rcv_log(rcv, "receiver: peer=%s:%s refused: not in receiver.allow", host, port);
            continue;
        }
        pthread_mutex_lock(&rcv->lock);
        bool busy = rcv->active >= rcv->opt.max_clients || rcv->stopping;
        if (busy)
            rcv->stats.busy++;
        else {
            rcv->active++;
            rcv->stats.connections++;
        }
        pthread_mutex_unlock(&rcv->lock);
        if (busy) {
            static const char msg[] = "421 4.3.2 Too many connections, try again later\r\n";
            /* Best effort: nothing more to do for a client we turn away. */
            ssize_t ignored = send(fd, msg, sizeof msg - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            (void)ignored;
            close(fd);
            rcv_log(rcv, "receiver: peer=%s:%s turned away: too many connections", host, port);
            continue;
        }
        rcv_conn *c = calloc(1, sizeof *c);
        pthread_t th;
        pthread_attr_t attr;
        bool started = false;
        if (c != NULL) {
            c->rcv = rcv;
            c->fd = fd;
            snprintf(c->peer, sizeof c->peer, "%s:%s", host, port);
            pthread_attr_init(&attr);
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            started = pthread_create(&th, &attr, rcv_conn_main, c) == 0;
            pthread_attr_destroy(&attr);
        }
        if (!started) {
            free(c);
            close(fd);
            pthread_mutex_lock(&rcv->lock);
            rcv->active--;
            pthread_cond_broadcast(&rcv->idle);
            pthread_mutex_unlock(&rcv->lock);
        }
    }
    return NULL;
}

/* Free RCV and what it owns once no thread uses it (start's failure path,
 * stop): the wake pipe, the lock and condition, the copied options. */
static void
rcv_free(stm_receiver *rcv)
{
    if (rcv->wake[0] >= 0) {
        close(rcv->wake[0]);
        close(rcv->wake[1]);
    }
    pthread_cond_destroy(&rcv->idle);
    pthread_mutex_destroy(&rcv->lock);
    free(rcv->hostname);
    free(rcv->allow);
    free(rcv);
}

/* Bind and listen on the options' address; start the accept thread. */
stm_receiver *
stm_receiver_start(const stm_receiver_options *opt, stm_ticket_registry *reg, char *err,
                   size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    stm_receiver *rcv = calloc(1, sizeof *rcv);

    if (rcv == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    rcv->opt = *opt;
    rcv->reg = reg;
    rcv->listen_fd = -1;
    rcv->wake[0] = rcv->wake[1] = -1;
    if (rcv->opt.max_message_size == 0)
        rcv->opt.max_message_size = 50u * 1024 * 1024;
    if (rcv->opt.max_clients == 0)
        rcv->opt.max_clients = 32;
    if (rcv->opt.idle_timeout_ms == 0)
        rcv->opt.idle_timeout_ms = 60000;
    rcv->limit = stm_receiver_message_limit(rcv->opt.max_message_size);
    rcv->budget = 2 * rcv->limit + STM_RECEIVER_BUDGET_EXTRA;
    rcv->session_ms = opt->config ? opt->config->session_timeout_ms : 10 * 60 * 1000;
    rcv->data_ms = opt->config ? opt->config->data_timeout_ms : 5 * 60 * 1000;
    if (opt->config != NULL && opt->config->nallow > 0) {
        rcv->nallow = opt->config->nallow;
        rcv->allow = calloc(rcv->nallow, sizeof *rcv->allow);
        if (rcv->allow != NULL)
            memcpy(rcv->allow, opt->config->allow, rcv->nallow * sizeof *rcv->allow);
    } else {
        /* No policy at hand: loopback only, the default of receiver.allow. */
        static const stm_receiver_network loopback[] = {
            {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 0}, 104},
            {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128}};
        rcv->nallow = 2;
        rcv->allow = calloc(2, sizeof *rcv->allow);
        if (rcv->allow != NULL)
            memcpy(rcv->allow, loopback, sizeof loopback);
    }
    if (rcv->session_ms == 0)
        rcv->session_ms = 10 * 60 * 1000;
    if (rcv->data_ms == 0)
        rcv->data_ms = 5 * 60 * 1000;
    rcv->hostname = strdup(opt->hostname ? opt->hostname : "localhost");
    rcv->opt.host = rcv->opt.port = rcv->opt.hostname = NULL; /* not kept: borrowed */
    rcv->opt.config = NULL;
    pthread_mutex_init(&rcv->lock, NULL);
    /* stm_receiver_stop() waits on it with a monotonic deadline: a clock
     * step while stopping must not shorten or stretch the 10 s. */
    pthread_condattr_t idle_attr;
    pthread_condattr_init(&idle_attr);
    pthread_condattr_setclock(&idle_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rcv->idle, &idle_attr);
    pthread_condattr_destroy(&idle_attr);
    if (rcv->hostname == NULL || rcv->allow == NULL || pipe2(rcv->wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "cannot set up: %s", strerror(errno));
        goto fail;
    }
    int rc = getaddrinfo(opt->host, opt->port, &hints, &ai);
    if (rc != 0) {
        snprintf(err, errlen, "receiver.listen %s:%s: %s", opt->host, opt->port, gai_strerror(rc));
        goto fail;
    }
    rcv->listen_fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (rcv->listen_fd < 0 ||
        setsockopt(rcv->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(rcv->listen_fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(rcv->listen_fd, 64) != 0) {
        snprintf(err, errlen, "receiver.listen %s:%s: %s", opt->host, opt->port, strerror(errno));
        goto fail;
    }
    setsockopt(rcv->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char port[16] = "0";
    if (getsockname(rcv->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
        getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, port, sizeof port, NI_NUMERICSERV);
    rcv->port = (unsigned)atoi(port);
    /* The threads take no asynchronous signals: in the daemon libmilter's
     * signal thread must get SIGTERM/SIGHUP (it sigwait()s for them), and a
     * receiver thread started before smfi_main() would otherwise take them
     * with their default action. Connection threads inherit the mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int started = pthread_create(&rcv->acceptor, NULL, rcv_accept_main, rcv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started != 0) {
        snprintf(err, errlen, "cannot start the receiver thread");
        goto fail;
    }
    freeaddrinfo(ai);
    rcv_log(rcv, "receiver: listening on %s port %u", opt->host, rcv->port);
    return rcv;

fail:
    if (ai != NULL)
        freeaddrinfo(ai);
    if (rcv->listen_fd >= 0)
        close(rcv->listen_fd);
    rcv_free(rcv);
    return NULL;
}

/* max_message_size plus the margin for what a scanner adds. */
uint64_t
stm_receiver_message_limit(uint64_t max_message_size)
{
    if (max_message_size == 0)
        max_message_size = 50u * 1024 * 1024;
    return max_message_size + max_message_size / STM_RECEIVER_MARGIN_DIV + STM_RECEIVER_MARGIN_MIN;
}

/* The bound port. */
unsigned
stm_receiver_port(const stm_receiver *rcv)
{
    return rcv->port;
}

/* Copy the counters. */
void
stm_receiver_get_stats(stm_receiver *rcv, stm_receiver_stats *out)
{
    pthread_mutex_lock(&rcv->lock);
    *out = rcv->stats;
    pthread_mutex_unlock(&rcv->lock);
}

/* Stop everything, wait for the connection threads, free. */
void
stm_receiver_stop(stm_receiver *rcv)
{
    if (rcv == NULL)
        return;
    pthread_mutex_lock(&rcv->lock);
    rcv->stopping = true;
    pthread_mutex_unlock(&rcv->lock);
    ssize_t ignored = write(rcv->wake[1], "x", 1); /* a full pipe is awake already */
    (void)ignored;
    pthread_join(rcv->acceptor, NULL);
    close(rcv->listen_fd);

    /* Connection threads see the pipe at their next poll; give them 10 s. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&rcv->lock);
    int rc = 0;
    while (rcv->active > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&rcv->idle, &rcv->lock, &ts);
    bool stuck = rcv->active > 0;
    pthread_mutex_unlock(&rcv->lock);
    if (stuck) {
        /* Freeing under a running thread would be worse than this leak. */
        rcv_log(rcv, "receiver: %u connection(s) did not stop; not freed", rcv->active);
        return;
    }
    rcv_free(rcv);
}
