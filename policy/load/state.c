/*
 * state.c - the `state:` section and the greylist verb's arguments
 * (DESIGN.md "Remembering"; load.h).
 *
 * Functions: stm_config_state, stm_config_state_finish, stm_config_greylist,
 * stm_config_greylist_finish, stm_policy_state (state.h).
 *
 *     state: { store: "lmdb:/var/lib/stagemilter/state.mdb" | "redis://HOST:PORT/DB" | memory,
 *              password: TEXT, timeout: 500ms, on_failure: error | continue }
 *     greylist | { greylist: { key: TEXT, delay: 5m, window: 4h, expire: 35d } }
 *
 * The store defaults to lmdb:WORKDIR/state.mdb once the milter section is
 * read. Whether it can be opened is the daemon's business (milter/state/:
 * --check and start-up refuse a store they cannot open); here only its
 * spelling is checked.
 *
 * Ownership: everything read belongs to the policy. Errors: reported with
 * FILE:LINE:COLUMN to the loader's diag.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cond/cond_table.h"
#include "load/load.h"
#include "run/state_spec.h"

/* The state section of POLICY. */
const stm_state_config *
stm_policy_state(const stm_policy *policy)
{
    return &policy->state;
}

/* Parse the store spelling TEXT into C; -1 with *WHY (static) on error. */
static int
state_store_parse(stm_state_config *c, const char *text, const char **why, size_t *off)
{
    *off = 0;
    if (strcmp(text, "memory") == 0) {
        c->kind = STM_STATE_MEMORY;
        return 0;
    }
    if (strncmp(text, "lmdb:", 5) == 0) {
        c->kind = STM_STATE_LMDB;
        *off = 5;
        if (text[5] != '/') {
            *why = "the LMDB file must be an absolute path";
            return -1;
        }
        return (c->path = strdup(text + 5)) != NULL ? 0 : -1;
    }
    if (strncmp(text, "redis://", 8) == 0) {
        c->kind = STM_STATE_REDIS;
        *off = 8;
        const char *hp = text + 8;
        const char *slash = strchr(hp[0] == '[' ? strchr(hp, ']') ? strchr(hp, ']') : hp : hp, '/');
        size_t hplen = slash != NULL ? (size_t)(slash - hp) : strlen(hp);
        char buf[300];
        if (hplen == 0 || hplen >= sizeof buf) {
            *why = "write redis://HOST:PORT/DB";
            return -1;
        }
        memcpy(buf, hp, hplen);
        buf[hplen] = '\0';
        if (strchr(buf, ':') == NULL || (buf[0] == '[' && buf[hplen - 1] == ']')) {
            /* No port: Redis's own. */
            if (hplen + 6 >= sizeof buf) {
                *why = "write redis://HOST:PORT/DB";
                return -1;
            }
            strcat(buf, ":6379");
        }
        const char *err = NULL;
        size_t eoff = 0;
        if (stm_config_hostport(buf, &c->host, &c->port, &err, &eoff) < 0) {
            *why = err;
            *off = 8 + eoff;
            return -1;
        }
        c->db = 0;
        if (slash != NULL && slash[1] != '\0') {
            char *end = NULL;
            unsigned long db = strtoul(slash + 1, &end, 10);
            if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || db > 1000000) {
                *why = "the database after the '/' must be a number such as 0";
                *off = (size_t)(slash + 1 - text);
                return -1;
            }
            c->db = (unsigned)db;
        }
        return 0;
    }
    *why = "write lmdb:/PATH, redis://HOST:PORT/DB or memory";
    return -1;
}

/* The state section. */
void
stm_config_state(stm_loader *ld, const stm_yt_node *node)
{
    static const char *const keys[] = {"store", "password", "timeout", "on_failure", NULL};
    static const char *const on_failure[] = {"error", "continue", NULL};
    stm_state_config *c = &ld->policy->state;
    const stm_yt_node *v;
    int i;

    c->timeout_ms = 500;
    if (node == NULL || node->type == STM_YT_NULL)
        return;
    c->pos = stm_config_pos(ld, node);
    if (stm_config_expect(ld, node, STM_YT_MAP, "state") < 0)
        return;
    stm_config_check_keys(ld, node, "state", keys);
    if ((v = stm_yt_get(node, "store")) != NULL &&
        stm_config_string(ld, v, "state.store", &c->store) == 0) {
        const char *why = "out of memory";
        size_t off = 0;
        c->pos = stm_config_pos(ld, v);
        if (state_store_parse(c, c->store, &why, &off) < 0)
            stm_config_error_in(ld, v, off, "state.store '%s': %s", c->store, why);
    }
    if ((v = stm_yt_get(node, "password")) != NULL)
        stm_config_string(ld, v, "state.password", &c->password);
    if ((v = stm_yt_get(node, "timeout")) != NULL) {
        uint64_t ms = c->timeout_ms;
        if (stm_config_duration(ld, v, "state.timeout", &ms) == 0) {
            if (ms < 1)
                stm_config_error(ld, v, "state.timeout must be at least 1ms");
            else
                c->timeout_ms = ms;
        }
    }
    if ((v = stm_yt_get(node, "on_failure")) != NULL &&
        stm_config_enum(ld, v, "state.on_failure", on_failure, &i) == 0)
        c->on_failure = (stm_state_on_failure)i;
    if (c->password != NULL && c->store != NULL && c->kind != STM_STATE_REDIS)
        stm_config_warning(ld, stm_yt_get(node, "password"),
                           "state.password is for a redis:// store; %s has none", c->store);
}

/* After every section: the default store. */
void
stm_config_state_finish(stm_loader *ld)
{
    stm_state_config *c = &ld->policy->state;
    if (c->timeout_ms == 0)
        c->timeout_ms = 500;
    if (c->store != NULL)
        return;
    const char *workdir = ld->policy->milter.workdir ? ld->policy->milter.workdir : "";
    size_t n = strlen(workdir) + sizeof "lmdb:/state.mdb";
    if ((c->store = malloc(n)) == NULL) {
        stm_config_error(ld, NULL, "out of memory");
        return;
    }
    snprintf(c->store, n, "lmdb:%s/state.mdb", workdir);
    const char *why = NULL;
    size_t off;
    if (state_store_parse(c, c->store, &why, &off) < 0)
        stm_config_error(ld, ld->workdir_node, "state.store '%s' (the default): %s", c->store,
                         why ? why : "out of memory");
    if (c->pos.file == NULL)
        c->pos = stm_config_pos(ld, ld->workdir_node);
}

/* {greylist: {key, delay, window, expire}} into ST. */
int
stm_config_greylist(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v, stm_status *st)
{
    static const char *const keys[] = {"key", "delay", "window", "expire", NULL};
    const stm_yt_node *n;
    (void)key;
    if ((st->greylist = stm_greylist_spec_new()) == NULL) {
        stm_config_error(ld, v, "out of memory");
        return -1;
    }
    if (v->type == STM_YT_NULL)
        return 0;
    if (stm_config_expect(ld, v, STM_YT_MAP, "greylist") < 0)
        return -1;
    stm_config_check_keys(ld, v, "greylist", keys);
    stm_greylist_params *p = &st->greylist->params;
    if ((n = stm_yt_get(v, "key")) != NULL)
        st->greylist->key = stm_config_template(ld, n, "greylist key");
    if ((n = stm_yt_get(v, "delay")) != NULL)
        stm_cond_state_duration(ld, n, "greylist delay", &p->delay_ms);
    if ((n = stm_yt_get(v, "window")) != NULL)
        stm_cond_state_duration(ld, n, "greylist window", &p->window_ms);
    if ((n = stm_yt_get(v, "expire")) != NULL)
        stm_cond_state_duration(ld, n, "greylist expire", &p->expire_ms);
    if (p->window_ms <= p->delay_ms)
        stm_config_error(ld, v,
                         "greylist window (%llus) must be longer than its delay (%llus): a "
                         "retry could never pass",
                         (unsigned long long)(p->window_ms / 1000),
                         (unsigned long long)(p->delay_ms / 1000));
    return 0;
}

/* A greylist verb at NODE in ST: the defaults, and where it may be. */
void
stm_config_greylist_finish(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope,
                           stm_status *st)
{
    if (st->verb != STM_VERB_GREYLIST)
        return;
    ld->policy->state.used = true;
    if (st->greylist == NULL && (st->greylist = stm_greylist_spec_new()) == NULL)
        stm_config_error(ld, node, "out of memory");
    if (scope.stage != STM_STAGE_RCPT && scope.stage != STM_STAGE_DATA)
        stm_config_error(ld, node,
                         "greylist is possible only at rcpt or data (it needs the sender "
                         "and the recipients), not at %s",
                         stm_stage_name(scope.stage));
}
