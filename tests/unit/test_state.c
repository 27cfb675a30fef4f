/*
 * test_state.c - unit tests of the state stores (milter/state): the rate
 * window and greylist rules of record.c, and the same table of checks run
 * against each store, memory, LMDB (a file in a temporary directory) and
 * Redis (a real redis-server this test starts on loopback): counting,
 * read-only lookups, greylisting from new to known, expiry, --state
 * list/delete, 20 threads counting one key (the count is exact), and for
 * Redis a server that stops (operations fail) and comes back (they work
 * again without reopening the store).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "state/record.h"
#include "state/state.h"
#include "state/state_admin.h"

#define MIN 60000ull
#define T0 1800000000000ull /* a fixed wall clock: 2027-01-15 */

static const stm_greylist_params gp = {5 * MIN, 240 * MIN, 35 * 24 * 60 * MIN};

/* ---- record.c ---- */

static void
test_rec_rate_window(void **unused)
{
    (void)unused;
    stm_rec r;
    uint64_t n = 0;
    memset(&r, 0, sizeof r);
    stm_rec_rate(&r, false, 60 * MIN, T0, true, &n);
    assert_int_equal(n, 1);
    for (int i = 0; i < 4; i++)
        stm_rec_rate(&r, true, 60 * MIN, T0 + (uint64_t)i * 10 * MIN, true, &n);
    assert_int_equal(n, 5);
    /* Read only: what it would be, nothing counted. */
    stm_rec copy = r;
    stm_rec_rate(&copy, true, 60 * MIN, T0 + 40 * MIN, false, &n);
    assert_int_equal(n, 6);
    stm_rec_rate(&r, true, 60 * MIN, T0 + 40 * MIN, false, &n);
    stm_rec_rate(&r, true, 60 * MIN, T0 + 40 * MIN, false, &n);
    assert_int_equal(n, 6);
    /* 61 minutes after the first two (T0 and T0): they no longer count. */
    stm_rec_rate(&r, true, 60 * MIN, T0 + 61 * MIN, true, &n);
    assert_int_equal(n, 4); /* +10, +20, +30 and this one */
    /* Two windows later: nothing left. */
    stm_rec_rate(&r, true, 60 * MIN, T0 + 200 * MIN, true, &n);
    assert_int_equal(n, 1);
    assert_true(stm_rec_alive(&r, T0 + 200 * MIN + 59 * MIN));
    assert_false(stm_rec_alive(&r, T0 + 200 * MIN + 62 * MIN));
    /* Another window size starts over. */
    stm_rec_rate(&r, true, 10 * MIN, T0 + 200 * MIN, true, &n);
    assert_int_equal(n, 1);
}

static void
test_rec_grey_steps(void **unused)
{
    (void)unused;
    stm_rec r;
    stm_greylist_answer a;
    memset(&r, 0, sizeof r);
    assert_true(stm_rec_grey(&r, false, &gp, T0, &a));
    assert_int_equal(a.state, STM_GREY_NEW);
    assert_false(stm_rec_grey(&r, true, &gp, T0 + MIN, &a));
    assert_int_equal(a.state, STM_GREY_EARLY);
    assert_int_equal(a.age_ms, MIN);
    assert_true(stm_rec_grey(&r, true, &gp, T0 + 6 * MIN, &a));
    assert_int_equal(a.state, STM_GREY_PASS);
    assert_int_equal(r.expires_ms, T0 + 6 * MIN + gp.expire_ms);
    assert_true(stm_rec_grey(&r, true, &gp, T0 + 600 * MIN, &a));
    assert_int_equal(a.state, STM_GREY_KNOWN);
    /* A retry after the window, never passed: starts over. */
    memset(&r, 0, sizeof r);
    stm_rec_grey(&r, false, &gp, T0, &a);
    assert_true(stm_rec_grey(&r, true, &gp, T0 + 241 * MIN, &a));
    assert_int_equal(a.state, STM_GREY_NEW);
    assert_int_equal(r.u.grey.first_ms, T0 + 241 * MIN);
}

/* ---- every store ---- */

typedef struct store_case {
    const char *name;
    stm_state_store *st;
} store_case;

/* Greylisting a key from new to known, and read-only lookups. */
static void
check_greylist(stm_state_store *st)
{
    char err[300];
    stm_greylist_answer a;
    const char *k = "192.0.2.0/24/a@example.com/b@example.net";
    assert_int_equal(st->ops->greylist(st, k, &gp, T0, false, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_NEW);
    /* Read only: still new. */
    assert_int_equal(st->ops->greylist(st, k, &gp, T0 + MIN, true, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_NEW);
    assert_int_equal(st->ops->greylist(st, k, &gp, T0 + 2 * MIN, true, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_EARLY);
    assert_int_equal(st->ops->greylist(st, k, &gp, T0 + 7 * MIN, false, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_PASS);
    assert_int_equal(st->ops->greylist(st, k, &gp, T0 + 7 * MIN, true, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_PASS);
    assert_int_equal(a.age_ms, 6 * MIN);
    assert_int_equal(st->ops->greylist(st, k, &gp, T0 + 8 * MIN, true, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_KNOWN);
    /* Another triplet is unknown. */
    assert_int_equal(st->ops->greylist(st, "other", &gp, T0 + 8 * MIN, true, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_NEW);
}

/* Counting, read only, and a window that slides. */
static void
check_rate(stm_state_store *st, uint64_t now)
{
    char err[300];
    uint64_t n = 0;
    for (uint64_t i = 1; i <= 5; i++) {
        assert_int_equal(st->ops->rate(st, "client:192.0.2.1", 60 * MIN, now + i, true, &n, err,
                                       sizeof err),
                         0);
        assert_int_equal(n, i);
    }
    assert_int_equal(st->ops->rate(st, "client:192.0.2.1", 60 * MIN, now + 9, false, &n, err,
                                   sizeof err),
                     0);
    assert_int_equal(n, 6);
    assert_int_equal(st->ops->rate(st, "client:192.0.2.1", 60 * MIN, now + 10, true, &n, err,
                                   sizeof err),
                     0);
    assert_int_equal(n, 6);
    /* Another key has its own count. */
    assert_int_equal(st->ops->rate(st, "client:192.0.2.2", 60 * MIN, now + 10, true, &n, err,
                                   sizeof err),
                     0);
    assert_int_equal(n, 1);
    /* An hour and two minutes later, the first five are gone. */
    assert_int_equal(st->ops->rate(st, "client:192.0.2.1", 60 * MIN, now + 62 * MIN, true, &n,
                                   err, sizeof err),
                     0);
    assert_int_equal(n, 1);
}

/* Count the entries matching PATTERN. */
static long
check_count(stm_state_store *st, const char *pattern, uint64_t now)
{
    char err[300];
    long n = st->ops->each(st, pattern, false, now, NULL, NULL, err, sizeof err);
    if (n < 0)
        fail_msg("each: %s", err);
    return n;
}

/* list/delete with globs, and expiry. */
static void
check_each(stm_state_store *st, uint64_t now)
{
    char err[300];
    stm_greylist_answer a;
    uint64_t n;
    assert_int_equal(st->ops->greylist(st, "g1", &gp, now, true, &a, err, sizeof err), 0);
    assert_int_equal(st->ops->greylist(st, "g2", &gp, now, true, &a, err, sizeof err), 0);
    assert_int_equal(st->ops->rate(st, "r1", MIN, now, true, &n, err, sizeof err), 0);
    assert_int_equal(check_count(st, "grey:g?", now), 2);
    assert_int_equal(check_count(st, "rate:r1", now), 1);
    assert_int_equal(check_count(st, "*1", now), 2);
    /* Delete one; the other stays. */
    assert_int_equal(st->ops->each(st, "grey:g1", true, now, NULL, NULL, err, sizeof err), 1);
    assert_int_equal(check_count(st, "grey:g?", now), 1);
    assert_int_equal(st->ops->greylist(st, "g1", &gp, now + 10 * MIN, true, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_NEW);
}

/* 20 threads add 25 events each to one key: every one is counted. */
typedef struct count_job {
    stm_state_store *st;
    uint64_t now;
    int failures;
} count_job;

static void *
count_thread(void *arg)
{
    count_job *j = arg;
    char err[300];
    uint64_t n;
    for (int i = 0; i < 25; i++)
        if (j->st->ops->rate(j->st, "shared", 60 * MIN, j->now, true, &n, err, sizeof err) != 0)
            j->failures++;
    return NULL;
}

static void
check_parallel(stm_state_store *st, uint64_t now)
{
    pthread_t t[20];
    count_job jobs[20];
    for (int i = 0; i < 20; i++) {
        jobs[i] = (count_job){st, now, 0};
        assert_int_equal(pthread_create(&t[i], NULL, count_thread, &jobs[i]), 0);
    }
    /* Every thread joined before any assertion: a failed one leaves the
     * function, and the threads still running would write into its frame. */
    int failures = 0;
    for (int i = 0; i < 20; i++) {
        pthread_join(t[i], NULL);
        failures += jobs[i].failures;
    }
    assert_int_equal(failures, 0);
    char err[300];
    uint64_t n = 0;
    assert_int_equal(st->ops->rate(st, "shared", 60 * MIN, now, false, &n, err, sizeof err), 0);
    assert_int_equal(n, 20 * 25 + 1);
}

/* Everything every store must do; NOW distinct per store run. */
static void
check_store(stm_state_store *st)
{
    check_greylist(st);
    check_rate(st, T0);
    check_each(st, T0 + 1000 * MIN);
    check_parallel(st, T0 + 2000 * MIN);
}

static void
test_memory(void **unused)
{
    (void)unused;
    char err[300];
    stm_state_store *st = stm_state_memory_open(err, sizeof err);
    assert_non_null(st);
    assert_string_equal(st->ops->name, "memory");
    check_store(st);
    /* Expired records go away a bucket at a time as the store is used. */
    stm_greylist_answer a;
    for (int i = 0; i < 3000; i++) {
        char k[32];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(st->ops->greylist(st, k, &gp, T0, true, &a, err, sizeof err), 0);
    }
    assert_int_equal(check_count(st, "grey:k*", T0), 3000);
    uint64_t late = T0 + gp.window_ms + 1;
    assert_int_equal(check_count(st, "grey:k*", late), 0);
    stm_state_close(st);
}

/* A temporary directory; the caller removes it. */
static char *
tmpdir(void)
{
    char *d = strdup("/tmp/test_state.XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

/* Run a shell command; its status. */
static int
sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void
test_lmdb(void **unused)
{
    (void)unused;
    char err[300], path[300];
    char *dir = tmpdir();
    snprintf(path, sizeof path, "%s/state.mdb", dir);
    stm_state_store *st = stm_state_lmdb_open(path, err, sizeof err);
    if (st == NULL)
        fail_msg("lmdb open: %s", err);
    assert_string_equal(st->ops->name, "lmdb");
    check_store(st);
    stm_greylist_answer a;
    assert_int_equal(st->ops->greylist(st, "kept", &gp, T0, true, &a, err, sizeof err), 0);
    stm_state_close(st);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    /* Reopened (a restart): still known. */
    st = stm_state_lmdb_open(path, err, sizeof err);
    assert_non_null(st);
    assert_int_equal(st->ops->greylist(st, "kept", &gp, T0 + 6 * MIN, true, &a, err, sizeof err), 0);
    assert_int_equal(a.state, STM_GREY_PASS);
    /* Dead records are swept a few per write: many writes later, the
     * thousand that expired are gone from the file, not only hidden. */
    for (int i = 0; i < 1000; i++) {
        char k[32];
        snprintf(k, sizeof k, "old%d", i);
        assert_int_equal(st->ops->greylist(st, k, &gp, T0, true, &a, err, sizeof err), 0);
    }
    uint64_t late = T0 + gp.window_ms + 1;
    uint64_t n;
    for (int i = 0; i < 1500; i++)
        assert_int_equal(st->ops->rate(st, "tick", MIN, late, true, &n, err, sizeof err), 0);
    long left = st->ops->each(st, "grey:old*", false, T0, NULL, NULL, err, sizeof err);
    assert_int_equal(left, 0); /* even as of T0, when they were alive */
    stm_state_close(st);

    /* --state list and delete over the file. */
    stm_state_config cfg = {.used = true, .kind = STM_STATE_LMDB, .store = "lmdb:x", .path = path};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(stm_state_admin_main(&cfg, "list", "grey:kept", out, stderr), 0);
    fclose(out);
    assert_non_null(strstr(buf, "grey:kept passed first=2027-01-15T"));
    assert_non_null(strstr(buf, "1 entry\n"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    assert_int_equal(stm_state_admin_main(&cfg, "delete", "grey:k*", out, stderr), 0);
    fclose(out);
    assert_non_null(strstr(buf, "deleted grey:kept\n"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    assert_int_equal(stm_state_admin_main(&cfg, "delete", "grey:kept", out, stderr), 1);
    fclose(out);
    free(buf);

    /* A file that cannot be created is an open error. */
    assert_null(stm_state_lmdb_open("/etc/hostname/x.mdb", err, sizeof err));
    assert_non_null(strstr(err, "lmdb /etc/hostname/x.mdb: open:"));
    sh("rm -rf '%s'", dir);
    free(dir);
}

/* ---- Redis: a real redis-server on loopback ---- */

typedef struct redis_srv {
    pid_t pid;
    int port;
    char *dir;
} redis_srv;

/* Does something accept on 127.0.0.1:PORT? */
static bool
port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Start redis-server on R->port (with REQUIREPASS when PASSWORD). */
static void
redis_start(redis_srv *r, const char *password)
{
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        const char *argv[20] = {"redis-server", "--bind", "127.0.0.1", "--port", port,
                                "--daemonize", "no", "--save", "", "--appendonly", "no",
                                "--dir", r->dir, "--logfile", "/dev/null"};
        int n = 15;
        if (password != NULL) {
            argv[n++] = "--requirepass";
            argv[n++] = password;
        }
        argv[n] = NULL;
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 200 && !port_open(r->port); i++) {
        int status;
        if (waitpid(r->pid, &status, WNOHANG) == r->pid)
            fail_msg("redis-server exited at start (status %d): is it installed?", status);
        usleep(25000);
    }
    assert_true(port_open(r->port));
}

static void
redis_stop(redis_srv *r)
{
    kill(r->pid, SIGKILL);
    waitpid(r->pid, NULL, 0);
    for (int i = 0; i < 100 && port_open(r->port); i++)
        usleep(10000);
}

static void
test_redis(void **unused)
{
    (void)unused;
    char err[300];
    redis_srv r = {0, 20000 + (int)(getpid() % 20000), tmpdir()};
    while (port_open(r.port))
        r.port++;
    char port[16];
    snprintf(port, sizeof port, "%d", r.port);
    stm_state_config cfg = {.used = true,
                            .kind = STM_STATE_REDIS,
                            .store = "redis://test",
                            .host = "127.0.0.1",
                            .port = port,
                            .db = 3,
                            /* Generous: under valgrind on a loaded machine 20
                             * threads share the pool of 8 for seconds. */
                            .timeout_ms = 5000};

    /* Nothing listens yet: the store is refused. */
    assert_null(stm_state_redis_open(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "connect"));

    redis_start(&r, "s3cret");
    /* A wrong password is refused too. */
    cfg.password = "wrong";
    assert_null(stm_state_redis_open(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "AUTH"));
    cfg.password = "s3cret";
    stm_state_store *st = stm_state_redis_open(&cfg, err, sizeof err);
    if (st == NULL)
        fail_msg("redis open: %s", err);
    assert_string_equal(st->ops->name, "redis");
    /* Redis expires keys on its own clock: use the real one. */
    uint64_t now = stm_state_now_ms();
    char errb[300];
    stm_greylist_answer a;
    uint64_t n;
    assert_int_equal(st->ops->greylist(st, "triplet", &gp, now, true, &a, errb, sizeof errb), 0);
    assert_int_equal(a.state, STM_GREY_NEW);
    assert_int_equal(st->ops->greylist(st, "triplet", &gp, now + MIN, true, &a, errb, sizeof errb), 0);
    assert_int_equal(a.state, STM_GREY_EARLY);
    assert_int_equal(st->ops->greylist(st, "triplet", &gp, now + 6 * MIN, true, &a, errb, sizeof errb), 0);
    assert_int_equal(a.state, STM_GREY_PASS);
    assert_int_equal(st->ops->greylist(st, "triplet", &gp, now + 7 * MIN, false, &a, errb, sizeof errb), 0);
    assert_int_equal(a.state, STM_GREY_KNOWN);
    check_rate(st, now);
    check_parallel(st, now);
    assert_int_equal(check_count(st, "rate:shared", now), 1);
    assert_int_equal(check_count(st, "grey:*", now), 1);
    /* The keys carry TTLs: Redis expires them itself. */
    assert_int_equal(sh("redis-cli -p %d -a s3cret --no-auth-warning -n 3 pttl stm:grey:triplet "
                        "| awk '$1 > 3000000000 { ok = 1 } END { exit !ok }'",
                        r.port),
                     0);
    assert_int_equal(sh("redis-cli -p %d -a s3cret --no-auth-warning -n 3 pttl stm:rate:shared "
                        "| awk '$1 > 0 && $1 <= 3660000 { ok = 1 } END { exit !ok }'",
                        r.port),
                     0);

    /* Redis stops: every operation fails, within the timeout. */
    redis_stop(&r);
    uint64_t t = stm_state_now_ms();
    assert_int_equal(st->ops->rate(st, "x", MIN, now, true, &n, errb, sizeof errb), -1);
    assert_non_null(strstr(errb, "redis 127.0.0.1:"));
    assert_int_equal(st->ops->greylist(st, "triplet", &gp, now, true, &a, errb, sizeof errb), -1);
    assert_true(stm_state_now_ms() - t < 2 * 5000 + 1000); /* each within state.timeout */

    /* Back (empty, as nothing was saved): the same store works again. */
    redis_start(&r, "s3cret");
    assert_int_equal(st->ops->greylist(st, "triplet", &gp, now, true, &a, errb, sizeof errb), 0);
    assert_int_equal(a.state, STM_GREY_NEW);
    assert_int_equal(st->ops->rate(st, "x", MIN, now, true, &n, errb, sizeof errb), 0);
    assert_int_equal(n, 1);

    /* --state list and delete. */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(stm_state_admin_main(&cfg, "list", NULL, out, stderr), 0);
    fclose(out);
    assert_non_null(strstr(buf, "grey:triplet pending first="));
    assert_non_null(strstr(buf, "rate:x count=1 per=60000ms expires="));
    assert_non_null(strstr(buf, "2 entries\n"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    assert_int_equal(stm_state_admin_main(&cfg, "delete", "rate:*", out, stderr), 0);
    fclose(out);
    assert_non_null(strstr(buf, "deleted rate:x\n"));
    free(buf);
    assert_int_equal(check_count(st, "*", now), 1);

    stm_state_close(st);
    redis_stop(&r);
    sh("rm -rf '%s'", r.dir);
    free(r.dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rec_rate_window),
        cmocka_unit_test(test_rec_grey_steps),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_lmdb),
        cmocka_unit_test(test_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
