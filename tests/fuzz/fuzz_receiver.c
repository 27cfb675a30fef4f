/*
 * fuzz_receiver.c - libFuzzer target: the receiver's SMTP dialogue, its
 * data reading and the ticket search (milter/delegate/receiver.c, ticket.c).
 *
 * Feeds: the input as what a client sends to the receiver. The receiver is
 * started once, as the daemon and tests/delegation/delegate-probe.c start
 * it (stm_receiver_start on 127.0.0.1, a free port, a 4 KiB
 * max_message_size so "too big" is reachable); its command loop only takes
 * connections from its listening socket, so each input is sent over a fresh
 * loopback TCP connection (not a socketpair), then the client half-closes
 * and reads every reply until the receiver hangs up. Before each input one
 * ticket is opened and every "%TICKET%" in the input is replaced by its
 * token, so the fuzzer can bring messages that are delivered. The
 * substituted input also goes through stm_ticket_find_tokens() directly.
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - the receiver answers within 10 s and hangs up after the client's EOF;
 *   - every reply line is "ddd " or "ddd-" followed by text and CRLF, and
 *     the first is the 220 greeting (or 421 when it is busy);
 *   - at most one message is delivered (one ticket, single use), exactly
 *     when a "250 2.0.0 Ok: delivered" reply came; the delivery carries
 *     the ticket's token (found again by stm_ticket_find_tokens), a sender,
 *     1..STM_RECEIVER_MAX_RCPTS recipients, the peer, and data of at most
 *     max_message_size bytes plus the receiver's margin, NUL-terminated;
 *   - tokens found are STM_TICKET_TOKEN_LEN lowercase hex characters, each
 *     once, never more than asked for.
 * Inputs over 256 KiB are skipped.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delegate/receiver.h"
#include "delegate/ticket.h"
#include "fuzz.h"
#include "stagemilter/clock.h"

#define FUZZ_RCV_MAX_INPUT (256 * 1024)
#define FUZZ_RCV_MAX_SIZE 4096
#define FUZZ_RCV_MARKER "%TICKET%"

/* Started once; the process exits with it running. */
static stm_ticket_registry *fuzz_reg;
static stm_receiver *fuzz_rcv;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    stm_receiver_options opt = {.host = "127.0.0.1",
                                .port = "0",
                                .max_message_size = FUZZ_RCV_MAX_SIZE,
                                .max_clients = 64,
                                .idle_timeout_ms = 10000,
                                .hostname = "receiver.fuzz.example"};

    fuzz_reg = stm_ticket_registry_create();
    FUZZ_CHECK(fuzz_reg != NULL);
    fuzz_rcv = stm_receiver_start(&opt, fuzz_reg, err, sizeof err);
    if (fuzz_rcv == NULL) {
        fprintf(stderr, "fuzz_receiver: cannot start the receiver: %s\n", err);
        abort();
    }
    return 0;
}

/* Check the tokens stm_ticket_find_tokens finds in DATA; returns how many. */
static size_t
fuzz_rcv_tokens(const char *data, size_t len, const char *want)
{
    char tokens[8][STM_TICKET_TOKEN_LEN + 1];
    size_t n = stm_ticket_find_tokens(data, len, tokens, 8);
    bool found = false;

    FUZZ_CHECK(n <= 8);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(strlen(tokens[i]) == STM_TICKET_TOKEN_LEN);
        for (size_t k = 0; k < STM_TICKET_TOKEN_LEN; k++) {
            char c = tokens[i][k];
            FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        }
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(tokens[i], tokens[j]) != 0);
        found = found || (want != NULL && strcmp(tokens[i], want) == 0);
    }
    if (want != NULL)
        FUZZ_CHECK(found);
    return n;
}

/* INPUT with every marker replaced by TOKEN; *LEN in and out. Caller frees. */
static char *
fuzz_rcv_substitute(const uint8_t *data, size_t *len, const char *token)
{
    const size_t mlen = sizeof FUZZ_RCV_MARKER - 1;
    char *out = malloc(*len * (STM_TICKET_TOKEN_LEN / mlen + 1) + 1);
    size_t o = 0;

    FUZZ_CHECK(out != NULL);
    for (size_t i = 0; i < *len;) {
        if (*len - i >= mlen && memcmp(data + i, FUZZ_RCV_MARKER, mlen) == 0) {
            memcpy(out + o, token, STM_TICKET_TOKEN_LEN);
            o += STM_TICKET_TOKEN_LEN;
            i += mlen;
        } else {
            out[o++] = (char)data[i++];
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* Send IN to the receiver and collect its replies until it hangs up.
 * Caller frees the replies (NUL-terminated, *RLEN bytes). */
static char *
fuzz_rcv_exchange(const char *in, size_t len, size_t *rlen)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(stm_receiver_port(fuzz_rcv))};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    size_t cap = 4096, got = 0, sent = 0;
    char *out = malloc(cap);
    bool wr_open = true;

    FUZZ_CHECK(fd >= 0 && out != NULL);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        FUZZ_CHECK(errno == EINPROGRESS);
    uint64_t deadline = stm_clock_ms() + 10000;
    for (;;) {
        if (wr_open && sent == len) {
            shutdown(fd, SHUT_WR);
            wr_open = false;
        }
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (wr_open ? POLLOUT : 0))};
        uint64_t now = stm_clock_ms();
        FUZZ_CHECK(now < deadline); /* the receiver must answer and hang up */
        if (poll(&p, 1, (int)(deadline - now)) < 0) {
            FUZZ_CHECK(errno == EINTR);
            continue;
        }
        if (wr_open && (p.revents & POLLOUT)) {
            ssize_t w = send(fd, in + sent, len - sent, MSG_NOSIGNAL);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                wr_open = false; /* it hung up on us (QUIT, too many errors) */
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            if (got + 1024 > cap) {
                cap *= 2;
                out = realloc(out, cap);
                FUZZ_CHECK(out != NULL);
            }
            ssize_t r = recv(fd, out + got, cap - got - 1, 0);
            if (r > 0)
                got += (size_t)r;
            else if (r == 0 || (errno != EAGAIN && errno != EINTR))
                break;
        }
    }
    close(fd);
    out[got] = '\0';
    *rlen = got;
    return out;
}

/* Check the replies' shape; returns how many said "delivered". */
static int
fuzz_rcv_replies(const char *r, size_t len)
{
    int delivered = 0;
    bool first = true;

    FUZZ_CHECK(strlen(r) == len);
    while (*r != '\0') {
        const char *eol = strstr(r, "\r\n");
        FUZZ_CHECK(eol != NULL && eol - r >= 4);
        FUZZ_CHECK(r[0] >= '2' && r[0] <= '5' && r[1] >= '0' && r[1] <= '9' && r[2] >= '0' &&
                   r[2] <= '9' && (r[3] == ' ' || r[3] == '-'));
        for (const char *p = r; p < eol; p++)
            FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
        if (first)
            FUZZ_CHECK(strncmp(r, "220 ", 4) == 0 || strncmp(r, "421 ", 4) == 0);
        first = false;
        if (strncmp(r, "250 2.0.0 Ok: delivered", 23) == 0)
            delivered++;
        r = eol + 2;
    }
    return delivered;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_RCV_MAX_INPUT)
        return 0;
    stm_ticket *t = stm_ticket_open(fuzz_reg);
    FUZZ_CHECK(t != NULL);
    char token[STM_TICKET_TOKEN_LEN + 1];
    memcpy(token, stm_ticket_token(t), sizeof token);

    size_t len = size;
    char *in = fuzz_rcv_substitute(data, &len, token);
    (void)fuzz_rcv_tokens(in, len, NULL);

    size_t rlen = 0;
    char *replies = fuzz_rcv_exchange(in, len, &rlen);
    int delivered = fuzz_rcv_replies(replies, rlen);
    FUZZ_CHECK(delivered <= 1);

    stm_ticket_delivery d = {0};
    bool got = stm_ticket_wait(t, stm_clock_ms(), NULL, NULL, 0, &d);
    FUZZ_CHECK(got == (delivered == 1));
    if (got) {
        /* The receiver takes max_message_size plus the margin for what a
         * scanner adds (stm_receiver_message_limit). */
        FUZZ_CHECK(d.data != NULL && d.len <= stm_receiver_message_limit(FUZZ_RCV_MAX_SIZE) &&
                   d.data[d.len] == '\0');
        FUZZ_CHECK(d.mail_from != NULL && d.peer != NULL);
        FUZZ_CHECK(d.nrcpts >= 1 && d.nrcpts <= STM_RECEIVER_MAX_RCPTS);
        for (size_t i = 0; i < d.nrcpts; i++)
            FUZZ_CHECK(d.rcpts[i] != NULL);
        FUZZ_CHECK(fuzz_rcv_tokens(d.data, d.len, token) >= 1);
        stm_ticket_delivery_clear(&d);
    }
    stm_ticket_close(t);
    free(replies);
    free(in);
    return 0;
}
