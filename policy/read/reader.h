/*
 * reader.h - the typed readers of the policy loader (read/reader.c): the
 * loader's state, positions, reports and typed reads of YAML nodes, for the
 * sections (policy/load) and the condition and effect tables. Depends on no
 * section of the loader.
 */
#ifndef STAGEMILTER_LOAD_READER_H
#define STAGEMILTER_LOAD_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "read/yaml_tree.h"
#include "run/template.h"
#include "stagemilter/diag.h"

struct stm_policy;

/* A loader's state, passed to every reader and every section. */
typedef struct stm_loader {
    stm_diag *diag;
    struct stm_policy *policy; /* being filled by the sections */
    const char *file;          /* policy->files[0]: positions borrow it */
    const char *basedir;       /* relative list files: NULL = current directory */
    /* Remembered for the checks across sections. */
    const stm_yt_node *first_delegate;   /* the first delegate rule */
    const stm_yt_node *first_copy_delegate; /* the first naming an smtp/lmtp service */
    const stm_yt_node *first_quarantine; /* the first quarantine verb */
    const stm_yt_node *workdir_node;     /* milter.workdir as written, if given */
    const stm_yt_node *spool_node;       /* milter.spool.directory as written, if given */
} stm_loader;

/* Where the rules being compiled run. */
typedef struct stm_config_scope {
    stm_stage stage;
    bool in_delegate; /* inside a delegate's `rules:` */
} stm_config_scope;

/* The list called NAME (without "@") of the policy being loaded, or NULL. */
const struct stm_list *stm_config_find_list(const stm_loader *ld, const char *name);

/* Positions and reports. NODE may be NULL (then the file as a whole). */
stm_srcpos stm_config_pos(const stm_loader *ld, const stm_yt_node *node);
void stm_config_error(stm_loader *ld, const stm_yt_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An error at byte OFFSET inside a scalar's text (its own column when the
 * text maps one to one onto the source). */
void stm_config_error_in(stm_loader *ld, const stm_yt_node *node, size_t offset, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
void stm_config_warning(stm_loader *ld, const stm_yt_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Typed reads. Each reports its own error (naming WHAT, e.g. "milter.socket")
 * and returns -1; 0 on success. */
int stm_config_expect(stm_loader *ld, const stm_yt_node *node, stm_yt_type type, const char *what);
/* Report keys of MAP not in ALLOWED (NULL-terminated); returns their number. */
int stm_config_check_keys(stm_loader *ld, const stm_yt_node *map, const char *what,
                          const char *const *allowed);
int stm_config_bool(stm_loader *ld, const stm_yt_node *node, const char *what, bool *out);
/* Is NODE a scalar spelling a boolean? Sets *OUT. */
bool stm_config_is_bool(const stm_yt_node *node, bool *out);
/* Replace *OUT (freed) with a copy of a scalar's text. */
int stm_config_string(stm_loader *ld, const stm_yt_node *node, const char *what, char **out);
/* One of NAMES (NULL-terminated): *OUT is its index. */
int stm_config_enum(stm_loader *ld, const stm_yt_node *node, const char *what,
                    const char *const *names, int *out);
int stm_config_duration(stm_loader *ld, const stm_yt_node *node, const char *what, uint64_t *out);
int stm_config_size(stm_loader *ld, const stm_yt_node *node, const char *what, uint64_t *out);
/* Compile a text with ${variables}; NULL (reported) on error. */
stm_template *stm_config_template(stm_loader *ld, const stm_yt_node *node, const char *what);
/* "a, b, c" from a NULL-terminated list, into BUF. */
const char *stm_config_join(const char *const *names, char *buf, size_t len);

#endif
