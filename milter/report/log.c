/*
 * log.c - the daemon's log lines (log.h).
 *
 * FUNCTIONS
 *      stm_log_open(), stm_log_close(), stm_log_verbose()  where lines go
 *      stm_log_set_json()        milter.log_format: text or json
 *      stm_log()                 one formatted line
 *      stm_log_clean()           peer text made safe for a log line
 *      stm_log_verdict()         the decision line of one stage
 *      stm_log_message()         the decision line of a message's end
 *      stm_log_engine()          the engine's log hook
 *      stm_log_id()              queue id, else connection id
 *
 * DESCRIPTION
 *      In the foreground a line is "YYYY-MM-DD HH:MM:SS stagemilter[PID]: TEXT"
 *      on stderr, written with one write(2) so lines from several connection
 *      threads never interleave; otherwise syslog(LOG_MAIL). The settings are
 *      written once at start-up, before libmilter starts threads, and only
 *      read afterwards, so they need no lock. Nothing here allocates: lines
 *      are built in a stack buffer and cut at STM_LOG_LINE_MAX.
 *
 *      With milter.log_format: json each line is turned into one JSON
 *      object (log_json.c) just before it is written: every caller keeps
 *      building the same key=value line, so both formats carry the same
 *      fields.
 *
 *      The decision lines are also where statistics are counted
 *      (stats.c): a stage decision taken by a rule, or by a failing one,
 *      and every message's end. Counting here, whether or not -v logs more,
 *      keeps the counters and the log in step.
 *
 * DIAGNOSTICS
 *      None: logging never fails visibly.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report/log.h"
#include "report/log_json.h"
#include "report/stats.h"
#include "stagemilter/text.h"
#include "stagemilter/limits.h"
#include "stagemilter/verbs.h"

/* Written once by stm_log_open() before any thread starts; read-only after. */
static bool log_foreground = true;
static bool log_verbose;

/* Choose stderr or syslog and the verbosity. */
void
stm_log_open(bool foreground, bool verbose)
{
    log_foreground = foreground;
    log_verbose = verbose;
    if (!foreground)
        openlog("stagemilter", LOG_PID, LOG_MAIL);
}

/* Close syslog if it was opened. */
void
stm_log_close(void)
{
    if (!log_foreground)
        closelog();
}

/* Was -v given? */
bool
stm_log_verbose(void)
{
    return log_verbose;
}

/* milter.log_format: json. Set at start-up and after each reload, read by
 * every thread: atomic, so a reload may change it while lines are written. */
static atomic_bool log_json;

/* milter.log_format of the policy in use (stm_log_set_json in log.h). */
void
stm_log_set_json(bool json)
{
    atomic_store(&log_json, json);
}

/* LINE as one JSON object (log_json.c) to stderr or syslog. */
static void
log_emit_json(int priority, const char *line)
{
    char buf[STM_LOG_JSON_MAX + 1];
    size_t len = stm_log_json(buf, sizeof buf - 1, priority, line, (long)getpid(), time(NULL));
    if (!log_foreground) {
        syslog(priority, "%s", buf);
        return;
    }
    buf[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, len);
    (void)w; /* nowhere to report a failing stderr */
}

/* Write one finished line to stderr or syslog. */
static void
log_emit(int priority, const char *line)
{
    if (atomic_load(&log_json)) {
        log_emit_json(priority, line);
        return;
    }
    if (!log_foreground) {
        syslog(priority, "%s", line);
        return;
    }
    char buf[STM_LOG_LINE_MAX + 64];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    int m = snprintf(buf + n, sizeof buf - n, " stagemilter[%ld]: %s\n", (long)getpid(), line);
    size_t len = m < 0 ? n : n + (size_t)m;
    if (len >= sizeof buf) {
        len = sizeof buf - 1;
        buf[len - 1] = '\n';
    }
    ssize_t w = write(STDERR_FILENO, buf, len);
    (void)w; /* nowhere to report a failing stderr */
}

/* Format and emit one line. */
void
stm_log(int priority, const char *fmt, ...)
{
    char line[STM_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_emit(priority, line);
}

/* Peer text without control characters or quotes, bounded. */
char *
stm_log_clean(char *dst, size_t dstlen, const char *src)
{
    return stm_text_clean(dst, dstlen, src, STM_LOG_PEER_MAX,
                          STM_TEXT_QUOTED | STM_TEXT_UTF8 | STM_TEXT_ELLIPSIS);
}

/* Queue id when known, else connection id. */
const char *
stm_log_id(const stm_session *s)
{
    const char *q = stm_session_queue_id(s);
    return q != NULL && q[0] != '\0' ? q : stm_session_id(s);
}

/* Append to LINE (SIZE bytes, *LEN used) without overflowing. */
static void log_append(char *line, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void
log_append(char *line, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + *len, size - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

/* The decision line: see log.h for its shape. */
static void
log_verdict_line(const stm_session *s, stm_stage stage, const stm_verdict *v, const char *rcpt)
{
    char line[STM_LOG_LINE_MAX];
    char a[STM_LOG_PEER_MAX + 1], b[STM_LOG_PEER_MAX + 1];
    size_t len = 0;
    const char *sender = stm_session_sender(s);

    log_append(line, sizeof line, &len, "id=%s stage=%s", stm_log_clean(a, sizeof a, stm_log_id(s)),
               stm_stage_name(stage));
    if (v->rule != NULL)
        log_append(line, sizeof line, &len, " rule=\"%s\"", stm_log_clean(a, sizeof a, v->rule));
    else
        log_append(line, sizeof line, &len, " rule=-");
    log_append(line, sizeof line, &len, " verdict=%s", stm_verb_name(v->verb));
    if (v->code != 0)
        log_append(line, sizeof line, &len, " code=%d", v->code);
    if (v->enhanced[0] != '\0')
        log_append(line, sizeof line, &len, " enhanced=%s", stm_log_clean(a, sizeof a, v->enhanced));
    log_append(
        line, sizeof line, &len, " client=%s",
        stm_log_clean(a, sizeof a, stm_session_client_ip(s) ? stm_session_client_ip(s) : "unknown"));
    if (sender != NULL)
        log_append(line, sizeof line, &len, " from=<%s>", stm_log_clean(a, sizeof a, sender));
    if (rcpt != NULL)
        log_append(line, sizeof line, &len, " rcpt=<%s>", stm_log_clean(a, sizeof a, rcpt));
    else if (stage >= STM_STAGE_DATA)
        log_append(line, sizeof line, &len, " nrcpt=%zu", stm_session_rcpt_count(s));
    if (v->queue != NULL)
        log_append(line, sizeof line, &len, " queue=%s", stm_log_clean(a, sizeof a, v->queue));
    if (v->text != NULL)
        log_append(line, sizeof line, &len, " text=\"%s\"", stm_log_clean(b, sizeof b, v->text));
    if (v->error != NULL)
        log_append(line, sizeof line, &len, " error=\"%s\"", stm_log_clean(b, sizeof b, v->error));

    log_emit(stm_verb_withholds(v->verb) || v->error != NULL ? LOG_NOTICE : LOG_INFO, line);
}

/* A stage's decision line, counted when a rule (or a failing one) decided. */
void
stm_log_verdict(const stm_session *s, stm_stage stage, const stm_verdict *v, const char *rcpt)
{
    if (v->rule != NULL || v->error != NULL)
        stm_stats_decision(stage, v);
    log_verdict_line(s, stage, v, rcpt);
}

/* The message's end: its line, counted per verdict with its delegations. */
void
stm_log_message(const stm_session *s, const stm_verdict *v)
{
    stm_stats_message(s, v);
    log_verdict_line(s, v->rule != NULL ? v->stage : STM_STAGE_POSTQ, v, NULL);
}

/* `log` effects: "id=ID stage=STAGE rule="NAME" log="TEXT"". */
void
stm_log_engine(void *ctx, const stm_session *s, stm_stage stage, const char *rule, const char *text)
{
    char a[STM_LOG_PEER_MAX + 1], b[STM_LOG_PEER_MAX + 1], c[STM_LOG_PEER_MAX + 1];
    stm_log(LOG_INFO, "id=%s stage=%s rule=\"%s\" log=\"%s\"",
           stm_log_clean(a, sizeof a, s != NULL ? stm_log_id(s) : "-"),
           stm_stage_name(stage) ? stm_stage_name(stage) : "-",
           stm_log_clean(b, sizeof b, rule ? rule : "-"), stm_log_clean(c, sizeof c, text));
}
