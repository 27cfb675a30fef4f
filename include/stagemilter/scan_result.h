/*
 * scan_result.h - what a content scanner said about a message beyond
 * "returned / rejected / dropped / failed": the virus clamd named, the
 * verdict, score and symbols of spamd or rspamd, rspamd's action, and the
 * header edits the scanner asks for (spamd's X-Spam-* headers, rspamd's
 * milter add_headers/remove_headers). Shared by the protocols in
 * milter/delegate/ (which fill it) and the conditions in policy/cond/
 * (virus, spam, spam_score, symbol, action) that judge it.
 *
 * One lives in every stm_delegation (engine.h). It starts zeroed (nothing
 * known) and owns every string in it; stm_scan_result_clear() frees them.
 * Implemented in policy/run/scan_result.c.
 */
#ifndef STAGEMILTER_SCAN_RESULT_H
#define STAGEMILTER_SCAN_RESULT_H

#include <stdbool.h>
#include <stddef.h>

/* Most symbols and header edits kept from one reply (the rest are dropped
 * and counted in `dropped`): a hostile scanner cannot grow a message's
 * memory without bound. */
#define STM_SCAN_MAX_SYMBOLS 512
#define STM_SCAN_MAX_HEADERS 64

/* A header the scanner asks to add (index 0) or to remove (index N: its
 * N-th occurrence; 0 every occurrence; value NULL). */
typedef struct stm_scan_header {
    char *name;
    char *value;
    int index;
} stm_scan_header;

typedef struct stm_scan_result {
    char *virus;      /* the signature named (clamd, X-Virus-Infected); NULL: none */
    bool has_spam;    /* spam is known */
    bool spam;        /* spamd "Spam: True", rspamd's action other than no action/greylist */
    bool has_score;   /* score and required are known */
    double score;     /* spamd's or rspamd's score */
    double required;  /* its threshold (required_score) */
    char score_text[32]; /* ${spam_score}: the score as "%.2f" ("" when unknown) */
    char *action;     /* rspamd's action ("reject", "add header", ...); NULL */
    char **symbols;   /* the rules (spamd) or symbols (rspamd) that hit */
    size_t nsymbols;
    stm_scan_header *add; /* headers to add onto the MTA's copy with apply: headers */
    size_t nadd;
    stm_scan_header *remove; /* headers to remove (rspamd's remove_headers) */
    size_t nremove;
    size_t dropped; /* symbols or header edits beyond the limits above */
} stm_scan_result;

/* Free what R owns and zero it. Accepts a zeroed R. */
void stm_scan_result_clear(stm_scan_result *r);
/* Set R's virus name to a copy of NAME[0..LEN). 0, or -1 (memory). */
int stm_scan_result_set_virus(stm_scan_result *r, const char *name, size_t len);
/* Set rspamd's action to a copy of NAME[0..LEN). 0 or -1. */
int stm_scan_result_set_action(stm_scan_result *r, const char *name, size_t len);
/* Record SCORE and REQUIRED (and score_text). */
void stm_scan_result_set_score(stm_scan_result *r, double score, double required);
/* Append a copy of symbol NAME[0..LEN); beyond STM_SCAN_MAX_SYMBOLS it is
 * counted in `dropped`. 0 or -1. */
int stm_scan_result_add_symbol(stm_scan_result *r, const char *name, size_t len);
/* Append a header to add (VALUE != NULL) or to remove (VALUE == NULL, with
 * INDEX); beyond STM_SCAN_MAX_HEADERS it is counted in `dropped`. 0 or -1. */
int stm_scan_result_add_header(stm_scan_result *r, const char *name, const char *value,
                               int index);
/* Does R hold a fact a condition can judge (virus, spam, score, action or a symbol)? */
bool stm_scan_result_known(const stm_scan_result *r);

#endif
