/*
 * text.c - cleaning outside text for logs, traces, labels and replies
 * (stagemilter/text.h).
 *
 * Functions: stm_text_clean, stm_text_clean_inplace. Pure functions: no
 * state, no allocation; the caller owns both buffers.
 */
#include "stagemilter/text.h"

#include <stdbool.h>
#include <string.h>

/* The byte C is kept as it is under FLAGS. */
static bool
text_keeps(unsigned char c, unsigned flags)
{
    if (c >= 0x80)
        return (flags & STM_TEXT_UTF8) != 0;
    if (c < 0x20 || c == 0x7f)
        return false;
    if ((c == '"' || c == '\\') && (flags & STM_TEXT_QUOTED))
        return false;
    return true;
}

/* What a byte that is not kept becomes. */
static char
text_repl(unsigned flags)
{
    return (flags & STM_TEXT_SPACE) ? ' ' : '?';
}

/* Copy SRC into DST, cleaned and bounded (see text.h). */
char *
stm_text_clean(char *dst, size_t dstlen, const char *src, size_t max, unsigned flags)
{
    if (dstlen == 0)
        return dst;
    if (src == NULL)
        src = "";
    size_t cap = dstlen - 1;
    if (max != 0 && max < cap)
        cap = max;
    size_t i = 0;
    for (; src[i] != '\0' && i < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = text_keeps(c, flags) ? (char)c : text_repl(flags);
    }
    if (src[i] != '\0' && (flags & STM_TEXT_ELLIPSIS) && cap >= 3) {
        i = cap - 3;
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i] = '\0';
    return dst;
}

/* Clean TEXT where it is. */
char *
stm_text_clean_inplace(char *text, unsigned flags)
{
    for (char *p = text; p != NULL && *p != '\0'; p++)
        if (!text_keeps((unsigned char)*p, flags))
            *p = text_repl(flags);
    return text;
}
