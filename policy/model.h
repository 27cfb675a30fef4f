/*
 * model.h - the compiled form of a policy, shared by the loader (load/), the
 * public API (policy.c) and the engine (run/). Private to policy/.
 *
 * Everything hangs off struct stm_policy, which owns it all: the loader builds
 * it, nobody changes it after stm_policy_load() returns, and
 * stm_model_free() (called by the last stm_policy_unref()) releases it.
 * Source positions point into policy->files, which the policy also owns.
 */
#ifndef STAGEMILTER_MODEL_H
#define STAGEMILTER_MODEL_H

#include <stdatomic.h>

#include "match/ipaddr.h"
#include "match/pattern.h"
#include "run/template.h"
#include "stagemilter/config.h"
#include "stagemilter/dns.h"
#include "stagemilter/policy.h"
#include "stagemilter/state.h"

/* Every condition has a row in cond/cond_table.c, indexed by this enum and
 * in this order (the order of the man page and of --check's "allowed:"). */
typedef enum stm_cond_type {
    STM_COND_ANY,
    STM_COND_ALL, /* children all hold (also a map with several keys) */
    STM_COND_NOT, /* one child */
    STM_COND_CLIENT_IP,
    STM_COND_CLIENT_NAME,
    STM_COND_HELO,
    STM_COND_SENDER, /* "<>" matches the null sender */
    STM_COND_SENDER_DOMAIN,
    STM_COND_RCPT,
    STM_COND_RCPT_DOMAIN, /* at rcpt: this recipient; later: any accepted one */
    STM_COND_AUTH,        /* auth_is_bool: authenticated or not; else user pattern */
    STM_COND_TLS,
    STM_COND_HEADER,     /* name + pattern, any header of that name */
    STM_COND_HAS_HEADER, /* name */
    STM_COND_BODY,       /* pattern (regex) */
    STM_COND_SIZE,       /* size_op + size */
    STM_COND_MACRO,      /* name + pattern */
    STM_COND_VAR,        /* name + pattern */
    STM_COND_DELEGATION, /* delegation_mask, inside a delegate's rules only */
    STM_COND_REPLY,      /* pattern on the scanner's last reply text */
    STM_COND_RATE,       /* rate: key, limit, per_ms (cond/cond_state.c) */
    STM_COND_DNSBL,      /* dnsbl, ndnsbl: any of the lists has the item */
    STM_COND_AUTH_RESULTS, /* children: one per key (name + pattern), judged together */
    STM_COND_SUBJECT,     /* pattern on the decoded Subject (policy/mime) */
    STM_COND_RAW_HEADER,  /* name + pattern, the bytes as received */
    STM_COND_RAW_BODY,    /* pattern on the body bytes as received */
    STM_COND_ATTACHMENT,  /* children: one per key, named by their name field */
    STM_COND_URL,         /* pattern on each URL of the text parts */
    STM_COND_URL_DOMAIN,  /* pattern on each URL's host */
    STM_COND_MIME_DEFECT, /* auth_is_bool: any defect or none; else pattern on their names */
    STM_COND_VIRUS,      /* pattern on the virus a scanner named (cond_scan.c) */
    STM_COND_SPAM,       /* flag: the scanner's verdict (cond_scan.c) */
    STM_COND_SPAM_SCORE, /* size_op + number: the scanner's score (cond_scan.c) */
    STM_COND_SYMBOL,     /* pattern on a rule/symbol that hit (cond_scan.c) */
    STM_COND_ACTION,     /* pattern on rspamd's action (cond_scan.c) */
    STM_COND_SCAN,       /* name (a service) + one child judged on its result only */
    STM_COND_SCORE,      /* size_op + number: the message's score (add_score) */
    STM_COND_COUNT
} stm_cond_type;

/* What a dnsbl list is asked about. */
typedef enum stm_dnsbl_of {
    STM_DNSBL_CLIENT_IP,
    STM_DNSBL_HELO,
    STM_DNSBL_SENDER_DOMAIN,
    STM_DNSBL_URL_DOMAINS
} stm_dnsbl_of;

/* One list of a dnsbl condition. */
typedef struct stm_dnsbl {
    char *zone; /* without its final dot; owned */
    stm_dnsbl_of of;
    stm_cidr *returns; /* the A records that count; none: any of 127.0.0.0/8; owned */
    size_t nreturns;
    bool on_failure_error; /* a DNS failure is a run-time failure, not "not listed" */
} stm_dnsbl;

typedef enum stm_size_op { STM_SIZE_GT, STM_SIZE_GE, STM_SIZE_LT, STM_SIZE_LE, STM_SIZE_EQ } stm_size_op;

/* What judging a condition gives. */
typedef enum stm_cond_result {
    STM_COND_ERROR = -1, /* run-time failure; *ERR says why */
    STM_COND_FALSE = 0,
    STM_COND_TRUE = 1
} stm_cond_result;

struct stm_cond;
struct stm_cond_ctx;   /* run/cond.h */
struct stm_effect;
struct stm_effect_ctx; /* run/effect.h */
/* Judge C in CTX; on STM_COND_ERROR *ERR is a malloc'd reason (or NULL). */
typedef stm_cond_result stm_cond_eval_fn(const struct stm_cond *c, const struct stm_cond_ctx *ctx,
                                         char **err);
/* Run E in CTX, describing what it did in DETAIL (for --trace); 0, or -1
 * with ctx->error set. */
typedef int stm_effect_run_fn(const struct stm_effect *e, struct stm_effect_ctx *ctx, char *detail,
                              size_t detail_len);

/* A compiled condition. EVAL is its row's eval function (cond/cond_table.c),
 * set by the loader, so the engine judges a tree without the table. */
typedef struct stm_cond {
    stm_cond_type type;
    stm_cond_eval_fn *eval;
    stm_srcpos pos;
    struct stm_cond **children; /* ALL, ANY, NOT */
    size_t nchildren;
    stm_pattern *pattern; /* owned */
    char *name;          /* HEADER, HAS_HEADER, MACRO, VAR: header/macro/var name */
    bool flag;           /* TLS: wanted value; AUTH with auth_is_bool: wanted value */
    bool auth_is_bool;
    stm_size_op size_op;
    uint64_t size;
    unsigned delegation_mask; /* bit (1u << stm_delegation_result) per accepted result */
    stm_template *key;        /* RATE: the key, interpolated; owned */
    uint64_t limit;           /* RATE: holds above this many events */
    uint64_t per_ms;          /* RATE: within this sliding window */
    stm_dnsbl *dnsbl;         /* DNSBL: the lists, owned */
    size_t ndnsbl;
    double number;            /* SPAM_SCORE, SCORE: compared with size_op */
} stm_cond;

/* Every effect has a row in effect/effect_table.c, indexed by this enum. */
typedef enum stm_effect_type {
    STM_EFFECT_ADD_HEADER,    /* name + value */
    STM_EFFECT_SET,           /* name + value: a connection-bound variable */
    STM_EFFECT_SET_SENDER_IP, /* value (an address, may interpolate) or nat64 */
    STM_EFFECT_LOG,           /* value */
    STM_EFFECT_ADD_SCORE,     /* value (a number, or a template giving one) */
    STM_EFFECT_CHANGE_HEADER, /* name + value ("" deletes) + index */
    STM_EFFECT_DELETE_HEADER, /* name */
    STM_EFFECT_PREFIX_SUBJECT, /* value */
    STM_EFFECT_ADD_RCPT,      /* value (an address template) */
    STM_EFFECT_DELETE_RCPT,   /* pattern */
    STM_EFFECT_CHANGE_SENDER, /* value (an address template) */
    STM_EFFECT_COUNT
} stm_effect_type;

/* A compiled effect. RUN is its row's run function (effect/effect_table.c),
 * set by the loader, so the engine runs it without the table. */
typedef struct stm_effect {
    stm_effect_type type;
    stm_effect_run_fn *run;
    stm_srcpos pos;
    char *name;
    stm_template *value; /* NULL for set_sender_ip: nat64 */
    bool nat64;
    int index;            /* change_header: the occurrence (1-based) */
    stm_pattern *pattern; /* delete_rcpt; owned */
} stm_effect;

/* A status verb with its reply. Defaults of DESIGN.md are NOT filled in here:
 * code 0 / enhanced "" / text NULL mean "the verb's default", which the
 * engine resolves per stage (reject is 521 at connect, 550 elsewhere). */
typedef struct stm_status {
    stm_verb verb;
    stm_srcpos pos;
    int code;
    char enhanced[16];
    stm_template *text; /* owned; NULL = default */
    char *queue;       /* QUARANTINE */
    struct stm_greylist_spec *greylist; /* GREYLIST: owned (run/remember.h) */
} stm_status;

typedef enum stm_rule_kind { STM_RULE_RULE, STM_RULE_ACTION, STM_RULE_DELEGATE } stm_rule_kind;

typedef struct stm_rule stm_rule;

typedef struct stm_rule_list {
    stm_rule *rules;
    size_t nrules;
} stm_rule_list;

struct stm_rule {
    stm_rule_kind kind;
    char *name; /* "rule:"/"action:" value; for a delegate, its rule name */
    stm_srcpos pos;
    stm_cond *cond;      /* NULL: always matches */
    stm_effect *effects; /* run in order when it matches */
    size_t neffects;
    stm_status then;            /* RULE: verb when it matches (default next) */
    stm_status otherwise;       /* RULE: `else` (default next) */
    const stm_service *service; /* DELEGATE: borrowed from policy->services (the first) */
    const stm_service **services; /* DELEGATE: every service of delegate: [a, b] (owned
                                   * array, borrowed services); nservices >= 1 */
    size_t nservices;
    stm_rule_list rules;        /* DELEGATE: run once the result is in */
};

struct stm_policy {
    atomic_int refs;
    char *path;
    char **files; /* every file name a stm_srcpos may point to; owned */
    size_t nfiles;

    stm_milter_config milter;
    stm_receiver_config receiver;
    stm_service *services;
    size_t nservices;
    stm_list **lists;
    size_t nlists;
    stm_rule_list stages[STM_STAGE_COUNT];
    stm_state_config state; /* the state section (load/state.c) */
    stm_dns_config dns; /* the `dns:` section (load/dns.c) */

    /* Derived at load time for the milter's negotiation. */
    bool needs_headers;
    bool needs_body;
    bool uses_quarantine;
    bool uses_delegation;
    bool uses_receiver; /* a delegate rule names an smtp or lmtp service */
    bool uses_add_header;
    unsigned actions;   /* STM_ACTION_* (effect/effect_table.h) of every effect used */
    char **macro_names; /* every `macro:` condition's name, once, no braces */
    size_t nmacro_names;
};

/* Release everything POLICY owns, and POLICY itself. Accepts NULL. */
void stm_model_free(struct stm_policy *policy);
void stm_cond_free(stm_cond *cond);
void stm_rule_list_clear(stm_rule_list *list);

#endif
