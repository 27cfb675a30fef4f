/*
 * mime.h - what is inside a message: its decoded header values, the decoded
 * text of its text parts, the URLs in them, and every part at any depth
 * (multipart, message/rfc822, archive members) with its name, types, size
 * and defects (DESIGN.md "Seeing inside the message"). Private to policy/.
 *
 * The layer sits above policy/match and below policy/run: run/message.c
 * frees the result cached on a message, and the conditions of
 * cond/cond_mime.c read it. It never includes libmilter.
 *
 * Libraries: GMime 3 parses the structure and undoes RFC 2047, RFC 2231,
 * base64, quoted-printable and charsets; libarchive reads archives
 * (mime_archive.c); libmagic names the type from the content
 * (mime_magic.c). HTML to text and URL finding are our own (mime_text.c).
 *
 * Entry points: stm_mime_parse() reads a GMime stream (a memory stream
 * over the message as kept, or the headers then the spool file of a
 * spooled body, read in place);
 * stm_mime_of_message() parses a stm_message once, lazily, and caches the
 * result on it (a message belongs to one session, judged by one thread).
 *
 * Ownership: a stm_mime owns all it holds; stm_mime_free() releases it.
 * The one cached on a message belongs to the message (stm_message_clear()).
 *
 * Errors: malformed input is never an error but a defect; only memory
 * exhaustion is (NULL, with a reason).
 */
#ifndef STAGEMILTER_MIME_H
#define STAGEMILTER_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stagemilter/config.h"
#include "stagemilter/message.h"

/* The defects the parser reports, one bit each (names: stm_mime_defect_name). */
typedef enum stm_mime_defect {
    STM_MIME_DEFECT_LIMIT,            /* limit: a milter.mime limit was reached */
    STM_MIME_DEFECT_MISSING_BOUNDARY, /* missing_boundary: a multipart without (closing) boundary */
    STM_MIME_DEFECT_BAD_ENCODING,     /* bad_encoding: broken base64 or quoted-printable */
    STM_MIME_DEFECT_BAD_CHARSET,      /* bad_charset: a charset nobody knows */
    STM_MIME_DEFECT_BAD_HEADER,       /* bad_header: a malformed field, 8-bit or bad RFC 2047 */
    STM_MIME_DEFECT_LONG_LINE,        /* long_line: a line longer than 998 bytes */
    STM_MIME_DEFECT_NUL,              /* nul_byte: a NUL byte outside an encoded part */
    STM_MIME_DEFECT_BAD_ARCHIVE,      /* bad_archive: an archive that cannot be read */
    STM_MIME_DEFECT_COUNT
} stm_mime_defect;

/* One part: a container (multipart, message/rfc822, archive) or a leaf. */
typedef struct stm_mime_part {
    int parent;          /* index in stm_mime.parts, -1 for the top */
    unsigned depth;      /* 0 for the top; an archive member is one below its archive */
    char *type;          /* declared "type/subtype", lower case; for members: "" */
    char *detected_type; /* libmagic's MIME type of the content, or "" */
    char *name;          /* decoded file name (UTF-8), or "" */
    uint64_t size;       /* decoded content bytes (for a member: as stored, uncompressed) */
    bool container;      /* multipart, message/rfc822 or an archive that was opened */
    bool in_archive;
    bool encrypted;      /* an encrypted archive member */
    unsigned defects;    /* 1u << stm_mime_defect met in this part */
} stm_mime_part;

typedef struct stm_mime_url {
    char *url;  /* as written (HTML entities undone) */
    char *host; /* lower case, without user, port or trailing dot; may be "" */
    int part;   /* index of the part it came from */
} stm_mime_url;

typedef struct stm_mime {
    char *subject; /* the first Subject, unfolded and decoded to UTF-8; NULL: none */
    stm_mime_part *parts;
    size_t nparts;
    char *text; /* every text/plain and text/html part decoded to UTF-8, HTML without
                 * markup, parts separated by "\n"; NUL-terminated */
    size_t text_len;
    stm_mime_url *urls;
    size_t nurls;
    const char **hosts; /* each URL host once, in order of appearance; borrowed from urls */
    size_t nhosts;
    unsigned defects;    /* union of every part's and the message's */
    uint64_t archive_bytes; /* expanded from archives so far */
    size_t archive_members;
    int matched_part; /* the part that last made a condition hold, -1: none (for --trace) */
} stm_mime;

/* The name of defect D ("limit", "missing_boundary", ...). */
const char *stm_mime_defect_name(stm_mime_defect d);

/* Parse the message read from STREAM (a GMimeStream *; not consumed:
 * the caller still owns it) within LIMITS. NULL on memory exhaustion, with
 * *ERR a static reason. */
stm_mime *stm_mime_parse(void *stream, const stm_mime_limits *limits, const char **err);
/* Parse the LEN bytes of DATA (a whole message) through a memory stream;
 * as stm_mime_parse. For callers without GMime's headers (the fuzzer). */
stm_mime *stm_mime_parse_buffer(const void *data, size_t len, const stm_mime_limits *limits,
                                const char **err);
/* Parse MSG (headers as kept, then its body) once and cache the result on it:
 * the second call returns the first's. NULL on memory exhaustion. Borrowed
 * from MSG until it changes or is cleared. */
const stm_mime *stm_mime_of_message(const stm_message *msg, const stm_mime_limits *limits,
                                    const char **err);
void stm_mime_free(stm_mime *m); /* accepts NULL */
/* Note that PART made a condition hold (for --trace). The note is not part
 * of the parse: it may be written on a parse shared as const. */
void stm_mime_note_match(const stm_mime *m, int part);

/* A header value as kept (folded, maybe RFC 2047-encoded, maybe 8-bit)
 * unfolded and decoded to UTF-8. Caller frees; NULL on memory exhaustion. */
char *stm_mime_decode_header(const char *raw);

/* The defaults of DESIGN.md. */
void stm_mime_limits_default(stm_mime_limits *limits);

#endif
