/*
 * delegate.h - delegate a session's message to a scanner and wait for it to
 * come back (DESIGN.md, Delegation): the engine's delegate hook.
 *
 * Start-up (daemon or --trace), once:
 *     reg = stm_ticket_registry_create();
 *     rcv = stm_receiver_start(&(stm_receiver_options){host, port,
 *               max_message_size, ...}, reg, err, sizeof err);
 * Per end of message, with a context on the stack:
 *     stm_delegate_ctx dc = {.tickets = reg, .progress = call_smfi_progress,
 *                           .progress_arg = smfictx, .log = ..., .log_arg = ...};
 *     hooks.delegate = stm_delegate_hook; hooks.ctx = &dc;   (or call
 *     stm_delegate_run(&dc, s, service, out) from your own hook)
 * Shutdown: stm_receiver_stop(rcv); stm_ticket_registry_free(reg); (the
 * creator's reference: a thread that may still delegate then holds its own,
 * taken with stm_ticket_registry_ref() when it got the registry; ticket.h).
 * SIGPIPE is handled inside (see smtp/protocol.c); the receiver uses MSG_NOSIGNAL.
 *
 * Results (out->result):
 *   RETURNED  the copy came back through the receiver; out->returned holds
 *             it (with its X-Stagemilter-Ticket header).
 *   REJECTED  the scanner answered 4xx/5xx to MAIL, to every RCPT, to DATA,
 *             or after the data (LMTP: to every recipient).
 *   DROPPED   the scanner said 2xx after the data but no copy arrived
 *             within the drop grace (the service's drop_grace, default
 *             2 s, or the context's drop_grace_ms when not 0; counted from
 *             that final reply, never beyond the service's `timeout`
 *             counted from the start). Scanners that proxy (clamsmtpd,
 *             spampd, amavisd-new as a proxy) pass the message on before
 *             they answer, so a copy that is not there shortly after the
 *             250 is not coming. A scanner that queues and forwards later
 *             needs a larger drop_grace.
 *   FAILED    no target usable, TLS/AUTH/protocol failure, timeout, or the
 *             returned copy could not be parsed. out->reply then holds the
 *             server's last reply text if there was one, else the error.
 * out->reply_code/enhanced/reply are the scanner's last reply.
 */
#ifndef STAGEMILTER_DELEGATE_H
#define STAGEMILTER_DELEGATE_H

#include <stdbool.h>
#include <stdint.h>

#include "delegate/edits.h"
#include "delegate/service.h"
#include "stagemilter/engine.h"

/* Send the message of session S (its headers and body as the MTA gave them,
 * plus "X-Stagemilter-Ticket: TOKEN" first) to service SVC with MAIL FROM
 * the session's sender and RCPT TO each accepted recipient, then classify
 * as above. OUT must be initialised (stm_delegation_init); what it held is
 * replaced. Returns 0 with OUT filled; -1 when nothing was attempted: the
 * message was not kept whole (larger than milter.max_message_size), or
 * memory or the random generator failed (the engine then treats it as
 * FAILED / on_error). */
int stm_delegate_run(stm_delegate_ctx *ctx, stm_session *s, const stm_service *svc,
                     stm_delegation *out);

/* delegate: [a, b, c]: stm_delegate_run() for each of the N services SVCS
 * into OUTS[i] at the same time, one thread each, every one within its own
 * service's timeout; meanwhile this thread calls CTX's progress callback
 * (the worker threads never do: smfi_progress belongs to the milter
 * thread) and returns once all are done: a service that hangs delays the
 * others' results by nothing, and the whole by no more than its own
 * timeout. One line logs the services and the time it took. Returns 0;
 * -1 when nothing could be attempted for any (each OUTS[i] then FAILED or
 * as its run left it). */
int stm_delegate_run_many(stm_delegate_ctx *ctx, stm_session *s, const stm_service *const *svcs,
                          stm_delegation *const *outs, size_t n);

/* stm_delegate_run() with the stm_engine_hooks.delegate signature: CTX is an
 * stm_delegate_ctx *. */
int stm_delegate_hook(void *ctx, stm_session *s, const stm_service *svc, stm_delegation *out);

/* The edits that bring the result D of service SVC onto MINE, as its
 * protocol and `apply` say (for SMTP/LMTP: stm_delegate_header_edits() of
 * the returned copy). *EDITS: caller frees; borrows from MINE and D.
 * Returns the number of edits, or -1 on memory exhaustion. */
long stm_delegate_edits(const stm_service *svc, const stm_message *mine, const stm_delegation *d,
                        stm_header_edit **edits);

#endif
