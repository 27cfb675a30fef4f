/*
 * spool.c (load) - the milter.spool section: where a message too large to
 * keep in memory goes (DESIGN.md "Seeing inside the message").
 *
 * Functions: stm_config_spool, stm_config_spool_finish.
 *
 *   milter:
 *     spool: {directory: WORKDIR/spool, memory: 1M}
 *
 * A body larger than `memory` bytes is written to an unlinked file in
 * `directory` (run/message.c); `max_message_size` still bounds a message.
 * The directory is checked only when some rule or service needs the body,
 * the one time it is used.
 *
 * Ownership: the directory string belongs to the policy's milter config.
 * Errors: each bad value is reported at its FILE:LINE:COLUMN.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/load.h"

/* milter.spool in NODE into the policy's spool settings. */
void
stm_config_spool(stm_loader *ld, const stm_yt_node *node)
{
    static const char *const keys[] = {"directory", "memory", NULL};
    stm_spool_config *sp = &ld->policy->milter.spool;
    const stm_yt_node *v;

    if (node == NULL || node->type == STM_YT_NULL)
        return;
    if (stm_config_expect(ld, node, STM_YT_MAP, "milter.spool") < 0)
        return;
    stm_config_check_keys(ld, node, "milter.spool", keys);
    if ((v = stm_yt_get(node, "directory")) != NULL &&
        stm_config_string(ld, v, "milter.spool.directory", &sp->directory) == 0) {
        ld->spool_node = v;
        if (sp->directory[0] != '/')
            stm_config_error(ld, v, "milter.spool.directory must be an absolute path, not '%s'",
                             sp->directory);
    }
    if ((v = stm_yt_get(node, "memory")) != NULL) {
        uint64_t size = sp->memory;
        if (stm_config_size(ld, v, "milter.spool.memory", &size) == 0)
            sp->memory = size;
    }
}

/* After the whole policy: the default directory (WORKDIR/spool), and, when
 * bodies are kept, a directory that can be written or made. */
void
stm_config_spool_finish(stm_loader *ld)
{
    stm_policy *p = ld->policy;
    stm_spool_config *sp = &p->milter.spool;

    if (sp->directory == NULL) {
        const char *workdir = p->milter.workdir != NULL ? p->milter.workdir : "";
        size_t n = strlen(workdir) + sizeof "/spool";
        if ((sp->directory = malloc(n)) == NULL) {
            stm_config_error(ld, NULL, "out of memory");
            return;
        }
        snprintf(sp->directory, n, "%s/spool", workdir);
    }
    if (!p->needs_body)
        return;
    int err = 0;
    const char *why = stm_config_dir_writable(sp->directory, &err);
    if (why == NULL)
        why = strerror(err);
    if (why[0] != '\0')
        stm_config_error(ld, ld->spool_node ? ld->spool_node : ld->workdir_node,
                         "milter.spool.directory '%s' is not writable (%s), but messages "
                         "larger than milter.spool.memory are kept there",
                         sp->directory, why);
}
