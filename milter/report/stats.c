/*
 * stats.c - the daemon's counters (stats.h).
 *
 * FUNCTIONS
 *      stm_stats_message_begin(), stm_stats_message_end(), stm_stats_in_flight(),
 *      stm_stats_drain()         messages in flight (C11 atomics)
 *      stm_stats_decision(), stm_stats_message(), stm_stats_delegation(),
 *      stm_stats_reload()
 *                               counting, called from log.c and reload.c
 *      stm_stats_line()          the counters as one key=value log line
 *      stm_stats_print(), stm_stats_write()   Prometheus text format
 *      stm_stats_reset()         forget everything (tests, exit)
 *
 * DESCRIPTION
 *      The gauge of messages in flight is an atomic: it changes twice per
 *      message on every connection thread. Everything else (a handful of
 *      increments per message) sits under one mutex, stats_lock, because
 *      per-rule and per-service counters live in small tables that grow as
 *      new names appear (a reload may bring new rules). The tables are
 *      bounded: beyond STM_STATS_MAX_RULES rules or STM_STATS_MAX_SERVICES
 *      services, further names are counted in an overflow counter instead.
 *      Delegation latency goes into a fixed histogram (seconds, Prometheus
 *      buckets); the log line derives mean and p99 (the upper bound of the
 *      bucket holding the 99th percentile) from it.
 *
 *      Prometheus metric names:
 *          stagemilter_messages_in_flight                 gauge
 *          stagemilter_messages_total{verdict}            end-of-message verdicts
 *          stagemilter_decisions_total{stage,verdict}     logged decisions
 *          stagemilter_rule_decisions_total{stage,rule,verdict}
 *          stagemilter_delegations_total{service,result}
 *          stagemilter_delegation_seconds{service}        histogram
 *          stagemilter_reloads_total{result}              ok | failed
 *          stagemilter_start_time_seconds                 gauge
 *
 * DIAGNOSTICS
 *      Counting never fails visibly: a name that cannot be stored (memory,
 *      table full) is counted under the overflow counter.
 *      stm_stats_write() returns -1 with "what: path: strerror".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "report/stats.h"
#include "stagemilter/text.h"
#include "stagemilter/limits.h"

#define STM_STATS_VERBS STM_VERB_COUNT
#define STM_STATS_RESULTS (STM_DELEGATION_FAILED + 1)

/* Histogram bucket upper bounds, milliseconds (+Inf is implicit). */
static const uint64_t stats_bounds_ms[] = {10,   50,   100,   250,   500,   1000,
                                           2500, 5000, 10000, 30000, 60000, 120000};
#define STM_STATS_BUCKETS (sizeof stats_bounds_ms / sizeof stats_bounds_ms[0] + 1)

typedef struct stats_rule {
    char *name;
    stm_stage stage;
    stm_verb verb;
    uint64_t n;
} stats_rule;

typedef struct stats_service {
    char *name;
    uint64_t results[STM_STATS_RESULTS];
    uint64_t buckets[STM_STATS_BUCKETS]; /* not cumulative; the last is +Inf */
    uint64_t count, sum_ms, max_ms;
} stats_service;

/* Messages between MAIL FROM and their end: changed by every connection
 * thread, hence an atomic and not under stats_lock. */
static atomic_long stats_in_flight;
/* Set once when the daemon starts to stop (stm_stats_drain). */
static atomic_bool stats_draining;

/* Guards every field below: the counters, the two tables and their sizes. */
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t stats_messages[STM_STATS_VERBS];
static uint64_t stats_decisions[STM_STAGE_COUNT][STM_STATS_VERBS];
static stats_rule *stats_rules;
static size_t stats_nrules;
static uint64_t stats_rules_overflow;
static stats_service *stats_services;
static size_t stats_nservices;
static uint64_t stats_services_overflow;
static uint64_t stats_reloads_ok, stats_reloads_failed;
static time_t stats_started;

/* Count the start of a message once per transaction, unless draining. */
bool
stm_stats_message_begin(bool *in_message)
{
    if (*in_message)
        return true;
    /* Count first, then look at the flag: with sequentially consistent
     * atomics either stm_stats_drain()'s caller sees this message in the
     * count, or this thread sees the flag (never neither). */
    atomic_fetch_add(&stats_in_flight, 1);
    if (atomic_load(&stats_draining)) {
        atomic_fetch_sub(&stats_in_flight, 1);
        return false;
    }
    *in_message = true;
    return true;
}

/* Refuse new messages from now on. */
void
stm_stats_drain(void)
{
    atomic_store(&stats_draining, true);
}

/* Count the end of a message that was counted as begun. */
void
stm_stats_message_end(bool *in_message)
{
    if (*in_message) {
        *in_message = false;
        atomic_fetch_sub(&stats_in_flight, 1);
    }
}

/* Messages in flight now. */
long
stm_stats_in_flight(void)
{
    return atomic_load(&stats_in_flight);
}

/* A verb index that is always inside the tables. */
static size_t
stats_verb(stm_verb verb)
{
    return (size_t)verb < STM_STATS_VERBS ? (size_t)verb : STM_VERB_ACCEPT;
}

/* Record the start time once (under stats_lock). */
static void
stats_start_locked(void)
{
    if (stats_started == 0)
        stats_started = time(NULL);
}

/* Count RULE at STAGE with VERB (under stats_lock). */
static void
stats_rule_locked(const char *rule, stm_stage stage, stm_verb verb)
{
    for (size_t i = 0; i < stats_nrules; i++) {
        stats_rule *r = &stats_rules[i];
        if (r->stage == stage && r->verb == verb && strcmp(r->name, rule) == 0) {
            r->n++;
            return;
        }
    }
    if (stats_nrules >= STM_STATS_MAX_RULES) {
        stats_rules_overflow++;
        return;
    }
    if (stats_nrules % 16 == 0) {
        stats_rule *grown = realloc(stats_rules, (stats_nrules + 16) * sizeof *grown);
        if (grown == NULL) {
            stats_rules_overflow++;
            return;
        }
        stats_rules = grown;
    }
    char *name = strdup(rule);
    if (name == NULL) {
        stats_rules_overflow++;
        return;
    }
    stats_rules[stats_nrules++] = (stats_rule){.name = name, .stage = stage, .verb = verb, .n = 1};
}

/* The service entry for NAME, created when new; NULL when full (under stats_lock). */
static stats_service *
stats_service_locked(const char *name)
{
    for (size_t i = 0; i < stats_nservices; i++)
        if (strcmp(stats_services[i].name, name) == 0)
            return &stats_services[i];
    if (stats_nservices >= STM_STATS_MAX_SERVICES)
        return NULL;
    if (stats_nservices % 8 == 0) {
        stats_service *grown = realloc(stats_services, (stats_nservices + 8) * sizeof *grown);
        if (grown == NULL)
            return NULL;
        stats_services = grown;
    }
    char *copy = strdup(name);
    if (copy == NULL)
        return NULL;
    stats_service *s = &stats_services[stats_nservices++];
    memset(s, 0, sizeof *s);
    s->name = copy;
    return s;
}

/* A decision line: per stage and verb, and per rule. */
void
stm_stats_decision(stm_stage stage, const stm_verdict *v)
{
    if ((size_t)stage >= STM_STAGE_COUNT)
        return;
    pthread_mutex_lock(&stats_lock);
    stats_start_locked();
    stats_decisions[stage][stats_verb(v->verb)]++;
    if (v->rule != NULL)
        stats_rule_locked(v->rule, stage, v->verb);
    pthread_mutex_unlock(&stats_lock);
}

/* One delegation of SERVICE: result and latency (under stats_lock). */
static void
stats_delegation_locked(const char *service, stm_delegation_result result, uint64_t ms)
{
    stats_service *s = stats_service_locked(service);
    if (s == NULL) {
        stats_services_overflow++;
        return;
    }
    s->results[(size_t)result < STM_STATS_RESULTS ? (size_t)result : STM_DELEGATION_FAILED]++;
    size_t b = 0;
    while (b < STM_STATS_BUCKETS - 1 && ms > stats_bounds_ms[b])
        b++;
    s->buckets[b]++;
    s->count++;
    s->sum_ms += ms;
    if (ms > s->max_ms)
        s->max_ms = ms;
}

/* The end-of-message verdict, its rule, and the message's delegations. */
void
stm_stats_message(const stm_session *s, const stm_verdict *v)
{
    size_t nd = 0;
    const stm_delegation_record *d = s != NULL ? stm_session_delegations(s, &nd) : NULL;
    pthread_mutex_lock(&stats_lock);
    stats_start_locked();
    stats_messages[stats_verb(v->verb)]++;
    /* A rule of an earlier stage was counted on its own line already. */
    if (v->rule != NULL && v->stage >= STM_STAGE_PREQ && (size_t)v->stage < STM_STAGE_COUNT) {
        stats_decisions[v->stage][stats_verb(v->verb)]++;
        stats_rule_locked(v->rule, v->stage, v->verb);
    }
    for (size_t i = 0; d != NULL && i < nd; i++) {
        if (d[i].delegation.result == STM_DELEGATION_NONE)
            continue;
        stats_delegation_locked(
            d[i].service != NULL && d[i].service->name != NULL ? d[i].service->name : "-",
            d[i].delegation.result, d[i].delegation.elapsed_ms);
    }
    pthread_mutex_unlock(&stats_lock);
}

/* One delegation, counted on its own. */
void
stm_stats_delegation(const char *service, stm_delegation_result result, uint64_t elapsed_ms)
{
    pthread_mutex_lock(&stats_lock);
    stats_start_locked();
    stats_delegation_locked(service, result, elapsed_ms);
    pthread_mutex_unlock(&stats_lock);
}

/* A reload, accepted or refused. */
void
stm_stats_reload(bool ok)
{
    pthread_mutex_lock(&stats_lock);
    stats_start_locked();
    if (ok)
        stats_reloads_ok++;
    else
        stats_reloads_failed++;
    pthread_mutex_unlock(&stats_lock);
}

/* Append to BUF (LEN bytes, *USED so far); marks the cut with "...". */
static void stats_put(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
stats_put(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (*used + (size_t)n >= len) {
        *used = len - 1;
        if (len >= 4)
            memcpy(buf + len - 4, "...", 3);
        return;
    }
    *used += (size_t)n;
}

/* NAME made safe inside a quoted log value or label: '"', '\\' and
 * control characters become '?'. */
static const char *
stats_clean(char *dst, size_t dstlen, const char *name)
{
    return stm_text_clean(dst, dstlen, name, 0, STM_TEXT_QUOTED | STM_TEXT_UTF8);
}

/* The bucket bound (ms) holding the Q-th quantile of S; max_ms beyond the
 * last bound (under stats_lock). */
static uint64_t
stats_quantile_locked(const stats_service *s, double q)
{
    if (s->count == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)s->count);
    if ((double)rank < q * (double)s->count)
        rank++;
    uint64_t seen = 0;
    for (size_t b = 0; b < STM_STATS_BUCKETS - 1; b++) {
        seen += s->buckets[b];
        if (seen >= rank)
            return stats_bounds_ms[b] < s->max_ms ? stats_bounds_ms[b] : s->max_ms;
    }
    return s->max_ms;
}

/* The one-line form. */
char *
stm_stats_line(char *buf, size_t len)
{
    size_t used = 0;
    char name[256];
    buf[0] = '\0';
    pthread_mutex_lock(&stats_lock);
    stats_start_locked();
    uint64_t total = 0;
    for (size_t i = 0; i < STM_STATS_VERBS; i++)
        total += stats_messages[i];
    stats_put(buf, len, &used, "stats uptime=%lld in_flight=%ld messages=%llu",
              (long long)(time(NULL) - stats_started), stm_stats_in_flight(),
              (unsigned long long)total);
    for (size_t i = 0; i < STM_STATS_VERBS; i++)
        if (stats_messages[i] != 0)
            stats_put(buf, len, &used, " messages.%s=%llu", stm_verb_name((stm_verb)i),
                      (unsigned long long)stats_messages[i]);
    for (size_t st = 0; st < STM_STAGE_COUNT; st++)
        for (size_t i = 0; i < STM_STATS_VERBS; i++)
            if (stats_decisions[st][i] != 0)
                stats_put(buf, len, &used, " %s.%s=%llu", stm_stage_name((stm_stage)st),
                          stm_verb_name((stm_verb)i), (unsigned long long)stats_decisions[st][i]);
    for (size_t i = 0; i < stats_nrules; i++)
        stats_put(buf, len, &used, " rule.%s.\"%s\".%s=%llu", stm_stage_name(stats_rules[i].stage),
                  stats_clean(name, sizeof name, stats_rules[i].name),
                  stm_verb_name(stats_rules[i].verb), (unsigned long long)stats_rules[i].n);
    if (stats_rules_overflow != 0)
        stats_put(buf, len, &used, " rule.overflow=%llu", (unsigned long long)stats_rules_overflow);
    for (size_t i = 0; i < stats_nservices; i++) {
        const stats_service *s = &stats_services[i];
        stats_clean(name, sizeof name, s->name);
        for (size_t r = STM_DELEGATION_RETURNED; r < STM_STATS_RESULTS; r++)
            stats_put(buf, len, &used, " delegation.%s.%s=%llu", name,
                      stm_delegation_result_name((stm_delegation_result)r),
                      (unsigned long long)s->results[r]);
        stats_put(buf, len, &used, " delegation.%s.mean_ms=%llu delegation.%s.p99_ms=%llu", name,
                  (unsigned long long)(s->count ? s->sum_ms / s->count : 0), name,
                  (unsigned long long)stats_quantile_locked(s, 0.99));
    }
    if (stats_services_overflow != 0)
        stats_put(buf, len, &used, " delegation.overflow=%llu",
                  (unsigned long long)stats_services_overflow);
    stats_put(buf, len, &used, " reloads=%llu reloads_failed=%llu",
              (unsigned long long)stats_reloads_ok, (unsigned long long)stats_reloads_failed);
    pthread_mutex_unlock(&stats_lock);
    return buf;
}

/* NAME as a Prometheus label value: '\\', '"' and newline escaped. */
static void
stats_label(FILE *out, const char *name)
{
    for (const char *p = name; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else
            fputc(*p, out);
    }
}

/* The Prometheus text format. */
void
stm_stats_print(FILE *out)
{
    pthread_mutex_lock(&stats_lock);
    stats_start_locked();
    fprintf(out,
            "# HELP stagemilter_start_time_seconds When the counters started (Unix time).\n"
            "# TYPE stagemilter_start_time_seconds gauge\n"
            "stagemilter_start_time_seconds %lld\n",
            (long long)stats_started);
    fprintf(out,
            "# HELP stagemilter_messages_in_flight Messages between MAIL FROM and their end.\n"
            "# TYPE stagemilter_messages_in_flight gauge\n"
            "stagemilter_messages_in_flight %ld\n",
            stm_stats_in_flight());
    fputs("# HELP stagemilter_messages_total Messages that reached their end, by verdict.\n"
          "# TYPE stagemilter_messages_total counter\n",
          out);
    for (size_t i = 0; i < STM_STATS_VERBS; i++)
        if (i != STM_VERB_NEXT)
            fprintf(out, "stagemilter_messages_total{verdict=\"%s\"} %llu\n",
                    stm_verb_name((stm_verb)i), (unsigned long long)stats_messages[i]);
    fputs("# HELP stagemilter_decisions_total Decisions taken by a rule (or a failing rule), by "
          "stage and verdict.\n"
          "# TYPE stagemilter_decisions_total counter\n",
          out);
    for (size_t st = 0; st < STM_STAGE_COUNT; st++)
        for (size_t i = 0; i < STM_STATS_VERBS; i++)
            if (stats_decisions[st][i] != 0)
                fprintf(out, "stagemilter_decisions_total{stage=\"%s\",verdict=\"%s\"} %llu\n",
                        stm_stage_name((stm_stage)st), stm_verb_name((stm_verb)i),
                        (unsigned long long)stats_decisions[st][i]);
    fputs("# HELP stagemilter_rule_decisions_total Decisions by rule.\n"
          "# TYPE stagemilter_rule_decisions_total counter\n",
          out);
    for (size_t i = 0; i < stats_nrules; i++) {
        fprintf(out, "stagemilter_rule_decisions_total{stage=\"%s\",rule=\"",
                stm_stage_name(stats_rules[i].stage));
        stats_label(out, stats_rules[i].name);
        fprintf(out, "\",verdict=\"%s\"} %llu\n", stm_verb_name(stats_rules[i].verb),
                (unsigned long long)stats_rules[i].n);
    }
    fprintf(out,
            "# HELP stagemilter_rule_overflow_total Decisions of rules beyond the table's "
            "%d names.\n"
            "# TYPE stagemilter_rule_overflow_total counter\n"
            "stagemilter_rule_overflow_total %llu\n",
            STM_STATS_MAX_RULES, (unsigned long long)stats_rules_overflow);
    fputs("# HELP stagemilter_delegations_total Delegations by service and result.\n"
          "# TYPE stagemilter_delegations_total counter\n",
          out);
    for (size_t i = 0; i < stats_nservices; i++)
        for (size_t r = STM_DELEGATION_RETURNED; r < STM_STATS_RESULTS; r++) {
            fputs("stagemilter_delegations_total{service=\"", out);
            stats_label(out, stats_services[i].name);
            fprintf(out, "\",result=\"%s\"} %llu\n",
                    stm_delegation_result_name((stm_delegation_result)r),
                    (unsigned long long)stats_services[i].results[r]);
        }
    fputs("# HELP stagemilter_delegation_seconds Time from the start of a delegation to its "
          "result.\n"
          "# TYPE stagemilter_delegation_seconds histogram\n",
          out);
    for (size_t i = 0; i < stats_nservices; i++) {
        const stats_service *s = &stats_services[i];
        uint64_t cum = 0;
        for (size_t b = 0; b < STM_STATS_BUCKETS; b++) {
            cum += s->buckets[b];
            fputs("stagemilter_delegation_seconds_bucket{service=\"", out);
            stats_label(out, s->name);
            if (b < STM_STATS_BUCKETS - 1)
                fprintf(out, "\",le=\"%g\"} %llu\n", (double)stats_bounds_ms[b] / 1000.0,
                        (unsigned long long)cum);
            else
                fprintf(out, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        fputs("stagemilter_delegation_seconds_sum{service=\"", out);
        stats_label(out, s->name);
        fprintf(out, "\"} %.3f\n", (double)s->sum_ms / 1000.0);
        fputs("stagemilter_delegation_seconds_count{service=\"", out);
        stats_label(out, s->name);
        fprintf(out, "\"} %llu\n", (unsigned long long)s->count);
    }
    fprintf(out,
            "# HELP stagemilter_reloads_total Policy reloads (SIGHUP), by result.\n"
            "# TYPE stagemilter_reloads_total counter\n"
            "stagemilter_reloads_total{result=\"ok\"} %llu\n"
            "stagemilter_reloads_total{result=\"failed\"} %llu\n",
            (unsigned long long)stats_reloads_ok, (unsigned long long)stats_reloads_failed);
    pthread_mutex_unlock(&stats_lock);
}

/* Write PATH atomically: PATH.tmp, fsync, rename. */
int
stm_stats_write(const char *path, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "statistics file name too long: %s", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "create: %s: %s", tmp, strerror(errno));
        return -1;
    }
    /* The counters are not secret; the daemon's umask may be 0077. */
    (void)fchmod(fd, 0644);
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        snprintf(err, errlen, "fdopen: %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    stm_stats_print(f);
    if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "write: %s: %s", tmp, strerror(errno));
        fclose(f);
        unlink(tmp);
        return -1;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "close: %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "rename: %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* Forget every counter and free the tables; the clock starts now. */
void
stm_stats_reset(void)
{
    pthread_mutex_lock(&stats_lock);
    for (size_t i = 0; i < stats_nrules; i++)
        free(stats_rules[i].name);
    free(stats_rules);
    stats_rules = NULL;
    stats_nrules = 0;
    for (size_t i = 0; i < stats_nservices; i++)
        free(stats_services[i].name);
    free(stats_services);
    stats_services = NULL;
    stats_nservices = 0;
    memset(stats_messages, 0, sizeof stats_messages);
    memset(stats_decisions, 0, sizeof stats_decisions);
    stats_rules_overflow = stats_services_overflow = 0;
    stats_reloads_ok = stats_reloads_failed = 0;
    stats_started = time(NULL);
    atomic_store(&stats_in_flight, 0);
    atomic_store(&stats_draining, false);
    pthread_mutex_unlock(&stats_lock);
}
