/*
 * test_tables.c - the condition and effect tables (policy/cond/cond_table.c,
 * policy/effect/effect_table.c) against the manual page
 * doc/stagemilter.yaml.5: every row has a key, its functions and a paragraph
 * in the page's CONDITIONS or EFFECTS section, and every key those sections
 * document is a row. The page is found through $top_srcdir (tests/run and
 * make check export it; "." otherwise).
 *
 * A paragraph is a `.TP` whose tag line (a .B, .BI or .BR request) names the
 * key followed by a colon outside braces, as in
 *     .TP
 *     .BI "rcpt: " PATTERN ", rcpt_domain: " PATTERN
 * which documents rcpt and rcpt_domain, while
 *     .BI "add_header: {name: " NAME ", value: " TEXT }
 * documents add_header only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cond/cond_table.h"
#include "effect/effect_table.h"

#define MAX_KEYS 64
#define MAX_KEY 40

/* The keys one section of the page documents. */
typedef struct doc_keys {
    char key[MAX_KEYS][MAX_KEY];
    size_t n;
} doc_keys;

/* The whole page, NUL-terminated; caller frees. Fails the test if absent. */
static char *
read_page(void)
{
    const char *top = getenv("top_srcdir");
    char path[4096];
    snprintf(path, sizeof path, "%s/doc/stagemilter.yaml.5", top && *top ? top : ".");
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s (set top_srcdir)", path);
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *grown = realloc(text, cap);
            assert_non_null(grown);
            text = grown;
        }
        memcpy(text + len, chunk, got);
        len += got;
    }
    fclose(f);
    assert_non_null(text);
    text[len] = '\0';
    return text;
}

/* Is CH part of a word of a man-page request (so a key cannot start after
 * it: "\(dq", "\fI", "${var.")? */
static int
word_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '\\' || ch == '(' || ch == '$';
}

/* Add to OUT the keys that the tag line LINE (LEN bytes) documents. */
static void
tag_keys(const char *line, size_t len, doc_keys *out)
{
    int depth = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = line[i];
        if (ch == '{')
            depth++;
        else if (ch == '}')
            depth--;
        if (depth != 0 || !(ch >= 'a' && ch <= 'z') || (i > 0 && word_char(line[i - 1])))
            continue;
        size_t j = i;
        while (j < len && ((line[j] >= 'a' && line[j] <= 'z') || line[j] == '_'))
            j++;
        if (j < len && line[j] == ':' && j - i < MAX_KEY && out->n < MAX_KEYS) {
            memcpy(out->key[out->n], line + i, j - i);
            out->key[out->n][j - i] = '\0';
            out->n++;
        }
        i = j - 1;
    }
}

/* The keys documented in section TITLE (".SH TITLE" up to the next .SH). */
static void
section_keys(const char *page, const char *title, doc_keys *out)
{
    char head[64];
    snprintf(head, sizeof head, "\n.SH %s\n", title);
    out->n = 0;
    const char *p = strstr(page, head);
    if (p == NULL)
        fail_msg("stagemilter.yaml(5) has no section %s", title);
    p += strlen(head);
    const char *end = strstr(p, "\n.SH ");
    if (end == NULL)
        end = p + strlen(p);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if (eol - p == 3 && strncmp(p, ".TP", 3) == 0 && eol < end) {
            const char *tag = eol + 1;
            const char *tag_end = memchr(tag, '\n', (size_t)(end - tag));
            if (tag_end == NULL)
                tag_end = end;
            if (strncmp(tag, ".B", 2) == 0)
                tag_keys(tag, (size_t)(tag_end - tag), out);
        }
        p = eol + 1;
    }
}

/* Is KEY among the documented ones? */
static int
documented(const doc_keys *doc, const char *key)
{
    for (size_t i = 0; i < doc->n; i++)
        if (strcmp(doc->key[i], key) == 0)
            return 1;
    return 0;
}

/* The key extraction itself, on the shapes the page uses. */
static void
test_tag_keys(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *want; /* keys joined by spaces */
    } cases[] = {
        {".BI \"rcpt: \" PATTERN \", rcpt_domain: \" PATTERN", "rcpt rcpt_domain"},
        {".BI \"add_header: {name: \" NAME \", value: \" TEXT }", "add_header"},
        {".BR \"auth: \" true \" | \" false \" | \" \\fIPATTERN\\fP", "auth"},
        {".BI \"size: \\(dq\" \"OP SIZE\" \\(dq", "size"},
        {".BI \"header: {\" NAME \": \" PATTERN \", ...}\"", "header"},
        {".BI \"id=\" ID \" stage=\" STAGE", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        doc_keys got = {.n = 0};
        char joined[256] = "";
        tag_keys(cases[i].line, strlen(cases[i].line), &got);
        for (size_t k = 0; k < got.n; k++) {
            strncat(joined, k ? " " : "", sizeof joined - strlen(joined) - 1);
            strncat(joined, got.key[k], sizeof joined - strlen(joined) - 1);
        }
        assert_string_equal(joined, cases[i].want);
    }
}

/* Every condition row is complete and documented; every documented
 * condition is a row. */
static void
test_conditions(void **state)
{
    (void)state;
    char *page = read_page();
    static doc_keys doc;
    int bad = 0;
    section_keys(page, "CONDITIONS", &doc);
    for (size_t i = 0; i < STM_COND_COUNT; i++) {
        const stm_cond_row *row = &stm_cond_table[i];
        if (row->key == NULL || row->value == NULL || row->parse == NULL || row->eval == NULL) {
            print_error("condition type %zu: its table row is missing or incomplete\n", i);
            bad = 1;
            continue;
        }
        if (stm_cond_table_find(row->key) != row) {
            print_error("condition '%s' is in the table twice\n", row->key);
            bad = 1;
        }
        if (!documented(&doc, row->key)) {
            print_error("condition '%s' has no .TP paragraph in stagemilter.yaml(5) "
                        "CONDITIONS\n",
                        row->key);
            bad = 1;
        }
    }
    for (size_t i = 0; i < doc.n; i++)
        if (stm_cond_table_find(doc.key[i]) == NULL) {
            print_error("stagemilter.yaml(5) CONDITIONS documents '%s', which is not in "
                        "the condition table\n",
                        doc.key[i]);
            bad = 1;
        }
    free(page);
    assert_int_equal(bad, 0);
}

/* Every effect row is complete and documented; every documented effect is
 * a row. */
static void
test_effects(void **state)
{
    (void)state;
    char *page = read_page();
    static doc_keys doc;
    int bad = 0;
    section_keys(page, "EFFECTS", &doc);
    for (size_t i = 0; i < STM_EFFECT_COUNT; i++) {
        const stm_effect_row *row = &stm_effect_table[i];
        if (row->key == NULL || row->parse == NULL || row->run == NULL) {
            print_error("effect type %zu: its table row is missing or incomplete\n", i);
            bad = 1;
            continue;
        }
        if (stm_effect_table_find(row->key) != row) {
            print_error("effect '%s' is in the table twice\n", row->key);
            bad = 1;
        }
        if (!documented(&doc, row->key)) {
            print_error("effect '%s' has no .TP paragraph in stagemilter.yaml(5) EFFECTS\n",
                        row->key);
            bad = 1;
        }
    }
    for (size_t i = 0; i < doc.n; i++)
        if (stm_effect_table_find(doc.key[i]) == NULL) {
            print_error("stagemilter.yaml(5) EFFECTS documents '%s', which is not in the "
                        "effect table\n",
                        doc.key[i]);
            bad = 1;
        }
    free(page);
    assert_int_equal(bad, 0);
}

/* Run the group (one plan in TAP output). */
int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_keys),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_effects),
    };
    return cmocka_run_group_tests_name("tables", tests, NULL, NULL);
}
