/*
 * resolver.h - the daemon's DNS resolver (libunbound), installed as the
 * engine's stm_engine_hooks.dns (stagemilter/dns.h).
 */
#ifndef STAGEMILTER_RESOLVER_H
#define STAGEMILTER_RESOLVER_H

#include "stagemilter/dns.h"

/* The process-wide resolver. Borrowed; valid until stm_resolver_shutdown(). */
const stm_dns_resolver *stm_resolver(void);
/* Stop every resolver context and free them; no resolve may be running
 * (--trace calls it at its end; the daemon does not: connection threads may
 * outlive smfi_main(), and the process exits anyway). */
void stm_resolver_shutdown(void);

#endif
