/*
 * registry.c - opening the store a policy names, once per process (state.h,
 * registry.h).
 *
 * Functions: stm_state_open, stm_state_check, stm_state_close,
 * stm_state_registry_use, stm_state_registry_get,
 * stm_state_registry_close_all.
 *
 * The daemon opens the store of its policy at start-up and of each new
 * policy at reload; connections find it by the policy's state section.
 * Stores stay open until exit, also when a reload names another one: a
 * connection still on the old policy may be using it, and an LMDB file must
 * not be opened twice by one process. There are at most a handful (one per
 * store spelling ever used).
 *
 * Ownership: the registry owns what it opened; stm_state_registry_get()
 * lends it until stm_state_registry_close_all().
 * Errors: -1 / NULL with the reason in ERR.
 */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state/registry.h"

/* Open the store C names. */
stm_state_store *
stm_state_open(const stm_state_config *c, char *err, size_t errlen)
{
    switch (c->kind) {
    case STM_STATE_MEMORY:
        return stm_state_memory_open(err, errlen);
    case STM_STATE_REDIS:
        return stm_state_redis_open(c, err, errlen);
    case STM_STATE_LMDB:
    default:
        return stm_state_lmdb_open(c->path, err, errlen);
    }
}

/* Close ST (accepts NULL). */
void
stm_state_close(stm_state_store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

/* Could the LMDB file PATH be opened read-write (or created)? Creates
 * nothing: --check may run as another user than the daemon. */
static int
state_check_lmdb(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISREG(sb.st_mode)) {
            snprintf(err, errlen, "%s is not a file", path);
            return -1;
        }
        if (access(path, R_OK | W_OK) != 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *dup = strdup(path);
    if (dup == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* The file is created in its directory, or with the directory (the
     * workdir, which the daemon creates) in the one above. */
    char *dir = dirname(dup);
    int rc = 0;
    if (stat(dir, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode) || access(dir, W_OK | X_OK) != 0) {
            snprintf(err, errlen, "%s cannot be created: directory %s is not writable", path, dir);
            rc = -1;
        }
    } else {
        char *up = strdup(dir);
        char *parent = up ? dirname(up) : NULL;
        if (parent == NULL || stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
            access(parent, W_OK | X_OK) != 0) {
            snprintf(err, errlen, "%s cannot be created: neither %s nor its parent is writable",
                     path, dir);
            rc = -1;
        }
        free(up);
    }
    free(dup);
    return rc;
}

/* Can the store C names be opened? (--check) */
int
stm_state_check(const stm_state_config *c, char *err, size_t errlen)
{
    if (c->kind == STM_STATE_LMDB)
        return state_check_lmdb(c->path, err, errlen);
    if (c->kind == STM_STATE_MEMORY)
        return 0;
    stm_state_store *st = stm_state_open(c, err, errlen);
    if (st == NULL)
        return -1;
    stm_state_close(st);
    return 0;
}

typedef struct state_reg {
    struct state_reg *next;
    char *key; /* store, password and timeout */
    stm_state_store *store;
} state_reg;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER; /* guards reg_head */
static state_reg *reg_head;

/* The registry key of C into BUF. */
static void
state_reg_key(const stm_state_config *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s\n%s\n%llu", c->store ? c->store : "", c->password ? c->password : "",
             (unsigned long long)c->timeout_ms);
}

/* The entry for KEY (lock held), or NULL. */
static state_reg *
state_reg_find(const char *key)
{
    for (state_reg *r = reg_head; r != NULL; r = r->next)
        if (strcmp(r->key, key) == 0)
            return r;
    return NULL;
}

/* Make sure the store of POLICY is open. */
int
stm_state_registry_use(const stm_policy *policy, char *err, size_t errlen)
{
    const stm_state_config *c = stm_policy_state(policy);
    if (!c->used)
        return 0;
    char key[1200];
    state_reg_key(c, key, sizeof key);
    int rc = 0;
    pthread_mutex_lock(&reg_lock);
    if (state_reg_find(key) == NULL) {
        state_reg *r = calloc(1, sizeof *r);
        if (r == NULL || (r->key = strdup(key)) == NULL) {
            free(r);
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else if ((r->store = stm_state_open(c, err, errlen)) == NULL) {
            free(r->key);
            free(r);
            rc = -1;
        } else {
            r->next = reg_head;
            reg_head = r;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    return rc;
}

/* The open store of POLICY, or NULL. */
stm_state_store *
stm_state_registry_get(const stm_policy *policy)
{
    const stm_state_config *c = stm_policy_state(policy);
    if (!c->used)
        return NULL;
    char key[1200];
    state_reg_key(c, key, sizeof key);
    pthread_mutex_lock(&reg_lock);
    state_reg *r = state_reg_find(key);
    stm_state_store *st = r != NULL ? r->store : NULL;
    pthread_mutex_unlock(&reg_lock);
    return st;
}

/* Close every store (at exit). */
void
stm_state_registry_close_all(void)
{
    pthread_mutex_lock(&reg_lock);
    state_reg *r = reg_head;
    reg_head = NULL;
    pthread_mutex_unlock(&reg_lock);
    while (r != NULL) {
        state_reg *next = r->next;
        stm_state_close(r->store);
        free(r->key);
        free(r);
        r = next;
    }
}
