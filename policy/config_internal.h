/*
 * config_internal.h - what the parts of the policy loader share (config.c,
 * config_services.c, config_rules.c, config_cond.c). Private to the loader.
 *
 * A loader walks the YAML tree once, filling a struct sm_policy and reporting
 * every problem to its diag; it keeps going after an error wherever the rest
 * can still be checked, and the caller throws the policy away if any error
 * was added.
 */
#ifndef STAGEMILTER_CONFIG_INTERNAL_H
#define STAGEMILTER_CONFIG_INTERNAL_H

#include "model.h"
#include "yaml_tree.h"

typedef struct sm_loader {
    sm_diag *diag;
    struct sm_policy *policy;
    const char *file;    /* policy->files[0]: positions borrow it */
    const char *basedir; /* relative list files: NULL = current directory */
    /* Remembered for the checks across sections. */
    const sm_yt_node *first_delegate;   /* the first delegate rule */
    const sm_yt_node *first_quarantine; /* the first quarantine verb */
    const sm_yt_node *workdir_node;     /* milter.workdir as written, if given */
} sm_loader;

/* Where the rules being compiled run. */
typedef struct sm_config_scope {
    sm_stage stage;
    bool in_delegate; /* inside a delegate's `rules:` */
} sm_config_scope;

/* Positions and reports. NODE may be NULL (then the file as a whole). */
sm_srcpos sm_config_pos(const sm_loader *ld, const sm_yt_node *node);
void sm_config_error(sm_loader *ld, const sm_yt_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error at byte OFFSET inside a scalar's text (its own column when the
 * text maps one to one onto the source). */
void sm_config_error_in(sm_loader *ld, const sm_yt_node *node, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sm_config_warning(sm_loader *ld, const sm_yt_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Typed reads. Each reports its own error (naming WHAT, e.g. "milter.socket")
 * and returns -1; 0 on success. */
int sm_config_expect(sm_loader *ld, const sm_yt_node *node, sm_yt_type type, const char *what);
/* Report keys of MAP not in ALLOWED (NULL-terminated); returns their number. */
int sm_config_check_keys(sm_loader *ld, const sm_yt_node *map, const char *what,
                         const char *const *allowed);
int sm_config_bool(sm_loader *ld, const sm_yt_node *node, const char *what, bool *out);
/* Is NODE a scalar spelling a boolean? Sets *OUT. */
bool sm_config_is_bool(const sm_yt_node *node, bool *out);
/* Replace *OUT (freed) with a copy of a scalar's text. */
int sm_config_string(sm_loader *ld, const sm_yt_node *node, const char *what, char **out);
/* One of NAMES (NULL-terminated): *OUT is its index. */
int sm_config_enum(sm_loader *ld, const sm_yt_node *node, const char *what,
                   const char *const *names, int *out);
int sm_config_duration(sm_loader *ld, const sm_yt_node *node, const char *what, uint64_t *out);
int sm_config_size(sm_loader *ld, const sm_yt_node *node, const char *what, uint64_t *out);
/* Compile a text with ${variables}; NULL (reported) on error. */
sm_template *sm_config_template(sm_loader *ld, const sm_yt_node *node, const char *what);
/* "a, b, c" from a NULL-terminated list, into BUF. */
const char *sm_config_join(const char *const *names, char *buf, size_t len);

/* Sections. */
void sm_config_services(sm_loader *ld, const sm_yt_node *node);
void sm_config_lists(sm_loader *ld, const sm_yt_node *node);
/* Check "HOST:PORT" / "[V6]:PORT"; on success *HOST and *PORT are malloc'd
 * (caller frees). Returns 0, or -1 with *ERR (static) and *ERROFF set. */
int sm_config_hostport(const char *text, char **host, char **port, const char **err,
                       size_t *erroff);
/* Check a libmilter socket specification. Same error convention. */
int sm_config_socket_check(const char *text, const char **err, size_t *erroff);
/* The list called NAME (without "@"), or NULL. */
const sm_list *sm_config_find_list(const sm_loader *ld, const char *name);

/* Rules of one stage (a list node, or NULL) into LIST. */
void sm_config_rules(sm_loader *ld, const sm_yt_node *node, sm_config_scope scope,
                     sm_rule_list *list);
/* A condition (`if:` value); NULL when it had errors (reported). */
sm_cond *sm_config_cond(sm_loader *ld, const sm_yt_node *node, sm_config_scope scope);

#endif
