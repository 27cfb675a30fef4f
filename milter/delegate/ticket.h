/*
 * ticket.h - pending delegations: unguessable single-use tokens that tie a
 * message coming back to the receiver to the delegation waiting for it.
 *
 * A delegation opens a ticket (a fresh 128-bit token from OpenSSL
 * RAND_bytes), writes "X-Stagemilter-Ticket: TOKEN" into the copy it sends,
 * and waits on the ticket. The receiver finds the token anywhere in a
 * returned message (headers or body) and delivers the message into the
 * ticket; the waiter wakes up and owns it. A ticket takes one delivery only;
 * once closed its token is unknown, so a replay or a late copy is refused.
 */
#ifndef STAGEMILTER_TICKET_H
#define STAGEMILTER_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stagemilter/limits.h"

#define STM_TICKET_HEADER "X-Stagemilter-Ticket"

typedef struct stm_ticket_registry stm_ticket_registry;
typedef struct stm_ticket stm_ticket;

/* A message as the receiver got it. All fields owned by whoever holds it. */
typedef struct stm_ticket_delivery {
    char *data; /* the message: CRLF lines, dot-unstuffed, no final "." */
    size_t len;
    char *mail_from; /* envelope sender without brackets ("" for <>) */
    char **rcpts;    /* envelope recipients without brackets */
    size_t nrcpts;
    char *peer; /* "IP:PORT" of the client that brought it back */
} stm_ticket_delivery;

/* A new empty registry holding one reference, the caller's (release it
 * with stm_ticket_registry_free()). NULL on memory exhaustion.
 *
 * Lifetime: the registry is reference-counted. Whoever hands it to another
 * thread hands out a reference (stm_ticket_registry_ref()), and each open
 * ticket holds one, so dropping the creator's reference at shutdown never
 * frees it under a thread that is between two delegations or still waiting
 * on a ticket: the last reference frees it. */
stm_ticket_registry *stm_ticket_registry_create(void);
/* Take another reference on REG; returns REG (NULL for NULL). */
stm_ticket_registry *stm_ticket_registry_ref(stm_ticket_registry *reg);
/* Drop one reference (the creator's or one from stm_ticket_registry_ref());
 * the last one frees the registry. Accepts NULL. */
void stm_ticket_registry_free(stm_ticket_registry *reg);
/* Number of open tickets (for logs and tests). */
size_t stm_ticket_registry_open_count(stm_ticket_registry *reg);

/* Open a ticket with a fresh token; it holds a reference on REG until
 * stm_ticket_close(). Caller owns it until stm_ticket_close(). NULL when the
 * random generator fails or memory is exhausted. */
stm_ticket *stm_ticket_open(stm_ticket_registry *reg);
/* The token: STM_TICKET_TOKEN_LEN hex characters. Borrowed from the ticket. */
const char *stm_ticket_token(const stm_ticket *t);
/* Unregister and free T; a delivery not yet taken is freed with it, and
 * its reference on the registry is dropped. Accepts NULL. */
void stm_ticket_close(stm_ticket *t);

/* Wait until a message was delivered to T or DEADLINE_MS (stm_clock_ms
 * time) passes. While blocked, PROGRESS(ARG) is called every INTERVAL_MS (if
 * PROGRESS is not NULL; INTERVAL_MS 0 means 10 s). Returns true with *OUT
 * filled (caller owns; clear with stm_ticket_delivery_clear()), or false when
 * the deadline passed first. A delivery already made returns at once. */
bool stm_ticket_wait(stm_ticket *t, uint64_t deadline_ms, void (*progress)(void *arg), void *arg,
                     uint64_t interval_ms, stm_ticket_delivery *out);

/* Receiver side: find a ticket token in D->data and, if it names an open
 * ticket that has not had its delivery yet, move *D into that ticket (D is
 * left empty) and wake its waiter. Returns 0 when the message was taken, -1
 * when no open ticket matched (D untouched; the caller refuses it). */
int stm_ticket_deliver(stm_ticket_registry *reg, stm_ticket_delivery *d);

/* Free what D owns and empty it. Accepts an empty delivery. */
void stm_ticket_delivery_clear(stm_ticket_delivery *d);

/* Collect up to MAX distinct token candidates that follow an
 * "X-Stagemilter-Ticket:" (any case, then white space and an optional "<")
 * anywhere in DATA. Each is written NUL-terminated and lowercased into
 * TOKENS. Returns how many were found. */
size_t stm_ticket_find_tokens(const char *data, size_t len, char tokens[][STM_TICKET_TOKEN_LEN + 1],
                              size_t max);

/* Remove from DATA (LEN bytes) every line that starts with
 * "X-Stagemilter-Ticket:" (case-insensitive), with its folded
 * continuation lines: a scanner that wraps the message (SpamAssassin's
 * report_safe attaches the original) carries our ticket inside the body.
 * Works in place; returns the new length (a NUL is written there when
 * DATA had room, that is when the new length is below LEN). */
size_t stm_ticket_strip_lines(char *data, size_t len);

#endif
