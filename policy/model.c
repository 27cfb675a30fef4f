/*
 * model.c - the lifetime of a compiled policy (model.h): its references
 * (stm_policy_ref and stm_policy_unref of policy.h, here so that a session,
 * which holds one, depends on the model and not on the loader behind
 * policy.c) and releasing it. The rest of the public API is policy.c.
 *
 * Functions: stm_policy_ref, stm_policy_unref, stm_model_free,
 * stm_cond_free, stm_rule_list_clear.
 *
 * Ownership: a policy owns everything hanging off it; these free it all.
 *
 * Errors: none; every function accepts NULL.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "run/state_spec.h"

/* Release a condition tree. */
void
stm_cond_free(stm_cond *cond)
{
    if (cond == NULL)
        return;
    for (size_t i = 0; i < cond->nchildren; i++)
        stm_cond_free(cond->children[i]);
    free(cond->children);
    stm_pattern_free(cond->pattern);
    free(cond->name);
    stm_template_free(cond->key);
    for (size_t i = 0; i < cond->ndnsbl; i++) {
        free(cond->dnsbl[i].zone);
        free(cond->dnsbl[i].returns);
    }
    free(cond->dnsbl);
    free(cond);
}

/* Release what a status owns. */
static void
model_status_clear(stm_status *st)
{
    stm_template_free(st->text);
    free(st->queue);
    stm_greylist_spec_free(st->greylist);
    st->text = NULL;
    st->queue = NULL;
    st->greylist = NULL;
}

/* Release what a rule owns (not the rule itself: it lives in an array). */
static void
model_rule_clear(stm_rule *r)
{
    free(r->name);
    stm_cond_free(r->cond);
    for (size_t i = 0; i < r->neffects; i++) {
        free(r->effects[i].name);
        stm_template_free(r->effects[i].value);
        stm_pattern_free(r->effects[i].pattern);
    }
    free(r->effects);
    model_status_clear(&r->then);
    model_status_clear(&r->otherwise);
    stm_rule_list_clear(&r->rules);
    free(r->services);
}

/* Release every rule of LIST and empty it. */
void
stm_rule_list_clear(stm_rule_list *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->nrules; i++)
        model_rule_clear(&list->rules[i]);
    free(list->rules);
    list->rules = NULL;
    list->nrules = 0;
}

/* Release what a service owns. */
static void
model_service_clear(stm_service *s)
{
    free(s->name);
    for (size_t i = 0; i < s->ntargets; i++) {
        free(s->targets[i].host);
        free(s->targets[i].port);
        free(s->targets[i].text);
    }
    free(s->targets);
    free(s->tls_client.ca_file);
    free(s->tls_client.cert_file);
    free(s->tls_client.key_file);
    free(s->tls_client.server_name);
    free(s->username);
    free(s->password);
}

/* Release POLICY and everything it owns. Rules go first: their patterns
 * borrow the lists. */
void
stm_model_free(struct stm_policy *policy)
{
    if (policy == NULL)
        return;
    for (int i = 0; i < STM_STAGE_COUNT; i++)
        stm_rule_list_clear(&policy->stages[i]);
    for (size_t i = 0; i < policy->dns.nservers; i++)
        free(policy->dns.servers[i]);
    free(policy->dns.servers);
    free(policy->dns.key);
    for (size_t i = 0; i < policy->nlists; i++)
        stm_list_free(policy->lists[i]);
    free(policy->lists);
    for (size_t i = 0; i < policy->nservices; i++)
        model_service_clear(&policy->services[i]);
    free(policy->services);
    if (policy->milter.quarantine_lmtp != NULL)
        model_service_clear(policy->milter.quarantine_lmtp);
    free(policy->milter.quarantine_lmtp);
    free(policy->milter.quarantine_lmtp_rcpt);
    free(policy->milter.socket);
    free(policy->milter.workdir);
    free(policy->milter.spool.directory);
    for (size_t i = 0; i < policy->milter.nauthserv_ids; i++)
        free(policy->milter.authserv_ids[i]);
    free(policy->milter.authserv_ids);
    free(policy->receiver.listen);
    free(policy->receiver.host);
    free(policy->receiver.port);
    free(policy->receiver.allow);
    stm_state_config_clear(&policy->state);
    for (size_t i = 0; i < policy->nfiles; i++)
        free(policy->files[i]);
    free(policy->files);
    for (size_t i = 0; i < policy->nmacro_names; i++)
        free(policy->macro_names[i]);
    free(policy->macro_names);
    free(policy->path);
    free(policy);
}

/* Take another reference. */
stm_policy *
stm_policy_ref(stm_policy *policy)
{
    if (policy != NULL)
        atomic_fetch_add(&policy->refs, 1);
    return policy;
}

/* Drop a reference; the last one frees. */
void
stm_policy_unref(stm_policy *policy)
{
    if (policy != NULL && atomic_fetch_sub(&policy->refs, 1) == 1)
        stm_model_free(policy);
}
