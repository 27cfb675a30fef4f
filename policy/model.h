/*
 * model.h - the compiled form of a policy, shared by the loader (config.c)
 * and the engine (engine.c, cond.c). Private to policy/.
 *
 * Everything hangs off struct sm_policy, which owns it all: the loader builds
 * it, nobody changes it after sm_policy_load() returns, and
 * sm_model_free() (called by the last sm_policy_unref()) releases it.
 * Source positions point into policy->files, which the policy also owns.
 */
#ifndef STAGEMILTER_MODEL_H
#define STAGEMILTER_MODEL_H

#include <stdatomic.h>

#include "pattern.h"
#include "template.h"
#include "stagemilter/config.h"
#include "stagemilter/policy.h"

typedef enum sm_cond_type {
    SM_COND_ALL, /* children all hold (also a map with several keys) */
    SM_COND_ANY,
    SM_COND_NOT, /* one child */
    SM_COND_CLIENT_IP,
    SM_COND_CLIENT_NAME,
    SM_COND_HELO,
    SM_COND_SENDER, /* "<>" matches the null sender */
    SM_COND_SENDER_DOMAIN,
    SM_COND_RCPT,
    SM_COND_RCPT_DOMAIN, /* at rcpt: this recipient; later: any accepted one */
    SM_COND_AUTH,        /* auth_is_bool: authenticated or not; else user pattern */
    SM_COND_TLS,
    SM_COND_HEADER,     /* name + pattern, any header of that name */
    SM_COND_HAS_HEADER, /* name */
    SM_COND_BODY,       /* pattern (regex) */
    SM_COND_SIZE,       /* size_op + size */
    SM_COND_MACRO,      /* name + pattern */
    SM_COND_VAR,        /* name + pattern */
    SM_COND_DELEGATION, /* delegation_mask, inside a delegate's rules only */
    SM_COND_REPLY       /* pattern on the scanner's last reply text */
} sm_cond_type;

typedef enum sm_size_op { SM_SIZE_GT, SM_SIZE_GE, SM_SIZE_LT, SM_SIZE_LE, SM_SIZE_EQ } sm_size_op;

typedef struct sm_cond {
    sm_cond_type type;
    sm_srcpos pos;
    struct sm_cond **children; /* ALL, ANY, NOT */
    size_t nchildren;
    sm_pattern *pattern; /* owned */
    char *name;          /* HEADER, HAS_HEADER, MACRO, VAR: header/macro/var name */
    bool flag;           /* TLS: wanted value; AUTH with auth_is_bool: wanted value */
    bool auth_is_bool;
    sm_size_op size_op;
    uint64_t size;
    unsigned delegation_mask; /* bit (1u << sm_delegation_result) per accepted result */
} sm_cond;

typedef enum sm_effect_type {
    SM_EFFECT_ADD_HEADER,    /* name + value */
    SM_EFFECT_SET,           /* name + value: a connection-bound variable */
    SM_EFFECT_SET_SENDER_IP, /* value (an address, may interpolate) or nat64 */
    SM_EFFECT_LOG            /* value */
} sm_effect_type;

typedef struct sm_effect {
    sm_effect_type type;
    sm_srcpos pos;
    char *name;
    sm_template *value; /* NULL for set_sender_ip: nat64 */
    bool nat64;
} sm_effect;

/* A status verb with its reply. Defaults of DESIGN.md are NOT filled in here:
 * code 0 / enhanced "" / text NULL mean "the verb's default", which the
 * engine resolves per stage (reject is 521 at connect, 550 elsewhere). */
typedef struct sm_status {
    sm_verb verb;
    sm_srcpos pos;
    int code;
    char enhanced[16];
    sm_template *text; /* owned; NULL = default */
    char *queue;       /* QUARANTINE */
} sm_status;

typedef enum sm_rule_kind { SM_RULE_RULE, SM_RULE_ACTION, SM_RULE_DELEGATE } sm_rule_kind;

typedef struct sm_rule sm_rule;

typedef struct sm_rule_list {
    sm_rule *rules;
    size_t nrules;
} sm_rule_list;

struct sm_rule {
    sm_rule_kind kind;
    char *name; /* "rule:"/"action:" value; for a delegate, its rule name */
    sm_srcpos pos;
    sm_cond *cond;      /* NULL: always matches */
    sm_effect *effects; /* run in order when it matches */
    size_t neffects;
    sm_status then;            /* RULE: verb when it matches (default next) */
    sm_status otherwise;       /* RULE: `else` (default next) */
    const sm_service *service; /* DELEGATE: borrowed from policy->services */
    sm_rule_list rules;        /* DELEGATE: run once the result is in */
};

struct sm_policy {
    atomic_int refs;
    char *path;
    char **files; /* every file name a sm_srcpos may point to; owned */
    size_t nfiles;

    sm_milter_config milter;
    sm_receiver_config receiver;
    sm_service *services;
    size_t nservices;
    sm_list **lists;
    size_t nlists;
    sm_rule_list stages[SM_STAGE_COUNT];

    /* Derived at load time for the milter's negotiation. */
    bool needs_headers;
    bool needs_body;
    bool uses_quarantine;
    bool uses_delegation;
    bool uses_add_header;
    char **macro_names; /* every `macro:` condition's name, once, no braces */
    size_t nmacro_names;
};

/* Release everything POLICY owns, and POLICY itself. Accepts NULL. */
void sm_model_free(struct sm_policy *policy);
void sm_cond_free(sm_cond *cond);
void sm_rule_list_clear(sm_rule_list *list);

#endif
