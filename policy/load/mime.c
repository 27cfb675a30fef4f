/*
 * mime.c (load) - the milter.mime section: how far the MIME layer looks
 * into a message (DESIGN.md "Seeing inside the message").
 *
 * Functions: stm_config_mime.
 *
 *   milter:
 *     mime: {max_depth: 20, max_parts: 1000, archive_depth: 2,
 *            archive_members: 1000, archive_bytes: 100M}
 *
 * Ownership: the limits are plain values inside the policy's milter
 * config. Errors: each bad value is reported at its FILE:LINE:COLUMN and
 * the default stays.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"
#include "mime/mime.h"

/* The largest count a limit takes: more parts or members than this would be
 * no limit at all for the memory GMime and the walk use. */
#define MIME_COUNT_MAX 1000000u

/* A whole number from 0 (or 1) to MAX in V into *OUT. */
static void
mime_count(stm_loader *ld, const stm_yt_node *v, const char *what, unsigned min, unsigned max,
           unsigned *out)
{
    if (stm_config_expect(ld, v, STM_YT_SCALAR, what) < 0)
        return;
    const char *t = v->text;
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(t, &end, 10);
    if (*t < '0' || *t > '9' || *end != '\0' || errno != 0 || n < min || n > max) {
        stm_config_error(ld, v, "%s must be a whole number from %u to %u, not '%s'", what, min,
                         max, t);
        return;
    }
    *out = (unsigned)n;
}

/* milter.mime in NODE into the policy's limits. */
void
stm_config_mime(stm_loader *ld, const stm_yt_node *node)
{
    static const char *const keys[] = {"max_depth",       "max_parts",     "archive_depth",
                                       "archive_members", "archive_bytes", NULL};
    stm_mime_limits *l = &ld->policy->milter.mime;
    const stm_yt_node *v;

    if (node == NULL || node->type == STM_YT_NULL)
        return;
    if (stm_config_expect(ld, node, STM_YT_MAP, "milter.mime") < 0)
        return;
    stm_config_check_keys(ld, node, "milter.mime", keys);
    if ((v = stm_yt_get(node, "max_depth")) != NULL)
        mime_count(ld, v, "milter.mime.max_depth", 1, 1000, &l->max_depth);
    if ((v = stm_yt_get(node, "max_parts")) != NULL)
        mime_count(ld, v, "milter.mime.max_parts", 1, MIME_COUNT_MAX, &l->max_parts);
    if ((v = stm_yt_get(node, "archive_depth")) != NULL)
        mime_count(ld, v, "milter.mime.archive_depth", 0, 100, &l->archive_depth);
    if ((v = stm_yt_get(node, "archive_members")) != NULL)
        mime_count(ld, v, "milter.mime.archive_members", 0, MIME_COUNT_MAX, &l->archive_members);
    if ((v = stm_yt_get(node, "archive_bytes")) != NULL) {
        uint64_t size = l->archive_bytes;
        if (stm_config_size(ld, v, "milter.mime.archive_bytes", &size) == 0)
            l->archive_bytes = size;
    }
}
