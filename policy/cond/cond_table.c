/*
 * cond_table.c - the table of `if:` conditions, one row per enum
 * stm_cond_type (cond_table.h), and the lookups on it.
 *
 * Functions: stm_cond_table (the table), stm_cond_table_find,
 * stm_cond_eval_error.
 *
 * To add a condition: a value in enum stm_cond_type (model.h), a row here,
 * its parse and eval functions in the file of its family, and a paragraph
 * in doc/stagemilter.yaml.5 (tests/unit/test_tables.c checks it).
 *
 * Ownership: the table is static and read-only. Errors: an unknown type
 * while judging is an error (fail closed), never "no match".
 */
#include <stdlib.h>
#include <string.h>

#include "cond/cond_table.h"

#define PATTERN "a pattern"
#define NAMED "a mapping of NAME: pattern"
/* Conditions on the parsed message need the header and the body. */
#define MIME (STM_COND_NEEDS_HEADERS | STM_COND_NEEDS_BODY | STM_COND_NEEDS_MIME)

_Static_assert((int)STM_MATCH_ERROR == (int)STM_COND_ERROR && (int)STM_MATCH_NO == (int)STM_COND_FALSE &&
                   (int)STM_MATCH_YES == (int)STM_COND_TRUE,
               "stm_cond_of_match() relies on equal values");

const stm_cond_row stm_cond_table[STM_COND_COUNT] = {
    [STM_COND_ANY] = {"any", "a list of conditions", STM_STAGE_CONNECT, 0, 0, STM_PAT_TEXT,
                      stm_cond_logic_parse_list, stm_cond_logic_eval_any},
    [STM_COND_ALL] = {"all", "a list of conditions", STM_STAGE_CONNECT, 0, 0, STM_PAT_TEXT,
                      stm_cond_logic_parse_list, stm_cond_logic_eval_all},
    [STM_COND_NOT] = {"not", "a condition", STM_STAGE_CONNECT, 0, 0, STM_PAT_TEXT,
                      stm_cond_logic_parse_not, stm_cond_logic_eval_not},
    [STM_COND_CLIENT_IP] = {"client_ip", PATTERN, STM_STAGE_CONNECT, 0, STM_COND_NEEDS_ENVELOPE,
                            STM_PAT_IP, stm_cond_parse_pattern, stm_cond_envelope_client_ip},
    [STM_COND_CLIENT_NAME] = {"client_name", PATTERN, STM_STAGE_CONNECT, 0, STM_COND_NEEDS_ENVELOPE,
                              STM_PAT_NOCASE, stm_cond_parse_pattern,
                              stm_cond_envelope_client_name},
    [STM_COND_HELO] = {"helo", PATTERN, STM_STAGE_HELO, 0, STM_COND_NEEDS_ENVELOPE, STM_PAT_NOCASE,
                       stm_cond_parse_pattern, stm_cond_envelope_helo},
    [STM_COND_SENDER] = {"sender", PATTERN, STM_STAGE_MAIL, 0, STM_COND_NEEDS_ENVELOPE,
                         STM_PAT_NOCASE, stm_cond_parse_pattern, stm_cond_envelope_sender},
    [STM_COND_SENDER_DOMAIN] = {"sender_domain", PATTERN, STM_STAGE_MAIL, 0,
                                STM_COND_NEEDS_ENVELOPE, STM_PAT_NOCASE, stm_cond_parse_pattern,
                                stm_cond_envelope_sender_domain},
    [STM_COND_RCPT] = {"rcpt", PATTERN, STM_STAGE_RCPT, 0, STM_COND_NEEDS_ENVELOPE, STM_PAT_NOCASE,
                       stm_cond_parse_pattern, stm_cond_envelope_rcpt},
    [STM_COND_RCPT_DOMAIN] = {"rcpt_domain", PATTERN, STM_STAGE_RCPT, 0, STM_COND_NEEDS_ENVELOPE,
                              STM_PAT_NOCASE, stm_cond_parse_pattern,
                              stm_cond_envelope_rcpt_domain},
    /* SMTP AUTH happens after EHLO, before MAIL FROM. */
    [STM_COND_AUTH] = {"auth", "true, false or a pattern", STM_STAGE_MAIL, 0, STM_COND_NEEDS_MACROS,
                       STM_PAT_NOCASE, stm_cond_session_parse_auth, stm_cond_session_auth},
    [STM_COND_TLS] = {"tls", "true or false", STM_STAGE_HELO, 0, STM_COND_NEEDS_MACROS,
                      STM_PAT_TEXT, stm_cond_session_parse_tls, stm_cond_session_tls},
    [STM_COND_HEADER] = {"header", NAMED, STM_STAGE_PREQ, STM_COND_SCOPE_EOM,
                         STM_COND_NEEDS_HEADERS, STM_PAT_TEXT, stm_cond_parse_named,
                         stm_cond_mime_header},
    [STM_COND_HAS_HEADER] = {"has_header", "a header field name", STM_STAGE_PREQ,
                             STM_COND_SCOPE_EOM, STM_COND_NEEDS_HEADERS, STM_PAT_TEXT,
                             stm_cond_message_parse_has_header, stm_cond_message_has_header},
    [STM_COND_BODY] = {"body", PATTERN, STM_STAGE_PREQ, STM_COND_SCOPE_EOM, MIME, STM_PAT_TEXT,
                       stm_cond_parse_pattern, stm_cond_mime_body},
    /* The size is counted while the body is collected. */
    [STM_COND_SIZE] = {"size", "a comparison like \">10M\"", STM_STAGE_PREQ, STM_COND_SCOPE_EOM,
                       STM_COND_NEEDS_BODY, STM_PAT_TEXT, stm_cond_message_parse_size,
                       stm_cond_message_size},
    [STM_COND_MACRO] = {"macro", NAMED, STM_STAGE_CONNECT, 0, STM_COND_NEEDS_MACROS, STM_PAT_TEXT,
                        stm_cond_parse_named, stm_cond_session_macro},
    [STM_COND_VAR] = {"var", NAMED, STM_STAGE_CONNECT, 0, 0, STM_PAT_TEXT, stm_cond_parse_named,
                      stm_cond_session_var},
    [STM_COND_DELEGATION] = {"delegation", "returned, rejected, dropped or failed",
                             STM_STAGE_CONNECT, STM_COND_SCOPE_DELEGATE, STM_COND_NEEDS_SCANNER,
                             STM_PAT_TEXT, stm_cond_delegation_parse, stm_cond_delegation_result},
    [STM_COND_REPLY] = {"reply", PATTERN, STM_STAGE_CONNECT, STM_COND_SCOPE_DELEGATE,
                        STM_COND_NEEDS_SCANNER, STM_PAT_TEXT, stm_cond_parse_pattern,
                        stm_cond_delegation_reply},
    [STM_COND_RATE] = {"rate", "a mapping {key, limit, per}", STM_STAGE_CONNECT, 0,
                       STM_COND_NEEDS_STATE, STM_PAT_TEXT, stm_cond_state_parse_rate,
                       stm_cond_state_rate},
    [STM_COND_DNSBL] = {"dnsbl", "a mapping {zone, of, returns, on_failure} or a list of them",
                        STM_STAGE_CONNECT, 0, STM_COND_NEEDS_DNS, STM_PAT_TEXT,
                        stm_cond_dns_parse_dnsbl, stm_cond_dns_dnsbl},
    [STM_COND_AUTH_RESULTS] = {"auth_results", "a mapping of spf, dkim, dmarc, arc, dkim_domain: pattern",
                               STM_STAGE_PREQ, STM_COND_SCOPE_EOM, STM_COND_NEEDS_HEADERS,
                               STM_PAT_NOCASE, stm_cond_auth_parse, stm_cond_auth_results},
    /* What is inside the message (cond_mime.c); raw_* judge the bytes (cond_message.c). */
    [STM_COND_SUBJECT] = {"subject", PATTERN, STM_STAGE_PREQ, STM_COND_SCOPE_EOM,
                          STM_COND_NEEDS_HEADERS, STM_PAT_TEXT, stm_cond_parse_pattern,
                          stm_cond_mime_subject},
    [STM_COND_RAW_HEADER] = {"raw_header", NAMED, STM_STAGE_PREQ, STM_COND_SCOPE_EOM,
                             STM_COND_NEEDS_HEADERS, STM_PAT_TEXT, stm_cond_parse_named,
                             stm_cond_message_header},
    [STM_COND_RAW_BODY] = {"raw_body", PATTERN, STM_STAGE_PREQ, STM_COND_SCOPE_EOM,
                           STM_COND_NEEDS_BODY, STM_PAT_TEXT, stm_cond_parse_pattern,
                           stm_cond_message_body},
    [STM_COND_ATTACHMENT] = {"attachment",
                             "a mapping of name, type, detected_type, size, in_archive, encrypted",
                             STM_STAGE_PREQ, STM_COND_SCOPE_EOM, MIME, STM_PAT_NOCASE,
                             stm_cond_mime_parse_attachment, stm_cond_mime_attachment},
    [STM_COND_URL] = {"url", PATTERN, STM_STAGE_PREQ, STM_COND_SCOPE_EOM, MIME, STM_PAT_NOCASE,
                      stm_cond_parse_pattern, stm_cond_mime_url},
    [STM_COND_URL_DOMAIN] = {"url_domain", PATTERN, STM_STAGE_PREQ, STM_COND_SCOPE_EOM, MIME,
                             STM_PAT_NOCASE, stm_cond_parse_pattern, stm_cond_mime_url_domain},
    [STM_COND_MIME_DEFECT] = {"mime_defect", "true, false or a pattern", STM_STAGE_PREQ,
                              STM_COND_SCOPE_EOM, MIME, STM_PAT_TEXT, stm_cond_mime_parse_defect,
                              stm_cond_mime_defect},
    [STM_COND_VIRUS] = {"virus", PATTERN, STM_STAGE_CONNECT, STM_COND_SCOPE_DELEGATE,
                        STM_COND_NEEDS_SCANNER, STM_PAT_TEXT, stm_cond_parse_pattern,
                        stm_cond_scan_virus},
    [STM_COND_SPAM] = {"spam", "true or false", STM_STAGE_CONNECT, STM_COND_SCOPE_DELEGATE,
                       STM_COND_NEEDS_SCANNER, STM_PAT_TEXT, stm_cond_scan_parse_bool,
                       stm_cond_scan_spam},
    [STM_COND_SPAM_SCORE] = {"spam_score", "a comparison like \">5.5\"", STM_STAGE_CONNECT,
                             STM_COND_SCOPE_DELEGATE, STM_COND_NEEDS_SCANNER, STM_PAT_TEXT,
                             stm_cond_scan_parse_number, stm_cond_scan_spam_score},
    [STM_COND_SYMBOL] = {"symbol", PATTERN, STM_STAGE_CONNECT, STM_COND_SCOPE_DELEGATE,
                         STM_COND_NEEDS_SCANNER, STM_PAT_TEXT, stm_cond_parse_pattern,
                         stm_cond_scan_symbol},
    [STM_COND_ACTION] = {"action", PATTERN, STM_STAGE_CONNECT, STM_COND_SCOPE_DELEGATE,
                         STM_COND_NEEDS_SCANNER, STM_PAT_NOCASE, stm_cond_parse_pattern,
                         stm_cond_scan_action},
    [STM_COND_SCAN] = {"scan", "a mapping of SERVICE: {conditions}", STM_STAGE_CONNECT,
                       STM_COND_SCOPE_DELEGATE, STM_COND_NEEDS_SCANNER, STM_PAT_TEXT,
                       stm_cond_scan_parse_scan, stm_cond_scan_scan},
    [STM_COND_SCORE] = {"score", "a comparison like \">5\"", STM_STAGE_CONNECT, 0, 0, STM_PAT_TEXT,
                        stm_cond_scan_parse_number, stm_cond_scan_score},
};

/* The row of KEY, or NULL. */
const stm_cond_row *
stm_cond_table_find(const char *key)
{
    for (size_t i = 0; i < STM_COND_COUNT; i++)
        if (stm_cond_table[i].key != NULL && strcmp(stm_cond_table[i].key, key) == 0)
            return &stm_cond_table[i];
    return NULL;
}

/* Set *ERR to a copy of TEXT and return STM_COND_ERROR. */
stm_cond_result
stm_cond_eval_error(char **err, const char *text)
{
    *err = strdup(text);
    return STM_COND_ERROR;
}

