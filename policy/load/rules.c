/*
 * rules.c - the rules of a stage: rule/action/delegate items, their
 * status verbs and their effects (DESIGN.md "Rules", "Status verbs",
 * "Effects"). Each effect is parsed by its row of the effect table
 * (effect/effect_table.c).
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

#include "cond/cond_table.h"
#include "effect/effect_table.h"
#include "load/load.h"
#include "stagemilter/names.h"
#include "stagemilter/verbs.h"

/* "next, accept, ... or { quarantine: QUEUE }": the words of the verb table,
 * bare ones first, then those that need an argument (BRACED: in braces). */
static const char *
rules_verb_words(char *buf, size_t len, bool braced)
{
    const char *bare[STM_VERB_COUNT + 1];
    size_t n = 0, used;
    for (int i = 0; i < STM_VERB_COUNT; i++)
        if (stm_verb_row((stm_verb)i)->arg != STM_VERB_ARG_QUEUE)
            bare[n++] = stm_verb_row((stm_verb)i)->word;
    bare[n] = NULL;
    stm_config_join(bare, buf, len);
    for (int i = 0; i < STM_VERB_COUNT; i++) {
        const stm_verb_info *row = stm_verb_row((stm_verb)i);
        used = strlen(buf);
        if (row->arg == STM_VERB_ARG_QUEUE)
            snprintf(buf + used, len - used, braced ? " or { %s: QUEUE }" : " or %s", row->word);
    }
    return buf;
}

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

/* {quarantine: QUEUE}: the queue name into ST. */
static int
rules_queue(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v, stm_status *st)
{
    if (v->type == STM_YT_NULL) {
        stm_config_error(ld, v, "%s needs a queue name", key->text);
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
    return 0;
}

/* A status verb (`then:` / `else:`) into ST, by the verb table's rows. */
static int
rules_status(stm_loader *ld, const stm_yt_node *node, const char *what, stm_status *st)
{
    char buf[200];
    st->pos = stm_config_pos(ld, node);
    if (node->type == STM_YT_SCALAR) {
        int verb = stm_verb_from_word(node->text);
        if (verb >= 0 && stm_verb_row((stm_verb)verb)->arg != STM_VERB_ARG_QUEUE) {
            st->verb = (stm_verb)verb;
            return 0;
        }
        if (verb >= 0)
            stm_config_error(ld, node, "%s: %s needs a queue: { %s: QUEUE }", what, node->text,
                             node->text);
        else
            stm_config_error(ld, node, "%s: unknown verb '%s'; expected %s", what, node->text,
                             rules_verb_words(buf, sizeof buf, true));
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
    const char *word = key->text;
    int verb = stm_verb_from_word(word);
    const stm_verb_info *row = verb >= 0 ? stm_verb_row((stm_verb)verb) : NULL;
    st->pos = stm_config_pos(ld, key);
    if (row == NULL) {
        stm_config_error(ld, key, "%s: unknown verb '%s'; expected %s", what, word,
                         rules_verb_words(buf, sizeof buf, false));
        return -1;
    }
    st->verb = (stm_verb)verb;
    switch (row->arg) {
    case STM_VERB_ARG_REPLY:
        rules_reply_map(ld, v, word, row->code_class, st);
        return 0;
    case STM_VERB_ARG_REASON:
        if (v->type != STM_YT_NULL) {
            snprintf(buf, sizeof buf, "%s reason", word);
            st->text = stm_config_template(ld, v, buf);
        }
        return 0;
    case STM_VERB_ARG_QUEUE:
        return rules_queue(ld, key, v, st);
    case STM_VERB_ARG_GREYLIST:
        return stm_config_greylist(ld, key, v, st);
    case STM_VERB_ARG_NONE:
    default:
        st->verb = STM_VERB_NEXT;
        stm_config_error(ld, key, "%s: '%s' takes no argument; write it as a bare word", what,
                         word);
        return -1;
    }
}

/* One effect item (a mapping of one key) of a `do:` list, parsed by the
 * row of its key in the effect table (effect/effect_table.c). */
static void
rules_effect(stm_loader *ld, const stm_yt_node *node, stm_rule *r)
{
    const char *kinds[STM_EFFECT_COUNT + 1];
    char buf[160];
    for (size_t i = 0; i < STM_EFFECT_COUNT; i++)
        kinds[i] = stm_effect_table[i].key;
    kinds[STM_EFFECT_COUNT] = NULL;
    if (node->type != STM_YT_MAP || node->npairs != 1) {
        stm_config_error(ld, node, "an effect must be a mapping of one key (%s), not %s",
                         stm_config_join(kinds, buf, sizeof buf),
                         node->type == STM_YT_MAP ? "a mapping of several keys"
                                                  : stm_yt_type_name(node));
        return;
    }
    const stm_yt_node *key = node->pairs[0].key, *v = node->pairs[0].value;
    const stm_effect_row *row = stm_effect_table_find(key->text);
    if (row == NULL) {
        stm_config_error(ld, key, "unknown effect '%s'; allowed: %s", key->text,
                         stm_config_join(kinds, buf, sizeof buf));
        return;
    }
    row->parse(ld, row, (stm_effect_type)(row - stm_effect_table), r, key, v);
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

/* The kind and name of rule NODE into R: the keys its kind allows, or NULL
 * (reported) when it has no usable name key. */
static const char *const *
rules_kind(stm_loader *ld, const stm_yt_node *node, stm_rule *r)
{
    static const char *const rule_keys[] = {"rule", "if", "do", "then", "else", NULL};
    static const char *const action_keys[] = {"action", "if", "do", NULL};
    static const char *const delegate_keys[] = {"rule", "delegate", "rules", "if", "do", NULL};
    const stm_yt_node *rule = stm_yt_get(node, "rule"), *action = stm_yt_get(node, "action");
    const stm_yt_node *name_node = rule ? rule : action;
    const char *const *allowed;

    if (rule != NULL && action != NULL) {
        stm_config_error(ld, node, "an item is either rule: NAME or action: NAME, not both");
        return NULL;
    }
    if (name_node == NULL) {
        stm_config_error(ld, node, "a rule needs a name: rule: NAME (or action: NAME)");
        return NULL;
    }
    if (action != NULL) {
        r->kind = STM_RULE_ACTION;
        allowed = action_keys;
    } else if (stm_yt_get(node, "delegate") != NULL) {
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
    return allowed;
}

/* Report keys of rule NODE its kind does not allow. Keys that belong to
 * another kind of rule get a message that says so. */
static void
rules_check_keys(stm_loader *ld, const stm_yt_node *node, const stm_rule *r,
                 const char *const *allowed, const char *label)
{
    char buf[200];
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
}

/* The service DELEGATE (a scalar) names, appended to R->services (and
 * the first into R->service); reported when unknown, with the services the
 * policy defines, or when named twice. */
static void
rules_delegate_service(stm_loader *ld, const stm_yt_node *delegate, stm_rule *r)
{
    const struct stm_policy *p = ld->policy;
    const stm_service *found = NULL;
    char buf[200];

    for (size_t i = 0; i < p->nservices && found == NULL; i++)
        if (p->services[i].name != NULL && strcmp(p->services[i].name, delegate->text) == 0)
            found = &p->services[i];
    if (found != NULL) {
        for (size_t i = 0; i < r->nservices; i++)
            if (r->services[i] == found) {
                stm_config_error(ld, delegate, "service '%s' is named twice in this delegate",
                                 delegate->text);
                return;
            }
        const stm_service **g = realloc(r->services, (r->nservices + 1) * sizeof *g);
        if (g == NULL) {
            stm_config_error(ld, delegate, "out of memory");
            return;
        }
        r->services = g;
        r->services[r->nservices++] = found;
        /* smtp and lmtp pass a copy back: the policy needs a receiver. */
        if ((found->protocol == STM_PROTO_SMTP || found->protocol == STM_PROTO_LMTP) &&
            ld->first_copy_delegate == NULL)
            ld->first_copy_delegate = delegate;
        if (r->service == NULL)
            r->service = found;
        return;
    }
    if (p->nservices == 0) {
        stm_config_error(ld, delegate, "unknown service '%s': the policy defines no services",
                         delegate->text);
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->nservices && used < sizeof buf; i++) {
        const char *n = p->services[i].name;
        int w = snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "", n ? n : "?");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    stm_config_error(ld, delegate, "unknown service '%s'; defined services: %s", delegate->text,
                     buf);
}

/* The parts of a delegate rule NODE: where it may run, its service, its rules. */
static void
rules_delegate(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope, stm_rule *r)
{
    const stm_yt_node *delegate = stm_yt_get(node, "delegate"), *v;

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
    /* delegate: SERVICE, or delegate: [a, b, c]: they run at the same time. */
    if (delegate->type == STM_YT_SEQ && delegate->nitems > 0) {
        for (size_t i = 0; i < delegate->nitems; i++)
            if (stm_config_expect(ld, delegate->items[i], STM_YT_SCALAR, "a delegate's service") ==
                0)
                rules_delegate_service(ld, delegate->items[i], r);
    } else if (delegate->type == STM_YT_SEQ) {
        stm_config_error(ld, delegate, "delegate needs at least one service");
    } else if (stm_config_expect(ld, delegate, STM_YT_SCALAR, "delegate") == 0) {
        rules_delegate_service(ld, delegate, r);
    }
    stm_config_scope inner = {scope.stage, true};
    if ((v = stm_yt_get(node, "rules")) != NULL)
        stm_config_rules(ld, v, inner, &r->rules);
}

/* One rule item NODE into R. */
static void
rules_one(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope, stm_rule *r)
{
    const stm_yt_node *v;

    r->pos = stm_config_pos(ld, node);
    if (node->type != STM_YT_MAP) {
        stm_config_error(ld, node, "a rule must be a mapping (rule: NAME, if:, do:, then:), not %s",
                         stm_yt_type_name(node));
        return;
    }
    const char *const *allowed = rules_kind(ld, node, r);
    if (allowed == NULL)
        return;
    const char *label = r->name ? r->name : "?";
    rules_check_keys(ld, node, r, allowed, label);

    if ((v = stm_yt_get(node, "if")) != NULL)
        r->cond = stm_config_cond(ld, v, scope);
    if ((v = stm_yt_get(node, "do")) != NULL)
        rules_effects(ld, v, r);

    if (r->kind == STM_RULE_RULE) {
        if ((v = stm_yt_get(node, "then")) != NULL) {
            rules_status(ld, v, "then", &r->then);
            stm_config_greylist_finish(ld, v, scope, &r->then);
        } else
            stm_config_error(ld, node,
                             "rule '%s' has no then: (a rule ends in a verb; use action: NAME "
                             "for effects only)",
                             label);
        if ((v = stm_yt_get(node, "else")) != NULL) {
            rules_status(ld, v, "else", &r->otherwise);
            stm_config_greylist_finish(ld, v, scope, &r->otherwise);
        }
    } else if (r->kind == STM_RULE_DELEGATE) {
        rules_delegate(ld, node, scope, r);
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
