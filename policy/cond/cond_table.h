/*
 * cond_table.h - the one table of `if:` conditions (DESIGN.md "Conditions"),
 * indexed by enum stm_cond_type, and the functions its rows point to.
 * Private to policy/.
 *
 * Each row says everything the rest of the program needs to know about a
 * condition: the key an administrator writes, what kind of value it takes,
 * the earliest stage where it can be known and where else it is allowed,
 * what the milter must collect for it, how the loader parses it and how the
 * engine judges it. The loader (load/conds.c) finds a row by key, checks the
 * row's stage and scope, and calls its parse, which stores the row's eval
 * in the compiled node for the engine (run/cond.c) to call; load/load.c derives what the milter negotiates from its
 * needs; tests/unit/test_tables.c holds it against stagemilter.yaml(5).
 *
 * Layout: a condition is one row in cond_table.c and its parse and eval
 * functions in the file of its family (cond_envelope.c, cond_session.c,
 * cond_message.c, cond_delegation.c; any/all/not in cond_logic.c). Parse and
 * eval of one condition sit next to each other so that a new condition is a
 * row and a file. This folder sits above policy/run (its eval functions
 * read the session) and policy/read (its parse functions read YAML), and
 * below policy/load, which calls stm_config_cond(); policy/run never
 * includes it.
 */
#ifndef STAGEMILTER_COND_TABLE_H
#define STAGEMILTER_COND_TABLE_H

#include <stdlib.h>

#include "model.h"
#include "read/reader.h"
#include "run/cond.h"

struct stm_loader;
struct stm_yt_node;
struct stm_config_scope;

/* Where a condition may be used beyond its earliest stage. */
enum {
    STM_COND_SCOPE_EOM = 1u << 0,      /* only at preq and postq (the whole message) */
    STM_COND_SCOPE_DELEGATE = 1u << 1, /* only inside a delegate rule's rules: */
};

/* What the milter must collect (or, later, look up) for a condition. */
enum {
    STM_COND_NEEDS_ENVELOPE = 1u << 0, /* connect/helo/mail/rcpt arguments */
    STM_COND_NEEDS_MACROS = 1u << 1,   /* MTA macros */
    STM_COND_NEEDS_HEADERS = 1u << 2,  /* the message's header fields */
    STM_COND_NEEDS_BODY = 1u << 3,     /* the message's body */
    STM_COND_NEEDS_MIME = 1u << 4,     /* the message parsed (policy/mime) */
    STM_COND_NEEDS_DNS = 1u << 5,      /* DNS look-ups (dnsbl) */
    STM_COND_NEEDS_STATE = 1u << 6,    /* reserved: state kept across connections */
    STM_COND_NEEDS_SCANNER = 1u << 7,  /* a delegation's result */
};

typedef struct stm_cond_row stm_cond_row;

/* Parse the value V of condition key KEY (row ROW, type TYPE) at SCOPE into a
 * condition the caller owns; NULL after reporting to the loader's diag. */
typedef stm_cond *stm_cond_parse_fn(struct stm_loader *ld, const stm_cond_row *row,
                                    stm_cond_type type, const struct stm_yt_node *key,
                                    const struct stm_yt_node *v,
                                    const struct stm_config_scope *scope);

struct stm_cond_row {
    const char *key;          /* as written in `if:` */
    const char *value;        /* what it takes, for messages and the tests */
    stm_stage earliest;       /* the first stage where it can be known */
    unsigned scope;           /* STM_COND_SCOPE_* */
    unsigned needs;           /* STM_COND_NEEDS_* */
    stm_pattern_kind pattern; /* for pattern conditions: how they compare */
    stm_cond_parse_fn *parse;
    stm_cond_eval_fn *eval;
};

/* Indexed by stm_cond_type; rows are listed in the order of the man page. */
extern const stm_cond_row stm_cond_table[STM_COND_COUNT];

/* The row of KEY, or NULL. */
const stm_cond_row *stm_cond_table_find(const char *key);
/* A condition (`if:` value) at SCOPE; NULL when it had errors (reported).
 * The entry of the rules loader and of any/all/not (cond_load.c). */
stm_cond *stm_config_cond(struct stm_loader *ld, const struct stm_yt_node *node,
                          stm_config_scope scope);
/* A pattern's answer as a condition's: the values coincide (an error stays
 * an error, never "no match"; cond_table.c asserts it at compile time). */
static inline stm_cond_result
stm_cond_of_match(stm_match m)
{
    return (stm_cond_result)m;
}
/* Fold one more answer M (with its reason WHY, owned) into *ACC (with its
 * reason *ERR) for a condition that holds when any of several values
 * matches: a match decides; else a failure makes the answer an error. */
static inline void
stm_cond_any_of(stm_cond_result *acc, char **err, stm_match m, char *why)
{
    if (m == STM_MATCH_YES && *acc != STM_COND_TRUE) {
        free(*err);
        *err = NULL;
        *acc = STM_COND_TRUE;
    } else if (m == STM_MATCH_ERROR && *acc == STM_COND_FALSE) {
        *err = why;
        *acc = STM_COND_ERROR;
        return;
    }
    free(why);
}
/* Set *ERR to a copy of TEXT and return STM_COND_ERROR. */
stm_cond_result stm_cond_eval_error(char **err, const char *text);

/* Shared parse helpers (cond_parse.c). */
stm_cond *stm_cond_parse_new(struct stm_loader *ld, stm_cond_type type,
                             const struct stm_yt_node *node);
void stm_cond_parse_push(struct stm_loader *ld, stm_cond *c, stm_cond *child);
stm_cond_parse_fn stm_cond_parse_pattern; /* KEY: pattern or list of patterns */
stm_cond_parse_fn stm_cond_parse_named;   /* KEY: { NAME: pattern, ... } */

/* any, all, not (cond_logic.c). */
stm_cond_parse_fn stm_cond_logic_parse_list, stm_cond_logic_parse_not;
stm_cond_eval_fn stm_cond_logic_eval_all, stm_cond_logic_eval_any, stm_cond_logic_eval_not;

/* client_ip, client_name, helo, sender, sender_domain, rcpt, rcpt_domain
 * (cond_envelope.c). */
stm_cond_eval_fn stm_cond_envelope_client_ip, stm_cond_envelope_client_name, stm_cond_envelope_helo,
    stm_cond_envelope_sender, stm_cond_envelope_sender_domain, stm_cond_envelope_rcpt,
    stm_cond_envelope_rcpt_domain;

/* auth, tls, macro, var (cond_session.c). */
stm_cond_parse_fn stm_cond_session_parse_auth, stm_cond_session_parse_tls;
stm_cond_eval_fn stm_cond_session_auth, stm_cond_session_tls, stm_cond_session_macro,
    stm_cond_session_var;

/* header, has_header, body, size (cond_message.c). */
stm_cond_parse_fn stm_cond_message_parse_has_header, stm_cond_message_parse_size;
stm_cond_eval_fn stm_cond_message_header, stm_cond_message_has_header, stm_cond_message_body,
    stm_cond_message_size;

/* subject, header, body, attachment, url, url_domain, mime_defect
 * (cond_mime.c); raw_header and raw_body are header and body of
 * cond_message.c. */
stm_cond_parse_fn stm_cond_mime_parse_attachment, stm_cond_mime_parse_defect;
stm_cond_eval_fn stm_cond_mime_subject, stm_cond_mime_header, stm_cond_mime_body,
    stm_cond_mime_attachment, stm_cond_mime_url, stm_cond_mime_url_domain, stm_cond_mime_defect;

/* delegation, reply (cond_delegation.c). */
stm_cond_parse_fn stm_cond_delegation_parse;
stm_cond_eval_fn stm_cond_delegation_result, stm_cond_delegation_reply;

/* rate (cond_state.c), and the durations of state (up to ten years, with
 * days: "35d"), also for the greylist verb. */
stm_cond_parse_fn stm_cond_state_parse_rate;
stm_cond_eval_fn stm_cond_state_rate;
int stm_cond_state_duration(struct stm_loader *ld, const struct stm_yt_node *node,
                            const char *what, uint64_t *out);
/* auth_results (cond_auth.c). */
stm_cond_parse_fn stm_cond_auth_parse;
stm_cond_eval_fn stm_cond_auth_results;

/* dnsbl (cond_dns.c). */
stm_cond_parse_fn stm_cond_dns_parse_dnsbl;
stm_cond_eval_fn stm_cond_dns_dnsbl;
/* virus, spam, spam_score, symbol, action, scan (cond_scan.c). */
stm_cond_parse_fn stm_cond_scan_parse_bool, stm_cond_scan_parse_number, stm_cond_scan_parse_scan;
stm_cond_eval_fn stm_cond_scan_virus, stm_cond_scan_spam, stm_cond_scan_spam_score,
    stm_cond_scan_symbol, stm_cond_scan_action, stm_cond_scan_scan, stm_cond_scan_score;
/* "OP NUMBER" (>, >=, <, <=, =) into OP and NUM; 0, or -1 with *ERR
 * (a static text). Also for the score condition. */
int stm_cond_scan_number(const char *text, stm_size_op *op, double *num, const char **err);
/* Does VALUE OP NUM hold? */
bool stm_cond_scan_compare(double value, stm_size_op op, double num);

#endif
