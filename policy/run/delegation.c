/*
 * delegation.c - the delegations a session records (engine.h,
 * session_internal.h): one result per delegate rule run in the transaction.
 *
 * Functions: stm_delegation_init, stm_delegation_clear,
 * stm_session_delegations, stm_session_new_delegation,
 * stm_session_clear_delegations, stm_session_last_reply, stm_session_scan_text.
 *
 * Ownership: a delegation owns its reply text and returned message; the
 * session owns its records until the transaction ends. Pointers returned
 * are borrowed until then.
 *
 * Errors: stm_session_new_delegation returns -1 on memory exhaustion and
 * leaves the records as they were; nothing else fails.
 */
#include <stdlib.h>
#include <string.h>

#include "run/session_internal.h"
#include "run/template.h"

/* Make D an empty delegation result. */
void
stm_delegation_init(stm_delegation *d)
{
    memset(d, 0, sizeof *d);
    d->result = STM_DELEGATION_NONE;
    stm_message_init(&d->returned);
}

/* Free what D owns and make it empty again. */
void
stm_delegation_clear(stm_delegation *d)
{
    free(d->reply);
    stm_message_clear(&d->returned);
    stm_scan_result_clear(&d->scan);
    stm_delegation_init(d);
}

/* Delegations made in this transaction. */
const stm_delegation_record *
stm_session_delegations(const stm_session *s, size_t *count)
{
    *count = s->ndelegations;
    return s->delegations;
}

/* Append an empty delegation record for SERVICE; its index, or -1. */
long
stm_session_new_delegation(stm_session *s, const stm_service *service)
{
    if (s->ndelegations == s->delegations_cap) {
        size_t cap = s->delegations_cap ? s->delegations_cap * 2 : 2;
        stm_delegation_record *r = realloc(s->delegations, cap * sizeof *r);
        if (r == NULL)
            return -1;
        s->delegations = r;
        s->delegations_cap = cap;
    }
    stm_delegation_record *rec = &s->delegations[s->ndelegations];
    rec->service = service;
    stm_delegation_init(&rec->delegation);
    return (long)s->ndelegations++;
}

/* Free every delegation record of the transaction. */
void
stm_session_clear_delegations(stm_session *s)
{
    for (size_t i = 0; i < s->ndelegations; i++)
        stm_delegation_clear(&s->delegations[i].delegation);
    free(s->delegations);
    s->delegations = NULL;
    s->ndelegations = s->delegations_cap = 0;
}

/* The reply text of the latest delegation of this transaction, or NULL. */
const char *
stm_session_last_reply(const stm_session *s)
{
    if (s->ctx_deleg != NULL)
        return s->ctx_deleg->reply;
    if (s->ndelegations == 0)
        return NULL;
    return s->delegations[s->ndelegations - 1].delegation.reply;
}

/* One scanner fact of D as text, or NULL. */
static const char *
delegation_fact(const stm_delegation *d, int var)
{
    switch (var) {
    case STM_TPL_VIRUS:
        return d->scan.virus;
    case STM_TPL_SPAM_SCORE:
        return d->scan.has_score ? d->scan.score_text : NULL;
    default:
        return NULL;
    }
}

/* A scanner fact for a template (session_internal.h). */
const char *
stm_session_scan_text(const stm_session *s, int var)
{
    if (s->ctx_deleg != NULL)
        return delegation_fact(s->ctx_deleg, var);
    for (size_t i = s->ndelegations; i-- > 0;) {
        const char *t = delegation_fact(&s->delegations[i].delegation, var);
        if (t != NULL)
            return t;
    }
    return NULL;
}
