/*
 * cond_scan.c - conditions on what a content scanner said (clamd, spamd,
 * rspamd; stagemilter/scan_result.h), allowed only inside a delegate
 * rule's rules: virus (cond_table.h).
 *
 * Functions: stm_cond_scan_virus. virus is parsed by stm_cond_parse_pattern
 * (cond_parse.c).
 *
 * Semantics (DESIGN.md, Talking to the scanners people run): virus holds
 * when the scanner named a signature (clamd's "NAME FOUND", an SMTP
 * scanner's X-Virus-Infected header) and the name matches. Nothing named,
 * or outside a delegation: it does not hold.
 *
 * Ownership: parsed conditions belong to the caller (stm_cond_free()).
 * Errors: parse errors go to the loader's diag; a pattern that fails while
 * matching is an error (fail closed).
 */
#include "config.h"

#include "cond/cond_table.h"

/* virus: the signature the scanner named. */
stm_cond_result
stm_cond_scan_virus(const stm_cond *c, const stm_cond_ctx *ctx, char **err)
{
    if (ctx->deleg == NULL || ctx->deleg->scan.virus == NULL)
        return STM_COND_FALSE;
    return stm_cond_of_match(stm_pattern_match(c->pattern, ctx->deleg->scan.virus, err));
}
