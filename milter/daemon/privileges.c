/*
 * privileges.c - running as root only as long as needed (privileges.h).
 *
 * FUNCTIONS
 *      stm_privileges_lookup()          -u USER[:GROUP] to ids
 *      stm_privileges_workdir()         the private quarantine workdir
 *      stm_privileges_spool()           the private milter.spool directory
 *      stm_privileges_drop()            setgroups/setgid/setuid, verified
 *      stm_privileges_secret_exposed()  a password in a world-readable file
 *
 * DESCRIPTION
 *      The daemon starts as root only to bind what needs it (a port below
 *      1024, a socket in a root-owned directory) and to prepare the
 *      workdir; main.c then calls stm_privileges_drop() once the milter
 *      socket and the receiver are bound. The workdir holds quarantined
 *      mail, so it is mode 0700 and belongs to the daemon's user; the store
 *      (quarantine.c) creates its folders 0700 and its files 0600. So is
 *      the spool directory, where messages larger than milter.spool.memory
 *      wait in unlinked files (run/message.c).
 *
 * DIAGNOSTICS
 *      Failures are logged (stm_log) or described in ERR; the daemon then
 *      does not start.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/log.h"
#include "daemon/privileges.h"

/* A whole decimal number in S, into *OUT. */
static bool
privileges_number(const char *s, unsigned long *out)
{
    char *end;
    if (s[0] < '0' || s[0] > '9')
        return false;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0';
}

/* USER[:GROUP] to ids. */
int
stm_privileges_lookup(const char *spec, stm_privileges_user *out, char *err, size_t errlen)
{
    char user[256];
    const char *colon = strchr(spec, ':');
    size_t ulen = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    if (ulen == 0 || ulen >= sizeof user || (colon != NULL && colon[1] == '\0')) {
        snprintf(err, errlen, "-u %s: expected USER or USER:GROUP", spec);
        return -1;
    }
    memcpy(user, spec, ulen);
    user[ulen] = '\0';
    unsigned long n;
    struct passwd *pw = getpwnam(user);
    if (pw == NULL && privileges_number(user, &n))
        pw = getpwuid((uid_t)n);
    if (pw == NULL) {
        snprintf(err, errlen, "-u %s: no such user \"%s\"", spec, user);
        return -1;
    }
    snprintf(out->name, sizeof out->name, "%s", pw->pw_name);
    out->uid = pw->pw_uid;
    out->gid = pw->pw_gid;
    if (colon != NULL) {
        struct group *gr = getgrnam(colon + 1);
        if (gr == NULL && privileges_number(colon + 1, &n))
            gr = getgrgid((gid_t)n);
        if (gr == NULL) {
            snprintf(err, errlen, "-u %s: no such group \"%s\"", spec, colon + 1);
            return -1;
        }
        out->gid = gr->gr_gid;
    }
    if (out->uid == 0) {
        snprintf(err, errlen, "-u %s: that is root; name an unprivileged user", spec);
        return -1;
    }
    return 0;
}

/* The directory DIR (WHAT it is, for the log): exists, mode 0700, owned by
 * USER. */
static int
privileges_private_dir(const char *dir, const char *what, const stm_privileges_user *user)
{
    struct stat st;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        stm_log(LOG_ERR, "%s %s: %s", what, dir, strerror(errno));
        return -1;
    }
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        stm_log(LOG_ERR, "%s %s is not a directory", what, dir);
        return -1;
    }
    if ((st.st_mode & 077) != 0) {
        /* Mail kept there is private: no one but the daemon reads it. */
        if (chmod(dir, 0700) != 0) {
            stm_log(LOG_ERR, "%s %s is mode %04o and cannot be made 0700: %s",
                   what, dir, (unsigned)(st.st_mode & 07777), strerror(errno));
            return -1;
        }
        stm_log(LOG_WARNING, "%s %s was mode %04o; now 0700", what, dir,
               (unsigned)(st.st_mode & 07777));
    }
    if (user != NULL && (st.st_uid != user->uid || st.st_gid != user->gid) &&
        chown(dir, user->uid, user->gid) != 0) {
        stm_log(LOG_ERR, "%s %s: cannot give it to %s: %s", what, dir, user->name,
               strerror(errno));
        return -1;
    }
    return 0;
}

/* The workdir: exists, mode 0700, owned by USER. */
int
stm_privileges_workdir(const char *workdir, const stm_privileges_user *user)
{
    return privileges_private_dir(workdir, "quarantine workdir", user);
}

/* The spool directory of MC, and the workdir first when it is inside. */
int
stm_privileges_spool(const stm_milter_config *mc, const stm_privileges_user *user)
{
    const char *dir = mc->spool.directory;
    size_t wlen = strlen(mc->workdir);
    if (strncmp(dir, mc->workdir, wlen) == 0 && dir[wlen] == '/' &&
        privileges_private_dir(mc->workdir, "workdir", user) != 0)
        return -1;
    return privileges_private_dir(dir, "spool directory", user);
}

/* Become USER, for good. */
int
stm_privileges_drop(const stm_privileges_user *user)
{
    if (initgroups(user->name, user->gid) != 0 || setgid(user->gid) != 0 ||
        setuid(user->uid) != 0) {
        stm_log(LOG_ERR, "-u %s: cannot switch user: %s", user->name, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0 || seteuid(0) == 0 || getuid() != user->uid || geteuid() != user->uid ||
        getgid() != user->gid || getegid() != user->gid) {
        stm_log(LOG_ERR, "-u %s: could regain root after the switch; refusing to run", user->name);
        return -1;
    }
    return 0;
}

/* A password in a file others can read. */
bool
stm_privileges_secret_exposed(const stm_policy *policy, const char *path, char *msg, size_t msglen)
{
    const char *service = NULL;
    for (size_t i = 0; i < stm_policy_service_count(policy) && service == NULL; i++) {
        const stm_service *s = stm_policy_service_at(policy, i);
        if (s->password != NULL && s->password[0] != '\0')
            service = s->name;
    }
    struct stat st;
    if (service == NULL || stat(path, &st) != 0 || (st.st_mode & S_IROTH) == 0)
        return false;
    /* No mode in the text: the same file gives the same line whether it is
     * 0644 or 0444 (a `make distcheck` copy), as golden tests want. */
    snprintf(msg, msglen,
             "%s: warning: the file holds a password (service %s) and is readable by everyone; "
             "chmod o-r it (and give it to the daemon's group)",
             path, service);
    return true;
}
