/*
 * load.c - the policy loader: YAML text in, a compiled and validated struct
 * stm_policy out (model.h); policy.c reads the file and calls it.
 *
 * Functions: stm_config_load. It sequences the sections and runs the
 * checks across them; the milter and receiver sections live here, services
 * and lists in services.c, rules in rules.c, conditions in conds.c. All of
 * them read the YAML tree with the typed readers of reader.c, which know
 * nothing of the sections.
 *
 * Ownership: the loaded policy carries one reference owned by the caller.
 *
 * Errors: every problem goes to the diag with FILE:LINE:COLUMN, all of them
 * in one run; the load returns NULL when any error was added (warnings alone
 * do not fail it). Nothing is left allocated on any path.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cond/cond_table.h"
#include "effect/effect_table.h"
#include "load/load.h"
#include "match/ipaddr.h"
#include "mime/mime.h"

/* milter.quarantine_lmtp: {targets, rcpt, ...}: where quarantine: lmtp
 * and lmtp+hold deliver. RCPT may name ${queue} (and $$); it must make an
 * address (no white space, control characters or brackets). */
static void
config_quarantine_lmtp(stm_loader *ld, const stm_yt_node *milter, stm_milter_config *m)
{
    const stm_yt_node *v = stm_yt_get(milter, "quarantine_lmtp");
    const stm_yt_node *q = stm_yt_get(milter, "quarantine");
    bool lmtp = m->quarantine == STM_QUARANTINE_LMTP || m->quarantine == STM_QUARANTINE_LMTP_HOLD;
    if (v == NULL) {
        if (lmtp)
            stm_config_error(ld, q,
                             "milter.quarantine: %s needs milter.quarantine_lmtp: {targets: "
                             "[\"tcp://HOST:24\"], rcpt: \"quarantine+${queue}@example.org\"}",
                             q->text);
        return;
    }
    if (stm_config_expect(ld, v, STM_YT_MAP, "milter.quarantine_lmtp") < 0)
        return;
    if ((m->quarantine_lmtp = calloc(1, sizeof *m->quarantine_lmtp)) == NULL) {
        stm_config_error(ld, v, "out of memory");
        return;
    }
    const stm_yt_node *key = NULL;
    for (size_t i = 0; i < milter->npairs; i++)
        if (milter->pairs[i].value == v)
            key = milter->pairs[i].key;
    stm_config_quarantine_lmtp(ld, key, v, m->quarantine_lmtp);
    const stm_yt_node *rcpt = stm_yt_get(v, "rcpt");
    if (rcpt == NULL) {
        stm_config_error(ld, v, "milter.quarantine_lmtp needs rcpt: the mailbox address, e.g. "
                                "\"quarantine+${queue}@example.org\"");
        return;
    }
    if (stm_config_string(ld, rcpt, "milter.quarantine_lmtp.rcpt", &m->quarantine_lmtp_rcpt) != 0)
        return;
    const char *r = m->quarantine_lmtp_rcpt;
    for (size_t i = 0; r[i] != '\0'; i++) {
        unsigned char c = (unsigned char)r[i];
        if (strncmp(r + i, "${queue}", 8) == 0) {
            i += 7;
        } else if (c == '$' && r[i + 1] == '$') {
            i++;
        } else if (c == '$' || c <= 32 || c == 127 || c == '<' || c == '>') {
            stm_config_error_in(ld, rcpt, i,
                                "milter.quarantine_lmtp.rcpt '%s' is not an address: only "
                                "${queue} (and $$ for '$') may be interpolated, and no white "
                                "space, control character or bracket",
                                r);
            return;
        }
    }
    if (r[0] == '\0')
        stm_config_error(ld, rcpt, "milter.quarantine_lmtp.rcpt must not be empty");
}

/* The milter section. */
static void
config_milter(stm_loader *ld, const stm_yt_node *node)
{
    static const char *const keys[] = {"socket",   "workdir",          "quarantine",
                                       "on_error", "max_message_size", "authserv_id",
                                       "mime",     "log_format",       "quarantine_lmtp",
                                       "spool",    NULL};
    static const char *const modes[] = {"store", "hold", "store+hold", "lmtp", "lmtp+hold", NULL};
    static const char *const on_error[] = {"tempfail", "accept", "reject", NULL};
    stm_milter_config *m = &ld->policy->milter;
    const stm_yt_node *v;
    int i;

    if (node == NULL || node->type == STM_YT_NULL)
        return;
    if (stm_config_expect(ld, node, STM_YT_MAP, "milter") < 0)
        return;
    stm_config_check_keys(ld, node, "milter", keys);
    if ((v = stm_yt_get(node, "socket")) != NULL &&
        stm_config_string(ld, v, "milter.socket", &m->socket) == 0) {
        const char *err = NULL;
        size_t off = 0;
        if (stm_config_socket_check(m->socket, &err, &off) < 0)
            stm_config_error_in(ld, v, off,
                                "milter.socket '%s': %s (write unix:/path, local:/path, "
                                "inet:PORT@HOST or inet6:PORT@HOST)",
                                m->socket, err);
    }
    if ((v = stm_yt_get(node, "workdir")) != NULL &&
        stm_config_string(ld, v, "milter.workdir", &m->workdir) == 0) {
        ld->workdir_node = v;
        if (m->workdir[0] != '/')
            stm_config_error(ld, v, "milter.workdir must be an absolute path, not '%s'",
                             m->workdir);
    }
    if ((v = stm_yt_get(node, "quarantine")) != NULL &&
        stm_config_enum(ld, v, "milter.quarantine", modes, &i) == 0)
        m->quarantine = (stm_quarantine_mode)i;
    if ((v = stm_yt_get(node, "on_error")) != NULL &&
        stm_config_enum(ld, v, "milter.on_error", on_error, &i) == 0)
        m->on_error = (stm_on_error)i;
    if ((v = stm_yt_get(node, "authserv_id")) != NULL)
        stm_config_authserv_id(ld, v);
    if ((v = stm_yt_get(node, "max_message_size")) != NULL) {
        uint64_t size = m->max_message_size;
        /* Memory per message is bounded by it (0 would mean "unbounded"
         * to the buffers): refuse rather than guess. */
        if (stm_config_size(ld, v, "milter.max_message_size", &size) == 0) {
            if (size == 0)
                stm_config_error(ld, v,
                                 "milter.max_message_size must be at least 1 byte (it bounds "
                                 "the memory kept of each message)");
            else
                m->max_message_size = size;
        }
    }
    stm_config_mime(ld, stm_yt_get(node, "mime"));
    stm_config_spool(ld, stm_yt_get(node, "spool"));
    static const char *const log_formats[] = {"text", "json", NULL};
    if ((v = stm_yt_get(node, "log_format")) != NULL &&
        stm_config_enum(ld, v, "milter.log_format", log_formats, &i) == 0)
        m->log_format = (stm_log_format)i;
    config_quarantine_lmtp(ld, node, m);
}

/* receiver.allow in NODE (a sequence of networks, or one) into R->allow. */
static void
config_receiver_allow(stm_loader *ld, const stm_yt_node *node, stm_receiver_config *r)
{
    const stm_yt_node *one[1] = {node};
    const stm_yt_node *const *items = one;
    size_t n = 1;

    if (node->type == STM_YT_SEQ) {
        items = (const stm_yt_node *const *)node->items;
        n = node->nitems;
    } else if (stm_config_expect(ld, node, STM_YT_SCALAR, "receiver.allow") < 0) {
        return;
    }
    if (n == 0) {
        stm_config_error(ld, node,
                         "receiver.allow is empty: no scanner could pass a message "
                         "back (the default is [\"127.0.0.0/8\", \"::1/128\"])");
        return;
    }
    stm_receiver_network *nets = calloc(n, sizeof *nets);
    if (nets == NULL) {
        stm_config_error(ld, node, "out of memory");
        return;
    }
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        char *text = NULL;
        char msg[300];
        stm_cidr cidr;
        if (stm_config_string(ld, items[i], "receiver.allow", &text) != 0)
            continue;
        if (stm_cidr_parse_msg(text, &cidr, msg, sizeof msg) != 0) {
            stm_config_error(ld, items[i],
                             "receiver.allow: %s (write a network such as "
                             "\"127.0.0.0/8\" or \"::1/128\")",
                             msg);
        } else {
            memcpy(nets[got].addr, cidr.addr.b, sizeof nets[got].addr);
            nets[got].prefix = cidr.prefix;
            got++;
        }
        free(text);
    }
    free(r->allow);
    r->allow = nets;
    r->nallow = got;
}

/* A receiver deadline in NODE into *OUT: at least one second. */
static void
config_receiver_timeout(stm_loader *ld, const stm_yt_node *node, const char *what, uint64_t *out)
{
    uint64_t ms = *out;
    if (stm_config_duration(ld, node, what, &ms) != 0)
        return;
    if (ms < 1000)
        stm_config_error(ld, node, "%s must be at least 1s (a deadline for a whole phase)", what);
    else
        *out = ms;
}

/* The receiver section. */
static void
config_receiver(stm_loader *ld, const stm_yt_node *node)
{
    static const char *const keys[] = {"listen", "allow", "session_timeout", "data_timeout", NULL};
    stm_receiver_config *r = &ld->policy->receiver;
    const stm_yt_node *v;

    r->present = true;
    r->pos = stm_config_pos(ld, node);
    if (node->type == STM_YT_NULL)
        return; /* `receiver:` alone: every default */
    if (stm_config_expect(ld, node, STM_YT_MAP, "receiver") < 0)
        return;
    stm_config_check_keys(ld, node, "receiver", keys);
    if ((v = stm_yt_get(node, "listen")) != NULL &&
        stm_config_string(ld, v, "receiver.listen", &r->listen) == 0) {
        const char *err = NULL;
        size_t off = 0;
        char *host = NULL, *port = NULL;
        if (stm_config_hostport(r->listen, &host, &port, &err, &off) < 0) {
            stm_config_error_in(ld, v, off,
                                "receiver.listen '%s': %s (write HOST:PORT or [IPV6]:PORT)",
                                r->listen, err);
            return;
        }
        free(r->host);
        free(r->port);
        r->host = host;
        r->port = port;
    }
    if ((v = stm_yt_get(node, "allow")) != NULL)
        config_receiver_allow(ld, v, r);
    if ((v = stm_yt_get(node, "session_timeout")) != NULL)
        config_receiver_timeout(ld, v, "receiver.session_timeout", &r->session_timeout_ms);
    if ((v = stm_yt_get(node, "data_timeout")) != NULL)
        config_receiver_timeout(ld, v, "receiver.data_timeout", &r->data_timeout_ms);
}

/* Is PATH (a directory) writable, or could it be created (load.h)? */
const char *
stm_config_dir_writable(const char *path, int *err)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return "it is not a directory";
        if (access(path, W_OK | X_OK) != 0) {
            *err = errno;
            return NULL;
        }
        return "";
    }
    if (errno != ENOENT) {
        *err = errno;
        return NULL;
    }
    /* It does not exist: can its nearest existing ancestor get it created? */
    char *dup = strdup(path);
    if (dup == NULL) {
        *err = ENOMEM;
        return NULL;
    }
    const char *why = "";
    for (;;) {
        char *slash = strrchr(dup, '/');
        if (slash == NULL)
            break;
        if (slash == dup)
            slash[1] = '\0';
        else
            *slash = '\0';
        if (stat(dup, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                why = "a parent of it is not a directory, so it cannot be created";
            else if (access(dup, W_OK | X_OK) != 0)
                why = "it does not exist and its parent directory is not writable";
            break;
        }
        if (errno != ENOENT) {
            *err = errno;
            why = NULL;
            break;
        }
        if (slash == dup)
            break;
    }
    free(dup);
    return why;
}

/* The checks that need several sections: receiver for delegation, a
 * writable workdir for stored quarantine. */
static void
config_cross_checks(stm_loader *ld)
{
    struct stm_policy *p = ld->policy;
    /* Only smtp and lmtp services pass a copy back; clamd, spamd and
     * rspamd answer on their own connection. */
    if (ld->first_copy_delegate != NULL && !p->receiver.present)
        stm_config_error(ld, ld->first_copy_delegate,
                         "delegating to an smtp or lmtp service needs a 'receiver' section "
                         "(where the scanner passes the message back), e.g. receiver: { "
                         "listen: \"127.0.0.1:10025\" }");
    if (ld->first_quarantine != NULL && (p->milter.quarantine == STM_QUARANTINE_STORE ||
                                         p->milter.quarantine == STM_QUARANTINE_STORE_HOLD)) {
        int err = 0;
        const char *why = stm_config_dir_writable(p->milter.workdir, &err);
        if (why == NULL)
            why = strerror(err);
        if (why[0] != '\0') {
            const stm_yt_node *at = ld->workdir_node ? ld->workdir_node : ld->first_quarantine;
            stm_config_error(ld, at,
                             "milter.workdir '%s' is not writable (%s), but a quarantine verb "
                             "stores messages there (milter.quarantine: %s)",
                             p->milter.workdir, why,
                             p->milter.quarantine == STM_QUARANTINE_STORE ? "store" : "store+hold");
        }
    }
}

/* Does COND (or anything below it) look at headers / the body? */
static void
config_flags_cond(struct stm_policy *p, const stm_cond *c)
{
    if (c == NULL)
        return;
    unsigned needs = stm_cond_table[c->type].needs;
    if (needs & STM_COND_NEEDS_HEADERS)
        p->needs_headers = true;
    if (needs & STM_COND_NEEDS_BODY)
        p->needs_body = true;
    for (size_t i = 0; i < c->ndnsbl; i++)
        if (c->dnsbl[i].of == STM_DNSBL_URL_DOMAINS)
            p->needs_body = true; /* the URL domains come from the message's text */
    for (size_t i = 0; i < c->nchildren; i++)
        config_flags_cond(p, c->children[i]);
}

/* Set the derived flags from the rules of LIST. */
static void
config_flags_rules(struct stm_policy *p, const stm_rule_list *list)
{
    bool store = p->milter.quarantine != STM_QUARANTINE_HOLD;
    for (size_t i = 0; i < list->nrules; i++) {
        const stm_rule *r = &list->rules[i];
        config_flags_cond(p, r->cond);
        for (size_t j = 0; j < r->neffects; j++)
            p->actions |= stm_effect_table[r->effects[j].type].actions;
        if (p->actions & STM_ACTION_ADD_HEADER)
            p->uses_add_header = true;
        /* Header changes name fields of the received header: keep it. */
        if (p->actions & STM_ACTION_CHANGE_HEADER)
            p->needs_headers = true;
        if (r->then.verb == STM_VERB_QUARANTINE || r->otherwise.verb == STM_VERB_QUARANTINE) {
            p->uses_quarantine = true;
            if (store)
                p->needs_body = true;
        }
        if (r->kind == STM_RULE_DELEGATE) {
            p->uses_delegation = true;
            for (size_t k = 0; k < r->nservices; k++)
                if (r->services[k]->protocol == STM_PROTO_SMTP ||
                    r->services[k]->protocol == STM_PROTO_LMTP)
                    p->uses_receiver = true;
            p->needs_body = true;
            config_flags_rules(p, &r->rules);
        }
    }
}

/* The defaults of DESIGN.md for everything outside the rules. */
static int
config_defaults(struct stm_policy *p)
{
    p->milter.socket = strdup("inet:8891@127.0.0.1");
    p->milter.workdir = strdup("/var/lib/stagemilter");
    p->milter.quarantine = STM_QUARANTINE_STORE;
    p->milter.on_error = STM_ON_ERROR_TEMPFAIL;
    p->milter.max_message_size = 50u * 1024 * 1024;
    stm_mime_limits_default(&p->milter.mime);
    p->milter.spool.memory = 1024 * 1024;
    p->receiver.listen = strdup("127.0.0.1:10025");
    p->receiver.host = strdup("127.0.0.1");
    p->receiver.port = strdup("10025");
    p->receiver.session_timeout_ms = 10 * 60 * 1000;
    p->receiver.data_timeout_ms = 5 * 60 * 1000;
    if (!p->milter.socket || !p->milter.workdir || !p->receiver.listen || !p->receiver.host ||
        !p->receiver.port)
        return -1;
    /* receiver.allow: the loopback networks, where a scanner on this host
     * connects from. */
    static const char *const allow[] = {"127.0.0.0/8", "::1/128"};
    if ((p->receiver.allow = calloc(2, sizeof *p->receiver.allow)) == NULL)
        return -1;
    for (size_t i = 0; i < 2; i++) {
        stm_cidr cidr;
        const char *err = NULL;
        if (stm_cidr_parse(allow[i], &cidr, &err) != 0)
            return -1;
        memcpy(p->receiver.allow[i].addr, cidr.addr.b, sizeof cidr.addr.b);
        p->receiver.allow[i].prefix = cidr.prefix;
    }
    p->receiver.nallow = 2;
    return 0;
}

/* The stages section. */
static void
config_stages(stm_loader *ld, const stm_yt_node *node)
{
    static const char *const names[] = {"connect", "helo", "mail",  "rcpt",
                                        "data",    "preq", "postq", NULL};
    if (node == NULL || node->type == STM_YT_NULL)
        return;
    if (stm_config_expect(ld, node, STM_YT_MAP, "stages") < 0)
        return;
    stm_config_check_keys(ld, node, "stages", names);
    for (size_t i = 0; i < node->npairs; i++) {
        int stage = stm_stage_from_name(node->pairs[i].key->text);
        if (stage < 0)
            continue;
        stm_config_scope scope = {(stm_stage)stage, false};
        stm_config_rules(ld, node->pairs[i].value, scope, &ld->policy->stages[stage]);
    }
}

/* A new policy named NAME with every default; NULL on memory exhaustion. */
static struct stm_policy *
config_new(const char *name)
{
    struct stm_policy *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    atomic_init(&p->refs, 1);
    p->path = strdup(name);
    p->files = calloc(1, sizeof *p->files);
    if (p->files != NULL) {
        p->nfiles = 1;
        p->files[0] = strdup(name);
    }
    if (p->path == NULL || p->files == NULL || p->files[0] == NULL || config_defaults(p) < 0) {
        stm_model_free(p);
        return NULL;
    }
    return p;
}

/* Load a policy from TEXT named NAME; list files relative to BASEDIR. */
stm_policy *
stm_config_load(const char *name, const char *text, size_t len, const char *basedir, stm_diag *diag)
{
    static const char *const keys[] = {"milter", "receiver", "services", "lists",
                                       "stages", "state",    "dns",   NULL};
    size_t errors_before = stm_diag_errors(diag);
    stm_yt_node *root = NULL;
    struct stm_policy *p = config_new(name);

    if (p == NULL) {
        stm_diag_add(diag, STM_SEV_ERROR, name, 0, 0, "out of memory loading the policy");
        return NULL;
    }
    stm_loader ld = {.diag = diag, .policy = p, .file = p->files[0], .basedir = basedir};
    if (stm_yt_parse(text, len, ld.file, diag, &root) < 0)
        goto done;
    if (root != NULL && root->type != STM_YT_NULL) {
        if (root->type != STM_YT_MAP) {
            stm_config_error(&ld, root,
                             "a policy must be a mapping of sections (milter, receiver, services, "
                             "lists, stages), not %s",
                             stm_yt_type_name(root));
            goto done;
        }
        stm_config_check_keys(&ld, root, "the policy", keys);
        config_milter(&ld, stm_yt_get(root, "milter"));
        if (stm_yt_get(root, "receiver") != NULL)
            config_receiver(&ld, stm_yt_get(root, "receiver"));
        stm_config_services(&ld, stm_yt_get(root, "services"));
        stm_config_lists(&ld, stm_yt_get(root, "lists"));
        stm_config_state(&ld, stm_yt_get(root, "state"));
        stm_config_dns(&ld, stm_yt_get(root, "dns"));
        config_stages(&ld, stm_yt_get(root, "stages"));
    } else {
        stm_config_dns(&ld, NULL);
    }
    stm_config_state_finish(&ld);
    config_cross_checks(&ld);
    for (int i = 0; i < STM_STAGE_COUNT; i++)
        config_flags_rules(p, &p->stages[i]);
    if (p->needs_body)
        p->needs_headers = true;
    stm_config_spool_finish(&ld);
done:
    stm_yt_free(root);
    if (stm_diag_errors(diag) > errors_before) {
        stm_model_free(p);
        return NULL;
    }
    return p;
}
