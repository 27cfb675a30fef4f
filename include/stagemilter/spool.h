/*
 * spool.h - unlinked files for what is too large to keep in memory
 * (milter.spool): a message's body (run/message.c) and the decoded
 * content of a large MIME part (policy/mime).
 *
 * A spool file never has a name (O_TMPFILE; where the file system lacks it,
 * mkstemp() then unlink() at once), so a crash leaves nothing behind; it is
 * mode 0600 in a directory of mode 0700 (daemon/privileges.c).
 *
 * Ownership: the caller owns the descriptor and closes it.
 * Errors: -1 with errno.
 */
#ifndef STAGEMILTER_SPOOL_H
#define STAGEMILTER_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* A new unlinked file in DIR, open for reading and writing. */
int stm_spool_open(const char *dir);
/* Write all LEN bytes of DATA to FD at OFFSET. 0 or -1. */
int stm_spool_write(int fd, const void *data, size_t len, uint64_t offset);

#endif
