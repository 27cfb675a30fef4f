/*
 * reload.c - reloading the policy on SIGHUP (reload.h).
 *
 * FUNCTIONS
 *      sm_reload()   load, check, compile, then publish or keep the old one
 *
 * DESCRIPTION
 *      Runs in the signal thread (signals.c), never in a connection thread.
 *      The new policy is loaded exactly as at start-up (sm_policy_load: the
 *      YAML, every list file, TLS files), so a policy that --check refuses
 *      is refused here too and the daemon keeps serving the one in use. A
 *      valid one replaces it through sm_callbacks_set_policy(): connections
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

#include "callbacks.h"
#include "log.h"
#include "privileges.h"
#include "reload.h"
#include "stats.h"

/* Log one diagnostic of the new policy. */
static void
reload_diag_line(void *ctx, sm_severity sev, const char *line)
{
    (void)ctx;
    sm_log(sev == SM_SEV_ERROR ? LOG_ERR : LOG_WARNING, "reload: %s", line);
}

/* Are two optional strings different? */
static bool
reload_differ(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

/* Load, check, publish or keep. */
int
sm_reload(const char *config, const char *socket_override)
{
    sm_log(LOG_INFO, "reload: loading %s", config);
    sm_diag *diag = sm_diag_create();
    if (diag == NULL) {
        sm_log(LOG_ERR, "reload: out of memory; keeping the policy in use");
        sm_stats_reload(false);
        return -1;
    }
    sm_policy *p = sm_policy_load(config, diag);
    sm_diag_each_line(diag, reload_diag_line, NULL);
    size_t nerrors = sm_diag_errors(diag);
    sm_diag_free(diag);
    if (p == NULL) {
        sm_log(LOG_ERR, "reload: %s is invalid (%zu error%s); keeping the policy in use", config,
               nerrors, nerrors == 1 ? "" : "s");
        sm_stats_reload(false);
        return -1;
    }
    char msg[1024];
    if (sm_privileges_secret_exposed(p, config, msg, sizeof msg))
        sm_log(LOG_WARNING, "reload: %s", msg);

    sm_policy *old = sm_callbacks_policy();
    if (old != NULL) {
        const char *a = sm_policy_milter(old)->socket, *b = sm_policy_milter(p)->socket;
        if (socket_override == NULL && reload_differ(a, b))
            sm_log(LOG_WARNING,
                   "reload: milter.socket changed to %s: the daemon stays on %s until it is "
                   "restarted",
                   b, a);
        const sm_receiver_config *ra = sm_policy_receiver(old), *rb = sm_policy_receiver(p);
        if (ra->present && rb->present && reload_differ(ra->listen, rb->listen))
            sm_log(LOG_WARNING,
                   "reload: receiver.listen changed to %s: the receiver stays on %s until "
                   "stagemilter is restarted",
                   rb->listen, ra->listen);
        sm_policy_unref(old);
    }
    sm_callbacks_set_policy(p); /* takes our reference */
    sm_log(LOG_NOTICE, "reload: %s is in use for new connections", config);
    sm_stats_reload(true);
    return 0;
}
