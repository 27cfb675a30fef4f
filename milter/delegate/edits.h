/*
 * edits.h - the header edits that bring what a scanner added or changed
 * onto the MTA's copy of a message (DESIGN.md, Delegation, 4). Used by the
 * protocols' apply (service.h) and by milter/mta and --trace to carry them
 * out.
 */
#ifndef STAGEMILTER_DELEGATE_EDITS_H
#define STAGEMILTER_DELEGATE_EDITS_H

#include <stdbool.h>

#include "stagemilter/message.h"

/* One edit that brings a returned copy's headers into the MTA's copy. */
typedef enum stm_header_edit_kind {
    STM_HEADER_ADD,    /* append NAME: VALUE */
    STM_HEADER_CHANGE, /* instance INDEX of NAME gets VALUE */
    STM_HEADER_DELETE  /* instance INDEX of NAME goes (apply: message only) */
} stm_header_edit_kind;

typedef struct stm_header_edit {
    stm_header_edit_kind kind;
    const char *name;  /* borrowed from MINE (change, delete) or GOT (add) */
    int index;         /* 1-based among MINE's headers of that name; 0 for add */
    const char *value; /* borrowed from GOT, as parsed; NULL for delete */
} stm_header_edit;

/* The edits that make MINE (the MTA's copy) carry what the scanner added or
 * changed in GOT (the returned copy), in the order to apply them (changes
 * and deletions from the last header up, so no index shifts under a later
 * one; then additions in GOT's order). A returned header equal to one of
 * ours (name, and value up to white space and folding) is left alone; one
 * whose name we have with another value changes our first unmatched
 * instance; the rest are added. The ticket header never is. With WHOLE
 * (apply: message) our headers missing from GOT are deleted; without it
 * the MIME headers (Content-*, MIME-Version: they describe a body that is
 * not replaced) are left out. *EDITS: caller frees (borrows from both
 * messages). Returns the number of edits, or -1 on memory exhaustion. */
long stm_delegate_header_edits(const stm_message *mine, const stm_message *got, bool whole,
                               stm_header_edit **edits);

#endif
