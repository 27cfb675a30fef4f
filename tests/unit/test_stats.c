/*
 * test_stats.c - unit tests of milter/report/stats.c: what is counted where, the
 * key=value line, the Prometheus text and its atomic file, the histogram's
 * p99, and the drain that refuses new messages while stopping.
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

#include "report/stats.h"

/* The Prometheus text of the counters, in a buffer the caller frees. */
static char *
prom_text(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    stm_stats_print(f);
    fclose(f);
    return buf;
}

/* Does TEXT hold LINE as a whole line? */
static bool
has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* A verdict with VERB, RULE (may be NULL) and STAGE; nothing owned. */
static stm_verdict
verdict(stm_verb verb, const char *rule, stm_stage stage)
{
    stm_verdict v;
    memset(&v, 0, sizeof v);
    v.verb = verb;
    v.rule = (char *)rule;
    v.stage = stage;
    return v;
}

/* Reset before every test. */
static int
setup(void **state)
{
    (void)state;
    stm_stats_reset();
    return 0;
}

/* Decisions and messages land in the right counters, each line once. */
static void
test_counting(void **state)
{
    (void)state;
    static const struct {
        bool message; /* stm_stats_message (end) or stm_stats_decision (stage) */
        stm_stage stage;
        stm_verb verb;
        const char *rule;
    } events[] = {
        {false, STM_STAGE_RCPT, STM_VERB_DENY, "no satan"},
        {false, STM_STAGE_RCPT, STM_VERB_DENY, "no satan"},
        {true, STM_STAGE_POSTQ, STM_VERB_ACCEPT, NULL},
        {true, STM_STAGE_POSTQ, STM_VERB_ACCEPT, NULL},
        {true, STM_STAGE_POSTQ, STM_VERB_ACCEPT, NULL},
        {true, STM_STAGE_PREQ, STM_VERB_QUARANTINE, "infected"},
        /* A quarantine decided at mail: counted on its stage line, and only
         * as a message at the end (its rule is not counted twice). */
        {false, STM_STAGE_MAIL, STM_VERB_QUARANTINE, "early"},
        {true, STM_STAGE_MAIL, STM_VERB_QUARANTINE, "early"},
    };
    for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
        stm_verdict v = verdict(events[i].verb, events[i].rule, events[i].stage);
        if (events[i].message)
            stm_stats_message(NULL, &v);
        else
            stm_stats_decision(events[i].stage, &v);
    }
    static const char *const want[] = {
        "stagemilter_messages_total{verdict=\"accept\"} 3",
        "stagemilter_messages_total{verdict=\"quarantine\"} 2",
        "stagemilter_messages_total{verdict=\"deny\"} 0",
        "stagemilter_decisions_total{stage=\"rcpt\",verdict=\"deny\"} 2",
        "stagemilter_decisions_total{stage=\"preq\",verdict=\"quarantine\"} 1",
        "stagemilter_decisions_total{stage=\"mail\",verdict=\"quarantine\"} 1",
        "stagemilter_rule_decisions_total{stage=\"rcpt\",rule=\"no satan\",verdict=\"deny\"} 2",
        "stagemilter_rule_decisions_total{stage=\"preq\",rule=\"infected\",verdict=\"quarantine\"} "
        "1",
        "stagemilter_rule_decisions_total{stage=\"mail\",rule=\"early\",verdict=\"quarantine\"} 1",
        "stagemilter_messages_in_flight 0",
    };
    char *text = prom_text();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_line(text, want[i]))
            fail_msg("missing line: %s\n--- got:\n%s", want[i], text);
    free(text);

    char line[2048];
    stm_stats_line(line, sizeof line);
    static const char *const parts[] = {
        " messages=5 ",
        " messages.accept=3 ",
        " messages.quarantine=2 ",
        " rcpt.deny=2 ",
        " rule.rcpt.\"no satan\".deny=2 ",
        " reloads=0 reloads_failed=0",
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (strstr(line, parts[i]) == NULL)
            fail_msg("missing '%s' in: %s", parts[i], line);
    assert_int_equal(strncmp(line, "stats uptime=", 13), 0);
}

/* Rule names with quotes, backslashes and newlines stay inside their label
 * (escaped) and their log value (replaced). */
static void
test_names(void **state)
{
    (void)state;
    stm_verdict v = verdict(STM_VERB_DENY, "say \"no\"\\\nnow", STM_STAGE_HELO);
    stm_stats_decision(STM_STAGE_HELO, &v);
    char *text = prom_text();
    assert_true(has_line(text, "stagemilter_rule_decisions_total{stage=\"helo\",rule=\"say "
                               "\\\"no\\\"\\\\\\nnow\",verdict=\"deny\"} 1"));
    free(text);
    char line[512];
    stm_stats_line(line, sizeof line);
    assert_non_null(strstr(line, " rule.helo.\"say ?no???now\".deny=1 "));
}

/* Delegations: per service and result, histogram, mean and p99. */
static void
test_delegations(void **state)
{
    (void)state;
    /* 100 delegations: 98 of 40 ms, one of 900 ms, one of 200 s. */
    for (int i = 0; i < 98; i++)
        stm_stats_delegation("clamsmtpd", STM_DELEGATION_RETURNED, 40);
    stm_stats_delegation("clamsmtpd", STM_DELEGATION_REJECTED, 900);
    stm_stats_delegation("clamsmtpd", STM_DELEGATION_FAILED, 200000);
    stm_stats_delegation("spampd", STM_DELEGATION_DROPPED, 5);
    static const char *const want[] = {
        "stagemilter_delegations_total{service=\"clamsmtpd\",result=\"returned\"} 98",
        "stagemilter_delegations_total{service=\"clamsmtpd\",result=\"rejected\"} 1",
        "stagemilter_delegations_total{service=\"clamsmtpd\",result=\"dropped\"} 0",
        "stagemilter_delegations_total{service=\"clamsmtpd\",result=\"failed\"} 1",
        "stagemilter_delegations_total{service=\"spampd\",result=\"dropped\"} 1",
        "stagemilter_delegation_seconds_bucket{service=\"clamsmtpd\",le=\"0.01\"} 0",
        "stagemilter_delegation_seconds_bucket{service=\"clamsmtpd\",le=\"0.05\"} 98",
        "stagemilter_delegation_seconds_bucket{service=\"clamsmtpd\",le=\"1\"} 99",
        "stagemilter_delegation_seconds_bucket{service=\"clamsmtpd\",le=\"120\"} 99",
        "stagemilter_delegation_seconds_bucket{service=\"clamsmtpd\",le=\"+Inf\"} 100",
        "stagemilter_delegation_seconds_count{service=\"clamsmtpd\"} 100",
        "stagemilter_delegation_seconds_sum{service=\"clamsmtpd\"} 204.820",
        "stagemilter_delegation_seconds_bucket{service=\"spampd\",le=\"0.01\"} 1",
    };
    char *text = prom_text();
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has_line(text, want[i]))
            fail_msg("missing line: %s\n--- got:\n%s", want[i], text);
    free(text);
    char line[2048];
    stm_stats_line(line, sizeof line);
    /* mean 204820/100; p99: the 99th of 100 lies in the (0.5 s, 1 s] bucket. */
    assert_non_null(strstr(line, " delegation.clamsmtpd.mean_ms=2048 "));
    assert_non_null(strstr(line, " delegation.clamsmtpd.p99_ms=1000 "));
    /* one sample: p99 is that sample, capped by the bucket's bound */
    assert_non_null(strstr(line, " delegation.spampd.p99_ms=5 "));
}

/* In flight: counted once per message, ended once; a drain refuses new
 * messages and lets the count only go down. */
static void
test_in_flight(void **state)
{
    (void)state;
    bool a = false, b = false, c = false;
    assert_true(stm_stats_message_begin(&a));
    assert_true(stm_stats_message_begin(&a)); /* a second MAIL stage call */
    assert_true(stm_stats_message_begin(&b));
    assert_int_equal(stm_stats_in_flight(), 2);
    stm_stats_message_end(&a);
    stm_stats_message_end(&a); /* abort after end of message */
    assert_int_equal(stm_stats_in_flight(), 1);
    stm_stats_drain();
    assert_false(stm_stats_message_begin(&c));
    assert_false(c);
    assert_int_equal(stm_stats_in_flight(), 1);
    stm_stats_message_end(&c); /* never counted: no change */
    stm_stats_message_end(&b);
    assert_int_equal(stm_stats_in_flight(), 0);
    stm_stats_reset(); /* ends the drain */
    assert_true(stm_stats_message_begin(&c));
    stm_stats_message_end(&c);
}

/* A cut line ends in "..."; reloads are counted. */
static void
test_line_cut(void **state)
{
    (void)state;
    stm_stats_reload(true);
    stm_stats_reload(false);
    char line[4096];
    stm_stats_line(line, sizeof line);
    assert_non_null(strstr(line, " reloads=1 reloads_failed=1"));
    char small[24];
    stm_stats_line(small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_string_equal(small + sizeof small - 4, "...");
}

/* The file: written whole, mode 0644, no temporary left; errors named. */
static void
test_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_stats.XXXXXX", path[128], tmp[140], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/stagemilter.prom", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    mode_t old = umask(077);
    assert_int_equal(stm_stats_write(path, err, sizeof err), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_not_equal(access(tmp, F_OK), 0);
    FILE *f = fopen(path, "r");
    char first[128];
    assert_non_null(fgets(first, sizeof first, f));
    fclose(f);
    assert_string_equal(first, "# HELP stagemilter_start_time_seconds When the counters started "
                               "(Unix time).\n");
    snprintf(path, sizeof path, "%s/no/such/dir/x.prom", dir);
    assert_int_equal(stm_stats_write(path, err, sizeof err), -1);
    assert_non_null(strstr(err, "create: "));
    snprintf(path, sizeof path, "%s/stagemilter.prom", dir);
    unlink(path);
    rmdir(dir);
}

/* One group: one TAP plan. */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_counting, setup),
        cmocka_unit_test_setup(test_names, setup),
        cmocka_unit_test_setup(test_delegations, setup),
        cmocka_unit_test_setup(test_in_flight, setup),
        cmocka_unit_test_setup(test_line_cut, setup),
        cmocka_unit_test_setup(test_write, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    stm_stats_reset();
    return rc;
}
