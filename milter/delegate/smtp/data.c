/*
 * data.c - the message on the wire: line ends normalised to CRLF, lines
 * starting with "." stuffed, the final ".", streamed in chunks each with its
 * own deadline (smtp_client.h, session.h).
 *
 * Functions: stm_smtp_stuff, stm_smtp_stuff_end, stm_smtp_data_send,
 * stm_smtp_data_is_8bit, stm_smtp_piece_body, stm_smtp_piece_at.
 *
 * Ownership: the pieces are borrowed from the request. A spooled body is
 * read through one buffer of CHUNK bytes, never whole.
 *
 * Errors: stm_smtp_data_send() returns -1 with s->err set.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "delegate/smtp/session.h"
#include "stagemilter/clock.h"

/* Normalise line ends to CRLF and dot-stuff (see smtp_client.h). State bit 0:
 * at the start of a line; bit 1: a CR is pending. */
size_t
stm_smtp_stuff(const char *in, size_t len, char *out, int *state)
{
    size_t o = 0;
    int st = *state;

    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (st & 2) {
            out[o++] = '\r';
            out[o++] = '\n';
            st = 1;
            if (c == '\n')
                continue; /* CRLF: written */
        }
        if (c == '\r') {
            st |= 2;
            continue;
        }
        if (c == '\n') {
            out[o++] = '\r';
            out[o++] = '\n';
            st = 1;
            continue;
        }
        if ((st & 1) && c == '.')
            out[o++] = '.';
        out[o++] = c;
        st = 0;
    }
    *state = st;
    return o;
}

/* End the data: close an unfinished line, then ".". */
size_t
stm_smtp_stuff_end(char *out, int state)
{
    size_t o = 0;
    if ((state & 2) || !(state & 1)) {
        out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 3);
    return o + 3;
}

/* The body of MSG as a piece. */
stm_smtp_piece
stm_smtp_piece_body(const stm_message *msg)
{
    stm_smtp_piece piece = {NULL, msg->body_len, msg};
    return piece;
}

/* Up to MAX bytes of PIECE from OFFSET. */
ssize_t
stm_smtp_piece_at(const stm_smtp_piece *piece, uint64_t offset, char *buf, size_t max,
                  const char **p)
{
    if (piece->body != NULL)
        return stm_message_body_at(piece->body, offset, buf, max, p);
    if (offset >= piece->len)
        return 0;
    *p = piece->data + offset;
    return (ssize_t)(piece->len - offset < max ? piece->len - offset : max);
}

enum { CHUNK = 8192 };

/* Stream the message pieces, stuffed, then ".". 0 or -1. */
int
stm_smtp_data_send(stm_smtp_session *s)
{
    const stm_smtp_request *req = s->req;
    char *out = malloc(2 * CHUNK + 8), *in = malloc(CHUNK);
    int state = 1, rc = -1;

    if (out == NULL || in == NULL) {
        stm_smtp_fail(s, STM_SMTP_PH_BODY, "out of memory");
        goto done;
    }
    for (size_t p = 0; p < req->npieces; p++) {
        const char *data;
        ssize_t n;
        uint64_t off = 0;
        while ((n = stm_smtp_piece_at(&req->pieces[p], off, in, CHUNK, &data)) > 0) {
            size_t o = stm_smtp_stuff(data, (size_t)n, out, &state);
            if (stm_smtp_io_write(s, STM_SMTP_PH_BODY, out, o,
                                  stm_clock_ms() + s->svc->command_timeout_ms) != 0)
                goto done;
            off += (uint64_t)n;
        }
        if (n < 0) {
            stm_smtp_fail(s, STM_SMTP_PH_BODY, "cannot read the spooled message: %s",
                          strerror(errno));
            goto done;
        }
    }
    size_t o = stm_smtp_stuff_end(out, state);
    rc = stm_smtp_io_write(s, STM_SMTP_PH_BODY, out, o, stm_clock_ms() + s->svc->command_timeout_ms);
    if (rc == 0 && req->transcript)
        stm_smtp_log(s, "> (message) .");
done:
    free(in);
    free(out);
    return rc;
}

/* Does the message hold bytes outside ASCII? A spool read error says yes
 * (BODY=8BITMIME is then merely unneeded; the send reports the error). */
bool
stm_smtp_data_is_8bit(const stm_smtp_request *req)
{
    char buf[CHUNK];
    for (size_t p = 0; p < req->npieces; p++) {
        const char *data;
        ssize_t n;
        uint64_t off = 0;
        while ((n = stm_smtp_piece_at(&req->pieces[p], off, buf, sizeof buf, &data)) > 0) {
            for (ssize_t i = 0; i < n; i++)
                if ((unsigned char)data[i] & 0x80)
                    return true;
            off += (uint64_t)n;
        }
        if (n < 0)
            return true;
    }
    return false;
}
