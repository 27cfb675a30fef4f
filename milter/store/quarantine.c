/*
 * quarantine.c - the Maildir quarantine store (quarantine.h).
 *
 * FUNCTIONS
 *      stm_quarantine_store()   write one message into WORKDIR/QUEUE/new/
 *      stm_quarantine_sweep()   remove the tmp/ copies of writers that died
 *
 * DESCRIPTION
 *      A stored file is an ordinary message an administrator can read with
 *      any Maildir client or re-inject with sendmail(1). It begins with the
 *      headers stagemilter adds, then the message as the MTA handed it:
 *
 *          Return-Path: <SENDER>
 *          X-Original-To: <RCPT>                  (one per accepted recipient)
 *          X-Stagemilter-Quarantine: rule="NAME" queue=QUEUE stage=STAGE
 *              client=IP id=ID [queue_id=QID]
 *          ORIGINAL HEADERS
 *          HEADERS ADDED BY add_header EFFECTS    (where the MTA would append them)
 *
 *      The copy shows the changes effects queued (edit.h), as the MTA's copy
 *      would have them: changed and deleted fields, added ones (before those
 *      of add_header, in the order the milter adds them), and in the
 *      envelope the new sender and the recipients deleted and added, so a
 *      release delivers what would have been delivered.
 *
 *          BODY
 *
 *      SENDER and RCPT are written byte for byte, quotes, spaces and UTF-8
 *      included, so a release gives the message back to exactly the
 *      envelope it had. SMTP allows no control character in an address
 *      (RFC 5321 qtextSMTP, RFC 6531); one that has one is not stored (the
 *      caller tempfails) rather than recorded as something else.
 *
 *      Line ends are LF, as Maildir wants (CRLF from the MTA converted).
 *      The file name is TIME.M<usec>P<pid>Q<n>.<host> (Maildir's unique
 *      name: <n> counts deliveries of this process); it is written in tmp/,
 *      fsync'ed, renamed into new/, and new/ is fsync'ed, so a stored copy
 *      survives a crash before the MTA is told to discard the original. A
 *      folder the store creates (WORKDIR, QUEUE, tmp/new/cur) is made
 *      durable too: its parent is fsync'ed after the mkdir, so the first
 *      message of a new queue is as safe as every later one.
 *
 * DIAGNOSTICS
 *      Every failing step returns -1 with "what: path: strerror" in ERR and
 *      removes its temporary file. The caller must then tempfail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "store/quarantine.h"
#include "stagemilter/edit.h"
#include "stagemilter/names.h"
#include "stagemilter/text.h"

/* Deliveries made by this process, for unique file names. */
static atomic_uint quarantine_count;

/* The host part of a unique name: '/' and ':' escaped as Maildir says. */
#define QUARANTINE_HOST_MAX (3 * 256)
static void
quarantine_host(char *out, size_t outlen)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    size_t h = 0;
    for (size_t i = 0; host[i] != '\0' && h + 5 < outlen; i++) {
        if (host[i] == '/' || host[i] == ':')
            h += (size_t)snprintf(out + h, outlen - h, "\\%03o", (unsigned)(unsigned char)host[i]);
        else
            out[h++] = host[i];
    }
    out[h] = '\0';
}

/* fsync a directory, so a rename or creation in it is durable. */
static int
quarantine_sync_dir(const char *dir, char *err, size_t errlen)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        snprintf(err, errlen, "fsync: %s: %s", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* Create DIR (mode 0700) unless it exists, and when it was created fsync
 * its parent so the new entry survives a crash. 0, or -1 with ERR filled. */
static int
quarantine_mkdir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) == 0) {
        char parent[4096];
        const char *slash = strrchr(dir, '/');
        if (slash == NULL)
            snprintf(parent, sizeof parent, ".");
        else if (slash == dir)
            snprintf(parent, sizeof parent, "/");
        else
            snprintf(parent, sizeof parent, "%.*s", (int)(slash - dir), dir);
        return quarantine_sync_dir(parent, err, errlen);
    }
    if (errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, errlen, "not a directory: %s", dir);
        return -1;
    }
    snprintf(err, errlen, "mkdir: %s: %s", dir, strerror(errno));
    return -1;
}

/* Write LEN bytes of DATA to F with CRLF made LF. */
static void
quarantine_put(FILE *f, const char *data, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n') {
            fwrite(data + start, 1, i - start, f);
            start = i + 1; /* the '\n' goes out with the next piece */
        }
    }
    fwrite(data + start, 1, len - start, f);
}

/* The body of MSG, its CRLFs made LF; a spooled body is read a buffer at a
 * time. 0, or -1 with errno when the spool could not be read. */
static int
quarantine_body(FILE *f, const stm_message *msg)
{
    enum { PIECE = 1 << 16 };
    char *buf = msg->spooled ? malloc(PIECE) : NULL;
    const char *data;
    ssize_t n;
    uint64_t off = 0;
    bool cr = false; /* the last piece ended in a CR, not written yet */

    if (msg->spooled && buf == NULL)
        return -1;
    while ((n = stm_message_body_at(msg, off, buf, msg->spooled ? PIECE : SIZE_MAX, &data)) > 0) {
        size_t len = (size_t)n;
        if (cr && data[0] != '\n')
            fputc('\r', f);
        cr = data[len - 1] == '\r';
        quarantine_put(f, data, cr ? len - 1 : len);
        off += (uint64_t)n;
    }
    if (cr)
        fputc('\r', f);
    int e = errno;
    free(buf);
    errno = e;
    return n < 0 ? -1 : 0;
}

/* Header NAME: VALUE, the value's CRLFs made LF. */
static void
quarantine_header(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s:%s", name, value[0] == ' ' || value[0] == '\t' ? "" : " ");
    quarantine_put(f, value, strlen(value));
    fputc('\n', f);
}

/* Does ADDR hold a byte no SMTP address may hold (a control character)? */
static int
quarantine_bad_address(const char *addr)
{
    for (const unsigned char *p = (const unsigned char *)(addr ? addr : ""); *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* Is every envelope address of S fit to be recorded as it is? */
static int
quarantine_envelope_ok(stm_session *s, char *err, size_t errlen)
{
    if (quarantine_bad_address(stm_session_sender(s))) {
        snprintf(err, errlen, "the envelope sender holds a control character");
        return 0;
    }
    for (size_t i = 0; i < stm_session_rcpt_count(s); i++)
        if (quarantine_bad_address(stm_session_rcpt_at(s, i))) {
            snprintf(err, errlen, "recipient %zu holds a control character", i + 1);
            return 0;
        }
    return 1;
}

/* Everything that goes into the file, in order; the body only WITH_BODY.
 * The envelope goes in byte for byte (quarantine_envelope_ok() vetted it);
 * the other values of our header are only for the reader, cleaned as log
 * values are. 0, or -1 with errno when a spooled body could not be read
 * (write errors show in ferror(F)). */
static int
quarantine_write(FILE *f, stm_session *s, const stm_verdict *v, const stm_edit_ops *ops,
                 bool return_path, bool with_body)
{
    char a[1024], b[1024];
    const unsigned clean = STM_TEXT_QUOTED | STM_TEXT_UTF8;
    const char *sender = stm_edit_ops_sender(ops);
    if (sender == NULL)
        sender = stm_session_sender(s);
    if (return_path)
        fprintf(f, "Return-Path: <%s>\n", sender != NULL ? sender : "");
    for (size_t i = 0; i < stm_session_rcpt_count(s); i++)
        if (!stm_edit_ops_rcpt_deleted(ops, stm_session_rcpt_at(s, i)))
            fprintf(f, "X-Original-To: <%s>\n", stm_session_rcpt_at(s, i));
    for (size_t i = 0; i < ops->n; i++)
        if (ops->ops[i].kind == STM_EDIT_OP_RCPT_ADD)
            fprintf(f, "X-Original-To: <%s>\n", ops->ops[i].value);
    stm_text_clean(a, sizeof a, v->rule != NULL ? v->rule : "-", 0, clean);
    stm_text_clean(b, sizeof b, stm_session_client_ip(s) ? stm_session_client_ip(s) : "unknown", 0,
                   clean);
    fprintf(f, "X-Stagemilter-Quarantine: rule=\"%s\" queue=%s stage=%s client=%s id=%s", a,
            v->queue, stm_stage_name(v->stage) ? stm_stage_name(v->stage) : "-", b, stm_session_id(s));
    if (stm_session_queue_id(s) != NULL && stm_session_queue_id(s)[0] != '\0') {
        stm_text_clean(a, sizeof a, stm_session_queue_id(s), 0, clean);
        fprintf(f, " queue_id=%s", a);
    }
    fputc('\n', f);

    const stm_message *msg = stm_session_message(s);
    for (size_t i = 0; i < msg->nheaders; i++) {
        int occ = 0;
        for (size_t j = 0; j <= i; j++)
            if (strcasecmp(msg->headers[j].name, msg->headers[i].name) == 0)
                occ++;
        const stm_edit_op *op = stm_edit_ops_header(ops, msg->headers[i].name, occ);
        if (op == NULL)
            quarantine_header(f, msg->headers[i].name, msg->headers[i].value);
        else if (op->kind == STM_EDIT_OP_HEADER_CHANGE)
            quarantine_header(f, msg->headers[i].name, op->value);
    }
    for (size_t i = 0; i < ops->n; i++)
        if (ops->ops[i].kind == STM_EDIT_OP_HEADER_ADD)
            quarantine_header(f, ops->ops[i].name, ops->ops[i].value);
    size_t nadded = 0;
    const stm_header *added = stm_session_added_headers(s, &nadded);
    for (size_t i = 0; i < nadded; i++)
        quarantine_header(f, added[i].name, added[i].value);
    fputc('\n', f);
    return with_body ? quarantine_body(f, msg) : 0;
}

/* Store the session's message with the changes OPS; see quarantine.h. */
static int
quarantine_store_ops(const char *workdir, stm_session *s, const stm_verdict *v,
                     const stm_edit_ops *ops, char *path, size_t pathlen, char *err, size_t errlen)
{
    char dir[3800], sub[4096], tmp[4096];
    FILE *f = NULL;
    int fd = -1;

    char why[128];
    if (stm_queue_name_problem(v->queue, why, sizeof why) != NULL) {
        char shown[300];
        stm_text_clean(shown, sizeof shown, v->queue, 0, STM_TEXT_QUOTED | STM_TEXT_UTF8);
        snprintf(err, errlen, "invalid quarantine queue name \"%s\": %s", shown,
                 stm_queue_name_problem(v->queue, why, sizeof why));
        return -1;
    }
    if (!quarantine_envelope_ok(s, err, errlen))
        return -1;
    if (stm_session_message(s)->truncated) {
        snprintf(err, errlen, "message larger than milter.max_message_size was not kept");
        return -1;
    }
    if (snprintf(dir, sizeof dir, "%s/%s", workdir, v->queue) >= (int)sizeof dir) {
        snprintf(err, errlen, "quarantine path too long");
        return -1;
    }
    if (quarantine_mkdir(workdir, err, errlen) != 0 || quarantine_mkdir(dir, err, errlen) != 0)
        return -1;
    static const char *const subdirs[] = {"tmp", "new", "cur"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, subdirs[i]);
        if (quarantine_mkdir(sub, err, errlen) != 0)
            return -1;
    }

    char hostsafe[QUARANTINE_HOST_MAX];
    quarantine_host(hostsafe, sizeof hostsafe);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    unsigned n = atomic_fetch_add(&quarantine_count, 1) + 1;
    char name[sizeof hostsafe + 96];
    snprintf(name, sizeof name, "%lld.M%ldP%ldQ%u.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
             (long)getpid(), n, hostsafe);
    if (snprintf(tmp, sizeof tmp, "%s/tmp/%s", dir, name) >= (int)sizeof tmp ||
        snprintf(path, pathlen, "%s/new/%s", dir, name) >= (int)pathlen) {
        snprintf(err, errlen, "quarantine path too long");
        return -1;
    }

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "create: %s: %s", tmp, strerror(errno));
        return -1;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        snprintf(err, errlen, "fdopen: %s: %s", tmp, strerror(errno));
        close(fd);
        goto fail;
    }
    if (quarantine_write(f, s, v, ops, true, true) != 0) {
        snprintf(err, errlen, "read the spooled message: %s", strerror(errno));
        fclose(f);
        goto fail;
    }
    if (fflush(f) != 0 || ferror(f)) {
        snprintf(err, errlen, "write: %s: %s", tmp, strerror(errno));
        fclose(f);
        goto fail;
    }
    if (fsync(fileno(f)) != 0) {
        snprintf(err, errlen, "fsync: %s: %s", tmp, strerror(errno));
        fclose(f);
        goto fail;
    }
    if (fclose(f) != 0) {
        snprintf(err, errlen, "close: %s: %s", tmp, strerror(errno));
        goto fail;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "rename: %s: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(sub, sizeof sub, "%s/new", dir);
    if (quarantine_sync_dir(sub, err, errlen) != 0) {
        unlink(path); /* not known durable: let the MTA keep the original */
        return -1;
    }
    return 0;

fail:
    unlink(tmp);
    return -1;
}

/* Store the session's message as its changes leave it; see quarantine.h. */
int
stm_quarantine_store(const char *workdir, stm_session *s, const stm_verdict *v, char *path,
                    size_t pathlen, char *err, size_t errlen)
{
    stm_edit_ops ops;
    char *why = NULL;
    if (stm_edit_resolve(s, &ops, &why) != 0) {
        snprintf(err, errlen, "the message changes: %s", why ? why : "out of memory");
        free(why);
        return -1;
    }
    int rc = quarantine_store_ops(workdir, s, v, &ops, path, pathlen, err, errlen);
    stm_edit_ops_clear(&ops);
    return rc;
}

/* The quarantined copy in memory, for a mailbox server (quarantine.h). */
int
stm_quarantine_render(stm_session *s, const stm_verdict *v, char **data, size_t *len,
                      char **sender, char *err, size_t errlen)
{
    stm_edit_ops ops;
    char *why = NULL;
    *data = NULL;
    *len = 0;
    *sender = NULL;
    if (!quarantine_envelope_ok(s, err, errlen))
        return -1;
    if (stm_session_message(s)->truncated) {
        snprintf(err, errlen, "message larger than milter.max_message_size was not kept");
        return -1;
    }
    if (stm_edit_resolve(s, &ops, &why) != 0) {
        snprintf(err, errlen, "the message changes: %s", why ? why : "out of memory");
        free(why);
        return -1;
    }
    /* The sender the changes leave: the envelope of the delivery. */
    const char *snd = stm_edit_ops_sender(&ops);
    if (snd == NULL)
        snd = stm_session_sender(s);
    if ((*sender = strdup(snd != NULL ? snd : "")) == NULL) {
        snprintf(err, errlen, "out of memory");
        stm_edit_ops_clear(&ops);
        return -1;
    }
    FILE *f = open_memstream(data, len);
    if (f == NULL) {
        snprintf(err, errlen, "out of memory");
        stm_edit_ops_clear(&ops);
        free(*sender);
        *sender = NULL;
        return -1;
    }
    quarantine_write(f, s, v, &ops, false, false);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        free(*data);
        *data = NULL;
        free(*sender);
        *sender = NULL;
        snprintf(err, errlen, "out of memory");
        stm_edit_ops_clear(&ops);
        return -1;
    }
    stm_edit_ops_clear(&ops);
    return 0;
}

/* Is NAME ("SECS.M<usec>P<pid>Q<n>.HOST") a copy that a dead process of HOST
 * left behind? */
static bool
quarantine_orphan(const char *name, const char *host)
{
    const char *p = strchr(name, 'P');
    const char *dot = strchr(name, '.');
    if (p == NULL || dot == NULL || p < dot)
        return false;
    dot = strchr(p, '.');
    if (dot == NULL || strcmp(dot + 1, host) != 0)
        return false;
    char *end;
    errno = 0;
    long pid = strtol(p + 1, &end, 10);
    if (errno != 0 || end == p + 1 || *end != 'Q' || pid <= 0 || pid == (long)getpid())
        return false;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Remove the orphans of one tmp/ folder (TMPFD, consumed). */
static long
quarantine_sweep_tmp(int tmpfd, const char *host)
{
    DIR *d = fdopendir(tmpfd);
    if (d == NULL) {
        close(tmpfd);
        return 0;
    }
    long removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (e->d_name[0] == '.' || !quarantine_orphan(e->d_name, host) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

long
stm_quarantine_sweep(const char *workdir, char *err, size_t errlen)
{
    int wfd = open(workdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (wfd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "open: %s: %s", workdir, strerror(errno));
        return -1;
    }
    DIR *w = fdopendir(wfd);
    if (w == NULL) {
        snprintf(err, errlen, "opendir: %s: %s", workdir, strerror(errno));
        close(wfd);
        return -1;
    }
    char host[QUARANTINE_HOST_MAX];
    quarantine_host(host, sizeof host);
    long removed = 0;
    struct dirent *e;
    while ((e = readdir(w)) != NULL) {
        char why[128];
        if (stm_queue_name_problem(e->d_name, why, sizeof why) != NULL)
            continue;
        int qfd = openat(dirfd(w), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (qfd < 0)
            continue;
        int tfd = openat(qfd, "tmp", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        close(qfd);
        if (tfd >= 0)
            removed += quarantine_sweep_tmp(tfd, host);
    }
    closedir(w);
    return removed;
}
