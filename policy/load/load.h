/*
 * load.h - the sections of the policy loader, for each other (load/load.c,
 * services.c, rules.c). Private to the loader. The typed readers they all
 * use are in read/reader.h; conditions and effects are parsed through their
 * tables (cond/cond_table.h, effect/effect_table.h).
 *
 * A loader walks the YAML tree once, filling a struct stm_policy and reporting
 * every problem to its diag; it keeps going after an error wherever the rest
 * can still be checked, and the caller throws the policy away if any error
 * was added.
 */
#ifndef STAGEMILTER_CONFIG_INTERNAL_H
#define STAGEMILTER_CONFIG_INTERNAL_H

#include "read/reader.h"
#include "model.h"

/* Load a policy from TEXT (LEN bytes) named NAME, list files relative to
 * BASEDIR (NULL: the current directory). The policy with one reference
 * (caller owns), or NULL when any error went to DIAG. */
stm_policy *stm_config_load(const char *name, const char *text, size_t len, const char *basedir,
                            stm_diag *diag);

/* Sections. */
void stm_config_services(stm_loader *ld, const stm_yt_node *node);
/* milter.quarantine_lmtp (KEY its key, NODE its map) into S: a service's
 * client keys, protocol lmtp (services.c). */
void stm_config_quarantine_lmtp(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *node,
                                stm_service *s);
void stm_config_lists(stm_loader *ld, const stm_yt_node *node);
void stm_config_dns(stm_loader *ld, const stm_yt_node *node); /* dns.c; NODE may be NULL */
void stm_config_authserv_id(stm_loader *ld, const stm_yt_node *node); /* dns.c: milter.authserv_id */
void stm_config_mime(stm_loader *ld, const stm_yt_node *node); /* milter.mime (load/mime.c) */
void stm_config_spool(stm_loader *ld, const stm_yt_node *node); /* milter.spool (load/spool.c) */
void stm_config_spool_finish(stm_loader *ld); /* its default and check, once rules are read */
/* The directory DIR is writable, or the closest existing parent where it
 * would be made: "" then, else why not (NULL: see *ERR, an errno). */
const char *stm_config_dir_writable(const char *dir, int *err);
/* Check "HOST:PORT" / "[V6]:PORT"; on success *HOST and *PORT are malloc'd
 * (caller frees). Returns 0, or -1 with *ERR (static) and *ERROFF set. */
int stm_config_hostport(const char *text, char **host, char **port, const char **err,
                        size_t *erroff);
/* Check a libmilter socket specification. Same error convention. */
int stm_config_socket_check(const char *text, const char **err, size_t *erroff);

/* The state section and the greylist verb (state.c). */
void stm_config_state(stm_loader *ld, const stm_yt_node *node);
void stm_config_state_finish(stm_loader *ld);
int stm_config_greylist(stm_loader *ld, const stm_yt_node *key, const stm_yt_node *v,
                        stm_status *st);
void stm_config_greylist_finish(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope,
                                stm_status *st);

/* Rules of one stage (a list node, or NULL) into LIST. */
void stm_config_rules(stm_loader *ld, const stm_yt_node *node, stm_config_scope scope,
                      stm_rule_list *list);

#endif
