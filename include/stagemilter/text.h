/*
 * text.h - the one sanitizer for text that came from outside (peers,
 * scanners, messages, envelopes) before it goes into a log line, a trace,
 * a statistics label or an SMTP reply.
 *
 * stm_text_clean() copies SRC into DST (DSTLEN bytes, always
 * NUL-terminated) keeping printable ASCII; every other byte (control
 * characters, DEL, and bytes >= 0x80 unless STM_TEXT_UTF8) becomes REPL.
 * Flags:
 *   STM_TEXT_QUOTED  '"' and '\\' become REPL too (the value goes inside
 *                    quotes: key="value" log fields, Prometheus labels, traces)
 *   STM_TEXT_UTF8    bytes >= 0x80 are kept (the caller's sink takes UTF-8)
 *   STM_TEXT_SPACE   REPL is ' ' instead of '?' (SMTP reply texts)
 *   STM_TEXT_ELLIPSIS  when SRC does not fit, the copy ends in "..." so the
 *                    reader sees it was cut
 * MAX (0 = no limit but DSTLEN) bounds how many bytes of SRC are copied.
 * SRC NULL is the empty string. Returns DST. No allocation, no failure.
 */
#ifndef STAGEMILTER_TEXT_H
#define STAGEMILTER_TEXT_H

#include <stddef.h>

enum {
    STM_TEXT_QUOTED = 1u << 0,
    STM_TEXT_UTF8 = 1u << 1,
    STM_TEXT_SPACE = 1u << 2,
    STM_TEXT_ELLIPSIS = 1u << 3
};

char *stm_text_clean(char *dst, size_t dstlen, const char *src, size_t max, unsigned flags);

/* Clean the NUL-terminated TEXT in place with the same rules (no
 * truncation); returns TEXT. */
char *stm_text_clean_inplace(char *text, unsigned flags);

#endif
