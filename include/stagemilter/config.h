/*
 * config.h - the non-rule parts of a loaded policy, read-only for milter/.
 *
 * These structs are owned by the sm_policy they came from and live exactly as
 * long as it does (see policy.h): borrow them under a policy reference.
 * Durations are milliseconds, sizes bytes. Defaults are those of DESIGN.md.
 */
#ifndef STAGEMILTER_CONFIG_H
#define STAGEMILTER_CONFIG_H

#include "stagemilter/types.h"

typedef enum sm_quarantine_mode {
    SM_QUARANTINE_STORE,     /* keep a copy in WORKDIR/QUEUE, discard from the MTA */
    SM_QUARANTINE_HOLD,      /* smfi_quarantine only (Postfix hold queue) */
    SM_QUARANTINE_STORE_HOLD /* both */
} sm_quarantine_mode;

typedef enum sm_on_error { SM_ON_ERROR_TEMPFAIL, SM_ON_ERROR_ACCEPT, SM_ON_ERROR_REJECT } sm_on_error;

typedef struct sm_milter_config {
    char *socket;  /* "inet:8891@127.0.0.1" */
    char *workdir; /* "/var/lib/stagemilter" */
    sm_quarantine_mode quarantine;
    sm_on_error on_error;
    uint64_t max_message_size; /* 50M */
} sm_milter_config;

typedef struct sm_receiver_config {
    bool present; /* the `receiver` section was given */
    char *listen; /* "127.0.0.1:10025" as written */
    char *host;   /* "127.0.0.1" ("::1" for "[::1]:10025") */
    char *port;   /* "10025" */
    sm_srcpos pos;
} sm_receiver_config;

typedef enum sm_protocol { SM_PROTO_SMTP, SM_PROTO_LMTP } sm_protocol;
typedef enum sm_auth_mode { SM_AUTH_OFF, SM_AUTH_PLAIN, SM_AUTH_FORWARD, SM_AUTH_EXTERNAL } sm_auth_mode;
typedef enum sm_on_failure {
    SM_ON_FAILURE_TEMPFAIL,
    SM_ON_FAILURE_ACCEPT,
    SM_ON_FAILURE_REJECT,
    SM_ON_FAILURE_CONTINUE
} sm_on_failure;
typedef enum sm_apply { SM_APPLY_HEADERS, SM_APPLY_MESSAGE } sm_apply;

typedef struct sm_target {
    bool implicit_tls; /* tls://HOST:PORT */
    char *host;
    char *port;
    char *text; /* as written, for logs */
} sm_target;

typedef struct sm_tls_client {
    char *ca_file; /* default /etc/ssl/certs/ca-certificates.crt */
    char *cert_file;
    char *key_file;
    char *server_name;
    bool verify;
} sm_tls_client;

typedef struct sm_service {
    char *name;
    sm_srcpos pos;
    sm_protocol protocol;
    sm_target *targets;
    size_t ntargets;
    bool attempt_starttls; /* default: true for smtp, false for lmtp */
    bool require_tls;
    sm_tls_client tls_client;
    sm_auth_mode auth;
    char *username;
    char *password;
    uint64_t connect_timeout_ms;    /* 5m */
    uint64_t command_timeout_ms;    /* 5m */
    uint64_t submission_timeout_ms; /* 12m */
    uint64_t timeout_ms;            /* 60s: wait for the message to come back */
    sm_apply apply;
    sm_on_failure on_failure;
} sm_service;

#endif
