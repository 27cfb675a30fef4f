/*
 * callbacks.c - libmilter callbacks adapted thinly to the engine
 * (callbacks.h).
 *
 * FUNCTIONS
 *      stm_callbacks_set_policy(), stm_callbacks_policy()   the current policy
 *      stm_callbacks_register()                           smfi_register()
 *      stm_callbacks_delegation_start(), _stop()          receiver and tickets
 *      cb_negotiate() ... cb_close()                     the xxfi_* callbacks
 *
 * DESCRIPTION
 *      Each callback copies what libmilter hands it into the connection's
 *      stm_session (libmilter's strings are borrowed only until the callback
 *      returns), runs the stage in the engine, logs the decision and turns
 *      the verdict into a status in reply.c. End of message also applies the
 *      headers add_header effects asked for and carries out a quarantine
 *      (quarantine.c for the store, smfi_quarantine() for the hold).
 *
 *      Delegation: end of message gives the engine a delegate hook
 *      (delegate.c) with smfi_progress() every CB_PROGRESS_MS while the
 *      scanner works, so the MTA's per-reply milter timeouts are not hit.
 *      When the message is let through (accept, faccept, no decision) the
 *      returned copies are applied per service `apply`: the header edits of
 *      stm_delegate_header_edits() through smfi_addheader()/smfi_chgheader(),
 *      and with apply: message smfi_replacebody(). The ticket registry and
 *      the receiver are process-wide (deleg_lock), started once and kept
 *      across reloads, so no reload changes them under a waiting delegation.
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
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "mta/callbacks.h"
#include "delegate/delegate.h"
#include "report/log.h"
#include "state/registry.h"
#include "store/quarantine.h"
#include "delegate/receiver.h"
#include "mta/reply.h"
#include "net/resolver.h"
#include "mta/apply.h"
#include "mta/quarantine_lmtp.h"
#include "stagemilter/config.h"
#include "stagemilter/edit.h"
#include "report/stats.h"
#include "stagemilter/engine.h"
#include "stagemilter/verbs.h"
#include "stagemilter/text.h"

/* Guards current_policy: the pointer, not the policy (which is immutable and
 * reference-counted). Held only long enough to take a reference. */
static pthread_mutex_t policy_lock = PTHREAD_MUTEX_INITIALIZER;
static stm_policy *current_policy;

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

#define CB_NMACROS (sizeof cb_macro_names / sizeof cb_macro_names[0])

typedef struct cb_conn {
    stm_session *session;
    /* The session's copy of each cb_macro_names macro (NULL: not set yet),
     * so a value the MTA sends again unchanged is not copied again. */
    const char *macro_seen[CB_NMACROS];
    unsigned long pflags;  /* protocol steps negotiated (SMFIP_*) */
    bool collect_headers;  /* keep headers in the session's message */
    bool collect_body;     /* keep the body (up to max_message_size) */
    uint64_t max_size;     /* milter.max_message_size */
    uint64_t header_bytes; /* header bytes kept so far */
    bool discard_all;      /* discard decided at connect/helo: every message */
    const char *failed;    /* why a tempfail is owed (static text) since a callback
                            * that could not reply; NULL when none is */
    bool in_message;       /* counted in stats.c's messages in flight */
} cb_conn;

/* Publish POLICY; the previous one loses the daemon's reference. */
void
stm_callbacks_set_policy(stm_policy *policy)
{
    pthread_mutex_lock(&policy_lock);
    stm_policy *old = current_policy;
    current_policy = policy;
    pthread_mutex_unlock(&policy_lock);
    stm_policy_unref(old);
}

/* A reference on the current policy. */
stm_policy *
stm_callbacks_policy(void)
{
    pthread_mutex_lock(&policy_lock);
    stm_policy *p = current_policy != NULL ? stm_policy_ref(current_policy) : NULL;
    pthread_mutex_unlock(&policy_lock);
    return p;
}

/* The hooks the daemon gives the engine before end of message: log only
 * (delegate rules run at preq/postq, where cb_eom adds the delegate hook). */
static const stm_engine_hooks cb_hooks = {
    .ctx = NULL,
    .log = stm_log_engine,
    .trace = NULL,
    .delegate = NULL,
};

/* Guards cb_tickets, cb_receiver and cb_deleg_stopped: set by
 * stm_callbacks_delegation_start() and _stop(), read by cb_eom. They are
 * process-wide, not per policy, so a reload never changes them under a
 * running delegation. */
static pthread_mutex_t deleg_lock = PTHREAD_MUTEX_INITIALIZER;
/* The ticket registry: cb_tickets holds one reference, and every end of
 * message that may delegate takes its own (cb_delegation_tickets()) and
 * drops it when its delegations are over; each open ticket holds one more.
 * A reference count, not "free it once smfi_main() has returned": the stop
 * comes after the drain grace, when messages may still be in flight, and
 * libmilter's smfi_main() returns without joining its session threads, so
 * there is no moment at which no callback thread can hold the registry.
 * _stop() drops the daemon's reference; the last holder frees it. */
static stm_ticket_registry *cb_tickets;
static stm_receiver *cb_receiver;
static bool cb_deleg_stopped;        /* _stop() ran: never start again */
static char cb_receiver_listen[300]; /* receiver.listen it was started with */

/* Interval of smfi_progress() while a delegation waits: far below the
 * MTAs' per-reply milter timeouts (Postfix milter_content_timeout,
 * Sendmail T=R). */
#define CB_PROGRESS_MS 2000

/* The receiver's log lines (thread-safe: stm_log writes a line at once). */
static void
cb_receiver_log(void *arg, const char *line)
{
    (void)arg;
    stm_log(LOG_INFO, "%s", line);
}

/* Start the ticket registry and the receiver on POLICY's receiver.listen
 * when the policy delegates to an smtp or lmtp service (the only ones that
 * pass a copy back) and they are not running yet. 0 or -1 (logged). */
int
stm_callbacks_delegation_start(void)
{
    stm_policy *p = stm_callbacks_policy();
    int rc = 0;
    if (p == NULL || !stm_policy_uses_receiver(p))
        goto done;
    const stm_receiver_config *rc_cfg = stm_policy_receiver(p);
    pthread_mutex_lock(&deleg_lock);
    if (cb_deleg_stopped) {
        /* A message still in flight at shutdown must not start it again. */
        stm_log(LOG_ERR, "receiver: stagemilter is stopping; not starting it again");
        pthread_mutex_unlock(&deleg_lock);
        rc = -1;
        goto done;
    }
    if (cb_receiver != NULL) {
        if (strcmp(cb_receiver_listen, rc_cfg->listen) != 0)
            stm_log(LOG_WARNING,
                   "receiver.listen changed to %s: the receiver stays on %s until "
                   "stagemilter is restarted",
                   rc_cfg->listen, cb_receiver_listen);
        pthread_mutex_unlock(&deleg_lock);
        goto done;
    }
    char host[256] = "localhost", err[512];
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    stm_receiver_options ro = {
        .host = rc_cfg->host,
        .port = rc_cfg->port,
        .max_message_size = stm_policy_milter(p)->max_message_size,
        /* Proxying scanners keep a connection here per connection of ours,
         * idle ones included (smtp/pool.c keeps up to 64 for reuse). */
        .max_clients = 256,
        .hostname = host,
        .config = rc_cfg,
        .log = cb_receiver_log,
    };
    if (cb_tickets == NULL && (cb_tickets = stm_ticket_registry_create()) == NULL) {
        snprintf(err, sizeof err, "out of memory");
    } else if ((cb_receiver = stm_receiver_start(&ro, cb_tickets, err, sizeof err)) != NULL) {
        snprintf(cb_receiver_listen, sizeof cb_receiver_listen, "%s", rc_cfg->listen);
    }
    if (cb_receiver == NULL) {
        stm_log(LOG_ERR,
               "cannot start the receiver on receiver.listen %s: %s (is another stagemilter "
               "or a stagemilter --trace running?); not starting",
               rc_cfg->listen, err);
        rc = -1;
    }
    pthread_mutex_unlock(&deleg_lock);
done:
    stm_policy_unref(p);
    return rc;
}

/* Stop the receiver and drop the daemon's reference on the registry (at
 * exit). */
void
stm_callbacks_delegation_stop(void)
{
    pthread_mutex_lock(&deleg_lock);
    stm_receiver *rcv = cb_receiver;
    cb_receiver = NULL;
    cb_deleg_stopped = true;
    pthread_mutex_unlock(&deleg_lock);
    if (rcv != NULL) {
        stm_receiver_stats st;
        stm_receiver_get_stats(rcv, &st);
        stm_log(LOG_INFO,
               "receiver: stopping; connections=%llu delivered=%llu refused=%llu too_big=%llu "
               "busy=%llu no_memory=%llu denied=%llu timed_out=%llu",
               (unsigned long long)st.connections, (unsigned long long)st.delivered,
               (unsigned long long)st.refused, (unsigned long long)st.too_big,
               (unsigned long long)st.busy, (unsigned long long)st.no_memory,
               (unsigned long long)st.denied, (unsigned long long)st.timed_out);
        stm_receiver_stop(rcv);
    }
    pthread_mutex_lock(&deleg_lock);
    stm_ticket_registry *reg = cb_tickets;
    cb_tickets = NULL;
    pthread_mutex_unlock(&deleg_lock);
    /* Threads still delegating hold their own references (cb_tickets). */
    stm_ticket_registry_free(reg);
}

/* A reference on the registry deliveries go to (caller drops it with
 * stm_ticket_registry_free()), or NULL when no receiver runs. */
static stm_ticket_registry *
cb_delegation_tickets(void)
{
    pthread_mutex_lock(&deleg_lock);
    stm_ticket_registry *reg = cb_receiver != NULL ? stm_ticket_registry_ref(cb_tickets) : NULL;
    pthread_mutex_unlock(&deleg_lock);
    return reg;
}

/* stm_delegate_ctx.progress: tell the MTA we are still working. */
static void
cb_progress(void *arg)
{
    smfi_progress(arg);
}

/* stm_delegate_ctx.log: delegation events (and the dialogue with -v). */
static void
cb_delegate_log(void *arg, const char *line)
{
    (void)arg;
    stm_log(LOG_INFO, "%s", line);
}

/* Does SVC pass a copy back to the receiver (smtp, lmtp)? */
static bool
cb_service_needs_receiver(const stm_service *svc)
{
    return svc->protocol == STM_PROTO_SMTP || svc->protocol == STM_PROTO_LMTP;
}

/* The engine's delegate hook in the daemon: CTX is an stm_delegate_ctx whose
 * tickets are NULL when no receiver runs (a policy that started to delegate
 * only after a reload): that delegation fails. A reference taken here is
 * dropped by cb_eom with the context's. */
static int
cb_delegate(void *ctx, stm_session *s, const stm_service *svc, stm_delegation *out)
{
    stm_delegate_ctx *dc = ctx;
    if (!cb_service_needs_receiver(svc))
        return stm_delegate_run(dc, s, svc, out); /* clamd, spamd, rspamd answer */
    /* A policy that delegates only since a reload: start the receiver now. */
    if (dc->tickets == NULL && stm_callbacks_delegation_start() == 0)
        dc->tickets = cb_delegation_tickets();
    if (dc->tickets == NULL) {
        stm_log(LOG_ERR, "id=%s delegate service=%s result=failed: no receiver is running",
               stm_log_id(s), svc->name);
        return -1;
    }
    return stm_delegate_run(dc, s, svc, out);
}

/* delegate: [a, b, c]: the services at the same time (stm_delegate_run_many),
 * with the same receiver check as cb_delegate. */
static int
cb_delegate_many(void *ctx, stm_session *s, const stm_service *const *svcs,
                 stm_delegation *const *outs, size_t n)
{
    stm_delegate_ctx *dc = ctx;
    bool needs = false;
    for (size_t i = 0; i < n; i++)
        needs = needs || cb_service_needs_receiver(svcs[i]);
    if (needs && dc->tickets == NULL && stm_callbacks_delegation_start() == 0)
        dc->tickets = cb_delegation_tickets();
    if (needs && dc->tickets == NULL) {
        stm_log(LOG_ERR, "id=%s delegate result=failed: no receiver is running", stm_log_id(s));
        return -1;
    }
    return stm_delegate_run_many(dc, s, svcs, outs, n);
}

/* A new connection on the current policy; NULL on failure (logged). */
static cb_conn *
cb_conn_create(void)
{
    cb_conn *conn = calloc(1, sizeof *conn);
    stm_policy *policy = stm_callbacks_policy();
    char id[48];
    snprintf(id, sizeof id, "%ld.%lu", (long)getpid(), atomic_fetch_add(&conn_count, 1) + 1);
    if (conn == NULL || policy == NULL || (conn->session = stm_session_create(policy, id)) == NULL) {
        stm_log(LOG_ERR, "id=%s cannot set up the connection: out of memory", id);
        stm_policy_unref(policy);
        free(conn);
        return NULL;
    }
    stm_session_set_state(conn->session, stm_state_registry_get(policy), false);
    conn->collect_body = stm_policy_needs_body(policy);
    /* A stored quarantine or a delegation needs the whole message. */
    conn->collect_headers = stm_policy_needs_headers(policy) || conn->collect_body;
    conn->max_size = stm_policy_milter(policy)->max_message_size;
    stm_policy_unref(policy); /* the session holds its own */
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

/* Set macro NAME to V in the session unless *SEEN, the session's copy (NULL
 * when unset), already holds V; *SEEN follows. 0, or -1 out of memory. */
static int
cb_macro_set(cb_conn *conn, const char *name, const char *v, const char **seen)
{
    if (*seen != NULL && strcmp(*seen, v) == 0)
        return 0;
    if (stm_session_set_macro(conn->session, name, v) != 0)
        return -1;
    *seen = stm_session_macro(conn->session, name);
    return 0;
}

/* Copy every macro of interest the MTA has sent so far into the session:
 * those of cb_macro_names and those the policy's `macro:` conditions name. */
static int
cb_macros(SMFICTX *ctx, cb_conn *conn)
{
    for (size_t i = 0; i < CB_NMACROS; i++) {
        const char *v = smfi_getsymval(ctx, (char *)cb_macro_names[i]);
        if (v != NULL && cb_macro_set(conn, cb_macro_names[i], v, &conn->macro_seen[i]) != 0)
            return -1;
    }
    size_t n = 0;
    const char *const *names = stm_policy_macro_names(stm_session_policy(conn->session), &n);
    for (size_t i = 0; i < n; i++) {
        char braced[256];
        /* libmilter names multi-letter macros with their braces. */
        if (names[i][1] == '\0')
            snprintf(braced, sizeof braced, "%s", names[i]);
        else
            snprintf(braced, sizeof braced, "{%s}", names[i]);
        const char *v = smfi_getsymval(ctx, braced);
        const char *seen = v != NULL ? stm_session_macro(conn->session, names[i]) : NULL;
        if (v != NULL && cb_macro_set(conn, names[i], v, &seen) != 0)
            return -1;
    }
    const char *q = smfi_getsymval(ctx, "i");
    if (q != NULL && q[0] != '\0' && stm_session_set_queue_id(conn->session, q) != 0)
        return -1;
    return 0;
}

/* Was the verdict a refusal of what it judged? */
static bool
cb_refused(const stm_verdict *v)
{
    return stm_verb_is_refusal(v->verb);
}

/* Log a stage's verdict: decisions always, implicit accepts with -v. */
static void
cb_log(cb_conn *conn, stm_stage stage, const stm_verdict *v, const char *rcpt)
{
    if (v->rule != NULL || v->error != NULL || stm_log_verbose())
        stm_log_verdict(conn->session, stage, v, rcpt);
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
    stm_log(LOG_ERR, "id=%s %s failed: internal error; answering tempfail",
           conn != NULL ? stm_log_id(conn->session) : "-", what);
    if (conn != NULL && cb_noreply(conn, nr_flag)) {
        conn->failed = "an internal error";
        return SMFIS_NOREPLY;
    }
    return SMFIS_TEMPFAIL;
}

/* Run STAGE and map its verdict; RCPT names the recipient judged at rcpt. */
static sfsistat
cb_run(SMFICTX *ctx, cb_conn *conn, stm_stage stage, unsigned long nr_flag, const char *rcpt)
{
    stm_verdict v;
    stm_engine_hooks hooks = cb_hooks;
    hooks.dns = stm_resolver();
    if (stm_engine_run(conn->session, stage, &hooks, &v) != 0) {
        stm_verdict_clear(&v);
        return cb_fail(conn, nr_flag, stm_stage_name(stage));
    }
    cb_log(conn, stage, &v, rcpt);
    sfsistat st;
    if (cb_noreply(conn, nr_flag)) {
        /* Negotiated without rules at this stage: nothing can decide here. */
        st = SMFIS_NOREPLY;
    } else if (conn->failed != NULL) {
        st = SMFIS_TEMPFAIL;
    } else if (stm_verb_reply_class(v.verb) == STM_VERB_CLASS_DISCARD && stage <= STM_STAGE_HELO) {
        /* libmilter allows discard for messages only: discard each one. */
        conn->discard_all = true;
        st = SMFIS_CONTINUE;
    } else {
        size_t npending = 0;
        stm_session_added_headers(conn->session, &npending);
        st = stm_reply_status(ctx, stage, &v,
                              npending > 0 || stm_edit_pending(conn->session));
    }
    if (stage == STM_STAGE_RCPT && !cb_refused(&v) && stm_session_accept_rcpt(conn->session) != 0)
        st = cb_fail(conn, nr_flag, "rcpt");
    stm_verdict_clear(&v);
    return st;
}

/* The actions (SMFIF_*) the connection's policy can use, of those the MTA
 * offers in F0. The policy is the one the connection keeps to its end (a
 * reload changes only later connections, which negotiate again), so a
 * reload can never need an action this connection did not ask for. An
 * action the policy needs but the MTA does not offer is logged: the change
 * then fails at the end of the message, which answers tempfail. */
static unsigned long
cb_negotiate_actions(const cb_conn *conn, const stm_policy *p, unsigned long f0)
{
    stm_edit_needs en;
    stm_policy_edit_needs(p, &en);
    bool deleg = stm_policy_uses_delegation(p);
    unsigned long need = 0;
    if (stm_policy_uses_add_header(p) || en.add_headers || deleg)
        need |= SMFIF_ADDHDRS;
    if (en.change_headers || deleg)
        need |= SMFIF_CHGHDRS;
    if (deleg)
        need |= SMFIF_CHGBODY;
    if (stm_policy_uses_quarantine(p))
        need |= SMFIF_QUARANTINE;
    if (en.add_rcpt)
        need |= SMFIF_ADDRCPT;
    if (en.delete_rcpt)
        need |= SMFIF_DELRCPT;
    if (en.change_sender)
        need |= SMFIF_CHGFROM;
    if ((need & ~f0) != 0)
        stm_log(LOG_WARNING,
                "id=%s the MTA does not offer the milter actions 0x%lx the policy's effects "
                "need (offered 0x%lx): messages they change will get a temporary failure",
                stm_log_id(conn->session), need & ~f0, f0);
    return need & f0;
}

/* Negotiation: ask for what the policy needs and nothing else. */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    cb_conn *conn = cb_conn_get(ctx);
    *pf0 = 0;
    *pf1 = 0;
    *pf2 = 0;
    *pf3 = 0;
    if (conn == NULL)
        return SMFIS_CONTINUE; /* connect will tempfail */

    const stm_policy *p = stm_session_policy(conn->session);
    *pf0 = cb_negotiate_actions(conn, p, f0);
    unsigned long want = SMFIP_NOUNKNOWN;
    if (!stm_policy_stage_used(p, STM_STAGE_DATA))
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
    if (!stm_policy_stage_used(p, STM_STAGE_CONNECT))
        want |= SMFIP_NR_CONN;
    if (!stm_policy_stage_used(p, STM_STAGE_HELO))
        want |= SMFIP_NR_HELO;
    if (!stm_policy_stage_used(p, STM_STAGE_MAIL))
        want |= SMFIP_NR_MAIL;
    if (!stm_policy_stage_used(p, STM_STAGE_RCPT))
        want |= SMFIP_NR_RCPT;
    /* Only what the MTA offers may be asked for. */
    *pf1 = want & f1;
    conn->pflags = *pf1;
    return SMFIS_CONTINUE;
}

/* The connection's local address from the MTA's macros: {if_addr} when sent
 * (Sendmail: the real local address), else {daemon_addr} unless it is the
 * wildcard Sendmail reports when it listens on every address; NULL when
 * neither says. */
static const char *
cb_server_ip(const stm_session *s)
{
    const char *ip = stm_session_macro(s, "if_addr");
    if (ip != NULL && ip[0] != '\0')
        return ip;
    ip = stm_session_macro(s, "daemon_addr");
    if (ip == NULL || ip[0] == '\0' || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0 ||
        strcmp(ip, "[::]") == 0 || strcmp(ip, "IPv6:::") == 0)
        return NULL;
    return ip;
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
    stm_session *s = conn->session;
    /* The MTA's macros stand in for what the socket address did not say. */
    const char *cip = ip[0] ? ip : stm_session_macro(s, "client_addr");
    const char *cport = port[0] ? port : stm_session_macro(s, "client_port");
    /* "[192.0.2.1]" is how MTAs say the client has no name. */
    const char *name = hostname != NULL && hostname[0] != '[' ? hostname : "unknown";
    if (stm_session_set_client(s, cip, cport, name) != 0 ||
        stm_session_set_server(s, cb_server_ip(s), stm_session_macro(s, "daemon_port"),
                              stm_session_macro(s, "j")) != 0)
        return cb_fail(conn, SMFIP_NR_CONN, "connect");
    return cb_run(ctx, conn, STM_STAGE_CONNECT, SMFIP_NR_CONN, NULL);
}

/* HELO/EHLO. */
static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    if (cb_macros(ctx, conn) != 0 || stm_session_set_helo(conn->session, helo) != 0)
        return cb_fail(conn, SMFIP_NR_HELO, "helo");
    return cb_run(ctx, conn, STM_STAGE_HELO, SMFIP_NR_HELO, NULL);
}

/* ARG (an envelope address as libmilter gives it, "<addr>") without its
 * brackets, whole, in a new string the caller frees; NULL without memory. */
static char *
cb_address(const char *arg)
{
    size_t len = arg != NULL ? strlen(arg) + 1 : 1;
    char *buf = malloc(len);
    return buf != NULL ? (char *)stm_session_strip_brackets(buf, len, arg) : NULL;
}

/* MAIL FROM: a new transaction. */
static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    conn->header_bytes = 0;
    /* The address whole, however long: a rule must never judge a cut one. */
    char *sender = cb_address(argv[0]);
    int rc = sender == NULL ? -1 : stm_session_begin_transaction(conn->session, sender);
    free(sender);
    if (rc != 0 || cb_macros(ctx, conn) != 0)
        return cb_fail(conn, SMFIP_NR_MAIL, "mail");
    if (!stm_stats_message_begin(&conn->in_message)) {
        /* The daemon is stopping (stats.h): no new messages, tempfail now
         * or at the next callback that can answer. */
        if (!cb_noreply(conn, SMFIP_NR_MAIL))
            return SMFIS_TEMPFAIL;
        conn->failed = "stagemilter is stopping";
        return SMFIS_NOREPLY;
    }
    if (conn->discard_all && !cb_noreply(conn, SMFIP_NR_MAIL))
        return SMFIS_DISCARD;
    return cb_run(ctx, conn, STM_STAGE_MAIL, SMFIP_NR_MAIL, NULL);
}

/* RCPT TO: judge this recipient. */
static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    char *rcpt = cb_address(argv[0]);
    if (rcpt == NULL || cb_macros(ctx, conn) != 0 ||
        stm_session_set_rcpt(conn->session, rcpt) != 0) {
        free(rcpt);
        return cb_fail(conn, SMFIP_NR_RCPT, "rcpt");
    }
    sfsistat st = cb_run(ctx, conn, STM_STAGE_RCPT, SMFIP_NR_RCPT, rcpt);
    free(rcpt);
    return st;
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
    if (conn->failed != NULL)
        return SMFIS_TEMPFAIL;
    if (conn->discard_all)
        return SMFIS_DISCARD;
    return cb_run(ctx, conn, STM_STAGE_DATA, SMFIP_NR_DATA, NULL);
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
    stm_message *msg = stm_session_message(conn->session);
    conn->header_bytes += strlen(name) + strlen(value) + 4;
    if (conn->max_size != 0 && conn->header_bytes > conn->max_size) {
        /* Bounded memory: a store will refuse it, and header conditions
         * fail at run time rather than judge the fields that were kept. */
        msg->truncated = true;
        msg->headers_truncated = true;
        return cb_continue(conn, SMFIP_NR_HDR);
    }
    if (stm_message_add_header(msg, name, value) != 0)
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

/* A body chunk: kept while headers and body together stay within
 * milter.max_message_size (the one size of a message, as the receiver
 * counts it too), in memory up to milter.spool.memory, then in the spool. */
static sfsistat
cb_body(SMFICTX *ctx, unsigned char *data, size_t len)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    uint64_t room = conn->max_size == 0                   ? 0
                    : conn->max_size > conn->header_bytes ? conn->max_size - conn->header_bytes
                                                          : 1;
    stm_message *msg = stm_session_message(conn->session);
    /* After a failure (logged once) the message is tempfailed at its end:
     * the rest of its body is not kept. */
    if (conn->failed != NULL)
        return cb_continue(conn, SMFIP_NR_BODY);
    if (conn->collect_body && stm_message_append_body(msg, data, len, room) != 0) {
        if (msg->spool != NULL && msg->body_len + len > msg->spool->memory)
            stm_log(LOG_ERR, "id=%s cannot keep the message in milter.spool.directory %s: %s",
                   stm_log_id(conn->session), msg->spool->directory, strerror(errno));
        return cb_fail(conn, SMFIP_NR_BODY, "body");
    }
    return cb_continue(conn, SMFIP_NR_BODY);
}

/* Add the headers add_header effects asked for. Returns 0 or -1 (logged). */
static int
cb_add_headers(SMFICTX *ctx, cb_conn *conn)
{
    size_t n = 0;
    const stm_header *h = stm_session_added_headers(conn->session, &n);
    for (size_t i = 0; i < n; i++) {
        if (smfi_addheader(ctx, h[i].name, h[i].value) != MI_SUCCESS) {
            stm_log(LOG_ERR, "id=%s smfi_addheader(%s) failed; answering tempfail",
                   stm_log_id(conn->session), h[i].name);
            return -1;
        }
    }
    return 0;
}

/* Change (VALUE) or delete (VALUE NULL) instance IDX of NAME, or add it
 * (IDX 0). 0 or -1 (logged). */
static int
cb_header_op(SMFICTX *ctx, cb_conn *conn, const char *what, const char *name, int idx,
             const char *value)
{
    char *v = value != NULL ? stm_apply_milter_value(value) : NULL;
    int rc = value != NULL && v == NULL ? MI_FAILURE
             : idx == 0                 ? smfi_addheader(ctx, (char *)name, v)
                                        : smfi_chgheader(ctx, (char *)name, idx, v);
    char a[STM_LOG_PEER_MAX + 1], b[STM_LOG_PEER_MAX + 1];
    if (rc != MI_SUCCESS)
        stm_log(LOG_ERR, "id=%s delegate service=%s %s header %s failed; answering tempfail",
               stm_log_id(conn->session), what,
               idx == 0 ? "add"
               : v      ? "change"
                        : "delete",
               stm_log_clean(a, sizeof a, name));
    else if (stm_log_verbose())
        stm_log(LOG_INFO, "id=%s delegate service=%s %s header %s[%d]: \"%s\"",
               stm_log_id(conn->session), what,
               idx == 0 ? "add"
               : v      ? "change"
                        : "delete",
               stm_log_clean(a, sizeof a, name), idx, stm_log_clean(b, sizeof b, v ? v : ""));
    free(v);
    return rc == MI_SUCCESS ? 0 : -1;
}

/* Replace the MTA's copy of the body with BODY (LEN bytes). smfi_replacebody
 * takes an int length and appends when called again, so the body goes in
 * pieces: a length of 2 GiB or more is never cut to a negative int. An empty
 * body is one call with length 0. MI_SUCCESS or MI_FAILURE. */
static int
cb_replace_body(SMFICTX *ctx, const char *body, size_t len)
{
    const size_t piece_max = (size_t)1 << 20;
    size_t off = 0;
    do {
        size_t piece = len - off < piece_max ? len - off : piece_max;
        if (smfi_replacebody(ctx, (unsigned char *)(body != NULL ? body + off : ""), (int)piece) !=
            MI_SUCCESS)
            return MI_FAILURE;
        off += piece;
    } while (off < len);
    return MI_SUCCESS;
}

/* Bring what the scanner of R returned into the MTA's copy, per its
 * service's `apply` (the edits of stm_delegate_edits(); with apply:
 * message the body is replaced too). 0 or -1 (logged). */
static int
cb_apply_delegation(SMFICTX *ctx, cb_conn *conn, const stm_delegation_record *r)
{
    const stm_message *got = &r->delegation.returned;
    const char *svc = r->service->name;
    bool whole = r->service->apply == STM_APPLY_MESSAGE;
    stm_header_edit *e = NULL;
    int count[3] = {0, 0, 0};
    long n = stm_delegate_edits(r->service, stm_session_message(conn->session), &r->delegation, &e);
    int rc = -1;
    if (n < 0) {
        stm_log(LOG_ERR, "id=%s delegate service=%s: out of memory applying the result",
               stm_log_id(conn->session), svc);
        goto done;
    }
    for (long i = 0; i < n; i++) {
        if (cb_header_op(ctx, conn, svc, e[i].name, e[i].index, e[i].value) != 0)
            goto done;
        count[e[i].kind]++;
    }
    if (whole && cb_replace_body(ctx, got->body, got->body_len) != MI_SUCCESS) {
        stm_log(LOG_ERR, "id=%s delegate service=%s replace body failed; answering tempfail",
               stm_log_id(conn->session), svc);
        goto done;
    }
    stm_log(LOG_INFO, "id=%s delegate service=%s apply=%s headers_added=%d changed=%d deleted=%d%s",
           stm_log_id(conn->session), svc, whole ? "message" : "headers", count[STM_HEADER_ADD],
           count[STM_HEADER_CHANGE], count[STM_HEADER_DELETE], whole ? " body=replaced" : "");
    rc = 0;
done:
    free(e);
    return rc;
}

/* Apply every returned delegation of the transaction. 0 or -1 (logged). */
static int
cb_apply_delegations(SMFICTX *ctx, cb_conn *conn)
{
    size_t n = 0;
    const stm_delegation_record *r = stm_session_delegations(conn->session, &n);
    for (size_t i = 0; i < n; i++)
        if (r[i].delegation.result == STM_DELEGATION_RETURNED &&
            cb_apply_delegation(ctx, conn, &r[i]) != 0)
            return -1;
    return 0;
}

/* Quarantine per milter.quarantine. */
static sfsistat
cb_quarantine(SMFICTX *ctx, cb_conn *conn, const stm_verdict *v)
{
    const stm_milter_config *mc = stm_policy_milter(stm_session_policy(conn->session));
    const char *id = stm_log_id(conn->session);
    const char *stored = NULL; /* store+hold: the copy to take back if the hold fails */
    char path[4096];
    if (mc->quarantine == STM_QUARANTINE_STORE || mc->quarantine == STM_QUARANTINE_STORE_HOLD) {
        char err[512];
        if (stm_quarantine_store(mc->workdir, conn->session, v, path, sizeof path, err,
                                sizeof err) != 0) {
            stm_log(LOG_ERR, "id=%s quarantine=%s store failed: %s; answering tempfail", id,
                   v->queue, err);
            return SMFIS_TEMPFAIL;
        }
        stm_log(LOG_NOTICE, "id=%s quarantine=%s stored path=%s", id, v->queue, path);
        if (mc->quarantine == STM_QUARANTINE_STORE)
            return SMFIS_DISCARD;
        stored = path;
    }
    if (mc->quarantine == STM_QUARANTINE_LMTP || mc->quarantine == STM_QUARANTINE_LMTP_HOLD) {
        /* Into the mailbox server first: the MTA lets go of the message
         * only once the server has it. */
        char info[1024], err[1024];
        if (stm_quarantine_lmtp(mc, conn->session, v, stm_session_macro(conn->session, "j"),
                                cb_progress, ctx, info, sizeof info, err, sizeof err) != 0) {
            stm_log(LOG_ERR, "id=%s quarantine=%s lmtp delivery %s; answering tempfail", id,
                    v->queue, err);
            return SMFIS_TEMPFAIL;
        }
        stm_log(LOG_NOTICE, "id=%s quarantine=%s delivered lmtp %s", id, v->queue, info);
        if (mc->quarantine == STM_QUARANTINE_LMTP)
            return SMFIS_DISCARD;
    }
    char reason[512];
    snprintf(reason, sizeof reason, "stagemilter: rule %s", v->rule != NULL ? v->rule : "-");
    stm_text_clean_inplace(reason, STM_TEXT_SPACE | STM_TEXT_UTF8);
    if (stm_apply_edits(ctx, conn->session) != 0 || cb_add_headers(ctx, conn) != 0 ||
        smfi_quarantine(ctx, reason) != MI_SUCCESS) {
        stm_log(LOG_ERR, "id=%s quarantine=%s hold in the MTA failed; answering tempfail", id,
                v->queue);
        /* The client retries: without this the retry would be stored twice. */
        if (stored != NULL && unlink(stored) != 0)
            stm_log(LOG_ERR, "id=%s quarantine=%s cannot take back %s: %m", id, v->queue, stored);
        else if (stored != NULL)
            stm_log(LOG_NOTICE, "id=%s quarantine=%s took back %s (the client will retry)", id,
                    v->queue, stored);
        return SMFIS_TEMPFAIL;
    }
    stm_log(LOG_NOTICE, "id=%s quarantine=%s held in the MTA", id, v->queue);
    return SMFIS_CONTINUE;
}

/* The transaction is over (answered at end of message, or aborted): forget
 * it, count it, and clear a failure remembered for it. */
static void
cb_end_message(cb_conn *conn)
{
    stm_session_end_transaction(conn->session);
    stm_stats_message_end(&conn->in_message);
    conn->failed = NULL;
}

/* End of message: preq, postq, headers, quarantine, the message's line. */
static sfsistat
cb_eom(SMFICTX *ctx)
{
    cb_conn *conn = cb_conn_get(ctx);
    if (conn == NULL)
        return SMFIS_TEMPFAIL;
    sfsistat st;
    stm_verdict v;
    stm_verdict_init(&v);
    if (conn->failed != NULL) {
        /* Owed since a callback that could not answer: said then, once. */
        stm_log(LOG_NOTICE, "id=%s answering tempfail at the end of the message: %s",
               stm_log_id(conn->session), conn->failed);
        st = SMFIS_TEMPFAIL;
        goto done;
    }
    if (cb_macros(ctx, conn) != 0) {
        st = cb_fail(conn, 0, "eom");
        goto done;
    }
    if (conn->discard_all) {
        st = SMFIS_DISCARD;
        goto done;
    }
    /* Delegate rules run here; the context, and its reference on the ticket
     * registry, live on this stack until the engine returns. */
    stm_delegate_ctx dc = {
        .tickets = cb_delegation_tickets(),
        .helo_name = stm_session_macro(conn->session, "j"),
        .reuse_connections = true,
        .progress = cb_progress,
        .progress_arg = ctx,
        .progress_interval_ms = CB_PROGRESS_MS,
        .log = cb_delegate_log,
        .transcript = stm_log_verbose(),
    };
    stm_engine_hooks hooks = cb_hooks;
    hooks.ctx = &dc;
    hooks.delegate = cb_delegate;
    hooks.dns = stm_resolver();
    hooks.delegate_many = cb_delegate_many;
    int erc = stm_engine_run_eom(conn->session, &hooks, &v);
    stm_ticket_registry_free(dc.tickets); /* the delegations are over */
    if (erc != 0) {
        st = cb_fail(conn, 0, "eom");
        goto done;
    }
    stm_log_message(conn->session, &v);
    switch (stm_verb_reply_class(v.verb)) {
    case STM_VERB_CLASS_QUARANTINE:
        st = cb_quarantine(ctx, conn, &v);
        break;
    case STM_VERB_CLASS_DISCARD:
        st = SMFIS_DISCARD;
        break;
    case STM_VERB_CLASS_REJECT:
    case STM_VERB_CLASS_TEMPFAIL:
        st = stm_reply_refusal(ctx, &v);
        break;
    default: /* accept, faccept, implicit accept: the scanners' results apply */
        st = cb_apply_delegations(ctx, conn) == 0 &&
                     stm_apply_edits(ctx, conn->session) == 0 && cb_add_headers(ctx, conn) == 0
                 ? SMFIS_CONTINUE
                 : SMFIS_TEMPFAIL;
        break;
    }
done:
    stm_verdict_clear(&v);
    cb_end_message(conn);
    return st;
}

/* The MTA aborted the transaction. */
static sfsistat
cb_abort(SMFICTX *ctx)
{
    cb_conn *conn = smfi_getpriv(ctx);
    if (conn != NULL)
        cb_end_message(conn);
    return SMFIS_CONTINUE;
}

/* The connection ended: release it and its policy reference. */
static sfsistat
cb_close(SMFICTX *ctx)
{
    cb_conn *conn = smfi_getpriv(ctx);
    if (conn != NULL) {
        smfi_setpriv(ctx, NULL);
        stm_stats_message_end(&conn->in_message);
        stm_session_free(conn->session);
        free(conn);
    }
    return SMFIS_CONTINUE;
}

/* Register the callbacks with libmilter. */
int
stm_callbacks_register(void)
{
    struct smfiDesc desc = {
        .xxfi_name = "stagemilter",
        .xxfi_version = SMFI_VERSION,
        /* Every action any policy may use; cb_negotiate asks each
         * connection's MTA for those of the connection's policy only. */
        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_QUARANTINE | SMFIF_CHGHDRS | SMFIF_CHGBODY |
                      SMFIF_ADDRCPT | SMFIF_DELRCPT | SMFIF_CHGFROM,
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
        stm_log(LOG_ERR, "smfi_register failed");
        return -1;
    }
    return 0;
}
