/*
 * mime_archive.c - the members of an archive part (zip, 7z, tar, gzip,
 * bzip2, xz, rar, cpio, iso and what else libarchive reads) as parts of
 * the message, with libarchive.
 *
 * Functions: stm_mime_archive_walk, stm_mime_archive_walk_fd (an archive
 * decoded into a spool file: libarchive reads it from there).
 *
 * Limits, enforced while reading (DESIGN.md milter.mime): archive_members
 * counts the members of every archive of the message, archive_bytes the
 * bytes expanded from them; data is read in chunks and counted before the
 * next chunk is asked for, so a zip bomb stops at the limit (defect limit)
 * and never expands further. A member's content is kept whole only when it
 * is itself an archive to open (below archive_depth); else only its first
 * STM_MIME_MAGIC_BYTES stay, for libmagic.
 *
 * Encrypted members (zip's traditional and AES encryption, encrypted 7z and
 * rar) are listed with encrypted set and their declared size; their data is
 * not read. An archive whose member list is encrypted too is itself marked
 * encrypted.
 *
 * Ownership: members are parts of the walk's stm_mime. Errors: an archive
 * libarchive cannot read, or a member whose data is corrupt, is the defect
 * bad_archive; memory exhaustion sets w->nomem.
 */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mime/mime_walk.h"

#define ARCHIVE_CHUNK (64u * 1024u)

/* The data of the current member of A, read within archive_bytes, into
 * *BUF: its first STM_MIME_MAGIC_BYTES, and the rest too when MAY_NEST and
 * libmagic names those first bytes an archive (then *WHOLE is set). *KEPT
 * is the length kept, *TOTAL the bytes it expands to. When the type of
 * the first bytes was asked and is not an archive, *TYPE is it (caller
 * frees; the first *KEPT bytes are those it was asked of), else NULL. 0; 1
 * when archive_bytes was reached; -1 when the data is corrupt or memory ran out. */
static int
archive_read_member(stm_mime_walk *w, struct archive *a, bool may_nest, unsigned char **buf,
                    size_t *kept, uint64_t *total, bool *whole, char **type)
{
    /* Until decided: the first STM_MIME_MAGIC_BYTES; not whole: those, and a
     * chunk of room after them that the rest is read into and forgotten. */
    size_t cap = STM_MIME_MAGIC_BYTES + ARCHIVE_CHUNK;
    bool decided = !may_nest;
    *kept = 0;
    *total = 0;
    *whole = false;
    *type = NULL;
    if ((*buf = malloc(cap)) == NULL) {
        w->nomem = true;
        return -1;
    }
    for (;;) {
        if (!decided && *kept >= STM_MIME_MAGIC_BYTES) {
            char *t = stm_mime_magic_text_type("text/plain", *buf, *kept);
            if (t == NULL) {
                w->nomem = true;
                return -1;
            }
            *whole = stm_mime_magic_is_archive(t);
            decided = true;
            if (*whole) {
                free(t);
            } else {
                *type = t; /* asked once: libmagic costs millions of instructions */
                *kept = STM_MIME_MAGIC_BYTES;
            }
        }
        if (*whole && *kept + ARCHIVE_CHUNK > cap) {
            unsigned char *b = realloc(*buf, cap * 2);
            if (b == NULL) {
                w->nomem = true;
                return -1;
            }
            *buf = b;
            cap *= 2;
        }
        bool keep_all = !decided || *whole;
        size_t at = keep_all || *kept < STM_MIME_MAGIC_BYTES ? *kept : STM_MIME_MAGIC_BYTES;
        la_ssize_t n = archive_read_data(a, *buf + at, ARCHIVE_CHUNK);
        if (n < 0)
            return -1;
        if (n == 0) {
            /* Undecided: shorter than what libmagic reads, all of it is here. */
            *whole = *whole || !decided;
            return 0;
        }
        *total += (uint64_t)n;
        w->m->archive_bytes += (uint64_t)n;
        if (keep_all)
            *kept += (size_t)n;
        else if (*kept < STM_MIME_MAGIC_BYTES)
            *kept = *kept + (size_t)n < STM_MIME_MAGIC_BYTES ? *kept + (size_t)n
                                                             : STM_MIME_MAGIC_BYTES;
        if (w->m->archive_bytes > w->lim->archive_bytes)
            return 1;
    }
}

static void archive_walk_members(stm_mime_walk *w, int part, struct archive *a,
                                 unsigned archive_depth);

/* A reader of every format and filter libarchive has; NULL: memory. */
static struct archive *
archive_reader(void)
{
    struct archive *a = archive_read_new();
    if (a == NULL)
        return NULL;
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    archive_read_support_format_raw(a); /* a lone gzip or xz file */
    return a;
}

/* The members of the archive DATA of PART. */
void
stm_mime_archive_walk(stm_mime_walk *w, int part, const unsigned char *data, size_t len,
                      unsigned archive_depth)
{
    struct archive *a = archive_reader();
    if (a == NULL) {
        w->nomem = true;
        return;
    }
    if (archive_read_open_memory(a, data, len) != ARCHIVE_OK) {
        stm_mime_walk_defect(w, part, STM_MIME_DEFECT_BAD_ARCHIVE);
        archive_read_free(a);
        return;
    }
    archive_walk_members(w, part, a, archive_depth);
}

/* The members of the archive in the spool file FD. */
void
stm_mime_archive_walk_fd(stm_mime_walk *w, int part, int fd, unsigned archive_depth)
{
    struct archive *a = archive_reader();
    if (a == NULL) {
        w->nomem = true;
        return;
    }
    if (lseek(fd, 0, SEEK_SET) != 0 || archive_read_open_fd(a, fd, ARCHIVE_CHUNK) != ARCHIVE_OK) {
        stm_mime_walk_defect(w, part, STM_MIME_DEFECT_BAD_ARCHIVE);
        archive_read_free(a);
        return;
    }
    archive_walk_members(w, part, a, archive_depth);
}

/* The members of the open archive A of PART; frees A. */
static void
archive_walk_members(stm_mime_walk *w, int part, struct archive *a, unsigned archive_depth)
{
    w->m->parts[part].container = true;
    unsigned depth = w->m->parts[part].depth + 1;
    struct archive_entry *e;
    int r = ARCHIVE_OK;
    bool stop = false;
    while (!stop && !w->nomem && ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
                                  r == ARCHIVE_WARN)) {
        if (w->m->archive_members >= w->lim->archive_members) {
            stm_mime_walk_defect(w, part, STM_MIME_DEFECT_LIMIT);
            break;
        }
        w->m->archive_members++;
        if (archive_entry_filetype(e) == AE_IFDIR)
            continue;
        const char *name = archive_entry_pathname_utf8(e);
        if (name == NULL)
            name = archive_entry_pathname(e);
        int idx = stm_mime_walk_add_part(w, part, depth, "", name, true);
        if (idx < 0)
            break;
        if (archive_entry_is_encrypted(e)) {
            w->m->parts[idx].encrypted = true;
            w->m->parts[idx].size = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
            continue;
        }
        /* Keep it whole only when it is an archive we will open: decided
         * from the name libmagic gives its first bytes, which needs a first
         * read, so read the start, then decide. */
        bool may_nest = archive_depth + 1 < w->lim->archive_depth;
        bool nested = false;
        unsigned char *buf = NULL;
        size_t kept = 0;
        uint64_t total = 0;
        char *type = NULL;
        int rr = archive_read_member(w, a, may_nest, &buf, &kept, &total, &nested, &type);
        if (rr < 0 && !w->nomem)
            stm_mime_walk_defect(w, idx, STM_MIME_DEFECT_BAD_ARCHIVE);
        if (rr > 0) {
            stm_mime_walk_defect(w, idx, STM_MIME_DEFECT_LIMIT);
            stop = true;
        }
        if (!w->nomem) {
            if (nested && rr == 0) {
                stm_mime_walk_content(w, idx, buf != NULL ? buf : (const unsigned char *)"", kept,
                                      archive_depth + 1);
            } else {
                /* A member has no declared type: text is text/plain. The
                 * type found while reading is of the same first bytes. */
                char *t = type != NULL ? type
                                       : stm_mime_magic_text_type(
                                             "text/plain",
                                             buf != NULL ? buf : (const unsigned char *)"", kept);
                type = NULL;
                if (t == NULL) {
                    w->nomem = true;
                } else {
                    free(w->m->parts[idx].detected_type);
                    w->m->parts[idx].detected_type = t;
                    if (rr == 0 && stm_mime_magic_is_archive(t))
                        stm_mime_walk_defect(w, idx, STM_MIME_DEFECT_LIMIT);
                }
            }
            w->m->parts[idx].size = total;
        }
        free(type);
        free(buf);
        if (rr < 0)
            stop = true;
    }
    if (!stop && !w->nomem && r == ARCHIVE_FATAL) {
        /* An archive whose list of members is itself encrypted (7z -mhe,
         * rar -hp) cannot be listed without the password: the archive is
         * the encrypted part. */
        const char *why = archive_error_string(a);
        if (archive_read_has_encrypted_entries(a) > 0 ||
            (why != NULL && (strstr(why, "ncrypt") != NULL || strstr(why, "assphrase") != NULL)))
            w->m->parts[part].encrypted = true;
        else
            stm_mime_walk_defect(w, part, STM_MIME_DEFECT_BAD_ARCHIVE);
    }
    archive_read_free(a);
}
