/*
 * session_mime.c - the message's MIME parse described for --trace: the tree
 * of parts it saw and the part that made the last rule's condition hold.
 *
 * Functions: stm_session_mime_tree, stm_session_mime_match (session.h).
 *
 * Both only read a parse that was already made (a rule needed it): --trace
 * shows what the daemon does, and the daemon parses lazily.
 *
 * Ownership: returned texts are malloc'd, the caller frees them. Names and
 * types come from the message: control characters are cleaned.
 * Errors: NULL when there is nothing to describe or memory ran out.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime.h"
#include "run/session_internal.h"
#include "stagemilter/text.h"

/* A growing text. */
typedef struct mime_text {
    char *s;
    size_t len, cap;
    bool nomem;
} mime_text;

/* Append a printf-style text. */
static void __attribute__((format(printf, 2, 3)))
mime_text_add(mime_text *t, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || t->nomem)
        return;
    size_t len = (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1;
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->len + len + 1)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (s == NULL) {
            t->nomem = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
    memcpy(t->s + t->len, buf, len + 1);
    t->len += len;
}

/* The defect names of MASK, comma-separated, into BUF. */
static const char *
mime_defects(unsigned mask, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int d = 0; d < STM_MIME_DEFECT_COUNT; d++)
        if (mask & (1u << d)) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
                     stm_mime_defect_name((stm_mime_defect)d));
        }
    return buf;
}

/* One part on a line: type, "name", size, detected type, flags, defects. */
static void
mime_part_line(mime_text *t, const stm_mime_part *p)
{
    char name[300], type[120], det[120], defects[200];
    stm_text_clean(name, sizeof name, p->name, (size_t)-1, STM_TEXT_UTF8 | STM_TEXT_QUOTED | STM_TEXT_ELLIPSIS);
    stm_text_clean(type, sizeof type, p->type, (size_t)-1, STM_TEXT_ELLIPSIS);
    stm_text_clean(det, sizeof det, p->detected_type, (size_t)-1, STM_TEXT_ELLIPSIS);
    mime_text_add(t, "%s", p->type[0] != '\0' ? type : "(member)");
    if (p->name[0] != '\0')
        mime_text_add(t, " \"%s\"", name);
    if (!(p->container && !p->in_archive && p->detected_type[0] == '\0'))
        mime_text_add(t, " %llu bytes", (unsigned long long)p->size);
    if (p->detected_type[0] != '\0')
        mime_text_add(t, ", detected %s", det);
    if (p->in_archive)
        mime_text_add(t, ", in archive");
    if (p->encrypted)
        mime_text_add(t, ", encrypted");
    if (p->defects != 0)
        mime_text_add(t, " [defect: %s]", mime_defects(p->defects, defects, sizeof defects));
}

/* The tree of the message's parse, one part a line indented by depth,
 * then the URL hosts and the defects; NULL when no rule parsed it. */
char *
stm_session_mime_tree(const stm_session *s)
{
    const stm_mime *m = s->message.mime;
    if (m == NULL)
        return NULL;
    mime_text t = {0};
    for (size_t i = 0; i < m->nparts; i++) {
        mime_text_add(&t, "%*s%zu ", 3 + 2 * (int)m->parts[i].depth, "", i);
        mime_part_line(&t, &m->parts[i]);
        mime_text_add(&t, "\n");
    }
    if (m->nparts == 0)
        mime_text_add(&t, "   (no parts)\n");
    if (m->nhosts > 0) {
        mime_text_add(&t, "   url hosts:");
        for (size_t i = 0; i < m->nhosts; i++) {
            char host[300];
            stm_text_clean(host, sizeof host, m->hosts[i], (size_t)-1, STM_TEXT_ELLIPSIS);
            mime_text_add(&t, "%s %s", i ? "," : "", host);
        }
        mime_text_add(&t, "\n");
    }
    char defects[200];
    mime_text_add(&t, "   defects: %s\n",
                  m->defects ? mime_defects(m->defects, defects, sizeof defects) : "none");
    if (t.nomem) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

/* The part that made the last condition hold ("part N: ..."), forgotten
 * once asked for; NULL when none did. */
char *
stm_session_mime_match(stm_session *s)
{
    const stm_mime *m = s->message.mime;
    if (m == NULL || m->matched_part < 0 || (size_t)m->matched_part >= m->nparts)
        return NULL;
    mime_text t = {0};
    mime_text_add(&t, "part %d: ", m->matched_part);
    mime_part_line(&t, &m->parts[m->matched_part]);
    stm_mime_note_match(m, -1);
    if (t.nomem) {
        free(t.s);
        return NULL;
    }
    return t.s;
}
