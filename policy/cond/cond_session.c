/*
 * cond_session.c - conditions on what the MTA and earlier rules told about
 * the connection: auth, tls, macro, var (cond_table.h).
 *
 * Functions: stm_cond_session_parse_auth, stm_cond_session_parse_tls,
 * stm_cond_session_auth, stm_cond_session_tls, stm_cond_session_macro,
 * stm_cond_session_var. macro and var are parsed by stm_cond_parse_named
 * (cond_parse.c), which also notes macro names for the milter to fetch.
 *
 * Semantics (DESIGN.md, Conditions): tls holds when macro tls_version or
 * cipher is non-empty; auth: true/false is "macro auth_authen is non-empty",
 * a pattern matches auth_authen. An unset macro or variable never matches.
 *
 * Ownership: parsed conditions belong to the caller (stm_cond_free()).
 * Errors: parse errors go to the loader's diag; evaluation never fails.
 */
#include "config.h"

#include "cond/cond_table.h"
#include "read/reader.h"

/* auth: true | false | pattern. */
stm_cond *
stm_cond_session_parse_auth(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                            const stm_yt_node *key, const stm_yt_node *v,
                            const stm_config_scope *scope)
{
    bool b;
    if (!stm_config_is_bool(v, &b))
        return stm_cond_parse_pattern(ld, row, type, key, v, scope);
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL) {
        c->auth_is_bool = true;
        c->flag = b;
    }
    return c;
}

/* tls: true | false. */
stm_cond *
stm_cond_session_parse_tls(stm_loader *ld, const stm_cond_row *row, stm_cond_type type,
                           const stm_yt_node *key, const stm_yt_node *v,
                           const stm_config_scope *scope)
{
    bool b;
    (void)scope;
    if (stm_config_bool(ld, v, row->key, &b) < 0)
        return NULL;
    stm_cond *c = stm_cond_parse_new(ld, type, key);
    if (c != NULL)
        c->flag = b;
    return c;
}

/* Is the macro NAME set to something non-empty? */
static bool
cond_session_macro_set(const stm_session *s, const char *name)
{
    const char *v = stm_session_macro(s, name);
    return v != NULL && *v != '\0';
}

/* auth: authenticated or not, or the authenticated user. */
stm_cond_result
stm_cond_session_auth(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (c->auth_is_bool)
        return cond_session_macro_set(ctx->s, "auth_authen") == c->flag;
    return stm_cond_of_match(stm_pattern_match(c->pattern, stm_session_macro(ctx->s, "auth_authen"), err));
}

/* tls: the client talks TLS or not. */
stm_cond_result
stm_cond_session_tls(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    (void)err;
    return (cond_session_macro_set(ctx->s, "tls_version") ||
            cond_session_macro_set(ctx->s, "cipher")) == c->flag;
}

/* macro: one MTA macro. */
stm_cond_result
stm_cond_session_macro(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_of_match(stm_pattern_match(c->pattern, stm_session_macro(ctx->s, c->name), err));
}

/* var: one variable set by a `set` effect. */
stm_cond_result
stm_cond_session_var(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    return stm_cond_of_match(stm_pattern_match(c->pattern, stm_session_var(ctx->s, c->name), err));
}
