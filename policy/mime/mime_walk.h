/*
 * mime_walk.h - what the files of policy/mime share while one message
 * is walked: the growing result, the limits, and the helpers each file
 * offers the others. Private to policy/mime.
 */
#ifndef STAGEMILTER_MIME_WALK_H
#define STAGEMILTER_MIME_WALK_H

#include <glib.h>

#include "mime/mime.h"

/* One walk over one message. */
typedef struct stm_mime_walk {
    stm_mime *m;
    const stm_mime_limits *lim;
    size_t parts_cap;
    size_t urls_cap;
    size_t hosts_cap;
    size_t text_cap;
    GHashTable *url_set;  /* the URLs of m->urls (borrowed keys), for finding repeats */
    GHashTable *host_set; /* the hosts of m->hosts (borrowed keys) */
    size_t message_parts; /* parts outside archives, against max_parts */
    bool parts_full;      /* max_parts reached: no more message parts */
    bool nomem;           /* an allocation failed: the walk gives up */
    const char *failed;   /* with nomem: not memory but this (a spool file
                           * could not be written or read), a static text */
    /* A spooled message (milter.spool): parts whose content is larger than
     * spool_memory are decoded into a file of spool_dir, and the text kept
     * for body/url conditions stops at text_max bytes (defect limit).
     * spool_dir NULL: everything in memory, no text_max. */
    const char *spool_dir;
    uint64_t spool_memory;
    size_t text_max;
} stm_mime_walk;

/* How much of a part's content libmagic reads: enough for every format it
 * names by its header (executables, archives, documents, images); its
 * soft-magic regexes cost time in proportion to what it is given. */
#define STM_MIME_MAGIC_BYTES (4u * 1024u)

/* mime_parse.c: append a part (copies the strings; NULL is ""); its index, or -1
 * when max_parts was reached (for a part outside archives: defect limit on
 * PARENT) or memory ran out. */
int stm_mime_walk_add_part(stm_mime_walk *w, int parent, unsigned depth, const char *type,
                           const char *name, bool in_archive);
/* Record defect D on PART (-1: the message). */
void stm_mime_walk_defect(stm_mime_walk *w, int part, stm_mime_defect d);
/* Name the content DATA of PART with libmagic, and open it when it is an
 * archive (ARCHIVE_DEPTH archives above it). */
void stm_mime_walk_content(stm_mime_walk *w, int part, const unsigned char *data, size_t len,
                           unsigned archive_depth);

/* The same for content in the spool file FD (LEN bytes): libmagic reads its
 * start, libarchive reads it from the file. */
void stm_mime_walk_content_fd(stm_mime_walk *w, int part, int fd, uint64_t len);

/* mime_text.c: append the text of PART (LEN bytes in CHARSET, NULL for
 * UTF-8/US-ASCII; HTML when HTML) to the message's text, and its URLs. */
void stm_mime_text_add(stm_mime_walk *w, int part, const char *data, size_t len,
                       const char *charset, bool html);
/* Convert LEN bytes in CHARSET to valid UTF-8 (unknown charset: *UNKNOWN set,
 * bytes taken as ISO-8859-1). Caller frees; NULL on memory exhaustion. */
char *stm_mime_text_to_utf8(const char *data, size_t len, const char *charset, bool *unknown);

/* mime_magic.c: libmagic's MIME type of DATA (at most STM_MIME_MAGIC_BYTES
 * are read); "" when it cannot tell. Caller frees; NULL on ENOMEM. */
char *stm_mime_magic_type(const unsigned char *data, size_t len);
/* The type of DATA declared DECLARED (a text/ type): DECLARED itself when
 * the content is text (no NUL and valid UTF-8 or 8-bit text in its first
 * STM_MIME_MAGIC_BYTES), else libmagic's. Caller frees; NULL on ENOMEM. */
char *stm_mime_magic_text_type(const char *declared, const unsigned char *data, size_t len);
/* Is TYPE (a MIME type libmagic gives) one libarchive may open? */
bool stm_mime_magic_is_archive(const char *type);

/* mime_archive.c: the members of the archive DATA of PART, as parts below it
 * (in_archive), within the archive limits; nested archives while
 * ARCHIVE_DEPTH < archive_depth. */
void stm_mime_archive_walk(stm_mime_walk *w, int part, const unsigned char *data, size_t len,
                           unsigned archive_depth);
/* The same for an archive in the spool file FD (read from its start). */
void stm_mime_archive_walk_fd(stm_mime_walk *w, int part, int fd, unsigned archive_depth);

#endif
