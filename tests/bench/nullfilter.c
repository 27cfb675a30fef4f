/*
 * nullfilter.c - a do-nothing libmilter filter, the floor of what any
 * libmilter filter costs; tests/bench/run measures stagemilter against it.
 *
 * SYNOPSIS
 *      nullfilter -p SOCKET [-T TIMEOUT]
 *
 * DESCRIPTION
 *      Registers every message callback (connect, helo, envfrom, envrcpt,
 *      data, header, eoh, body, eom, abort, close) so the MTA sends the
 *      whole transaction, headers and body included, and answers
 *      SMFIS_CONTINUE to each. It keeps no state, so it has no per-connection
 *      context to own or free. It is a plain filter on purpose: no
 *      xxfi_negotiate, no TCP_NODELAY on the listening socket, nothing a
 *      typical libmilter filter would not do.
 *
 *      main() parses the options, registers the filter, opens the socket
 *      (removing a stale unix socket first) and runs smfi_main() until
 *      SIGTERM/SIGINT.
 *
 * DIAGNOSTICS
 *      Usage and libmilter set-up errors go to stderr; the exit status is 0
 *      after a clean stop, 1 on a set-up error, 2 on a usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

/* Connection opened: nothing to set up. */
static sfsistat
nullfilter_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
    return SMFIS_CONTINUE;
}

/* HELO/EHLO seen. */
static sfsistat
nullfilter_helo(SMFICTX *ctx, char *helo)
{
    return SMFIS_CONTINUE;
}

/* MAIL FROM seen. */
static sfsistat
nullfilter_envfrom(SMFICTX *ctx, char **argv)
{
    return SMFIS_CONTINUE;
}

/* RCPT TO seen. */
static sfsistat
nullfilter_envrcpt(SMFICTX *ctx, char **argv)
{
    return SMFIS_CONTINUE;
}

/* DATA seen. */
static sfsistat
nullfilter_data(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

/* One header line. */
static sfsistat
nullfilter_header(SMFICTX *ctx, char *name, char *value)
{
    return SMFIS_CONTINUE;
}

/* End of headers. */
static sfsistat
nullfilter_eoh(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

/* One body chunk. */
static sfsistat
nullfilter_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    return SMFIS_CONTINUE;
}

/* End of message. */
static sfsistat
nullfilter_eom(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

/* Transaction aborted. */
static sfsistat
nullfilter_abort(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

/* Connection closed. */
static sfsistat
nullfilter_close(SMFICTX *ctx)
{
    return SMFIS_CONTINUE;
}

/* Print the usage line to stderr. */
static void
nullfilter_usage(const char *prog)
{
    fprintf(stderr, "usage: %s -p SOCKET [-T TIMEOUT]\n", prog);
}

/* Parse options, register the filter and run libmilter's main loop. */
int
main(int argc, char **argv)
{
    struct smfiDesc desc;
    const char *sock = NULL;
    int timeout = -1;
    int opt;

    while ((opt = getopt(argc, argv, "p:T:")) != -1) {
        switch (opt) {
        case 'p':
            sock = optarg;
            break;
        case 'T':
            timeout = atoi(optarg);
            break;
        default:
            nullfilter_usage(argv[0]);
            return 2;
        }
    }
    if (sock == NULL || optind != argc) {
        nullfilter_usage(argv[0]);
        return 2;
    }

    memset(&desc, 0, sizeof(desc));
    desc.xxfi_name = "nullfilter";
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = 0;
    desc.xxfi_connect = nullfilter_connect;
    desc.xxfi_helo = nullfilter_helo;
    desc.xxfi_envfrom = nullfilter_envfrom;
    desc.xxfi_envrcpt = nullfilter_envrcpt;
    desc.xxfi_header = nullfilter_header;
    desc.xxfi_eoh = nullfilter_eoh;
    desc.xxfi_body = nullfilter_body;
    desc.xxfi_eom = nullfilter_eom;
    desc.xxfi_abort = nullfilter_abort;
    desc.xxfi_close = nullfilter_close;
    desc.xxfi_data = nullfilter_data;

    if (smfi_setconn((char *)sock) == MI_FAILURE) {
        fprintf(stderr, "nullfilter: smfi_setconn %s failed\n", sock);
        return 1;
    }
    if (timeout >= 0 && smfi_settimeout(timeout) == MI_FAILURE) {
        fprintf(stderr, "nullfilter: smfi_settimeout failed\n");
        return 1;
    }
    if (smfi_register(desc) == MI_FAILURE) {
        fprintf(stderr, "nullfilter: smfi_register failed\n");
        return 1;
    }
    /* rmsocket = 1: a unix socket left by an earlier run is removed. */
    if (smfi_opensocket(1) == MI_FAILURE) {
        fprintf(stderr, "nullfilter: cannot open %s\n", sock);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
