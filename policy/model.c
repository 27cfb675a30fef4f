/*
 * model.c - releasing and sharing a compiled policy (model.h, policy.h).
 *
 * Functions: stm_model_free, stm_cond_free, stm_rule_list_clear,
 * stm_policy_ref, stm_policy_unref, and the read-only accessors of policy.h
 * (stm_policy_path, stm_policy_milter, stm_policy_receiver, stm_policy_service,
 * stm_policy_service_count, stm_policy_service_at, stm_policy_stage_used,
 * stm_policy_needs_headers, stm_policy_needs_body, stm_policy_uses_*,
 * stm_policy_macro_names).
 *
 * Ownership: a policy owns everything hanging off it; accessors return
 * borrowed pointers valid while the caller holds a reference. The reference
 * count is atomic, so connections may drop theirs from any thread.
 *
 * Errors: none; every function accepts NULL where that makes sense.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "model.h"

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
    free(cond);
}

/* Release what a status owns. */
static void
model_status_clear(stm_status *st)
{
    stm_template_free(st->text);
    free(st->queue);
    st->text = NULL;
    st->queue = NULL;
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
    }
    free(r->effects);
    model_status_clear(&r->then);
    model_status_clear(&r->otherwise);
    stm_rule_list_clear(&r->rules);
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
    for (size_t i = 0; i < policy->nlists; i++)
        stm_list_free(policy->lists[i]);
    free(policy->lists);
    for (size_t i = 0; i < policy->nservices; i++)
        model_service_clear(&policy->services[i]);
    free(policy->services);
    free(policy->milter.socket);
    free(policy->milter.workdir);
    free(policy->receiver.listen);
    free(policy->receiver.host);
    free(policy->receiver.port);
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

/* The file the policy came from. */
const char *
stm_policy_path(const stm_policy *policy)
{
    return policy->path;
}

/* The milter section. */
const stm_milter_config *
stm_policy_milter(const stm_policy *policy)
{
    return &policy->milter;
}

/* The receiver section. */
const stm_receiver_config *
stm_policy_receiver(const stm_policy *policy)
{
    return &policy->receiver;
}

/* The service called NAME, or NULL. */
const stm_service *
stm_policy_service(const stm_policy *policy, const char *name)
{
    for (size_t i = 0; i < policy->nservices; i++)
        if (strcmp(policy->services[i].name, name) == 0)
            return &policy->services[i];
    return NULL;
}

/* Number of services. */
size_t
stm_policy_service_count(const stm_policy *policy)
{
    return policy->nservices;
}

/* Service I, or NULL when out of range. */
const stm_service *
stm_policy_service_at(const stm_policy *policy, size_t i)
{
    return i < policy->nservices ? &policy->services[i] : NULL;
}

/* Does STAGE have rules? */
bool
stm_policy_stage_used(const stm_policy *policy, stm_stage stage)
{
    return (unsigned)stage < STM_STAGE_COUNT && policy->stages[stage].nrules > 0;
}

/* Must headers be kept? */
bool
stm_policy_needs_headers(const stm_policy *policy)
{
    return policy->needs_headers;
}

/* Must the body be kept? */
bool
stm_policy_needs_body(const stm_policy *policy)
{
    return policy->needs_body;
}

/* Is there a quarantine verb? */
bool
stm_policy_uses_quarantine(const stm_policy *policy)
{
    return policy->uses_quarantine;
}

/* Is there a delegate rule? */
bool
stm_policy_uses_delegation(const stm_policy *policy)
{
    return policy->uses_delegation;
}

/* Is there an add_header effect? */
bool
stm_policy_uses_add_header(const stm_policy *policy)
{
    return policy->uses_add_header;
}

/* The names (without braces) every `macro:` condition looks at, each once. */
const char *const *
stm_policy_macro_names(const stm_policy *policy, size_t *count)
{
    *count = policy->nmacro_names;
    return (const char *const *)policy->macro_names;
}
