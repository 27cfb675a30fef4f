/*
 * effect_sender_ip.c - the set_sender_ip effect: what later rules see as
 * client_ip (effect_table.h row STM_EFFECT_SET_SENDER_IP).
 *
 * Functions: stm_effect_sender_ip_parse, stm_effect_sender_ip_run.
 *
 * Semantics (DESIGN.md, Effects): an address, or a text with ${...} that
 * must expand to one, replaces the client's address; nat64 replaces an
 * address inside 64:ff9b::/96 with the IPv4 address embedded in it
 * (RFC 6052) and leaves any other address alone.
 *
 * Ownership: the parsed template belongs to the effect (the rule).
 * Errors: parse errors go to the loader's diag. Running fails when the text
 * does not expand to an address (ctx->error says so) or on memory
 * exhaustion (ctx->error NULL); the engine then applies milter.on_error.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "effect/effect_table.h"
#include "read/reader.h"
#include "match/ipaddr.h"

/* set_sender_ip: IP | TEXT with ${...} | nat64 */
void
stm_effect_sender_ip_parse(stm_loader *ld, const stm_effect_row *row, stm_effect_type type,
                           stm_rule *r, const stm_yt_node *key, const stm_yt_node *v)
{
    if (stm_config_expect(ld, v, STM_YT_SCALAR, row->key) < 0)
        return;
    stm_effect *e = stm_effect_parse_new(ld, r, key, type);
    if (e == NULL)
        return;
    if (strcmp(v->text, "nat64") == 0) {
        e->nat64 = true;
        return;
    }
    stm_ip ip;
    if (strstr(v->text, "${") == NULL && stm_ip_parse(v->text, &ip) < 0) {
        stm_config_error(ld, v,
                         "set_sender_ip: '%s' is not an IP address (write an address, a "
                         "text with ${...}, or nat64)",
                         v->text);
        return;
    }
    e->value = stm_config_template(ld, v, row->key);
}

/* Replace the client's address. */
int
stm_effect_sender_ip_run(const stm_effect *e, stm_effect_ctx *ctx, char *detail, size_t detail_len)
{
    stm_session *s = ctx->s;
    stm_ip ip, v4;
    char text[64];
    if (e->nat64) {
        /* Only an address inside 64:ff9b::/96 changes; anything else is not
         * a NAT64 client and stays as it is. */
        if (s->client_ip == NULL || stm_ip_parse(s->client_ip, &ip) < 0 ||
            stm_ip_nat64_decode(&ip, &v4) < 0) {
            snprintf(detail, detail_len, "set_sender_ip nat64: %s unchanged",
                     s->client_ip ? s->client_ip : "(unknown)");
            return 0;
        }
        stm_ip_format(&v4, text, sizeof text);
    } else {
        char *value = stm_template_expand(e->value, stm_session_lookup, s);
        if (value == NULL)
            return -1;
        if (stm_ip_parse(value, &ip) < 0) {
            char reason[512];
            snprintf(reason, sizeof reason, "set_sender_ip: \"%s\" is not an IP address", value);
            ctx->error = strdup(reason);
            free(value);
            return -1;
        }
        free(value);
        stm_ip_format(&ip, text, sizeof text);
    }
    if (stm_session_set_str(&s->client_ip, text) < 0)
        return -1;
    snprintf(detail, detail_len, "set_sender_ip %s", text);
    return 0;
}
