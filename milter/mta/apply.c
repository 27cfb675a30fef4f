/*
 * apply.c - carry out at the end of the message the changes effects
 * queued (change_header, delete_header, prefix_subject, add_rcpt,
 * delete_rcpt, change_sender): stm_edit_resolve() gives the operations,
 * libmilter's smfi_chgheader, smfi_addheader, smfi_addrcpt, smfi_delrcpt
 * and smfi_chgfrom do them (apply.h).
 *
 * Functions: stm_apply_edits.
 *
 * Addresses go to the MTA in angle brackets, as it gave them to
 * xxfi_envrcpt (Sendmail's smfi_delrcpt compares them so); smfi_chgfrom
 * and smfi_addrcpt get no ESMTP parameters (doc/mta-differences.md says
 * why). Header values go as libmilter takes them: CRs out, folded lines
 * joined by a bare LF.
 *
 * Errors: any failed call is logged and returned as -1: the caller answers
 * tempfail, the client retries, the MTA keeps nothing half changed (a
 * milter's changes take effect only when its end of message succeeds).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mta/apply.h"
#include "report/log.h"
#include "stagemilter/edit.h"

/* A header value for libmilter (apply.h). */
char *
stm_apply_milter_value(const char *value)
{
    while (*value == ' ' || *value == '\t')
        value++;
    char *v = malloc(strlen(value) + 1), *o = v;
    if (v == NULL)
        return NULL;
    for (; *value; value++)
        if (*value != '\r')
            *o++ = *value;
    *o = '\0';
    return v;
}

/* "<ADDR>" into BUF of LEN; NULL when it does not fit. */
static char *
apply_bracket(char *buf, size_t len, const char *addr)
{
    int n = snprintf(buf, len, "<%s>", addr);
    return n < 0 || (size_t)n >= len ? NULL : buf;
}

/* Carry out one operation. MI_SUCCESS or MI_FAILURE. */
static int
apply_op(SMFICTX *ctx, const stm_edit_op *op)
{
    char addr[2048];
    char *v = NULL;
    int rc = MI_FAILURE;
    switch (op->kind) {
    case STM_EDIT_OP_HEADER_CHANGE:
    case STM_EDIT_OP_HEADER_ADD:
        if ((v = stm_apply_milter_value(op->value)) == NULL)
            break;
        rc = op->kind == STM_EDIT_OP_HEADER_ADD ? smfi_addheader(ctx, op->name, v)
                                                : smfi_chgheader(ctx, op->name, op->index, v);
        break;
    case STM_EDIT_OP_HEADER_DELETE:
        rc = smfi_chgheader(ctx, op->name, op->index, NULL);
        break;
    case STM_EDIT_OP_RCPT_ADD:
        if (apply_bracket(addr, sizeof addr, op->value) != NULL)
            rc = smfi_addrcpt(ctx, addr);
        break;
    case STM_EDIT_OP_RCPT_DELETE:
        if (apply_bracket(addr, sizeof addr, op->value) != NULL)
            rc = smfi_delrcpt(ctx, addr);
        break;
    case STM_EDIT_OP_SENDER:
        if (apply_bracket(addr, sizeof addr, op->value) != NULL)
            rc = smfi_chgfrom(ctx, addr, NULL);
        break;
    }
    free(v);
    return rc;
}

/* What an operation is called in the log. */
static const char *
apply_op_name(stm_edit_op_kind kind)
{
    switch (kind) {
    case STM_EDIT_OP_HEADER_CHANGE:
        return "change header";
    case STM_EDIT_OP_HEADER_DELETE:
        return "delete header";
    case STM_EDIT_OP_HEADER_ADD:
        return "add header";
    case STM_EDIT_OP_RCPT_ADD:
        return "add rcpt";
    case STM_EDIT_OP_RCPT_DELETE:
        return "delete rcpt";
    case STM_EDIT_OP_SENDER:
        return "change sender";
    }
    return "?";
}

/* Carry out the changes queued in S (apply.h). */
int
stm_apply_edits(SMFICTX *ctx, stm_session *s)
{
    if (!stm_edit_pending(s))
        return 0;
    stm_edit_ops ops;
    char *err = NULL;
    const char *id = stm_log_id(s);
    if (stm_edit_resolve(s, &ops, &err) != 0) {
        char c[STM_LOG_PEER_MAX + 1];
        stm_log(LOG_ERR, "id=%s edit failed: %s; answering tempfail", id,
                stm_log_clean(c, sizeof c, err ? err : "out of memory"));
        free(err);
        return -1;
    }
    int count[STM_EDIT_OP_SENDER + 1] = {0};
    int rc = 0;
    for (size_t i = 0; i < ops.n; i++) {
        const stm_edit_op *op = &ops.ops[i];
        char a[STM_LOG_PEER_MAX + 1], b[STM_LOG_PEER_MAX + 1];
        if (apply_op(ctx, op) != MI_SUCCESS) {
            stm_log(LOG_ERR,
                    "id=%s edit %s %s failed (does the MTA allow it? see "
                    "doc/mta-differences.md); answering tempfail",
                    id, apply_op_name(op->kind),
                    stm_log_clean(a, sizeof a, op->name ? op->name : op->value));
            rc = -1;
            break;
        }
        count[op->kind]++;
        if (stm_log_verbose())
            stm_log(LOG_INFO, "id=%s edit %s %s[%d]: \"%s\"", id, apply_op_name(op->kind),
                    stm_log_clean(a, sizeof a, op->name ? op->name : ""), op->index,
                    stm_log_clean(b, sizeof b, op->value ? op->value : ""));
    }
    if (rc == 0) {
        char c[STM_LOG_PEER_MAX + 1];
        const char *sender = stm_edit_ops_sender(&ops);
        stm_log(LOG_INFO,
                "id=%s edit headers_changed=%d deleted=%d added=%d rcpts_added=%d rcpts_deleted=%d "
                "sender=%s%s%s",
                id, count[STM_EDIT_OP_HEADER_CHANGE], count[STM_EDIT_OP_HEADER_DELETE],
                count[STM_EDIT_OP_HEADER_ADD], count[STM_EDIT_OP_RCPT_ADD],
                count[STM_EDIT_OP_RCPT_DELETE], sender ? "<" : "unchanged",
                sender ? stm_log_clean(c, sizeof c, sender) : "", sender ? ">" : "");
    }
    stm_edit_ops_clear(&ops);
    return rc;
}
