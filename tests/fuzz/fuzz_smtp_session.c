/*
 * fuzz_smtp_session.c - libFuzzer target: a whole delegation dialogue of the
 * SMTP/LMTP client (milter/delegate/smtp/protocol.c with reply.c, io.c,
 * data.c, auth.c) against a server whose every byte comes from the input.
 *
 * Feeds: the first byte chooses the service and request (bit 0 LMTP, bit 1
 * AUTH PLAIN with a user name and password, bit 2 an 8-bit message, bit 3
 * two recipients); the rest is what the server sends. A server thread
 * accepts the client's one connection on 127.0.0.1 (listening socket made
 * once), writes those bytes, half-closes and reads whatever the client says
 * until it hangs up; meanwhile stm_smtp_send() runs the dialogue: greeting,
 * EHLO/LHLO and its capabilities (pr_parse_caps), AUTH, MAIL with SIZE and
 * BODY=8BITMIME, RCPT, DATA, the dot-stuffed message, the final reply (one
 * per accepted recipient for LMTP), QUIT. STARTTLS is not attempted (the
 * handshake would fuzz OpenSSL, not us); pooling is off.
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - stm_smtp_send() returns 0 and names the target used;
 *   - FAILED carries an error text; ACCEPTED means the data was sent and a
 *     2xx deciding reply (LMTP: at least one recipient accepted);
 *     REJECTED a 4xx or 5xx deciding reply (a 3xx where 2xx was due is a
 *     protocol error: FAILED);
 *   - the result's recipients are at most those asked for, each with its
 *     address copied;
 *   - every log line is sanitised (no control character, no byte >= 0x80),
 *     the "recipient <...> refused: CODE TEXT" lines included.
 * Inputs over 64 KiB are skipped.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delegate/smtp/smtp_client.h"
#include "fuzz.h"
#include "stagemilter/clock.h"

#define FUZZ_SESS_MAX_INPUT 65536

static int fuzz_sess_listen = -1;
static char fuzz_sess_port[16];

/* What the server thread sends. */
typedef struct fuzz_sess_server {
    const uint8_t *data;
    size_t len;
} fuzz_sess_server;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t sl = sizeof sin;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fuzz_sess_listen = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fuzz_sess_listen >= 0);
    FUZZ_CHECK(bind(fuzz_sess_listen, (struct sockaddr *)&sin, sizeof sin) == 0);
    FUZZ_CHECK(listen(fuzz_sess_listen, 8) == 0);
    FUZZ_CHECK(getsockname(fuzz_sess_listen, (struct sockaddr *)&sin, &sl) == 0);
    snprintf(fuzz_sess_port, sizeof fuzz_sess_port, "%u", (unsigned)ntohs(sin.sin_port));
    return 0;
}

/* The server: accept one connection, send the input, drain, close. */
static void *
fuzz_sess_serve(void *arg)
{
    const fuzz_sess_server *srv = arg;
    int fd = accept(fuzz_sess_listen, NULL, NULL);
    size_t sent = 0;
    char sink[4096];
    uint64_t deadline = stm_clock_ms() + 20000;

    FUZZ_CHECK(fd >= 0);
    bool wr_open = true;
    for (;;) {
        if (wr_open && sent == srv->len) {
            shutdown(fd, SHUT_WR);
            wr_open = false;
        }
        struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (wr_open ? POLLOUT : 0))};
        uint64_t now = stm_clock_ms();
        FUZZ_CHECK(now < deadline); /* the client must hang up in time */
        if (poll(&p, 1, (int)(deadline - now)) < 0) {
            FUZZ_CHECK(errno == EINTR);
            continue;
        }
        if (wr_open && (p.revents & POLLOUT)) {
            ssize_t w = send(fd, srv->data + sent, srv->len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0)
                sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR)
                wr_open = false;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(fd, sink, sizeof sink, MSG_DONTWAIT);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
                break;
        }
    }
    close(fd);
    return NULL;
}

/* Every line the client logs must be clean: the transcript ("< " what the
 * server said, "> " what we sent), the failures, and the "recipient <...>
 * refused: CODE TEXT" lines, which once carried the reply raw (this
 * target found it; corpus/smtp_session/regress-unsanitised-rcpt-refused-log). */
static void
fuzz_sess_log(void *arg, const char *line)
{
    (void)arg;
    for (const unsigned char *p = (const unsigned char *)line; *p != '\0'; p++)
        FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > FUZZ_SESS_MAX_INPUT)
        return 0;
    uint8_t flags = data[0];
    fuzz_sess_server srv = {.data = data + 1, .len = size - 1};

    stm_target target = {.host = "127.0.0.1", .port = fuzz_sess_port, .text = "tcp://fuzz"};
    stm_service svc = {.name = "fuzz",
                       .protocol = (flags & 1) ? STM_PROTO_LMTP : STM_PROTO_SMTP,
                       .targets = &target,
                       .ntargets = 1,
                       .attempt_starttls = false,
                       .auth = (flags & 2) ? STM_AUTH_PLAIN : STM_AUTH_OFF,
                       .username = (flags & 2) ? "scanner" : "",
                       .password = (flags & 2) ? "secret" : "",
                       .connect_timeout_ms = 5000,
                       .command_timeout_ms = 5000,
                       .submission_timeout_ms = 5000,
                       .timeout_ms = 5000};
    static const char plain[] = "Subject: hello\r\n\r\n.leading dot\r\nbody\n";
    static const char eight[] = "Subject: caf\xc3\xa9\r\n\r\n\xe9t\xe9\r\n";
    stm_smtp_piece piece = {.data = (flags & 4) ? eight : plain,
                            .len = (flags & 4) ? sizeof eight - 1 : sizeof plain - 1};
    const char *rcpts[] = {"bob@example.org", "carol@example.org"};
    size_t nrcpts = (flags & 8) ? 2 : 1;
    stm_smtp_request req = {.service = &svc,
                            .helo_name = "milter.fuzz.example",
                            .sender = "alice@example.net",
                            .rcpts = rcpts,
                            .nrcpts = nrcpts,
                            .pieces = &piece,
                            .npieces = 1,
                            .log = fuzz_sess_log,
                            .transcript = true};
    stm_smtp_result res;
    pthread_t th;

    FUZZ_CHECK(pthread_create(&th, NULL, fuzz_sess_serve, &srv) == 0);
    FUZZ_CHECK(stm_smtp_send(&req, &res) == 0);
    pthread_join(th, NULL);

    FUZZ_CHECK(res.target != NULL && strcmp(res.target, target.text) == 0);
    FUZZ_CHECK(res.nrcpts <= nrcpts);
    for (size_t i = 0; i < res.nrcpts; i++)
        FUZZ_CHECK(res.rcpts[i].rcpt != NULL);
    switch (res.status) {
    case STM_SMTP_FAILED:
        FUZZ_CHECK(res.error != NULL && res.error[0] != '\0');
        break;
    case STM_SMTP_ACCEPTED:
        FUZZ_CHECK(res.data_sent);
        FUZZ_CHECK(res.reply.code / 100 == 2 || svc.protocol == STM_PROTO_LMTP);
        if (svc.protocol == STM_PROTO_LMTP) {
            bool any = false;
            for (size_t i = 0; i < res.nrcpts; i++)
                any = any || res.rcpts[i].accepted;
            FUZZ_CHECK(any);
        }
        break;
    case STM_SMTP_REJECTED:
        /* Only a refusal decides REJECTED; a 3xx to MAIL, RCPT or the data
         * once did (corpus/smtp_session/regress-3xx-to-rcpt-was-rejected). */
        FUZZ_CHECK(res.reply.code >= 400 && res.reply.code <= 599);
        break;
    default:
        FUZZ_CHECK(!"unknown status");
    }
    stm_smtp_result_clear(&res);
    return 0;
}
