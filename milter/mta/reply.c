/*
 * reply.c - verdicts to libmilter statuses (reply.h).
 *
 * FUNCTIONS
 *      stm_reply_status()    verdict of a stage before end of message
 *      stm_reply_refusal()   smfi_setreply() + SMFIS_REJECT / SMFIS_TEMPFAIL
 *      stm_reply_escape()    '%' doubled for smfi_setreply()
 *
 * DESCRIPTION
 *      next/accept continue; faccept is SMFIS_ACCEPT unless add_header
 *      effects are pending (then continue: the engine skips every later rule
 *      anyway, and end of message applies the headers); deny/reject set the
 *      reply and reject; info/defer set it and tempfail; discard is
 *      SMFIS_DISCARD; a quarantine decided before end of message continues to
 *      end of message, where the message is stored or held.
 *      At connect a refusal is mapped the same way: Postfix answers with its
 *      own text, the policy's code and text are in the log line.
 *      Each verb's class and default reply come from the verb table
 *      (verbs.h). The verdicts the engine returns carry resolved codes;
 *      should one come without (code 0), the table's defaults are used here.
 *
 * DIAGNOSTICS
 *      A failing smfi_setreply() is logged; the status stands.
 */
#include <stdio.h>
#include <string.h>

#include "report/log.h"
#include "mta/reply.h"
#include "stagemilter/text.h"
#include "stagemilter/limits.h"
#include "stagemilter/verbs.h"

/* Control characters made spaces (the one sanitizer, stagemilter/text.h),
 * then '%' doubled for smfi_setreply(), truncated to DSTLEN. */
char *
stm_reply_escape(char *dst, size_t dstlen, const char *text)
{
    char clean[STM_REPLY_BUFFER_MAX];
    size_t j = 0;
    stm_text_clean(clean, dstlen < sizeof clean ? dstlen : sizeof clean, text, 0,
                   STM_TEXT_SPACE | STM_TEXT_UTF8);
    for (size_t i = 0; clean[i] != '\0'; i++) {
        size_t need = clean[i] == '%' ? 2 : 1;
        if (j + need >= dstlen)
            break;
        if (clean[i] == '%')
            dst[j++] = '%';
        dst[j++] = clean[i];
    }
    dst[j] = '\0';
    return dst;
}

/* Set the reply of a refusal and return its status. */
sfsistat
stm_reply_refusal(SMFICTX *ctx, const stm_verdict *v)
{
    const stm_verb_info *row = stm_verb_row(v->verb);
    if (row == NULL || !stm_verb_is_refusal(v->verb))
        return SMFIS_CONTINUE;
    bool temporary = row->reply == STM_VERB_CLASS_TEMPFAIL;
    /* The engine resolves every reply; a verdict without one gets the table's. */
    const stm_verb_reply *dflt = stm_verb_default(v->verb, v->stage);

    char code[8], enhanced[sizeof v->enhanced];
    char text[STM_REPLY_BUFFER_MAX];
    snprintf(code, sizeof code, "%d", v->code != 0 ? v->code : dflt->code);
    snprintf(enhanced, sizeof enhanced, "%s",
             v->enhanced[0] != '\0' ? v->enhanced : dflt->enhanced);
    stm_reply_escape(text, sizeof text, v->text);
    if (smfi_setreply(ctx, code, enhanced, text[0] != '\0' ? text : NULL) != MI_SUCCESS)
        stm_log(LOG_WARNING, "smfi_setreply(%s, %s) failed; the MTA uses its own reply text", code,
               enhanced);
    return temporary ? SMFIS_TEMPFAIL : SMFIS_REJECT;
}

/* Verdict of a stage before end of message to a status, by the verb's class. */
sfsistat
stm_reply_status(SMFICTX *ctx, stm_stage stage, const stm_verdict *v, bool headers_pending)
{
    const stm_verb_info *row = stm_verb_row(v->verb);
    if (row == NULL)
        return SMFIS_TEMPFAIL; /* an unknown verb: never lose mail */
    switch (row->reply) {
    case STM_VERB_CLASS_CONTINUE:
    case STM_VERB_CLASS_QUARANTINE:
        return SMFIS_CONTINUE;
    case STM_VERB_CLASS_ACCEPT:
        return headers_pending ? SMFIS_CONTINUE : SMFIS_ACCEPT;
    case STM_VERB_CLASS_REJECT:
    case STM_VERB_CLASS_TEMPFAIL:
        return stm_reply_refusal(ctx, v);
    case STM_VERB_CLASS_DISCARD:
        return SMFIS_DISCARD;
    }
    return SMFIS_TEMPFAIL;
}
