/*
 * test_quarantine.c - unit tests of milter/store/quarantine.c (the Maildir store)
 * and of the two text filters of the daemon: stm_reply_escape() (reply.c)
 * and stm_log_clean() (log.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "report/log.h"
#include "store/quarantine.h"
#include "store/quarantine_admin.h"
#include "mta/reply.h"
#include "stagemilter/policy.h"
#include "stagemilter/config.h"
#include "stagemilter/message.h"
#include "stagemilter/session.h"

typedef struct fixture {
    char dir[64];
    stm_policy *policy;
    stm_session *s;
} fixture;

static const char policy_text[] = "stages:\n"
                                  "  preq:\n"
                                  "    - rule: infected\n"
                                  "      if: { has_header: X-Virus }\n"
                                  "      then: { quarantine: virus_q }\n";

/* A session with one transaction: envelope, two headers, a CRLF body. */
static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_quarantine.XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL)
        return -1;
    stm_diag *diag = stm_diag_create();
    f->policy = stm_policy_load_text("test.yaml", policy_text, strlen(policy_text), diag);
    stm_diag_print(diag, stderr);
    stm_diag_free(diag);
    if (f->policy == NULL || (f->s = stm_session_create(f->policy, "77.1")) == NULL)
        return -1;
    stm_session *s = f->s;
    if (stm_session_set_client(s, "192.0.2.7", "4711", "client.example") != 0 ||
        stm_session_begin_transaction(s, "alice@example.com") != 0 ||
        stm_session_set_rcpt(s, "bob@example.net") != 0 || stm_session_accept_rcpt(s) != 0 ||
        stm_session_set_rcpt(s, "carol@example.net") != 0 || stm_session_accept_rcpt(s) != 0 ||
        stm_session_set_queue_id(s, "4XyZ12") != 0)
        return -1;
    stm_message *m = stm_session_message(s);
    if (stm_message_add_header(m, "Subject", "hello\r\n\tworld") != 0 ||
        stm_message_add_header(m, "X-Virus", "EICAR") != 0 ||
        stm_message_append_body(m, "line 1\r\nline 2\r\n", 16, 0) != 0)
        return -1;
    *state = f;
    return 0;
}

/* Remove the tree the test wrote. */
static int
teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    stm_session_free(f->s);
    stm_policy_unref(f->policy);
    free(f);
    return 0;
}

/* A verdict as the engine would return it. */
static void
make_verdict(stm_verdict *v, const char *queue)
{
    stm_verdict_init(v);
    v->verb = STM_VERB_QUARANTINE;
    v->stage = STM_STAGE_PREQ;
    v->queue = queue ? strdup(queue) : NULL;
    v->rule = strdup("infected");
}

/* The mode bits of PATH. */
static unsigned
mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

/* Everything a stored file must hold, in order, and the Maildir around it. */
static void
test_store(void **state)
{
    fixture *f = *state;
    char workdir[128], path[4096], err[256], buf[4096];
    snprintf(workdir, sizeof workdir, "%s/work", f->dir); /* created by the store */
    stm_verdict v;
    make_verdict(&v, "virus_q");
    assert_int_equal(stm_quarantine_store(workdir, f->s, &v, path, sizeof path, err, sizeof err), 0);

    char prefix[256];
    snprintf(prefix, sizeof prefix, "%s/virus_q/new/", workdir);
    assert_memory_equal(path, prefix, strlen(prefix));
    const char *name = path + strlen(prefix);
    unsigned long sec, usec, pid, n;
    char host[128];
    assert_int_equal(sscanf(name, "%lu.M%luP%luQ%lu.%127s", &sec, &usec, &pid, &n, host), 5);
    assert_int_equal(pid, (unsigned long)getpid());

    static const char *const dirs[] = {"", "/virus_q", "/virus_q/tmp", "/virus_q/new",
                                       "/virus_q/cur"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char d[256];
        snprintf(d, sizeof d, "%s%s", workdir, dirs[i]);
        assert_int_equal(mode_of(d), 0700);
    }
    assert_int_equal(mode_of(path), 0600);

    FILE *in = fopen(path, "r");
    assert_non_null(in);
    size_t len = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[len] = '\0';
    assert_string_equal(buf, "Return-Path: <alice@example.com>\n"
                             "X-Original-To: <bob@example.net>\n"
                             "X-Original-To: <carol@example.net>\n"
                             "X-Stagemilter-Quarantine: rule=\"infected\" queue=virus_q "
                             "stage=preq client=192.0.2.7 id=77.1 queue_id=4XyZ12\n"
                             "Subject: hello\n\tworld\n"
                             "X-Virus: EICAR\n"
                             "\n"
                             "line 1\nline 2\n");

    /* A second message gets a second name. */
    char path2[4096];
    assert_int_equal(stm_quarantine_store(workdir, f->s, &v, path2, sizeof path2, err, sizeof err),
                     0);
    assert_string_not_equal(path, path2);
    stm_verdict_clear(&v);
}

struct bad_case {
    const char *queue;
    bool truncate;
    bool block_tmp; /* a file where tmp/ should be */
    const char *error;
};

/* Refusals: nothing is stored, the reason is given, tmp/ stays clean. */
static void
test_refusals(void **state)
{
    fixture *f = *state;
    static const struct bad_case cases[] = {
        {"../escape", false, false, "invalid quarantine queue name \"../escape\": it contains '/'"},
        {"..", false, false, "invalid quarantine queue name"},
        {"", false, false, "invalid quarantine queue name \"\": it is empty"},
        {NULL, false, false, "invalid quarantine queue name"},
        {"spam box", false, false, "it contains ' '"},
        {"-dash", false, false, "it starts with '-'"},
        {"v\xc3\xadrus", false, false, "it contains the byte 0xc3"},
        {"blocked", false, true, "not a directory"},
        {"big", true, false, "max_message_size"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct bad_case *c = &cases[i];
        char path[4096], err[256] = "", workdir[128];
        snprintf(workdir, sizeof workdir, "%s/w%zu", f->dir, i);
        if (c->block_tmp) {
            char p[256];
            snprintf(p, sizeof p, "%s", workdir);
            assert_int_equal(mkdir(p, 0700), 0);
            snprintf(p, sizeof p, "%s/%s", workdir, c->queue);
            assert_int_equal(mkdir(p, 0700), 0);
            snprintf(p, sizeof p, "%s/%s/tmp", workdir, c->queue);
            FILE *blk = fopen(p, "w");
            assert_non_null(blk);
            fclose(blk);
        }
        stm_message *m = stm_session_message(f->s);
        m->truncated = c->truncate;
        stm_verdict v;
        make_verdict(&v, c->queue);
        assert_int_equal(stm_quarantine_store(workdir, f->s, &v, path, sizeof path, err, sizeof err),
                         -1);
        m->truncated = false;
        if (strstr(err, c->error) == NULL)
            fail_msg("case %zu: error \"%s\" lacks \"%s\"", i, err, c->error);
        stm_verdict_clear(&v);
    }
}

/* The envelope is recorded byte for byte and read back the same by the
 * admin commands: quoted local parts, UTF-8 (SMTPUTF8), 1,000-byte
 * addresses. An address with a control character is not stored. */
static void
test_envelope_lossless(void **state)
{
    fixture *f = *state;
    char workdir[128], path[4096], err[256], longaddr[1024];
    snprintf(workdir, sizeof workdir, "%s/work", f->dir);
    memset(longaddr, 'v', 1000 - strlen("@rcpt.test"));
    memcpy(longaddr + 1000 - strlen("@rcpt.test"), "@rcpt.test", strlen("@rcpt.test") + 1);
    assert_int_equal(strlen(longaddr), 1000);
    const char *rcpts[] = {"\"john doe\"@rcpt.test", "j\xc3\xbc"
                                                          "rgen@b\xc3\xbc"
                                                          "cher.example",
                           "\"a>b\\\"c\"@rcpt.test", longaddr};
    const char *sender = "\"alice smith\"@sender.test";
    stm_session *s = f->s;
    assert_int_equal(stm_session_begin_transaction(s, sender), 0);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(stm_session_set_rcpt(s, rcpts[i]), 0);
        assert_int_equal(stm_session_accept_rcpt(s), 0);
    }
    assert_int_equal(stm_message_add_header(stm_session_message(s), "Subject", "x"), 0);
    stm_verdict v;
    make_verdict(&v, "virus_q");
    assert_int_equal(stm_quarantine_store(workdir, s, &v, path, sizeof path, err, sizeof err), 0);
    FILE *in = fopen(path, "r");
    assert_non_null(in);
    stm_quarantine_entry e;
    assert_int_equal(stm_quarantine_entry_read(in, &e, err, sizeof err), 0);
    fclose(in);
    assert_string_equal(e.sender, sender);
    assert_int_equal(e.nrcpts, 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(e.rcpts[i], rcpts[i]);
    stm_quarantine_entry_clear(&e);

    /* A control character (no SMTP address holds one): refused, not changed. */
    assert_int_equal(stm_session_begin_transaction(s, "bad\001@sender.test"), 0);
    assert_int_equal(stm_session_set_rcpt(s, "bob@rcpt.test"), 0);
    assert_int_equal(stm_session_accept_rcpt(s), 0);
    assert_int_equal(stm_quarantine_store(workdir, s, &v, path, sizeof path, err, sizeof err), -1);
    assert_non_null(strstr(err, "control character"));
    stm_verdict_clear(&v);
}

struct text_case {
    const char *in;
    const char *escaped; /* stm_reply_escape */
    const char *cleaned; /* stm_log_clean */
};

/* '%' doubled for smfi_setreply; control characters and quotes tamed. */
static void
test_texts(void **state)
{
    static const struct text_case cases[] = {
        {"plain", "plain", "plain"},
        {"100% sure", "100%% sure", "100% sure"},
        {"a\r\nb", "a  b", "a??b"},
        {"say \"hi\"\\", "say \"hi\"\\", "say ?hi??"},
        {"", "", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[64];
        assert_string_equal(stm_reply_escape(buf, sizeof buf, cases[i].in), cases[i].escaped);
        assert_string_equal(stm_log_clean(buf, sizeof buf, cases[i].in), cases[i].cleaned);
    }
    char small[8];
    assert_string_equal(stm_reply_escape(small, sizeof small, "%%%%%%"), "%%%%%%");
    assert_string_equal(stm_reply_escape(small, sizeof small, "abcdefghij"), "abcdefg");
    assert_string_equal(stm_log_clean(small, sizeof small, "abcdefghij"), "abcd...");
    assert_string_equal(stm_log_clean(small, sizeof small, NULL), "");
    char big[STM_LOG_PEER_MAX + 64];
    char longtext[STM_LOG_PEER_MAX + 50];
    memset(longtext, 'x', sizeof longtext - 1);
    longtext[sizeof longtext - 1] = '\0';
    assert_int_equal(strlen(stm_log_clean(big, sizeof big, longtext)), STM_LOG_PEER_MAX);
}

/* Create an empty file DIR/NAME. */
static void
touch(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
}

/* Does DIR/NAME exist? */
static bool
exists(const char *dir, const char *name)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

/* At start, the tmp/ copies of a writer of this host that died are removed;
 * those of a live writer, of ourselves or of another host stay, and so does
 * anything in new/. */
static void
test_sweep(void **state)
{
    fixture *f = *state;
    char err[256] = "";
    char tmp[256], newdir[256], host[256], name[512];
    assert_int_equal(stm_quarantine_sweep("/nonexistent/stagemilter", err, sizeof err), 0);
    snprintf(tmp, sizeof tmp, "%s/virus_q/tmp", f->dir);
    snprintf(newdir, sizeof newdir, "%s/virus_q/new", f->dir);
    snprintf(name, sizeof name, "%s/virus_q", f->dir);
    assert_int_equal(mkdir(name, 0700), 0);
    assert_int_equal(mkdir(tmp, 0700), 0);
    assert_int_equal(mkdir(newdir, 0700), 0);
    assert_int_equal(gethostname(host, sizeof host), 0);
    host[sizeof host - 1] = '\0';

    pid_t dead = fork(); /* a pid that no longer runs */
    if (dead == 0)
        _exit(0);
    assert_true(dead > 0);
    assert_int_equal(waitpid(dead, NULL, 0), dead);

    char orphan[512], mine[512], alive[512], other[512], done[512];
    snprintf(orphan, sizeof orphan, "1700000000.M1P%ldQ1.%s", (long)dead, host);
    snprintf(mine, sizeof mine, "1700000000.M2P%ldQ1.%s", (long)getpid(), host);
    snprintf(alive, sizeof alive, "1700000000.M3P%ldQ1.%s", (long)getppid(), host);
    snprintf(other, sizeof other, "1700000000.M4P%ldQ1.elsewhere.example", (long)dead);
    snprintf(done, sizeof done, "1700000000.M5P%ldQ1.%s", (long)dead, host);
    touch(tmp, orphan);
    touch(tmp, mine);
    touch(tmp, alive);
    touch(tmp, other);
    touch(newdir, done);

    assert_int_equal(stm_quarantine_sweep(f->dir, err, sizeof err), 1);
    assert_false(exists(tmp, orphan));
    assert_true(exists(tmp, mine));
    assert_true(exists(tmp, alive));
    assert_true(exists(tmp, other));
    assert_true(exists(newdir, done));
    assert_int_equal(stm_quarantine_sweep(f->dir, err, sizeof err), 0);
}

/* The whole file PATH; *LEN its size. Caller frees. */
static char *
slurp(const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    assert_non_null(in);
    assert_int_equal(fseek(in, 0, SEEK_END), 0);
    long n = ftell(in);
    rewind(in);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, in), (size_t)n);
    fclose(in);
    *len = (size_t)n;
    return data;
}

/* The store of a spooled body is byte for byte the store of the same body
 * in memory: CRLF made LF also when the CR ends one 64 KiB read and the LF
 * starts the next, a lone CR at the end of a read kept, a CR at the very
 * end kept. */
static void
test_store_spooled(void **state)
{
    enum { PIECE = 1 << 16, LEN = 5 * PIECE + 1234 };
    fixture *f = *state;
    char workdir[128], spooldir[128], path[2][4096], err[256];
    snprintf(workdir, sizeof workdir, "%s/work", f->dir);
    snprintf(spooldir, sizeof spooldir, "%s/spool", f->dir);
    assert_int_equal(mkdir(spooldir, 0700), 0);
    char *body = malloc(LEN);
    assert_non_null(body);
    for (size_t i = 0; i < LEN; i++) /* CRLF lines of 70, some bytes 8-bit */
        body[i] = i % 72 == 70 ? '\r' : i % 72 == 71 ? '\n' : (char)('A' + i % 61 + (i % 997 == 0) * 100);
    memcpy(body + PIECE - 1, "\r\n", 2);     /* CRLF across the first two reads */
    memcpy(body + 2 * PIECE - 1, "\rZ", 2);  /* a lone CR ending a read */
    memcpy(body + 3 * PIECE - 2, "\r\r\n", 3); /* CR, then CRLF across reads */
    body[LEN - 1] = '\r';                    /* a CR at the very end */
    stm_spool_config sp = {spooldir, 4096};
    stm_verdict v;
    make_verdict(&v, "virus_q");
    for (int spooled = 0; spooled < 2; spooled++) {
        stm_message *m = stm_session_message(f->s);
        free(m->body);
        m->body = NULL;
        m->body_len = m->body_cap = 0;
        stm_message_set_spool(m, spooled ? &sp : NULL);
        for (size_t off = 0; off < LEN; off += 65000) /* milter-sized chunks */
            assert_int_equal(stm_message_append_body(m, body + off, LEN - off < 65000 ? LEN - off : 65000, 0), 0);
        assert_int_equal(m->spooled, spooled);
        assert_int_equal(stm_quarantine_store(workdir, f->s, &v, path[spooled], sizeof path[0], err, sizeof err), 0);
    }
    size_t len[2];
    char *file[2] = {slurp(path[0], &len[0]), slurp(path[1], &len[1])};
    /* The body as stored: after the first empty line, CRLF made LF. */
    const char *b = strstr(file[0], "\n\n");
    assert_non_null(b);
    b += 2;
    char *expect = malloc(LEN);
    size_t want = 0;
    assert_non_null(expect);
    for (size_t i = 0; i < LEN; i++)
        if (!(body[i] == '\r' && i + 1 < LEN && body[i + 1] == '\n'))
            expect[want++] = body[i];
    assert_int_equal(len[0] - (size_t)(b - file[0]), want);
    assert_memory_equal(b, expect, want);
    const char *b1 = strstr(file[1], "\n\n");
    assert_non_null(b1);
    b1 += 2;
    assert_int_equal(len[1] - (size_t)(b1 - file[1]), want);
    assert_memory_equal(b1, expect, want);
    free(expect);
    /* The headers too (written by the same code from the same session). */
    assert_int_equal(b - file[0], b1 - file[1]);
    assert_memory_equal(file[0], file[1], (size_t)(b - file[0]));
    free(file[0]);
    free(file[1]);
    free(body);
    stm_verdict_clear(&v);
    stm_message_clear(stm_session_message(f->s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_envelope_lossless, setup, teardown),
        cmocka_unit_test(test_texts),
        cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_spooled, setup, teardown),
    };
    return cmocka_run_group_tests_name("quarantine", tests, NULL, NULL);
}
