/*
 * test_quarantine_admin.c - unit tests of milter/store/quarantine_admin.c
 * (--quarantine list|release|delete: names from the command line, the
 * envelope block, release through a stand-in sendmail that records its
 * arguments and input) and of stm_privileges_lookup() (-u USER[:GROUP]).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/privileges.h"
#include "store/quarantine_admin.h"

#define ID_A "1795298410.M512345P812Q3.host.example"
#define ID_B "1795298411.M1P812Q4.host.example:2,S"

typedef struct fixture {
    char dir[64];
    char work[96];
} fixture;

static const char file_a[] =
    "Return-Path: <alice@example.com>\n"
    "X-Original-To: <bob@example.net>\n"
    "X-Original-To: <carol@example.net>\n"
    "X-Stagemilter-Quarantine: rule=\"infected\" queue=virus_q stage=preq client=192.0.2.1 "
    "id=1.1\n"
    "Subject: hello\n"
    "X-Stagemilter-Quarantine: a header of the message itself stays\n"
    "\n"
    "body line\n";

static const char file_b[] = "Return-Path: <>\n"
                             "X-Original-To: <dave@example.net>\n"
                             "X-Stagemilter-Quarantine: rule=\"spam\" queue=spam_q stage=postq\n"
                             "\n"
                             "spam body\n";

/* Write TEXT to DIR/NAME. */
static void
put(const char *dir, const char *name, const char *text, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

/* A workdir with virus_q/new/ID_A, spam_q/cur/ID_B, a stand-in sendmail. */
static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test_qadmin.XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->work, sizeof f->work, "%s/work", f->dir);
    static const char *const dirs[] = {
        "",        "/virus_q",    "/virus_q/new", "/virus_q/cur", "/virus_q/tmp",
        "/spam_q", "/spam_q/new", "/spam_q/cur"};
    char path[512];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s%s", f->work, dirs[i]);
        if (mkdir(path, 0700) != 0)
            return -1;
    }
    snprintf(path, sizeof path, "%s/virus_q/new", f->work);
    put(path, ID_A, file_a, 0600);
    snprintf(path, sizeof path, "%s/spam_q/cur", f->work);
    put(path, ID_B, file_b, 0600);
    put(f->dir, "outside", "not mail\n", 0600);
    /* sendmail: records its arguments and its input; exit status from a file. */
    put(f->dir, "sendmail",
        "#!/bin/sh\n"
        "d=$(dirname \"$0\")\n"
        "printf '%s\\n' \"$@\" > \"$d/args\"\n"
        "cat > \"$d/stdin\"\n"
        "exit $(cat \"$d/status\" 2>/dev/null || echo 0)\n",
        0700);
    *state = f;
    return 0;
}

/* Remove the fixture's tree. */
static int
teardown(void **state)
{
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* Run ACTION with ARGS; OUT/ERR text into the buffers (freed by caller). */
static int
run(fixture *f, const char *action, const char *const *args, size_t nargs, char **out, char **err)
{
    char sendmail[128];
    snprintf(sendmail, sizeof sendmail, "%s/sendmail", f->dir);
    size_t lo, le;
    FILE *fo = open_memstream(out, &lo), *fe = open_memstream(err, &le);
    stm_quarantine_admin_args a = {
        .workdir = f->work, .action = action, .args = args, .nargs = nargs, .sendmail = sendmail};
    int rc = stm_quarantine_admin_main(&a, fo, fe);
    fclose(fo);
    fclose(fe);
    return rc;
}

/* The contents of DIR/NAME (caller frees), or NULL. */
static char *
slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Names from the command line. */
static void
test_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        bool ok;
    } cases[] = {
        {ID_A, true},
        {ID_B, true},
        {"virus_q", true},
        {"1795298410.M1P2Q3.host\\057x", true},
        {"", false},
        {".", false},
        {"..", false},
        {"../outside", false},
        {"virus_q/new/" ID_A, false},
        {"/etc/passwd", false},
        {".hidden", false},
        {"-rf", false},
        {"a b", false},
        {"a\nb", false},
        {"a*", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (stm_quarantine_admin_name_ok(cases[i].name) != cases[i].ok)
            fail_msg("name \"%s\": expected %s", cases[i].name, cases[i].ok ? "ok" : "refused");
    assert_false(stm_quarantine_admin_name_ok(NULL));
}

/* The envelope block: good files and the shapes that are refused. */
static void
test_entry(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *sender; /* NULL: refused */
        size_t nrcpts;
        const char *rule;
        const char *rest; /* what follows the block */
    } cases[] = {
        {file_a, "alice@example.com", 2, "infected",
         "Subject: hello\nX-Stagemilter-Quarantine: a header of the message itself stays\n\nbody "
         "line\n"},
        {file_b, "", 1, "spam", "\nspam body\n"},
        {"Subject: no envelope\n\nbody\n", NULL, 0, NULL, NULL},
        {"Return-Path: <a@b>\nX-Original-To: <c@d>\n\nbody\n", NULL, 0, NULL, NULL},
        {"Return-Path: <a@b>\nSubject: x\nX-Stagemilter-Quarantine: rule=\"r\"\n", NULL, 0, NULL,
         NULL},
        {"Return-Path: a@b\nX-Stagemilter-Quarantine: rule=\"r\"\n", NULL, 0, NULL, NULL},
        {"", NULL, 0, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FILE *f = tmpfile();
        assert_non_null(f);
        fputs(cases[i].text, f);
        rewind(f);
        stm_quarantine_entry e;
        char err[256];
        int rc = stm_quarantine_entry_read(f, &e, err, sizeof err);
        if (cases[i].sender == NULL) {
            if (rc != -1)
                fail_msg("case %zu: expected a refusal", i);
            fclose(f);
            continue;
        }
        if (rc != 0)
            fail_msg("case %zu: refused: %s", i, err);
        assert_string_equal(e.sender, cases[i].sender);
        assert_int_equal(e.nrcpts, cases[i].nrcpts);
        assert_string_equal(e.rule, cases[i].rule);
        assert_string_equal(cases[i].text + e.offset, cases[i].rest);
        stm_quarantine_entry_clear(&e);
        fclose(f);
    }
}

/* list: every queue or one, tab-separated, with envelope and rule. */
static void
test_list(void **state)
{
    fixture *f = *state;
    char *out, *err;
    assert_int_equal(run(f, "list", NULL, 0, &out, &err), 0);
    assert_string_equal(err, "");
    assert_non_null(strstr(out, "# id\tdate\tqueue\tsender\trecipients\trule\n"));
    assert_non_null(strstr(out, ID_A "\t"));
    assert_non_null(strstr(out,
                           "\tvirus_q\t<alice@example.com>\t<bob@example.net>,<carol@example.net>\t"
                           "infected\n"));
    assert_non_null(strstr(out, ID_B "\t"));
    assert_non_null(strstr(out, "\tspam_q\t<>\t<dave@example.net>\tspam\n"));
    free(out);
    free(err);

    const char *q[] = {"spam_q"};
    assert_int_equal(run(f, "list", q, 1, &out, &err), 0);
    assert_null(strstr(out, ID_A));
    assert_non_null(strstr(out, ID_B));
    free(out);
    free(err);

    static const char *const bad[] = {"../work", "nosuch", "virus_q/new"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run(f, "list", &bad[i], 1, &out, &err), 1);
        assert_string_not_equal(err, "");
        free(out);
        free(err);
    }
}

/* release: sendmail gets -i -f SENDER -- RCPTS and the message without the
 * block; the file goes only when sendmail succeeded. */
static void
test_release(void **state)
{
    fixture *f = *state;
    char *out, *err, path[512];
    const char *ids[] = {ID_A};
    snprintf(path, sizeof path, "%s/virus_q/new/" ID_A, f->work);

    put(f->dir, "status", "75\n", 0600);
    assert_int_equal(run(f, "release", ids, 1, &out, &err), 1);
    assert_non_null(strstr(err, "exit status 75"));
    assert_int_equal(access(path, F_OK), 0);
    free(out);
    free(err);

    put(f->dir, "status", "0\n", 0600);
    assert_int_equal(run(f, "release", ids, 1, &out, &err), 0);
    assert_string_equal(out, ID_A ": released from <alice@example.com> to 2 recipients\n");
    assert_int_not_equal(access(path, F_OK), 0);
    char *args = slurp(f->dir, "args"), *in = slurp(f->dir, "stdin");
    char want_args[256];
    snprintf(want_args, sizeof want_args,
             "%s/sendmail\n-i\n-f\nalice@example.com\n--\nbob@example.net\ncarol@example.net\n",
             f->dir);
    /* $0 is not printed by "$@": the first line is -i */
    assert_string_equal(args, strchr(want_args, '\n') + 1);
    assert_string_equal(in, "Subject: hello\nX-Stagemilter-Quarantine: a header of the message "
                            "itself stays\n\nbody line\n");
    free(args);
    free(in);
    free(out);
    free(err);

    /* The null sender goes out as "<>". */
    const char *idb[] = {ID_B};
    assert_int_equal(run(f, "release", idb, 1, &out, &err), 0);
    args = slurp(f->dir, "args");
    assert_string_equal(args, "-i\n-f\n<>\n--\ndave@example.net\n");
    free(args);
    free(out);
    free(err);
}

/* release gives sendmail the envelope byte for byte, however it looks:
 * quoted local parts with spaces, UTF-8 (SMTPUTF8) and a 1,000-byte
 * address, each one argument, no shell in between. (The test MTAs of
 * tests/e2e/35-quarantine-release.t run without SMTPUTF8 and smtp-sink
 * drops RCPT lines that long, so those two are checked here.) */
static void
test_release_envelope(void **state)
{
    fixture *f = *state;
    char *out, *err, dir[512], longaddr[1024], text[4096];
    memset(longaddr, 'v', 1000 - strlen("@rcpt.test"));
    memcpy(longaddr + 1000 - strlen("@rcpt.test"), "@rcpt.test", strlen("@rcpt.test") + 1);
    const char *sender = "\"alice smith\"@sender.test";
    const char *utf8 = "j\xc3\xbc"
                       "rgen@b\xc3\xbc"
                       "cher.example";
    snprintf(text, sizeof text,
             "Return-Path: <%s>\nX-Original-To: <\"john doe\"@rcpt.test>\n"
             "X-Original-To: <%s>\nX-Original-To: <%s>\n"
             "X-Stagemilter-Quarantine: rule=\"r\" queue=virus_q stage=preq\n\nbody\n",
             sender, utf8, longaddr);
    snprintf(dir, sizeof dir, "%s/virus_q/new", f->work);
    put(dir, "1795298411.M1P2Q9.host", text, 0600);
    const char *ids[] = {"1795298411.M1P2Q9.host"};
    assert_int_equal(run(f, "release", ids, 1, &out, &err), 0);
    char *args = slurp(f->dir, "args");
    char want[2048];
    snprintf(want, sizeof want, "-i\n-f\n%s\n--\n\"john doe\"@rcpt.test\n%s\n%s\n", sender,
             utf8, longaddr);
    assert_string_equal(args, want);
    free(args);
    free(out);
    free(err);
}

/* Every way out of the workdir is refused, and nothing is touched. */
static void
test_escape(void **state)
{
    fixture *f = *state;
    char link[512], *out, *err;
    snprintf(link, sizeof link, "%s/virus_q/new/evil", f->work);
    assert_int_equal(symlink("../../../outside", link), 0);
    static const char *const bad[] = {
        "../outside", "../../outside", "virus_q/new/" ID_A, "..", ".", "evil", "nosuch", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int action = 0; action < 2; action++) {
            int rc = run(f, action ? "delete" : "release", &bad[i], 1, &out, &err);
            if (rc != 1)
                fail_msg("%s \"%s\" was not refused", action ? "delete" : "release", bad[i]);
            free(out);
            free(err);
        }
    }
    char *outside = slurp(f->dir, "outside");
    assert_string_equal(outside, "not mail\n");
    free(outside);
    assert_null(slurp(f->dir, "args")); /* sendmail never ran */
    struct stat st;
    assert_int_equal(lstat(link, &st), 0); /* the link itself is left alone */

    /* delete: one good id among bad ones is done, the status says failure. */
    const char *mixed[] = {"../outside", ID_A};
    assert_int_equal(run(f, "delete", mixed, 2, &out, &err), 1);
    assert_string_equal(out, ID_A ": deleted\n");
    free(out);
    free(err);
    assert_int_equal(run(f, "bogus", NULL, 0, &out, &err), 1);
    free(out);
    free(err);
    assert_int_equal(run(f, "release", NULL, 0, &out, &err), 1);
    free(out);
    free(err);
}

/* A link planted as a queue or as its new/ (the tree belongs to the
 * daemon's user, the commands run as root) is never followed: a file with
 * a good id behind it is neither read, listed, released nor deleted. */
static void
test_linked_dirs(void **state)
{
    fixture *f = *state;
    char path[512], *out, *err;
    /* outside/: a Maildir-looking tree beside the workdir, with a real file. */
    static const char *const dirs[] = {"/elsewhere", "/elsewhere/new", "/elsewhere/cur"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", f->dir, dirs[i]);
        assert_int_equal(mkdir(path, 0700), 0);
    }
    snprintf(path, sizeof path, "%s/elsewhere/new", f->dir);
    put(path, "1795298499.M9P9Q9.host", file_a, 0600);
    /* linked_q -> ../elsewhere; spam_q/new replaced by a link to it. */
    snprintf(path, sizeof path, "%s/linked_q", f->work);
    assert_int_equal(symlink("../elsewhere", path), 0);
    snprintf(path, sizeof path, "%s/lnk_q", f->work);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/lnk_q/new", f->work);
    assert_int_equal(symlink("../../elsewhere/new", path), 0);

    const char *id[] = {"1795298499.M9P9Q9.host"};
    for (int action = 0; action < 2; action++) {
        assert_int_equal(run(f, action ? "delete" : "release", id, 1, &out, &err), 1);
        assert_non_null(strstr(err, "no such quarantined message"));
        free(out);
        free(err);
    }
    snprintf(path, sizeof path, "%s/elsewhere/new", f->dir);
    char *kept = slurp(path, "1795298499.M9P9Q9.host");
    assert_non_null(kept); /* still there */
    free(kept);
    assert_null(slurp(f->dir, "args")); /* sendmail never ran */
    assert_int_equal(run(f, "list", NULL, 0, &out, &err), 0);
    assert_null(strstr(out, "1795298499.M9P9Q9.host"));
    free(out);
    free(err);
    const char *q[] = {"linked_q"};
    assert_int_equal(run(f, "list", q, 1, &out, &err), 1);
    free(out);
    free(err);
}

/* Queue names follow the rule of --check and the store: a name the policy
 * refuses is refused here too, with the same reason. */
static void
test_queue_names(void **state)
{
    fixture *f = *state;
    char *out, *err;
    static const char *const bad[] = {"spam box", "-dash", "v\xc3\xadrus", "a/b", ".hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run(f, "list", &bad[i], 1, &out, &err), 1);
        if (strstr(err, "is not a queue name: it ") == NULL)
            fail_msg("list \"%s\": %s", bad[i], err);
        free(out);
        free(err);
    }
    const char *good[] = {"virus_q"};
    assert_int_equal(run(f, "list", good, 1, &out, &err), 0);
    assert_non_null(strstr(out, ID_A));
    free(out);
    free(err);
}

/* -u USER[:GROUP]. */
static void
test_lookup(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        bool ok;
    } cases[] = {
        {"nobody", true},
        {"nobody:nogroup", true},
        {"65534", true},
        {"nobody:65534", true},
        {"root", false},
        {"0", false},
        {"no-such-user-x", false},
        {"nobody:no-such-group-x", false},
        {"nobody:", false},
        {":nogroup", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        stm_privileges_user u;
        char err[256] = "";
        int rc = stm_privileges_lookup(cases[i].spec, &u, err, sizeof err);
        if ((rc == 0) != cases[i].ok)
            fail_msg("-u \"%s\": expected %s (%s)", cases[i].spec, cases[i].ok ? "ok" : "refusal",
                     err);
        if (rc == 0)
            assert_string_equal(u.name, "nobody");
        else
            assert_string_not_equal(err, "");
    }
}

/* One group: one TAP plan. */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_entry),
        cmocka_unit_test_setup_teardown(test_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test_setup_teardown(test_linked_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
