/*
 * mime_magic.c - the type of a part found from its content, with libmagic.
 *
 * Functions: stm_mime_magic_type, stm_mime_magic_text_type,
 * stm_mime_magic_is_archive.
 *
 * Cost: libmagic compiles its soft-magic regexes on every look-up, tens of
 * millions of instructions on a text part. A part declared text/... whose
 * first bytes are text (no NUL, no control byte but white space) keeps its
 * declared type without asking libmagic: what it would say of text is
 * text/plain or text/html, and an executable or archive posing as text
 * has NUL or control bytes in its header and is still named by libmagic.
 *
 * Threads: libmilter runs a thread per connection and a magic_t is not
 * thread-safe. One magic_t for the process, loaded once (pthread_once) and
 * used under a mutex: a look-up reads at most STM_MIME_MAGIC_BYTES, so
 * holding the lock is short, and one database stays loaded instead of one
 * per thread. It lives until the process exits.
 *
 * Errors: a database that does not load, or a look-up that fails, gives ""
 * (no detected type), never a failure of the message.
 */
#include "config.h"

#include <magic.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime_walk.h"

static pthread_once_t magic_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t magic_lock = PTHREAD_MUTEX_INITIALIZER;
static magic_t magic_cookie;

/* Open and load the default database (once). */
static void
magic_init(void)
{
    /* Without the JSON, CSV, token and CDF checks: they read all the text
     * given, cost most of a look-up on text parts, and name nothing a rule
     * about attachments needs (JSON and CSV come out as text/plain). */
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_CDF | MAGIC_NO_CHECK_JSON |
                           MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_TOKENS | MAGIC_ERROR);
    if (m == NULL)
        return;
    if (magic_load(m, NULL) != 0) {
        magic_close(m);
        return;
    }
    magic_cookie = m;
}

/* libmagic's MIME type of DATA; "" when unknown. */
char *
stm_mime_magic_type(const unsigned char *data, size_t len)
{
    const char *t = NULL;
    char *out;

    pthread_once(&magic_once, magic_init);
    if (len > STM_MIME_MAGIC_BYTES)
        len = STM_MIME_MAGIC_BYTES;
    pthread_mutex_lock(&magic_lock);
    if (magic_cookie != NULL && len > 0)
        t = magic_buffer(magic_cookie, data, len);
    out = strdup(t != NULL ? t : "");
    pthread_mutex_unlock(&magic_lock);
    return out;
}

/* DECLARED when DATA looks like text, else libmagic's type. */
char *
stm_mime_magic_text_type(const char *declared, const unsigned char *data, size_t len)
{
    size_t n = len < STM_MIME_MAGIC_BYTES ? len : STM_MIME_MAGIC_BYTES;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = data[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') || c == 0x7f)
            return stm_mime_magic_type(data, len);
    }
    return strdup(declared);
}

/* The types libarchive opens (formats and compressions it reads). */
bool
stm_mime_magic_is_archive(const char *type)
{
    static const char *const archives[] = {
        "application/zip",         "application/x-7z-compressed", "application/x-tar",
        "application/gzip",        "application/x-gzip",          "application/x-bzip2",
        "application/x-xz",        "application/x-rar",           "application/vnd.rar",
        "application/x-lzma",      "application/zstd",            "application/x-cpio",
        "application/x-iso9660-image", "application/x-archive",   "application/x-lzip",
        "application/x-compress",  "application/vnd.ms-cab-compressed", NULL};
    for (size_t i = 0; archives[i] != NULL; i++)
        if (strcmp(type, archives[i]) == 0)
            return true;
    return false;
}
