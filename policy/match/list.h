/*
 * list.h - named lists ("@trusted"): sets of addresses, CIDRs, domains and
 * e-mail addresses, compiled so that a lookup does not grow with the list.
 *
 * Strings go into a hash set (case-insensitive); IP addresses and CIDRs into
 * a binary prefix trie. An entry ".example.com" matches every subdomain of
 * example.com (the lookup walks the value's parent domains); "example.com"
 * matches only itself. An address entry "user@example.com" matches that
 * address; an entry "@example.com" matches any address at that domain.
 *
 * Built once while a policy loads, then read by many threads without locks.
 */
#ifndef STAGEMILTER_LIST_H
#define STAGEMILTER_LIST_H

#include "match/ipaddr.h"
#include "stagemilter/diag.h"

typedef struct stm_list stm_list;

/* Caller owns; NULL on memory exhaustion. NAME is copied. */
stm_list *stm_list_create(const char *name);
void stm_list_free(stm_list *list); /* accepts NULL */
const char *stm_list_name(const stm_list *list);
size_t stm_list_size(const stm_list *list);

/* Add one entry: an IP, a CIDR, or a string (domain, address). Returns 0, or
 * -1 with *ERR set to a static description. */
int stm_list_add(stm_list *list, const char *entry, const char **err);
/* Add every line of PATH: one entry a line, blank lines and "#" comments
 * ignored, surrounding white space trimmed. Problems go to DIAG with the
 * list file's own line and column; an unreadable file is reported at POS (the
 * place in the policy that names it). Returns the number of errors added. */
int stm_list_load_file(stm_list *list, const char *path, stm_srcpos pos, stm_diag *diag);

/* Lookups. A value that is not an address never matches an IP entry. */
bool stm_list_match_ip(const stm_list *list, const stm_ip *ip);
/* VALUE is a domain, host name or e-mail address; case-insensitive. */
bool stm_list_match_string(const stm_list *list, const char *value);

#endif
