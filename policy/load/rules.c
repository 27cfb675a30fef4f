/*
 * rules.c - the rules of a stage: rule/action/delegate items, their
 * status verbs and their effects (DESIGN.md "Rules", "Status verbs",
 * "Effects").
 *
 * Functions: stm_config_rules (load.h).
 *
 * Ownership: rules are compiled in place into the stm_rule_list given, which
 * belongs to the loader's policy; a rule with errors stays there half-built
 * (zero-initialised, so freeing it is safe) and the load fails.
 *
 * Errors: reported to the loader's diag at the offending node; the other
 * rules and keys are still checked.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"
#include "match/ipaddr.h"
#include "stagemilter/names.h"

static const char *const verb_words[] = {"next",   "accept", "faccept", "deny", "info",
                                         "reject", "defer",  "discard", NULL};

/* Check an SMTP CODE node for VERB ("deny" wants 5xx, "info" 4xx). */
static int
rules_code(stm_loader *ld, const stm_yt_node *node, const char *verb, char cls, int *out)
{
    if (stm_config_expect(ld, node, STM_YT_SCALAR, "code") < 0)
        return -1;
    const char *t = node->text;
    if (strlen(t) != 3 || !isdigit((unsigned char)t[0]) || !isdigit((unsigned char)t[1]) ||
        !isdigit((unsigned char)t[2])) {
        stm_config_error(ld, node, "%s: code must be 3 digits, not '%s'", verb, t);
        return -1;
    }
    if (t[0] != cls) {
        stm_config_error(ld, node, "%s needs a %cxx code, not %s%s", verb, cls, t,
                        cls == '5' ? " (a temporary refusal is info)"
                                   : " (a permanent refusal is deny)");
        return -1;
    }
    *out = atoi(t);
    return 0;
}

/* Check an enhanced status code "C.SSS.DDD" whose class must be CLS. */
static int
rules_enhanced(stm_loader *ld, const stm_yt_node *node, const char *verb, char cls, char *out,
               size_t outlen)
{
    if (stm_config_expect(ld, node, STM_YT_SCALAR, "enhanced") < 0)
        return -1;
    const char *t = node->text;
    const char *p = t + 1;
    bool ok = (t[0] == '2' || t[0] == '4' || t[0] == '5') && *p == '.';
    for (int part = 0; ok && part < 2; part++) {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++)
            digits++;
        ok = digits >= 1 && digits <= 3 && *p == (part == 0 ? '.' : '\0');
    }
    if (!ok || strlen(t) >= outlen) {
        stm_config_error(ld, node,
                        "%s: enhanced must be an enhanced status code like 5.7.1 "
                        "(class.subject.detail), not '%s'",
                        verb, t);
        return -1;
    }
    if (t[0] != cls) {
        stm_config_error(ld, node, "%s: enhanced code %s does not match the %cxx reply code", verb,
                        t, cls);
        return -1;
    }
    memcpy(out, t, strlen(t) + 1);
    return 0;
}

/* deny/info with {code, enhanced, text}. */
static void
rules_reply_map(stm_loader *ld, const stm_yt_node *node, const char *verb, char cls, stm_status *st)
{
    static const char *const keys[] = {"code", "enhanced", "text", NULL};
    char what[64];
    const stm_yt_node *v;
    if (node->type == STM_YT_NULL)
        return;
    snprintf(what, sizeof what, "%s", verb);
    if (stm_config_expect(ld, node, STM_YT_MAP, what) < 0)
        return;
    stm_config_check_keys(ld, node, what, keys);
    if ((v = stm_yt_get(node, "code")) != NULL)
        rules_code(ld, v, verb, cls, &st->code);
    if ((v = stm_yt_get(node, "enhanced")) != NULL)
        rules_enhanced(ld, v, verb, cls, st->enhanced, sizeof st->enhanced);
    if ((v = stm_yt_get(node, "text")) != NULL) {
        snprintf(what, sizeof what, "%s text", verb);
        st->text = stm_config_template(ld, v, what);
    }
}

/* A status verb (`then:` / `else:`) into ST. */
static int
rules_status(stm_loader *ld, const stm_yt_node *node, const char *what, stm_status *st)
{
    char buf[200];
    st->pos = stm_config_pos(ld, node);
    if (node->type == STM_YT_SCALAR) {
        for (int i = 0; verb_words[i] != NULL; i++) {
            if (strcmp(node->text, verb_words[i]) == 0) {
                st->verb = (stm_verb)i;
                return 0;
            }
        }
        if (strcmp(node->text, "quarantine") == 0)
            stm_config_error(ld, node, "%s: quarantine needs a queue: { quarantine: QUEUE }", what);
        else
            stm_config_error(ld, node, "%s: unknown verb '%s'; expected %s or { quarantine: QUEUE }",
                            what, node->text, stm_config_join(verb_words, buf, sizeof buf));
        return -1;
    }
    if (node->type != STM_YT_MAP || node->npairs != 1) {
        stm_config_error(
            ld, node,
            "%s must be a verb: a word (deny) or a mapping of one verb "
            "({ deny: { code: 550 } }), not %s",
            what, node->type == STM_YT_MAP ? "a mapping of several keys" : stm_yt_type_name(node));
        return -1;
    }
    const stm_yt_node *key = node->pairs[0].key, *v = node->pairs[0].value;
    const char *verb = key->text;
    st->pos = stm_config_pos(ld, key);
    if (strcmp(verb, "deny") == 0 || strcmp(verb, "info") == 0) {
        st->verb = verb[0] == 'd' ? STM_VERB_DENY : STM_VERB_INFO;
        rules_reply_map(ld, v, verb, verb[0] == 'd' ? '5' : '4', st);
    } else if (strcmp(verb, "reject") == 0 || strcmp(verb, "defer") == 0) {
        st->verb = verb[0] == 'r' ? STM_VERB_REJECT : STM_VERB_DEFER;
        if (v->type != STM_YT_NULL) {
            snprintf(buf, sizeof buf, "%s reason", verb);
            st->text = stm_config_template(ld, v, buf);
        }
    } else if (strcmp(verb, "quarantine") == 0) {
        st->verb = STM_VERB_QUARANTINE;
        if (v->type == STM_YT_NULL) {
            stm_config_error(ld, v, "quarantine needs a queue name");
            return -1;
        }
        if (stm_config_expect(ld, v, STM_YT_SCALAR, "the quarantine queue") < 0)
            return -1;
        char whybuf[128];
        const char *why = stm_queue_name_problem(v->text, whybuf, sizeof whybuf);
        if (why != NULL) {
            stm_config_error(ld, v,
                            "quarantine queue '%s' is not a valid name: %s (a queue is a "
                            "folder name under milter.workdir)",
                            v->text, why);
            return -1;
        }
        if ((st->queue = strdup(v->text)) == NULL) {
            stm_config_error(ld, v, "out of memory");
            return -1;
        }
        if (ld->first_quarantine == NULL)
            ld->first_quarantine = key;
    } else {
        bool known = false;
        for (int i = 0; verb_words[i] != NULL; i++)
            known = known || strcmp(verb, verb_words[i]) == 0;
        if (known)
            stm_config_error(ld, key, "%s: '%s' takes no argument; write it as a bare word", what,
                            verb);
        else
            stm_config_error(ld, key, "%s: unknown verb '%s'; expected %s or quarantine", what, verb,
                            stm_config_join(verb_words, buf, sizeof buf));
        return -1;
    }
    return 0;
}

/* Is NAME a valid header field name (RFC 5322: printable ASCII, no colon)? */
static bool
rules_header_name_ok(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c <= 32 || *c >= 127 || *c == ':')
            return false;
    return true;
}

/* Is NAME a valid variable name for set:/var:/${var.NAME}? */
static bool
rules_var_name_ok(const char *name)
{
    if (name[0] == '\0')
        return false;
    for (const char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
            return false;
    return true;
}

/* Append an effect to R; NULL on memory exhaustion (reported). */
static stm_effect *
rules_effect_new(stm_loader *ld, stm_rule *r, const stm_yt_node *at, stm_effect_type type)
{
    stm_effect *ne = realloc(r->effects, (r->neffects + 1) * sizeof *ne);
    if (ne == NULL) {
        stm_config_error(ld, at, "out of memory");
        return NULL;
    }
    r->effects = ne;
    stm_effect *e = &ne[r->neffects++];
    memset(e, 0, sizeof *e);
    e->type = type;
    e->pos = stm_config_pos(ld, at);
    return e;
}

/* One effect item (a mapping of one key) of a `do:` list. */
static void
rules_effect(stm_loader *ld, const stm_yt_node *node, stm_rule *r)
{
    static const char *const kinds[] = {"add_header", "set", "set_sender_ip", "log", NULL};
    char buf[160];
    if (node->type != STM_YT_MAP || node->npairs != 1) {
        stm_config_error(ld, node, "an effect must be a mapping of one key (%s), not %s",
                        stm_config_join(kinds, buf, sizeof buf),
                        node->type == STM_YT_MAP ? "a mapping of several keys"
                                                : stm_yt_type_name(node));
        return;
    }
    const stm_yt_node *key = node->pairs[0].key, *v = node->pairs[0].value;
    const char *kind = key->text;
    stm_effect *e;
    if (strcmp(kind, "add_header") == 0) {
        static const char *const keys[] = {"name", "value", NULL};
        if (stm_config_expect(ld, v, STM_YT_MAP, "add_header") < 0)
            return;
        stm_config_check_keys(ld, v, "add_header", keys);
        const stm_yt_node *name = stm_yt_get(v, "name"), *value = stm_yt_get(v, "value");
        if (name == NULL || value == NULL) {
            stm_config_error(ld, v, "add_header needs both name and value");
            return;
        }
        if ((e = rules_effect_new(ld, r, key, STM_EFFECT_ADD_HEADER)) == NULL)
            return;
        if (stm_config_string(ld, name, "add_header name", &e->name) == 0 &&
            !rules_header_name_ok(e->name))
            stm_config_error(ld, name,
                            "add_header name '%s' is not a valid header field name "
                            "(printable ASCII without spaces or ':')",
                            e->name);
        e->value = stm_config_template(ld, value, "add_header value");
    } else if (strcmp(kind, "set") == 0) {
        if (stm_config_expect(ld, v, STM_YT_MAP, "set") < 0)
            return;
        if (v->npairs == 0)
            stm_config_error(ld, v, "set needs at least one NAME: value");
        for (size_t i = 0; i < v->npairs; i++) {
            const stm_yt_node *k = v->pairs[i].key;
            if ((e = rules_effect_new(ld, r, k, STM_EFFECT_SET)) == NULL)
                return;
            if ((e->name = strdup(k->text)) == NULL)
                stm_config_error(ld, k, "out of memory");
            if (!rules_var_name_ok(k->text))
                stm_config_error(ld, k,
                                "variable name '%s' may hold only letters, digits, '_' and '-'",
                                k->text);
            e->value = stm_config_template(ld, v->pairs[i].value, "set value");
        }
    } else if (strcmp(kind, "set_sender_ip") == 0) {
        if (stm_config_expect(ld, v, STM_YT_SCALAR, "set_sender_ip") < 0)
            return;
        if ((e = rules_effect_new(ld, r, key, STM_EFFECT_SET_SENDER_IP)) == NULL)
            return;
        if (strcmp(v->text, "nat64") == 0) {
            e->nat64 = true;
            return;
        }
        stm_ip ip;
        if (strstr(v->text, "${") == NULL && stm_ip_parse(v->text, &ip) < 0) {
            stm_config_error(ld, v,
                            "set_sender_ip: '%s' is not an IP address (write an address, a "
                            "text with ${...}, or nat64)",
                            v->text);
            return;
        }
        e->value = stm_config_template(ld, v, "set_sender_ip");
    } else if (strcmp(kind, "log") == 0) {
        if ((e = rules_effect_new(ld, r, key, STM_EFFECT_LOG)) == NULL)
            return;
        e->value = stm_config_template(ld, v, "log");
    } else {
        stm_config_error(ld, key, "unknown effect '%s'; allowed: %s", kind,
                        stm_config_join(kinds, buf, sizeof buf));
    }
}

/* The `do:` value: a list of effects (one mapping is taken as a list of one). */
static void
rules_effects(stm_loader *ld, const stm_yt_node *node, stm_rule *r)
{
    if (node->type == STM_YT_NULL)
        return;
    if (node->type == STM_YT_MAP) {
        rules_effect(ld, node, r);
        return;
    }
    if (stm_config_expect(ld, node, STM_YT_SEQ, "do") < 0)
        return;
    for (size_t i = 0; i < node->nitems; i++)
        rules_effect(ld, node->items[i], r);
}

/* One rule item NODE into R. */
static void
rules_one(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope, stm_rule *r)
{
    static const char *const rule_keys[] = {"rule", "if", "do", "then", "else", NULL};
    static const char *const action_keys[] = {"action", "if", "do", NULL};
    static const char *const delegate_keys[] = {"rule", "delegate", "rules", "if", "do", NULL};
    char buf[200];

    r->pos = stm_config_pos(ld, node);
    if (node->type != STM_YT_MAP) {
        stm_config_error(ld, node, "a rule must be a mapping (rule: NAME, if:, do:, then:), not %s",
                        stm_yt_type_name(node));
        return;
    }
    const stm_yt_node *rule = stm_yt_get(node, "rule"), *action = stm_yt_get(node, "action");
    const stm_yt_node *delegate = stm_yt_get(node, "delegate");
    const stm_yt_node *name_node = rule ? rule : action;
    const char *const *allowed;
    if (rule != NULL && action != NULL) {
        stm_config_error(ld, node, "an item is either rule: NAME or action: NAME, not both");
        return;
    }
    if (name_node == NULL) {
        stm_config_error(ld, node, "a rule needs a name: rule: NAME (or action: NAME)");
        return;
    }
    if (action != NULL) {
        r->kind = STM_RULE_ACTION;
        allowed = action_keys;
    } else if (delegate != NULL) {
        r->kind = STM_RULE_DELEGATE;
        allowed = delegate_keys;
    } else {
        r->kind = STM_RULE_RULE;
        allowed = rule_keys;
    }
    if (name_node->type != STM_YT_SCALAR || name_node->text[0] == '\0') {
        stm_config_error(
            ld, name_node, "%s needs a non-empty name, not %s", action ? "action" : "rule",
            name_node->type == STM_YT_SCALAR ? "an empty string" : stm_yt_type_name(name_node));
    } else if ((r->name = strdup(name_node->text)) == NULL) {
        stm_config_error(ld, name_node, "out of memory");
    }
    const char *label = r->name ? r->name : "?";

    /* Keys that belong to another kind of rule get a message that says so. */
    for (size_t i = 0; i < node->npairs; i++) {
        const stm_yt_node *k = node->pairs[i].key;
        bool ok = false;
        for (size_t j = 0; allowed[j] != NULL; j++)
            ok = ok || strcmp(allowed[j], k->text) == 0;
        if (ok)
            continue;
        bool verb_key = strcmp(k->text, "then") == 0 || strcmp(k->text, "else") == 0;
        if (r->kind == STM_RULE_ACTION && verb_key)
            stm_config_error(ld, k,
                            "action '%s' has no %s: an action only runs effects (make it "
                            "a rule: to end in a verb)",
                            label, k->text);
        else if (r->kind == STM_RULE_DELEGATE && verb_key)
            stm_config_error(ld, k, "delegate rule '%s' has no %s: its rules: decide", label,
                            k->text);
        else if (r->kind == STM_RULE_ACTION && strcmp(k->text, "delegate") == 0)
            stm_config_error(ld, k, "delegate goes with rule: NAME, not action: NAME");
        else if (r->kind != STM_RULE_DELEGATE && strcmp(k->text, "rules") == 0)
            stm_config_error(ld, k, "rules: belongs to a delegate rule (add delegate: SERVICE)");
        else
            stm_config_error(ld, k, "unknown key '%s' in %s '%s'; allowed: %s", k->text,
                            r->kind == STM_RULE_ACTION ? "action" : "rule", label,
                            stm_config_join(allowed, buf, sizeof buf));
    }

    const stm_yt_node *v;
    if ((v = stm_yt_get(node, "if")) != NULL)
        r->cond = stm_config_cond(ld, v, scope);
    if ((v = stm_yt_get(node, "do")) != NULL)
        rules_effects(ld, v, r);

    if (r->kind == STM_RULE_RULE) {
        if ((v = stm_yt_get(node, "then")) != NULL)
            rules_status(ld, v, "then", &r->then);
        else
            stm_config_error(ld, node,
                            "rule '%s' has no then: (a rule ends in a verb; use action: NAME "
                            "for effects only)",
                            label);
        if ((v = stm_yt_get(node, "else")) != NULL)
            rules_status(ld, v, "else", &r->otherwise);
    } else if (r->kind == STM_RULE_DELEGATE) {
        if (scope.stage != STM_STAGE_PREQ && scope.stage != STM_STAGE_POSTQ)
            stm_config_error(ld, delegate,
                            "delegate is possible only at preq or postq (it needs the whole "
                            "message), not at %s",
                            stm_stage_name(scope.stage));
        else if (scope.in_delegate)
            stm_config_error(ld, delegate,
                            "a delegate rule cannot be inside another delegate's rules; put "
                            "them one after the other");
        if (ld->first_delegate == NULL)
            ld->first_delegate = node;
        if (stm_config_expect(ld, delegate, STM_YT_SCALAR, "delegate") == 0) {
            r->service = stm_policy_service(ld->policy, delegate->text);
            if (r->service == NULL || r->service->name == NULL) {
                r->service = NULL;
                if (ld->policy->nservices == 0) {
                    stm_config_error(ld, delegate,
                                    "unknown service '%s': the policy defines no services",
                                    delegate->text);
                } else {
                    size_t used = 0;
                    buf[0] = '\0';
                    for (size_t i = 0; i < ld->policy->nservices && used < sizeof buf; i++) {
                        const char *n = ld->policy->services[i].name;
                        int w = snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "",
                                         n ? n : "?");
                        if (w < 0)
                            break;
                        used += (size_t)w;
                    }
                    stm_config_error(ld, delegate, "unknown service '%s'; defined services: %s",
                                    delegate->text, buf);
                }
            }
        }
        stm_config_scope inner = {scope.stage, true};
        if ((v = stm_yt_get(node, "rules")) != NULL)
            stm_config_rules(ld, v, inner, &r->rules);
    }
}

/* The rules of one stage (or of a delegate's rules:). */
void
stm_config_rules(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope, stm_rule_list *list)
{
    char what[64];
    if (node == NULL || node->type == STM_YT_NULL)
        return;
    if (scope.in_delegate)
        snprintf(what, sizeof what, "rules");
    else
        snprintf(what, sizeof what, "stages.%s", stm_stage_name(scope.stage));
    if (stm_config_expect(ld, node, STM_YT_SEQ, what) < 0)
        return;
    if (node->nitems == 0)
        return;
    if ((list->rules = calloc(node->nitems, sizeof *list->rules)) == NULL) {
        stm_config_error(ld, node, "out of memory");
        return;
    }
    list->nrules = node->nitems;
    for (size_t i = 0; i < node->nitems; i++)
        rules_one(ld, node->items[i], scope, &list->rules[i]);
}
