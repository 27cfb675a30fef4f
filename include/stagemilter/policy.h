/*
 * policy.h - loading, sharing and inspecting a compiled policy.
 *
 * A policy is parsed, validated and compiled once by stm_policy_load(), then
 * published immutable and reference-counted: the daemon holds one reference
 * for "the current policy", each connection holds its own until it closes, so
 * a reload never changes the rules under a running message.
 */
#ifndef STAGEMILTER_POLICY_H
#define STAGEMILTER_POLICY_H

#include "stagemilter/config.h"
#include "stagemilter/diag.h"
#include "stagemilter/types.h"

typedef struct stm_policy stm_policy;

/* Load the policy at PATH and every file it names. Every problem found goes to
 * DIAG (errors and warnings, all of them, with FILE:LINE:COLUMN). Returns the
 * policy with one reference owned by the caller, or NULL when any error was
 * found. */
stm_policy *stm_policy_load(const char *path, stm_diag *diag);
/* Same, from text in memory; NAME is used as the file name in diagnostics
 * and relative list files are resolved against the current directory. */
stm_policy *stm_policy_load_text(const char *name, const char *text, size_t len, stm_diag *diag);

/* Take another reference (thread-safe). Returns POLICY. */
stm_policy *stm_policy_ref(stm_policy *policy);
/* Drop a reference (thread-safe); the last one frees. Accepts NULL. */
void stm_policy_unref(stm_policy *policy);

/* The file it was loaded from. Borrowed for the policy's lifetime. */
const char *stm_policy_path(const stm_policy *policy);
const stm_milter_config *stm_policy_milter(const stm_policy *policy);
const stm_receiver_config *stm_policy_receiver(const stm_policy *policy);
/* Service by name, or NULL. Borrowed for the policy's lifetime. */
const stm_service *stm_policy_service(const stm_policy *policy, const char *name);
size_t stm_policy_service_count(const stm_policy *policy);
const stm_service *stm_policy_service_at(const stm_policy *policy, size_t i);

/* Does STAGE have at least one rule? (Callbacks of empty stages are turned
 * off in xxfi_negotiate.) */
bool stm_policy_stage_used(const stm_policy *policy, stm_stage stage);
/* Does any rule look at headers (header/has_header conditions) or the body
 * (body condition, delegation, quarantine store)? Only then are they kept. */
bool stm_policy_needs_headers(const stm_policy *policy);
bool stm_policy_needs_body(const stm_policy *policy);
/* Is there a `quarantine` verb anywhere (the milter then asks for
 * SMFIF_QUARANTINE), a delegate rule, an add_header effect? */
bool stm_policy_uses_quarantine(const stm_policy *policy);
bool stm_policy_uses_delegation(const stm_policy *policy);
bool stm_policy_uses_add_header(const stm_policy *policy);
/* Does a delegate rule name an smtp or lmtp service, one that passes the
 * message back to the receiver? (clamd, spamd, rspamd only answer.) */
bool stm_policy_uses_receiver(const stm_policy *policy);
/* The macro names (without braces: "auth_ssf", "j") that `macro:`
 * conditions look at, each once, in order of appearance; *COUNT gets their
 * number. Borrowed from POLICY. The milter asks the MTA for these too. */
const char *const *stm_policy_macro_names(const stm_policy *policy, size_t *count);

#endif
