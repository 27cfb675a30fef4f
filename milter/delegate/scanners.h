/*
 * scanners.h - the reply parsers of the scanner protocols that are not
 * SMTP, exposed for the unit tests and the libFuzzer targets
 * (tests/fuzz/fuzz_scanners.c). Each takes the whole reply as received
 * (bounded by its protocol file) and fills an stm_scan_result.
 */
#ifndef STAGEMILTER_DELEGATE_SCANNERS_H
#define STAGEMILTER_DELEGATE_SCANNERS_H

#include <stddef.h>

#include "stagemilter/scan_result.h"

/* Longest clamd reply read ("stream: NAME FOUND"). */
#define STM_CLAMD_MAX_REPLY 4096

/* clamd's reply to zINSTREAM (without its NUL): "stream: OK" (0), "stream:
 * NAME FOUND" (1, R->virus = NAME), anything else (-1, WHY says what: a
 * size limit, an ERROR reply, garbage). -2 on memory exhaustion. */
int stm_clamd_parse_reply(const char *reply, size_t len, stm_scan_result *r, char *why,
                          size_t whylen);

/* Longest spamd reply read: status and header lines, and the body (the
 * message's header block with SpamAssassin's X-Spam-* fields). */
#define STM_SPAMD_MAX_REPLY (1024 * 1024)

/* spamd's whole reply to HEADERS (status line, header lines, empty line,
 * body): "SPAMD/1.1 0 EX_OK", "Spam: True ; 1003.3 / 5.0" into R's spam,
 * score and required; the body's X-Spam-* fields into R's headers to add,
 * and the tests= of its X-Spam-Status into R's symbols. 0, -1 (WHY says
 * what: an error code, a missing Spam: line, garbage, a cut reply), -2 on
 * memory exhaustion. */
int stm_spamd_parse_reply(const char *reply, size_t len, stm_scan_result *r, char *why,
                          size_t whylen);

/* Longest rspamd reply read (HTTP status, header lines and JSON body). */
#define STM_RSPAMD_MAX_REPLY (4 * 1024 * 1024)

/* rspamd's whole HTTP reply to POST /checkv2: "HTTP/1.x 200", header lines,
 * the empty line, the JSON body (Content-Length bytes, or to the end).
 * action, score, required_score, the names of symbols, milter.add_headers
 * and milter.remove_headers into R (spam: the action is reject, add header
 * or rewrite subject). 0, -1 (WHY says what: another status, no JSON,
 * no action or score, a cut reply), -2 on memory exhaustion. */
int stm_rspamd_parse_reply(const char *reply, size_t len, stm_scan_result *r, char *why,
                           size_t whylen);

#endif
