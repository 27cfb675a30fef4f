/*
 * mime_parse.c - one message parsed once with GMime 3 into a stm_mime (mime.h):
 * every part at any depth, the decoded text of its text parts, its URLs
 * and its defects.
 *
 * Functions: stm_mime_parse, stm_mime_parse_buffer, stm_mime_of_message, stm_mime_free,
 * stm_mime_decode_header, stm_mime_defect_name, stm_mime_limits_default,
 * and for the other files of the folder stm_mime_walk_add_part,
 * stm_mime_walk_defect, stm_mime_walk_content.
 *
 * Threads: g_mime_init() runs once (pthread_once) and is never undone
 * (g_mime_shutdown() would pull GMime from under the other connections'
 * threads). GMime objects are made and freed inside one call, never shared
 * between threads; its charset tables and iconv cache are locked by GMime.
 *
 * Limits: GMime builds the tree; the walk over it stops at max_depth and
 * max_parts (defect limit on the part where it stopped) and the archive
 * limits are enforced while reading archives (mime_archive.c). What was
 * walked before a limit stays in the result.
 *
 * Ownership: stm_mime_parse's result belongs to the caller
 * (stm_mime_free); stm_mime_of_message's to the message.
 * Errors: malformed input is a defect, never a failure; NULL with a static
 * reason only when memory ran out.
 */
#include "config.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mime/mime_walk.h"
#include "stagemilter/limits.h"
#include "stagemilter/spool.h"


/* The names of the defects, indexed by stm_mime_defect (the man page lists them). */
static const char *const mime_defect_names[STM_MIME_DEFECT_COUNT] = {
    [STM_MIME_DEFECT_LIMIT] = "limit",
    [STM_MIME_DEFECT_MISSING_BOUNDARY] = "missing_boundary",
    [STM_MIME_DEFECT_BAD_ENCODING] = "bad_encoding",
    [STM_MIME_DEFECT_BAD_CHARSET] = "bad_charset",
    [STM_MIME_DEFECT_BAD_HEADER] = "bad_header",
    [STM_MIME_DEFECT_LONG_LINE] = "long_line",
    [STM_MIME_DEFECT_NUL] = "nul_byte",
    [STM_MIME_DEFECT_BAD_ARCHIVE] = "bad_archive",
};

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

/* GMime's global state, once per process. */
static void
mime_init(void)
{
    g_mime_init();
}

/* The name of defect D. */
const char *
stm_mime_defect_name(stm_mime_defect d)
{
    return (unsigned)d < STM_MIME_DEFECT_COUNT ? mime_defect_names[d] : "?";
}

/* The defaults of DESIGN.md. */
void
stm_mime_limits_default(stm_mime_limits *limits)
{
    limits->max_depth = 20;
    limits->max_parts = 1000;
    limits->archive_depth = 2;
    limits->archive_members = 1000;
    limits->archive_bytes = 100u * 1024 * 1024;
}

/* Release M and all it holds. */
void
stm_mime_free(stm_mime *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nparts; i++) {
        free(m->parts[i].type);
        free(m->parts[i].detected_type);
        free(m->parts[i].name);
    }
    free(m->parts);
    for (size_t i = 0; i < m->nurls; i++) {
        free(m->urls[i].url);
        free(m->urls[i].host);
    }
    free(m->urls);
    free(m->hosts);
    free(m->text);
    free(m->subject);
    free(m);
}

/* Note that PART made a condition hold. */
void
stm_mime_note_match(const stm_mime *m, int part)
{
    ((stm_mime *)m)->matched_part = part;
}

/* RAW unfolded (line ends dropped, the white space after them kept),
 * RFC 2047-decoded to UTF-8 and trimmed; 8-bit bytes are read as UTF-8,
 * else as GMime's fallback charsets. */
char *
stm_mime_decode_header(const char *raw)
{
    pthread_once(&mime_once, mime_init);
    size_t n = strlen(raw);
    char *unfolded = malloc(n + 1);
    if (unfolded == NULL)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        if (raw[i] != '\r' && raw[i] != '\n')
            unfolded[j++] = raw[i];
    unfolded[j] = '\0';
    char *dec = g_mime_utils_header_decode_text(NULL, unfolded);
    free(unfolded);
    if (dec == NULL)
        return NULL;
    gchar *valid = g_utf8_make_valid(dec, -1);
    g_free(dec);
    /* Without the white space around it, as Exim's $h_ gives it. */
    const char *b = valid;
    while (*b == ' ' || *b == '\t')
        b++;
    size_t len = strlen(b);
    while (len > 0 && (b[len - 1] == ' ' || b[len - 1] == '\t'))
        len--;
    char *out = strndup(b, len);
    g_free(valid);
    return out;
}

/* Record defect D on PART (-1: the message). */
void
stm_mime_walk_defect(stm_mime_walk *w, int part, stm_mime_defect d)
{
    w->m->defects |= 1u << d;
    if (part >= 0 && (size_t)part < w->m->nparts)
        w->m->parts[part].defects |= 1u << d;
}

/* A copy of S (NULL is "") as valid UTF-8 (names inside archives come in
 * any charset), lower-cased when LOWER. */
static char *
mime_dup(const char *s, bool lower)
{
    gchar *valid = g_utf8_make_valid(s != NULL ? s : "", -1);
    char *d = strdup(valid);
    g_free(valid);
    if (d != NULL && lower)
        for (char *p = d; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return d;
}

/* Append a part; its index, or -1 (max_parts, or memory). */
int
stm_mime_walk_add_part(stm_mime_walk *w, int parent, unsigned depth, const char *type,
                       const char *name, bool in_archive)
{
    stm_mime *m = w->m;
    if (w->nomem)
        return -1;
    if (!in_archive) {
        if (w->message_parts >= w->lim->max_parts) {
            w->parts_full = true;
            stm_mime_walk_defect(w, parent, STM_MIME_DEFECT_LIMIT);
            return -1;
        }
        w->message_parts++;
    }
    if (m->nparts == w->parts_cap) {
        size_t cap = w->parts_cap ? w->parts_cap * 2 : 8;
        stm_mime_part *p = realloc(m->parts, cap * sizeof *p);
        if (p == NULL) {
            w->nomem = true;
            return -1;
        }
        m->parts = p;
        w->parts_cap = cap;
    }
    stm_mime_part *p = &m->parts[m->nparts];
    *p = (stm_mime_part){.parent = parent, .depth = depth, .in_archive = in_archive};
    p->type = mime_dup(type, true);
    p->name = mime_dup(name, false);
    p->detected_type = mime_dup("", false);
    m->nparts++;
    if (p->type == NULL || p->name == NULL || p->detected_type == NULL) {
        w->nomem = true;
        return -1;
    }
    return (int)(m->nparts - 1);
}

/* Name PART from the first HEADLEN bytes of its content (LEN bytes in
 * all) with libmagic. True when it is an archive to open at
 * ARCHIVE_DEPTH (else not, or past archive_depth: defect limit). */
static bool
mime_name_content(stm_mime_walk *w, int part, const unsigned char *head, size_t headlen,
                  uint64_t len, unsigned archive_depth)
{
    const char *declared = w->m->parts[part].type;
    char *t = strncmp(declared, "text/", 5) == 0
                  ? stm_mime_magic_text_type(declared, head, headlen)
                  : stm_mime_magic_type(head, headlen);
    if (t == NULL) {
        w->nomem = true;
        return false;
    }
    free(w->m->parts[part].detected_type);
    w->m->parts[part].detected_type = t;
    w->m->parts[part].size = len;
    if (!stm_mime_magic_is_archive(t))
        return false;
    if (archive_depth >= w->lim->archive_depth) {
        stm_mime_walk_defect(w, part, STM_MIME_DEFECT_LIMIT);
        return false;
    }
    return true;
}

/* Name the content of PART with libmagic, and open it when it is an archive. */
void
stm_mime_walk_content(stm_mime_walk *w, int part, const unsigned char *data, size_t len,
                      unsigned archive_depth)
{
    if (mime_name_content(w, part, data, len, len, archive_depth))
        stm_mime_archive_walk(w, part, data, len, archive_depth);
}

/* Name the content of PART in the spool file FD: libmagic reads its first
 * STM_MIME_MAGIC_BYTES, libarchive the file when it is an archive. */
void
stm_mime_walk_content_fd(stm_mime_walk *w, int part, int fd, uint64_t len)
{
    unsigned char head[STM_MIME_MAGIC_BYTES];
    ssize_t n = pread(fd, head, sizeof head, 0);
    if (mime_name_content(w, part, head, n > 0 ? (size_t)n : 0, len, 0))
        stm_mime_archive_walk_fd(w, part, fd, 0);
}

/* GMime's warnings while parsing, as defects of the message. */
static void
mime_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
    stm_mime_walk *w = data;
    (void)offset;
    (void)item;
    switch (code) {
    case GMIME_WARN_MALFORMED_MULTIPART:
    case GMIME_WARN_TRUNCATED_MESSAGE:
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
        stm_mime_walk_defect(w, -1, STM_MIME_DEFECT_MISSING_BOUNDARY);
        break;
    case GMIME_CRIT_NESTING_OVERFLOW:
        stm_mime_walk_defect(w, -1, STM_MIME_DEFECT_LIMIT);
        break;
    case GMIME_WARN_INVALID_ADDRESS_LIST:
        break; /* too common in real mail to mean anything */
    default:
        stm_mime_walk_defect(w, -1, STM_MIME_DEFECT_BAD_HEADER);
        break;
    }
}

/* The bytes of base64 content, for mime_base64_broken. */
enum { B64_ALPHA, B64_SPACE, B64_PAD, B64_OTHER };

/* The class of each byte (a table: isalnum() cost a libc call a byte, most
 * of the time spent on an attachment). */
static unsigned char mime_b64_class[256];
static pthread_once_t mime_b64_once = PTHREAD_ONCE_INIT;

static void
mime_b64_init(void)
{
    for (int c = 0; c < 256; c++)
        mime_b64_class[c] = B64_OTHER;
    for (int c = 'A'; c <= 'Z'; c++)
        mime_b64_class[c] = B64_ALPHA;
    for (int c = 'a'; c <= 'z'; c++)
        mime_b64_class[c] = B64_ALPHA;
    for (int c = '0'; c <= '9'; c++)
        mime_b64_class[c] = B64_ALPHA;
    mime_b64_class['+'] = mime_b64_class['/'] = B64_ALPHA;
    mime_b64_class[' '] = mime_b64_class['\t'] = B64_SPACE;
    mime_b64_class['\r'] = mime_b64_class['\n'] = B64_SPACE;
    mime_b64_class['='] = B64_PAD;
}

/* Is the encoded content of STREAM broken base64? Characters outside the
 * alphabet and white space, data after the padding, or a lone sixth bit. */
static bool
mime_base64_broken(GMimeStream *stream)
{
    char buf[16384];
    ssize_t n;
    size_t count = 0;
    bool padded = false, broken = false;
    pthread_once(&mime_b64_once, mime_b64_init);
    g_mime_stream_reset(stream);
    while (!broken && (n = g_mime_stream_read(stream, buf, sizeof buf)) > 0) {
        const unsigned char *p = (const unsigned char *)buf, *end = p + n;
        while (p < end && !broken) {
            /* The common case: a run of the alphabet before any padding. */
            if (!padded) {
                const unsigned char *q = p;
                while (q < end && mime_b64_class[*q] == B64_ALPHA)
                    q++;
                count += (size_t)(q - p);
                p = q;
                if (p == end)
                    break;
            }
            switch (mime_b64_class[*p++]) {
            case B64_SPACE:
                continue;
            case B64_PAD:
                padded = true;
                break;
            case B64_ALPHA:
                broken = padded;
                break;
            default:
                broken = true;
                break;
            }
            count++;
        }
    }
    g_mime_stream_reset(stream);
    return broken || count % 4 == 1;
}

/* Is the encoded content of STREAM broken quoted-printable? An '=' followed
 * by neither two hex digits nor a line end. */
static bool
mime_qp_broken(GMimeStream *stream)
{
    char buf[16384];
    ssize_t n;
    int state = 0; /* 0: text, 1: after '=', 2: after '=' and one hex digit */
    bool broken = false;
    g_mime_stream_reset(stream);
    while (!broken && (n = g_mime_stream_read(stream, buf, sizeof buf)) > 0) {
        const char *p = buf, *end = buf + n;
        while (p < end && !broken) {
            if (state == 0) {
                /* Text up to the next '=' says nothing. */
                const char *eq = memchr(p, '=', (size_t)(end - p));
                if (eq == NULL)
                    break;
                state = 1;
                p = eq + 1;
                continue;
            }
            unsigned char c = (unsigned char)*p++;
            if (state == 1 && (c == '\r' || c == '\n' || c == ' ' || c == '\t'))
                state = 0; /* a soft line break */
            else if (isxdigit(c))
                state = state == 1 ? 2 : 0;
            else
                broken = true;
        }
    }
    g_mime_stream_reset(stream);
    return broken;
}

/* The text of a text/plain or text/html part, LEN bytes of DATA, within
 * the walk's text_max. */
static void
mime_leaf_text(stm_mime_walk *w, GMimePart *gpart, int idx, const char *type, const char *data,
               size_t len)
{
    bool html = strcmp(type, "text/html") == 0;
    if (w->nomem || (!html && strcmp(type, "text/plain") != 0))
        return;
    if (w->text_max != 0) {
        size_t room = w->m->text_len < w->text_max ? w->text_max - w->m->text_len : 0;
        if (len > room) {
            stm_mime_walk_defect(w, idx, STM_MIME_DEFECT_LIMIT);
            len = room;
        }
        if (len == 0)
            return;
    }
    const char *charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(gpart), "charset");
    stm_mime_text_add(w, idx, data, len, charset, html);
}

/* A leaf part of a spooled message whose content is larger than
 * spool_memory: decoded into a spool file, named and opened from there;
 * its text (up to text_max) read back. False when no spool file could be
 * made (the caller decodes in memory: the message still gets judged). */
static bool
mime_walk_leaf_spooled(stm_mime_walk *w, GMimePart *gpart, GMimeDataWrapper *dw, int idx,
                       const char *type)
{
    int fd = stm_spool_open(w->spool_dir);
    if (fd < 0)
        return false;
    GMimeStream *out = g_mime_stream_fs_new(fd); /* owns fd */
    g_mime_stream_fs_set_owner(GMIME_STREAM_FS(out), TRUE);
    /* A part cut short (the disk is full) would be judged on what was
     * written: the parse fails instead (milter.on_error decides). */
    if (g_mime_data_wrapper_write_to_stream(dw, out) < 0 || g_mime_stream_flush(out) != 0) {
        w->failed = "cannot write a MIME part to milter.spool.directory";
        w->nomem = true;
        g_object_unref(out);
        return true;
    }
    gint64 len = g_mime_stream_length(out);
    stm_mime_walk_content_fd(w, idx, fd, len > 0 ? (uint64_t)len : 0);
    bool html = strcmp(type, "text/html") == 0;
    if (!w->nomem && len > 0 && (html || strcmp(type, "text/plain") == 0)) {
        /* Only what the text kept still has room for is read back. */
        size_t room = w->m->text_len < w->text_max ? w->text_max - w->m->text_len : 0;
        size_t want = (uint64_t)len < room ? (size_t)len : room;
        char *text = malloc(want + 1);
        ssize_t got = text != NULL ? pread(fd, text, want, 0) : -1;
        if (text == NULL) {
            w->nomem = true;
        } else if (got < 0) {
            w->failed = "cannot read a MIME part back from milter.spool.directory";
            w->nomem = true;
        } else if ((uint64_t)len > want)
            stm_mime_walk_defect(w, idx, STM_MIME_DEFECT_LIMIT);
        if (got > 0)
            mime_leaf_text(w, gpart, idx, type, text, (size_t)got);
        free(text);
    }
    g_object_unref(out);
    return true;
}

/* A leaf part: its decoded content, named, opened when an archive, and its
 * text when it is text/plain or text/html. */
static void
mime_walk_leaf(stm_mime_walk *w, GMimePart *gpart, int idx, const char *type)
{
    GMimeDataWrapper *dw = g_mime_part_get_content(gpart);
    if (dw == NULL)
        return;
    GMimeContentEncoding enc = g_mime_data_wrapper_get_encoding(dw);
    GMimeStream *raw = g_mime_data_wrapper_get_stream(dw);
    if (raw != NULL && ((enc == GMIME_CONTENT_ENCODING_BASE64 && mime_base64_broken(raw)) ||
                        (enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE && mime_qp_broken(raw))))
        stm_mime_walk_defect(w, idx, STM_MIME_DEFECT_BAD_ENCODING);
    gint64 rawlen = raw != NULL ? g_mime_stream_length(raw) : -1;
    if (w->spool_dir != NULL && rawlen > 0 && (uint64_t)rawlen > w->spool_memory &&
        mime_walk_leaf_spooled(w, gpart, dw, idx, type))
        return;
    /* Decoded content is never longer than encoded (base64, quoted-printable,
     * 7bit, 8bit, binary; uuencode too): room for it at once, not a buffer
     * doubled and copied as it grows. */
    guint want = rawlen > 0 && rawlen < G_MAXINT32 ? (guint)rawlen + 1 : 0;
    GByteArray *room = g_byte_array_sized_new(want);
    GMimeStream *out = g_mime_stream_mem_new_with_byte_array(room);
    if (out == NULL) {
        w->nomem = true;
        return;
    }
    g_mime_data_wrapper_write_to_stream(dw, out);
    GByteArray *arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
    const unsigned char *data = arr->data != NULL ? arr->data : (const unsigned char *)"";
    size_t len = arr->len;
    stm_mime_walk_content(w, idx, data, len, 0);
    mime_leaf_text(w, gpart, idx, type, (const char *)data, len);
    g_object_unref(out);
}

/* Does the raw parameter text VALUE name a charset iconv does not know,
 * in RFC 2231 form (name*=CHARSET'lang'...) or RFC 2047 (=?CHARSET?...)? */
static bool
mime_unknown_charset_in(const char *value)
{
    for (const char *p = value; p != NULL && *p; p++) {
        const char *cs = NULL, *end = NULL;
        if (p[0] == '*' && p[1] == '=') {
            cs = p + 2;
            if (*cs == '"')
                cs++;
            end = strchr(cs, '\'');
            const char *semi = strchr(cs, ';');
            if (end != NULL && semi != NULL && semi < end)
                end = NULL;
        } else if (p[0] == '=' && p[1] == '?') {
            cs = p + 2;
            end = strchr(cs, '?');
        }
        if (cs == NULL || end == NULL || end == cs || end - cs > 64)
            continue;
        char name[65];
        memcpy(name, cs, (size_t)(end - cs));
        name[end - cs] = '\0';
        char *star = strchr(name, '*'); /* RFC 2231 language: charset*lang */
        if (star != NULL)
            *star = '\0';
        iconv_t cd = g_mime_iconv_open("UTF-8", name);
        if (cd == (iconv_t)-1)
            return true;
        g_mime_iconv_close(cd);
    }
    return false;
}

/* The file name of OBJ (RFC 2231 and RFC 2047 undone), or NULL; *BAD_CHARSET
 * when it was written in a charset nobody knows. */
static char *
mime_filename(GMimeObject *obj, bool *bad_charset)
{
    const char *name = NULL;
    GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
    if (cd != NULL)
        name = g_mime_content_disposition_get_parameter(cd, "filename");
    if (name == NULL) {
        GMimeContentType *ct = g_mime_object_get_content_type(obj);
        if (ct != NULL)
            name = g_mime_content_type_get_parameter(ct, "name");
    }
    if (name == NULL)
        return NULL;
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    GMimeHeader *h;
    *bad_charset = ((h = g_mime_header_list_get_header(hl, "Content-Disposition")) != NULL &&
                    mime_unknown_charset_in(g_mime_header_get_raw_value(h))) ||
                   ((h = g_mime_header_list_get_header(hl, "Content-Type")) != NULL &&
                    mime_unknown_charset_in(g_mime_header_get_raw_value(h)));
    gchar *valid = g_utf8_make_valid(name, -1);
    char *out = strdup(valid);
    g_free(valid);
    return out;
}

/* OBJ and everything below it, as parts below PARENT at DEPTH. */
static void
mime_walk_object(stm_mime_walk *w, GMimeObject *obj, int parent, unsigned depth)
{
    if (w->nomem || w->parts_full || obj == NULL)
        return;
    if (depth > w->lim->max_depth) {
        stm_mime_walk_defect(w, parent, STM_MIME_DEFECT_LIMIT);
        return;
    }
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    char *type = ct != NULL ? g_mime_content_type_get_mime_type(ct) : g_strdup("text/plain");
    bool bad_charset = false;
    char *name = mime_filename(obj, &bad_charset);
    int idx = stm_mime_walk_add_part(w, parent, depth, type, name, false);
    free(name);
    if (idx >= 0) {
        if (bad_charset)
            stm_mime_walk_defect(w, idx, STM_MIME_DEFECT_BAD_CHARSET);
        const char *ltype = w->m->parts[idx].type;
        if (GMIME_IS_MULTIPART(obj)) {
            w->m->parts[idx].container = true;
            GMimeMultipart *mp = GMIME_MULTIPART(obj);
            int n = g_mime_multipart_get_count(mp);
            for (int i = 0; i < n && !w->parts_full && !w->nomem; i++)
                mime_walk_object(w, g_mime_multipart_get_part(mp, i), idx, depth + 1);
        } else if (GMIME_IS_MESSAGE_PART(obj)) {
            w->m->parts[idx].container = true;
            GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
            if (inner != NULL)
                mime_walk_object(w, g_mime_message_get_mime_part(inner), idx, depth + 1);
        } else if (GMIME_IS_PART(obj)) {
            mime_walk_leaf(w, GMIME_PART(obj), idx, ltype);
        }
    }
    g_free(type);
}

/* Delimiter-like lines (starting with "--") allowed per part of max_parts:
 * each part needs one, each multipart a closing one, and text lines may
 * start so too. Past it the parser sees only what came before. */
#define MIME_DELIMS_PER_PART 4u

/* NUL bytes and lines longer than RFC 5322's 998 in the raw STREAM; and
 * where to cut it so that GMime never builds more than about max_parts
 * parts (its tree costs over a kilobyte a part: 100,000 empty parts in one
 * megabyte would take more than 100 MB). Returns the offset to cut at, or
 * -1 to read it all. */
static gint64
mime_scan_raw(stm_mime_walk *w, GMimeStream *stream)
{
    char buf[16384];
    ssize_t n;
    size_t line = 0; /* bytes of the current line so far (without its LF) */
    gint64 off = 0, line_start = 0, cut = -1;
    uint64_t delims = 0;
    uint64_t max_delims = (uint64_t)w->lim->max_parts * MIME_DELIMS_PER_PART + 16;
    bool dash = false;
    g_mime_stream_reset(stream);
    while ((n = g_mime_stream_read(stream, buf, sizeof buf)) > 0) {
        if (memchr(buf, '\0', (size_t)n) != NULL)
            stm_mime_walk_defect(w, -1, STM_MIME_DEFECT_NUL);
        /* A line at a time (memchr), looking only at its first two bytes
         * and its length: a loop over every byte cost 15 instructions a byte. */
        size_t i = 0;
        while (i < (size_t)n) {
            const char *nl = memchr(buf + i, '\n', (size_t)n - i);
            size_t seg_end = nl != NULL ? (size_t)(nl - buf) : (size_t)n;
            size_t seg = seg_end - i;
            if (seg > 0) {
                if (line == 0)
                    dash = buf[i] == '-';
                size_t second = i + (line == 0 ? 1 : 0); /* where the line's second byte is */
                if (line <= 1 && second < seg_end && dash && buf[second] == '-' &&
                    ++delims > max_delims && cut < 0)
                    cut = line_start;
                if (line < 1000 && line + seg >= 1000) /* 998 and the CR LF */
                    stm_mime_walk_defect(w, -1, STM_MIME_DEFECT_LONG_LINE);
                line += seg;
            }
            if (nl == NULL)
                break;
            line = 0;
            line_start = off + (gint64)seg_end + 1;
            i = seg_end + 1;
        }
        off += n;
    }
    g_mime_stream_reset(stream);
    if (cut >= 0)
        stm_mime_walk_defect(w, -1, STM_MIME_DEFECT_LIMIT);
    return cut;
}

/* Parse the message read from STREAM within LIMITS; with SPOOL (a
 * spooled message's milter.spool), large parts are decoded into spool
 * files and the parser leaves contents in STREAM (seekable) rather than
 * copying them into memory. */
static stm_mime *
mime_parse(GMimeStream *stream, const stm_mime_limits *limits, const stm_spool_config *spool,
           const char **err)
{
    GMimeStream *s = stream;
    pthread_once(&mime_once, mime_init);
    stm_mime *m = calloc(1, sizeof *m);
    if (m == NULL) {
        *err = "out of memory parsing MIME";
        return NULL;
    }
    m->matched_part = -1;
    stm_mime_walk w = {.m = m, .lim = limits};
    if (spool != NULL) {
        w.spool_dir = spool->directory;
        w.spool_memory = spool->memory;
        w.text_max = STM_MIME_SPOOLED_TEXT;
    }
    gint64 cut = mime_scan_raw(&w, s);
    GMimeStream *sub = NULL;
    if (cut >= 0) {
        gint64 start = g_mime_stream_tell(s);
        sub = g_mime_stream_substream(s, start, start + cut);
        s = sub;
    }
    GMimeParserOptions *opts = g_mime_parser_options_new();
    g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_warning_callback(opts, mime_warning, &w);
    GMimeParser *parser = g_mime_parser_new_with_stream(s);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    if (spool != NULL)
        g_mime_parser_set_persist_stream(parser, TRUE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, opts);
    if (msg != NULL) {
        GMimeHeader *subject =
            g_mime_header_list_get_header(g_mime_object_get_header_list(GMIME_OBJECT(msg)), "Subject");
        if (subject != NULL && g_mime_header_get_raw_value(subject) != NULL &&
            (m->subject = stm_mime_decode_header(g_mime_header_get_raw_value(subject))) == NULL)
            w.nomem = true;
        mime_walk_object(&w, g_mime_message_get_mime_part(msg), -1, 0);
        g_object_unref(msg);
    } else {
        stm_mime_walk_defect(&w, -1, STM_MIME_DEFECT_BAD_HEADER);
    }
    g_object_unref(parser);
    g_mime_parser_options_free(opts);
    if (sub != NULL)
        g_object_unref(sub);
    if (w.url_set != NULL)
        g_hash_table_destroy(w.url_set);
    if (w.host_set != NULL)
        g_hash_table_destroy(w.host_set);
    if (w.nomem) {
        stm_mime_free(m);
        *err = w.failed != NULL ? w.failed : "out of memory parsing MIME";
        return NULL;
    }
    return m;
}

/* Parse the message read from STREAM within LIMITS. */
stm_mime *
stm_mime_parse(void *stream, const stm_mime_limits *limits, const char **err)
{
    return mime_parse(stream, limits, NULL, err);
}

/* Parse the LEN bytes of DATA through a memory stream. */
stm_mime *
stm_mime_parse_buffer(const void *data, size_t len, const stm_mime_limits *limits, const char **err)
{
    pthread_once(&mime_once, mime_init);
    GByteArray *arr = g_byte_array_sized_new((guint)len);
    g_byte_array_append(arr, data, (guint)len);
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(arr);
    stm_mime *m = stm_mime_parse(stream, limits, err);
    g_object_unref(stream);
    return m;
}

/* The header block of MSG as kept, and the empty line, in a new array. */
static GByteArray *
mime_header_block(const stm_message *msg, size_t extra)
{
    GByteArray *arr = g_byte_array_sized_new((guint)(extra + 256));
    for (size_t i = 0; i < msg->nheaders; i++) {
        g_byte_array_append(arr, (const guint8 *)msg->headers[i].name,
                            (guint)strlen(msg->headers[i].name));
        g_byte_array_append(arr, (const guint8 *)": ", 2);
        g_byte_array_append(arr, (const guint8 *)msg->headers[i].value,
                            (guint)strlen(msg->headers[i].value));
        g_byte_array_append(arr, (const guint8 *)"\r\n", 2);
    }
    g_byte_array_append(arr, (const guint8 *)"\r\n", 2);
    return arr;
}

/* Parse MSG once and cache the result on it. A spooled body is read from
 * its file, after the headers (a GMime stream of the two). */
const stm_mime *
stm_mime_of_message(const stm_message *msg, const stm_mime_limits *limits, const char **err)
{
    if (msg->mime != NULL)
        return msg->mime;
    pthread_once(&mime_once, mime_init);
    stm_mime *m;
    if (msg->spooled) {
        int fd = dup(msg->spool_fd);
        if (fd < 0) {
            *err = "cannot read the spooled message";
            return NULL;
        }
        GMimeStream *head = g_mime_stream_mem_new_with_byte_array(mime_header_block(msg, 0));
        GMimeStream *body = g_mime_stream_fs_new_with_bounds(fd, 0, (gint64)msg->body_len);
        GMimeStream *cat = g_mime_stream_cat_new();
        g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), head);
        g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), body);
        g_object_unref(head);
        g_object_unref(body);
        m = mime_parse(cat, limits, msg->spool, err);
        g_object_unref(cat);
    } else {
        GByteArray *arr = mime_header_block(msg, msg->body_len);
        if (msg->body_len > 0)
            g_byte_array_append(arr, (const guint8 *)msg->body, (guint)msg->body_len);
        GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(arr);
        m = mime_parse(stream, limits, NULL, err);
        g_object_unref(stream);
    }
    /* The cache is not part of the message's value: the message is judged
     * by one thread, and filling it once does not change what it holds. */
    ((stm_message *)msg)->mime = m;
    return m;
}
