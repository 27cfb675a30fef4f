/*
 * units.c - durations and sizes as written in a policy (units.h).
 *
 * SYNOPSIS
 *     int stm_units_duration_ms(const char *text, uint64_t *out_ms, const char **err);
 *     int stm_units_size(const char *text, uint64_t *out_bytes, const char **err);
 *
 * DESCRIPTION
 *     A duration is a run of decimal digits followed by exactly one unit:
 *     ms, s, m or h ("500ms", "30s", "5m", "1h", "0s"). A size is a run of
 *     decimal digits, optionally followed by k/K, m/M or g/G (powers of
 *     1024); a bare number is bytes. Nothing else is accepted: no sign, no
 *     white space, no fraction, nothing after the unit.
 *
 * OWNERSHIP
 *     Nothing is allocated. *ERR points to a static string.
 *
 * DIAGNOSTICS
 *     Both return 0 on success, or -1 with *ERR set (empty, negative, not a
 *     number, missing or unknown unit, trailing text, overflow). *OUT is
 *     left untouched on error.
 */
#include "config.h"

#include <stddef.h>

#include "match/units.h"

/* Read the leading decimal digits of TEXT into *VALUE; *END gets the first
 * non-digit. Returns 0, -1 when there is no digit, -2 on overflow. */
static int
units_digits(const char *text, uint64_t *value, const char **end)
{
    uint64_t v = 0;
    const char *p = text;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (__builtin_mul_overflow(v, (uint64_t)10, &v) ||
            __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
            return -2;
    }
    *value = v;
    *end = p;
    return 0;
}

/* The words of one kind of quantity's errors. */
typedef struct units_words {
    const char *empty;     /* nothing written */
    const char *negative;  /* a leading '-' */
    const char *no_number; /* no leading digit */
    const char *too_large; /* overflow */
} units_words;

/* The part both kinds share: refuse empty and negative TEXT, read its digits
 * into *VALUE and point *UNIT after them. 0, or -1 with *ERR from W. */
static int
units_number(const char *text, const units_words *w, uint64_t *value, const char **unit,
             const char **err)
{
    int rc;

    if (text == NULL || *text == '\0') {
        *err = w->empty;
        return -1;
    }
    if (*text == '-') {
        *err = w->negative;
        return -1;
    }
    rc = units_digits(text, value, unit);
    if (rc != 0) {
        *err = rc == -2 ? w->too_large : w->no_number;
        return -1;
    }
    return 0;
}

/* Parse a duration ("500ms", "30s", "5m", "1h") into milliseconds. */
int
stm_units_duration_ms(const char *text, uint64_t *out_ms, const char **err)
{
    static const units_words words = {
        "empty duration; write a number and a unit: ms, s, m or h",
        "a duration cannot be negative",
        "a duration is a whole number followed by ms, s, m or h (e.g. 30s)",
        "duration too large",
    };
    uint64_t value, scale, result;
    const char *unit;

    if (units_number(text, &words, &value, &unit, err) < 0)
        return -1;
    if (*unit == '\0') {
        *err = "duration needs a unit: ms, s, m or h";
        return -1;
    }
    if (unit[0] == 'm' && unit[1] == 's' && unit[2] == '\0')
        scale = 1;
    else if (unit[0] == 's' && unit[1] == '\0')
        scale = 1000;
    else if (unit[0] == 'm' && unit[1] == '\0')
        scale = 60 * 1000;
    else if (unit[0] == 'h' && unit[1] == '\0')
        scale = 60 * 60 * 1000;
    else {
        *err = "unknown duration unit; use ms, s, m or h (e.g. 30s)";
        return -1;
    }
    if (__builtin_mul_overflow(value, scale, &result)) {
        *err = words.too_large;
        return -1;
    }
    *out_ms = result;
    return 0;
}

/* Parse a size ("512", "10k", "25M", "1G") into bytes. */
int
stm_units_size(const char *text, uint64_t *out_bytes, const char **err)
{
    static const units_words words = {
        "empty size; write a number, optionally followed by k, M or G",
        "a size cannot be negative",
        "a size is a whole number, optionally followed by k, M or G (e.g. 25M)",
        "size too large",
    };
    uint64_t value, scale, result;
    const char *unit;

    if (units_number(text, &words, &value, &unit, err) < 0)
        return -1;
    switch (*unit) {
    case '\0':
        scale = 1;
        break;
    case 'k':
    case 'K':
        scale = (uint64_t)1 << 10;
        break;
    case 'm':
    case 'M':
        scale = (uint64_t)1 << 20;
        break;
    case 'g':
    case 'G':
        scale = (uint64_t)1 << 30;
        break;
    default:
        *err = "unknown size unit; use k, M or G (powers of 1024), or none for bytes";
        return -1;
    }
    if (*unit != '\0' && unit[1] != '\0') {
        *err = "unexpected text after the size unit; use k, M or G (e.g. 25M)";
        return -1;
    }
    if (__builtin_mul_overflow(value, scale, &result)) {
        *err = words.too_large;
        return -1;
    }
    *out_bytes = result;
    return 0;
}
