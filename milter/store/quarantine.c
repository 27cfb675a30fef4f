/*
 * quarantine.c - the Maildir quarantine store (quarantine.h).
 *
 * FUNCTIONS
 *      stm_quarantine_store()   write one message into WORKDIR/QUEUE/new/
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
 *          BODY
 *
 *      Line ends are LF, as Maildir wants (CRLF from the MTA converted).
 *      The file name is TIME.M<usec>P<pid>Q<n>.<host> (Maildir's unique
 *      name: <n> counts deliveries of this process); it is written in tmp/,
 *      fsync'ed, renamed into new/, and new/ is fsync'ed, so a stored copy
 *      survives a crash before the MTA is told to discard the original.
 *
 * DIAGNOSTICS
 *      Every failing step returns -1 with "what: path: strerror" in ERR and
 *      removes its temporary file. The caller must then tempfail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "store/quarantine.h"

/* Deliveries made by this process, for unique file names. */
static atomic_uint quarantine_count;

/* Create DIR (mode 0700) unless it exists; -1 with ERR filled otherwise. */
static int
quarantine_mkdir(const char *dir, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, errlen, "not a directory: %s", dir);
        return -1;
    }
    snprintf(err, errlen, "mkdir: %s: %s", dir, strerror(errno));
    return -1;
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

/* Header NAME: VALUE, the value's CRLFs made LF. */
static void
quarantine_header(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s:%s", name, value[0] == ' ' || value[0] == '\t' ? "" : " ");
    quarantine_put(f, value, strlen(value));
    fputc('\n', f);
}

/* Envelope text for a header: control characters become '?'. */
static void
quarantine_clean(char *dst, size_t dstlen, const char *src)
{
    size_t i = 0;
    for (; src != NULL && src[i] != '\0' && i + 1 < dstlen; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f || src[i] == '"') ? '?' : src[i];
    dst[i] = '\0';
}

/* Everything that goes into the file, in order. */
static void
quarantine_write(FILE *f, stm_session *s, const stm_verdict *v)
{
    char a[1024], b[1024];
    quarantine_clean(a, sizeof a, stm_session_sender(s));
    fprintf(f, "Return-Path: <%s>\n", a);
    for (size_t i = 0; i < stm_session_rcpt_count(s); i++) {
        quarantine_clean(a, sizeof a, stm_session_rcpt_at(s, i));
        fprintf(f, "X-Original-To: <%s>\n", a);
    }
    quarantine_clean(a, sizeof a, v->rule != NULL ? v->rule : "-");
    quarantine_clean(b, sizeof b, stm_session_client_ip(s) ? stm_session_client_ip(s) : "unknown");
    fprintf(f, "X-Stagemilter-Quarantine: rule=\"%s\" queue=%s stage=%s client=%s id=%s", a,
            v->queue, stm_stage_name(v->stage) ? stm_stage_name(v->stage) : "-", b, stm_session_id(s));
    if (stm_session_queue_id(s) != NULL && stm_session_queue_id(s)[0] != '\0') {
        quarantine_clean(a, sizeof a, stm_session_queue_id(s));
        fprintf(f, " queue_id=%s", a);
    }
    fputc('\n', f);

    const stm_message *msg = stm_session_message(s);
    for (size_t i = 0; i < msg->nheaders; i++)
        quarantine_header(f, msg->headers[i].name, msg->headers[i].value);
    size_t nadded = 0;
    const stm_header *added = stm_session_added_headers(s, &nadded);
    for (size_t i = 0; i < nadded; i++)
        quarantine_header(f, added[i].name, added[i].value);
    fputc('\n', f);
    if (msg->body != NULL)
        quarantine_put(f, msg->body, msg->body_len);
}

/* Is QUEUE a safe relative name (no '/', not "." or "..", not empty)? */
static int
quarantine_queue_ok(const char *queue)
{
    return queue != NULL && queue[0] != '\0' && strchr(queue, '/') == NULL &&
           strcmp(queue, ".") != 0 && strcmp(queue, "..") != 0;
}

/* Store the session's message; see quarantine.h. */
int
stm_quarantine_store(const char *workdir, stm_session *s, const stm_verdict *v, char *path,
                    size_t pathlen, char *err, size_t errlen)
{
    char dir[3800], sub[4096], tmp[4096], host[256];
    FILE *f = NULL;
    int fd = -1;

    if (!quarantine_queue_ok(v->queue)) {
        snprintf(err, errlen, "unsafe quarantine queue name \"%s\"", v->queue ? v->queue : "");
        return -1;
    }
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

    /* The unique name: host with '/' and ':' escaped as Maildir says. */
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    char hostsafe[3 * sizeof host];
    size_t h = 0;
    for (size_t i = 0; host[i] != '\0' && h + 5 < sizeof hostsafe; i++) {
        if (host[i] == '/' || host[i] == ':')
            h += (size_t)snprintf(hostsafe + h, sizeof hostsafe - h, "\\%03o",
                                  (unsigned)(unsigned char)host[i]);
        else
            hostsafe[h++] = host[i];
    }
    hostsafe[h] = '\0';
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
    quarantine_write(f, s, v);
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
