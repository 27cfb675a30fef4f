/*
 * policy.c - the public API of a compiled policy (policy.h): loading it,
 * sharing it and reading it.
 *
 * Functions: stm_policy_load, stm_policy_load_text (references: model.c),
 * and the read-only accessors (stm_policy_path,
 * stm_policy_milter, stm_policy_receiver, stm_policy_service,
 * stm_policy_service_count, stm_policy_service_at, stm_policy_stage_used,
 * stm_policy_needs_headers, stm_policy_needs_body, stm_policy_uses_*,
 * stm_policy_macro_names, stm_policy_edit_needs). The sections are read by policy/load/, the
 * compiled form freed by model.c.
 *
 * Ownership: a loaded policy carries one reference owned by the caller;
 * accessors return borrowed pointers valid while the caller holds a
 * reference. The reference count is atomic, so connections may drop theirs
 * from any thread.
 *
 * Errors: a load reports every problem to the diag (FILE:LINE:COLUMN) and
 * returns NULL when any error was added; nothing is left allocated. The
 * accessors cannot fail.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"
#include "model.h"
#include "effect/effect_table.h"
#include "stagemilter/edit.h"

/* Policy files larger than this are refused before parsing. */
#define POLICY_MAX_FILE (16u * 1024 * 1024)

/* Load the policy from TEXT named NAME. */
stm_policy *
stm_policy_load_text(const char *name, const char *text, size_t len, stm_diag *diag)
{
    return stm_config_load(name ? name : "-", text, len, NULL, diag);
}

/* Load the policy in PATH. */
stm_policy *
stm_policy_load(const char *path, stm_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        stm_diag_add(diag, STM_SEV_ERROR, path, 0, 0, "cannot open the policy: %s",
                     strerror(errno));
        return NULL;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= POLICY_MAX_FILE) {
                stm_diag_add(diag, STM_SEV_ERROR, path, 0, 0, "the policy is larger than %u bytes",
                             POLICY_MAX_FILE);
                goto fail;
            }
            cap = cap ? cap * 2 : 8192;
            char *nt = realloc(text, cap + 1);
            if (nt == NULL) {
                stm_diag_add(diag, STM_SEV_ERROR, path, 0, 0, "out of memory reading the policy");
                goto fail;
            }
            text = nt;
        }
        size_t n = fread(text + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f)) {
                stm_diag_add(diag, STM_SEV_ERROR, path, 0, 0, "cannot read the policy: %s",
                             strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    f = NULL;
    /* Relative list files are relative to the policy's own directory. */
    char *dir = strdup(path);
    if (dir == NULL) {
        stm_diag_add(diag, STM_SEV_ERROR, path, 0, 0, "out of memory reading the policy");
        goto fail;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL) {
        free(dir);
        dir = NULL;
    } else {
        slash[slash == dir ? 1 : 0] = '\0';
    }
    stm_policy *p = stm_config_load(path, text ? text : "", len, dir, diag);
    free(dir);
    free(text);
    return p;
fail:
    if (f != NULL)
        fclose(f);
    free(text);
    return NULL;
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

/* Does a delegate rule name a service that passes a copy back? */
bool
stm_policy_uses_receiver(const stm_policy *policy)
{
    return policy->uses_receiver;
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

/* The milter actions the effects of POLICY need (stagemilter/edit.h). */
void
stm_policy_edit_needs(const stm_policy *policy, stm_edit_needs *out)
{
    unsigned a = policy->actions;
    out->change_headers = (a & STM_ACTION_CHANGE_HEADER) != 0;
    /* change_header past the last occurrence and prefix_subject without a
     * Subject add a field. */
    out->add_headers = (a & (STM_ACTION_ADD_HEADER | STM_ACTION_CHANGE_HEADER)) != 0;
    out->add_rcpt = (a & STM_ACTION_ADD_RCPT) != 0;
    out->delete_rcpt = (a & STM_ACTION_DELETE_RCPT) != 0;
    out->change_sender = (a & STM_ACTION_CHANGE_SENDER) != 0;
}
