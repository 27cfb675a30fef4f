/*
 * trace.h - `stagemilter --trace`: run a policy on one message without an
 * MTA and print, stage by stage, what every rule did.
 */
#ifndef STAGEMILTER_MILTER_TRACE_H
#define STAGEMILTER_MILTER_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct stm_trace_args {
    const char *config;      /* policy file */
    const char *message;     /* the .eml file */
    const char *client_ip;   /* required */
    const char *client_name; /* optional; "unknown" when absent */
    const char *helo;        /* optional */
    const char *from;        /* required; "" or "<>" is the null sender */
    const char **rcpts;      /* at least one; borrowed */
    size_t nrcpts;
    bool no_delegate;
} stm_trace_args;

/* Run the trace and print it to OUT; problems (unreadable files, an invalid
 * policy) go to ERR. Returns the exit status: 0 when the trace ran, whatever
 * the verdict; 1 on a policy or file error. */
int stm_trace_main(const stm_trace_args *args, FILE *out, FILE *err);

#endif
