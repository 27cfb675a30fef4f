/*
 * units.h - durations ("500ms", "30s", "5m", "1h") and sizes ("512", "10k",
 * "25M", "1G") as written in a policy.
 *
 * Pure functions; nothing allocated. On error they return -1 and set *ERR to
 * a static English description suitable after "FILE:LINE:COLUMN: ".
 */
#ifndef STAGEMILTER_UNITS_H
#define STAGEMILTER_UNITS_H

#include <stdint.h>

/* A bare number is refused for durations (say what you mean). Overflow is an
 * error. */
int stm_units_duration_ms(const char *text, uint64_t *out_ms, const char **err);
/* Units are k, M, G (powers of 1024), upper or lower case; a bare number is
 * bytes. */
int stm_units_size(const char *text, uint64_t *out_bytes, const char **err);

#endif
