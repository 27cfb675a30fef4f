/*
 * callbacks.c - libmilter callbacks adapted thinly to the engine
 * (callbacks.h).
 *
 * FUNCTIONS
 *      sm_callbacks_set_policy(), sm_callbacks_policy()   the current policy
 *      sm_callbacks_register()                           smfi_register()
 *      cb_negotiate() ... cb_close()                     the xxfi_* callbacks
 *
 * DESCRIPTION
 *      Each callback copies what libmilter hands it into the connection's
 *      sm_session (libmilter's strings are borrowed only until the callback
 *      returns), runs the stage in the engine, logs the decision and turns
 *      the verdict into a status in reply.c. End of message also applies the
 *      headers add_header effects asked for and carries out a quarantine
 *      (quarantine.c for the store, smfi_quarantine() for the hold).
 *
 *      A connection (struct cb_conn) is created at negotiation, with the
 *      policy current at that moment, and freed in cb_close(). It is used by
 *      one libmilter thread at a time, so it needs no lock.
 *
 *      Callbacks whose reply is always "continue" (header, eoh, body, and
 *      the stages without rules) are negotiated as no-reply when the MTA
 *      offers it; an internal failure in one of them is remembered and
 *      becomes a tempfail at the next callback that can answer.
 *
 * DIAGNOSTICS
 *      Internal failures (memory, engine errors, store failures) are logged
 *      and answered with SMFIS_TEMPFAIL: the MTA keeps the message.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "log.h"
#include "quarantine.h"
#include "reply.h"
#include "stagemilter/engine.h"

/* Guards current_policy: the pointer, not the policy (which is immutable and
 * reference-counted). Held only long enough to take a reference. */
static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static sm_policy *current_policy;

/* Connection ids: "<pid>.<n>" with n counted by this process. */
static atomic_ulong conn_count;

/* Macros kept in the session whenever the MTA sends them. */
static const char *const cb_macro_names[] = {
    "i",
    "j",
    "_",
    "{daemon_name}",
    "{daemon_addr}",
    "{daemon_port}",
    "{if_addr}",
    "{if_name}",
    "{client_addr}",
    "{client_port}",
    "{client_name}",
    "{client_ptr}",
    "{auth_authen}",
    "{auth_type}",
    "{auth_author}",
    "{tls_version}",
    "{cipher}",
    "{cipher_bits}",
    "{cert_subject}",
    "{cert_issuer}",
    "{mail_addr}",
    "{rcpt_addr}",
    "{msg_id}",
};

typedef struct cb_conn {
    sm_session *session;
    unsigned long pflags;  /* protocol steps negotiated (SMFIP_*) */
    bool collect_headers;  /* keep headers in the session's message */
    bool collect_body;     /* keep the body (up to max_message_size) */
    uint64_t max_size;     /* milter.max_message_size */
    uint64_t header_bytes; /* header bytes kept so far */
    bool discard_all;      /* discard decided at connect/helo: every message */
    bool failed;           /* an internal failure while no reply could be sent */
} cb_conn;

/* Publish POLICY; the previous one loses the daemon's reference. */
void
sm_callbacks_set_policy(sm_policy *policy)
{
    pthread_mutex_lock(&policy_lock);
    sm_policy *old = current_policy;
    current_policy = policy;
    pthread_mutex_unlock(&policy_lock);
    sm_policy_unref(old);
}

/* A reference on the current policy. */
sm_policy *
sm_callbacks_policy(void)
{
    pthread_mutex_lock(&policy_lock);
    sm_policy *p = current_policy != NULL ? sm_policy_ref(current_policy) : NULL;
    pthread_mutex_unlock(&policy_lock);
    return p;
}

/* The hooks the daemon gives the engine: log only, no delegation yet. */
static const sm_engine_hooks cb_hooks = {
    .ctx = NULL,
    .log = sm_log_engine,
    .trace = NULL,
    .delegate = NULL,
};

/* A new connection on the current policy; NULL on failure (logged). */
static cb_conn *
cb_conn_create(void)
{
    cb_conn *conn = calloc(1, sizeof *conn);
    sm_policy *policy = sm_callbacks_policy();
    char id[48];
    snprintf(id, sizeof id, "%ld.%lu", (long)getpid(), atomic_fetch_add(&conn_count, 1) + 1);
    if (conn == NULL || policy == NULL || (conn->session = sm_session_create(policy, id)) == NULL) {
        sm_log(LOG_ERR, "id=%s cannot set up the connection: out of memory", id);
        sm_policy_unref(policy);
        free(conn);
        return NULL;
    }
    conn->collect_body = sm_policy_needs_body(policy);
    /* A stored quarantine or a delegation needs the whole message. */
    conn->collect_headers = sm_policy_needs_headers(policy) || conn->collect_body;
    conn->max_size = sm_policy_milter(policy)->max_message_size;
    sm_policy_unref(policy); /* the session holds its own */
    return conn;
}

/* The connection of CTX, creating it when negotiation did not. */
static cb_conn *
cb_conn_get(SMFICTX *ctx)
{
    cb_conn *conn = smfi_getpriv(ctx);
    if (conn == NULL && (conn = cb_conn_create()) != NULL)
        smfi_setpriv(ctx, conn);
    return conn;
}

/* Copy every macro of interest the MTA has sent so far into the session. */
static int
cb_macros(SMFICTX *ctx, cb_conn *conn)
{
    for (size_t i = 0; i < sizeof cb_macro_names / sizeof cb_macro_names[0]; i++) {
        const char *v = smfi_getsymval(ctx, (char *)cb_macro_names[i]);
        if (v != NULL && sm_session_set_macro(conn->session, cb_macro_names[i], v) != 0)
            return -1;
    }
    const char *q = smfi_getsymval(ctx, "i");
    if (q != NULL && q[0] != '\0' && sm_session_set_queue_id(conn->session, q) != 0)
        return -1;
    return 0;
}

/* Was the verdict a refusal of what it judged? */
static bool
cb_refused(const sm_verdict *v)
{
    return v->verb == SM_VERB_DENY || v->verb == SM_VERB_REJECT || v->verb == SM_VERB_INFO ||
           v->verb == SM_VERB_DEFER;
}

/* Log a stage's verdict: decisions always, implicit accepts with -v. */
static void
cb_log(cb_conn *conn, sm_stage stage, const sm_verdict *v, const char *rcpt)
{
    if (v->rule != NULL || v->error != NULL || sm_log_verbose())
        sm_log_verdict(conn->session, stage, v, rcpt);
}

/* Does a no-reply flag hold for this callback? */
static bool
cb_noreply(const cb_conn *conn, unsigned long flag)
{
    return (conn->pflags & flag) != 0;
}

/* An internal failure: tempfail now, or at the next chance when no reply
 * can be sent from this callback. */
static sfsistat
cb_fail(cb_conn *conn, unsigned long nr_flag, const char *what)
{
    sm_log(LOG_ERR, "id=%s %s failed: internal error; answering tempfail",
           conn != NULL ? sm_log_id(conn->session) : "-", what);
    if (conn != NULL && cb_noreply(conn, nr_flag)) {
        conn->failed = true;
        return SMFIS_NOREPLY;
    }
    return SMFIS_TEMPFAIL;
}

/* Run STAGE and map its verdict; RCPT names the recipient judged at rcpt. */
static sfsistat
cb_run(SMFICTX *ctx, cb_conn *conn, sm_stage stage, unsigned long nr_flag, const char *rcpt)
{
    sm_verdict v;
    if (sm_engine_run(conn->session, stage, &cb_hooks, &v) != 0) {
        sm_verdict_clear(&v);
        return cb_fail(conn, nr_flag, sm_stage_name(stage));
    }
    cb_log(conn, stage, &v, rcpt);
    sfsistat st;
    if (cb_noreply(conn, nr_flag)) {
        /* Negotiated without rules at this stage: nothing can decide here. */
        st = SMFIS_NOREPLY;
    } else if (conn->failed) {
        st = SMFIS_TEMPFAIL;
    } else if (v.verb == SM_VERB_DISCARD && stage <= SM_STAGE_HELO) {
        /* libmilter allows discard for messages only: discard each one. */
        conn->discard_all = true;
        st = SMFIS_CONTINUE;
    } else {
        size_t npending = 0;
        sm_session_added_headers(conn->session, &npending);
        st = sm_reply_status(ctx, stage, &v, npending > 0);
    }
    if (stage == SM_STAGE_RCPT && !cb_refused(&v) && sm_session_accept_rcpt(conn->session) != 0)
        st = cb_fail(conn, nr_flag, "rcpt");
    sm_verdict_clear(&v);
    return st;
}

/* Negotiation: ask for what the policy needs and nothing else. */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    cb_conn *conn = cb_conn_get(ctx);
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_CHGHDRS | SMFIF_CHGBODY);
    *pf1 = 0;
    *pf2 = 0;
    *pf3 = 0;
    if (conn == NULL)
        return SMFIS_CONTINUE; /* connect will tempfail */

    const sm_policy *p = sm_session_policy(conn->session);
    unsigned long want = SMFIP_NOUNKNOWN;
    if (!sm_policy_stage_used(p, SM_STAGE_DATA))
        want |= SMFIP_NODATA;
    if (!conn->collect_headers)
        want |= SMFIP_NOHDRS | SMFIP_NOEOH;
    else
        want |= SMFIP_NR_HDR | SMFIP_NR_EOH;
    if (!conn->collect_body)
        want |= SMFIP_NOBODY;
    else
        want |= SMFIP_NR_BODY;
    /* Stages without rules always continue: no reply needed. */
    if (!sm_policy_stage_used(p, SM_STAGE_CONNECT))
        want |= SMFIP_NR_CONN;
    if (!sm_policy_stage_used(p, SM_STAGE_HELO))
        want |= SMFIP_NR_HELO;
    if (!sm_policy_stage_used(p, SM_STAGE_MAIL))
        want |= SMFIP_NR_MAIL;
    if (!sm_policy_stage_used(p, SM_STAGE_RCPT))
        want |= SMFIP_NR_RCPT;
    /* Only what the MTA offers may be asked for. */
    *pf1 = want & f1;
    conn->pflags = *pf1;
    return SMFIS_CONTINUE;
}

/* Connection: client and server facts, macros, the connect stage. */
static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;

    char ip[INET6_ADDRSTRLEN] = "", port[8] = "";
    if (addr != NULL && addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)addr;
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(port, sizeof port, "%u", (unsigned)ntohs(sin->sin_port));
    } else if (addr != NULL && addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)addr;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof ip);
        snprintf(port, sizeof port, "%u", (unsigned)ntohs(sin6->sin6_port));
    }
    if (cb_macros(ctx, conn) != 0)
        return cb_fail(conn, SMFIP_NR_CONN, "connect");
    sm_session *s = conn->session;
    /* The MTA's macros stand in for what the socket address did not say. */
    const char *cip = ip[0] ? ip : sm_session_macro(s, "client_addr");
    const char *cport = port[0] ? port : sm_session_macro(s, "client_port");
    /* "[192.0.2.1]" is how MTAs say the client has no name. */
    const char *name = hostname != NULL && hostname[0] != '[' ? hostname : "unknown";
    const char *sip = sm_session_macro(s, "daemon_addr");
    if (sip == NULL)
        sip = sm_session_macro(s, "if_addr");
    if (sm_session_set_client(s, cip, cport, name) != 0 ||
        sm_session_set_server(s, sip, sm_session_macro(s, "daemon_port"),
                              sm_session_macro(s, "j")) != 0)
        return cb_fail(conn, SMFIP_NR_CONN, "connect");
    return cb_run(ctx, conn, SM_STAGE_CONNECT, SMFIP_NR_CONN, NULL);
}

/* HELO/EHLO. */
static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    if (cb_macros(ctx, conn) != 0 || sm_session_set_helo(conn->session, helo) != 0)
        return cb_fail(conn, SMFIP_NR_HELO, "helo");
    return cb_run(ctx, conn, SM_STAGE_HELO, SMFIP_NR_HELO, NULL);
}

/* Copy ADDR without its angle brackets into BUF. */
static const char *
cb_strip(char *buf, size_t len, const char *addr)
{
    if (addr == NULL)
        addr = "";
    size_t n = strlen(addr);
    if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
        addr++;
        n -= 2;
    }
    if (n >= len)
        n = len - 1;
    memcpy(buf, addr, n);
    buf[n] = '\0';
    return buf;
}

/* MAIL FROM: a new transaction. */
static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    char sender[1024];
    conn->header_bytes = 0;
    if (sm_session_begin_transaction(conn->session, cb_strip(sender, sizeof sender, argv[0])) !=
            0 ||
        cb_macros(ctx, conn) != 0)
        return cb_fail(conn, SMFIP_NR_MAIL, "mail");
    if (conn->discard_all && !cb_noreply(conn, SMFIP_NR_MAIL))
        return SMFIS_DISCARD;
    return cb_run(ctx, conn, SM_STAGE_MAIL, SMFIP_NR_MAIL, NULL);
}

/* RCPT TO: judge this recipient. */
static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    char rcpt[1024];
    cb_strip(rcpt, sizeof rcpt, argv[0]);
    if (cb_macros(ctx, conn) != 0 || sm_session_set_rcpt(conn->session, rcpt) != 0)
        return cb_fail(conn, SMFIP_NR_RCPT, "rcpt");
    return cb_run(ctx, conn, SM_STAGE_RCPT, SMFIP_NR_RCPT, rcpt);
}

/* DATA. */
static sfsistat
cb_data(SMFICTX *ctx)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    if (cb_macros(ctx, conn) != 0)
        return cb_fail(conn, SMFIP_NR_DATA, "data");
    if (conn->failed)
        return SMFIS_TEMPFAIL;
    if (conn->discard_all)
        return SMFIS_DISCARD;
    return cb_run(ctx, conn, SM_STAGE_DATA, SMFIP_NR_DATA, NULL);
}

/* The status of a callback that always continues. */
static sfsistat
cb_continue(const cb_conn *conn, unsigned long nr_flag)
{
    return cb_noreply(conn, nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* One header: kept when rules need headers, within max_message_size. */
static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    if (!conn->collect_headers)
        return cb_continue(conn, SMFIP_NR_HDR);
    sm_message *msg = sm_session_message(conn->session);
    conn->header_bytes += strlen(name) + strlen(value) + 4;
    if (conn->max_size != 0 && conn->header_bytes > conn->max_size) {
        msg->truncated = true; /* bounded memory; a store will refuse it */
        return cb_continue(conn, SMFIP_NR_HDR);
    }
    if (sm_message_add_header(msg, name, value) != 0)
        return cb_fail(conn, SMFIP_NR_HDR, "header");
    return cb_continue(conn, SMFIP_NR_HDR);
}

/* End of headers. */
static sfsistat
cb_eoh(SMFICTX *ctx)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    return cb_continue(conn, SMFIP_NR_EOH);
}

/* A body chunk: kept up to milter.max_message_size. */
static sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    if (conn->collect_body &&
        sm_message_append_body(sm_session_message(conn->session), data, len, conn->max_size) != 0)
        return cb_fail(conn, SMFIP_NR_BODY, "body");
    return cb_continue(conn, SMFIP_NR_BODY);
}

/* Add the headers add_header effects asked for. Returns 0 or -1 (logged). */
static int
cb_add_headers(SMFICTX *ctx, cb_conn *conn)
{
    size_t n = 0;
    const sm_header *h = sm_session_added_headers(conn->session, &n);
    for (size_t i = 0; i < n; i++) {
        if (smfi_addheader(ctx, h[i].name, h[i].value) != MI_SUCCESS) {
            sm_log(LOG_ERR, "id=%s smfi_addheader(%s) failed; answering tempfail",
                   sm_log_id(conn->session), h[i].name);
            return -1;
        }
    }
    return 0;
}

/* Quarantine per milter.quarantine. */
static sfsistat
cb_quarantine(SMFICTX *ctx, cb_conn *conn, const sm_verdict *v)
{
    const sm_milter_config *mc = sm_policy_milter(sm_session_policy(conn->session));
    const char *id = sm_log_id(conn->session);
    if (mc->quarantine == SM_QUARANTINE_STORE || mc->quarantine == SM_QUARANTINE_STORE_HOLD) {
        char path[4096], err[512];
        if (sm_quarantine_store(mc->workdir, conn->session, v, path, sizeof path, err,
                                sizeof err) != 0) {
            sm_log(LOG_ERR, "id=%s quarantine=%s store failed: %s; answering tempfail", id,
                   v->queue, err);
            return SMFIS_TEMPFAIL;
        }
        sm_log(LOG_NOTICE, "id=%s quarantine=%s stored path=%s", id, v->queue, path);
        if (mc->quarantine == SM_QUARANTINE_STORE)
            return SMFIS_DISCARD;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "stagemilter: rule %s", v->rule != NULL ? v->rule : "-");
    for (char *p = reason; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    if (cb_add_headers(ctx, conn) != 0)
        return SMFIS_TEMPFAIL;
    if (smfi_quarantine(ctx, reason) != MI_SUCCESS) {
        sm_log(LOG_ERR, "id=%s quarantine=%s smfi_quarantine failed; answering tempfail", id,
               v->queue);
        return SMFIS_TEMPFAIL;
    }
    sm_log(LOG_NOTICE, "id=%s quarantine=%s held in the MTA", id, v->queue);
    return SMFIS_CONTINUE;
}

/* End of message: preq, postq, headers, quarantine, the message's line. */
static sfsistat
cb_eom(SMFICTX *ctx)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    sfsistat st;
    sm_verdict v;
    sm_verdict_init(&v);
    if (cb_macros(ctx, conn) != 0 || conn->failed) {
        st = cb_fail(conn, 0, "eom");
        goto done;
    }
    if (conn->discard_all) {
        st = SMFIS_DISCARD;
        goto done;
    }
    if (sm_engine_run_eom(conn->session, &cb_hooks, &v) != 0) {
        st = cb_fail(conn, 0, "eom");
        goto done;
    }
    sm_log_verdict(conn->session, v.rule != NULL ? v.stage : SM_STAGE_POSTQ, &v, NULL);
    switch (v.verb) {
    case SM_VERB_QUARANTINE:
        st = cb_quarantine(ctx, conn, &v);
        break;
    case SM_VERB_DISCARD:
        st = SMFIS_DISCARD;
        break;
    case SM_VERB_DENY:
    case SM_VERB_REJECT:
    case SM_VERB_INFO:
    case SM_VERB_DEFER:
        st = sm_reply_refusal(ctx, &v);
        break;
    default: /* accept, faccept, implicit accept */
        st = cb_add_headers(ctx, conn) == 0 ? SMFIS_CONTINUE : SMFIS_TEMPFAIL;
        break;
    }
done:
    sm_verdict_clear(&v);
    sm_session_end_transaction(conn->session);
    conn->failed = false;
    return st;
}

/* The MTA aborted the transaction. */
static sfsistat
cb_abort(SMFICTX *ctx)
{
    cb_conn *conn = smfi_getpriv(ctx);
    if (conn != NULL) {
        sm_session_end_transaction(conn->session);
        conn->failed = false;
    }
    return SMFIS_CONTINUE;
}

/* The connection ended: release it and its policy reference. */
static sfsistat
cb_close(SMFICTX *ctx)
{
    cb_conn *conn = smfi_getpriv(ctx);
    if (conn != NULL) {
        smfi_setpriv(ctx, NULL);
        sm_session_free(conn->session);
        free(conn);
    }
    return SMFIS_CONTINUE;
}

/* Register the callbacks with libmilter. */
int
sm_callbacks_register(void)
{
    struct smfiDesc desc = {
        .xxfi_name = "stagemilter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_CHGHDRS | SMFIF_CHGBODY,
        .xxfi_connect = cb_connect,
        .xxfi_helo = cb_helo,
        .xxfi_envfrom = cb_envfrom,
        .xxfi_envrcpt = cb_envrcpt,
        .xxfi_header = cb_header,
        .xxfi_eoh = cb_eoh,
        .xxfi_body = cb_body,
        .xxfi_eom = cb_eom,
        .xxfi_abort = cb_abort,
        .xxfi_close = cb_close,
        .xxfi_unknown = NULL,
        .xxfi_data = cb_data,
        .xxfi_negotiate = cb_negotiate,
    };
    if (smfi_register(desc) != MI_SUCCESS) {
        sm_log(LOG_ERR, "smfi_register failed");
        return -1;
    }
    return 0;
}
