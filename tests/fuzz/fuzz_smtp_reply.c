/*
 * fuzz_smtp_reply.c - libFuzzer target: what a scanner answers, through the
 * SMTP client's bounded reply reader and reply parser
 * (milter/delegate/smtp/reply.c and the line reader of io.c).
 *
 * Feeds: the input as the byte stream a server sends. It is written into
 * one end of a socketpair() that is then closed; a session of the client
 * (session.h) reads replies from the other end with stm_smtp_reply_read()
 * until it fails (end of input, a line over STM_SMTP_MAX_LINE, more than
 * STM_SMTP_MAX_REPLY_LINES lines, a malformed reply), with the transcript
 * on. Each parsed reply also goes through stm_smtp_reply_copy().
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - a parsed reply has a code 200..599 whose first digit is the first
 *     byte of its first line, an enhanced code that is "" or "C.D.D" with
 *     C the code's class, and a text;
 *   - round trip: the reply written back as one line "CODE ENHANCED TEXT"
 *     parses (stm_smtp_parse_reply) to the same code, enhanced code and text;
 *   - every transcript and log line is sanitised: no control character,
 *     no byte >= 0x80;
 *   - a failed read leaves a reason in the session's error.
 * Inputs over 64 KiB are skipped (the socket buffer must hold the input
 * whole; the reader gives up long before that anyway).
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "delegate/smtp/session.h"
#include "fuzz.h"
#include "stagemilter/clock.h"

#define FUZZ_SMTP_MAX_INPUT 65536

/* The log callback: every line it gets must be clean. */
static void
fuzz_smtp_log(void *arg, const char *line)
{
    size_t *n = arg;
    for (const unsigned char *p = (const unsigned char *)line; *p != '\0'; p++)
        FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
    (*n)++;
}

/* Is E "" or an enhanced status code "C.D.D" (1-3 digits each) of class C? */
static bool
fuzz_smtp_enhanced_ok(const char *e, int code)
{
    if (e[0] == '\0')
        return true;
    if (e[0] != (char)('0' + code / 100) || e[1] != '.')
        return false;
    size_t i = 2;
    for (int part = 0; part < 2; part++) {
        size_t d = 0;
        while (e[i + d] >= '0' && e[i + d] <= '9')
            d++;
        if (d < 1 || d > 3)
            return false;
        i += d;
        if (part == 0 && e[i++] != '.')
            return false;
    }
    return e[i] == '\0';
}

/* Check one parsed reply and its one-line round trip. */
static void
fuzz_smtp_check_reply(const stm_smtp_session *s, const stm_smtp_reply *r)
{
    FUZZ_CHECK(r->code >= 200 && r->code <= 599);
    FUZZ_CHECK(s->nlines > 0 && s->lines[0][0] == (char)('0' + r->code / 100));
    FUZZ_CHECK(fuzz_smtp_enhanced_ok(r->enhanced, r->code));
    FUZZ_CHECK(r->text != NULL);

    size_t len = strlen(r->text) + sizeof r->enhanced + 8;
    char *line = malloc(len);
    FUZZ_CHECK(line != NULL);
    if (r->enhanced[0] != '\0')
        snprintf(line, len, "%d %s%s%s", r->code, r->enhanced, r->text[0] ? " " : "", r->text);
    else if (r->text[0] != '\0')
        snprintf(line, len, "%d %s", r->code, r->text);
    else
        snprintf(line, len, "%d", r->code);
    const char *lines[1] = {line};
    stm_smtp_reply again;
    FUZZ_CHECK(stm_smtp_parse_reply(lines, 1, &again) == 0);
    FUZZ_CHECK(again.code == r->code);
    FUZZ_CHECK(strcmp(again.enhanced, r->enhanced) == 0);
    FUZZ_CHECK(strcmp(again.text, r->text) == 0);
    stm_smtp_reply_clear(&again);
    free(line);

    stm_smtp_reply copy = {0};
    FUZZ_CHECK(stm_smtp_reply_copy(&copy, r) == 0);
    FUZZ_CHECK(copy.code == r->code && strcmp(copy.text, r->text) == 0);
    stm_smtp_reply_clear(&copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2];

    if (size > FUZZ_SMTP_MAX_INPUT || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    int big = 2 * FUZZ_SMTP_MAX_INPUT;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(sv[1], data + done, size - done);
        FUZZ_CHECK(w > 0);
        done += (size_t)w;
    }
    close(sv[1]);

    size_t logged = 0;
    stm_target target = {.host = "fuzz", .port = "25", .text = "smtp://fuzz:25"};
    stm_service svc = {.name = "fuzz", .targets = &target, .ntargets = 1,
                       .command_timeout_ms = 5000};
    stm_smtp_request req = {.service = &svc, .log = fuzz_smtp_log, .log_arg = &logged,
                            .transcript = true};
    stm_smtp_result res = {0};
    stm_smtp_session *s = calloc(1, sizeof *s);
    FUZZ_CHECK(s != NULL);
    s->req = &req;
    s->svc = &svc;
    s->target = &target;
    s->res = &res;
    s->fd = sv[0];

    uint64_t deadline = stm_clock_ms() + 5000;
    for (;;) {
        stm_smtp_reply r = {0};
        int rc = stm_smtp_reply_read(s, STM_SMTP_PH_FINAL, deadline, &r);
        if (rc != 0) {
            FUZZ_CHECK(rc == -1 && s->err[0] != '\0');
            stm_smtp_reply_clear(&r);
            break;
        }
        fuzz_smtp_check_reply(s, &r);
        stm_smtp_reply_clear(&r);
    }
    stm_smtp_reply_forget(s);
    stm_smtp_io_close(s);
    stm_smtp_result_clear(&res);
    free(s);
    return 0;
}
