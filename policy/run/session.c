/*
 * session.c - one SMTP connection as the rule engine sees it (session.h).
 *
 * Functions: stm_session_create, stm_session_free, the setters and getters of
 * session.h (stm_session_strip_brackets among them), stm_session_lookup, and
 * the private helpers of session_internal.h used by the engine. The
 * delegations a session records are delegation.c's.
 *
 * Ownership: the session copies everything it is given and owns it; getters
 * return strings borrowed until that field is set again, the transaction ends
 * (envelope, message, delegations) or the session is freed. It holds one
 * reference on its policy, dropped by stm_session_free().
 *
 * Lifetimes: connection facts, macros and variables live for the connection;
 * begin/end_transaction reset the envelope, the message, added headers,
 * delegations and per-message decisions. Decisions taken at connect or helo
 * (faccept, quarantine, add_header) hold for every transaction; headers
 * from a helo stage that runs again (a new EHLO) replace the earlier helo's.
 *
 * Errors: setters return -1 on memory exhaustion and leave the field as it
 * was; nothing else fails.
 */
#include <stdlib.h>
#include <string.h>

#include "run/dnsbl.h"
#include "mime/mime.h"
#include "model.h"
#include "run/session_internal.h"
#include "run/edit.h"

/* Replace *FIELD by a copy of VALUE (NULL clears it). */
int
stm_session_set_str(char **field, const char *value)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* Free every name and value of KVS and empty it. */
static void
session_kvs_clear(stm_kvs *kvs)
{
    for (size_t i = 0; i < kvs->n; i++) {
        free(kvs->items[i].name);
        free(kvs->items[i].value);
    }
    free(kvs->items);
    memset(kvs, 0, sizeof *kvs);
}

/* The value stored under NAME in KVS, or NULL. */
static const char *
session_kvs_get(const stm_kvs *kvs, const char *name)
{
    for (size_t i = 0; i < kvs->n; i++)
        if (strcmp(kvs->items[i].name, name) == 0)
            return kvs->items[i].value;
    return NULL;
}

/* Store a copy of VALUE under NAME (LEN bytes of it) in KVS, replacing any. */
static int
session_kvs_set(stm_kvs *kvs, const char *name, size_t namelen, const char *value)
{
    for (size_t i = 0; i < kvs->n; i++)
        if (strlen(kvs->items[i].name) == namelen && memcmp(kvs->items[i].name, name, namelen) == 0)
            return stm_session_set_str(&kvs->items[i].value, value);
    if (kvs->n == kvs->cap) {
        size_t cap = kvs->cap ? kvs->cap * 2 : 8;
        stm_kv *items = realloc(kvs->items, cap * sizeof *items);
        if (items == NULL)
            return -1;
        kvs->items = items;
        kvs->cap = cap;
    }
    char *n = strndup(name, namelen);
    char *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -1;
    }
    kvs->items[kvs->n].name = n;
    kvs->items[kvs->n].value = v;
    kvs->n++;
    return 0;
}

/* Free an array of N headers. */
static void
session_headers_free(stm_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}

/* Append a copy of NAME: VALUE to the array *H of *N headers (capacity *CAP). */
static int
session_headers_add(stm_header **h, size_t *n, size_t *cap, const char *name, const char *value)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 4;
        stm_header *nh = realloc(*h, c * sizeof *nh);
        if (nh == NULL)
            return -1;
        *h = nh;
        *cap = c;
    }
    char *nm = strdup(name);
    char *v = strdup(value);
    if (nm == NULL || v == NULL) {
        free(nm);
        free(v);
        return -1;
    }
    (*h)[*n].name = nm;
    (*h)[*n].value = v;
    (*n)++;
    return 0;
}

/* Forget everything about the current transaction. */
static void
session_reset_transaction(stm_session *s)
{
    free(s->sender);
    s->sender = NULL;
    free(s->current_rcpt);
    s->current_rcpt = NULL;
    for (size_t i = 0; i < s->nrcpts; i++)
        free(s->rcpts[i]);
    free(s->rcpts);
    s->rcpts = NULL;
    s->nrcpts = s->rcpts_cap = 0;
    free(s->queue_id);
    s->queue_id = NULL;
    stm_message_clear(&s->message);
    session_headers_free(s->added, s->nadded);
    s->added = NULL;
    s->nadded = s->added_cap = 0;
    stm_session_clear_delegations(s);
    stm_session_edits_end(s);
    s->msg_faccepted = false;
    s->score = s->conn_score;
    free(s->quarantine_queue);
    free(s->quarantine_rule);
    s->quarantine_queue = s->quarantine_rule = NULL;
    s->ctx_deleg = NULL;
    s->in_transaction = false;
}

/* A new session on POLICY (own reference taken) with log id ID. POLICY may be
 * NULL (unit tests): every stage then has no rules. */
stm_session *
stm_session_create(stm_policy *policy, const char *id)
{
    stm_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    if (stm_session_set_str(&s->id, id ? id : "") < 0 ||
        (s->dnsbl = calloc(1, sizeof *s->dnsbl)) == NULL ||
        (s->dns_fetched = calloc(1, sizeof *s->dns_fetched)) == NULL) {
        free(s->dnsbl);
        free(s->id);
        free(s);
        return NULL;
    }
    stm_message_init(&s->message);
    s->policy = policy ? stm_policy_ref(policy) : NULL;
    /* Large bodies go to milter.spool; the policy outlives the session. */
    if (policy != NULL)
        stm_message_set_spool(&s->message, &policy->milter.spool);
    return s;
}

/* Free S and everything it owns; drop its policy reference. */
void
stm_session_free(stm_session *s)
{
    if (s == NULL)
        return;
    session_reset_transaction(s);
    free(s->id);
    free(s->client_ip);
    free(s->client_port);
    free(s->client_name);
    free(s->server_ip);
    free(s->server_port);
    free(s->server_id);
    free(s->helo);
    session_kvs_clear(&s->macros);
    session_kvs_clear(&s->vars);
    free(s->conn_quarantine_queue);
    free(s->conn_quarantine_rule);
    session_headers_free(s->conn_added, s->conn_nadded);
    free(s->dnsbl->zone);
    free(s->dnsbl->address);
    free(s->dnsbl->text);
    free(s->dnsbl);
    stm_dnsbl_forget(s);
    free(s->dns_fetched);
    stm_session_edits_free(s);
    if (s->policy != NULL)
        stm_policy_unref(s->policy);
    free(s);
}

/* The policy the session runs on (borrowed). */
stm_policy *
stm_session_policy(const stm_session *s)
{
    return s->policy;
}

/* The connection's log id. */
const char *
stm_session_id(const stm_session *s)
{
    return s->id;
}

/* Set the three client facts at once; all or nothing. */
int
stm_session_set_client(stm_session *s, const char *ip, const char *port, const char *name)
{
    char *a = NULL, *b = NULL, *c = NULL;
    if ((ip && (a = strdup(ip)) == NULL) || (port && (b = strdup(port)) == NULL) ||
        (name && (c = strdup(name)) == NULL)) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
    free(s->client_ip);
    free(s->client_port);
    free(s->client_name);
    s->client_ip = a;
    s->client_port = b;
    s->client_name = c;
    return 0;
}

/* Set the three server facts at once; all or nothing. */
int
stm_session_set_server(stm_session *s, const char *ip, const char *port, const char *server_id)
{
    char *a = NULL, *b = NULL, *c = NULL;
    if ((ip && (a = strdup(ip)) == NULL) || (port && (b = strdup(port)) == NULL) ||
        (server_id && (c = strdup(server_id)) == NULL)) {
        free(a);
        free(b);
        free(c);
        return -1;
    }
    free(s->server_ip);
    free(s->server_port);
    free(s->server_id);
    s->server_ip = a;
    s->server_port = b;
    s->server_id = c;
    return 0;
}

/* Set the HELO/EHLO name. */
int
stm_session_set_helo(stm_session *s, const char *helo)
{
    return stm_session_set_str(&s->helo, helo);
}

/* NAME without the braces of "{name}": its start in *START, length returned. */
static size_t
session_macro_name(const char *name, const char **start)
{
    size_t len = strlen(name);
    if (len >= 2 && name[0] == '{' && name[len - 1] == '}') {
        *start = name + 1;
        return len - 2;
    }
    *start = name;
    return len;
}

/* Set an MTA macro, "{name}" and "name" alike. */
int
stm_session_set_macro(stm_session *s, const char *name, const char *value)
{
    const char *n;
    size_t len = session_macro_name(name, &n);
    return session_kvs_set(&s->macros, n, len, value ? value : "");
}

/* The value of macro NAME ("{name}" or "name"), or NULL. */
const char *
stm_session_macro(const stm_session *s, const char *name)
{
    const char *n;
    size_t len = session_macro_name(name, &n);
    for (size_t i = 0; i < s->macros.n; i++)
        if (strlen(s->macros.items[i].name) == len && memcmp(s->macros.items[i].name, n, len) == 0)
            return s->macros.items[i].value;
    return NULL;
}

/* Start a transaction from SENDER ("" null sender). */
int
stm_session_begin_transaction(stm_session *s, const char *sender)
{
    char *copy = strdup(sender ? sender : "");
    if (copy == NULL)
        return -1;
    session_reset_transaction(s);
    s->sender = copy;
    s->in_transaction = true;
    /* Headers asked for at connect/helo go into every message. */
    for (size_t i = 0; i < s->conn_nadded; i++)
        if (session_headers_add(&s->added, &s->nadded, &s->added_cap, s->conn_added[i].name,
                                s->conn_added[i].value) < 0)
            return -1;
    return stm_session_edits_begin(s);
}

/* ADDR without its angle brackets, into BUF (see session.h). */
const char *
stm_session_strip_brackets(char *buf, size_t len, const char *addr)
{
    if (addr == NULL)
        addr = "";
    size_t n = strlen(addr);
    if (n >= 2 && addr[0] == '<' && addr[n - 1] == '>') {
        addr++;
        n -= 2;
    }
    if (n >= len)
        n = len - 1;
    memcpy(buf, addr, n);
    buf[n] = '\0';
    return buf;
}

/* Set the recipient the rcpt stage is about to judge. */
int
stm_session_set_rcpt(stm_session *s, const char *rcpt)
{
    return stm_session_set_str(&s->current_rcpt, rcpt);
}

/* Remember the current recipient as accepted. */
int
stm_session_accept_rcpt(stm_session *s)
{
    if (s->current_rcpt == NULL)
        return 0;
    if (s->nrcpts == s->rcpts_cap) {
        size_t cap = s->rcpts_cap ? s->rcpts_cap * 2 : 4;
        char **r = realloc(s->rcpts, cap * sizeof *r);
        if (r == NULL)
            return -1;
        s->rcpts = r;
        s->rcpts_cap = cap;
    }
    char *copy = strdup(s->current_rcpt);
    if (copy == NULL)
        return -1;
    s->rcpts[s->nrcpts++] = copy;
    return 0;
}

/* Set the MTA's queue id. */
int
stm_session_set_queue_id(stm_session *s, const char *queue_id)
{
    return stm_session_set_str(&s->queue_id, queue_id);
}

/* The MTA's copy of the message, for the caller to fill. */
stm_message *
stm_session_message(stm_session *s)
{
    return &s->message;
}

/* Forget the transaction. */
void
stm_session_end_transaction(stm_session *s)
{
    session_reset_transaction(s);
}

/* Client address as rules see it (after set_sender_ip, the new one). */
const char *
stm_session_client_ip(const stm_session *s)
{
    return s->client_ip;
}

/* Client port. */
const char *
stm_session_client_port(const stm_session *s)
{
    return s->client_port;
}

/* Client host name. */
const char *
stm_session_client_name(const stm_session *s)
{
    return s->client_name;
}

/* Server address. */
const char *
stm_session_server_ip(const stm_session *s)
{
    return s->server_ip;
}

/* Server port. */
const char *
stm_session_server_port(const stm_session *s)
{
    return s->server_port;
}

/* Server id (MTA host name). */
const char *
stm_session_server_id(const stm_session *s)
{
    return s->server_id;
}

/* HELO name. */
const char *
stm_session_helo(const stm_session *s)
{
    return s->helo;
}

/* Envelope sender ("" null sender; NULL outside a transaction). */
const char *
stm_session_sender(const stm_session *s)
{
    return s->sender;
}

/* Queue id. */
const char *
stm_session_queue_id(const stm_session *s)
{
    return s->queue_id;
}

/* Number of accepted recipients. */
size_t
stm_session_rcpt_count(const stm_session *s)
{
    return s->nrcpts;
}

/* Accepted recipient I, or NULL past the end. */
const char *
stm_session_rcpt_at(const stm_session *s, size_t i)
{
    return i < s->nrcpts ? s->rcpts[i] : NULL;
}

/* The recipient last given to set_rcpt. */
const char *
stm_session_current_rcpt(const stm_session *s)
{
    return s->current_rcpt;
}

/* Variable NAME, or NULL when never set. */
const char *
stm_session_var(const stm_session *s, const char *name)
{
    return session_kvs_get(&s->vars, name);
}

/* Set variable NAME. */
int
stm_session_set_var(stm_session *s, const char *name, const char *value)
{
    return session_kvs_set(&s->vars, name, strlen(name), value);
}

/* Headers add_header asked for in this transaction. */
const stm_header *
stm_session_added_headers(const stm_session *s, size_t *count)
{
    *count = s->nadded;
    return s->added;
}

/* Record an add_header effect run at STAGE. */
int
stm_session_add_header(stm_session *s, stm_stage stage, const char *name, const char *value)
{
    size_t conn_cap = s->conn_nadded;
    if (stage == STM_STAGE_CONNECT || stage == STM_STAGE_HELO) {
        /* conn_added grows one at a time: it is short and rarely written. */
        if (session_headers_add(&s->conn_added, &s->conn_nadded, &conn_cap, name, value) < 0)
            return -1;
        if (stage == STM_STAGE_CONNECT)
            s->conn_nadded_connect = s->conn_nadded;
        if (!s->in_transaction)
            return 0;
    }
    return session_headers_add(&s->added, &s->nadded, &s->added_cap, name, value);
}

/* A new EHLO: drop the connection headers the previous helo stage added. */
void
stm_session_restart_helo(stm_session *s)
{
    for (size_t i = s->conn_nadded_connect; i < s->conn_nadded; i++) {
        free(s->conn_added[i].name);
        free(s->conn_added[i].value);
    }
    s->conn_nadded = s->conn_nadded_connect;
    stm_session_edits_restart_helo(s);
}

/* Record a quarantine into QUEUE by RULE at STAGE, pending until end of message. */
int
stm_session_set_quarantine(stm_session *s, stm_stage stage, const char *queue, const char *rule)
{
    char *q = strdup(queue ? queue : "");
    char *r = strdup(rule ? rule : "");
    if (q == NULL || r == NULL) {
        free(q);
        free(r);
        return -1;
    }
    if (stage == STM_STAGE_CONNECT || stage == STM_STAGE_HELO) {
        free(s->conn_quarantine_queue);
        free(s->conn_quarantine_rule);
        s->conn_quarantine_queue = q;
        s->conn_quarantine_rule = r;
        s->conn_quarantine_stage = stage;
    } else {
        free(s->quarantine_queue);
        free(s->quarantine_rule);
        s->quarantine_queue = q;
        s->quarantine_rule = r;
        s->quarantine_stage = stage;
    }
    return 0;
}

/* The pending quarantine queue (the message's first, then the connection's). */
const char *
stm_session_quarantine(const stm_session *s, const char **rule, stm_stage *stage)
{
    if (s->quarantine_queue != NULL) {
        *rule = s->quarantine_rule;
        *stage = s->quarantine_stage;
        return s->quarantine_queue;
    }
    if (s->conn_quarantine_queue != NULL) {
        *rule = s->conn_quarantine_rule;
        *stage = s->conn_quarantine_stage;
        return s->conn_quarantine_queue;
    }
    return NULL;
}

/* ${subject}, ${attachments}, ${url_domains}: from the message's parse
 * (made now if no condition needed it yet); none before the message came. */
static const char *
session_lookup_mime(const stm_session *s, stm_template_var var, size_t i)
{
    const char *err = NULL;
    if (s->message.nheaders == 0)
        return NULL;
    const stm_mime *m = stm_mime_of_message(&s->message, &s->policy->milter.mime, &err);
    if (m == NULL)
        return NULL;
    if (var == STM_TPL_SUBJECT)
        return i == 0 ? m->subject : NULL;
    if (var == STM_TPL_URL_DOMAINS)
        return i < m->nhosts ? m->hosts[i] : NULL;
    for (size_t k = 0; k < m->nparts; k++)
        if (m->parts[k].name[0] != '\0' && i-- == 0)
            return m->parts[k].name;
    return NULL;
}

/* The values of template variables in S (a stm_template_lookup). */
const char *
stm_session_lookup(const void *ctx, stm_template_var var, const char *name, size_t i)
{
    const stm_session *s = ctx;
    const char *one = NULL;

    switch (var) {
    case STM_TPL_CLIENT_IP:
        one = s->client_ip;
        break;
    case STM_TPL_CLIENT_PORT:
        one = s->client_port;
        break;
    case STM_TPL_CLIENT_NAME:
        one = s->client_name;
        break;
    case STM_TPL_SERVER_IP:
        one = s->server_ip;
        break;
    case STM_TPL_SERVER_PORT:
        one = s->server_port;
        break;
    case STM_TPL_SERVER_ID:
        one = s->server_id;
        break;
    case STM_TPL_ID:
        one = s->id;
        break;
    case STM_TPL_QUEUE_ID:
        one = s->queue_id;
        break;
    case STM_TPL_HELO:
        one = s->helo;
        break;
    case STM_TPL_SENDER:
        if (s->sender != NULL)
            one = s->sender[0] == '\0' ? "<>" : s->sender;
        break;
    case STM_TPL_RCPT:
        /* At the rcpt stage the recipient being judged, else every accepted one. */
        if (s->stage != STM_STAGE_RCPT)
            return i < s->nrcpts ? s->rcpts[i] : NULL;
        one = s->current_rcpt;
        break;
    case STM_TPL_VAR:
        one = stm_session_var(s, name);
        break;
    case STM_TPL_REPLY:
        one = stm_session_last_reply(s);
        break;
    case STM_TPL_RATE:
        one = s->rate_text[0] != '\0' ? s->rate_text : NULL;
        break;
    case STM_TPL_DNSBL_ZONE:
        one = s->dnsbl->zone;
        break;
    case STM_TPL_DNSBL_ADDRESS:
        one = s->dnsbl->address;
        break;
    case STM_TPL_DNSBL_TEXT:
        one = s->dnsbl->text;
        break;
    case STM_TPL_SUBJECT:
    case STM_TPL_ATTACHMENTS:
    case STM_TPL_URL_DOMAINS:
        return session_lookup_mime(s, var, i);
    case STM_TPL_VIRUS:
    case STM_TPL_SPAM_SCORE:
        one = stm_session_scan_text(s, (int)var);
        break;
    case STM_TPL_SCORE:
        snprintf(((stm_session *)s)->score_text, sizeof s->score_text, "%.2f", s->score);
        one = s->score_text;
        break;
    }
    return i == 0 ? one : NULL;
}

/* Add N to the score (session_internal.h). */
void
stm_session_add_score(stm_session *s, stm_stage stage, double n)
{
    if (stage == STM_STAGE_CONNECT || stage == STM_STAGE_HELO)
        s->conn_score += n;
    s->score += n;
}
