/*
 * state_admin.c - the --state admin commands (state_admin.h).
 *
 * Functions: stm_state_admin_main.
 *
 * list prints one line per live entry: its name, what it holds and when it
 * expires (UTC), then "N entries". delete removes the matching entries and
 * prints each removed name. Both open the store as the daemon does (an
 * LMDB file is shared safely with a running daemon; Redis is shared
 * anyway), so they work while it runs.
 *
 * Errors: reported on ERR, exit status 1.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "state/state.h"
#include "state/state_admin.h"

typedef struct admin_ctx {
    FILE *out;
    bool delete;
} admin_ctx;

/* Print one entry. */
static int
admin_print(void *ctx, const stm_state_entry *e)
{
    admin_ctx *a = ctx;
    char when[40] = "-";
    if (e->expires_ms > 0) {
        time_t t = (time_t)(e->expires_ms / 1000);
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL)
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (a->delete)
        fprintf(a->out, "deleted %s\n", e->name);
    else
        fprintf(a->out, "%s %s expires=%s\n", e->name, e->detail, when);
    return 0;
}

/* --state ACTION PATTERN. */
int
stm_state_admin_main(const stm_state_config *c, const char *action, const char *pattern, FILE *out,
                     FILE *err)
{
    bool del;
    if (strcmp(action, "list") == 0) {
        del = false;
        if (pattern == NULL)
            pattern = "*";
    } else if (strcmp(action, "delete") == 0) {
        del = true;
        if (pattern == NULL) {
            fprintf(err, "stagemilter: --state delete needs a KEY-PATTERN (\"*\" for all)\n");
            return 1;
        }
    } else {
        fprintf(err, "stagemilter: --state takes list or delete, not \"%s\"\n", action);
        return 1;
    }
    if (c->kind == STM_STATE_MEMORY) {
        fprintf(err, "stagemilter: state.store is memory: only the daemon holds it\n");
        return 1;
    }
    char why[600];
    stm_state_store *st = stm_state_open(c, why, sizeof why);
    if (st == NULL) {
        fprintf(err, "stagemilter: state.store %s: %s\n", c->store, why);
        return 1;
    }
    admin_ctx a = {out, del};
    long n = st->ops->each(st, pattern, del, stm_state_now_ms(), admin_print, &a, why, sizeof why);
    stm_state_close(st);
    if (n < 0) {
        fprintf(err, "stagemilter: state.store %s: %s\n", c->store, why);
        return 1;
    }
    fprintf(out, "%ld %s%s\n", n, n == 1 ? "entry" : "entries", del ? " deleted" : "");
    return del && n == 0 ? 1 : 0;
}
