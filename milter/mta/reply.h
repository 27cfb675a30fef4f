/*
 * reply.h - the ONE place where an engine verdict becomes a libmilter status
 * (SMFIS_*) and, for refusals, an SMTP reply via smfi_setreply().
 */
#ifndef STAGEMILTER_MILTER_REPLY_H
#define STAGEMILTER_MILTER_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "stagemilter/engine.h"

/* Map V, decided at STAGE (one of connect..data; end of message is handled
 * by the eom callback, which uses stm_reply_refusal() for refusals), to the
 * status libmilter must return. HEADERS_PENDING: add_header effects wait for
 * end of message, so a faccept must continue to get there. */
sfsistat stm_reply_status(SMFICTX *ctx, stm_stage stage, const stm_verdict *v, bool headers_pending);

/* For a refusal (stm_verb_is_refusal: deny, info, reject, defer): set the
 * SMTP reply from V and return SMFIS_REJECT or SMFIS_TEMPFAIL, as the verb's
 * reply class says. Other verbs: SMFIS_CONTINUE. A failing
 * smfi_setreply() is logged; the status is returned regardless. */
sfsistat stm_reply_refusal(SMFICTX *ctx, const stm_verdict *v);

/* Copy TEXT into DST (DSTLEN bytes) with every '%' doubled, as
 * smfi_setreply() requires, and control characters replaced by spaces.
 * Truncates to fit. Returns DST. */
char *stm_reply_escape(char *dst, size_t dstlen, const char *text);

#endif
