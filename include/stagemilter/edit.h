/*
 * edit.h - the changes to a message that `do:` effects asked for
 * (change_header, delete_header, prefix_subject, add_rcpt, delete_rcpt,
 * change_sender), resolved at the end of the message into the operations
 * the milter carries out (smfi_chgheader, smfi_addheader, smfi_addrcpt,
 * smfi_delrcpt, smfi_chgfrom) and the quarantine store shows.
 *
 * Effects only queue their change in the session (libmilter allows the
 * changes at end of message only); stm_edit_resolve() turns the queue into
 * operations against the message as the MTA handed it: header operations
 * name the occurrence (1-based among the fields of that name) of the
 * received header, changes and deletions come in descending occurrence
 * order per name, so no operation moves the field another one names,
 * whatever the MTA does with indexes after a deletion.
 */
#ifndef STAGEMILTER_EDIT_H
#define STAGEMILTER_EDIT_H

#include <stdbool.h>
#include <stddef.h>

#include "stagemilter/policy.h"
#include "stagemilter/session.h"

typedef enum stm_edit_op_kind {
    STM_EDIT_OP_HEADER_CHANGE, /* NAME occurrence INDEX gets VALUE */
    STM_EDIT_OP_HEADER_DELETE, /* NAME occurrence INDEX goes */
    STM_EDIT_OP_HEADER_ADD,    /* NAME: VALUE appended */
    STM_EDIT_OP_RCPT_ADD,      /* VALUE: an address without angle brackets */
    STM_EDIT_OP_RCPT_DELETE,   /* VALUE: an accepted recipient, without brackets */
    STM_EDIT_OP_SENDER         /* VALUE: the new envelope sender ("" null sender) */
} stm_edit_op_kind;

typedef struct stm_edit_op {
    stm_edit_op_kind kind;
    char *name;  /* header operations; owned */
    int index;   /* HEADER_CHANGE, HEADER_DELETE */
    char *value; /* owned; NULL for HEADER_DELETE */
} stm_edit_op;

typedef struct stm_edit_ops {
    stm_edit_op *ops;
    size_t n;
} stm_edit_ops;

/* Does the transaction of S have changes queued? */
bool stm_edit_pending(const stm_session *s);
/* Resolve the changes queued in S against its message and envelope into
 * OUT (caller clears it with stm_edit_ops_clear()). 0; or -1 with *ERR a
 * malloc'd reason (NULL: out of memory): a delete_rcpt pattern failed to
 * match (a regex limit), or header changes were asked for while the
 * header outgrew milter.max_message_size (not every field was kept, so an
 * index could name the wrong one). Fail closed: the caller tempfails. */
int stm_edit_resolve(const stm_session *s, stm_edit_ops *out, char **err);
void stm_edit_ops_clear(stm_edit_ops *ops);
/* The operation on occurrence INDEX of header NAME, or NULL. */
const stm_edit_op *stm_edit_ops_header(const stm_edit_ops *ops, const char *name, int index);
/* Is recipient RCPT deleted by OPS? */
bool stm_edit_ops_rcpt_deleted(const stm_edit_ops *ops, const char *rcpt);
/* The new envelope sender, or NULL when unchanged. Borrowed from OPS. */
const char *stm_edit_ops_sender(const stm_edit_ops *ops);

/* RAW (a Subject value as received) with PREFIX (UTF-8) in front, unless
 * its decoded text already starts with PREFIX: RFC 2047-aware (see
 * stagemilter.yaml(5), prefix_subject). Returns 1 and *OUT (caller frees),
 * 0 when RAW already starts with it (*OUT NULL), -1 out of memory. */
int stm_edit_prefix_subject(const char *raw, const char *prefix, char **out);

/* The milter actions the effects of POLICY need from the MTA. */
typedef struct stm_edit_needs {
    bool add_headers;    /* add_header, change_header/prefix_subject adding a field */
    bool change_headers; /* change_header, delete_header, prefix_subject */
    bool add_rcpt;
    bool delete_rcpt;
    bool change_sender;
} stm_edit_needs;
void stm_policy_edit_needs(const stm_policy *policy, stm_edit_needs *out);

#endif
