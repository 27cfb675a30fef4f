/*
 * log_json.c - a log line as one JSON object (log_json.h), for
 * milter.log_format: json.
 *
 * Functions: stm_log_json.
 *
 * The object holds "time" (ISO 8601, local time with its offset),
 * "level" (err, warning, notice, info), "pid", then every key=value pair
 * of the line in its order (a value in "..." or <...> without its quotes
 * or brackets; digits only become a number), and "msg": the words of the
 * line that are not key=value pairs, joined by one space (omitted when
 * there are none). A key seen twice gets "_2", "_3" ... (the first such
 * name no earlier field has) so no key repeats.
 *
 * Whatever bytes the line holds, the result is valid JSON: '"' and '\\'
 * are escaped, control bytes and DEL become \u00XX, a byte that does not
 * start a valid UTF-8 character (overlong forms, surrogates and code
 * points past U+10FFFF included) becomes \ufffd, valid UTF-8 is copied.
 * A small encoder of its own rather than jansson: jansson refuses invalid
 * UTF-8 instead of replacing it, and this one needs no allocation (log
 * lines are written from every connection thread, and on memory
 * exhaustion too).
 *
 * Errors: none; a value that does not fit is cut between characters.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "report/log_json.h"

/* The output: a buffer that never overflows; room is kept to close it. */
typedef struct json_out {
    char *p;
    size_t len, cap; /* cap excludes the reserve for the closing "}" */
    bool full;
} json_out;

/* One closing character, written in the reserve that cap leaves. */
static void
out_close(json_out *o, char c)
{
    o->p[o->len++] = c;
}

static void
out_raw(json_out *o, const char *s, size_t n)
{
    if (o->full || o->len + n > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

/* Length of the valid UTF-8 character at S (N bytes left), or 0. */
static size_t
json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0xff >> (len + 1));
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* S (N bytes) as the inside of a JSON string; a character that does not
 * fit is left out whole, and so is everything after it. */
static void
out_str_body(json_out *o, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n && !o->full;) {
        char esc[8];
        size_t l = json_utf8_len(u + i, n - i);
        if (l == 0) {
            out_raw(o, "\\ufffd", 6);
            i++;
        } else if (u[i] == '"' || u[i] == '\\') {
            esc[0] = '\\', esc[1] = (char)u[i];
            out_raw(o, esc, 2);
            i++;
        } else if (u[i] < 0x20 || u[i] == 0x7f) {
            snprintf(esc, sizeof esc, "\\u%04x", u[i]);
            out_raw(o, esc, 6);
            i++;
        } else {
            out_raw(o, s + i, l);
            i += l;
        }
    }
}

/* "S" with the key K before it: ,"K":"S" (or a number when NUMBER). */
static void
out_field(json_out *o, const char *k, size_t kn, int dup, const char *v, size_t vn, bool number)
{
    size_t mark = o->len;
    out_raw(o, o->len > 1 ? ",\"" : "\"", o->len > 1 ? 2 : 1);
    out_str_body(o, k, kn);
    if (dup > 1) {
        char d[16];
        int m = snprintf(d, sizeof d, "_%d", dup);
        out_raw(o, d, (size_t)m);
    }
    out_raw(o, number ? "\":" : "\":\"", number ? 2 : 3);
    size_t before = o->len;
    out_str_body(o, v, vn);
    if (o->full && o->len > before) {
        /* Cut between characters: close what is there. */
        o->full = false;
    } else if (o->full) {
        o->len = mark; /* not even the key fitted: leave the field out */
        o->full = true;
        return;
    }
    if (!number)
        out_close(o, '"');
}

/* Is S (N bytes) a number JSON can hold as it is (no leading zero)? */
static bool
json_is_number(const char *s, size_t n)
{
    if (n == 0 || n > 15 || (s[0] == '0' && n > 1))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Does the token at S start with KEY= ? Returns the key's length, or 0. */
static size_t
json_key_len(const char *s)
{
    size_t i = 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
        return 0;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-')
        i++;
    return s[i] == '=' ? i : 0;
}

/* The names written so far (a key of the line and the number it got),
 * to give a repeated key a name no field has yet. */
#define JSON_KEYS_MAX 256

typedef struct json_keys {
    const char *k[JSON_KEYS_MAX];
    size_t n[JSON_KEYS_MAX];
    int dup[JSON_KEYS_MAX];
    size_t count;
} json_keys;

/* The suffix number D gives a name: "" for 1, "_D" after. */
static size_t
json_suffix(char *buf, size_t size, int d)
{
    if (d <= 1) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)snprintf(buf, size, "_%d", d);
}

/* Are the names K1 (N1 bytes) + suffix D1 and K2 + D2 the same? */
static bool
json_name_eq(const char *k1, size_t n1, int d1, const char *k2, size_t n2, int d2)
{
    char s1[16], s2[16];
    size_t l1 = json_suffix(s1, sizeof s1, d1), l2 = json_suffix(s2, sizeof s2, d2);
    if (n1 + l1 != n2 + l2)
        return false;
    for (size_t i = 0; i < n1 + l1; i++) {
        char c1 = i < n1 ? k1[i] : s1[i - n1];
        char c2 = i < n2 ? k2[i] : s2[i - n2];
        if (c1 != c2)
            return false;
    }
    return true;
}

/* The number key K (N bytes) gets: 1 the first time (the name is K), else
 * the smallest 2, 3 ... whose name K_D neither a fixed field ("time",
 * "level", "pid", "msg") nor an earlier field has. */
static int
json_dup(const json_keys *ks, const char *k, size_t n)
{
    static const char *const fixed[] = {"time", "level", "pid", "msg"};
    for (int d = 1;; d++) {
        bool taken = false;
        for (size_t i = 0; i < 4 && !taken; i++)
            taken = json_name_eq(fixed[i], strlen(fixed[i]), 1, k, n, d);
        for (size_t i = 0; i < ks->count && !taken; i++)
            taken = json_name_eq(ks->k[i], ks->n[i], ks->dup[i], k, n, d);
        if (!taken)
            return d;
    }
}

static const char *
json_level(int priority)
{
    switch (priority) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
    case LOG_ERR:
        return "err";
    case LOG_WARNING:
        return "warning";
    case LOG_NOTICE:
        return "notice";
    default:
        return "info";
    }
}

/* The JSON object of LINE (log_json.h). */
size_t
stm_log_json(char *out, size_t outlen, int priority, const char *line, long pid, time_t now)
{
    /* The reserve past cap: a closing '"', the '}' and the NUL. */
    json_out o = {out, 0, outlen - 3, false};
    char head[128], tbuf[40];
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S%z", &tm);
    int hn = snprintf(head, sizeof head, "{\"time\":\"%s\",\"level\":\"%s\",\"pid\":%ld", tbuf,
                      json_level(priority), pid);
    out_raw(&o, head, (size_t)hn);

    /* The key=value pairs, in order; the other words are the message. */
    size_t n = strlen(line);
    size_t msg_start[JSON_KEYS_MAX], msg_len[JSON_KEYS_MAX], nmsg = 0;
    json_keys keys = {.count = 0};
    for (size_t i = 0; i < n && !o.full;) {
        while (i < n && line[i] == ' ')
            i++;
        if (i >= n)
            break;
        size_t kl = keys.count < JSON_KEYS_MAX ? json_key_len(line + i) : 0;
        size_t vs = i + kl + 1, ve;
        if (kl == 0) {
            ve = i;
            while (ve < n && line[ve] != ' ')
                ve++;
            if (nmsg < JSON_KEYS_MAX) {
                msg_start[nmsg] = i;
                msg_len[nmsg++] = ve - i;
            } else {
                msg_len[nmsg - 1] = ve - msg_start[nmsg - 1];
            }
            i = ve;
            continue;
        }
        size_t cs = vs, cn;
        if (line[vs] == '"' && strchr(line + vs + 1, '"') != NULL) {
            ve = (size_t)(strchr(line + vs + 1, '"') - line) + 1;
            cs = vs + 1, cn = ve - vs - 2;
        } else if (line[vs] == '<') {
            /* To the '>' that ends the token (an address may hold '>'). */
            ve = vs + 1;
            size_t close = 0;
            for (size_t j = vs + 1; j < n; j++) {
                if (line[j] == '>' && (j + 1 == n || line[j + 1] == ' ')) {
                    close = j;
                    break;
                }
            }
            if (close != 0) {
                ve = close + 1;
                cs = vs + 1, cn = close - vs - 1;
            } else {
                while (ve < n && line[ve] != ' ')
                    ve++;
                cn = ve - vs;
            }
        } else {
            ve = vs;
            while (ve < n && line[ve] != ' ')
                ve++;
            cn = ve - vs;
        }
        int dup = json_dup(&keys, line + i, kl);
        out_field(&o, line + i, kl, dup, line + cs, cn,
                  cs == vs && json_is_number(line + cs, cn));
        keys.k[keys.count] = line + i;
        keys.n[keys.count] = kl;
        keys.dup[keys.count++] = dup;
        i = ve;
    }
    if (nmsg > 0) {
        o.full = false;
        size_t mark = o.len;
        out_raw(&o, ",\"msg\":\"", 8);
        if (o.full) {
            o.len = mark;
        } else {
            for (size_t k = 0; k < nmsg && !o.full; k++) {
                if (k > 0)
                    out_raw(&o, " ", 1);
                out_str_body(&o, line + msg_start[k], msg_len[k]);
            }
            o.full = false;
            out_close(&o, '"');
        }
    }
    out_close(&o, '}');
    out[o.len] = '\0';
    return o.len;
}
