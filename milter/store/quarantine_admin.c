/*
 * quarantine_admin.c - listing, releasing and deleting quarantined messages
 * (quarantine_admin.h).
 *
 * FUNCTIONS
 *      stm_quarantine_admin_main()      --quarantine list|release|delete
 *      stm_quarantine_admin_name_ok()   the check of every name from argv
 *      stm_quarantine_entry_read(), stm_quarantine_entry_clear()
 *                                      the envelope block of a stored file
 *
 * DESCRIPTION
 *      A stored file (quarantine.c) starts with the block the store added:
 *
 *          Return-Path: <SENDER>
 *          X-Original-To: <RCPT>          (one per recipient)
 *          X-Stagemilter-Quarantine: rule="NAME" queue=QUEUE ...
 *
 *      and then holds the message as the MTA received it. `list` prints one
 *      tab-separated line per file of WORKDIR/QUEUE/{new,cur} (every queue,
 *      or the one named): id, date (the file's time), queue, sender,
 *      recipients, rule. `release ID` pipes the message without that block
 *      into `SENDMAIL -i -f SENDER -- RCPT...` (no shell) and removes the
 *      file once sendmail exits 0; `delete ID` removes it.
 *
 *      Names from the command line never reach outside the workdir: a queue
 *      or id is one path component of safe characters (no '/', not "." or
 *      "..", no leading '.' or '-'), an id is looked up only as
 *      WORKDIR/QUEUE/new/ID or WORKDIR/QUEUE/cur/ID for the queues found in
 *      the workdir, and what is found must be a regular file, not a symbolic
 *      link (checked with lstat and opened with O_NOFOLLOW).
 *
 * DIAGNOSTICS
 *      Each failure is one line "stagemilter: ..." on ERR; the exit status
 *      is 1 when any action failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/quarantine_admin.h"

#define QA_LINE_MAX 8192
#define QA_RCPTS_MAX 10000

/* A queue name or id from the command line. */
bool
stm_quarantine_admin_name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;
    if (n == 0 || n > 255 || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  strchr("._,:=+-\\", c) != NULL;
        if (!ok)
            return false;
    }
    return true;
}

/* Free what E owns. */
void
stm_quarantine_entry_clear(stm_quarantine_entry *e)
{
    free(e->sender);
    for (size_t i = 0; i < e->nrcpts; i++)
        free(e->rcpts[i]);
    free(e->rcpts);
    free(e->rule);
    free(e->queue);
    memset(e, 0, sizeof *e);
}

/* One line of F without its newline into BUF; false at EOF or when too long. */
static bool
qa_line(FILE *f, char *buf, size_t len)
{
    if (fgets(buf, (int)len, f) == NULL)
        return false;
    size_t n = strlen(buf);
    if (n == 0 || buf[n - 1] != '\n')
        return false;
    buf[n - 1] = '\0';
    return true;
}

/* "<addr>" after PREFIX in LINE, brackets removed; NULL when not that shape. */
static char *
qa_address(const char *line, const char *prefix)
{
    size_t p = strlen(prefix);
    if (strncmp(line, prefix, p) != 0 || line[p] != '<')
        return NULL;
    const char *start = line + p + 1;
    size_t n = strlen(start);
    if (n == 0 || start[n - 1] != '>')
        return NULL;
    return strndup(start, n - 1);
}

/* The value of KEY= in the X-Stagemilter-Quarantine line (quoted or not). */
static char *
qa_field(const char *line, const char *key)
{
    const char *p = strstr(line, key);
    if (p == NULL)
        return strdup("-");
    p += strlen(key);
    if (*p == '"') {
        const char *q = strchr(p + 1, '"');
        return q != NULL ? strndup(p + 1, (size_t)(q - p - 1)) : strdup(p + 1);
    }
    return strndup(p, strcspn(p, " "));
}

/* The envelope block. */
int
stm_quarantine_entry_read(FILE *f, stm_quarantine_entry *e, char *err, size_t errlen)
{
    char line[QA_LINE_MAX];
    memset(e, 0, sizeof *e);
    if (!qa_line(f, line, sizeof line) || (e->sender = qa_address(line, "Return-Path: ")) == NULL) {
        snprintf(err, errlen, "does not start with the Return-Path: line the store writes");
        goto fail;
    }
    for (;;) {
        if (!qa_line(f, line, sizeof line)) {
            snprintf(err, errlen, "no X-Stagemilter-Quarantine: line after the envelope");
            goto fail;
        }
        if (strncmp(line, "X-Stagemilter-Quarantine: ", 26) == 0)
            break;
        char *rcpt = qa_address(line, "X-Original-To: ");
        if (rcpt == NULL) {
            snprintf(err, errlen, "unexpected line in the envelope block");
            goto fail;
        }
        if (e->nrcpts >= QA_RCPTS_MAX) {
            free(rcpt);
            snprintf(err, errlen, "more than %d recipients", QA_RCPTS_MAX);
            goto fail;
        }
        char **grown = realloc(e->rcpts, (e->nrcpts + 1) * sizeof *grown);
        if (grown == NULL) {
            free(rcpt);
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        e->rcpts = grown;
        e->rcpts[e->nrcpts++] = rcpt;
    }
    e->rule = qa_field(line, "rule=");
    e->queue = qa_field(line, "queue=");
    e->offset = ftell(f);
    if (e->rule == NULL || e->queue == NULL || e->offset < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    return 0;
fail:
    stm_quarantine_entry_clear(e);
    return -1;
}

/* Is DIR/NAME a real directory (not a link)? */
static bool
qa_is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Find ID in the queues of WORKDIR: its path into PATH. 0, or -1 (on ERR). */
static int
qa_find(const char *workdir, const char *id, char *path, size_t pathlen, FILE *err)
{
    DIR *d = opendir(workdir);
    if (d == NULL) {
        fprintf(err, "stagemilter: %s: %s\n", workdir, strerror(errno));
        return -1;
    }
    int found = 0;
    struct dirent *de;
    char candidate[4096];
    while ((de = readdir(d)) != NULL) {
        if (!stm_quarantine_admin_name_ok(de->d_name))
            continue;
        static const char *const subs[] = {"new", "cur"};
        for (size_t i = 0; i < 2; i++) {
            if (snprintf(candidate, sizeof candidate, "%s/%s/%s/%s", workdir, de->d_name, subs[i],
                         id) >= (int)sizeof candidate)
                continue;
            struct stat st;
            if (lstat(candidate, &st) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (found++ == 0)
                snprintf(path, pathlen, "%s", candidate);
        }
    }
    closedir(d);
    if (found == 0) {
        fprintf(err, "stagemilter: %s: no such quarantined message in %s\n", id, workdir);
        return -1;
    }
    if (found > 1) {
        fprintf(err, "stagemilter: %s: found in more than one queue; remove the copies by hand\n",
                id);
        return -1;
    }
    return 0;
}

/* Open PATH for reading, refusing links. */
static FILE *
qa_open(const char *path, FILE *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (f == NULL) {
        fprintf(err, "stagemilter: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    return f;
}

/* One listed message. */
typedef struct qa_item {
    char id[256];
    char queue[256];
    time_t mtime;
    stm_quarantine_entry e;
} qa_item;

/* Oldest first, then by id. */
static int
qa_item_cmp(const void *a, const void *b)
{
    const qa_item *x = a, *y = b;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* Collect the messages of WORKDIR/QUEUE into *ITEMS. 0 or -1 (memory). */
static int
qa_collect(const char *workdir, const char *queue, qa_item **items, size_t *n, FILE *err)
{
    static const char *const subs[] = {"new", "cur"};
    char dir[4096], path[4400], msg[256];
    for (size_t i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/%s/%s", workdir, queue, subs[i]);
        DIR *d = opendir(dir);
        if (d == NULL)
            continue;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            if (!stm_quarantine_admin_name_ok(de->d_name) || lstat(path, &st) != 0 ||
                !S_ISREG(st.st_mode))
                continue;
            FILE *f = qa_open(path, err);
            if (f == NULL)
                continue;
            qa_item it;
            memset(&it, 0, sizeof it);
            int rc = stm_quarantine_entry_read(f, &it.e, msg, sizeof msg);
            fclose(f);
            if (rc != 0) {
                fprintf(err, "stagemilter: %s: %s; skipped\n", path, msg);
                continue;
            }
            qa_item *grown = realloc(*items, (*n + 1) * sizeof *grown);
            if (grown == NULL) {
                stm_quarantine_entry_clear(&it.e);
                closedir(d);
                return -1;
            }
            *items = grown;
            snprintf(it.id, sizeof it.id, "%s", de->d_name);
            snprintf(it.queue, sizeof it.queue, "%s", queue);
            it.mtime = st.st_mtime;
            (*items)[(*n)++] = it;
        }
        closedir(d);
    }
    return 0;
}

/* list [QUEUE] */
static int
qa_list(const stm_quarantine_admin_args *a, FILE *out, FILE *err)
{
    if (a->nargs > 1) {
        fprintf(err, "stagemilter: --quarantine list takes at most one QUEUE\n");
        return 1;
    }
    if (a->nargs == 1 && !stm_quarantine_admin_name_ok(a->args[0])) {
        fprintf(err, "stagemilter: \"%s\" is not a queue name (one plain name, no '/')\n",
                a->args[0]);
        return 1;
    }
    qa_item *items = NULL;
    size_t n = 0;
    int rc = 0;
    char path[4096];
    if (a->nargs == 1) {
        snprintf(path, sizeof path, "%s/%s", a->workdir, a->args[0]);
        if (!qa_is_dir(path)) {
            fprintf(err, "stagemilter: no queue %s in %s\n", a->args[0], a->workdir);
            return 1;
        }
        rc = qa_collect(a->workdir, a->args[0], &items, &n, err);
    } else {
        DIR *d = opendir(a->workdir);
        if (d == NULL) {
            fprintf(err, "stagemilter: %s: %s\n", a->workdir, strerror(errno));
            return 1;
        }
        struct dirent *de;
        while (rc == 0 && (de = readdir(d)) != NULL) {
            snprintf(path, sizeof path, "%s/%s", a->workdir, de->d_name);
            if (stm_quarantine_admin_name_ok(de->d_name) && qa_is_dir(path))
                rc = qa_collect(a->workdir, de->d_name, &items, &n, err);
        }
        closedir(d);
    }
    if (rc != 0)
        fprintf(err, "stagemilter: out of memory\n");
    if (n > 0)
        qsort(items, n, sizeof *items, qa_item_cmp);
    fprintf(out, "# id\tdate\tqueue\tsender\trecipients\trule\n");
    for (size_t i = 0; i < n; i++) {
        char date[32];
        struct tm tm;
        localtime_r(&items[i].mtime, &tm);
        strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(out, "%s\t%s\t%s\t<%s>\t", items[i].id, date, items[i].queue, items[i].e.sender);
        for (size_t r = 0; r < items[i].e.nrcpts; r++)
            fprintf(out, "%s<%s>", r > 0 ? "," : "", items[i].e.rcpts[r]);
        fprintf(out, "\t%s\n", items[i].e.rule);
        stm_quarantine_entry_clear(&items[i].e);
    }
    free(items);
    return rc == 0 ? 0 : 1;
}

/* Pipe the message of PATH (after the envelope block) into sendmail. */
static int
qa_release_one(const stm_quarantine_admin_args *a, const char *id, const char *path, FILE *out,
               FILE *err)
{
    char msg[256];
    stm_quarantine_entry e;
    FILE *f = qa_open(path, err);
    if (f == NULL)
        return -1;
    if (stm_quarantine_entry_read(f, &e, msg, sizeof msg) != 0) {
        fprintf(err, "stagemilter: %s: %s; not released\n", path, msg);
        fclose(f);
        return -1;
    }
    int rc = -1;
    const char **argv = NULL;
    if (e.nrcpts == 0) {
        fprintf(err, "stagemilter: %s: no recipients recorded; not released\n", id);
        goto done;
    }
    argv = calloc(e.nrcpts + 7, sizeof *argv);
    if (argv == NULL) {
        fprintf(err, "stagemilter: out of memory\n");
        goto done;
    }
    size_t k = 0;
    argv[k++] = a->sendmail;
    argv[k++] = "-i";
    argv[k++] = "-f";
    argv[k++] = e.sender[0] != '\0' ? e.sender : "<>";
    argv[k++] = "--";
    for (size_t i = 0; i < e.nrcpts; i++)
        argv[k++] = e.rcpts[i];
    argv[k] = NULL;
    fflush(out);
    fflush(err);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(err, "stagemilter: fork: %s\n", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        /* The message as received: from the end of the envelope block. */
        int fd = fileno(f);
        if (lseek(fd, e.offset, SEEK_SET) != e.offset || dup2(fd, STDIN_FILENO) < 0)
            _exit(127);
        execv(a->sendmail, (char *const *)argv);
        fprintf(err, "stagemilter: %s: %s\n", a->sendmail, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            fprintf(err, "stagemilter: waitpid: %s\n", strerror(errno));
            goto done;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(err, "stagemilter: %s: %s failed (%s %d); the message stays in the quarantine\n",
                id, a->sendmail, WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        goto done;
    }
    if (unlink(path) != 0) {
        fprintf(err, "stagemilter: %s: released, but cannot remove %s: %s\n", id, path,
                strerror(errno));
        goto done;
    }
    fprintf(out, "%s: released from <%s> to %zu recipient%s\n", id, e.sender, e.nrcpts,
            e.nrcpts == 1 ? "" : "s");
    rc = 0;
done:
    free(argv);
    fclose(f);
    stm_quarantine_entry_clear(&e);
    return rc;
}

/* release|delete ID... */
static int
qa_each_id(const stm_quarantine_admin_args *a, bool release, FILE *out, FILE *err)
{
    if (a->nargs == 0) {
        fprintf(err, "stagemilter: --quarantine %s needs at least one ID (see --quarantine list)\n",
                a->action);
        return 1;
    }
    int failed = 0;
    char path[4096];
    for (size_t i = 0; i < a->nargs; i++) {
        const char *id = a->args[i];
        if (!stm_quarantine_admin_name_ok(id)) {
            fprintf(err,
                    "stagemilter: \"%s\" is not a quarantine id (a file name as --quarantine "
                    "list prints it, no '/')\n",
                    id);
            failed = 1;
            continue;
        }
        if (qa_find(a->workdir, id, path, sizeof path, err) != 0) {
            failed = 1;
            continue;
        }
        if (release) {
            if (qa_release_one(a, id, path, out, err) != 0)
                failed = 1;
        } else if (unlink(path) != 0) {
            fprintf(err, "stagemilter: %s: %s\n", path, strerror(errno));
            failed = 1;
        } else {
            fprintf(out, "%s: deleted\n", id);
        }
    }
    return failed;
}

/* Dispatch the action. */
int
stm_quarantine_admin_main(const stm_quarantine_admin_args *a, FILE *out, FILE *err)
{
    if (strcmp(a->action, "list") == 0)
        return qa_list(a, out, err);
    if (strcmp(a->action, "release") == 0)
        return qa_each_id(a, true, out, err);
    if (strcmp(a->action, "delete") == 0)
        return qa_each_id(a, false, out, err);
    fprintf(err, "stagemilter: --quarantine takes list, release or delete, not \"%s\"\n",
            a->action);
    return 1;
}
