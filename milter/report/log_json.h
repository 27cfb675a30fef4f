/*
 * log_json.h - a log line of key=value pairs as one JSON object
 * (milter.log_format: json; log_json.c).
 */
#ifndef STAGEMILTER_MILTER_LOG_JSON_H
#define STAGEMILTER_MILTER_LOG_JSON_H

#include <stddef.h>
#include <time.h>

/* Room for the JSON form of a line of STM_LOG_LINE_MAX bytes: every byte
 * may become a 6-byte \u escape, plus the fixed fields. */
#define STM_LOG_JSON_MAX (6 * 2048 + 256)

/* Write LINE (a key=value log line) at PRIORITY (LOG_ERR ...) from
 * process PID at NOW as one JSON object, without a newline, into OUT of
 * OUTLEN bytes (at least 128: the time, level and pid always fit). Returns the length written; the object is
 * always complete and valid JSON, whatever bytes LINE holds (a value that
 * does not fit is cut between characters and the object closed). */
size_t stm_log_json(char *out, size_t outlen, int priority, const char *line, long pid,
                    time_t now);

#endif
