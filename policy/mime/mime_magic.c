/*
 * mime_magic.c - the type of a part found from its content, with libmagic.
 *
 * Functions: stm_mime_magic_type, stm_mime_magic_is_archive.
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
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_CDF | MAGIC_ERROR);
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
