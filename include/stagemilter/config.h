/*
 * config.h - the non-rule parts of a loaded policy, read-only for milter/.
 *
 * These structs are owned by the stm_policy they came from and live exactly as
 * long as it does (see policy.h): borrow them under a policy reference.
 * Durations are milliseconds, sizes bytes. Defaults are those of DESIGN.md.
 */
#ifndef STAGEMILTER_CONFIG_H
#define STAGEMILTER_CONFIG_H

#include "stagemilter/types.h"

typedef enum stm_quarantine_mode {
    STM_QUARANTINE_STORE,     /* keep a copy in WORKDIR/QUEUE, discard from the MTA */
    STM_QUARANTINE_HOLD,      /* smfi_quarantine only (Postfix hold queue) */
    STM_QUARANTINE_STORE_HOLD, /* both */
    STM_QUARANTINE_LMTP,      /* deliver a copy over LMTP (quarantine_lmtp), then discard */
    STM_QUARANTINE_LMTP_HOLD  /* deliver a copy over LMTP, then smfi_quarantine */
} stm_quarantine_mode;

typedef enum stm_on_error { STM_ON_ERROR_TEMPFAIL, STM_ON_ERROR_ACCEPT, STM_ON_ERROR_REJECT } stm_on_error;

/* milter.mime: how far the MIME layer (policy/mime) looks into a message.
 * Reaching one is the defect `limit`; what was parsed so far still counts. */
typedef struct stm_mime_limits {
    unsigned max_depth;       /* 20: nested multiparts and message/rfc822 */
    unsigned max_parts;       /* 1000: parts of the message, archive members excluded */
    unsigned archive_depth;   /* 2: archives inside archives */
    unsigned archive_members; /* 1000: members of all archives of a message */
    uint64_t archive_bytes;   /* 100M: bytes expanded from all archives of a message */
} stm_mime_limits;
typedef enum stm_log_format { STM_LOG_FORMAT_TEXT, STM_LOG_FORMAT_JSON } stm_log_format;

/* milter.spool: a body larger than `memory` bytes is kept in an unlinked
 * file under `directory`, not in RAM (message.h). */
typedef struct stm_spool_config {
    char *directory; /* WORKDIR/spool */
    uint64_t memory; /* 1M */
} stm_spool_config;

typedef struct stm_milter_config {
    char *socket;  /* "inet:8891@127.0.0.1" */
    char *workdir; /* "/var/lib/stagemilter" */
    stm_quarantine_mode quarantine;
    stm_on_error on_error;
    uint64_t max_message_size; /* 50M */
    char **authserv_ids; /* milter.authserv_id: trusted Authentication-Results; none: macro j */
    size_t nauthserv_ids;
    stm_mime_limits mime;
    stm_spool_config spool;
    stm_log_format log_format; /* text */
    struct stm_service *quarantine_lmtp; /* milter.quarantine_lmtp, or NULL */
    char *quarantine_lmtp_rcpt;          /* its rcpt; "${queue}" the queue */
} stm_milter_config;

/* A network of receiver.allow: IPv4 as ::ffff:a.b.c.d/(96+n), host bits clear. */
typedef struct stm_receiver_network {
    uint8_t addr[16];
    unsigned prefix; /* 0..128 in that 16-byte form */
} stm_receiver_network;

typedef struct stm_receiver_config {
    bool present; /* the `receiver` section was given */
    char *listen; /* "127.0.0.1:10025" as written */
    char *host;   /* "127.0.0.1" ("::1" for "[::1]:10025") */
    char *port;   /* "10025" */
    stm_receiver_network *allow; /* ["127.0.0.0/8", "::1/128"]: who may connect */
    size_t nallow;
    uint64_t session_timeout_ms; /* 10m: a whole connection */
    uint64_t data_timeout_ms;    /* 5m: from 354 to the final "." */
    stm_srcpos pos;
} stm_receiver_config;

typedef enum stm_protocol {
    STM_PROTO_SMTP,
    STM_PROTO_LMTP,
    STM_PROTO_CLAMD, /* clamd's zINSTREAM (milter/delegate/clamd.c) */
    STM_PROTO_SPAMD, /* SpamAssassin's spamd (milter/delegate/spamd.c) */
    STM_PROTO_RSPAMD, /* rspamd's HTTP /checkv2 (milter/delegate/rspamd.c) */
} stm_protocol;
typedef enum stm_auth_mode { STM_AUTH_OFF, STM_AUTH_PLAIN, STM_AUTH_FORWARD, STM_AUTH_EXTERNAL } stm_auth_mode;
typedef enum stm_on_failure {
    STM_ON_FAILURE_TEMPFAIL,
    STM_ON_FAILURE_ACCEPT,
    STM_ON_FAILURE_REJECT,
    STM_ON_FAILURE_CONTINUE
} stm_on_failure;
typedef enum stm_apply { STM_APPLY_HEADERS, STM_APPLY_MESSAGE } stm_apply;

typedef struct stm_target {
    bool implicit_tls; /* tls://HOST:PORT */
    bool unix_socket;  /* unix:PATH: host is the path, port NULL */
    char *host;
    char *port;
    char *text; /* as written, for logs */
} stm_target;

typedef struct stm_tls_client {
    char *ca_file; /* default /etc/ssl/certs/ca-certificates.crt */
    char *cert_file;
    char *key_file;
    char *server_name;
    bool verify;
} stm_tls_client;

typedef struct stm_service {
    char *name;
    stm_srcpos pos;
    stm_protocol protocol;
    stm_target *targets;
    size_t ntargets;
    bool attempt_starttls; /* default: true for smtp, false for lmtp */
    bool require_tls;
    stm_tls_client tls_client;
    stm_auth_mode auth;
    char *username;
    char *password;
    uint64_t connect_timeout_ms;    /* 5m */
    uint64_t command_timeout_ms;    /* 5m */
    uint64_t submission_timeout_ms; /* 12m */
    uint64_t timeout_ms;            /* 60s: wait for the message to come back */
    uint64_t drop_grace_ms;         /* 2s: after a final 2xx, within timeout_ms */
    stm_apply apply;
    stm_on_failure on_failure;
} stm_service;

#endif
