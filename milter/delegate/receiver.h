/*
 * receiver.h - the SMTP listener where delegated messages come back.
 *
 * A scanner relays each delegated message to receiver.listen. The receiver
 * speaks just enough SMTP to take a message: every MAIL and RCPT gets 250
 * (the ticket is only known once the data is in), and at the end of DATA the
 * message is handed to the pending delegation whose ticket token it carries
 * (anywhere: headers or body). Only then does the client get 250; anything
 * without a matching open ticket gets 550 and is thrown away, so the
 * receiver is never an open relay. It keeps nothing itself.
 *
 * Trust: only clients in receiver.allow get a greeting; others get 554 and
 * are closed. Memory: a message is refused (552) beyond max_message_size
 * plus a margin for what scanners add (STM_RECEIVER_MARGIN), and all
 * connections together hold at most a budget of message bytes (twice that
 * limit plus STM_RECEIVER_BUDGET_EXTRA); a message that would pass it gets
 * 452 and its buffer is freed at once.
 *
 * Threads: one thread accepts, one thread per connection (at most
 * max_clients; more get 421). Every read has a deadline: the idle timeout,
 * cut by the absolute deadline of the session and, in DATA, of the data.
 */
#ifndef STAGEMILTER_RECEIVER_H
#define STAGEMILTER_RECEIVER_H

#include <stddef.h>
#include <stdint.h>

#include "delegate/ticket.h"
#include "stagemilter/config.h"

typedef struct stm_receiver stm_receiver;

typedef struct stm_receiver_options {
    const char *host;          /* address to bind: "127.0.0.1", "::1" */
    const char *port;          /* "10025"; "0" picks a free port (tests) */
    uint64_t max_message_size; /* milter.max_message_size; larger: 552. 0 = 50M */
    unsigned max_clients;      /* concurrent connections; 0 = 32 */
    uint64_t idle_timeout_ms;  /* per read; 0 = 60 s */
    const char *hostname;      /* for the greeting; NULL = "localhost" */
    /* receiver.allow, session_timeout and data_timeout are copied from it;
     * NULL = the defaults (loopback only, 10 min, 5 min). */
    const stm_receiver_config *config;
    /* One line per event (connection, accepted, refused). Optional;
     * called from receiver threads, so it must be thread-safe. */
    void (*log)(void *arg, const char *line);
    void *log_arg;
} stm_receiver_options;

typedef struct stm_receiver_stats {
    uint64_t connections; /* accepted connections */
    uint64_t busy;        /* connections turned away with 421 */
    uint64_t delivered;   /* messages handed to a pending delegation (250) */
    uint64_t refused;     /* messages refused: no matching ticket (550) */
    uint64_t too_big;     /* messages refused: over the receiver's size limit (552) */
    uint64_t no_memory;   /* messages refused: the memory budget was used up (452) */
    uint64_t denied;      /* connections from outside receiver.allow (554) */
    uint64_t timed_out;   /* connections cut at a session, data or idle deadline */
} stm_receiver_stats;

/* Bind, listen and start the threads. Deliveries go to REG (borrowed: it
 * must outlive the receiver). Returns the receiver (caller owns; stop with
 * stm_receiver_stop()), or NULL with a reason in ERR (size ERRLEN). */
stm_receiver *stm_receiver_start(const stm_receiver_options *opt, stm_ticket_registry *reg, char *err,
                               size_t errlen);
/* The port actually bound (useful with port "0"). */
unsigned stm_receiver_port(const stm_receiver *rcv);
/* The largest message it takes for MAX_MESSAGE_SIZE (its margin added). */
uint64_t stm_receiver_message_limit(uint64_t max_message_size);
/* Counters so far. */
void stm_receiver_get_stats(stm_receiver *rcv, stm_receiver_stats *out);
/* Stop accepting, close every connection (clients in the middle of a
 * message get 421), join the threads and free. Accepts NULL. */
void stm_receiver_stop(stm_receiver *rcv);

#endif
