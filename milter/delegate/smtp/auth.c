/*
 * auth.c - SMTP AUTH towards a scanner: PLAIN (username and password) and
 * EXTERNAL (the TLS client certificate), and xtext for MAIL FROM's AUTH=
 * (session.h).
 *
 * Functions: stm_smtp_auth, stm_smtp_auth_xtext.
 *
 * AUTH PLAIN is sent only over TLS, or to a loopback address where there is
 * no wire to sniff. AUTH EXTERNAL needs TLS with a client certificate. The
 * credentials are wiped from memory after use and never shown in the
 * transcript.
 *
 * Ownership: nothing is allocated here.
 *
 * Errors: stm_smtp_auth() returns 1 with s->err set when the server refuses
 * or the mechanism is not possible, -1 when the connection broke.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "delegate/smtp/session.h"

/* AUTH PLAIN with the service's username and password. 0, 1 or -1. */
static int
auth_plain(stm_smtp_session *s, stm_smtp_reply *r)
{
    const stm_service *svc = s->svc;
    char cmd[STM_SMTP_MAX_LINE + 64];

    if (!s->tls && !stm_smtp_io_peer_is_loopback(s)) {
        stm_smtp_fail(s, STM_SMTP_PH_AUTH, "AUTH PLAIN refused over a connection without TLS");
        return 1;
    }
    if (!s->cap_plain) {
        stm_smtp_fail(s, STM_SMTP_PH_AUTH, "server does not offer AUTH PLAIN");
        return 1;
    }
    const char *u = svc->username ? svc->username : "";
    const char *pw = svc->password ? svc->password : "";
    size_t ul = strlen(u), pl = strlen(pw), rl = ul + pl + 2;
    unsigned char raw[1024];
    char b64[1400];
    if (rl > sizeof raw) {
        stm_smtp_fail(s, STM_SMTP_PH_AUTH, "username and password too long");
        return 1;
    }
    raw[0] = '\0';
    memcpy(raw + 1, u, ul);
    raw[1 + ul] = '\0';
    memcpy(raw + 2 + ul, pw, pl);
    EVP_EncodeBlock((unsigned char *)b64, raw, (int)rl);
    snprintf(cmd, sizeof cmd, "AUTH PLAIN %s", b64);
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(b64, sizeof b64);
    int rc = stm_smtp_reply_command(s, STM_SMTP_PH_AUTH, cmd, "AUTH PLAIN (credentials)", r);
    OPENSSL_cleanse(cmd, sizeof cmd);
    if (rc != 0)
        return -1;
    if (r->code != 235) {
        stm_smtp_fail(s, STM_SMTP_PH_AUTH, "AUTH PLAIN failed: %d %s", r->code, r->text);
        return 1;
    }
    return 0;
}

/* AUTH EXTERNAL: the client certificate of the TLS session. 0, 1 or -1. */
static int
auth_external(stm_smtp_session *s, stm_smtp_reply *r)
{
    const stm_service *svc = s->svc;

    if (!s->tls || svc->tls_client.cert_file == NULL || svc->tls_client.cert_file[0] == '\0') {
        stm_smtp_fail(s, STM_SMTP_PH_AUTH, "AUTH EXTERNAL needs TLS with a client certificate");
        return 1;
    }
    if (!s->cap_external) {
        stm_smtp_fail(s, STM_SMTP_PH_AUTH, "server does not offer AUTH EXTERNAL");
        return 1;
    }
    if (stm_smtp_reply_command(s, STM_SMTP_PH_AUTH, "AUTH EXTERNAL =", NULL, r) != 0)
        return -1;
    if (r->code != 235) {
        stm_smtp_fail(s, STM_SMTP_PH_AUTH, "AUTH EXTERNAL failed: %d %s", r->code, r->text);
        return 1;
    }
    return 0;
}

/* Authenticate as the service says (session.h). */
int
stm_smtp_auth(stm_smtp_session *s, stm_smtp_reply *r)
{
    if (s->svc->auth == STM_AUTH_PLAIN)
        return auth_plain(s, r);
    if (s->svc->auth == STM_AUTH_EXTERNAL)
        return auth_external(s, r);
    return 0;
}

/* Append xtext (RFC 3461) of IN to OUT (size CAP). */
void
stm_smtp_auth_xtext(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 4 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if (c < 33 || c > 126 || c == '+' || c == '=')
            o += (size_t)snprintf(out + o, cap - o, "+%02X", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
}
