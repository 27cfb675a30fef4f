/*
 * state_spec.h - the compiled arguments of the greylist verb and the
 * release of the state section, for the model (model.c frees them) and the
 * loader (load/state.c fills them). Private to policy/. Depends on nothing
 * of the model, so model.c can include it.
 */
#ifndef STAGEMILTER_STATE_SPEC_H
#define STAGEMILTER_STATE_SPEC_H

#include "run/template.h"
#include "stagemilter/state.h"

/* `greylist` / `{greylist: {key, delay, window, expire}}`. */
typedef struct stm_greylist_spec {
    stm_template *key; /* NULL: client /24 or /64, sender, recipient */
    stm_greylist_params params;
} stm_greylist_spec;

/* A spec with the defaults of DESIGN.md (5m, 4h, 35d); NULL on ENOMEM. */
stm_greylist_spec *stm_greylist_spec_new(void);
void stm_greylist_spec_free(stm_greylist_spec *g); /* accepts NULL */
/* Free what C owns and zero it. */
void stm_state_config_clear(stm_state_config *c);

#endif
