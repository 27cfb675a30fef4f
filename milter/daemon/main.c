/*
 * main.c - stagemilter's command line and start-up.
 *
 * SYNOPSIS
 *      stagemilter [-c FILE] [-f] [-p SOCKET] [-u USER[:GROUP] | --run-as-root] [-P PIDFILE]
 *                  [-s STATSFILE] [--stats-interval SECONDS] [-v]
 *      stagemilter --check [-c FILE]
 *      stagemilter --quarantine list [QUEUE] [-c FILE]
 *      stagemilter --quarantine release|delete ID... [-c FILE] [--sendmail PATH]
 *      stagemilter --state list|delete [KEY-PATTERN] [-c FILE]
 *      stagemilter --trace MESSAGE.eml [-c FILE] --client-ip IP [--client-name NAME]
 *                  [--helo NAME] --from ADDR --rcpt ADDR [--rcpt ADDR ...] [--no-delegate]
 *
 * DESCRIPTION
 *      main() parses the options and runs one of four modes:
 *      --check loads the policy, prints every diagnostic (stm_diag_print) on
 *      stderr and "FILE: OK" on stdout when it is valid;
 *      --trace hands over to trace.c;
 *      --quarantine hands over to quarantine_admin.c with the policy's
 *      milter.workdir;
 *      otherwise the daemon starts: the policy is loaded (an invalid policy
 *      never starts), the workdir prepared (mode 0700, owned by -u's user),
 *      the socket opened (socket.c), the process detached unless -f, the pid
 *      file written, our signals blocked before any thread exists
 *      (signals.c), the delegation receiver started, privileges dropped
 *      (-u; without it the daemon refuses to run as root unless
 *      --run-as-root), the signal thread started, and smfi_main() runs until
 *      SIGTERM/SIGINT stop it, once the messages in flight are answered
 *      (signals.c). Then the pid file and a unix socket are removed.
 *
 * DIAGNOSTICS
 *      Exit status 0 on success (or a clean stop), 1 on a usage error, an
 *      invalid policy, or a start-up failure, each explained on stderr (and
 *      in the log once it is open).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "mta/callbacks.h"
#include "report/log.h"
#include "daemon/privileges.h"
#include "store/quarantine.h"
#include "store/quarantine_admin.h"
#include "state/registry.h"
#include "state/state_admin.h"
#include "daemon/signals.h"
#include "daemon/socket.h"
#include "stagemilter/policy.h"
#include "report/stats.h"
#include "daemon/trace.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/stagemilter/stagemilter.yaml"
#define DEFAULT_SENDMAIL "/usr/sbin/sendmail"
/* Default seconds between two writes of the statistics file (-s). */
#define STM_MAIN_STATS_INTERVAL 15

enum {
    OPT_CHECK = 256,
    OPT_TRACE,
    OPT_CLIENT_IP,
    OPT_CLIENT_NAME,
    OPT_HELO,
    OPT_FROM,
    OPT_RCPT,
    OPT_NO_DELEGATE,
    OPT_HELP,
    OPT_VERSION,
    OPT_RUN_AS_ROOT,
    OPT_STATS_INTERVAL,
    OPT_QUARANTINE,
    OPT_SENDMAIL,
    OPT_STATE
};

typedef struct main_opts {
    const char *config;
    bool foreground, verbose, check;
    const char *socket, *user, *pidfile;
    bool run_as_root;
    const char *stats_file;
    unsigned stats_interval;
    const char *quarantine; /* --quarantine ACTION */
    const char *sendmail;
    const char *state; /* --state ACTION; its pattern is qargs[0] */
    char **qargs; /* its arguments: borrowed from argv */
    int nqargs;
    stm_trace_args trace;
    bool tracing;
    bool trace_option_seen; /* a --trace-only option was given */
} main_opts;

/* Print the usage to OUT. */
static void
main_usage(FILE *out)
{
    fprintf(out,
            "usage: stagemilter [-c FILE] [-f] [-p SOCKET] [-u USER[:GROUP] | --run-as-root]\n"
            "                   [-P PIDFILE] [-s STATSFILE] [--stats-interval SECONDS] [-v]\n"
            "       stagemilter --check [-c FILE]\n"
            "       stagemilter --quarantine list [QUEUE] [-c FILE]\n"
            "       stagemilter --quarantine release|delete ID... [-c FILE] [--sendmail PATH]\n"
            "       stagemilter --state list|delete [KEY-PATTERN] [-c FILE]\n"
            "       stagemilter --trace MESSAGE.eml [-c FILE] --client-ip IP [--client-name NAME]\n"
            "                   [--helo NAME] --from ADDR --rcpt ADDR [--rcpt ADDR ...] "
            "[--no-delegate]\n"
            "default policy: %s\n",
            DEFAULT_CONFIG);
}

/* Options seen that main_opts does not keep. */
typedef struct main_seen {
    bool stats_interval;
    bool sendmail;
} main_seen;

/* Apply option C (with optarg) to O: -1 to go on, else the status
 * main_parse returns. */
static int
main_parse_one(int c, main_opts *o, main_seen *seen)
{
    char *end;
    switch (c) {
    case 'c':
        o->config = optarg;
        return -1;
    case 'f':
        o->foreground = true;
        return -1;
    case 'p':
        o->socket = optarg;
        return -1;
    case 'u':
        o->user = optarg;
        return -1;
    case 'P':
        o->pidfile = optarg;
        return -1;
    case 'v':
        o->verbose = true;
        return -1;
    case 's':
        o->stats_file = optarg;
        return -1;
    case OPT_RUN_AS_ROOT:
        o->run_as_root = true;
        return -1;
    case OPT_STATS_INTERVAL: {
        unsigned long n = strtoul(optarg, &end, 10);
        if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || n < 1 || n > 86400) {
            fprintf(stderr, "stagemilter: --stats-interval takes seconds, 1 to 86400\n");
            return 1;
        }
        o->stats_interval = (unsigned)n;
        seen->stats_interval = true;
        return -1;
    }
    case OPT_QUARANTINE:
        o->quarantine = optarg;
        return -1;
    case OPT_STATE:
        o->state = optarg;
        return -1;
    case OPT_SENDMAIL:
        o->sendmail = optarg;
        seen->sendmail = true;
        return -1;
    case OPT_CHECK:
        o->check = true;
        return -1;
    case OPT_TRACE:
        o->tracing = true;
        o->trace.message = optarg;
        return -1;
    case OPT_CLIENT_IP:
        o->trace.client_ip = optarg;
        o->trace_option_seen = true;
        return -1;
    case OPT_CLIENT_NAME:
        o->trace.client_name = optarg;
        o->trace_option_seen = true;
        return -1;
    case OPT_HELO:
        o->trace.helo = optarg;
        o->trace_option_seen = true;
        return -1;
    case OPT_FROM:
        o->trace.from = optarg;
        o->trace_option_seen = true;
        return -1;
    case OPT_RCPT:
        /* argv outlives the options: borrow the strings. */
        o->trace.rcpts[o->trace.nrcpts++] = optarg;
        o->trace_option_seen = true;
        return -1;
    case OPT_NO_DELEGATE:
        o->trace.no_delegate = true;
        o->trace_option_seen = true;
        return -1;
    case 'h':
    case OPT_HELP:
        main_usage(stdout);
        return 2;
    case OPT_VERSION:
        printf("stagemilter %s\n", PACKAGE_VERSION);
        return 2;
    default:
        main_usage(stderr);
        return 1;
    }
}

/* Check the options go together, after the last one: 0, or 1 (reported). */
static int
main_parse_check(int argc, char **argv, main_opts *o, const main_seen *seen)
{
    if (o->quarantine != NULL || (o->state != NULL && argc - optind <= 1)) {
        o->qargs = argv + optind;
        o->nqargs = argc - optind;
    } else if (optind < argc) {
        fprintf(stderr, "stagemilter: unexpected argument \"%s\"\n", argv[optind]);
        main_usage(stderr);
        return 1;
    }
    if ((o->check ? 1 : 0) + (o->tracing ? 1 : 0) + (o->quarantine != NULL ? 1 : 0) +
            (o->state != NULL ? 1 : 0) >
        1) {
        fprintf(stderr,
                "stagemilter: --check, --trace, --quarantine and --state exclude each other\n");
        return 1;
    }
    if (seen->sendmail && o->quarantine == NULL) {
        fprintf(stderr, "stagemilter: --sendmail goes with --quarantine release\n");
        return 1;
    }
    if (o->user != NULL && o->run_as_root) {
        fprintf(stderr, "stagemilter: -u and --run-as-root exclude each other\n");
        return 1;
    }
    if (o->trace_option_seen && !o->tracing) {
        fprintf(stderr, "stagemilter: --client-ip, --client-name, --helo, --from, --rcpt and "
                        "--no-delegate go with --trace\n");
        return 1;
    }
    if ((o->check || o->tracing || o->quarantine != NULL || o->state != NULL) &&
        (o->foreground || o->socket || o->user || o->pidfile || o->verbose || o->run_as_root ||
         o->stats_file || seen->stats_interval)) {
        fprintf(stderr, "stagemilter: -f, -p, -u, -P, -s, -v, --run-as-root and "
                        "--stats-interval are for the daemon\n");
        return 1;
    }
    if (o->tracing) {
        const char *missing = o->trace.client_ip == NULL ? "--client-ip"
                              : o->trace.from == NULL    ? "--from"
                              : o->trace.nrcpts == 0     ? "--rcpt"
                                                         : NULL;
        if (missing != NULL) {
            fprintf(stderr, "stagemilter: --trace needs %s\n", missing);
            main_usage(stderr);
            return 1;
        }
    }
    return 0;
}

/* Parse ARGV into O; returns 0, 1 (usage error, explained) or 2 (--help/--version done). */
static int
main_parse(int argc, char **argv, main_opts *o)
{
    static const struct option longopts[] = {
        {"check", no_argument, NULL, OPT_CHECK},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"client-ip", required_argument, NULL, OPT_CLIENT_IP},
        {"client-name", required_argument, NULL, OPT_CLIENT_NAME},
        {"helo", required_argument, NULL, OPT_HELO},
        {"from", required_argument, NULL, OPT_FROM},
        {"rcpt", required_argument, NULL, OPT_RCPT},
        {"no-delegate", no_argument, NULL, OPT_NO_DELEGATE},
        {"help", no_argument, NULL, OPT_HELP},
        {"version", no_argument, NULL, OPT_VERSION},
        {"run-as-root", no_argument, NULL, OPT_RUN_AS_ROOT},
        {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
        {"quarantine", required_argument, NULL, OPT_QUARANTINE},
        {"sendmail", required_argument, NULL, OPT_SENDMAIL},
        {"state", required_argument, NULL, OPT_STATE},
        {NULL, 0, NULL, 0},
    };
    main_seen seen = {false, false};
    int c, rc;
    o->config = DEFAULT_CONFIG;
    o->sendmail = DEFAULT_SENDMAIL;
    o->stats_interval = STM_MAIN_STATS_INTERVAL;
    while ((c = getopt_long(argc, argv, "c:fp:u:P:s:vh", longopts, NULL)) != -1)
        if ((rc = main_parse_one(c, o, &seen)) >= 0)
            return rc;
    if ((rc = main_parse_check(argc, argv, o, &seen)) != 0)
        return rc;
    o->trace.config = o->config;
    return 0;
}

/* --check: print the diagnostics, then "FILE: OK" when valid. */
static int
main_check(const char *config)
{
    stm_diag *diag = stm_diag_create();
    if (diag == NULL) {
        fprintf(stderr, "stagemilter: out of memory\n");
        return 1;
    }
    stm_policy *p = stm_policy_load(config, diag);
    stm_diag_print(diag, stderr);
    stm_diag_free(diag);
    if (p == NULL)
        return 1;
    char msg[1024];
    if (stm_privileges_secret_exposed(p, config, msg, sizeof msg))
        fprintf(stderr, "%s\n", msg);
    /* A store that cannot be opened is refused like a bad key. */
    const stm_state_config *sc = stm_policy_state(p);
    char why[600];
    if (sc->used && stm_state_check(sc, why, sizeof why) != 0) {
        stm_diag *sd = stm_diag_create();
        if (sd != NULL) {
            stm_diag_add(sd, STM_SEV_ERROR, sc->pos.file ? sc->pos.file : config, sc->pos.line,
                         sc->pos.column, "state.store '%s' cannot be opened: %s", sc->store, why);
            stm_diag_print(sd, stderr);
            stm_diag_free(sd);
        }
        stm_policy_unref(p);
        return 1;
    }
    printf("%s: OK\n", config);
    stm_policy_unref(p);
    return 0;
}

/* The policy of an administration command (--quarantine, --state), or
 * NULL once its problems are printed with why WHAT cannot be trusted. */
static stm_policy *
main_admin_policy(const char *config, const char *what)
{
    stm_diag *diag = stm_diag_create();
    if (diag == NULL) {
        fprintf(stderr, "stagemilter: out of memory\n");
        return NULL;
    }
    stm_policy *p = stm_policy_load(config, diag);
    if (p == NULL)
        stm_diag_print(diag, stderr);
    stm_diag_free(diag);
    if (p == NULL)
        fprintf(stderr, "stagemilter: %s is invalid; %s is not trusted\n", config, what);
    return p;
}

/* --quarantine: the policy gives the workdir, quarantine_admin.c the rest. */
static int
main_quarantine(const main_opts *o)
{
    stm_policy *p = main_admin_policy(o->config, "its milter.workdir");
    if (p == NULL)
        return 1;
    stm_quarantine_admin_args a = {
        .workdir = stm_policy_milter(p)->workdir,
        .action = o->quarantine,
        .args = (const char *const *)o->qargs,
        .nargs = (size_t)o->nqargs,
        .sendmail = o->sendmail,
    };
    int rc = stm_quarantine_admin_main(&a, stdout, stderr);
    stm_policy_unref(p);
    return rc;
}

/* --state: the policy's state section gives the store. */
static int
main_state(const main_opts *o)
{
    stm_policy *p = main_admin_policy(o->config, "its state store");
    if (p == NULL)
        return 1;
    int rc = stm_state_admin_main(stm_policy_state(p), o->state,
                                  o->nqargs > 0 ? o->qargs[0] : NULL, stdout, stderr);
    stm_policy_unref(p);
    return rc;
}

/* Detach from the terminal: fork, new session, std streams on /dev/null. */
static int
main_daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "stagemilter: fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    if (chdir("/") != 0)
        return -1;
    int fd = open("/dev/null", O_RDWR);
    if (fd < 0)
        return -1;
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    if (fd > STDERR_FILENO)
        close(fd);
    return 0;
}

/* Write our pid to PATH. */
static int
main_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        stm_log(LOG_ERR, "pid file %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0) {
        stm_log(LOG_ERR, "pid file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Print a diagnostic line to the log (after start-up, for syslog). */
static void
main_diag_line(void *ctx, stm_severity sev, const char *line)
{
    stm_log(sev == STM_SEV_ERROR ? LOG_ERR : LOG_WARNING, "%s", line);
}

/* The daemon: load, open, detach, drop root, run, finish, clean up. */
static int
main_daemon(const main_opts *o)
{
    stm_log_open(o->foreground, o->verbose);
    stm_privileges_user user;
    char err[512];
    if (o->user != NULL && stm_privileges_lookup(o->user, &user, err, sizeof err) != 0) {
        stm_log(LOG_ERR, "%s; not starting", err);
        if (!o->foreground)
            fprintf(stderr, "stagemilter: %s\n", err);
        return 1;
    }
    if (o->user == NULL && !o->run_as_root && geteuid() == 0) {
        const char *why = "refusing to run as root: give -u USER[:GROUP] (the daemon drops "
                          "root after opening its sockets), or --run-as-root";
        stm_log(LOG_ERR, "%s", why);
        if (!o->foreground)
            fprintf(stderr, "stagemilter: %s\n", why);
        return 1;
    }
    stm_diag *diag = stm_diag_create();
    if (diag == NULL)
        return 1;
    stm_policy *p = stm_policy_load(o->config, diag);
    stm_diag_print(diag, stderr);
    if (!o->foreground)
        stm_diag_each_line(diag, main_diag_line, NULL);
    stm_diag_free(diag);
    if (p == NULL) {
        stm_log(LOG_ERR, "%s: invalid policy; not starting", o->config);
        return 1;
    }
    char msg[1024];
    if (stm_privileges_secret_exposed(p, o->config, msg, sizeof msg))
        stm_log(LOG_WARNING, "%s", msg);
    const stm_milter_config *mc = stm_policy_milter(p);
    stm_log_set_json(mc->log_format == STM_LOG_FORMAT_JSON);
    const char *spec = o->socket != NULL ? o->socket : mc->socket;
    bool stores = stm_policy_uses_quarantine(p) && mc->quarantine != STM_QUARANTINE_HOLD;
    /* The default state store is a file in the workdir. */
    const stm_state_config *sc = stm_policy_state(p);
    size_t wlen = strlen(mc->workdir);
    if (sc->used && sc->kind == STM_STATE_LMDB && strncmp(sc->path, mc->workdir, wlen) == 0 &&
        sc->path[wlen] == '/')
        stores = true;
    if (stores && stm_privileges_workdir(mc->workdir, o->user != NULL ? &user : NULL) != 0) {
        stm_policy_unref(p);
        return 1;
    }
    if (stm_policy_needs_body(p) && stm_privileges_spool(mc, o->user != NULL ? &user : NULL) != 0) {
        stm_policy_unref(p);
        return 1;
    }
    if (stores) {
        char serr[512];
        long swept = stm_quarantine_sweep(mc->workdir, serr, sizeof serr);
        if (swept < 0)
            stm_log(LOG_WARNING, "quarantine: %s", serr);
        else if (swept > 0)
            stm_log(LOG_NOTICE,
                   "quarantine: removed %ld unfinished cop%s left in %s/*/tmp by a process that "
                   "died while storing (never discarded from the MTA: nothing is lost)",
                   swept, swept == 1 ? "y" : "ies", mc->workdir);
    }
    stm_callbacks_set_policy(p); /* the daemon's reference */
    stm_stats_reset();

    int status = 1;
    bool pid_written = false, signals_started = false, milter_ran = false;
    if (stm_callbacks_register() != 0 || stm_socket_open(spec) != 0)
        goto done;
    if (!o->foreground && main_daemonize() != 0)
        goto done;
    if (o->pidfile != NULL) {
        if (main_pidfile(o->pidfile) != 0)
            goto done;
        pid_written = true;
    }
    /* Before any thread: every thread inherits the mask (signals.c). */
    if (stm_signals_block() != 0)
        goto done;
    if (stm_callbacks_delegation_start() != 0) /* the receiver: after fork, before -u */
        goto done;
    /* Everything that needs root is bound: the milter socket, the receiver. */
    if (o->user != NULL && stm_privileges_drop(&user) != 0)
        goto done;
    /* The state store: after -u, so that its files belong to the daemon's user. */
    if (stm_state_registry_use(p, err, sizeof err) != 0) {
        stm_log(LOG_ERR, "state.store %s: %s; not starting", sc->store, err);
        if (!o->foreground)
            fprintf(stderr, "stagemilter: state.store %s: %s\n", sc->store, err);
        goto done;
    }
    stm_signals_opts so = {
        .config = o->config,
        .socket_override = o->socket,
        .stats_file = o->stats_file,
        .stats_interval = o->stats_interval,
    };
    if (stm_signals_start(&so) != 0)
        goto done;
    signals_started = true;
    stm_log(LOG_INFO, "starting: policy %s, socket %s, user %s", o->config, spec,
            o->user != NULL ? user.name : "root");
    status = smfi_main() == MI_SUCCESS ? 0 : 1;
    milter_ran = true;
    stm_log(LOG_INFO, "stopped");

done:
    if (signals_started)
        stm_signals_stop();
    if (pid_written && unlink(o->pidfile) != 0)
        stm_log(LOG_WARNING, "cannot remove pid file %s: %s", o->pidfile, strerror(errno));
    const char *path = stm_socket_unix_path(spec);
    /* libmilter may have removed it already; another daemon's is not ours. */
    if (path != NULL && milter_ran && unlink(path) != 0 && errno != ENOENT)
        stm_log(LOG_WARNING, "cannot remove socket %s: %s", path, strerror(errno));
    stm_callbacks_delegation_stop();
    stm_callbacks_set_policy(NULL);
    stm_state_registry_close_all();
    stm_log_close();
    return status;
}

/* Parse the command line and run the mode it asks for. */
int
main(int argc, char **argv)
{
    main_opts o;
    memset(&o, 0, sizeof o);
    /* Every --rcpt is one argv element at most: argc bounds their number. */
    const char **rcpts = calloc((size_t)argc + 1, sizeof *rcpts);
    if (rcpts == NULL)
        return 1;
    o.trace.rcpts = rcpts;
    int rc = main_parse(argc, argv, &o);
    if (rc == 0) {
        if (o.check)
            rc = main_check(o.config);
        else if (o.tracing)
            rc = stm_trace_main(&o.trace, stdout, stderr);
        else if (o.quarantine != NULL)
            rc = main_quarantine(&o);
        else if (o.state != NULL)
            rc = main_state(&o);
        else
            rc = main_daemon(&o);
    } else if (rc == 2) {
        rc = 0;
    }
    free(rcpts);
    return rc;
}
