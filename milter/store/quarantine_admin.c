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
 *      name follows the one rule of stagemilter/names.h (the rule --check
 *      and the store use), an id is one path component of safe characters
 *      (no '/', not "." or "..", no leading '.' or '-'), and an id is looked
 *      up only as WORKDIR/QUEUE/new/ID or WORKDIR/QUEUE/cur/ID for the
 *      queues found in the workdir. The tree below the workdir belongs to
 *      the daemon's user while these commands run as root, so every step
 *      below the workdir is taken with openat(O_NOFOLLOW | O_DIRECTORY) from
 *      the directory before it, and files are opened and unlinked relative
 *      to that directory: a symbolic link planted as a queue, as new/ or
 *      cur/, or as the file itself is never followed.
 *
 *      The envelope block holds the addresses byte for byte (quarantine.c);
 *      a line has no length limit here, so a 1,000-byte address comes back
 *      whole.
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
#include "stagemilter/names.h"

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

/* One line of F without its newline into *LINE (grown as needed, caller
 * frees); false at EOF, on a line without a newline or holding a NUL. */
static bool
qa_line(FILE *f, char **line, size_t *cap)
{
    ssize_t n = getline(line, cap, f);
    if (n <= 0 || (*line)[n - 1] != '\n' || strlen(*line) != (size_t)n)
        return false;
    (*line)[n - 1] = '\0';
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
    char *line = NULL;
    size_t cap = 0;
    memset(e, 0, sizeof *e);
    if (!qa_line(f, &line, &cap) || (e->sender = qa_address(line, "Return-Path: ")) == NULL) {
        snprintf(err, errlen, "does not start with the Return-Path: line the store writes");
        goto fail;
    }
    for (;;) {
        if (!qa_line(f, &line, &cap)) {
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
    free(line);
    return 0;
fail:
    free(line);
    stm_quarantine_entry_clear(e);
    return -1;
}

/* The directory NAME inside the directory DIRFD, never through a link:
 * an fd, or -1 with errno set. */
static int
qa_subdir(int dirfd, const char *name)
{
    return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Is NAME in DIRFD a regular file (not a link)? Its stat into *ST. */
static bool
qa_is_file(int dirfd, const char *name, struct stat *st)
{
    return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st->st_mode);
}

/* Open the workdir itself (the administrator's configured path). */
static int
qa_workdir(const char *workdir, FILE *err)
{
    int fd = open(workdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fprintf(err, "stagemilter: %s: %s\n", workdir, strerror(errno));
    return fd;
}

/* Where a quarantined file was found: the directory (new/ or cur/) that
 * holds it, opened without following links, and a path for messages. */
typedef struct qa_place {
    int dirfd;
    char shown[4096];
} qa_place;

/* Find ID in the queues of the workdir WFD: *PLACE (close its dirfd).
 * 0, or -1 (said on ERR). */
static int
qa_find(int wfd, const char *workdir, const char *id, qa_place *place, FILE *err)
{
    int dup_fd = dup(wfd);
    DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
    if (d == NULL) {
        fprintf(err, "stagemilter: %s: %s\n", workdir, strerror(errno));
        if (dup_fd >= 0)
            close(dup_fd);
        return -1;
    }
    int found = 0;
    char why[128];
    struct dirent *de;
    place->dirfd = -1;
    while ((de = readdir(d)) != NULL) {
        if (stm_queue_name_problem(de->d_name, why, sizeof why) != NULL)
            continue;
        int qfd = qa_subdir(wfd, de->d_name);
        if (qfd < 0)
            continue;
        static const char *const subs[] = {"new", "cur"};
        for (size_t i = 0; i < 2; i++) {
            int sfd = qa_subdir(qfd, subs[i]);
            struct stat st;
            if (sfd >= 0 && qa_is_file(sfd, id, &st) && found++ == 0) {
                place->dirfd = sfd;
                snprintf(place->shown, sizeof place->shown, "%s/%s/%s/%s", workdir, de->d_name,
                         subs[i], id);
                continue;
            }
            if (sfd >= 0)
                close(sfd);
        }
        close(qfd);
    }
    closedir(d);
    if (found == 1)
        return 0;
    if (place->dirfd >= 0)
        close(place->dirfd);
    place->dirfd = -1;
    if (found == 0)
        fprintf(err, "stagemilter: %s: no such quarantined message in %s\n", id, workdir);
    else
        fprintf(err, "stagemilter: %s: found in more than one queue; remove the copies by hand\n",
                id);
    return -1;
}

/* Open NAME in DIRFD for reading, refusing links; SHOWN names it in errors. */
static FILE *
qa_open(int dirfd, const char *name, const char *shown, FILE *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (f == NULL) {
        fprintf(err, "stagemilter: %s: %s\n", shown, strerror(errno));
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

/* Append the messages of the directory SFD (QUEUE's new/ or cur/, shown as
 * DIR) to *ITEMS. 0 or -1 (memory). Closes SFD. */
static int
qa_collect_dir(int sfd, const char *dir, const char *queue, qa_item **items, size_t *n, FILE *err)
{
    char path[4400], msg[256];
    DIR *d = fdopendir(sfd);
    if (d == NULL) {
        close(sfd);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (!stm_quarantine_admin_name_ok(de->d_name) || !qa_is_file(sfd, de->d_name, &st))
            continue;
        FILE *f = qa_open(sfd, de->d_name, path, err);
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
    return 0;
}

/* Collect the messages of QUEUE in the workdir WFD into *ITEMS. 0 or -1
 * (memory); a queue that is not a real directory holds nothing. */
static int
qa_collect(int wfd, const char *workdir, const char *queue, qa_item **items, size_t *n,
           FILE *err)
{
    static const char *const subs[] = {"new", "cur"};
    char dir[4096];
    int qfd = qa_subdir(wfd, queue);
    if (qfd < 0)
        return 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < 2; i++) {
        int sfd = qa_subdir(qfd, subs[i]);
        snprintf(dir, sizeof dir, "%s/%s/%s", workdir, queue, subs[i]);
        if (sfd >= 0)
            rc = qa_collect_dir(sfd, dir, queue, items, n, err);
    }
    close(qfd);
    return rc;
}

/* Print the collected ITEMS (N of them) and free them. */
static void
qa_print(qa_item *items, size_t n, FILE *out)
{
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
}

/* list [QUEUE] */
static int
qa_list(const stm_quarantine_admin_args *a, FILE *out, FILE *err)
{
    char why[128];
    if (a->nargs > 1) {
        fprintf(err, "stagemilter: --quarantine list takes at most one QUEUE\n");
        return 1;
    }
    if (a->nargs == 1 && stm_queue_name_problem(a->args[0], why, sizeof why) != NULL) {
        fprintf(err, "stagemilter: \"%s\" is not a queue name: %s\n", a->args[0],
                stm_queue_name_problem(a->args[0], why, sizeof why));
        return 1;
    }
    int wfd = qa_workdir(a->workdir, err);
    if (wfd < 0)
        return 1;
    qa_item *items = NULL;
    size_t n = 0;
    int rc = 0;
    if (a->nargs == 1) {
        int qfd = qa_subdir(wfd, a->args[0]);
        if (qfd < 0) {
            fprintf(err, "stagemilter: no queue %s in %s\n", a->args[0], a->workdir);
            close(wfd);
            return 1;
        }
        close(qfd);
        rc = qa_collect(wfd, a->workdir, a->args[0], &items, &n, err);
    } else {
        int dup_fd = dup(wfd);
        DIR *d = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
        if (d == NULL) {
            fprintf(err, "stagemilter: %s: %s\n", a->workdir, strerror(errno));
            if (dup_fd >= 0)
                close(dup_fd);
            close(wfd);
            return 1;
        }
        struct dirent *de;
        while (rc == 0 && (de = readdir(d)) != NULL)
            if (stm_queue_name_problem(de->d_name, why, sizeof why) == NULL)
                rc = qa_collect(wfd, a->workdir, de->d_name, &items, &n, err);
        closedir(d);
    }
    close(wfd);
    if (rc != 0)
        fprintf(err, "stagemilter: out of memory\n");
    qa_print(items, n, out);
    return rc == 0 ? 0 : 1;
}

/* Pipe the message ID found at PLACE (after the envelope block) into
 * sendmail, then remove it. */
static int
qa_release_one(const stm_quarantine_admin_args *a, const char *id, const qa_place *place,
               FILE *out, FILE *err)
{
    char msg[256];
    stm_quarantine_entry e;
    FILE *f = qa_open(place->dirfd, id, place->shown, err);
    if (f == NULL)
        return -1;
    if (stm_quarantine_entry_read(f, &e, msg, sizeof msg) != 0) {
        fprintf(err, "stagemilter: %s: %s; not released\n", place->shown, msg);
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
    if (unlinkat(place->dirfd, id, 0) != 0) {
        fprintf(err, "stagemilter: %s: released, but cannot remove %s: %s\n", id, place->shown,
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
    int wfd = qa_workdir(a->workdir, err);
    if (wfd < 0)
        return 1;
    int failed = 0;
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
        qa_place place;
        if (qa_find(wfd, a->workdir, id, &place, err) != 0) {
            failed = 1;
            continue;
        }
        if (release) {
            if (qa_release_one(a, id, &place, out, err) != 0)
                failed = 1;
        } else if (unlinkat(place.dirfd, id, 0) != 0) {
            fprintf(err, "stagemilter: %s: %s\n", place.shown, strerror(errno));
            failed = 1;
        } else {
            fprintf(out, "%s: deleted\n", id);
        }
        close(place.dirfd);
    }
    close(wfd);
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
