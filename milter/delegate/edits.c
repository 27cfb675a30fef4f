/*
 * edits.c - the header edits that bring a returned copy's headers onto the
 * MTA's copy (edits.h).
 *
 * Functions: stm_delegate_header_edits. A pure function of two parsed
 * messages: no I/O, no state; the caller frees the array, which borrows
 * from both messages.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delegate/edits.h"
#include "delegate/ticket.h"

/* Do two header values say the same, whatever their white space and
 * folding (CR, LF, tabs, runs of spaces)? */
static bool
dg_value_equal(const char *a, const char *b)
{
    for (;;) {
        bool wa = false, wb = false;
        while (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n')
            a++, wa = true;
        while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
            b++, wb = true;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        if (wa != wb || *a != *b)
            return false;
        a++, b++;
    }
}

/* A returned header that never reaches the MTA's copy (see delegate.h). */
static bool
dg_edit_skip(const char *name, bool whole)
{
    if (strcasecmp(name, STM_TICKET_HEADER) == 0)
        return true;
    return !whole &&
           (strncasecmp(name, "Content-", 8) == 0 || strcasecmp(name, "MIME-Version") == 0);
}

/* 1-based index of header I of MSG among the headers of its name. */
static int
dg_header_index(const stm_message *msg, size_t i)
{
    int n = 0;
    for (size_t j = 0; j <= i; j++)
        if (strcasecmp(msg->headers[j].name, msg->headers[i].name) == 0)
            n++;
    return n;
}

/* The header edits from MINE to GOT (delegate.h). */
long
stm_delegate_header_edits(const stm_message *mine, const stm_message *got, bool whole,
                          stm_header_edit **edits)
{
    size_t nm = mine->nheaders, ng = got->nheaders;
    long *pair = calloc(nm + 1, sizeof *pair); /* ours: -1 kept, g+1 changed to g, 0 none */
    bool *used = calloc(ng + 1, sizeof *used); /* returned: matched or skipped */
    stm_header_edit *e = calloc(nm + ng + 1, sizeof *e);
    long n = -1;

    *edits = NULL;
    if (pair == NULL || used == NULL || e == NULL)
        goto done;
    /* Unchanged headers: equal name and value. */
    for (size_t g = 0; g < ng; g++) {
        if (dg_edit_skip(got->headers[g].name, whole)) {
            used[g] = true;
            continue;
        }
        for (size_t m = 0; m < nm && !used[g]; m++)
            if (pair[m] == 0 && strcasecmp(mine->headers[m].name, got->headers[g].name) == 0 &&
                dg_value_equal(mine->headers[m].value, got->headers[g].value)) {
                pair[m] = -1;
                used[g] = true;
            }
    }
    /* Changed values: a returned header takes an unmatched one of ours. */
    for (size_t g = 0; g < ng; g++)
        for (size_t m = 0; m < nm && !used[g]; m++)
            if (pair[m] == 0 && strcasecmp(mine->headers[m].name, got->headers[g].name) == 0) {
                pair[m] = (long)g + 1;
                used[g] = true;
            }
    n = 0;
    for (size_t m = nm; m-- > 0;) {
        if (pair[m] > 0)
            e[n++] = (stm_header_edit){STM_HEADER_CHANGE, mine->headers[m].name,
                                       dg_header_index(mine, m), got->headers[pair[m] - 1].value};
        else if (pair[m] == 0 && whole && !dg_edit_skip(mine->headers[m].name, true))
            e[n++] = (stm_header_edit){STM_HEADER_DELETE, mine->headers[m].name,
                                       dg_header_index(mine, m), NULL};
    }
    for (size_t g = 0; g < ng; g++)
        if (!used[g])
            e[n++] =
                (stm_header_edit){STM_HEADER_ADD, got->headers[g].name, 0, got->headers[g].value};
    *edits = e;
    e = NULL;
done:
    free(e);
    free(pair);
    free(used);
    return n;
}
