/*
 * cond.c - evaluating `if:` conditions against a session (cond.h).
 *
 * Functions: stm_cond_eval.
 *
 * Semantics (DESIGN.md, Conditions): all/any short-circuit in order; a
 * missing value (no HELO yet, no such header, unset variable) never matches a
 * pattern. sender "" is the null sender (the loader turns `sender: "<>"` into
 * the empty literal); sender_domain is what follows the last '@'. rcpt and
 * rcpt_domain judge the current recipient at the rcpt stage and any accepted
 * recipient later. tls holds when macro tls_version or cipher is non-empty;
 * auth: true/false is "macro auth_authen is non-empty", a pattern matches
 * auth_authen. Inside a delegate's rules has_header, header and body look at
 * the copy the scanner returned when it did, else at the MTA's copy.
 *
 * Errors: a body condition on a body that was not kept (larger than
 * milter.max_message_size) cannot be answered: STM_COND_ERROR, and the engine
 * applies milter.on_error. Nothing is allocated except the error text.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "run/cond.h"

/* The part of ADDR after its last '@', or NULL when it has none. */
static const char *
cond_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : NULL;
}

/* Does P match RCPT (or its domain when DOMAIN)? */
static bool
cond_rcpt_match(const stm_pattern *p, const char *rcpt, bool domain)
{
    return stm_pattern_match(p, domain ? cond_domain(rcpt) : rcpt);
}

/* Is the macro NAME set to something non-empty? */
static bool
cond_macro_set(const stm_session *s, const char *name)
{
    const char *v = stm_session_macro(s, name);
    return v != NULL && *v != '\0';
}

/* Compare SIZE with the condition's operand. */
static bool
cond_size(const stm_cond *c, uint64_t size)
{
    switch (c->size_op) {
    case STM_SIZE_GT:
        return size > c->size;
    case STM_SIZE_GE:
        return size >= c->size;
    case STM_SIZE_LT:
        return size < c->size;
    case STM_SIZE_LE:
        return size <= c->size;
    case STM_SIZE_EQ:
        return size == c->size;
    }
    return false;
}

/* Set *ERR to a copy of TEXT and return STM_COND_ERROR. */
static stm_cond_result
cond_error(char **err, const char *text)
{
    *err = strdup(text);
    return STM_COND_ERROR;
}

/* Evaluate COND (see cond.h). */
stm_cond_result
stm_cond_eval(const stm_cond *c, const stm_session *s, stm_stage stage, const stm_delegation *deleg,
             char **err)
{
    *err = NULL;
    if (c == NULL)
        return STM_COND_TRUE;

    /* The copy that header/body conditions judge. */
    const stm_message *msg = &s->message;
    if (deleg != NULL && deleg->result == STM_DELEGATION_RETURNED)
        msg = &deleg->returned;

    switch (c->type) {
    case STM_COND_ALL:
    case STM_COND_ANY: {
        bool want = c->type == STM_COND_ANY; /* the value that decides early */
        for (size_t i = 0; i < c->nchildren; i++) {
            stm_cond_result r = stm_cond_eval(c->children[i], s, stage, deleg, err);
            if (r == STM_COND_ERROR)
                return r;
            if ((r == STM_COND_TRUE) == want)
                return want ? STM_COND_TRUE : STM_COND_FALSE;
        }
        return want ? STM_COND_FALSE : STM_COND_TRUE;
    }
    case STM_COND_NOT: {
        if (c->nchildren == 0)
            return STM_COND_FALSE;
        stm_cond_result r = stm_cond_eval(c->children[0], s, stage, deleg, err);
        if (r == STM_COND_ERROR)
            return r;
        return r == STM_COND_TRUE ? STM_COND_FALSE : STM_COND_TRUE;
    }
    case STM_COND_CLIENT_IP:
        return stm_pattern_match(c->pattern, s->client_ip);
    case STM_COND_CLIENT_NAME:
        return stm_pattern_match(c->pattern, s->client_name);
    case STM_COND_HELO:
        return stm_pattern_match(c->pattern, s->helo);
    case STM_COND_SENDER:
        return stm_pattern_match(c->pattern, s->sender);
    case STM_COND_SENDER_DOMAIN:
        return stm_pattern_match(c->pattern, cond_domain(s->sender));
    case STM_COND_RCPT:
    case STM_COND_RCPT_DOMAIN: {
        bool domain = c->type == STM_COND_RCPT_DOMAIN;
        if (stage == STM_STAGE_RCPT)
            return cond_rcpt_match(c->pattern, s->current_rcpt, domain);
        for (size_t i = 0; i < s->nrcpts; i++)
            if (cond_rcpt_match(c->pattern, s->rcpts[i], domain))
                return STM_COND_TRUE;
        return STM_COND_FALSE;
    }
    case STM_COND_AUTH:
        if (c->auth_is_bool)
            return cond_macro_set(s, "auth_authen") == c->flag;
        return stm_pattern_match(c->pattern, stm_session_macro(s, "auth_authen"));
    case STM_COND_TLS:
        return (cond_macro_set(s, "tls_version") || cond_macro_set(s, "cipher")) == c->flag;
    case STM_COND_HEADER:
        for (size_t i = 0; i < msg->nheaders; i++)
            if (strcasecmp(msg->headers[i].name, c->name) == 0 &&
                stm_pattern_match(c->pattern, msg->headers[i].value))
                return STM_COND_TRUE;
        return STM_COND_FALSE;
    case STM_COND_HAS_HEADER:
        return stm_message_find_header(msg, c->name) != NULL;
    case STM_COND_BODY:
        if (msg->truncated)
            return cond_error(err, "body condition on a message larger than "
                                   "milter.max_message_size (body not kept)");
        return stm_pattern_match_buf(c->pattern, msg->body ? msg->body : "", msg->body_len);
    case STM_COND_SIZE:
        return cond_size(c, s->message.size);
    case STM_COND_MACRO:
        return stm_pattern_match(c->pattern, stm_session_macro(s, c->name));
    case STM_COND_VAR:
        return stm_pattern_match(c->pattern, stm_session_var(s, c->name));
    case STM_COND_DELEGATION:
        return deleg != NULL && (c->delegation_mask & (1u << deleg->result)) != 0;
    case STM_COND_REPLY:
        return deleg != NULL && stm_pattern_match(c->pattern, deleg->reply);
    }
    return cond_error(err, "unknown condition type");
}
