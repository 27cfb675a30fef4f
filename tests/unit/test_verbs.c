/*
 * test_verbs.c - the status verb table (verbs.h) against itself and against
 * the manual: every stm_verb has a row with a word, the words are unique and
 * round-trip word -> verb -> word, a row's reply, defaults and code class
 * agree with each other, and the STATUS VERBS section of
 * doc/stagemilter.yaml.5 (found through $top_srcdir, as doc/man.t does) has a
 * paragraph for every verb and lists no verb the table lacks.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stagemilter/verbs.h"

#define PAGE_VERBS_MAX 64

/* Every enum value has a row with a word; nothing past the end has one. */
static void
test_rows(void **state)
{
    (void)state;
    for (int i = 0; i < STM_VERB_COUNT; i++) {
        const stm_verb_info *row = stm_verb_row((stm_verb)i);
        assert_non_null(row);
        assert_non_null(row->word);
        assert_true(row->word[0] != '\0');
    }
    assert_null(stm_verb_row(STM_VERB_COUNT));
    assert_string_equal(stm_verb_name(STM_VERB_COUNT), "?");
    assert_false(stm_verb_is_refusal(STM_VERB_COUNT));
    assert_int_equal(stm_verb_default(STM_VERB_COUNT, STM_STAGE_RCPT)->code, 0);
}

/* The words are unique, and word -> verb -> word round-trips. */
static void
test_words(void **state)
{
    (void)state;
    for (int i = 0; i < STM_VERB_COUNT; i++) {
        const char *word = stm_verb_row((stm_verb)i)->word;
        for (int j = i + 1; j < STM_VERB_COUNT; j++)
            assert_string_not_equal(word, stm_verb_row((stm_verb)j)->word);
        assert_int_equal(stm_verb_from_word(word), i);
        assert_string_equal(stm_verb_name((stm_verb)i), word);
    }
    assert_int_equal(stm_verb_from_word("rejekt"), -1);
    assert_int_equal(stm_verb_from_word(""), -1);
}

/* The first digit a reply class needs: '5', '4', or 0 for no reply. */
static char
class_digit(stm_verb_class reply)
{
    return reply == STM_VERB_CLASS_REJECT ? '5' : reply == STM_VERB_CLASS_TEMPFAIL ? '4' : 0;
}

/* One default reply agrees with the class digit D. */
static void
check_reply(const stm_verb_reply *r, char d)
{
    char code[8];
    snprintf(code, sizeof code, "%d", r->code);
    assert_int_equal(code[0], d);
    assert_int_equal(strlen(code), 3);
    assert_non_null(r->enhanced);
    assert_int_equal(r->enhanced[0], d);
    assert_non_null(r->text);
}

/* Within a row: only next does not decide; refusals, and only they, have
 * default replies of their class; a custom code's class is the reply's. */
static void
test_consistency(void **state)
{
    (void)state;
    for (int i = 0; i < STM_VERB_COUNT; i++) {
        const stm_verb_info *row = stm_verb_row((stm_verb)i);
        char d = class_digit(row->reply);
        assert_int_equal(row->decides, row->rest != STM_VERB_REST_NEXT);
        assert_int_equal(stm_verb_is_refusal((stm_verb)i), d != 0);
        if (stm_verb_is_refusal((stm_verb)i))
            assert_true(stm_verb_withholds((stm_verb)i));
        if (d != 0) {
            check_reply(&row->dflt, d);
            if (row->connect.code != 0)
                check_reply(&row->connect, d);
            for (int st = 0; st < STM_STAGE_COUNT; st++)
                check_reply(stm_verb_default((stm_verb)i, (stm_stage)st), d);
        } else {
            assert_int_equal(row->dflt.code, 0);
            assert_int_equal(row->connect.code, 0);
            assert_int_equal(stm_verb_default((stm_verb)i, STM_STAGE_CONNECT)->code, 0);
        }
        if (row->code_class != 0)
            assert_int_equal(row->code_class, d);
        assert_int_equal(row->arg == STM_VERB_ARG_REPLY, row->code_class != 0);
    }
}

/* DESIGN.md's defaults, stage by stage. */
static void
test_defaults(void **state)
{
    (void)state;
    assert_int_equal(stm_verb_default(STM_VERB_REJECT, STM_STAGE_CONNECT)->code, 521);
    assert_int_equal(stm_verb_default(STM_VERB_REJECT, STM_STAGE_RCPT)->code, 550);
    assert_int_equal(stm_verb_default(STM_VERB_DEFER, STM_STAGE_CONNECT)->code, 421);
    assert_string_equal(stm_verb_default(STM_VERB_DEFER, STM_STAGE_CONNECT)->enhanced, "4.7.0");
    assert_int_equal(stm_verb_default(STM_VERB_DEFER, STM_STAGE_MAIL)->code, 451);
    assert_string_equal(stm_verb_default(STM_VERB_DEFER, STM_STAGE_MAIL)->enhanced, "4.7.1");
    assert_int_equal(stm_verb_default(STM_VERB_DENY, STM_STAGE_CONNECT)->code, 554);
    assert_int_equal(stm_verb_default(STM_VERB_INFO, STM_STAGE_DATA)->code, 451);
    assert_false(stm_verb_withholds(STM_VERB_ACCEPT));
    assert_true(stm_verb_withholds(STM_VERB_DISCARD));
    assert_true(stm_verb_withholds(STM_VERB_QUARANTINE));
}

/* The verbs of the STATUS VERBS section of the man page: the first word of
 * the line after each .TP (".B next", ".BR deny ...", ".BI \"{quarantine: \"").
 * Fills WORDS (each malloc'd) and returns how many. */
static size_t
page_verbs(char *words[], size_t max)
{
    const char *src = getenv("top_srcdir");
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/doc/stagemilter.yaml.5", src != NULL ? src : ".");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s (set top_srcdir)", path);
    size_t n = 0;
    bool in = false, after_tp = false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, ".SH", 3) == 0) {
            if (in)
                break;
            in = strncmp(line, ".SH STATUS VERBS", 16) == 0;
            continue;
        }
        if (!in)
            continue;
        if (after_tp && line[0] == '.') {
            const char *p = line + 1;
            while (isalpha((unsigned char)*p)) /* the macro */
                p++;
            while (*p == ' ' || *p == '"' || *p == '{')
                p++;
            size_t len = 0;
            while (islower((unsigned char)p[len]) || p[len] == '_')
                len++;
            assert_true(len > 0);
            assert_true(n < max);
            words[n] = strndup(p, len);
            assert_non_null(words[n]);
            n++;
        }
        after_tp = strncmp(line, ".TP", 3) == 0;
    }
    fclose(f);
    return n;
}

/* Every verb has a paragraph in the manual; every paragraph is a verb. */
static void
test_man_page(void **state)
{
    (void)state;
    char *words[PAGE_VERBS_MAX];
    size_t n = page_verbs(words, PAGE_VERBS_MAX);
    for (int i = 0; i < STM_VERB_COUNT; i++) {
        const char *word = stm_verb_row((stm_verb)i)->word;
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found = strcmp(words[j], word) == 0;
        if (!found)
            fail_msg("verb '%s' has no paragraph in STATUS VERBS of stagemilter.yaml(5)", word);
    }
    for (size_t j = 0; j < n; j++) {
        if (stm_verb_from_word(words[j]) < 0)
            fail_msg("stagemilter.yaml(5) lists verb '%s', which the verb table lacks", words[j]);
        free(words[j]);
    }
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),        cmocka_unit_test(test_words),
        cmocka_unit_test(test_consistency), cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_man_page),
    };
    return cmocka_run_group_tests_name("verbs", tests, NULL, NULL);
}
