/*
 * fuzz_mime.c - libFuzzer target: the MIME layer (policy/mime) over any
 * bytes as a message: GMime's parse, the walk with its limits, transfer
 * decodings and charsets, HTML to text, URL finding, libmagic and
 * libarchive on whatever the parts hold.
 *
 * Feeds: the input as a whole message, through the GMime stream entry
 * (stm_mime_parse_buffer: a memory stream) and through a stm_message (stm_message_parse, then
 * stm_mime_of_message), with small limits so that a run reaches them
 * (max_depth 8, max_parts 64, archive_depth 2, archive_members 32,
 * archive_bytes 1M); the first header value also through
 * stm_mime_decode_header.
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - message parts stay within max_parts, archive members within
 *     archive_members, and a part's parent comes before it, one level up;
 *   - bytes expanded from archives pass archive_bytes by at most one chunk
 *     of reading (64 KiB), and an archive member's size never more;
 *   - the text is valid UTF-8 of exactly text_len bytes without a NUL, and
 *     so are names, the subject and decoded header values;
 *   - every URL's host is lower case and a suffix-free part of its URL's
 *     characters; each host is listed once in hosts;
 *   - a second stm_mime_of_message returns the cached parse.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "mime/mime.h"
#include "stagemilter/message.h"

static const stm_mime_limits fuzz_limits = {
    .max_depth = 8, .max_parts = 64, .archive_depth = 2, .archive_members = 32,
    .archive_bytes = 1024 * 1024};

/* Is S (LEN bytes) valid UTF-8 (RFC 3629: no overlong form, no
 * surrogate, nothing past U+10FFFF) without a NUL? */
static bool
fuzz_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p++;
        size_t n;
        unsigned cp, min;
        if (c == 0)
            return false;
        if (c < 0x80)
            continue;
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if ((size_t)(end - p) < n)
            return false;
        for (size_t i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (*p & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
    }
    return true;
}

/* The invariants of a parse M. */
static void
fuzz_mime_check(const stm_mime *m)
{
    size_t message_parts = 0, members = 0;
    for (size_t i = 0; i < m->nparts; i++) {
        const stm_mime_part *p = &m->parts[i];
        FUZZ_CHECK(p->parent < (int)i);
        if (p->parent >= 0)
            FUZZ_CHECK(p->depth == m->parts[p->parent].depth + 1);
        else
            FUZZ_CHECK(p->depth == 0);
        if (p->in_archive) {
            members++;
            /* An encrypted member is not read: its size is the one its
             * archive declares (mime.h, README), bounded by nothing. */
            FUZZ_CHECK(p->encrypted || p->size <= fuzz_limits.archive_bytes + 64 * 1024);
        } else {
            message_parts++;
            FUZZ_CHECK(p->depth <= fuzz_limits.max_depth);
        }
        FUZZ_CHECK(fuzz_utf8(p->name, strlen(p->name)));
        FUZZ_CHECK(p->defects < (1u << STM_MIME_DEFECT_COUNT));
        FUZZ_CHECK((p->defects & ~m->defects) == 0);
    }
    FUZZ_CHECK(message_parts <= fuzz_limits.max_parts);
    FUZZ_CHECK(members <= fuzz_limits.archive_members);
    FUZZ_CHECK(members == 0 || members <= m->archive_members);
    FUZZ_CHECK(m->archive_bytes <= fuzz_limits.archive_bytes + 64 * 1024);
    if (m->text != NULL)
        FUZZ_CHECK(strlen(m->text) == m->text_len && fuzz_utf8(m->text, m->text_len));
    else
        FUZZ_CHECK(m->text_len == 0);
    if (m->subject != NULL)
        FUZZ_CHECK(fuzz_utf8(m->subject, strlen(m->subject)));
    FUZZ_CHECK(m->nhosts <= m->nurls);
    for (size_t i = 0; i < m->nurls; i++) {
        const char *h = m->urls[i].host;
        for (const char *c = h; *c; c++)
            FUZZ_CHECK(!isupper((unsigned char)*c));
        FUZZ_CHECK(m->urls[i].part >= 0 && (size_t)m->urls[i].part < m->nparts);
        bool listed = false;
        for (size_t k = 0; k < m->nhosts; k++)
            listed = listed || strcmp(m->hosts[k], h) == 0;
        FUZZ_CHECK(listed);
    }
    for (size_t k = 0; k < m->nhosts; k++)
        for (size_t j = k + 1; j < m->nhosts; j++)
            FUZZ_CHECK(strcmp(m->hosts[k], m->hosts[j]) != 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *err = NULL;

    /* The stream entry, over a memory stream. */
    stm_mime *m = stm_mime_parse_buffer(data, size, &fuzz_limits, &err);
    FUZZ_CHECK(m != NULL);
    fuzz_mime_check(m);
    stm_mime_free(m);

    /* Through a message, as the milter keeps it. */
    stm_message msg;
    stm_message_init(&msg);
    if (stm_message_parse(&msg, (const char *)data, size, &err) == 0) {
        const stm_mime *cached = stm_mime_of_message(&msg, &fuzz_limits, &err);
        FUZZ_CHECK(cached != NULL);
        fuzz_mime_check(cached);
        FUZZ_CHECK(stm_mime_of_message(&msg, &fuzz_limits, &err) == cached);
        if (msg.nheaders > 0) {
            char *dec = stm_mime_decode_header(msg.headers[0].value);
            FUZZ_CHECK(dec != NULL && fuzz_utf8(dec, strlen(dec)));
            free(dec);
        }
    }
    stm_message_clear(&msg);
    return 0;
}
