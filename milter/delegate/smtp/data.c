/*
 * data.c - the message on the wire: line ends normalised to CRLF, lines
 * starting with "." stuffed, the final ".", streamed in chunks each with its
 * own deadline (smtp_client.h, session.h).
 *
 * Functions: stm_smtp_stuff, stm_smtp_stuff_end, stm_smtp_data_send,
 * stm_smtp_data_is_8bit.
 *
 * Ownership: the pieces are borrowed from the request.
 *
 * Errors: stm_smtp_data_send() returns -1 with s->err set.
 */
#include "config.h"

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

/* Stream the message pieces, stuffed, then ".". 0 or -1. */
int
stm_smtp_data_send(stm_smtp_session *s)
{
    const stm_smtp_request *req = s->req;
    enum { CHUNK = 8192 };
    char *out = malloc(2 * CHUNK + 8);
    int state = 1;

    if (out == NULL) {
        stm_smtp_fail(s, STM_SMTP_PH_BODY, "out of memory");
        return -1;
    }
    for (size_t p = 0; p < req->npieces; p++) {
        for (size_t off = 0; off < req->pieces[p].len; off += CHUNK) {
            size_t n = req->pieces[p].len - off;
            if (n > CHUNK)
                n = CHUNK;
            size_t o = stm_smtp_stuff(req->pieces[p].data + off, n, out, &state);
            if (stm_smtp_io_write(s, STM_SMTP_PH_BODY, out, o,
                                  stm_clock_ms() + s->svc->command_timeout_ms) != 0) {
                free(out);
                return -1;
            }
        }
    }
    size_t o = stm_smtp_stuff_end(out, state);
    int rc =
        stm_smtp_io_write(s, STM_SMTP_PH_BODY, out, o, stm_clock_ms() + s->svc->command_timeout_ms);
    free(out);
    if (rc == 0 && req->transcript)
        stm_smtp_log(s, "> (message) .");
    return rc;
}

/* Does the message hold bytes outside ASCII? */
bool
stm_smtp_data_is_8bit(const stm_smtp_request *req)
{
    for (size_t p = 0; p < req->npieces; p++)
        for (size_t i = 0; i < req->pieces[p].len; i++)
            if ((unsigned char)req->pieces[p].data[i] & 0x80)
                return true;
    return false;
}
