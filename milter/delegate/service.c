/*
 * service.c - which operations talk to a service of each protocol
 * (service.h): the table delegate.c reads.
 *
 * Functions: stm_service_ops_for, stm_delegate_log.
 *
 * A new protocol is one row here (and its file, and its row in
 * policy/load/services.c). SMTP and LMTP share one implementation: it tells
 * them apart by the service's protocol (LHLO, one reply per recipient).
 *
 * Ownership: the rows are static and immutable.
 *
 * Errors: NULL for a value outside the table (the loader never makes one).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include <stddef.h>

#include "delegate/service.h"
#include "stagemilter/text.h"

static const stm_service_ops *const service_table[] = {
    [STM_PROTO_SMTP] = &stm_smtp_scanner_ops,
    [STM_PROTO_LMTP] = &stm_smtp_scanner_ops,
    [STM_PROTO_CLAMD] = &stm_clamd_ops,
    [STM_PROTO_SPAMD] = &stm_spamd_ops,
    [STM_PROTO_RSPAMD] = &stm_rspamd_ops,
};

/* The operations of protocol P. */
const stm_service_ops *
stm_service_ops_for(stm_protocol p)
{
    if ((size_t)p >= sizeof service_table / sizeof service_table[0])
        return NULL;
    return service_table[p];
}

/* Log one formatted line through the context's callback (service.h). */
void
stm_delegate_log(const stm_delegate_ctx *ctx, const char *fmt, ...)
{
    char line[1200];
    va_list ap;

    if (ctx->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    stm_text_clean_inplace(line, 0);
    ctx->log(ctx->log_arg, line);
}
