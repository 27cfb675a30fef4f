/*
 * cond.c - evaluating `if:` conditions against a session (cond.h).
 *
 * Functions: sm_cond_eval.
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
 * milter.max_message_size) cannot be answered: SM_COND_ERROR, and the engine
 * applies milter.on_error. Nothing is allocated except the error text.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cond.h"

/* The part of ADDR after its last '@', or NULL when it has none. */
static const char *
cond_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    return at ? at + 1 : NULL;
}

/* Does P match RCPT (or its domain when DOMAIN)? */
static bool
cond_rcpt_match(const sm_pattern *p, const char *rcpt, bool domain)
{
    return sm_pattern_match(p, domain ? cond_domain(rcpt) : rcpt);
}

/* Is the macro NAME set to something non-empty? */
static bool
cond_macro_set(const sm_session *s, const char *name)
{
    const char *v = sm_session_macro(s, name);
    return v != NULL && *v != '\0';
}

/* Compare SIZE with the condition's operand. */
static bool
cond_size(const sm_cond *c, uint64_t size)
{
    switch (c->size_op) {
    case SM_SIZE_GT:
        return size > c->size;
    case SM_SIZE_GE:
        return size >= c->size;
    case SM_SIZE_LT:
        return size < c->size;
    case SM_SIZE_LE:
        return size <= c->size;
    case SM_SIZE_EQ:
        return size == c->size;
    }
    return false;
}

/* Set *ERR to a copy of TEXT and return SM_COND_ERROR. */
static sm_cond_result
cond_error(char **err, const char *text)
{
    *err = strdup(text);
    return SM_COND_ERROR;
}

/* Evaluate COND (see cond.h). */
sm_cond_result
sm_cond_eval(const sm_cond *c, const sm_session *s, sm_stage stage, const sm_delegation *deleg,
             char **err)
{
    *err = NULL;
    if (c == NULL)
        return SM_COND_TRUE;

    /* The copy that header/body conditions judge. */
    const sm_message *msg = &s->message;
    if (deleg != NULL && deleg->result == SM_DELEGATION_RETURNED)
        msg = &deleg->returned;

    switch (c->type) {
    case SM_COND_ALL:
    case SM_COND_ANY: {
        bool want = c->type == SM_COND_ANY; /* the value that decides early */
        for (size_t i = 0; i < c->nchildren; i++) {
            sm_cond_result r = sm_cond_eval(c->children[i], s, stage, deleg, err);
            if (r == SM_COND_ERROR)
                return r;
            if ((r == SM_COND_TRUE) == want)
                return want ? SM_COND_TRUE : SM_COND_FALSE;
        }
        return want ? SM_COND_FALSE : SM_COND_TRUE;
    }
    case SM_COND_NOT: {
        if (c->nchildren == 0)
            return SM_COND_FALSE;
        sm_cond_result r = sm_cond_eval(c->children[0], s, stage, deleg, err);
        if (r == SM_COND_ERROR)
            return r;
        return r == SM_COND_TRUE ? SM_COND_FALSE : SM_COND_TRUE;
    }
    case SM_COND_CLIENT_IP:
        return sm_pattern_match(c->pattern, s->client_ip);
    case SM_COND_CLIENT_NAME:
        return sm_pattern_match(c->pattern, s->client_name);
    case SM_COND_HELO:
        return sm_pattern_match(c->pattern, s->helo);
    case SM_COND_SENDER:
        return sm_pattern_match(c->pattern, s->sender);
    case SM_COND_SENDER_DOMAIN:
        return sm_pattern_match(c->pattern, cond_domain(s->sender));
    case SM_COND_RCPT:
    case SM_COND_RCPT_DOMAIN: {
        bool domain = c->type == SM_COND_RCPT_DOMAIN;
        if (stage == SM_STAGE_RCPT)
            return cond_rcpt_match(c->pattern, s->current_rcpt, domain);
        for (size_t i = 0; i < s->nrcpts; i++)
            if (cond_rcpt_match(c->pattern, s->rcpts[i], domain))
                return SM_COND_TRUE;
        return SM_COND_FALSE;
    }
    case SM_COND_AUTH:
        if (c->auth_is_bool)
            return cond_macro_set(s, "auth_authen") == c->flag;
        return sm_pattern_match(c->pattern, sm_session_macro(s, "auth_authen"));
    case SM_COND_TLS:
        return (cond_macro_set(s, "tls_version") || cond_macro_set(s, "cipher")) == c->flag;
    case SM_COND_HEADER:
        for (size_t i = 0; i < msg->nheaders; i++)
            if (strcasecmp(msg->headers[i].name, c->name) == 0 &&
                sm_pattern_match(c->pattern, msg->headers[i].value))
                return SM_COND_TRUE;
        return SM_COND_FALSE;
    case SM_COND_HAS_HEADER:
        return sm_message_find_header(msg, c->name) != NULL;
    case SM_COND_BODY:
        if (msg->truncated)
            return cond_error(err, "body condition on a message larger than "
                                   "milter.max_message_size (body not kept)");
        return sm_pattern_match_buf(c->pattern, msg->body ? msg->body : "", msg->body_len);
    case SM_COND_SIZE:
        return cond_size(c, s->message.size);
    case SM_COND_MACRO:
        return sm_pattern_match(c->pattern, sm_session_macro(s, c->name));
    case SM_COND_VAR:
        return sm_pattern_match(c->pattern, sm_session_var(s, c->name));
    case SM_COND_DELEGATION:
        return deleg != NULL && (c->delegation_mask & (1u << deleg->result)) != 0;
    case SM_COND_REPLY:
        return deleg != NULL && sm_pattern_match(c->pattern, deleg->reply);
    }
    return cond_error(err, "unknown condition type");
}
