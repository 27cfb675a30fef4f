/*
 * main.c - stagemilter's command line and start-up.
 *
 * SYNOPSIS
 *      stagemilter [-c FILE] [-f] [-p SOCKET] [-u USER] [-P PIDFILE] [-v]
 *      stagemilter --check [-c FILE]
 *      stagemilter --trace MESSAGE.eml [-c FILE] --client-ip IP [--client-name NAME]
 *                  [--helo NAME] --from ADDR --rcpt ADDR [--rcpt ADDR ...] [--no-delegate]
 *
 * DESCRIPTION
 *      main() parses the options and runs one of three modes:
 *      --check loads the policy, prints every diagnostic (sm_diag_print) on
 *      stderr and "FILE: OK" on stdout when it is valid;
 *      --trace hands over to trace.c;
 *      otherwise the daemon starts: the policy is loaded (an invalid policy
 *      never starts), the socket opened (socket.c), the process detached
 *      unless -f, the pid file written, privileges dropped (-u), and
 *      smfi_main() runs until libmilter stops on SIGTERM/SIGINT. The pid file
 *      is removed on the way out.
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
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "log.h"
#include "socket.h"
#include "stagemilter/policy.h"
#include "trace.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/stagemilter/stagemilter.yaml"

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
    OPT_VERSION
};

typedef struct main_opts {
    const char *config;
    bool foreground, verbose, check;
    const char *socket, *user, *pidfile;
    sm_trace_args trace;
    bool tracing;
    bool trace_option_seen; /* a --trace-only option was given */
} main_opts;

/* Print the usage to OUT. */
static void
main_usage(FILE *out)
{
    fprintf(out,
            "usage: stagemilter [-c FILE] [-f] [-p SOCKET] [-u USER] [-P PIDFILE] [-v]\n"
            "       stagemilter --check [-c FILE]\n"
            "       stagemilter --trace MESSAGE.eml [-c FILE] --client-ip IP [--client-name NAME]\n"
            "                   [--helo NAME] --from ADDR --rcpt ADDR [--rcpt ADDR ...] "
            "[--no-delegate]\n"
            "default policy: %s\n",
            DEFAULT_CONFIG);
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
        {NULL, 0, NULL, 0},
    };
    int c;
    o->config = DEFAULT_CONFIG;
    while ((c = getopt_long(argc, argv, "c:fp:u:P:vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'p':
            o->socket = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'P':
            o->pidfile = optarg;
            break;
        case 'v':
            o->verbose = true;
            break;
        case OPT_CHECK:
            o->check = true;
            break;
        case OPT_TRACE:
            o->tracing = true;
            o->trace.message = optarg;
            break;
        case OPT_CLIENT_IP:
            o->trace.client_ip = optarg;
            o->trace_option_seen = true;
            break;
        case OPT_CLIENT_NAME:
            o->trace.client_name = optarg;
            o->trace_option_seen = true;
            break;
        case OPT_HELO:
            o->trace.helo = optarg;
            o->trace_option_seen = true;
            break;
        case OPT_FROM:
            o->trace.from = optarg;
            o->trace_option_seen = true;
            break;
        case OPT_RCPT:
            /* argv outlives the options: borrow the strings. */
            o->trace.rcpts[o->trace.nrcpts++] = optarg;
            o->trace_option_seen = true;
            break;
        case OPT_NO_DELEGATE:
            o->trace.no_delegate = true;
            o->trace_option_seen = true;
            break;
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
    if (optind < argc) {
        fprintf(stderr, "stagemilter: unexpected argument \"%s\"\n", argv[optind]);
        main_usage(stderr);
        return 1;
    }
    if (o->check && o->tracing) {
        fprintf(stderr, "stagemilter: --check and --trace exclude each other\n");
        return 1;
    }
    if (o->trace_option_seen && !o->tracing) {
        fprintf(stderr, "stagemilter: --client-ip, --client-name, --helo, --from, --rcpt and "
                        "--no-delegate go with --trace\n");
        return 1;
    }
    if ((o->check || o->tracing) &&
        (o->foreground || o->socket || o->user || o->pidfile || o->verbose)) {
        fprintf(stderr, "stagemilter: -f, -p, -u, -P and -v are for the daemon\n");
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
    o->trace.config = o->config;
    return 0;
}

/* --check: print the diagnostics, then "FILE: OK" when valid. */
static int
main_check(const char *config)
{
    sm_diag *diag = sm_diag_create();
    if (diag == NULL) {
        fprintf(stderr, "stagemilter: out of memory\n");
        return 1;
    }
    sm_policy *p = sm_policy_load(config, diag);
    sm_diag_print(diag, stderr);
    sm_diag_free(diag);
    if (p == NULL)
        return 1;
    printf("%s: OK\n", config);
    sm_policy_unref(p);
    return 0;
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
        sm_log(LOG_ERR, "pid file %s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0) {
        sm_log(LOG_ERR, "pid file %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Become USER (its uid, gid and supplementary groups). */
static int
main_drop_privileges(const char *user, const char *workdir)
{
    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        sm_log(LOG_ERR, "-u %s: no such user", user);
        return -1;
    }
    /* The quarantine store must stay writable after the switch. */
    if (workdir != NULL && chown(workdir, pw->pw_uid, pw->pw_gid) != 0 && errno != ENOENT)
        sm_log(LOG_WARNING, "chown %s to %s: %s", workdir, user, strerror(errno));
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
        setuid(pw->pw_uid) != 0) {
        sm_log(LOG_ERR, "-u %s: cannot switch user: %s", user, strerror(errno));
        return -1;
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        sm_log(LOG_ERR, "-u %s: could regain root; refusing to run", user);
        return -1;
    }
    return 0;
}

/* Print a diagnostic line to the log (after start-up, for syslog). */
static void
main_diag_line(void *ctx, sm_severity sev, const char *line)
{
    sm_log(sev == SM_SEV_ERROR ? LOG_ERR : LOG_WARNING, "%s", line);
}

/* The daemon: load, open, detach, run, clean up. */
static int
main_daemon(const main_opts *o)
{
    sm_log_open(o->foreground, o->verbose);
    sm_diag *diag = sm_diag_create();
    if (diag == NULL)
        return 1;
    sm_policy *p = sm_policy_load(o->config, diag);
    sm_diag_print(diag, stderr);
    if (!o->foreground)
        sm_diag_each_line(diag, main_diag_line, NULL);
    sm_diag_free(diag);
    if (p == NULL) {
        sm_log(LOG_ERR, "%s: invalid policy; not starting", o->config);
        return 1;
    }
    const sm_milter_config *mc = sm_policy_milter(p);
    const char *spec = o->socket != NULL ? o->socket : mc->socket;
    const char *workdir = NULL;
    if (sm_policy_uses_quarantine(p) && mc->quarantine != SM_QUARANTINE_HOLD) {
        workdir = mc->workdir;
        if (mkdir(workdir, 0700) != 0 && errno != EEXIST)
            sm_log(LOG_WARNING, "quarantine workdir %s: %s", workdir, strerror(errno));
    }
    sm_callbacks_set_policy(p); /* the daemon's reference */

    int status = 1;
    bool pid_written = false;
    if (sm_callbacks_register() != 0 || sm_socket_open(spec) != 0)
        goto done;
    if (!o->foreground && main_daemonize() != 0)
        goto done;
    if (o->pidfile != NULL) {
        if (main_pidfile(o->pidfile) != 0)
            goto done;
        pid_written = true;
    }
    if (sm_callbacks_delegation_start() != 0) /* the receiver: after fork, before -u */
        goto done;
    if (o->user != NULL && main_drop_privileges(o->user, workdir) != 0)
        goto done;
    sm_log(LOG_INFO, "starting: policy %s, socket %s", o->config, spec);
    status = smfi_main() == MI_SUCCESS ? 0 : 1;
    sm_log(LOG_INFO, "stopped");

done:
    if (pid_written && unlink(o->pidfile) != 0)
        sm_log(LOG_WARNING, "cannot remove pid file %s: %s", o->pidfile, strerror(errno));
    const char *path = sm_socket_unix_path(spec);
    if (path != NULL && status == 0)
        unlink(path);
    sm_callbacks_delegation_stop();
    sm_callbacks_set_policy(NULL);
    sm_log_close();
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
            rc = sm_trace_main(&o.trace, stdout, stderr);
        else
            rc = main_daemon(&o);
    } else if (rc == 2) {
        rc = 0;
    }
    free(rcpts);
    return rc;
}
