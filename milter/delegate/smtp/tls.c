/*
 * tls.c - TLS towards a scanner: the client context of a service, built
 * once and cached, and the handshake on a connected socket (session.h).
 *
 * Functions: stm_smtp_tls_handshake, stm_smtp_tls_error,
 * stm_smtp_tls_cache_clear (smtp_client.h).
 *
 * Contexts are cached process-wide, keyed by the service's tls_client
 * settings and the identity of the files they name (so a CA bundle is read
 * once, not for every message, and a file replaced before a policy reload
 * is read again). At most TLS_CACHE_MAX contexts; the least recently used
 * makes room. The cache is emptied at exit (atexit) or by
 * stm_smtp_tls_cache_clear(). Safe across threads: the cache is guarded by
 * a mutex and every user holds its own reference to the context.
 *
 * Ownership: the session owns its SSL (stm_smtp_io_close() frees it).
 *
 * Errors: -1 with s->err set (context, CA file, client certificate,
 * handshake, verification).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "delegate/smtp/session.h"
#include "stagemilter/clock.h"

enum { TLS_CACHE_MAX = 16, TLS_KEY_MAX = 1024 };
/* Describe the OpenSSL error queue (and verification) into BUF. */
const char *
stm_smtp_tls_error(stm_smtp_session *s, char *buf, size_t cap)
{
    unsigned long e = ERR_get_error();
    long vr = s->ssl != NULL ? SSL_get_verify_result(s->ssl) : X509_V_OK;

    if (vr != X509_V_OK)
        snprintf(buf, cap, "certificate verification failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e != 0)
        ERR_error_string_n(e, buf, cap);
    else
        snprintf(buf, cap, "%s", errno ? strerror(errno) : "connection closed");
    ERR_clear_error();
    return buf;
}

/* Idle connections (see the top of the file). */

/* Build a client context for the service's tls_client settings. The new
 * context, or NULL (s->err set). */
static SSL_CTX *
tls_build(stm_smtp_session *s, stm_smtp_phase phase)
{
    const stm_tls_client *tc = &s->svc->tls_client;
    char ebuf[256];

    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        stm_smtp_fail(s, phase, "TLS context: %s", stm_smtp_tls_error(s, ebuf, sizeof ebuf));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (tc->verify) {
        int ok = (tc->ca_file != NULL && tc->ca_file[0] != '\0')
                     ? SSL_CTX_load_verify_locations(ctx, tc->ca_file, NULL)
                     : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            stm_smtp_fail(s, phase, "CA file %s: %s", tc->ca_file ? tc->ca_file : "(default)",
                          stm_smtp_tls_error(s, ebuf, sizeof ebuf));
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (tc->cert_file != NULL && tc->cert_file[0] != '\0') {
        const char *key =
            (tc->key_file != NULL && tc->key_file[0] != '\0') ? tc->key_file : tc->cert_file;
        if (SSL_CTX_use_certificate_chain_file(ctx, tc->cert_file) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            stm_smtp_fail(s, phase, "client certificate %s: %s", tc->cert_file,
                          stm_smtp_tls_error(s, ebuf, sizeof ebuf));
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

/* The cache: one context per distinct tls_client (verify, CA file, client
 * certificate and key), with the identity of each file (device, inode, size,
 * modification time) so a file replaced before a reload gets a new context.
 * server_name is not part of it: it is set on each connection. */
typedef struct tls_entry {
    char key[TLS_KEY_MAX];
    SSL_CTX *ctx;  /* one reference held by the cache */
    uint64_t used; /* stm_clock_ms() of the last use, to evict the oldest */
} tls_entry;

/* Guards tls_cache and tls_ncache (the contexts themselves are thread-safe
 * once built: each connection gets its own SSL from them). */
static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static tls_entry tls_cache[TLS_CACHE_MAX];
static size_t tls_ncache;

/* Append " PATH:dev:ino:size:mtime" (or " PATH:-" when it cannot be read)
 * to KEY (size TLS_KEY_MAX). false when KEY is full. */
static bool
tls_key_file(char *key, size_t *len, const char *path)
{
    struct stat st;
    int n;

    if (path == NULL || path[0] == '\0')
        n = snprintf(key + *len, TLS_KEY_MAX - *len, " -");
    else if (stat(path, &st) != 0)
        n = snprintf(key + *len, TLS_KEY_MAX - *len, " %s:-", path);
    else
        n = snprintf(key + *len, TLS_KEY_MAX - *len, " %s:%ju:%ju:%jd:%jd.%09ld", path,
                     (uintmax_t)st.st_dev, (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                     (intmax_t)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    if (n < 0 || (size_t)n >= TLS_KEY_MAX - *len)
        return false;
    *len += (size_t)n;
    return true;
}

/* The cache key of TC into KEY. false when it does not fit (no caching). */
static bool
tls_key(const stm_tls_client *tc, char *key)
{
    size_t len = (size_t)snprintf(key, TLS_KEY_MAX, "%d", tc->verify ? 1 : 0);
    return tls_key_file(key, &len, tc->verify ? tc->ca_file : NULL) &&
           tls_key_file(key, &len, tc->cert_file) && tls_key_file(key, &len, tc->key_file);
}

/* Empty the cache at exit, so leak checkers see every context freed. It
 * is registered when the first context is cached, after OpenSSL registered
 * its own clean-up: handlers run in reverse, so ours runs before OpenSSL's
 * (a destructor would run after it, on a library already torn down). */
static pthread_once_t tls_exit_once = PTHREAD_ONCE_INIT;

static void
tls_register_exit(void)
{
    atexit(stm_smtp_tls_cache_clear);
}

/* A reference to the client context of S's service: from the cache, or
 * built and cached. Caller frees it with SSL_CTX_free(). NULL with s->err
 * set when it cannot be built (a failure is not cached: the next message
 * tries again). */
static SSL_CTX *
tls_context(stm_smtp_session *s, stm_smtp_phase phase)
{
    char key[TLS_KEY_MAX];
    bool cacheable = tls_key(&s->svc->tls_client, key);
    SSL_CTX *ctx = NULL;

    if (cacheable) {
        pthread_mutex_lock(&tls_lock);
        for (size_t i = 0; i < tls_ncache && ctx == NULL; i++)
            if (strcmp(tls_cache[i].key, key) == 0 && SSL_CTX_up_ref(tls_cache[i].ctx) == 1) {
                ctx = tls_cache[i].ctx;
                tls_cache[i].used = stm_clock_ms();
            }
        pthread_mutex_unlock(&tls_lock);
        if (ctx != NULL)
            return ctx;
    }
    /* Built outside the lock: reading a CA bundle takes a while. Two
     * threads may both build one; the second finds the key and keeps its
     * own context uncached. */
    if ((ctx = tls_build(s, phase)) == NULL || !cacheable)
        return ctx;
    SSL_CTX *drop = NULL;
    pthread_mutex_lock(&tls_lock);
    bool present = false;
    for (size_t i = 0; i < tls_ncache; i++)
        present = present || strcmp(tls_cache[i].key, key) == 0;
    if (!present && SSL_CTX_up_ref(ctx) == 1) {
        pthread_once(&tls_exit_once, tls_register_exit);
        size_t slot = tls_ncache;
        if (tls_ncache == TLS_CACHE_MAX) {
            slot = 0;
            for (size_t i = 1; i < tls_ncache; i++)
                if (tls_cache[i].used < tls_cache[slot].used)
                    slot = i;
            drop = tls_cache[slot].ctx;
        } else {
            tls_ncache++;
        }
        memcpy(tls_cache[slot].key, key, sizeof key);
        tls_cache[slot].ctx = ctx;
        tls_cache[slot].used = stm_clock_ms();
    }
    pthread_mutex_unlock(&tls_lock);
    SSL_CTX_free(drop); /* connections still using it hold their own reference */
    return ctx;
}

/* Drop every cached context (connections still using one keep it alive). */
void
stm_smtp_tls_cache_clear(void)
{
    pthread_mutex_lock(&tls_lock);
    size_t n = tls_ncache;
    SSL_CTX *ctxs[TLS_CACHE_MAX];
    for (size_t i = 0; i < n; i++)
        ctxs[i] = tls_cache[i].ctx;
    tls_ncache = 0;
    pthread_mutex_unlock(&tls_lock);
    for (size_t i = 0; i < n; i++)
        SSL_CTX_free(ctxs[i]);
}

/* Run the TLS handshake on the connected socket before DEADLINE. 0 or -1. */
int
stm_smtp_tls_handshake(stm_smtp_session *s, stm_smtp_phase phase, uint64_t deadline)
{
    const stm_tls_client *tc = &s->svc->tls_client;
    const char *name =
        (tc->server_name != NULL && tc->server_name[0] != '\0') ? tc->server_name : s->target->host;
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;
    char ebuf[256];

    SSL_CTX *ctx = tls_context(s, phase);
    if (ctx == NULL)
        return -1;
    s->ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL holds its own reference */
    if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
        stm_smtp_fail(s, phase, "TLS: %s", stm_smtp_tls_error(s, ebuf, sizeof ebuf));
        return -1;
    }
    if (!is_ip)
        SSL_set_tlsext_host_name(s->ssl, name);
    if (tc->verify) {
        X509_VERIFY_PARAM *vp = SSL_get0_param(s->ssl);
        X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, name)
                       : X509_VERIFY_PARAM_set1_host(vp, name, 0);
        if (ok != 1) {
            stm_smtp_fail(s, phase, "TLS: cannot check the name %s", name);
            return -1;
        }
    }
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int r = SSL_connect(s->ssl);
        if (r == 1)
            break;
        int e = SSL_get_error(s->ssl, r);
        int w;
        if (e == SSL_ERROR_WANT_READ)
            w = stm_smtp_io_wait(s, POLLIN, deadline);
        else if (e == SSL_ERROR_WANT_WRITE)
            w = stm_smtp_io_wait(s, POLLOUT, deadline);
        else {
            stm_smtp_fail(s, phase, "TLS handshake failed: %s",
                          stm_smtp_tls_error(s, ebuf, sizeof ebuf));
            return -1;
        }
        if (w != 1) {
            stm_smtp_fail(s, phase, "TLS handshake %s", w == 0 ? "timed out" : "poll failed");
            return -1;
        }
    }
    s->tls = true;
    s->res->tls = true;
    stm_smtp_log(s, "service=%s %s: TLS %s %s", s->svc->name, s->target->text,
                 SSL_get_version(s->ssl), SSL_get_cipher_name(s->ssl));
    return 0;
}
