/*
 * socket.c - opening the milter socket (socket.h).
 *
 * FUNCTIONS
 *      stm_socket_open()       smfi_setconn() + smfi_opensocket(), safely
 *      stm_socket_unix_path()  the path of a unix socket spec
 *      stm_socket_nodelay()    TCP_NODELAY on the listening socket
 *
 * DESCRIPTION
 *      libmilter writes its replies in pieces and never sets TCP_NODELAY, so
 *      over TCP every reply waits for Nagle and the peer's delayed ACK (about
 *      43 ms a message on loopback, TESTBED.md). libmilter does not expose
 *      its listening descriptor, so after smfi_opensocket() the process's
 *      descriptors are scanned for a listening TCP socket; at that moment
 *      libmilter's is the only one.
 *
 * DIAGNOSTICS
 *      Failures are logged; stm_socket_open() returns -1 and the daemon does
 *      not start.
 */
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <libmilter/mfapi.h>

#include "report/log.h"
#include "daemon/socket.h"

/* The path of a unix socket spec, NULL for inet. */
const char *
stm_socket_unix_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        return spec + 5;
    if (strncmp(spec, "local:", 6) == 0)
        return spec + 6;
    if (spec[0] == '/')
        return spec;
    return NULL;
}

/* TCP_NODELAY on each listening TCP socket among our descriptors. */
int
stm_socket_nodelay(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int set = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long fd = strtol(de->d_name, &end, 10);
        if (*end != '\0' || fd < 0 || fd == dirfd(d))
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int listening = 0, type = 0;
        socklen_t il = sizeof listening, tl = sizeof type;
        if (getsockname((int)fd, (struct sockaddr *)&ss, &sl) != 0 ||
            (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
            continue;
        if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM ||
            getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) != 0 || !listening)
            continue;
        int one = 1;
        if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0)
            set++;
    }
    closedir(d);
    return set;
}

/* Open the milter socket described by SPEC. */
int
stm_socket_open(const char *spec)
{
    const char *path = stm_socket_unix_path(spec);
    if (path != NULL) {
        struct stat st;
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
            stm_log(LOG_ERR, "%s exists and is not a socket; not removing it", path);
            return -1;
        }
    }
    if (smfi_setconn((char *)spec) != MI_SUCCESS) {
        stm_log(LOG_ERR, "invalid milter socket \"%s\"", spec);
        return -1;
    }
    /* The MTA's smtpd runs as another user: the socket must be writable. */
    mode_t old = umask(0);
    int rc = smfi_opensocket(true);
    umask(old);
    if (rc != MI_SUCCESS) {
        stm_log(LOG_ERR, "cannot open milter socket \"%s\" (in use, or no permission?)", spec);
        return -1;
    }
    if (path == NULL) {
        int n = stm_socket_nodelay();
        if (n <= 0)
            stm_log(LOG_WARNING,
                   "could not set TCP_NODELAY on the milter socket \"%s\"; replies may stall "
                   "~40 ms each",
                   spec);
    }
    return 0;
}
