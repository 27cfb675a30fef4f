/*
 * services.c - the services and lists sections of a policy, and the
 * address syntaxes (milter socket, HOST:PORT, scanner targets).
 *
 * Functions: stm_config_services, stm_config_lists, stm_config_hostport,
 * stm_config_socket_check (load.h).
 *
 * Scanner protocols are rows of services_protocols (name, default of
 * attempt_starttls, accepted target schemes), indexed by stm_protocol.
 *
 * Ownership: services and lists go into the loader's policy, which owns
 * them whether or not the load succeeds.
 *
 * Errors: reported to the loader's diag with the position of the offending
 * node (or of the character inside it); the rest of the section is still
 * checked.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"

/* Is TEXT[0..LEN) a port number 1..65535? */
static bool
services_port_ok(const char *text, size_t len)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        v = v * 10 + (unsigned long)(text[i] - '0');
    }
    return v >= 1 && v <= 65535;
}

/* Is TEXT[0..LEN) a plausible host name or IPv4 address? */
static bool
services_hostname_ok(const char *text, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (!isalnum(c) && c != '-' && c != '.' && c != '_')
            return false;
    }
    return true;
}

/* Is TEXT[0..LEN) an IPv6 address literal? */
static bool
services_v6_ok(const char *text, size_t len)
{
    char buf[64];
    struct in6_addr a;
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return inet_pton(AF_INET6, buf, &a) == 1;
}

/* Split "HOST:PORT" or "[V6]:PORT". */
int
stm_config_hostport(const char *text, char **host, char **port, const char **err, size_t *erroff)
{
    const char *h, *p;
    size_t hlen;
    *host = *port = NULL;
    *erroff = 0;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL) {
            *err = "missing ']' after the IPv6 address";
            return -1;
        }
        h = text + 1;
        hlen = (size_t)(close - h);
        if (!services_v6_ok(h, hlen)) {
            *err = "not an IPv6 address between [ and ]";
            *erroff = 1;
            return -1;
        }
        if (close[1] != ':') {
            *err = "expected ':PORT' after ']'";
            *erroff = (size_t)(close + 1 - text);
            return -1;
        }
        p = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL) {
            *err = "missing ':PORT'";
            *erroff = strlen(text);
            return -1;
        }
        h = text;
        hlen = (size_t)(colon - h);
        if (memchr(h, ':', hlen) != NULL) {
            *err = "an IPv6 address must be written in brackets: [ADDRESS]:PORT";
            return -1;
        }
        if (!services_hostname_ok(h, hlen)) {
            *err = "not a host name or IPv4 address";
            return -1;
        }
        p = colon + 1;
    }
    if (!services_port_ok(p, strlen(p))) {
        *err = "the port must be a number from 1 to 65535";
        *erroff = (size_t)(p - text);
        return -1;
    }
    *host = strndup(h, hlen);
    *port = strdup(p);
    if (*host == NULL || *port == NULL) {
        free(*host);
        free(*port);
        *host = *port = NULL;
        *err = "out of memory";
        return -1;
    }
    return 0;
}

/* Check a libmilter socket: unix:/path, local:/path, inet:PORT[@HOST],
 * inet6:PORT[@HOST]. */
int
stm_config_socket_check(const char *text, const char **err, size_t *erroff)
{
    *erroff = 0;
    if (strncmp(text, "unix:", 5) == 0 || strncmp(text, "local:", 6) == 0) {
        const char *path = strchr(text, ':') + 1;
        if (path[0] != '/') {
            *err = "the socket path must be absolute";
            *erroff = (size_t)(path - text);
            return -1;
        }
        return 0;
    }
    bool v6 = strncmp(text, "inet6:", 6) == 0;
    if (!v6 && strncmp(text, "inet:", 5) != 0) {
        *err = "unknown socket type";
        return -1;
    }
    const char *port = text + (v6 ? 6 : 5);
    const char *at = strchr(port, '@');
    size_t plen = at ? (size_t)(at - port) : strlen(port);
    if (!services_port_ok(port, plen)) {
        *err = "the port must be a number from 1 to 65535";
        *erroff = (size_t)(port - text);
        return -1;
    }
    if (at != NULL) {
        const char *host = at + 1;
        size_t hlen = strlen(host);
        bool ok = v6 ? services_v6_ok(host, hlen) || services_hostname_ok(host, hlen)
                     : services_hostname_ok(host, hlen);
        if (!ok) {
            *err = v6 ? "not an IPv6 address or host name after '@'"
                      : "not an IPv4 address or host name after '@'";
            *erroff = (size_t)(host - text);
            return -1;
        }
    }
    return 0;
}

/* The scanner protocols: one row each, indexed by stm_protocol. A new
 * protocol is a row here and its implementation in milter/delegate/ (see
 * milter/delegate/service.h). */
typedef struct services_scheme {
    const char *prefix; /* "tcp://" */
    bool implicit_tls;  /* the connection starts with the TLS handshake */
    bool unix_socket;   /* "unix:": an absolute path follows, not HOST:PORT */
} services_scheme;

typedef struct services_protocol {
    const char *name;               /* as written in protocol: */
    bool answers;                   /* the scanner answers instead of returning a
                                     * copy: apply: message has no body to apply */
    bool attempt_starttls;          /* the default of attempt_starttls */
    const services_scheme *schemes; /* the target schemes it accepts; ends with NULL */
    const char *targets_hint;       /* what a target looks like, for errors */
} services_protocol;

static const services_scheme services_smtp_schemes[] = {
    {"tcp://", false, false}, {"tls://", true, false}, {NULL, false, false}};
static const services_scheme services_http_schemes[] = {
    {"http://", false, false}, {"https://", true, false}, {NULL, false, false}};
static const services_scheme services_clamd_schemes[] = {
    {"unix:", false, true}, {"tcp://", false, false}, {NULL, false, false}};

static const services_protocol services_protocols[] = {
    [STM_PROTO_SMTP] = {"smtp", false, true, services_smtp_schemes,
                        "tcp://HOST:PORT or tls://HOST:PORT (implicit TLS)"},
    [STM_PROTO_LMTP] = {"lmtp", false, false, services_smtp_schemes,
                        "tcp://HOST:PORT or tls://HOST:PORT (implicit TLS)"},
    [STM_PROTO_CLAMD] = {"clamd", true, false, services_clamd_schemes,
                         "unix:/PATH (clamd's LocalSocket) or tcp://HOST:PORT"},
    [STM_PROTO_SPAMD] = {"spamd", true, false, services_clamd_schemes,
                         "tcp://HOST:PORT or unix:/PATH (spamd's --socketpath)"},
    [STM_PROTO_RSPAMD] = {"rspamd", true, false, services_http_schemes,
                          "http://HOST:PORT or https://HOST:PORT (rspamd's normal worker)"},
};
#define SERVICES_NPROTOCOLS (sizeof services_protocols / sizeof services_protocols[0])

/* One target of protocol PROTO ("tcp://HOST:PORT", "tls://HOST:PORT") into T. */
static int
services_target(stm_loader *ld, const stm_yt_node *node, const char *what,
                const services_protocol *proto, stm_target *t)
{
    const char *err = NULL;
    size_t off = 0;
    if (stm_config_expect(ld, node, STM_YT_SCALAR, what) < 0)
        return -1;
    const char *text = node->text;
    const services_scheme *sc = proto->schemes;
    while (sc->prefix != NULL && strncmp(text, sc->prefix, strlen(sc->prefix)) != 0)
        sc++;
    if (sc->prefix == NULL) {
        stm_config_error(ld, node, "%s '%s': a target is %s", what, text, proto->targets_hint);
        return -1;
    }
    size_t skip = strlen(sc->prefix);
    t->implicit_tls = sc->implicit_tls;
    t->unix_socket = sc->unix_socket;
    if (sc->unix_socket) {
        if (text[skip] != '/' || strlen(text + skip) >= 108) {
            stm_config_error_in(ld, node, skip, "%s '%s': %s", what, text,
                                "the socket path must be absolute and shorter than 108 bytes");
            return -1;
        }
        if ((t->host = strdup(text + skip)) == NULL || (t->text = strdup(text)) == NULL) {
            stm_config_error(ld, node, "out of memory");
            return -1;
        }
        return 0;
    }
    if (stm_config_hostport(text + skip, &t->host, &t->port, &err, &off) < 0) {
        stm_config_error_in(ld, node, skip + off, "%s '%s': %s", what, text, err);
        return -1;
    }
    if ((t->text = strdup(text)) == NULL) {
        stm_config_error(ld, node, "out of memory");
        return -1;
    }
    return 0;
}

/* A file a service names must be readable. */
static void
services_file_readable(stm_loader *ld, const stm_yt_node *node, const char *what, const char *path)
{
    if (path[0] == '\0')
        return;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        stm_config_error(ld, node, "%s '%s' cannot be read: %s", what, path, strerror(errno));
        return;
    }
    fclose(f);
}

/* tls_client of a service. */
static void
services_tls_client(stm_loader *ld, const stm_yt_node *node, const char *sname, stm_tls_client *tc)
{
    static const char *const keys[] = {"ca_file",     "cert_file", "key_file",
                                       "server_name", "verify",    NULL};
    char what[360];
    const stm_yt_node *v;
    if (node->type == STM_YT_NULL)
        return;
    snprintf(what, sizeof what, "%s.tls_client", sname);
    if (stm_config_expect(ld, node, STM_YT_MAP, what) < 0)
        return;
    stm_config_check_keys(ld, node, what, keys);
    char **fields[] = {&tc->ca_file, &tc->cert_file, &tc->key_file, &tc->server_name};
    for (size_t i = 0; i < 4; i++) {
        if ((v = stm_yt_get(node, keys[i])) == NULL)
            continue;
        snprintf(what, sizeof what, "%s.tls_client.%s", sname, keys[i]);
        if (stm_config_string(ld, v, what, fields[i]) == 0 && i < 3)
            services_file_readable(ld, v, what, *fields[i]);
    }
    if ((v = stm_yt_get(node, "verify")) != NULL) {
        snprintf(what, sizeof what, "%s.tls_client.verify", sname);
        stm_config_bool(ld, v, what, &tc->verify);
    }
    const stm_yt_node *cert = stm_yt_get(node, "cert_file"), *key = stm_yt_get(node, "key_file");
    if ((tc->cert_file[0] != '\0') != (tc->key_file[0] != '\0'))
        stm_config_error(ld,
                         cert  ? cert
                         : key ? key
                               : node,
                         "%s.tls_client: cert_file and key_file go together", sname);
}

/* Set the defaults of one service. */
static int
services_defaults(stm_service *s)
{
    s->protocol = STM_PROTO_SMTP;
    s->attempt_starttls = services_protocols[STM_PROTO_SMTP].attempt_starttls;
    s->tls_client.ca_file = strdup("/etc/ssl/certs/ca-certificates.crt");
    s->tls_client.cert_file = strdup("");
    s->tls_client.key_file = strdup("");
    s->tls_client.server_name = strdup("");
    s->tls_client.verify = true;
    s->auth = STM_AUTH_OFF;
    s->username = strdup("");
    s->password = strdup("");
    s->connect_timeout_ms = 5 * 60 * 1000;
    s->command_timeout_ms = 5 * 60 * 1000;
    s->submission_timeout_ms = 12 * 60 * 1000;
    s->timeout_ms = 60 * 1000;
    s->drop_grace_ms = 2 * 1000;
    s->apply = STM_APPLY_HEADERS;
    s->on_failure = STM_ON_FAILURE_TEMPFAIL;
    if (!s->tls_client.ca_file || !s->tls_client.cert_file || !s->tls_client.key_file ||
        !s->tls_client.server_name || !s->username || !s->password)
        return -1;
    return 0;
}

/* How messages name service S: "services.NAME", or "milter.quarantine_lmtp"
 * for the client of milter.quarantine: lmtp. Borrowed (a static name or
 * S's). */
static const char *
services_full(const stm_loader *ld, const stm_service *s, char *buf, size_t len)
{
    if (ld->policy->milter.quarantine_lmtp == s)
        return "milter.quarantine_lmtp";
    snprintf(buf, len, "services.%s", s->name);
    return buf;
}

/* The targets of service S: a list (a single string is taken as a list of
 * one). KEY is the service's name node, for the error when there is none. */
static void
services_targets(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *targets,
                 const services_protocol *proto, stm_service *s)
{
    char what[320], fullbuf[300];
#define SVC_WHAT(k)                                                                                \
    (snprintf(what, sizeof what, "%s.%s", services_full(ld, s, fullbuf, sizeof fullbuf), k), what)
    if (targets == NULL || targets->type == STM_YT_NULL ||
        (targets->type == STM_YT_SEQ && targets->nitems == 0)) {
        stm_config_error(ld, targets ? targets : key,
                         "%s needs targets: [\"tcp://HOST:PORT\", ...]",
                         services_full(ld, s, fullbuf, sizeof fullbuf));
    } else if (targets->type == STM_YT_SCALAR) {
        if ((s->targets = calloc(1, sizeof *s->targets)) != NULL) {
            s->ntargets = 1;
            services_target(ld, targets, SVC_WHAT("targets"), proto, &s->targets[0]);
        }
    } else if (stm_config_expect(ld, targets, STM_YT_SEQ, SVC_WHAT("targets")) == 0) {
        if ((s->targets = calloc(targets->nitems, sizeof *s->targets)) != NULL) {
            s->ntargets = targets->nitems;
            for (size_t t = 0; t < targets->nitems; t++)
                services_target(ld, targets->items[t], SVC_WHAT("targets"), proto, &s->targets[t]);
        }
    }
#undef SVC_WHAT
}

/* The auth of service S (AUTH node, or NULL), checked once the rest is known. */
static void
services_auth(stm_loader *ld, const stm_yt_node *auth, stm_service *s)
{
    static const char *const auths[] = {"off", "plain", "forward", "external", NULL};
    char what[320], fullbuf[300];
    int i;
#define SVC_WHAT(k)                                                                                \
    (snprintf(what, sizeof what, "%s.%s", services_full(ld, s, fullbuf, sizeof fullbuf), k), what)
    bool bf;
    if (auth != NULL && stm_config_is_bool(auth, &bf) && !bf) {
        s->auth = STM_AUTH_OFF; /* YAML 1.1 readers see `off` as false: accept both */
    } else if (auth != NULL && stm_config_enum(ld, auth, SVC_WHAT("auth"), auths, &i) == 0) {
        s->auth = (stm_auth_mode)i;
        if (s->auth == STM_AUTH_FORWARD) {
            stm_config_error(ld, auth,
                             "%s.auth: forward is not possible: a milter never sees "
                             "the client's password, so it cannot be passed on; use plain "
                             "(with username and password) or external (a TLS client "
                             "certificate)", services_full(ld, s, fullbuf, sizeof fullbuf));
        } else if (s->auth == STM_AUTH_PLAIN) {
            if (s->username[0] == '\0')
                stm_config_error(ld, auth, "%s.auth: plain needs a username",
                                 services_full(ld, s, fullbuf, sizeof fullbuf));
            for (size_t t = 0; t < s->ntargets; t++) {
                if (s->targets[t].text == NULL || s->targets[t].implicit_tls || s->require_tls)
                    continue;
                stm_config_warning(ld, auth,
                                   "%s.auth: plain may send the password in clear "
                                   "text to %s; set require_tls: true or use a tls:// target",
                                   services_full(ld, s, fullbuf, sizeof fullbuf),
                                   s->targets[t].text);
                break;
            }
        } else if (s->auth == STM_AUTH_EXTERNAL && s->tls_client.cert_file[0] == '\0') {
            stm_config_error(ld, auth,
                             "%s.auth: external needs tls_client.cert_file and key_file",
                             services_full(ld, s, fullbuf, sizeof fullbuf));
        }
    }
#undef SVC_WHAT
}

/* Keys of NODE that a scanner answering on its own connection (clamd,
 * spamd, rspamd: PROTO->answers) never reads: the SMTP client's are
 * refused (they would promise what the protocol never does), the
 * credentials and TLS settings its protocol does not send are warned
 * about. */
static void
services_answer_keys(stm_loader *ld, const stm_yt_node *node, const stm_service *s,
                     const services_protocol *proto)
{
    static const struct {
        const char *key;
        const char *why;
    } smtp_only[] = {
        {"attempt_starttls", "STARTTLS is an SMTP command"},
        {"require_tls",
         "STARTTLS is an SMTP command; https:// targets are TLS from the first byte"},
        {"auth", "SMTP AUTH is an SMTP command"},
        {"submission_timeout", "it bounds an SMTP DATA transfer"},
        {"drop_grace", "it waits for a copy to come back to the receiver"},
    };
    const stm_yt_node *v;
    if (!proto->answers)
        return;
    for (size_t i = 0; i < sizeof smtp_only / sizeof smtp_only[0]; i++)
        if ((v = stm_yt_get(node, smtp_only[i].key)) != NULL)
            stm_config_error(ld, v,
                             "services.%s.%s is for smtp and lmtp services; protocol %s never "
                             "uses it (%s)",
                             s->name, smtp_only[i].key, proto->name, smtp_only[i].why);
    /* What each answering protocol sends: spamd a User, rspamd a
     * Password and TLS to https:// targets. */
    bool user = s->protocol == STM_PROTO_SPAMD, pass = s->protocol == STM_PROTO_RSPAMD,
         tls = s->protocol == STM_PROTO_RSPAMD;
    static const char *const sends[] = {"username", "password", "tls_client"};
    bool used[] = {user, pass, tls};
    for (size_t i = 0; i < sizeof sends / sizeof sends[0]; i++)
        if (!used[i] && (v = stm_yt_get(node, sends[i])) != NULL)
            stm_config_warning(ld, v, "services.%s.%s is ignored: protocol %s never uses it",
                               s->name, sends[i], proto->name);
}

/* One service NAME: NODE into S. */
static void
services_one(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *node, stm_service *s,
             bool quarantine_lmtp)
{
    /* milter.quarantine_lmtp: an LMTP client like a service's, without
     * what only a scanner has (stm_config_quarantine_lmtp). */
    static const char *const lmtp_keys[] = {
        "targets",  "rcpt",     "attempt_starttls", "require_tls",     "tls_client",
        "auth",     "username", "password",         "connect_timeout", "command_timeout",
        "submission_timeout",   NULL};
    const char *prefix = quarantine_lmtp ? "milter" : "services";
    static const char *const keys[] = {"protocol",           "targets",
                                       "attempt_starttls",   "require_tls",
                                       "tls_client",         "auth",
                                       "username",           "password",
                                       "connect_timeout",    "command_timeout",
                                       "submission_timeout", "timeout",
                                       "drop_grace",         "apply",
                                       "on_failure",         NULL};
    static const char *const applies[] = {"headers", "message", NULL};
    static const char *const failures[] = {"tempfail", "accept", "reject", "continue", NULL};
    const char *protocols[SERVICES_NPROTOCOLS + 1] = {NULL};
    char what[320];
    const stm_yt_node *v;
    int i;

    for (size_t p = 0; p < SERVICES_NPROTOCOLS; p++)
        protocols[p] = services_protocols[p].name;
    s->pos = stm_config_pos(ld, key);
    if ((s->name = strdup(key->text)) == NULL || services_defaults(s) < 0) {
        stm_config_error(ld, key, "out of memory");
        return;
    }
    snprintf(what, sizeof what, "%s.%s", prefix, s->name);
    if (stm_config_expect(ld, node, STM_YT_MAP, what) < 0)
        return;
    stm_config_check_keys(ld, node, what, quarantine_lmtp ? lmtp_keys : keys);
    if (quarantine_lmtp)
        s->protocol = STM_PROTO_LMTP;

#define SVC_WHAT(k) (snprintf(what, sizeof what, "%s.%s.%s", prefix, s->name, k), what)
    if ((v = stm_yt_get(node, "protocol")) != NULL &&
        stm_config_enum(ld, v, SVC_WHAT("protocol"), protocols, &i) == 0)
        s->protocol = (stm_protocol)i;
    const services_protocol *proto = &services_protocols[s->protocol];
    s->attempt_starttls = proto->attempt_starttls;
    const stm_yt_node *starttls = stm_yt_get(node, "attempt_starttls");
    if (starttls != NULL)
        stm_config_bool(ld, starttls, SVC_WHAT("attempt_starttls"), &s->attempt_starttls);
    if ((v = stm_yt_get(node, "require_tls")) != NULL)
        stm_config_bool(ld, v, SVC_WHAT("require_tls"), &s->require_tls);
    if ((v = stm_yt_get(node, "tls_client")) != NULL)
        services_tls_client(ld, v, services_full(ld, s, what, sizeof what), &s->tls_client);
    if ((v = stm_yt_get(node, "username")) != NULL)
        stm_config_string(ld, v, SVC_WHAT("username"), &s->username);
    if ((v = stm_yt_get(node, "password")) != NULL)
        stm_config_string(ld, v, SVC_WHAT("password"), &s->password);
    static const char *const durations[] = {"connect_timeout", "command_timeout",
                                            "submission_timeout", "timeout", "drop_grace"};
    uint64_t *dfields[] = {&s->connect_timeout_ms, &s->command_timeout_ms,
                           &s->submission_timeout_ms, &s->timeout_ms, &s->drop_grace_ms};
    for (size_t d = 0; d < sizeof durations / sizeof durations[0]; d++)
        if ((v = stm_yt_get(node, durations[d])) != NULL)
            stm_config_duration(ld, v, SVC_WHAT(durations[d]), dfields[d]);
    /* The grace is counted after the final reply but never runs past
     * `timeout`: a longer one written down would not mean what it says. */
    const stm_yt_node *timeout = stm_yt_get(node, "timeout");
    if ((v = stm_yt_get(node, "drop_grace")) != NULL && s->drop_grace_ms > s->timeout_ms)
        stm_config_error(ld, v, "%s must be at most the service's timeout (%s)",
                         SVC_WHAT("drop_grace"), timeout != NULL ? timeout->text : "60s");
    if ((v = stm_yt_get(node, "apply")) != NULL &&
        stm_config_enum(ld, v, SVC_WHAT("apply"), applies, &i) == 0) {
        s->apply = (stm_apply)i;
        if (s->apply == STM_APPLY_MESSAGE && proto->answers)
            stm_config_error(ld, v,
                             "%s: message is for scanners that return a copy (smtp, lmtp); "
                             "%s answers with a verdict: use headers",
                             SVC_WHAT("apply"), proto->name);
    }
    if ((v = stm_yt_get(node, "on_failure")) != NULL &&
        stm_config_enum(ld, v, SVC_WHAT("on_failure"), failures, &i) == 0)
        s->on_failure = (stm_on_failure)i;

    services_targets(ld, key, stm_yt_get(node, "targets"), proto, s);
    services_answer_keys(ld, node, s, proto);
    if (proto->answers)
        return; /* its auth, STARTTLS: refused above */
    services_auth(ld, stm_yt_get(node, "auth"), s);
    if (s->require_tls && starttls != NULL && !s->attempt_starttls) {
        for (size_t t = 0; t < s->ntargets; t++) {
            if (s->targets[t].text != NULL && !s->targets[t].implicit_tls) {
                stm_config_error(ld, starttls,
                                 "%s.%s: require_tls with attempt_starttls: false can "
                                 "never succeed on %s",
                                 prefix, s->name, s->targets[t].text);
                break;
            }
        }
    }
#undef SVC_WHAT
}

/* The services section. */
void
stm_config_services(stm_loader *ld, const stm_yt_node *node)
{
    struct stm_policy *p = ld->policy;
    if (node == NULL || node->type == STM_YT_NULL)
        return;
    if (stm_config_expect(ld, node, STM_YT_MAP, "services") < 0)
        return;
    if (node->npairs == 0)
        return;
    if ((p->services = calloc(node->npairs, sizeof *p->services)) == NULL) {
        stm_config_error(ld, node, "out of memory");
        return;
    }
    p->nservices = node->npairs;
    for (size_t i = 0; i < node->npairs; i++)
        services_one(ld, node->pairs[i].key, node->pairs[i].value, &p->services[i], false);
}

/* milter.quarantine_lmtp (KEY: its key node) into S (load.h). */
void
stm_config_quarantine_lmtp(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *node,
                           stm_service *s)
{
    services_one(ld, key, node, s, true);
}

/* Is NAME usable after "@"? */
static bool
lists_name_ok(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-' && *c != '.')
            return false;
    return true;
}

/* One list NAME: NODE into LIST. */
static void
lists_one(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *node, stm_list *list)
{
    static const char *const keys[] = {"file", NULL};
    char what[300];
    snprintf(what, sizeof what, "lists.%s", key->text);
    if (!lists_name_ok(key->text))
        stm_config_error(ld, key, "list name '%s' may hold only letters, digits, '_', '-' and '.'",
                         key->text);
    if (node->type == STM_YT_SEQ) {
        for (size_t i = 0; i < node->nitems; i++) {
            const stm_yt_node *e = node->items[i];
            const char *err = NULL;
            if (stm_config_expect(ld, e, STM_YT_SCALAR, "a list entry") < 0)
                continue;
            if (stm_list_add(list, e->text, &err) < 0)
                stm_config_error(ld, e, "%s: bad entry '%s': %s", what, e->text,
                                 err ? err : "invalid");
        }
        return;
    }
    if (node->type != STM_YT_MAP) {
        stm_config_error(ld, node, "%s must be a list of entries or { file: PATH }, not %s", what,
                         stm_yt_type_name(node));
        return;
    }
    stm_config_check_keys(ld, node, what, keys);
    const stm_yt_node *file = stm_yt_get(node, "file");
    if (file == NULL) {
        stm_config_error(ld, node, "%s needs file: PATH", what);
        return;
    }
    if (stm_config_expect(ld, file, STM_YT_SCALAR, "a list file") < 0)
        return;
    if (file->text[0] == '\0') {
        stm_config_error(ld, file, "%s: the file name is empty", what);
        return;
    }
    char *path = NULL;
    int n;
    if (file->text[0] != '/' && ld->basedir != NULL)
        n = asprintf(&path, "%s/%s", ld->basedir, file->text);
    else
        n = asprintf(&path, "%s", file->text);
    if (n < 0) {
        stm_config_error(ld, file, "out of memory");
        return;
    }
    stm_list_load_file(list, path, stm_config_pos(ld, file), ld->diag);
    free(path);
}

/* The lists section. */
void
stm_config_lists(stm_loader *ld, const stm_yt_node *node)
{
    struct stm_policy *p = ld->policy;
    if (node == NULL || node->type == STM_YT_NULL)
        return;
    if (stm_config_expect(ld, node, STM_YT_MAP, "lists") < 0)
        return;
    if (node->npairs == 0)
        return;
    if ((p->lists = calloc(node->npairs, sizeof *p->lists)) == NULL) {
        stm_config_error(ld, node, "out of memory");
        return;
    }
    for (size_t i = 0; i < node->npairs; i++) {
        stm_list *list = stm_list_create(node->pairs[i].key->text);
        if (list == NULL) {
            stm_config_error(ld, node->pairs[i].key, "out of memory");
            continue;
        }
        p->lists[p->nlists++] = list;
        lists_one(ld, node->pairs[i].key, node->pairs[i].value, list);
    }
}

