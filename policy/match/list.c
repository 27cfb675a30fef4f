/*
 * list.c - named lists of addresses, networks, domains and e-mail addresses
 * (list.h).
 *
 * SYNOPSIS
 *     stm_list *stm_list_create(const char *name);
 *     void stm_list_free(stm_list *list);
 *     const char *stm_list_name(const stm_list *list);
 *     size_t stm_list_size(const stm_list *list);
 *     int  stm_list_add(stm_list *list, const char *entry, const char **err);
 *     int  stm_list_load_file(stm_list *list, const char *path, stm_srcpos pos, stm_diag *diag);
 *     bool stm_list_match_ip(const stm_list *list, const stm_ip *ip);
 *     bool stm_list_match_string(const stm_list *list, const char *value);
 *
 * DESCRIPTION
 *     An entry that parses as an address or CIDR (any form stm_cidr_parse
 *     takes) goes into a prefix trie; anything else is a string in a
 *     case-insensitive hash set:
 *         example.com        that name only
 *         .example.com       every name below example.com (not itself)
 *         user@example.com   that address
 *         @example.com       every address at example.com
 *     One trailing dot of a domain entry or value is ignored.
 *
 *     stm_list_match_string looks up a value in O(labels): an e-mail address
 *     (it has an "@") is looked up whole, then as "@domain"; a name is looked
 *     up itself, then each parent as ".parent". A value in angle brackets
 *     has them removed; a value that parses as an address also consults the
 *     trie. Size is the number of distinct entries.
 *
 *     Globs and regular expressions are not list entries (a list is a set,
 *     looked up by key); they are refused with a message pointing to rule
 *     patterns. So are entries with white space or control characters, and
 *     text that looks like a mistyped address ("192.0.2.300", "10.0.0.1/24").
 *
 * OWNERSHIP
 *     The list owns its name and entries. After loading nothing writes to
 *     it, so any number of threads may look up at once.
 *
 * DIAGNOSTICS
 *     stm_list_add returns -1 with a static *ERR; stm_list_load_file adds one
 *     diag entry per bad line (FILE:LINE:COLUMN of the list file) and one at
 *     POS when the file cannot be read, and returns the number of errors.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/cidr_trie.h"
#include "match/list.h"
#include "match/strset.h"

struct stm_list {
    char *name;
    stm_strset *strings;
    stm_cidr_trie *nets;
};

static const char err_pattern[] = "list entries are addresses, networks, domains or e-mail "
                                  "addresses; use a pattern in the rule for globs";

/* A new empty list called NAME. */
stm_list *
stm_list_create(const char *name)
{
    stm_list *list = calloc(1, sizeof *list);

    if (list == NULL)
        return NULL;
    list->name = strdup(name ? name : "");
    list->strings = stm_strset_create();
    list->nets = stm_cidr_trie_create();
    if (list->name == NULL || list->strings == NULL || list->nets == NULL) {
        stm_list_free(list);
        return NULL;
    }
    return list;
}

/* Release LIST and its entries. */
void
stm_list_free(stm_list *list)
{
    if (list == NULL)
        return;
    free(list->name);
    stm_strset_free(list->strings);
    stm_cidr_trie_free(list->nets);
    free(list);
}

/* The name given at creation. Borrowed. */
const char *
stm_list_name(const stm_list *list)
{
    return list->name;
}

/* Number of distinct entries. */
size_t
stm_list_size(const stm_list *list)
{
    return stm_strset_size(list->strings) + stm_cidr_trie_size(list->nets);
}

/* Is ENTRY written as a pattern (glob or /regex/)? */
static bool
list_is_pattern(const char *entry, size_t len)
{
    if (strpbrk(entry, "*?") != NULL)
        return true;
    if (len >= 2 && entry[0] == '/' &&
        (entry[len - 1] == '/' || (len >= 3 && entry[len - 2] == '/' && entry[len - 1] == 'i')))
        return true;
    return false;
}

/* Classify and add ENTRY; on error set *ERR (static) and, for a network
 * with host bits set, fill MSG with the full suggestion when MSG is given. */
static int
list_add(stm_list *list, const char *entry, const char **err, char *msg, size_t msglen)
{
    size_t len = entry ? strlen(entry) : 0;
    stm_cidr cidr;
    const char *cerr = NULL;

    if (msg != NULL && msglen > 0)
        msg[0] = '\0';
    if (len == 0) {
        *err = "empty list entry";
        return -1;
    }
    if (list_is_pattern(entry, len)) {
        *err = err_pattern;
        return -1;
    }
    if (stm_cidr_parse(entry, &cidr, &cerr) == 0) {
        if (stm_cidr_trie_add(list->nets, &cidr) < 0) {
            *err = "out of memory";
            return -1;
        }
        return 0;
    }
    if (stm_ip_looks_like(entry)) {
        *err = cerr;
        if (msg != NULL)
            stm_cidr_parse_msg(entry, &cidr, msg, msglen);
        return -1;
    }
    for (const char *p = entry; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c == 0x7f) {
            *err = "list entries cannot contain spaces or control characters";
            return -1;
        }
    }
    const char *at = strrchr(entry, '@');
    if (at != NULL && at[1] == '\0') {
        *err = "e-mail address without a domain after \"@\"";
        return -1;
    }
    if (strcmp(entry, ".") == 0 || strcmp(entry, "..") == 0 || strcmp(entry, "@.") == 0) {
        *err = "a domain entry needs a name";
        return -1;
    }
    /* "example.com." is the same name as "example.com". */
    if (len > 1 && entry[len - 1] == '.' && entry[len - 2] != '.' && entry[len - 2] != '@')
        len--;
    if (stm_strset_add(list->strings, entry, len) < 0) {
        *err = "out of memory";
        return -1;
    }
    return 0;
}

/* Add one entry: address, network, domain or e-mail address. */
int
stm_list_add(stm_list *list, const char *entry, const char **err)
{
    return list_add(list, entry, err, NULL, 0);
}

/* Add every entry of the file at PATH; report problems to DIAG. */
int
stm_list_load_file(stm_list *list, const char *path, stm_srcpos pos, stm_diag *diag)
{
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, errors = 0;

    if (f == NULL) {
        stm_diag_error_at(diag, pos, "cannot read list file %s: %s", path, strerror(errno));
        return 1;
    }
    while ((n = getline(&line, &cap, f)) != -1) {
        char *start = line, *end;
        const char *err = NULL;
        char msg[256];

        lineno++;
        if ((size_t)n != strlen(line)) {
            stm_diag_add(diag, STM_SEV_ERROR, path, lineno, 1, "NUL byte in list file");
            errors++;
            continue;
        }
        /* A "#" starts a comment at the start of a line or after white space. */
        for (char *p = line; *p != '\0'; p++) {
            if (*p == '#' && (p == line || *(p - 1) == ' ' || *(p - 1) == '\t')) {
                *p = '\0';
                break;
            }
        }
        while (*start == ' ' || *start == '\t')
            start++;
        end = start + strlen(start);
        while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
                               end[-1] == '\r' || end[-1] == '\f' || end[-1] == '\v'))
            *--end = '\0';
        if (*start == '\0')
            continue;
        if (list_add(list, start, &err, msg, sizeof msg) != 0) {
            stm_diag_add(diag, STM_SEV_ERROR, path, lineno, (int)(start - line) + 1, "%s",
                        msg[0] != '\0' ? msg : err);
            errors++;
        }
    }
    if (ferror(f)) {
        stm_diag_error_at(diag, pos, "cannot read list file %s: %s", path, strerror(errno));
        errors++;
    }
    free(line);
    fclose(f);
    return errors;
}

/* Is IP inside an address or network of LIST? */
bool
stm_list_match_ip(const stm_list *list, const stm_ip *ip)
{
    return ip != NULL && stm_cidr_trie_contains(list->nets, ip);
}

/* Does VALUE (a name, or an e-mail address) match a string entry, or, when
 * it is an address, a network entry? */
bool
stm_list_match_string(const stm_list *list, const char *value)
{
    size_t len;
    const char *at;

    if (value == NULL)
        return false;
    len = strlen(value);
    if (len >= 2 && value[0] == '<' && value[len - 1] == '>') {
        value++;
        len -= 2;
    }
    if (len == 0)
        return false;
    if (stm_cidr_trie_size(list->nets) > 0 && len < 64) {
        char buf[64];
        stm_ip ip;
        memcpy(buf, value, len);
        buf[len] = '\0';
        if (stm_ip_parse(buf, &ip) == 0 && stm_cidr_trie_contains(list->nets, &ip))
            return true;
    }
    if (stm_strset_size(list->strings) == 0)
        return false;
    if (len > 1 && value[len - 1] == '.' && value[len - 2] != '.')
        len--;
    at = memchr(value, '@', len);
    if (at != NULL) {
        /* The domain starts after the last "@" (a quoted local part may hold one). */
        for (const char *p = at; p < value + len; p++)
            if (*p == '@')
                at = p;
        return stm_strset_contains(list->strings, value, len) ||
               stm_strset_contains(list->strings, at, (size_t)(value + len - at));
    }
    if (stm_strset_contains(list->strings, value, len))
        return true;
    /* Parents as ".parent": a.b.example.com -> .b.example.com, .example.com, .com */
    for (const char *p = value; p < value + len; p++)
        if (*p == '.' && stm_strset_contains(list->strings, p, (size_t)(value + len - p)))
            return true;
    return false;
}
