/*
 * socket.h - the milter socket around smfi_opensocket(): a unix socket the
 * MTA can write to, TCP_NODELAY on an inet one.
 */
#ifndef STAGEMILTER_MILTER_SOCKET_H
#define STAGEMILTER_MILTER_SOCKET_H

/* Set libmilter's connection to SPEC ("unix:/path", "local:/path", "/path",
 * "inet:PORT@HOST", "inet6:PORT@HOST") and open it: a stale unix socket is
 * removed (anything else at that path is an error), the new one is created
 * with mode 0666 so the MTA's smtpd can connect; an inet listening socket
 * gets TCP_NODELAY (logged when that fails). Returns 0, or -1 (logged). */
int stm_socket_open(const char *spec);

/* The unix socket path in SPEC, or NULL for inet sockets. Borrowed. */
const char *stm_socket_unix_path(const char *spec);

/* Set TCP_NODELAY on every listening TCP socket of this process (libmilter's
 * listening socket; accepted sockets inherit it on Linux). Returns how many
 * were set, or -1 when /proc/self/fd could not be read. */
int stm_socket_nodelay(void);

#endif
