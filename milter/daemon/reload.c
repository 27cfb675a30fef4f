/*
 * reload.c - reloading the policy on SIGHUP (reload.h).
 *
 * FUNCTIONS
 *      stm_reload()   load, check, compile, then publish or keep the old one
 *
 * DESCRIPTION
 *      Runs in the signal thread (signals.c), never in a connection thread.
 *      The new policy is loaded exactly as at start-up (stm_policy_load: the
 *      YAML, every list file, TLS files), so a policy that --check refuses
 *      is refused here too and the daemon keeps serving the one in use. A
 *      valid one replaces it through stm_callbacks_set_policy(): connections
 *      already open hold their own reference and finish on the old rules;
 *      the old policy is freed when the last of them closes.
 *
 *      What cannot change without a restart is logged as such: the milter
 *      socket (libmilter opens it once) and receiver.listen (the receiver
 *      keeps its port; see callbacks.c).
 *
 * DIAGNOSTICS
 *      Everything is logged; the return value says whether the policy
 *      changed.
 */
#include <stdio.h>
#include <string.h>

#include "mta/callbacks.h"
#include "report/log.h"
#include "daemon/privileges.h"
#include "daemon/reload.h"
#include "report/stats.h"
#include "state/registry.h"

/* Log one diagnostic of the new policy. */
static void
reload_diag_line(void *ctx, stm_severity sev, const char *line)
{
    (void)ctx;
    stm_log(sev == STM_SEV_ERROR ? LOG_ERR : LOG_WARNING, "reload: %s", line);
}

/* Are two optional strings different? */
static bool
reload_differ(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

/* Do two receiver sections allow the same networks with the same deadlines?
 * (The receiver reads them once, at start.) */
static bool
reload_same_receiver_limits(const stm_receiver_config *a, const stm_receiver_config *b)
{
    if (a->nallow != b->nallow || a->session_timeout_ms != b->session_timeout_ms ||
        a->data_timeout_ms != b->data_timeout_ms)
        return false;
    for (size_t i = 0; i < a->nallow; i++)
        if (a->allow[i].prefix != b->allow[i].prefix ||
            memcmp(a->allow[i].addr, b->allow[i].addr, sizeof a->allow[i].addr) != 0)
            return false;
    return true;
}

/* Load, check, publish or keep. */
int
stm_reload(const char *config, const char *socket_override)
{
    stm_log(LOG_INFO, "reload: loading %s", config);
    stm_diag *diag = stm_diag_create();
    if (diag == NULL) {
        stm_log(LOG_ERR, "reload: out of memory; keeping the policy in use");
        stm_stats_reload(false);
        return -1;
    }
    stm_policy *p = stm_policy_load(config, diag);
    stm_diag_each_line(diag, reload_diag_line, NULL);
    size_t nerrors = stm_diag_errors(diag);
    stm_diag_free(diag);
    if (p == NULL) {
        stm_log(LOG_ERR, "reload: %s is invalid (%zu error%s); keeping the policy in use", config,
               nerrors, nerrors == 1 ? "" : "s");
        stm_stats_reload(false);
        return -1;
    }
    char msg[1024];
    if (stm_privileges_secret_exposed(p, config, msg, sizeof msg))
        stm_log(LOG_WARNING, "reload: %s", msg);

    char err[600];
    if (stm_state_registry_use(p, err, sizeof err) != 0) {
        stm_log(LOG_ERR, "reload: state.store %s: %s; keeping the policy in use",
                stm_policy_state(p)->store, err);
        stm_policy_unref(p);
        stm_stats_reload(false);
        return -1;
    }
    /* As at start, but as the daemon's user now. */
    if (stm_policy_needs_body(p) && stm_privileges_spool(stm_policy_milter(p), NULL) != 0) {
        stm_log(LOG_ERR, "reload: milter.spool.directory %s cannot be used; keeping the policy "
                         "in use", stm_policy_milter(p)->spool.directory);
        stm_policy_unref(p);
        stm_stats_reload(false);
        return -1;
    }
    stm_policy *old = stm_callbacks_policy();
    if (old != NULL) {
        const char *a = stm_policy_milter(old)->socket, *b = stm_policy_milter(p)->socket;
        if (socket_override == NULL && reload_differ(a, b))
            stm_log(LOG_WARNING,
                   "reload: milter.socket changed to %s: the daemon stays on %s until it is "
                   "restarted",
                   b, a);
        const stm_receiver_config *ra = stm_policy_receiver(old), *rb = stm_policy_receiver(p);
        if (ra->present && rb->present && reload_differ(ra->listen, rb->listen))
            stm_log(LOG_WARNING,
                   "reload: receiver.listen changed to %s: the receiver stays on %s until "
                   "stagemilter is restarted",
                   rb->listen, ra->listen);
        if (ra->present && rb->present && !reload_same_receiver_limits(ra, rb))
            stm_log(LOG_WARNING,
                   "reload: receiver.allow or its timeouts changed: the receiver keeps the ones "
                   "it started with until stagemilter is restarted");
        stm_policy_unref(old);
    }
    stm_log_set_json(stm_policy_milter(p)->log_format == STM_LOG_FORMAT_JSON);
    stm_callbacks_set_policy(p); /* takes our reference */
    stm_log(LOG_NOTICE, "reload: %s is in use for new connections", config);
    stm_stats_reload(true);
    return 0;
}
