/*
 * mime_text.c - the text of text/plain and text/html parts as rules see it:
 * converted to UTF-8, HTML without its markup, and the URLs in it.
 *
 * Functions: stm_mime_text_add, stm_mime_text_to_utf8.
 *
 * Charsets go through GMime's iconv layer (its charset aliases, then
 * iconv). HTML to text and URL finding are our own, not a library's: the
 * HTML filter GMime has goes the other way (text to HTML), and a full HTML
 * parser (libxml2's) builds a tree we do not need. What rules need is the
 * words a reader sees (tags, comments, script and style dropped, entities
 * undone) and every href/src value; a one-pass scanner over bytes that are
 * already bounded by the message size gives both without allocation per
 * element.
 *
 * Ownership: everything appended belongs to the walk's stm_mime.
 * Errors: memory exhaustion sets w->nomem; malformed HTML is read as far as
 * it goes (an unclosed tag or comment ends the text).
 */
#include "config.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime/mime_walk.h"

/* URLs kept per message: past it, defect limit (a part of 10 MB of
 * "http://a " would otherwise make a million strings). */
#define TEXT_MAX_URLS 10000u

/* A growing byte buffer. */
typedef struct text_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t most; /* doubling stops here when what is needed fits (0: none) */
    bool nomem;
} text_buf;

/* Append LEN bytes of P to B. */
static void
text_buf_add(text_buf *b, const char *p, size_t len)
{
    if (b->nomem)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (b->most != 0 && cap > b->most && b->len + len + 1 <= b->most)
            cap = b->most;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->nomem = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';
}

/* Append code point CP as UTF-8 (invalid ones as U+FFFD). */
static void
text_buf_add_cp(text_buf *b, unsigned long cp)
{
    char out[8];
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    int n = g_unichar_to_utf8((gunichar)cp, out);
    text_buf_add(b, out, (size_t)n);
}

/* Are the LEN bytes of DATA all US-ASCII, none NUL? Eight at a time. */
static bool
text_is_ascii(const char *data, size_t len)
{
    const uint64_t high = 0x8080808080808080u, ones = 0x0101010101010101u;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, data + i, 8);
        /* A byte with its top bit set, or a zero byte (v - ones borrows
         * into the top bit of a byte that was 0). */
        if ((v & high) != 0 || ((v - ones) & ~v & high) != 0)
            return false;
    }
    for (; i < len; i++)
        if ((unsigned char)data[i] >= 0x80 || data[i] == '\0')
            return false;
    return true;
}

/* Is CHARSET a name of ISO-8859-1? */
static bool
text_is_latin1(const char *charset)
{
    static const char *const names[] = {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1",
                                        "l1", "iso-ir-100", "cp819", "ibm819", NULL};
    for (size_t i = 0; names[i] != NULL; i++)
        if (g_ascii_strcasecmp(charset, names[i]) == 0)
            return true;
    return false;
}

/* LEN bytes in CHARSET as valid UTF-8; *UNKNOWN when CHARSET is not known
 * (then the bytes are read as ISO-8859-1, where every byte is a letter). */
char *
stm_mime_text_to_utf8(const char *data, size_t len, const char *charset, bool *unknown)
{
    char *conv = NULL;
    *unknown = false;
    bool plain = charset == NULL || *charset == '\0' || g_ascii_strcasecmp(charset, "utf-8") == 0 ||
                 g_ascii_strcasecmp(charset, "us-ascii") == 0;
    /* The common case, US-ASCII text without NUL, is its own UTF-8: one
     * copy, without GLib's validation and its copies. */
    if (plain && text_is_ascii(data, len)) {
        char *out = malloc(len + 1);
        if (out != NULL) {
            memcpy(out, data, len);
            out[len] = '\0';
        }
        return out;
    }
    /* ISO-8859-1 is U+0000..U+00FF byte for byte, what iconv gives (its
     * 0x80..0x9F are the C1 controls, as here), and always valid: no
     * iconv, no validation (they were most of a Latin-1 part's cost). */
    if (!plain && text_is_latin1(charset)) {
        text_buf b = {0};
        text_buf_add(&b, "", 0);
        for (size_t i = 0; i < len && !b.nomem; i++) {
            unsigned char c = (unsigned char)data[i];
            if (c == '\0') {
                text_buf_add(&b, " ", 1);
            } else if (c < 0x80) {
                /* A run of ASCII at once. */
                size_t j = i + 1;
                while (j < len && (unsigned char)data[j] < 0x80 && data[j] != '\0')
                    j++;
                text_buf_add(&b, data + i, j - i);
                i = j - 1;
            } else {
                char two[2] = {(char)(0xC0 | (c >> 6)), (char)(0x80 | (c & 0x3F))};
                text_buf_add(&b, two, 2);
            }
        }
        if (b.nomem) {
            free(b.data);
            return NULL;
        }
        return b.data;
    }
    /* NULs would end the text early as a C string: they become spaces. */
    char *copy = NULL;
    if (memchr(data, '\0', len) != NULL) {
        if ((copy = malloc(len)) == NULL)
            return NULL;
        for (size_t i = 0; i < len; i++)
            copy[i] = data[i] != '\0' ? data[i] : ' ';
        data = copy;
    }
    if (!plain) {
        iconv_t cd = g_mime_iconv_open("UTF-8", charset);
        if (cd == (iconv_t)-1) {
            *unknown = true;
            text_buf b = {0};
            for (size_t i = 0; i < len; i++)
                text_buf_add_cp(&b, (unsigned char)data[i]);
            free(copy);
            if (b.nomem) {
                free(b.data);
                return NULL;
            }
            return b.data != NULL ? b.data : strdup("");
        }
        conv = g_mime_iconv_strndup(cd, data, len);
        g_mime_iconv_close(cd);
    }
    gchar *valid;
    if (conv != NULL) {
        valid = g_utf8_make_valid(conv, -1);
        g_free(conv);
    } else {
        valid = g_utf8_make_valid(data, (gssize)len);
    }
    free(copy);
    size_t n = strlen(valid);
    char *out = malloc(n + 1);
    if (out != NULL)
        memcpy(out, valid, n + 1);
    g_free(valid);
    return out;
}

/* Record URL (LEN bytes) found in PART: its host too. Repeats are found
 * through the walk's hash sets (a linear search made an HTML part of a
 * thousand links cost tens of millions of instructions). */
static void
text_add_url(stm_mime_walk *w, int part, const char *url, size_t len)
{
    stm_mime *m = w->m;
    if (len == 0 || w->nomem)
        return;
    if (w->url_set == NULL) {
        w->url_set = g_hash_table_new(g_str_hash, g_str_equal);
        w->host_set = g_hash_table_new(g_str_hash, g_str_equal);
    }
    char *u = strndup(url, len);
    if (u == NULL) {
        w->nomem = true;
        return;
    }
    /* A URL with a NUL inside is kept up to it, as before: the text never
     * holds one (stm_mime_text_to_utf8 turns them into spaces). */
    if (g_hash_table_contains(w->url_set, u)) {
        free(u);
        return;
    }
    if (m->nurls >= TEXT_MAX_URLS) {
        free(u);
        stm_mime_walk_defect(w, part, STM_MIME_DEFECT_LIMIT);
        return;
    }
    /* The authority: after "scheme://", else from the start ("www."). */
    const char *a = url, *end = url + len;
    const char *sep = NULL;
    for (const char *p = url; p + 2 < end && p < url + 16; p++)
        if (p[0] == ':' && p[1] == '/' && p[2] == '/') {
            sep = p;
            break;
        }
    if (sep != NULL)
        a = sep + 3;
    const char *ae = a;
    while (ae < end && *ae != '/' && *ae != '?' && *ae != '#' && *ae != '\\')
        ae++;
    for (const char *p = ae; p > a; p--)
        if (p[-1] == '@') {
            a = p;
            break;
        }
    const char *he = ae;
    if (a < ae && *a == '[') {
        const char *rb = memchr(a, ']', (size_t)(ae - a));
        he = rb != NULL ? rb + 1 : ae;
    } else {
        const char *colon = memchr(a, ':', (size_t)(ae - a));
        if (colon != NULL)
            he = colon;
    }
    while (he > a && he[-1] == '.')
        he--;
    if (m->nurls == w->urls_cap) {
        size_t cap = w->urls_cap ? w->urls_cap * 2 : 16;
        stm_mime_url *nu = realloc(m->urls, cap * sizeof *nu);
        if (nu == NULL) {
            free(u);
            w->nomem = true;
            return;
        }
        m->urls = nu;
        w->urls_cap = cap;
    }
    char *h = strndup(a, (size_t)(he - a));
    if (h == NULL) {
        free(u);
        w->nomem = true;
        return;
    }
    for (char *p = h; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    m->urls[m->nurls++] = (stm_mime_url){.url = u, .host = h, .part = part};
    g_hash_table_add(w->url_set, u);
    if (g_hash_table_contains(w->host_set, h))
        return;
    /* urls_cap bounds nhosts too: there are never more hosts than URLs. */
    if (m->nhosts == w->hosts_cap) {
        const char **hs = realloc(m->hosts, w->urls_cap * sizeof *hs);
        if (hs == NULL) {
            w->nomem = true;
            return;
        }
        m->hosts = hs;
        w->hosts_cap = w->urls_cap;
    }
    m->hosts[m->nhosts++] = h;
    g_hash_table_add(w->host_set, h);
}

/* Does TEXT at P start with the ASCII word W, ignoring case? */
static bool
text_starts(const char *p, const char *end, const char *w)
{
    size_t n = strlen(w);
    return (size_t)(end - p) >= n && strncasecmp(p, w, n) == 0;
}

/* The first letters of "http://", "https://", "ftp://" and "www.", either case. */
static const bool text_url_first[256] = {['h'] = true, ['H'] = true, ['f'] = true,
                                         ['F'] = true, ['w'] = true, ['W'] = true};

/* The URLs written as text in the LEN bytes of TEXT. */
static void
text_find_urls(stm_mime_walk *w, int part, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        /* Most bytes start none of "http://", "https://", "ftp://" and
         * "www.": look closer only at h, f and w at a word boundary ("xhttp://"
         * is not a URL), and then only at the starts with that first letter
         * (comparing every start at every h, f and w cost more than all the
         * rest of the scan). */
        while (p < end && !text_url_first[(unsigned char)*p])
            p++;
        if (p == end)
            break;
        unsigned char c = (unsigned char)(*p | 0x20);
        if (p > text && isalnum((unsigned char)p[-1])) {
            p++;
            continue;
        }
        const char *start = NULL;
        if (c == 'h') {
            if (text_starts(p, end, "http://"))
                start = "http://";
            else if (text_starts(p, end, "https://"))
                start = "https://";
        } else if (c == 'f') {
            if (text_starts(p, end, "ftp://"))
                start = "ftp://";
        } else if (text_starts(p, end, "www.")) {
            start = "www.";
        }
        if (start == NULL) {
            p++;
            continue;
        }
        const char *q = p + strlen(start);
        while (q < end && (unsigned char)*q > ' ' && *q != '<' && *q != '>' && *q != '"' &&
               *q != '\'' && *q != '`' && (unsigned char)*q != 0x7f)
            q++;
        const char *e = q;
        while (e > p && strchr(".,;:!?)]}", e[-1]) != NULL)
            e--;
        if ((size_t)(e - p) > strlen(start))
            text_add_url(w, part, p, (size_t)(e - p));
        p = q;
    }
}

/* An HTML character reference at P (after '&'); appends it to B and returns
 * where it ends, or P itself when it is not one. */
static const char *
text_html_entity(text_buf *b, const char *p, const char *end)
{
    static const struct {
        const char *name;
        unsigned long cp;
    } names[] = {{"amp", '&'},   {"lt", '<'},      {"gt", '>'},     {"quot", '"'},
                 {"apos", '\''}, {"nbsp", 0xA0},   {"copy", 0xA9},  {"reg", 0xAE},
                 {"euro", 0x20AC}, {"shy", 0xAD},  {"zwnj", 0x200C}, {"zwj", 0x200D}};
    const char *q = p;
    unsigned long cp = 0;
    if (q < end && *q == '#') {
        q++;
        int base = 10;
        if (q < end && (*q == 'x' || *q == 'X')) {
            base = 16;
            q++;
        }
        const char *digits = q;
        while (q < end && (base == 16 ? isxdigit((unsigned char)*q) : isdigit((unsigned char)*q)) &&
               q - digits < 8) {
            cp = cp * (unsigned long)base +
                 (unsigned long)(isdigit((unsigned char)*q) ? *q - '0'
                                                            : (tolower((unsigned char)*q) - 'a' + 10));
            q++;
        }
        if (q == digits)
            return p;
    } else {
        size_t i;
        for (i = 0; i < sizeof names / sizeof names[0]; i++)
            if (text_starts(q, end, names[i].name))
                break;
        if (i == sizeof names / sizeof names[0])
            return p;
        q += strlen(names[i].name);
        cp = names[i].cp;
    }
    if (q < end && *q == ';')
        q++;
    text_buf_add_cp(b, cp);
    return q;
}

/* Append the LEN bytes at P with entities undone to B. */
static void
text_html_decode(text_buf *b, const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL) {
            text_buf_add(b, p, (size_t)(end - p));
            return;
        }
        text_buf_add(b, p, (size_t)(amp - p));
        const char *q = text_html_entity(b, amp + 1, end);
        if (q == amp + 1) {
            text_buf_add(b, "&", 1);
            q = amp + 1;
        }
        p = q;
    }
}

/* The href and src values of the tag between P and END (after its name). */
static void
text_html_attrs(stm_mime_walk *w, int part, const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (isspace((unsigned char)*p) || *p == '/'))
            p++;
        const char *name = p;
        while (p < end && !isspace((unsigned char)*p) && *p != '=' && *p != '>')
            p++;
        size_t nlen = (size_t)(p - name);
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p >= end || *p != '=') {
            if (nlen == 0)
                p++;
            continue;
        }
        p++;
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *v = p, *ve;
        if (p < end && (*p == '"' || *p == '\'')) {
            char quote = *p++;
            v = p;
            while (p < end && *p != quote)
                p++;
            ve = p;
            if (p < end)
                p++;
        } else {
            while (p < end && !isspace((unsigned char)*p) && *p != '>')
                p++;
            ve = p;
        }
        if ((nlen == 4 && strncasecmp(name, "href", 4) == 0) ||
            (nlen == 3 && strncasecmp(name, "src", 3) == 0)) {
            text_buf u = {0};
            text_html_decode(&u, v, (size_t)(ve - v));
            if (u.nomem)
                w->nomem = true;
            const char *s = u.data ? u.data : "";
            size_t slen = u.len;
            while (slen > 0 && isspace((unsigned char)*s)) {
                s++;
                slen--;
            }
            while (slen > 0 && isspace((unsigned char)s[slen - 1]))
                slen--;
            /* Only what leads somewhere else: not "#top" nor "cid:". */
            if (text_starts(s, s + slen, "http") || text_starts(s, s + slen, "ftp://") ||
                text_starts(s, s + slen, "www.") || text_starts(s, s + slen, "//"))
                text_add_url(w, part, s, slen);
            free(u.data);
        }
    }
}

/* Is the tag NAME (LEN bytes) one that breaks a line when shown? */
static bool
text_html_block(const char *name, size_t len)
{
    static const char *const blocks[] = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4",
                                         "h5", "h6", "table", "td", "th", "hr", "title", NULL};
    for (size_t i = 0; blocks[i] != NULL; i++)
        if (strlen(blocks[i]) == len && strncasecmp(blocks[i], name, len) == 0)
            return true;
    return false;
}

/* The words of HTML (LEN bytes of UTF-8) into B; href/src into the URLs. */
static void
text_html(stm_mime_walk *w, int part, text_buf *b, const char *html, size_t len)
{
    const char *p = html, *end = html + len;
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (lt == NULL) {
            text_html_decode(b, p, (size_t)(end - p));
            return;
        }
        text_html_decode(b, p, (size_t)(lt - p));
        p = lt + 1;
        if (text_starts(p, end, "!--")) {
            const char *c = g_strstr_len(p + 3, end - (p + 3), "-->");
            p = c != NULL ? c + 3 : end;
            continue;
        }
        bool closing = p < end && *p == '/';
        if (closing)
            p++;
        const char *name = p;
        while (p < end && (isalnum((unsigned char)*p) || *p == '!' || *p == '?'))
            p++;
        size_t nlen = (size_t)(p - name);
        if (nlen == 0 && !closing) {
            text_buf_add(b, "<", 1); /* "a < b" is text */
            p = name;
            continue;
        }
        const char *gt = memchr(p, '>', (size_t)(end - p));
        const char *tag_end = gt != NULL ? gt : end;
        if (!closing)
            text_html_attrs(w, part, p, tag_end);
        p = gt != NULL ? gt + 1 : end;
        if (text_html_block(name, nlen))
            text_buf_add(b, "\n", 1);
        /* What a reader never sees. */
        if (!closing && ((nlen == 6 && strncasecmp(name, "script", 6) == 0) ||
                         (nlen == 5 && strncasecmp(name, "style", 5) == 0))) {
            char close[10];
            snprintf(close, sizeof close, "</%.*s", (int)nlen, name);
            const char *c = p;
            while (c < end && !text_starts(c, end, close))
                c++;
            p = c;
        }
    }
}

/* Append the text of PART to the message's text and collect its URLs. */
void
stm_mime_text_add(stm_mime_walk *w, int part, const char *data, size_t len, const char *charset,
                  bool html)
{
    stm_mime *m = w->m;
    bool unknown = false;
    char *utf8 = stm_mime_text_to_utf8(data, len, charset, &unknown);
    if (utf8 == NULL) {
        w->nomem = true;
        return;
    }
    if (unknown)
        stm_mime_walk_defect(w, part, STM_MIME_DEFECT_BAD_CHARSET);
    /* A spooled message keeps at most text_max bytes and a line end per
     * part: no buffer doubled past that. */
    text_buf b = {.data = m->text, .len = m->text_len, .cap = w->text_cap,
                  .most = w->text_max != 0 ? w->text_max + 2 * w->lim->max_parts + 1 : 0};
    if (b.len > 0)
        text_buf_add(&b, "\n", 1);
    size_t start = b.len;
    if (html)
        text_html(w, part, &b, utf8, strlen(utf8));
    else
        text_buf_add(&b, utf8, strlen(utf8));
    free(utf8);
    if (b.nomem)
        w->nomem = true;
    m->text = b.data;
    m->text_len = b.len;
    w->text_cap = b.cap;
    if (m->text != NULL && !w->nomem)
        text_find_urls(w, part, m->text + start, m->text_len - start);
}
