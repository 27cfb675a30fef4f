/*
 * test_delegation.c - unit tests of the delegation helpers: SMTP reply
 * parsing (codes, enhanced codes, multi-line, malformed), dot-stuffing and
 * CRLF normalisation across chunk boundaries (milter/delegate/smtp/reply.c,
 * data.c), ticket token search and the ticket registry's single-use
 * hand-over with real threads and deadlines (milter/delegate/ticket.c), and
 * the service table (milter/delegate/service.c).
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "delegate/delegate.h"
#include "delegate/smtp/smtp_client.h"
#include "delegate/ticket.h"
#include "delegate/scanners.h"
#include "delegate/service.h"
#include "stagemilter/clock.h"

struct reply_case {
    const char *lines[4];
    int ok;
    int code;
    const char *enhanced;
    const char *text;
};

static const struct reply_case reply_cases[] = {
    {{"250 2.0.0 Ok: queued as 1234", NULL}, 0, 250, "2.0.0", "Ok: queued as 1234"},
    {{"550 Virus Detected; Content Rejected", NULL},
     0,
     550,
     "",
     "Virus Detected; Content Rejected"},
    {{"250-smtp.example", "250-SIZE 1000", "250 8BITMIME", NULL},
     0,
     250,
     "",
     "smtp.example SIZE 1000 8BITMIME"},
    {{"451-4.7.1 Try", "451 4.7.1 later", NULL}, 0, 451, "4.7.1", "Try later"},
    {{"250 5.0.0 class mismatch is text", NULL}, 0, 250, "", "5.0.0 class mismatch is text"},
    {{"220", NULL}, 0, 220, "", ""},
    {{"250 2.1.5", NULL}, 0, 250, "2.1.5", ""},
    {{"25O bad digit", NULL}, -1, 0, NULL, NULL},
    {{"250-first", "251 other code", NULL}, -1, 0, NULL, NULL},
    {{"250-no end", NULL}, -1, 0, NULL, NULL},
    {{"250xjunk", NULL}, -1, 0, NULL, NULL},
    {{"650 not a class", NULL}, -1, 0, NULL, NULL},
    {{"25", NULL}, -1, 0, NULL, NULL},
};

/* Replies become code, enhanced code and text; malformed ones are refused. */
static void
test_parse_reply(void **state)
{
    for (size_t i = 0; i < sizeof reply_cases / sizeof reply_cases[0]; i++) {
        const struct reply_case *c = &reply_cases[i];
        size_t n = 0;
        while (n < 4 && c->lines[n] != NULL)
            n++;
        stm_smtp_reply r;
        int rc = stm_smtp_parse_reply(c->lines, n, &r);
        assert_int_equal(rc, c->ok);
        if (rc == 0) {
            assert_int_equal(r.code, c->code);
            assert_string_equal(r.enhanced, c->enhanced);
            assert_string_equal(r.text, c->text);
        }
        free(r.text);
    }
}

struct stuff_case {
    const char *in;
    const char *out; /* including the final ".\r\n" */
};

static const struct stuff_case stuff_cases[] = {
    {"", ".\r\n"},
    {"a", "a\r\n.\r\n"},
    {"a\n", "a\r\n.\r\n"},
    {"a\r\n", "a\r\n.\r\n"},
    {".x\n", "..x\r\n.\r\n"},
    {".\n", "..\r\n.\r\n"},
    {"a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},
    {"a\rb\r", "a\r\nb\r\n.\r\n"},
    {"x.y\r\n..z\r\n", "x.y\r\n...z\r\n.\r\n"},
    {"\n\n", "\r\n\r\n.\r\n"},
};

/* Line ends become CRLF and leading dots are doubled, however the input is
 * cut into chunks. */
static void
test_stuff(void **state)
{
    char out[256];
    for (size_t i = 0; i < sizeof stuff_cases / sizeof stuff_cases[0]; i++) {
        const struct stuff_case *c = &stuff_cases[i];
        size_t len = strlen(c->in);
        for (size_t cut = 0; cut <= len; cut++) {
            int st = 1;
            size_t o = stm_smtp_stuff(c->in, cut, out, &st);
            o += stm_smtp_stuff(c->in + cut, len - cut, out + o, &st);
            o += stm_smtp_stuff_end(out + o, st);
            out[o] = '\0';
            assert_string_equal(out, c->out);
        }
    }
}

struct token_case {
    const char *data;
    size_t found;
    const char *first;
};

static const struct token_case token_cases[] = {
    {"X-Stagemilter-Ticket: 0123456789abcdef0123456789abcdef\r\n", 1,
     "0123456789abcdef0123456789abcdef"},
    {"x-stagemilter-ticket:\r\n\t<0123456789ABCDEF0123456789ABCDEF>", 1,
     "0123456789abcdef0123456789abcdef"},
    {"body\n> X-Stagemilter-Ticket: ffffffffffffffffffffffffffffffff\n", 1,
     "ffffffffffffffffffffffffffffffff"},
    {"X-Stagemilter-Ticket: 0123456789abcdef0123456789abcdef0", 0, NULL}, /* too long */
    {"X-Stagemilter-Ticket: 0123456789abcdef0123456789abcde", 0, NULL},   /* too short */
    {"X-Stagemilter-Ticket 0123456789abcdef0123456789abcdef", 0, NULL},   /* no colon */
    {"0123456789abcdef0123456789abcdef", 0, NULL},                        /* no name */
    {"X-Stagemilter-Ticket: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
     "X-Stagemilter-Ticket: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
     "X-Stagemilter-Ticket: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n",
     2, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
};

/* Tokens are found after the header name anywhere, in any case, once each. */
static void
test_find_tokens(void **state)
{
    char toks[4][STM_TICKET_TOKEN_LEN + 1];
    for (size_t i = 0; i < sizeof token_cases / sizeof token_cases[0]; i++) {
        const struct token_case *c = &token_cases[i];
        size_t n = stm_ticket_find_tokens(c->data, strlen(c->data), toks, 4);
        assert_int_equal(n, c->found);
        if (n > 0)
            assert_string_equal(toks[0], c->first);
    }
}

/* Build a delivery whose data mentions TOKEN. */
static void
make_delivery(stm_ticket_delivery *d, const char *token)
{
    memset(d, 0, sizeof *d);
    d->data = malloc(128);
    assert_non_null(d->data);
    d->len = (size_t)snprintf(d->data, 128, "Subject: x\r\nX-Stagemilter-Ticket: %s\r\n\r\nhi\r\n",
                              token);
}

struct deliverer {
    stm_ticket_registry *reg;
    char token[STM_TICKET_TOKEN_LEN + 1];
    int rc;
};

/* Thread: deliver a message for a token after 100 ms. */
static void *
deliver_later(void *arg)
{
    struct deliverer *dl = arg;
    stm_ticket_delivery d;
    usleep(100000);
    make_delivery(&d, dl->token);
    dl->rc = stm_ticket_deliver(dl->reg, &d);
    stm_ticket_delivery_clear(&d);
    return NULL;
}

static unsigned progress_calls;

/* Count progress callbacks. */
static void
count_progress(void *arg)
{
    progress_calls++;
}

/* A ticket takes one delivery, from another thread, and wakes its waiter;
 * a replay, an unknown token and a closed ticket are refused; waits end at
 * their deadline. */
static void
test_registry(void **state)
{
    stm_ticket_registry *reg = stm_ticket_registry_create();
    assert_non_null(reg);
    stm_ticket *a = stm_ticket_open(reg);
    stm_ticket *b = stm_ticket_open(reg);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(strlen(stm_ticket_token(a)), STM_TICKET_TOKEN_LEN);
    assert_string_not_equal(stm_ticket_token(a), stm_ticket_token(b));
    assert_int_equal(stm_ticket_registry_open_count(reg), 2);

    struct deliverer dl = {.reg = reg, .rc = 99};
    memcpy(dl.token, stm_ticket_token(a), sizeof dl.token);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, deliver_later, &dl), 0);
    stm_ticket_delivery got;
    uint64_t t0 = stm_clock_ms();
    assert_true(stm_ticket_wait(a, t0 + 5000, NULL, NULL, 0, &got));
    pthread_join(th, NULL);
    assert_int_equal(dl.rc, 0);
    assert_non_null(strstr(got.data, stm_ticket_token(a)));
    assert_true(stm_clock_ms() - t0 < 2000);
    stm_ticket_delivery_clear(&got);

    stm_ticket_delivery d;
    make_delivery(&d, stm_ticket_token(a)); /* replay */
    assert_int_equal(stm_ticket_deliver(reg, &d), -1);
    assert_non_null(d.data); /* untouched on refusal */
    stm_ticket_delivery_clear(&d);
    make_delivery(&d, "00000000000000000000000000000000");
    assert_int_equal(stm_ticket_deliver(reg, &d), -1);
    stm_ticket_delivery_clear(&d);

    /* b gets nothing: the wait ends at its deadline, with progress calls. */
    progress_calls = 0;
    t0 = stm_clock_ms();
    assert_false(stm_ticket_wait(b, t0 + 350, count_progress, NULL, 100, &got));
    uint64_t waited = stm_clock_ms() - t0;
    assert_true(waited >= 350 && waited < 1000);
    assert_in_range(progress_calls, 2, 4);

    char token_b[STM_TICKET_TOKEN_LEN + 1];
    memcpy(token_b, stm_ticket_token(b), sizeof token_b);
    stm_ticket_close(b);
    make_delivery(&d, token_b); /* too late: closed */
    assert_int_equal(stm_ticket_deliver(reg, &d), -1);
    stm_ticket_delivery_clear(&d);

    stm_ticket_close(a);
    assert_int_equal(stm_ticket_registry_open_count(reg), 0);
    stm_ticket_registry_free(reg);
}

/* The daemon's shutdown race (callbacks.c): a slot holds the registry, an
 * end-of-message thread takes it (as cb_delegation_tickets() does), and the
 * stop drops the slot's reference meanwhile (as
 * stm_callbacks_delegation_stop() does); the thread then opens, waits on
 * and closes a ticket and releases the registry. First a thread between two
 * delegations (no ticket open at the stop), then one already waiting on its
 * ticket. The barriers fix the order; with a registry handed out without a
 * reference, the first thread reads freed memory (ASan, tests/unit/asan.t,
 * reports it). */
struct lifetime {
    pthread_mutex_t lock; /* guards slot, as deleg_lock does cb_tickets */
    stm_ticket_registry *slot;
    bool open_first; /* the ticket is open before the stop */
    pthread_barrier_t got, stopped;
    int rc;
};

/* Thread: one end of message that delegates across the stop. */
static void *
lifetime_eom(void *arg)
{
    struct lifetime *lt = arg;
    stm_ticket *t = NULL;
    stm_ticket_delivery d;

    pthread_mutex_lock(&lt->lock);
    stm_ticket_registry *reg = stm_ticket_registry_ref(lt->slot);
    pthread_mutex_unlock(&lt->lock);
    if (lt->open_first)
        t = stm_ticket_open(reg);
    pthread_barrier_wait(&lt->got);
    pthread_barrier_wait(&lt->stopped);
    if (!lt->open_first)
        t = stm_ticket_open(reg);
    if (t == NULL || stm_ticket_wait(t, stm_clock_ms() + 20, NULL, NULL, 0, &d))
        lt->rc = -1;
    stm_ticket_close(t);
    stm_ticket_registry_free(reg);
    return NULL;
}

/* Get and stop from two threads: the thread never meets a freed registry. */
static void
test_registry_lifetime(void **state)
{
    (void)state;
    for (int open_first = 0; open_first <= 1; open_first++) {
        struct lifetime lt = {.lock = PTHREAD_MUTEX_INITIALIZER, .open_first = open_first};
        pthread_t th;

        lt.slot = stm_ticket_registry_create();
        assert_non_null(lt.slot);
        assert_int_equal(pthread_barrier_init(&lt.got, NULL, 2), 0);
        assert_int_equal(pthread_barrier_init(&lt.stopped, NULL, 2), 0);
        assert_int_equal(pthread_create(&th, NULL, lifetime_eom, &lt), 0);
        pthread_barrier_wait(&lt.got);
        /* The stop: take the slot, drop its reference. */
        pthread_mutex_lock(&lt.lock);
        stm_ticket_registry *reg = lt.slot;
        lt.slot = NULL;
        pthread_mutex_unlock(&lt.lock);
        stm_ticket_registry_free(reg);
        pthread_barrier_wait(&lt.stopped);
        pthread_join(th, NULL);
        assert_int_equal(lt.rc, 0);
        pthread_barrier_destroy(&lt.got);
        pthread_barrier_destroy(&lt.stopped);
    }
    /* A reference on NULL is NULL, and freeing NULL does nothing. */
    assert_null(stm_ticket_registry_ref(NULL));
    stm_ticket_registry_free(NULL);
}

/* Run the group (one plan in TAP output). */
/* Parse "Name: value\n..." headers (with an empty body) into MSG. */
static void
edits_parse(stm_message *msg, const char *headers)
{
    char buf[2048];
    const char *err = NULL;
    snprintf(buf, sizeof buf, "%s\n", headers);
    stm_message_init(msg);
    assert_int_equal(stm_message_parse(msg, buf, strlen(buf), &err), 0);
}

/* Header edits from the MTA's copy to a returned copy: what a scanner added
 * or changed comes across, nothing else. Each edit prints as "add NAME:
 * VALUE", "change NAME[I]: VALUE" or "delete NAME[I]", joined with " | ". */
static void
test_header_edits(void **state)
{
    static const struct {
        const char *mine, *got;
        bool whole;
        const char *want;
    } cases[] = {
        /* clamsmtpd: one header appended; our ticket never comes across. */
        {"Subject: hi\nFrom: a@b",
         "X-Stagemilter-Ticket: 0123\nSubject: hi\nFrom: a@b\n"
         "X-Virus-Scanned: ClamAV using ClamSMTP",
         false, "add X-Virus-Scanned: ClamAV using ClamSMTP"},
        /* Nothing changed: nothing to do. */
        {"Subject: hi", "Subject: hi", false, ""},
        /* Folding and white space differences are not changes. */
        {"X-A: one two", "X-A: one\n\ttwo", false, ""},
        /* A changed value changes that instance, by its index. */
        {"X-Spam: old\nSubject: s", "X-Spam: new\nSubject: s", false, "change X-Spam[1]: new"},
        {"Received: a\nReceived: b\nX: 1", "Received: a\nReceived: c\nX: 1", false,
         "change Received[2]: c"},
        /* A header prepended with a name we have: added, ours left alone. */
        {"Received: a", "Received: z\nReceived: a", false, "add Received: z"},
        /* Changes go from the last header up, then additions. */
        {"A: 1\nB: 2", "A: 9\nB: 8\nC: 7", false, "change B[1]: 8 | change A[1]: 9 | add C: 7"},
        /* apply: headers leaves the MIME headers out (the body stays ours). */
        {"Content-Type: text/plain\nSubject: s",
         "Content-Type: multipart/mixed\nMIME-Version: 1.0\nSubject: *SPAM* s", false,
         "change Subject[1]: *SPAM* s"},
        /* apply: message takes them, and deletes what the scanner dropped. */
        {"Content-Type: text/plain\nX-Old: 1\nSubject: s",
         "Content-Type: multipart/mixed\nSubject: s\nMIME-Version: 1.0", true,
         "delete X-Old[1] | change Content-Type[1]: multipart/mixed | add MIME-Version: 1.0"},
        /* Header names compare case-insensitively. */
        {"x-spam-flag: NO", "X-Spam-Flag: YES", false, "change x-spam-flag[1]: YES"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_message mine, got;
        stm_header_edit *e = NULL;
        char out[1024] = "";
        edits_parse(&mine, cases[i].mine);
        edits_parse(&got, cases[i].got);
        long n = stm_delegate_header_edits(&mine, &got, cases[i].whole, &e);
        assert_true(n >= 0);
        for (long j = 0; j < n; j++) {
            size_t o = strlen(out);
            static const char *const kind[] = {"add", "change", "delete"};
            if (e[j].kind == STM_HEADER_ADD)
                snprintf(out + o, sizeof out - o, "%s%s %s: %s", j ? " | " : "", kind[e[j].kind],
                         e[j].name, e[j].value);
            else if (e[j].kind == STM_HEADER_CHANGE)
                snprintf(out + o, sizeof out - o, "%s%s %s[%d]: %s", j ? " | " : "",
                         kind[e[j].kind], e[j].name, e[j].index, e[j].value);
            else
                snprintf(out + o, sizeof out - o, "%s%s %s[%d]", j ? " | " : "", kind[e[j].kind],
                         e[j].name, e[j].index);
        }
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
        free(e);
        stm_message_clear(&mine);
        stm_message_clear(&got);
    }
}

/* Every protocol the loader accepts has a complete row in the service table. */
static void
test_service_table(void **state)
{
    (void)state;
    for (int p = STM_PROTO_SMTP; p <= STM_PROTO_RSPAMD; p++) {
        const stm_service_ops *ops = stm_service_ops_for((stm_protocol)p);
        assert_non_null(ops);
        assert_non_null(ops->name);
        assert_non_null(ops->start);
        assert_non_null(ops->collect);
        assert_non_null(ops->release);
        assert_non_null(ops->apply);
    }
    assert_null(stm_service_ops_for((stm_protocol)(STM_PROTO_RSPAMD + 1)));
}

/* The reply parsers of clamd, spamd and rspamd (scanners.h): what each
 * takes from a good reply, and a clear reason for a bad one. */
static void
test_scanner_replies(void **state)
{
    (void)state;
    stm_scan_result r = {0};
    char why[300];
    const char *s;

    assert_int_equal(stm_clamd_parse_reply("stream: OK", 10, &r, why, sizeof why), 0);
    assert_null(r.virus);
    s = "stream: Eicar-Signature FOUND";
    assert_int_equal(stm_clamd_parse_reply(s, strlen(s), &r, why, sizeof why), 1);
    assert_string_equal(r.virus, "Eicar-Signature");
    stm_scan_result_clear(&r);
    s = "1: stream: Win.Test.EICAR_HDB-1 FOUND";
    assert_int_equal(stm_clamd_parse_reply(s, strlen(s), &r, why, sizeof why), 1);
    assert_string_equal(r.virus, "Win.Test.EICAR_HDB-1");
    stm_scan_result_clear(&r);
    s = "INSTREAM size limit exceeded. ERROR";
    assert_int_equal(stm_clamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    assert_non_null(strstr(why, "StreamMaxLength"));
    s = "stream: FOUND";
    assert_int_equal(stm_clamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    assert_int_equal(stm_clamd_parse_reply("stream: OK\0x", 12, &r, why, sizeof why), -1);
    assert_null(r.virus);

    s = "SPAMD/1.1 0 EX_OK\r\nContent-length: 103\r\nSpam: True ; 1003.3 / 5.0\r\n\r\n"
        "X-Spam-Flag: YES\r\nX-Spam-Status: Yes, score=1003.3 required=5.0 tests=GTUBE,\r\n\tNO_RELAYS "
        "autolearn=no\r\n";
    assert_int_equal(stm_spamd_parse_reply(s, strlen(s), &r, why, sizeof why), 0);
    assert_true(r.has_spam && r.spam && r.has_score);
    assert_true(r.score > 1003.2 && r.score < 1003.4 && r.required == 5.0);
    assert_string_equal(r.score_text, "1003.30");
    assert_int_equal(r.nsymbols, 2);
    assert_string_equal(r.symbols[0], "GTUBE");
    assert_string_equal(r.symbols[1], "NO_RELAYS");
    assert_int_equal(r.nadd, 2);
    assert_string_equal(r.add[0].name, "X-Spam-Flag");
    stm_scan_result_clear(&r);
    s = "SPAMD/1.0 76 Bad header line: x\r\n";
    assert_int_equal(stm_spamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    assert_non_null(strstr(why, "76 Bad header line"));
    s = "SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n";
    assert_int_equal(stm_spamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    assert_non_null(strstr(why, "no Spam: line"));
    s = "SPAMD/1.1 0 EX_OK\r\nContent-length: 10\r\nSpam: True ; 9 / 5\r\n\r\nabc";
    assert_int_equal(stm_spamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    stm_scan_result_clear(&r);

    s = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n"
        "{\"action\": \"add header\", \"score\": 8.5, \"required_score\": 15,"
        " \"symbols\": {\"A\": {}, \"B\": {}},"
        " \"milter\": {\"add_headers\": {\"X-Spamd-Bar\": {\"value\": \"++++\", \"order\": 0},"
        " \"X-Two\": [\"a\", {\"value\": \"b\"}]}, \"remove_headers\": {\"X-Spam\": 0}}}";
    assert_int_equal(stm_rspamd_parse_reply(s, strlen(s), &r, why, sizeof why), 0);
    assert_string_equal(r.action, "add header");
    assert_true(r.spam && r.score == 8.5 && r.required == 15);
    assert_int_equal(r.nsymbols, 2);
    assert_int_equal(r.nadd, 3);
    assert_string_equal(r.add[0].value, "++++");
    assert_string_equal(r.add[2].value, "b");
    assert_int_equal(r.nremove, 1);
    assert_int_equal(r.remove[0].index, 0);
    stm_scan_result_clear(&r);
    s = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    assert_int_equal(stm_rspamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    assert_non_null(strstr(why, "no action"));
    s = "HTTP/1.1 200 OK\r\n\r\n{\"action\": \"reject\", \"action\": \"no action\", \"score\": 1}";
    assert_int_equal(stm_rspamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_int_equal(stm_rspamd_parse_reply(s, strlen(s), &r, why, sizeof why), -1);
    stm_scan_result_clear(&r);
}

/* The ticket inside a returned body (a report wrapping the original) is
 * cut out with its continuation lines; nothing else changes. */
static void
test_strip_ticket_lines(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\r\nX-Stagemilter-Ticket: 0123abcd\r\nb\r\n", "a\r\nb\r\n"},
        {"x-stagemilter-ticket: t\r\n\tmore\r\n folded\r\nSubject: s\r\n", "Subject: s\r\n"},
        {"X-Stagemilter-Ticket: last", ""},
        {"keep X-Stagemilter-Ticket: inside\n X-Stagemilter-Ticket\n", "keep X-Stagemilter-Ticket: inside\n X-Stagemilter-Ticket\n"},
        {"", ""},
        {"X-Stagemilter-Tickets: other\n", "X-Stagemilter-Tickets: other\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        size_t len = strlen(cases[i].in);
        memcpy(buf, cases[i].in, len + 1);
        size_t n = stm_ticket_strip_lines(buf, len);
        assert_int_equal(n, strlen(cases[i].out));
        assert_memory_equal(buf, cases[i].out, n);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_reply),       cmocka_unit_test(test_stuff),
        cmocka_unit_test(test_find_tokens),       cmocka_unit_test(test_registry),
        cmocka_unit_test(test_registry_lifetime), cmocka_unit_test(test_header_edits),
        cmocka_unit_test(test_service_table),     cmocka_unit_test(test_scanner_replies),
        cmocka_unit_test(test_strip_ticket_lines),
    };
    return cmocka_run_group_tests_name("delegation", tests, NULL, NULL);
}
