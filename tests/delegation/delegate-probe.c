/*
 * delegate-probe.c - drive the delegation modules against real scanners.
 *
 * Usage:
 *   delegate-probe -c POLICY -s SERVICE -m MESSAGE.eml -f SENDER -r RCPT [-r RCPT...]
 *                  [-g GRACE_MS] [-v] [-b]
 *       Start the receiver on the policy's receiver.listen, delegate the
 *       message to SERVICE once, print the result as key=value lines:
 *       result= code= enhanced= reply= elapsed_ms= target=, what a scanner
 *       said (virus= spam= score= required= action= symbol= add_header=
 *       remove_header=), then, for a
 *       returned copy, one header= line per header ("Name: value", line
 *       ends as spaces) and body_len=, with -b the body after "body:".
 *       Log lines (and with -v the SMTP dialogue) go to stderr.
 *   delegate-probe -c POLICY -S SECONDS [-t TOKENFILE]
 *       Run only the receiver for SECONDS (or until SIGTERM/SIGINT). With
 *       -t, open one ticket and write its token to TOKENFILE first. At the
 *       end print the receiver's counters (connections= delivered=
 *       refused= too_big= busy=) and, with -t, ticket=delivered|waiting.
 *
 * Exit status: 0 when it ran (whatever the result), 2 on bad usage or when
 * the policy, the message or the receiver cannot be set up.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stagemilter/engine.h"
#include "stagemilter/policy.h"
#include "stagemilter/session.h"
#include "delegate/delegate.h"
#include "delegate/receiver.h"
#include "delegate/ticket.h"
#include "stagemilter/clock.h"

/* Serialises stderr lines from the receiver threads and the main thread. */
static pthread_mutex_t probe_log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Log callback: one line to stderr. */
static void
probe_log(void *arg, const char *line)
{
    pthread_mutex_lock(&probe_log_lock);
    fprintf(stderr, "%s%s\n", arg != NULL ? (const char *)arg : "", line);
    pthread_mutex_unlock(&probe_log_lock);
}

/* Progress callback: count the calls (the daemon calls smfi_progress). */
static void
probe_progress(void *arg)
{
    (*(unsigned *)arg)++;
    probe_log(NULL, "progress");
}

/* Print S with CR and LF as spaces. */
static void
probe_print_flat(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\r' || *s == '\n' ? ' ' : *s);
}

/* Read a whole file into a malloc'd buffer. */
static char *
probe_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 131072;
            char *nb = realloc(buf, cap);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Print usage and return 2. */
static int
probe_usage(void)
{
    fprintf(stderr, "usage: delegate-probe -c POLICY -s SERVICE -m FILE -f SENDER -r RCPT... "
                    "[-g GRACE_MS] [-v] [-b]\n"
                    "       delegate-probe -c POLICY -S SECONDS [-t TOKENFILE]\n");
    return 2;
}

/* Run the receiver alone for SECONDS, optionally with one open ticket. */
static int
probe_serve(stm_ticket_registry *reg, stm_receiver *rcv, long seconds, const char *tokenfile)
{
    stm_ticket *t = NULL;
    sigset_t set;
    struct timespec ts = {.tv_sec = 1, .tv_nsec = 0};

    if (tokenfile != NULL) {
        t = stm_ticket_open(reg);
        FILE *f = t ? fopen(tokenfile, "w") : NULL;
        if (f == NULL) {
            fprintf(stderr, "delegate-probe: cannot write %s\n", tokenfile);
            stm_ticket_close(t);
            return 2;
        }
        fprintf(f, "%s\n", stm_ticket_token(t));
        fclose(f);
    }
    printf("ready port=%u\n", stm_receiver_port(rcv));
    fflush(stdout);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    uint64_t end = stm_clock_ms() + (uint64_t)seconds * 1000u;
    while (stm_clock_ms() < end)
        if (sigtimedwait(&set, NULL, &ts) > 0)
            break;
    stm_receiver_stats st;
    stm_receiver_get_stats(rcv, &st);
    printf("connections=%" PRIu64 " delivered=%" PRIu64 " refused=%" PRIu64 " too_big=%" PRIu64
           " busy=%" PRIu64 "\n",
           st.connections, st.delivered, st.refused, st.too_big, st.busy);
    printf("denied=%" PRIu64 " no_memory=%" PRIu64 " timed_out=%" PRIu64 "\n", st.denied,
           st.no_memory, st.timed_out);
    if (t != NULL) {
        stm_ticket_delivery d = {0};
        bool got = stm_ticket_wait(t, 0, NULL, NULL, 0, &d);
        printf("ticket=%s size=%zu\n", got ? "delivered" : "waiting", d.len);
        stm_ticket_delivery_clear(&d);
        stm_ticket_close(t);
    }
    return 0;
}

/* What a scanner said beyond the result (clamd, spamd, rspamd): virus=
 * spam= score= required= action= symbol= (one a line), add_header= and
 * remove_header= lines. Nothing when nothing is known. */
static void
probe_print_scan(const stm_scan_result *r)
{
    if (r->virus != NULL) {
        printf("virus=");
        probe_print_flat(r->virus);
        putchar('\n');
    }
    if (r->has_spam)
        printf("spam=%s\n", r->spam ? "true" : "false");
    if (r->has_score)
        printf("score=%.2f\nrequired=%.2f\n", r->score, r->required);
    if (r->action != NULL)
        printf("action=%s\n", r->action);
    for (size_t i = 0; i < r->nsymbols; i++)
        printf("symbol=%s\n", r->symbols[i]);
    for (size_t i = 0; i < r->nadd; i++) {
        printf("add_header=%s: ", r->add[i].name);
        probe_print_flat(r->add[i].value);
        putchar('\n');
    }
    for (size_t i = 0; i < r->nremove; i++)
        printf("remove_header=%s %d\n", r->remove[i].name, r->remove[i].index);
}

/* Build the session, delegate once, print the result. */
static int
probe_delegate(stm_policy *pol, stm_ticket_registry *reg, const char *service, const char *msgfile,
               const char *sender, char **rcpts, size_t nrcpts, uint64_t grace, bool verbose,
               bool body)
{
    const stm_service *svc = stm_policy_service(pol, service);
    stm_session *s = NULL;
    char *data = NULL;
    size_t len = 0;
    const char *err = NULL;
    unsigned progress_calls = 0;
    int rc = 2;

    if (svc == NULL) {
        fprintf(stderr, "delegate-probe: no service %s in the policy\n", service);
        return 2;
    }
    data = probe_slurp(msgfile, &len);
    if (data == NULL) {
        fprintf(stderr, "delegate-probe: cannot read %s: %s\n", msgfile, strerror(errno));
        return 2;
    }
    s = stm_session_create(pol, "probe");
    if (s == NULL || stm_session_set_client(s, "127.0.0.1", "0", "localhost") != 0 ||
        stm_session_begin_transaction(s, sender) != 0)
        goto out;
    for (size_t i = 0; i < nrcpts; i++)
        if (stm_session_set_rcpt(s, rcpts[i]) != 0 || stm_session_accept_rcpt(s) != 0)
            goto out;
    if (stm_message_parse(stm_session_message(s), data, len, &err) != 0) {
        fprintf(stderr, "delegate-probe: %s: %s\n", msgfile, err);
        goto out;
    }
    stm_delegate_ctx dc = {
        .tickets = reg,
        .helo_name = "probe.test.example",
        .drop_grace_ms = grace,
        .progress = probe_progress,
        .progress_arg = &progress_calls,
        .progress_interval_ms = 1000,
        .log = probe_log,
        .log_arg = NULL,
        .transcript = verbose,
    };
    stm_delegation out;
    stm_delegation_init(&out);
    if (stm_delegate_hook(&dc, s, svc, &out) != 0) {
        printf("internal=-1\n");
        stm_delegation_clear(&out);
        rc = 0;
        goto out;
    }
    printf("result=%s\ncode=%d\nenhanced=%s\nreply=", stm_delegation_result_name(out.result),
           out.reply_code, out.enhanced);
    probe_print_flat(out.reply ? out.reply : "");
    printf("\nelapsed_ms=%" PRIu64 "\nprogress_calls=%u\n", out.elapsed_ms, progress_calls);
    for (size_t i = 0; i < out.returned.nheaders; i++) {
        printf("header=%s: ", out.returned.headers[i].name);
        probe_print_flat(out.returned.headers[i].value);
        putchar('\n');
    }
    probe_print_scan(&out.scan);
    if (out.result == STM_DELEGATION_RETURNED) {
        printf("body_len=%zu\n", out.returned.body_len);
        if (body)
            printf("body:\n%s", out.returned.body ? out.returned.body : "");
    }
    stm_delegation_clear(&out);
    rc = 0;
out:
    stm_session_free(s);
    free(data);
    return rc;
}

int
main(int argc, char **argv)
{
    const char *policy = NULL, *service = NULL, *msgfile = NULL, *sender = NULL;
    const char *tokenfile = NULL;
    char *rcpts[64];
    size_t nrcpts = 0;
    long serve = -1;
    uint64_t grace = 0;
    bool verbose = false, body = false;
    int c;

    while ((c = getopt(argc, argv, "c:s:m:f:r:g:S:t:vb")) != -1) {
        switch (c) {
        case 'c':
            policy = optarg;
            break;
        case 's':
            service = optarg;
            break;
        case 'm':
            msgfile = optarg;
            break;
        case 'f':
            sender = optarg;
            break;
        case 'r':
            if (nrcpts == 64)
                return probe_usage();
            rcpts[nrcpts++] = optarg;
            break;
        case 'g':
            grace = strtoull(optarg, NULL, 10);
            break;
        case 'S':
            serve = strtol(optarg, NULL, 10);
            break;
        case 't':
            tokenfile = optarg;
            break;
        case 'v':
            verbose = true;
            break;
        case 'b':
            body = true;
            break;
        default:
            return probe_usage();
        }
    }
    if (policy == NULL || (serve < 0 && (service == NULL || msgfile == NULL || sender == NULL)))
        return probe_usage();

    /* The receiver's threads inherit this mask: signals go to sigtimedwait. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    stm_diag *diag = stm_diag_create();
    stm_policy *pol = stm_policy_load(policy, diag);
    stm_diag_print(diag, stderr);
    stm_diag_free(diag);
    if (pol == NULL)
        return 2;
    const stm_receiver_config *rc = stm_policy_receiver(pol);
    stm_receiver_options ro = {
        .host = rc->present ? rc->host : "127.0.0.1",
        .port = rc->present ? rc->port : "10025",
        .max_message_size = stm_policy_milter(pol)->max_message_size,
        .hostname = "receiver.test.example",
        .idle_timeout_ms = 30000,
        .config = rc,
        .log = probe_log,
        .log_arg = NULL,
    };
    stm_ticket_registry *reg = stm_ticket_registry_create();
    char err[256];
    stm_receiver *rcv = reg ? stm_receiver_start(&ro, reg, err, sizeof err) : NULL;
    int status;
    if (rcv == NULL) {
        fprintf(stderr, "delegate-probe: receiver: %s\n", reg ? err : "out of memory");
        status = 2;
    } else if (serve >= 0) {
        status = probe_serve(reg, rcv, serve, tokenfile);
    } else {
        status =
            probe_delegate(pol, reg, service, msgfile, sender, rcpts, nrcpts, grace, verbose, body);
    }
    stm_receiver_stop(rcv);
    if (reg != NULL && stm_ticket_registry_open_count(reg) != 0) {
        fprintf(stderr, "delegate-probe: tickets left open\n");
        status = 2;
    }
    stm_ticket_registry_free(reg);
    stm_policy_unref(pol);
    return status;
}
