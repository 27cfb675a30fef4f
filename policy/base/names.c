/*
 * names.c - the rule for quarantine queue names (stagemilter/names.h).
 *
 * Functions: stm_queue_name_problem. Pure: no state; the reason is a static
 * string or written into the caller's buffer.
 */
#include "stagemilter/names.h"

#include <stdio.h>
#include <string.h>

#define NAMES_QUEUE_MAX 255 /* one path component on every file system we run on */

/* Is C allowed inside a queue name? */
static int
names_queue_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '+' || c == '=';
}

/* Why NAME is not a queue name, or NULL. */
const char *
stm_queue_name_problem(const char *name, char *buf, size_t len)
{
    if (name == NULL || name[0] == '\0')
        return "it is empty";
    if (strchr(name, '/') != NULL)
        return "it contains '/'";
    if (strstr(name, "..") != NULL)
        return "it contains '..'";
    if (name[0] == '.')
        return "it starts with '.'";
    if (name[0] == '-')
        return "it starts with '-'";
    if (strlen(name) > NAMES_QUEUE_MAX)
        return "it is longer than 255 bytes";
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        if (names_queue_char(*c))
            continue;
        if (*c < 0x20 || *c == 0x7f)
            return "it contains a control character";
        if (*c >= 0x80)
            snprintf(buf, len, "it contains the byte 0x%02x, and a queue name holds only ASCII "
                               "letters, digits and . _ - + =",
                     *c);
        else
            snprintf(buf, len, "it contains '%c', and a queue name holds only ASCII letters, "
                               "digits and . _ - + =",
                     *c);
        return buf;
    }
    return NULL;
}
