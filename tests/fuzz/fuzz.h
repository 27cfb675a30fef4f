/*
 * fuzz.h - what the libFuzzer targets of tests/fuzz/ share: the entry
 * point's prototype (the project builds with -Wmissing-prototypes) and
 * FUZZ_CHECK, an assertion that stays on in every build and says what broke.
 *
 * A failed check prints "fuzz check failed: FILE:LINE: CONDITION" and
 * aborts, which libFuzzer reports as a crash and saves the input.
 */
#ifndef STAGEMILTER_FUZZ_H
#define STAGEMILTER_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed: %s:%d: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
