/*
 * fuzz_policy.c - libFuzzer target: the policy loader on arbitrary text.
 *
 * Feeds: the input as the text of a policy file, through
 * stm_policy_load_text() (libyaml, the YAML tree with its depth and
 * duplicate-key checks, every section's reader, the tables of conditions and
 * effects, patterns, templates, the validation). List and TLS files the
 * text names are opened from disk, relative to the current directory; the
 * fuzzer never writes them (run.t runs it in an empty directory).
 *
 * Asserts, beyond not crashing, leaking or tripping a sanitizer:
 *   - a rejected policy (NULL) left at least one error in the diag, and
 *     every entry has a message and a file name;
 *   - an accepted policy left no error (warnings allowed), and its
 *     accessors answer: services by index and by name agree, the macro
 *     names are non-empty strings, a reference taken and dropped leaves
 *     it usable;
 *   - the diag prints (stm_diag_each_line) one non-empty line per entry.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "stagemilter/diag.h"
#include "stagemilter/policy.h"

/* Counts the lines stm_diag_each_line gives and checks each. */
static void
fuzz_policy_line(void *ctx, stm_severity sev, const char *line)
{
    size_t *n = ctx;
    FUZZ_CHECK(sev == STM_SEV_ERROR || sev == STM_SEV_WARNING);
    FUZZ_CHECK(line != NULL && line[0] != '\0');
    (*n)++;
}

/* Ask an accepted policy everything it can be asked. */
static void
fuzz_policy_inspect(stm_policy *pol)
{
    size_t nsvc = stm_policy_service_count(pol);
    for (size_t i = 0; i < nsvc; i++) {
        const stm_service *svc = stm_policy_service_at(pol, i);
        FUZZ_CHECK(svc != NULL && svc->name != NULL);
        FUZZ_CHECK(stm_policy_service(pol, svc->name) == svc);
    }
    for (int st = 0; st < STM_STAGE_COUNT; st++)
        (void)stm_policy_stage_used(pol, (stm_stage)st);
    (void)stm_policy_needs_headers(pol);
    (void)stm_policy_needs_body(pol);
    (void)stm_policy_uses_quarantine(pol);
    (void)stm_policy_uses_add_header(pol);
    if (stm_policy_uses_delegation(pol))
        FUZZ_CHECK(nsvc > 0);
    size_t nmacros = 0;
    const char *const *macros = stm_policy_macro_names(pol, &nmacros);
    for (size_t i = 0; i < nmacros; i++)
        FUZZ_CHECK(macros[i] != NULL && macros[i][0] != '\0');
    FUZZ_CHECK(stm_policy_milter(pol) != NULL);
    FUZZ_CHECK(stm_policy_path(pol) != NULL);
    FUZZ_CHECK(stm_policy_ref(pol) == pol);
    stm_policy_unref(pol);
    FUZZ_CHECK(stm_policy_milter(pol) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stm_diag *diag = stm_diag_create();
    if (diag == NULL)
        return 0;
    stm_policy *pol = stm_policy_load_text("fuzz.yaml", (const char *)data, size, diag);

    size_t n = stm_diag_count(diag);
    for (size_t i = 0; i < n; i++) {
        const stm_diag_entry *e = stm_diag_get(diag, i);
        FUZZ_CHECK(e != NULL && e->file != NULL && e->message != NULL);
        FUZZ_CHECK(e->line >= 0 && e->column >= 0);
    }
    if (pol == NULL) {
        FUZZ_CHECK(stm_diag_errors(diag) > 0);
    } else {
        FUZZ_CHECK(stm_diag_errors(diag) == 0);
        fuzz_policy_inspect(pol);
        stm_policy_unref(pol);
    }
    size_t lines = 0;
    stm_diag_each_line(diag, fuzz_policy_line, &lines);
    FUZZ_CHECK(lines == n);
    stm_diag_free(diag);
    return 0;
}
