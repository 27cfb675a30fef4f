/*
 * service.h - the seam between delegation (delegate.c) and the protocols
 * that talk to scanners: one table of operations per stm_protocol, and the
 * context every protocol is given (stm_delegate_ctx, stm_delegate_log).
 *
 * delegate.c knows nothing of SMTP, clamd or HTTP: for a service it looks up
 * stm_service_ops_for(svc->protocol) and runs
 *
 *     ops->start(&req, &scan)                 send (or begin sending) the message
 *     ops->collect(scan, deadline, out, &f)   wait for the result, at most
 *                                             until DEADLINE, calling
 *                                             ctx->progress meanwhile
 *     ops->release(scan)
 *
 * and, at the end of the message, ops->apply() for the header edits that
 * bring the result onto the MTA's copy. start() returns a handle at once or
 * after sending, so several services can run at the same time: start them
 * all, then collect each with its own deadline.
 *
 * Adding a protocol: a value in enum stm_protocol (config.h), a row in
 * policy/load/services.c's protocol table (name, defaults, target schemes),
 * one file that defines its stm_service_ops, and its row in service.c.
 */
#ifndef STAGEMILTER_SERVICE_H
#define STAGEMILTER_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delegate/edits.h"
#include "delegate/ticket.h"
#include "stagemilter/engine.h"

/* What delegation gives every protocol: where tickets are registered, how
 * to keep the MTA waiting, where to log. Borrowed for a scan's life. */
typedef struct stm_delegate_ctx {
    stm_ticket_registry *tickets; /* required: the receiver's registry (borrowed) */
    const char *helo_name;        /* EHLO/LHLO name; NULL: "localhost" */
    uint64_t drop_grace_ms;       /* 0: the service's drop_grace */
    bool reuse_connections;       /* stm_smtp_request.reuse (the daemon: true) */
    /* Called every progress_interval_ms (0: 10 s) while blocked in the
     * dialogue or while waiting for the copy (the daemon: smfi_progress). */
    void (*progress)(void *arg);
    void *progress_arg;
    uint64_t progress_interval_ms;
    /* One line per event, and the SMTP dialogue if transcript. Optional. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
    bool transcript;
} stm_delegate_ctx;

/* Log one formatted line (sanitised) through CTX's log callback, if any. */
void stm_delegate_log(const stm_delegate_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One scan in flight; each protocol defines its own. */
typedef struct stm_scan stm_scan;

/* What start() is given; everything borrowed until release(). */
typedef struct stm_scan_request {
    const stm_delegate_ctx *ctx; /* tickets, progress, log, transcript */
    stm_session *session;        /* the message and its envelope */
    const stm_service *service;
    const char *id; /* the message's id for log lines */
} stm_scan_request;

/* What collect() tells delegate.c beyond the stm_delegation, for its one
 * log line per delegation. Strings borrowed from the scan until release(). */
typedef struct stm_scan_facts {
    const char *target;   /* the target used last; NULL when none */
    bool tls;             /* the message went over TLS */
    size_t returned_size; /* bytes that came back; 0 when none */
    /* Details logged after the result line ("rcpt=<a@b> refused ..."). */
    const char *const *notes;
    size_t nnotes;
    /* The protocol logged the outcome itself (nothing was sent): no result line. */
    bool logged;
} stm_scan_facts;

typedef struct stm_service_ops {
    const char *name; /* the implementation, for logs and tests: "smtp/lmtp" */
    /* Start scanning REQ's message. 0 with *SCAN (caller releases); -1 when
     * nothing could be attempted (memory, random generator): the engine
     * then treats it as FAILED / on_error. A scanner that fails is not -1:
     * collect() reports it. */
    int (*start)(const stm_scan_request *req, stm_scan **scan);
    /* Wait until the result is known or DEADLINE (stm_clock_ms()) passes,
     * calling the context's progress callback meanwhile; fill OUT's result,
     * reply and returned copy (OUT was reset by the caller), and FACTS.
     * 0, or -1 on memory exhaustion. */
    int (*collect)(stm_scan *scan, uint64_t deadline, stm_delegation *out, stm_scan_facts *facts);
    /* Free the scan. Accepts NULL. */
    void (*release)(stm_scan *scan);
    /* The header edits that bring the result D onto MINE (the MTA's copy),
     * per the service's apply (WHOLE: apply: message). *EDITS: caller frees;
     * they borrow from MINE and D. The number of edits, or -1. */
    long (*apply)(const stm_message *mine, const stm_delegation *d, bool whole,
                  stm_header_edit **edits);
    /* start() only connects and sends the request; the scanner works while
     * collect() waits. Several such scans run at once without a thread of
     * their own (stm_delegate_run_many). */
    bool waits_in_collect;
} stm_service_ops;

/* The operations of protocol P (service.c); never NULL for a protocol the
 * loader accepts. */
const stm_service_ops *stm_service_ops_for(stm_protocol p);

/* The protocols (one file each). */
extern const stm_service_ops stm_smtp_scanner_ops; /* smtp/scanner.c: SMTP and LMTP */
extern const stm_service_ops stm_clamd_ops;        /* clamd.c: zINSTREAM */
extern const stm_service_ops stm_spamd_ops;        /* spamd.c: HEADERS SPAMC/1.5 */
extern const stm_service_ops stm_rspamd_ops;       /* rspamd.c: HTTP POST /checkv2, JSON */

#endif
