/*
 * state_spec.c - greylist verb arguments and the state section's memory
 * (state_spec.h).
 *
 * Functions: stm_greylist_spec_new, stm_greylist_spec_free,
 * stm_state_config_clear. Ownership as said there; nothing fails but
 * allocation (NULL).
 */
#include <stdlib.h>
#include <string.h>

#include "run/state_spec.h"

/* A spec with the defaults. */
stm_greylist_spec *
stm_greylist_spec_new(void)
{
    stm_greylist_spec *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->params.delay_ms = 5ull * 60 * 1000;
    g->params.window_ms = 4ull * 3600 * 1000;
    g->params.expire_ms = 35ull * 24 * 3600 * 1000;
    return g;
}

/* Release G. */
void
stm_greylist_spec_free(stm_greylist_spec *g)
{
    if (g == NULL)
        return;
    stm_template_free(g->key);
    free(g);
}

/* Release what C owns. */
void
stm_state_config_clear(stm_state_config *c)
{
    free(c->store);
    free(c->path);
    free(c->host);
    free(c->port);
    free(c->password);
    memset(c, 0, sizeof *c);
}
